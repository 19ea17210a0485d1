#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TrainyardCore

/// Turns a `TransformRequest` into a queued job of kind `transform`: checks the request, pins
/// the model version, lists the input with each file's identity, checks that the model can
/// score each file's columns and that the output folder can be written, then enqueues with an
/// idempotency key derived from the input's identity, the model version and the options, so
/// the same input submitted again (a retried request, a re-delivered trigger) is the same job.
///
/// Everything knowable at submit time is an error here (400 / exit 2), naming the option and
/// the file; nothing is enqueued then.
public struct TransformSubmitter: Sendable {
    public let services: TrainyardServices

    public init(services: TrainyardServices) { self.services = services }

    public struct Options: Sendable {
        public var submittedBy: String
        /// Which local files the request may read and write (`.unrestricted` for the CLI).
        public var access: DataAccessPolicy
        /// Relative input/output paths resolve against it (the CLI's working folder); nil over HTTP.
        public var baseDirectory: URL?
        /// Overrides the derived key (a client's `Idempotency-Key`).
        public var idempotencyKey: String?
        /// The trigger that submits (recorded on the job).
        public var origin: JobOrigin?

        public init(submittedBy: String = "local", access: DataAccessPolicy = .unrestricted, baseDirectory: URL? = nil,
                    idempotencyKey: String? = nil, origin: JobOrigin? = nil) {
            self.submittedBy = submittedBy
            self.access = access
            self.baseDirectory = baseDirectory
            self.idempotencyKey = idempotencyKey
            self.origin = origin
        }
    }

    /// Enqueues (or returns the job an identical earlier request made).
    public func submit(_ request: TransformRequest, options: Options = Options()) async throws -> Job {
        try await submission(request, options: options).job
    }

    /// `submit`, also saying whether the job is new (HTTP answers 201) or an earlier identical
    /// request's (200).
    public func submission(_ request: TransformRequest, options: Options = Options()) async throws -> (job: Job, created: Bool) {
        let spec = try await check(request, options: options)
        let key = options.idempotencyKey ?? TransformIdentity.idempotencyKey(spec.transform!, model: spec.name)
        let existing = try await services.store.job(idempotencyKey: key)
        let job = try await services.store.enqueue(EnqueueRequest(kind: .transform, spec: spec, priority: request.priority,
                                                                  submittedBy: options.submittedBy, idempotencyKey: key))
        return (job, existing == nil)
    }

    /// Every check a submit makes; returns the job's spec without enqueuing it.
    public func check(_ request: TransformRequest, options: Options = Options()) async throws -> Spec {
        let limits = services.configuration.limits, transformOptions = services.configuration.transform
        try Self.checkOptions(request)
        let version = try await resolveModel(request.model)
        if version.manifest.task == .tabularRegression && request.probabilities {
            throw TrainyardError(.invalidArgument, "probabilities: \(version.model):\(version.version) is a regression model; it has no class probabilities")
        }
        let base = options.baseDirectory.map { URL(fileURLWithPath: $0.path).standardizedFileURL.path }
        let input = try Self.location(request.input, option: "input", base: base, access: options.access)
        let output = try Self.location(request.output, option: "output", base: base, access: options.access)
        let listing: TransformInput.Listing
        switch input {
        case .path(let inputPath):
            listing = try await runBlocking(deadline: .seconds(limits.stageSeconds), onDeadline: {
                TrainyardError(.timeout, "listing the input took longer than limits.stage_seconds (\(limits.stageSeconds) s)")
            }) { _ in
                try TransformInput.list(inputPath, glob: request.glob, format: request.format, access: options.access,
                                        maxFiles: transformOptions.maxFiles, limits: limits)
            }
        case .object(let uri):
            listing = try await TransformObjects.list(uri, glob: request.glob, format: request.format,
                                                      store: try TransformObjects.store(services, option: "input"),
                                                      maxFiles: transformOptions.maxFiles, limits: limits)
        }
        let outputPath: String
        switch output {
        case .path(let path):
            outputPath = path
            if listing.isFolder, LexicalPath.standardized(outputPath) == LexicalPath.standardized(listing.resolvedPath) {
                throw TrainyardError(.invalidArgument, "output: the output folder is the input folder; its results would be read as input (choose another folder)")
            }
            try await runBlocking { try TransformOutput.prepareFolder(outputPath, access: options.access) }
        case .object(let uri):
            outputPath = TransformObjects.folderPrefix(uri)
            if listing.isFolder, outputPath == listing.resolvedPath {
                throw TrainyardError(.invalidArgument, "output: the output prefix is the input prefix; its results would be read as input (choose another prefix)")
            }
            try await TransformObjects.probe(outputPath, store: try TransformObjects.store(services, option: "output"))
        }

        var transform = TransformSpec(model: request.model, version: version.version, input: request.input, output: outputPath,
                                      glob: request.glob, format: request.format, header: request.header, keep: request.keep,
                                      joinInput: request.joinInput, probabilities: request.probabilities,
                                      maxErrorRate: request.maxErrorRate ?? TransformSpec.defaultMaxErrorRate,
                                      outputTemplate: request.outputTemplate, files: listing.files)
        transform.input = listing.isFolder ? listing.resolvedPath : request.input
        try await checkColumns(transform, version: version, limits: transformOptions)

        var spec = Spec(name: version.model, task: version.manifest.task, retries: request.retries ?? Spec.Defaults.retries,
                        priority: request.priority ?? Spec.Defaults.priority)
        if let seconds = request.timeoutSeconds { spec.timeout = .milliseconds(Int64(seconds * 1000)) }
        spec.transform = transform
        spec.origin = options.origin
        return spec
    }

