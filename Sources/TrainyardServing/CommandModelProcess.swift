import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Synchronization
import TrainyardCore
import TrainyardRuntime

/// A bring-your-own model's serve process (`task: command` with `serve:`), supervised.
///
/// The version's artifacts are unpacked into a private work folder (0700; `model/`, plus its
/// staged code in `code/`, the cwd), and the serve command runs through `ChildProcess` (own
/// process group, parent-death signal, `runner.user`, write restriction) with an environment
/// built from nothing: `PORT`, `TRAINYARD_PORT`, `TRAINYARD_MODEL_DIR`, `PYTHONUNBUFFERED` and
/// the names `runner.env_allow` lets through. It is ready when `GET /ping` answers 200. If it
/// dies it is restarted with exponential backoff; requests arriving meanwhile wait for it (up to
/// the request timeout).
/// At most `maxConcurrency` requests are forwarded at once; more queue.
public final class CommandModelProcess: Sendable {
    let version: ModelVersion
    let command: [String]
    let services: TrainyardServices
    let options: CommandOptions
    let metrics: ServingMetrics
    let logger: Logger
    let session: URLSession
    private let state = Mutex(State())
    private let permits: AsyncSemaphore

    struct State {
        var process: ChildProcess?
        var port: Int = 0
        var ready = false
        var stopping = false
        var restarts = 0
        var generation = 0
        var inFlight = 0
        var readyWaiters: [CheckedContinuation<Void, Never>] = []
        var directory: URL?
    }

    init(version: ModelVersion, command: [String], services: TrainyardServices, options: CommandOptions, metrics: ServingMetrics, logger: Logger) {
        self.version = version
        self.command = command
        self.services = services
        self.options = options
        self.metrics = metrics
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = max(1, options.maxConcurrency)
        configuration.timeoutIntervalForRequest = 60
        self.session = URLSession(configuration: configuration)
        self.permits = AsyncSemaphore(options.maxConcurrency)
    }

    var label: String { "\(version.model):\(version.version)" }

    /// The process id of the running serve process (tests kill it to check the restart).
    public var processID: Int32? { state.withLock { $0.process?.pid } }
    public var isReady: Bool { state.withLock { $0.ready } }
    public var restartCount: Int { state.withLock { $0.restarts } }

    // MARK: Lifecycle

    /// Unpacks the version and starts the serve process; returns once `/ping` answers 200.
    func start() async throws {
        let base = (options.workDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-serve"))
            .appendingPathComponent("\(version.model)-\(version.version)-\(UUID().uuidString.prefix(8))")
        let modelDir = base.appendingPathComponent("model"), codeDir = base.appendingPathComponent("code")
        let fm = FileManager.default
        try fm.createDirectory(at: modelDir, withIntermediateDirectories: true)
        let reader = ArtifactReader(artifacts: services.artifacts)
        for artifact in version.manifest.artifacts where !artifact.name.hasPrefix("checkpoint/") {
            let target = modelDir.appendingPathComponent(artifact.name)
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try await reader.read(artifact.name, of: version).write(to: target)
        }
        var cwd = modelDir
        if let code = version.manifest.lineage.code {
            try await Stager.materializeCode(sha256: code.sha256, artifacts: services.artifacts, into: codeDir)
            cwd = codeDir
        }
        state.withLock { $0.directory = base }
        // Private to the program (0700), and its own when it runs as runner.user.
        try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: base.path)
        try RunnerIdentity.forChildren(services.configuration.runner)?.takeOwnership(of: [base])
        try spawn(cwd: cwd, modelDir: modelDir)
        try await waitUntilReady(timeout: options.startTimeout)
    }

