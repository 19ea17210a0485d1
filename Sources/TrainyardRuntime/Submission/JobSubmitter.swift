import Foundation
import TrainyardCore

/// Turns spec text into a queued job: parse → task checks → data checks → stage data and code →
/// enqueue.
///
/// Everything that can be known at submit time is checked before anything is written to the
/// queue, so a bad spec leaves no trace (blobs staged before a later failure are harmless:
/// content-addressed and deduplicated). `check` runs every one of those checks and stops before
/// staging, so `trainyard train --check` passes exactly when a submit would get to staging.
public struct JobSubmitter: Sendable {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public struct Options: Sendable {
        /// The spec's folder: relative paths resolve against it, and (`task: command`) it is the
        /// code that gets staged. Nil for specs submitted over HTTP, which must name uploaded
        /// blobs (`artifact:sha256:`), `s3://` URIs or (as `access` allows) absolute paths.
        public var baseDirectory: URL?
        public var submittedBy: String
        public var priority: Int?
        public var delay: Duration?
        /// Data and code a remote client already uploaded as blobs (`PUT /api/v1/blobs/…`):
        /// `data.train` / `data.validation` / `code` → digest. Those locations are replaced by
        /// their `artifact:sha256:` references before anything else is checked.
        public var staged: [DataDigest]
        /// Which local files the spec may name: `.unrestricted` for the CLI (it reads as the user
        /// who runs it); for HTTP, `DataAccessPolicy.forHTTPSubmissions(configuration)`.
        public var access: DataAccessPolicy
        /// A client's `Idempotency-Key`: submitting again with it returns the first job.
        public var idempotencyKey: String?
        /// The trigger that submits (recorded on the job).
        public var origin: JobOrigin?
        /// How `s3://` data is treated; nil: pinned through the services' data objects (refused
        /// when there are none).
        public var objects: DataObjectAccess?

        public init(baseDirectory: URL? = nil, submittedBy: String = "local", priority: Int? = nil, delay: Duration? = nil,
                    staged: [DataDigest] = [], access: DataAccessPolicy = .unrestricted, idempotencyKey: String? = nil,
                    origin: JobOrigin? = nil, objects: DataObjectAccess? = nil) {
            self.objects = objects
            self.idempotencyKey = idempotencyKey
            self.origin = origin
            self.baseDirectory = baseDirectory
            self.submittedBy = submittedBy
            self.priority = priority
            self.delay = delay
            self.staged = staged
            self.access = access
        }
    }

    /// What `check` found.
    public struct CheckedSubmission: Sendable {
        /// The spec, with pre-staged locations replaced by their blob references.
        public var parsed: ParsedSpec
        /// Spec key (`data.train`) → the local file it names, resolved and checked.
        public var localFiles: [String: URL]
        /// Spec key → the object it names (`s3://`), as checked: what staging pins.
        public var objects: [String: DataObjectIdentity] = [:]
    }

    /// Every check a submit makes, without staging or enqueuing anything.
    public func check(_ text: String, options: Options = Options()) async throws -> CheckedSubmission {
        try await Self.check(text, options: options, trainers: services.trainers, limits: services.configuration.limits,
                             artifacts: services.artifacts, objects: objectAccess(options))
    }

    func objectAccess(_ options: Options) -> DataObjectAccess {
        options.objects ?? .from(services.dataObjects)
    }

    /// The checks, for callers without services (a CLI that submits to a remote server checks
    /// its local files before uploading them). `artifacts`, when given, must hold the blobs the
    /// spec refers to.
    ///
    /// Parse (`SpecParser`) → the task's parameter checks → each data location: the access
    /// policy, then (local files) file type, `limits.stage_bytes`, within `limits.stage_seconds`
    /// → the task's checks of the data itself (`Trainer.validateData`: a CSV header has the
    /// target column), reading files off the cooperative pool within the same deadline.
    /// Objects (`s3://`) are checked as `objects` says: pinned (HEAD, then their first bytes
    /// for the task's checks), forwarded untouched, or refused.
    public static func check(_ text: String, options: Options, trainers: TrainerRegistry, limits: ResourceLimits,
                             artifacts: (any ArtifactStore)?, objects: DataObjectAccess = .unavailable) async throws -> CheckedSubmission {
        let parsed = try Stager.applyingPreStaged(options.staged, to: try SpecParser(maxBytes: limits.specBytes).parse(text))
        let trainer = try trainers.trainer(for: parsed.spec.task)
        try trainer.validate(parsed)
        var local: [String: URL] = [:]
        var pinned: [String: DataObjectIdentity] = [:]
        // The first bytes of objects, checked by the task like local files, then removed.
        var headers: [String: URL] = [:]
        let headerFolder = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-check-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: headerFolder) }
        for (key, text) in parsed.spec.data.locations {
            switch try SubmittedData.location(text, key: key, parsed: parsed, base: options.baseDirectory, access: options.access) {
            case .blob(let sha):
                if let artifacts, try await !artifacts.exists(ArtifactKeys.blob(sha256: sha)) {
                    throw parsed.error(at: key, "staged data \(text) is not in the artifact store")
                }
            case .s3(let uri):
                switch objects {
                case .unavailable: throw SubmittedObjects.unavailable(key: key, parsed: parsed)
                case .forwarded: continue
                case .pinned(let store):
                    let identity = try await SubmittedObjects.pin(uri, key: key, parsed: parsed, store: store, limits: limits)
                    pinned[key] = identity
                    headers[key] = try await SubmittedObjects.header(of: identity, key: key, parsed: parsed, store: store, into: headerFolder)
                }
            case .file(let path):
                let resolved = try await SubmittedData.withFile(path, key: key, written: text, parsed: parsed, access: options.access,
                                                                limits: limits) { file, _ in file.path }
                local[key] = URL(fileURLWithPath: resolved)
            }
        }
        if !local.isEmpty || !headers.isEmpty {
            let files = local.merging(headers) { file, _ in file }
            try await runBlocking(deadline: .seconds(limits.stageSeconds), onDeadline: {
                TrainyardError(.timeout, "checking the data files took longer than limits.stage_seconds (\(limits.stageSeconds) s)")
            }) { _ in try trainer.validateData(parsed, inputs: files) }
        }
        return CheckedSubmission(parsed: parsed, localFiles: local, objects: pinned)
    }

    public func submit(_ text: String, options: Options = Options()) async throws -> Job {
        let checked = try await check(text, options: options)
        var stager = Stager(artifacts: services.artifacts, limits: services.configuration.limits, access: options.access)
        stager.objects = objectAccess(options)
        var staged = try await stager.stage(checked.parsed, baseDirectory: options.baseDirectory, preStaged: options.staged,
                                            pinned: checked.objects)
        staged.origin = options.origin
        let runAfter = options.delay.map { services.clock.now().addingTimeInterval($0.seconds) }
        return try await services.store.enqueue(EnqueueRequest(kind: .train, spec: staged, priority: options.priority,
                                                               runAfter: runAfter, submittedBy: options.submittedBy,
                                                               idempotencyKey: options.idempotencyKey))
    }
}
