// Starting bring-your-own programs (training and serving) with what Foundation's Process cannot
// give them: an empty signal mask, their own process group, a parent-death signal, an optional
// user switch and a Landlock write restriction.
//
// Why a dedicated thread: Linux delivers PR_SET_PDEATHSIG when the *thread* that forked the
// child exits, not the process. Dispatch and the Swift concurrency pool retire idle threads,
// so a child forked from one of them would be killed at a random moment. Every fork happens on
// one pthread that lives as long as the process.
//
// Why the signal reset: the server blocks SIGTERM/SIGINT/… for swift-service-lifecycle and
// ignores SIGPIPE; a child inherits the mask and ignored dispositions across exec, so a
// "SIGTERM then SIGKILL" stop would really be SIGKILL after the grace period.
//
// Between fork and exec the child only makes async-signal-safe calls (plain system calls): the
// parent may have held any lock (malloc's included) at the moment of the fork.

#define _GNU_SOURCE
#include "CChildSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __linux__
#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#else
#include <spawn.h>
#endif

// MARK: - Landlock (constants written out so older kernel headers still build)

#ifdef __linux__
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif

#define CY_LL_CREATE_RULESET_VERSION (1U << 0)
#define CY_LL_RULE_PATH_BENEATH 1
#define CY_LL_WRITE_FILE (1ULL << 1)
#define CY_LL_REMOVE_DIR (1ULL << 4)
#define CY_LL_REMOVE_FILE (1ULL << 5)
#define CY_LL_MAKE_CHAR (1ULL << 6)
#define CY_LL_MAKE_DIR (1ULL << 7)
#define CY_LL_MAKE_REG (1ULL << 8)
#define CY_LL_MAKE_SOCK (1ULL << 9)
#define CY_LL_MAKE_FIFO (1ULL << 10)
#define CY_LL_MAKE_BLOCK (1ULL << 11)
#define CY_LL_MAKE_SYM (1ULL << 12)
#define CY_LL_REFER (1ULL << 13)      // ABI 2
#define CY_LL_TRUNCATE (1ULL << 14)   // ABI 3

struct cy_ruleset_attr {
    uint64_t handled_access_fs;
};

struct cy_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int cy_landlock_abi(void) {
    long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, CY_LL_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

/// Every right that changes the file system (reading and executing stay unrestricted).
static uint64_t cy_write_rights(int abi) {
    uint64_t rights = CY_LL_WRITE_FILE | CY_LL_REMOVE_DIR | CY_LL_REMOVE_FILE | CY_LL_MAKE_CHAR | CY_LL_MAKE_DIR |
                      CY_LL_MAKE_REG | CY_LL_MAKE_SOCK | CY_LL_MAKE_FIFO | CY_LL_MAKE_BLOCK | CY_LL_MAKE_SYM;
    if (abi >= 2) rights |= CY_LL_REFER;
    if (abi >= 3) rights |= CY_LL_TRUNCATE;
    return rights;
}

/// Builds the ruleset in the parent (so failures are ordinary errors); the child only applies
/// it. Returns the ruleset descriptor, -2 when the kernel has no Landlock, or -1 with errno.
static int cy_build_ruleset(const cy_spawn_request *request) {
    int abi = cy_landlock_abi();
    if (abi <= 0) return -2;
    uint64_t handled = cy_write_rights(abi);
    struct cy_ruleset_attr attr = {.handled_access_fs = handled};
    int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (ruleset < 0) return (errno == ENOSYS || errno == EOPNOTSUPP) ? -2 : -1;
    for (int i = 0; i < request->writable_count; i++) {
        int fd = open(request->writable_paths[i], O_PATH | O_CLOEXEC);
        if (fd < 0) continue;  // a folder that does not exist grants nothing
        struct stat st;
        uint64_t allowed = handled;
        if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
            allowed &= CY_LL_WRITE_FILE | CY_LL_TRUNCATE;  // only file rights apply to a file
        }
        struct cy_path_beneath_attr rule = {.allowed_access = allowed, .parent_fd = fd};
        long added = syscall(__NR_landlock_add_rule, ruleset, CY_LL_RULE_PATH_BENEATH, &rule, 0);
        int saved = errno;
        close(fd);
        if (added != 0) {
            close(ruleset);
            errno = saved;
            return -1;
        }
    }
    return ruleset;
}