    private func spawn(cwd: URL, modelDir: URL) throws {
        let port = try Self.freePort()
        let runner = services.configuration.runner
        let identity = try RunnerIdentity.forChildren(runner)
        let environment = ChildEnvironment.build(contract: [
            "PORT": String(port), "TRAINYARD_PORT": String(port), "TRAINYARD_MODEL_DIR": modelDir.path, "PYTHONUNBUFFERED": "1",
        ], allowList: runner.environmentAllowList, identity: identity)
        var launch = ChildProcess.Launch(arguments: command, environment: environment, workingDirectory: cwd)
        launch.standardOutput = .inherit
        launch.standardError = .inherit
        launch.identity = identity
        launch.writablePaths = runner.writablePaths(own: [modelDir.deletingLastPathComponent()], environment: environment)
        let generation = state.withLock { s -> Int in
            s.generation += 1
            return s.generation
        }
        let process = try ChildProcess.start(launch)
        Task { [weak self] in
            let exit = await process.wait()
            self?.exited(generation: generation, status: exit, cwd: cwd, modelDir: modelDir)
        }
        state.withLock { s in
            s.process = process
            s.port = port
            s.ready = false
        }
        logger.info("serve process started", metadata: ["trainyard.model": .string(label), "trainyard.pid": .stringConvertible(process.pid),
                                                        "trainyard.port": .stringConvertible(port)])
        Task { await self.pingUntilReady(generation: generation) }
    }

    private func pingUntilReady(generation: Int) async {
        let deadline = ContinuousClock.now + options.startTimeout
        while ContinuousClock.now < deadline {
            let (port, current, stopping) = state.withLock { ($0.port, $0.generation, $0.stopping) }
            guard current == generation, !stopping else { return }
            if await ping(port: port) {
                let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    guard s.generation == generation else { return [] }
                    s.ready = true
                    defer { s.readyWaiters = [] }
                    return s.readyWaiters
                }
                logger.info("serve process ready", metadata: ["trainyard.model": .string(label)])
                for w in waiters { w.resume() }
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        logger.error("serve process did not answer GET /ping with 200 in time; restarting it", metadata: ["trainyard.model": .string(label)])
        if let process = state.withLock({ $0.generation == generation ? $0.process : nil }) {
            await process.stop(grace: options.terminationGrace)
        }
    }

    private func ping(port: Int) async -> Bool {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/ping")!)
        request.timeoutInterval = 2
        guard let (_, response) = try? await session.send(request) else { return false }
        return response.statusCode == 200
    }

    private func exited(generation: Int, status: ChildProcess.Exit, cwd: URL, modelDir: URL) {
        let (stopping, restarts) = state.withLock { s -> (Bool, Int) in
            guard s.generation == generation else { return (true, 0) }
            s.ready = false
            s.process = nil
            if !s.stopping { s.restarts += 1 }
            return (s.stopping, s.restarts)
        }
        guard !stopping else { return }
        metrics.recordRestart(model: version.model.rawValue, version: version.version)
        let delay = min(options.restartDelay * (1 << min(restarts - 1, 16)), options.maxRestartDelay)
        logger.warning("serve process exited; restarting", metadata: ["trainyard.model": .string(label), "trainyard.exit_status": .string(status.description),
                                                                      "trainyard.restart_in_ms": .stringConvertible(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)])
        Task {
            try? await Task.sleep(for: delay)
            guard !self.state.withLock({ $0.stopping }) else { return }
            do {
                try self.spawn(cwd: cwd, modelDir: modelDir)
            } catch {
                self.logger.error("restarting the serve process failed", metadata: ["trainyard.model": .string(self.label), "error.description": .string("\(error)")])
            }
        }
    }

    private func waitUntilReady(timeout: Duration) async throws {
        if state.withLock({ $0.ready }) { return }
        try await withDeadline(timeout, what: "starting the serve process of \(label)") {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let now = self.state.withLock { s -> Bool in
                    if s.ready { return true }
                    s.readyWaiters.append(c)
                    return false
                }
                if now { c.resume() }
            }
        }
    }

