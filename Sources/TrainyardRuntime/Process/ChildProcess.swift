import CChildSpawn
import Foundation
import Synchronization
import TrainyardCore

/// A bring-your-own program (training or serving) started the one way Trainyard starts them.
///
/// Every child gets: an empty signal mask and default signal handlers (the server blocks
/// SIGTERM for its own lifecycle), its own process group (a stop reaches its helpers too), a
/// parent-death SIGKILL on Linux (a killed worker leaves no program training on), only the
/// environment it is given (`ChildEnvironment`), stdin from /dev/null, no other descriptor of
/// the server, and optionally another user (`RunnerIdentity`) and a Landlock write restriction.
/// The fork happens in C (`CChildSpawn`), from one long-lived thread.
///
/// When the program exits, whatever is left of its process group is killed: helpers it started
/// do not outlive it (and do not keep its output pipes open).
public final class ChildProcess: Sendable {
    /// Where the program's standard output or error goes.
    public enum Output: Sendable {
        /// The server's own stream.
        case inherit
        /// A pipe, read through `standardOutput` / `standardError`.
        case capture
    }

    /// How to start a program.
    public struct Launch: Sendable {
        /// `arguments[0]` is looked up on the child's `PATH` unless it contains a `/`.
        public var arguments: [String]
        /// The child's whole environment.
        public var environment: [String: String]
        public var workingDirectory: URL
        public var standardOutput: Output = .capture
        public var standardError: Output = .capture
        /// Run as this user (the parent must be root).
        public var identity: RunnerIdentity?
        /// With a value, the program may only write inside these paths (Linux Landlock; no
        /// restriction where the kernel lacks it). nil: no restriction.
        public var writablePaths: [String]?

        public init(arguments: [String], environment: [String: String], workingDirectory: URL) {
            self.arguments = arguments
            self.environment = environment
            self.workingDirectory = workingDirectory
        }
    }

    /// How a program ended.
    public enum Exit: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var isSuccess: Bool { self == .exited(0) }
        public var description: String {
            switch self {
            case .exited(let code): "exited with code \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    public let pid: Int32
    /// Read ends of captured output (nil when inherited).
    public let standardOutput: FileHandle?
    public let standardError: FileHandle?

    private struct State {
        var exit: Exit?
        /// Set once the program has exited (still a zombie, so its pid and group are not reused)
        /// and nothing may be signalled any more.
        var finished = false
        var waiters: [CheckedContinuation<Exit, Never>] = []
    }
    private let state = Mutex(State())

    private init(pid: Int32, standardOutput: FileHandle?, standardError: FileHandle?) {
        self.pid = pid
        self.standardOutput = standardOutput
        self.standardError = standardError
    }

    /// Starts the program; throws a `TrainyardError` naming the step that failed (program not
    /// found, working folder not enterable, …).
    public static func start(_ launch: Launch) throws(TrainyardError) -> ChildProcess {
        guard let program = launch.arguments.first, !program.isEmpty else {
            throw TrainyardError(.invalidArgument, "no program to start")
        }
        let executable = try resolve(program, path: launch.environment["PATH"], cwd: launch.workingDirectory)
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw TrainyardError(.internal, "could not open /dev/null: \(errorText(errno))") }
        defer { close(devNull) }
        var readEnds: [Int32] = [], writeEnds: [Int32] = []
        defer { writeEnds.forEach { close($0) } }
        func descriptor(_ output: Output, inherited: Int32) throws(TrainyardError) -> Int32 {
            guard case .capture = output else { return inherited }
            var fds: [Int32] = [0, 0]
            guard cy_pipe_cloexec(&fds) == 0 else { throw TrainyardError(.internal, "could not create a pipe: \(errorText(errno))") }
            readEnds.append(fds[0])
            writeEnds.append(fds[1])
            return fds[1]
        }
        let out = try descriptor(launch.standardOutput, inherited: STDOUT_FILENO)
        let err = try descriptor(launch.standardError, inherited: STDERR_FILENO)

        let arguments = CStringArray(launch.arguments)
        let environment = CStringArray(launch.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
        let writable = CStringArray(launch.writablePaths ?? [])
        let groups = launch.identity?.groups ?? []
        var pid: pid_t = 0, step: Int32 = 0, error: Int32 = 0
        let status = executable.withCString { path in
            launch.workingDirectory.path.withCString { cwd in
                groups.withUnsafeBufferPointer { groupPointer in
                    var request = cy_spawn_request()
                    request.path = path
                    request.argv = UnsafePointer(arguments.pointer)
                    request.envp = UnsafePointer(environment.pointer)
                    request.cwd = cwd
                    request.stdin_fd = devNull
                    request.stdout_fd = out
                    request.stderr_fd = err
                    if let identity = launch.identity {
                        request.switch_user = 1
                        request.uid = identity.uid
                        request.gid = identity.gid
                        request.groups = groupPointer.baseAddress
                        request.group_count = Int32(groups.count)
                    }
                    if launch.writablePaths != nil {
                        request.restrict_writes = 1
                        request.writable_paths = UnsafeRawPointer(writable.pointer).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
                        request.writable_count = Int32(writable.count)
                    }
                    return cy_spawn(&request, &pid, &step, &error)
                }
            }
        }
        guard status == 0 else {
            readEnds.forEach { close($0) }
            throw TrainyardError(.invalidArgument, "could not start \(program): \(describe(step: step, launch: launch)): \(errorText(error))")
        }
        var handles = readEnds.makeIterator()
        let stdoutHandle = launch.standardOutput == .capture ? handles.next().map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) } : nil
        let stderrHandle = launch.standardError == .capture ? handles.next().map { FileHandle(fileDescriptor: $0, closeOnDealloc: true) } : nil
        let child = ChildProcess(pid: pid, standardOutput: stdoutHandle, standardError: stderrHandle)
        child.watchForExit()
        return child
    }