static void cy_close_from(int low, int keep) {
    // close_range (Linux 5.9+); otherwise one close per possible descriptor.
    if (syscall(__NR_close_range, (unsigned)low, (unsigned)(keep - 1), 0) == 0 &&
        syscall(__NR_close_range, (unsigned)(keep + 1), ~0U, 0) == 0) {
        return;
    }
    struct rlimit limit;
    int max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (rlim_t)max) {
        max = (int)limit.rlim_cur;
    }
    for (int fd = low; fd < max; fd++) {
        if (fd != keep) close(fd);
    }
}

/// SIG_DFL for `sig`. glibc refuses its two reserved real-time signals (32, 33), which an
/// ignored disposition would still survive exec with; those go to the kernel directly (an
/// all-zero kernel sigaction is SIG_DFL with no flags and an empty mask, whatever its layout).
static void cy_default_disposition(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    if (sigaction(sig, &dfl, NULL) == 0) return;
    unsigned long zero[8] = {0};
    syscall(SYS_rt_sigaction, sig, zero, NULL, (size_t)8);  // 8: the kernel's sigset size (64 signals)
}

struct cy_report {
    int step;
    int error;
};

static void cy_child_fail(int report_fd, int step) {
    struct cy_report report = {.step = step, .error = errno};
    ssize_t ignored = write(report_fd, &report, sizeof report);
    (void)ignored;
    _exit(127);
}

/// The child between fork and exec: async-signal-safe system calls only.
static void cy_child(const cy_spawn_request *request, pid_t parent, int report_fd, int ruleset) {
    // Default dispositions first (ignored signals survive exec), while everything is still
    // blocked (the spawner thread blocks all signals); the mask is emptied right before exec.
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        cy_default_disposition(sig);
    }
    if (setpgid(0, 0) != 0) cy_child_fail(report_fd, CY_STEP_SETPGID);
    if (request->switch_user) {
        if (setgroups((size_t)request->group_count, request->groups) != 0) cy_child_fail(report_fd, CY_STEP_SETGROUPS);
        if (setgid(request->gid) != 0) cy_child_fail(report_fd, CY_STEP_SETGID);
        if (setuid(request->uid) != 0) cy_child_fail(report_fd, CY_STEP_SETUID);
    }
    // After the user switch: changing credentials clears the parent-death signal.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) cy_child_fail(report_fd, CY_STEP_PDEATHSIG);
    // The parent may have died before the line above: then nobody would ever kill us.
    if (getppid() != parent) {
        errno = ESRCH;
        cy_child_fail(report_fd, CY_STEP_PARENT_GONE);
    }
    if (chdir(request->cwd) != 0) cy_child_fail(report_fd, CY_STEP_CHDIR);

    // Standard descriptors: move sources below 3 out of the way so no dup2 clobbers another.
    int sources[3] = {request->stdin_fd, request->stdout_fd, request->stderr_fd};
    for (int i = 0; i < 3; i++) {
        if (sources[i] < 3 && sources[i] != i) {
            sources[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, 3);
            if (sources[i] < 0) cy_child_fail(report_fd, CY_STEP_DUP);
        }
    }
    for (int i = 0; i < 3; i++) {
        if (sources[i] == i) {
            if (fcntl(i, F_SETFD, 0) != 0) cy_child_fail(report_fd, CY_STEP_DUP);
        } else if (dup2(sources[i], i) < 0) {
            cy_child_fail(report_fd, CY_STEP_DUP);
        }
    }
    if (ruleset >= 0) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) cy_child_fail(report_fd, CY_STEP_LANDLOCK);
        if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) cy_child_fail(report_fd, CY_STEP_LANDLOCK);
    }
    cy_close_from(3, report_fd);

    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(request->path, request->argv, request->envp);
    cy_child_fail(report_fd, CY_STEP_EXEC);
}

static int cy_spawn_now(const cy_spawn_request *request, pid_t *pid_out, int *failed_step, int *error) {
    int ruleset = -2;
    if (request->restrict_writes) {
        ruleset = cy_build_ruleset(request);
        if (ruleset == -1) {
            *failed_step = CY_STEP_LANDLOCK;
            *error = errno;
            return -1;
        }
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *failed_step = CY_STEP_PIPE;
        *error = errno;
        if (ruleset >= 0) close(ruleset);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        cy_child(request, parent, report[1], ruleset);
    }
    int fork_error = errno;
    close(report[1]);
    if (ruleset >= 0) close(ruleset);
    if (pid < 0) {
        close(report[0]);
        *failed_step = CY_STEP_FORK;
        *error = fork_error;
        return -1;
    }
    // Also from this side, so a stop right after the start reaches the group (EACCES once the
    // child has exec'd is harmless: it did it itself).
    setpgid(pid, pid);
    struct cy_report result = {0, 0};
    ssize_t n;
    do {
        n = read(report[0], &result, sizeof result);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof result) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *failed_step = result.step;
        *error = result.error;
        return -1;
    }
    *pid_out = pid;
    return 0;
}