    /// Stops the process: waits for in-flight requests (when `drain`), SIGTERM, SIGKILL after the grace.
    func stop(drain: Bool) async {
        let deadline = ContinuousClock.now + .seconds(30)
        while drain, state.withLock({ $0.inFlight > 0 }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let (process, waiters, directory) = state.withLock { s -> (ChildProcess?, [CheckedContinuation<Void, Never>], URL?) in
            s.stopping = true
            s.ready = false
            defer { s.readyWaiters = [] }
            return (s.process, s.readyWaiters, s.directory)
        }
        for w in waiters { w.resume() }
        if let process { await process.stop(grace: options.terminationGrace) }
        session.invalidateAndCancel()
        if let directory { try? FileManager.default.removeItem(at: directory) }
        logger.info("serve process stopped", metadata: ["trainyard.model": .string(label)])
    }

    // MARK: Requests

    /// Forwards a request body to `POST /invocations` as is; returns the body and content type.
    public func invoke(body: Data, contentType: String) async throws -> (Data, String) {
        await permits.wait()
        state.withLock { $0.inFlight += 1 }
        defer {
            state.withLock { $0.inFlight -= 1 }
            permits.signal()
        }
        var attempt = 0
        while true {
            attempt += 1
            try await waitUntilReady(timeout: .seconds(30))
            let (port, stopping) = state.withLock { ($0.port, $0.stopping) }
            guard !stopping else { throw TrainyardError(.unavailable, "the serve process of \(label) is stopping") }
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/invocations")!)
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
            request.timeoutInterval = 30
            do {
                let (data, response) = try await session.send(request)
                switch response.statusCode {
                case 200..<300:
                    return (data, response.value(forHTTPHeaderField: "Content-Type") ?? "application/json")
                case 400..<500:
                    let text = String(decoding: data.prefix(500), as: UTF8.self)
                    throw TrainyardError(.invalidInput, "the model \(label) refused the input (\(response.statusCode)): \(text)")
                default:
                    throw TrainyardError(.unavailable, "the serve process of \(label) answered \(response.statusCode)")
                }
            } catch let error as TrainyardError {
                throw error
            } catch let error as URLError where error.code == .timedOut {
                throw TrainyardError(.timeout, "the serve process of \(label) did not answer within \(Int(request.timeoutInterval)) s")
            } catch {
                // Connection refused/reset: the process died mid-request; retry once it is back.
                guard attempt < 3 else {
                    throw TrainyardError(.unavailable, "the serve process of \(label) is not answering: \(error.localizedDescription)")
                }
                state.withLock { s in if s.port == port { s.ready = s.process?.isRunning == true && s.ready } }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Rows as `{"instances": rows}`; the answer's `predictions` (or a bare array), one per row.
    func predict(_ rows: [JSONValue]) async throws -> [JSONValue] {
        let body = Data(FastJSON.serialize(.object(["instances": .array(rows)])))
        let (data, _) = try await invoke(body: body, contentType: "application/json")
        let answer: JSONValue
        do { answer = try FastJSON.parse(data) } catch {
            throw TrainyardError(.unavailable, "the serve process of \(label) answered something that is not JSON")
        }
        let predictions: [JSONValue]
        switch answer {
        case .array(let a): predictions = a
        case .object(let o):
            guard case .array(let a)? = o["predictions"] else { fallthrough }
            predictions = a
        default:
            throw TrainyardError(.unavailable, "the serve process of \(label) answered JSON without a \"predictions\" array")
        }
        guard predictions.count == rows.count else {
            throw TrainyardError(.unavailable, "the serve process of \(label) answered \(predictions.count) predictions for \(rows.count) rows")
        }
        return predictions
    }

    /// A free TCP port on the loopback interface (bound then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TrainyardError(.internal, "socket() failed") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TrainyardError(.internal, "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

extension URLSession {
    /// `data(for:)` through a completion handler (works on every Foundation).
    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        try await withCheckedThrowingContinuation { continuation in
            let task = dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                guard let http = response as? HTTPURLResponse else {
                    continuation.resume(throwing: URLError(.badServerResponse)); return
                }
                continuation.resume(returning: (data ?? Data(), http))
            }
            task.resume()
        }
    }
}

/// A counting semaphore for async code (the per-process concurrency limit).
final class AsyncSemaphore: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ permits: Int) { state = Mutex(State(available: max(1, permits))) }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.available > 0 { s.available -= 1; return true }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    func signal() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty { s.available += 1; return nil }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
