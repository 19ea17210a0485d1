#ifndef CCHILDSPAWN_H
#define CCHILDSPAWN_H

#include <sys/types.h>

/// What to start. Every pointer is owned by the caller and only read during `cy_spawn`.
typedef struct {
    /// Absolute path of the executable (PATH lookup is done by the caller, before the fork).
    const char *path;
    /// NULL-terminated argument and environment vectors (`envp` is the child's whole environment).
    char *const *argv;
    char *const *envp;
    /// The child's working folder.
    const char *cwd;
    /// Descriptors that become the child's 0, 1 and 2; every other descriptor is closed.
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// Non-zero: switch to uid/gid/groups before exec (the caller checks it runs as root).
    int switch_user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    /// Non-zero: restrict file-system writes with Landlock to `writable_paths` (skipped silently
    /// when the kernel has no Landlock).
    int restrict_writes;
    const char *const *writable_paths;
    int writable_count;
} cy_spawn_request;

/// Where a failed start failed (reported with errno through a close-on-exec pipe).
enum {
    CY_STEP_NONE = 0,
    CY_STEP_FORK = 1,
    CY_STEP_PIPE = 2,
    CY_STEP_SETPGID = 3,
    CY_STEP_SETGROUPS = 4,
    CY_STEP_SETGID = 5,
    CY_STEP_SETUID = 6,
    CY_STEP_PDEATHSIG = 7,
    CY_STEP_PARENT_GONE = 8,
    CY_STEP_CHDIR = 9,
    CY_STEP_DUP = 10,
    CY_STEP_LANDLOCK = 11,
    CY_STEP_EXEC = 12,
    CY_STEP_THREAD = 13,
};

/// Starts a child from the dedicated spawner thread: empty signal mask and default handlers,
/// its own process group (pgid = pid), SIGKILL when the parent process dies (Linux), optional
/// user switch and write restriction, then exec. Returns 0 and sets `*pid`; or -1 with
/// `*failed_step` (a CY_STEP_*) and `*error` (errno).
int cy_spawn(const cy_spawn_request *request, pid_t *pid, int *failed_step, int *error);

/// The Landlock ABI version the kernel offers, or 0 when it has none (or is not Linux).
int cy_landlock_abi(void);

/// Waits for `pid` to exit without reaping it (the pid and its process group stay reserved, so
/// the group can still be signalled safely). Returns 0, or -1 with errno.
int cy_wait_exit_keep_zombie(pid_t pid);

/// A pipe whose two ends are close-on-exec (so no other program the server starts holds them).
int cy_pipe_cloexec(int fds[2]);

#endif