    static func checkOptions(_ request: TransformRequest) throws(TrainyardError) {
        if let rate = request.maxErrorRate, !(0...1).contains(rate) {
            throw TrainyardError(.invalidArgument, "max_error_rate must be a fraction in [0, 1] (0.01 is 1 %); got \(rate)")
        }
        if request.joinInput && !request.keep.isEmpty {
            throw TrainyardError(.invalidArgument, "keep and join_input exclude each other: join_input keeps every input column")
        }
        if let bad = request.keep.first(where: { $0.isEmpty || $0.utf8.count > 256 }) {
            throw TrainyardError(.invalidArgument, "keep: column name \"\(clientEcho(bad))\" must be 1–256 bytes")
        }
        if request.keep.count > 1000 { throw TrainyardError(.invalidArgument, "keep: at most 1000 columns") }
        if let template = request.outputTemplate, let problem = TransformOutputNames.checkTemplate(template) {
            throw TrainyardError(.invalidArgument, "output_template \"\(clientEcho(template))\" \(problem)")
        }
        if let glob = request.glob, glob.isEmpty || glob.contains("/") || glob.utf8.count > 256 {
            throw TrainyardError(.invalidArgument, "glob must be a file-name pattern (like *.csv) of at most 256 bytes, without '/'")
        }
        if let retries = request.retries, !(0...10).contains(retries) { throw TrainyardError(.invalidArgument, "retries must be in [0, 10]; got \(retries)") }
        if let seconds = request.timeoutSeconds, !(seconds > 0 && seconds <= 7 * 86_400) {
            throw TrainyardError(.invalidArgument, "timeout_seconds must be in (0, 604800]; got \(seconds)")
        }
    }

    /// The version `text` names; a model or version that does not exist is bad input (400 /
    /// exit 2), not a missing route.
    func resolveModel(_ text: String) async throws -> ModelVersion {
        let reference: ModelReference
        do { reference = try ModelReference(parsing: text) } catch {
            throw TrainyardError(.invalidArgument, "model: \(error.message)")
        }
        do {
            return try await services.store.resolve(reference)
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainyardError(.invalidArgument, "model: \(error.message)")
        }
    }

    /// Where a transform reads or writes.
    enum Location: Equatable {
        /// A local file or folder, allowed by the access policy.
        case path(String)
        /// An object or prefix in S3 (`s3://bucket/key`).
        case object(String)
    }

    /// What `text` names for `option` (`input`, `output`): a local path allowed by `access`, or
    /// an `s3://` URI (always allowed, as in specs). Blobs are not transform locations.
    static func location(_ text: String, option: String, base: String?, access: DataAccessPolicy) throws -> Location {
        switch DataLocation.parse(text, base: base) {
        case .success(.file(let path)):
            guard access.permits(.file(path: path)) else { throw TrainyardError(.forbidden, access.refusal(for: option)) }
            return .path(path)
        case .success(.s3(let uri)):
            return .object(uri)
        case .success(.blob):
            throw TrainyardError(.invalidArgument, "\(option): an uploaded blob cannot be a transform \(option); give a path the server can read")
        case .failure(.relativePathWithoutBase):
            throw TrainyardError(.invalidArgument, "\(option): relative path \"\(clientEcho(text))\" needs a working folder; use an absolute path")
        case .failure(.nulCharacter):
            throw TrainyardError(.invalidArgument, "\(option): the location contains a NUL character")
        case .failure:
            throw TrainyardError(.invalidArgument, "\(option): \"\(clientEcho(text))\" is not a path, file:// or s3:// URI")
        }
    }

    /// Opens a scorer on each distinct layout of the input (its first record), so a model that
    /// cannot score the columns is refused now. Bring-your-own models are checked when they run
    /// (opening one starts its serve process).
    func checkColumns(_ transform: TransformSpec, version: ModelVersion, limits: TransformOptions) async throws {
        guard let scoring = services.scoring, version.manifest.task != .command else { return }
        var seen: Set<[String]> = []
        for file in transform.files {
            let layout: TransformLayout
            if TransformInputCopies.isObject(file) {
                layout = try await TransformObjects.layout(of: file, transform: transform, store: try TransformObjects.store(services, option: "input"),
                                                           maxRecordBytes: limits.maxRecordBytes)
            } else {
                layout = try await runBlocking { try TransformInput.layout(of: file, transform: transform, maxRecordBytes: limits.maxRecordBytes) }
            }
            if let first = layout.firstRecord, !seen.insert(first + [layout.format.rawValue]).inserted { continue }
            do {
                let scorer = try await scoring.open(version, layout: layout)
                await scorer.close()
            } catch let error as TrainyardError {
                throw TrainyardError(error.code == .invalidInput ? .invalidArgument : error.code, "\(file.name): \(error.message)")
            }
        }
    }
}