#else  // not Linux: posix_spawn, without a parent-death signal, user switch or Landlock

int cy_landlock_abi(void) { return 0; }

static int cy_spawn_now(const cy_spawn_request *request, pid_t *pid_out, int *failed_step, int *error) {
    if (request->switch_user) {  // refuse rather than run as root when runner.user was asked for
        *failed_step = CY_STEP_SETUID;
        *error = ENOTSUP;
        return -1;
    }
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP;
#ifdef POSIX_SPAWN_CLOEXEC_DEFAULT
    flags |= POSIX_SPAWN_CLOEXEC_DEFAULT;
#endif
    posix_spawnattr_setflags(&attr, flags);
    posix_spawn_file_actions_adddup2(&actions, request->stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, request->stdout_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, request->stderr_fd, 2);
    posix_spawn_file_actions_addchdir_np(&actions, request->cwd);
    pid_t pid;
    int result = posix_spawn(&pid, request->path, &actions, &attr, request->argv, request->envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (result != 0) {
        *failed_step = CY_STEP_EXEC;
        *error = result;
        return -1;
    }
    *pid_out = pid;
    return 0;
}

#endif

// MARK: - The spawner thread

static pthread_mutex_t cy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cy_changed = PTHREAD_COND_INITIALIZER;
static pthread_once_t cy_once = PTHREAD_ONCE_INIT;
static int cy_thread_error = 0;

static const cy_spawn_request *cy_pending = NULL;  // a request waiting for the thread
static int cy_done = 0;                             // the thread finished `cy_pending`
static pid_t cy_result_pid;
static int cy_result_status, cy_result_step, cy_result_error;

static void *cy_spawner_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&cy_lock);
    for (;;) {
        while (cy_pending == NULL || cy_done) pthread_cond_wait(&cy_changed, &cy_lock);
        const cy_spawn_request *request = cy_pending;
        pthread_mutex_unlock(&cy_lock);
        pid_t pid = 0;
        int step = CY_STEP_NONE, error = 0;
        int status = cy_spawn_now(request, &pid, &step, &error);
        pthread_mutex_lock(&cy_lock);
        cy_result_pid = pid;
        cy_result_status = status;
        cy_result_step = step;
        cy_result_error = error;
        cy_done = 1;
        pthread_cond_broadcast(&cy_changed);
    }
    return NULL;
}

static void cy_start_thread(void) {
    // The thread blocks every signal: it never runs the process's handlers, and a forked child
    // starts fully blocked until it has reset its dispositions.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    cy_thread_error = pthread_create(&thread, &attr, cy_spawner_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

int cy_spawn(const cy_spawn_request *request, pid_t *pid, int *failed_step, int *error) {
    pthread_once(&cy_once, cy_start_thread);
    if (cy_thread_error != 0) {
        *failed_step = CY_STEP_THREAD;
        *error = cy_thread_error;
        return -1;
    }
    pthread_mutex_lock(&cy_lock);
    while (cy_pending != NULL) pthread_cond_wait(&cy_changed, &cy_lock);  // one start at a time
    cy_pending = request;
    cy_done = 0;
    pthread_cond_broadcast(&cy_changed);
    while (!cy_done) pthread_cond_wait(&cy_changed, &cy_lock);
    int status = cy_result_status;
    *pid = cy_result_pid;
    *failed_step = cy_result_step;
    *error = cy_result_error;
    cy_pending = NULL;
    cy_done = 0;
    pthread_cond_broadcast(&cy_changed);
    pthread_mutex_unlock(&cy_lock);
    return status;
}

int cy_wait_exit_keep_zombie(pid_t pid) {
    siginfo_t info;
    int result;
    do {
        memset(&info, 0, sizeof info);
        result = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT);
    } while (result != 0 && errno == EINTR);
    return result;
}

int cy_pipe_cloexec(int fds[2]) {
#ifdef __linux__
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}