    // MARK: Exit

    /// The exit, once the program has ended.
    public var exit: Exit? { state.withLock { $0.exit } }
    public var isRunning: Bool { exit == nil }

    /// Waits for the program to end.
    public func wait() async -> Exit {
        await withCheckedContinuation { (continuation: CheckedContinuation<Exit, Never>) in
            let done = state.withLock { s -> Exit? in
                if let exit = s.exit { return exit }
                s.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// A dedicated thread waits for the exit (a Dispatch thread blocked for a serve process's
    /// whole life would be one fewer for everything else). The program is left a zombie until
    /// its group has been cleaned up, so its pid cannot be reused in between.
    private func watchForExit() {
        let pid = pid
        let thread = Thread { [self] in
            _ = cy_wait_exit_keep_zombie(pid)
            state.withLock { s in
                s.finished = true
                kill(-pid, SIGKILL)  // helpers left in its group go with it
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let exit: Exit = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
            let waiters = state.withLock { s in
                s.exit = exit
                defer { s.waiters = [] }
                return s.waiters
            }
            for waiter in waiters { waiter.resume(returning: exit) }
        }
        thread.name = "trainyard-child-\(pid)"
        thread.start()
    }

    // MARK: Stopping

    /// Sends `signal` to the program's whole process group (nothing once it has exited).
    public func signalGroup(_ signal: Int32) {
        state.withLock { s in
            guard !s.finished else { return }
            if kill(-pid, signal) != 0 { kill(pid, signal) }
        }
    }

    /// SIGTERM to the group, then SIGKILL to the group if the program is still running after
    /// `grace`; returns how it ended.
    @discardableResult
    public func stop(grace: Duration) async -> Exit {
        signalGroup(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while exit == nil, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if exit == nil { signalGroup(SIGKILL) }
        return await wait()
    }

    // MARK: Helpers

    /// Whether this kernel can restrict a child's writes (Linux Landlock).
    public static var writeRestrictionAvailable: Bool { cy_landlock_abi() > 0 }

    /// `program` as an absolute path: as given when it contains a `/` (relative to `cwd`),
    /// else the first executable match on `path` (the child's PATH, so lookup and run agree).
    static func resolve(_ program: String, path: String?, cwd: URL) throws(TrainyardError) -> String {
        if program.contains("/") {
            return program.hasPrefix("/") ? program : cwd.appendingPathComponent(program).path
        }
        let search = path ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in search.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = (folder.hasPrefix("/") ? String(folder) : cwd.appendingPathComponent(String(folder)).path) + "/" + program
            var info = stat()
            if stat(candidate, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 { return candidate }
        }
        throw TrainyardError(.invalidArgument,
                             "could not start \(program): not found on the program's PATH (\(search)); PATH comes from runner.env_allow")
    }

    static func describe(step: Int32, launch: Launch) -> String {
        switch Int(step) {
        case Int(CY_STEP_FORK): "fork failed"
        case Int(CY_STEP_PIPE): "could not create the start-up pipe"
        case Int(CY_STEP_SETPGID): "could not create its process group"
        case Int(CY_STEP_SETGROUPS), Int(CY_STEP_SETGID), Int(CY_STEP_SETUID):
            "could not switch to runner.user \(launch.identity?.name ?? "?")"
        case Int(CY_STEP_PDEATHSIG): "could not set the parent-death signal"
        case Int(CY_STEP_PARENT_GONE): "the server exited while it started"
        case Int(CY_STEP_CHDIR): "could not enter its working folder \(launch.workingDirectory.path)"
        case Int(CY_STEP_DUP): "could not set up its standard streams"
        case Int(CY_STEP_LANDLOCK): "could not apply the write restriction (runner.restrict_writes)"
        case Int(CY_STEP_EXEC): "could not execute \(launch.arguments[0])"
        case Int(CY_STEP_THREAD): "could not create the spawner thread"
        default: "step \(step) failed"
        }
    }

    static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// A NULL-terminated array of C strings that lives as long as this value.
private final class CStringArray {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, string) in strings.enumerated() { pointer[i] = strdup(string) }
        pointer[strings.count] = nil
    }

    deinit {
        for i in 0..<count { free(pointer[i]) }
        pointer.deallocate()
    }
}
