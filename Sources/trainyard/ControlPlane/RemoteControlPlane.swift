import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

/// Talks to a Trainyard server's control API (`/api/v1`). Local data files named in a spec are
/// uploaded first as content-addressed blobs (`PUT /api/v1/blobs/sha256/{hex}`, skipped when
/// the server already has them), then the spec is submitted with those references.
struct RemoteControlPlane: ControlPlane {
    let baseURL: URL
    let token: String?
    /// This CLI's configuration: local files are checked and read under its `limits.*`, with
    /// its trainers, before they are uploaded.
    let configuration: TrainyardConfiguration
    var isRemote: Bool { true }

    init(baseURL: String, token: String?, configuration: TrainyardConfiguration = TrainyardConfiguration()) throws {
        guard let url = URL(string: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL), url.scheme != nil else {
            throw TrainyardError(.invalidArgument, "invalid server URL \"\(baseURL)\"")
        }
        self.baseURL = url
        self.token = token
        self.configuration = configuration
    }

    func request(_ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil,
                 contentType: String = "application/json") async throws -> Data {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        var request = URLRequest(url: components.url!)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw TrainyardError(.unavailable, "cannot reach the server at \(baseURL): \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            struct Envelope: Decodable {
                struct Body: Decodable { var code: String; var message: String; var details: [TrainyardError.Detail]? }
                var error: Body
            }
            if let envelope = try? JSON.decode(Envelope.self, from: data) {
                let code = TrainyardError.Code(rawValue: envelope.error.code) ?? (status < 500 ? .invalidArgument : .internal)
                throw TrainyardError(code, envelope.error.message, details: envelope.error.details ?? [])
            }
            throw TrainyardError(status < 500 ? .invalidArgument : .internal, "server answered \(status) for \(method) \(path)")
        }
        return data
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String, query: [URLQueryItem] = []) async throws -> T {
        try JSON.decode(type, from: try await request("GET", path, query: query))
    }

    /// The submit's checks on this machine, where the spec's files are: parse, parameters, each
    /// data file (type, `limits.stage_bytes`, the task's header checks). The server checks again
    /// what it receives.
    func check(specFile: URL) async throws -> ParsedSpec {
        try await JobSubmitter.check(try readSpec(specFile), options: .init(baseDirectory: specFile.deletingLastPathComponent()),
                                     trainers: defaultTrainers(configuration), limits: configuration.limits, artifacts: nil,
                                     objects: .forwarded).parsed
    }

    func submit(specFile: URL, priority: Int?, delay: Duration?) async throws -> Job {
        let text = try readSpec(specFile)
        // Check locally first: bad specs and bad data fail fast, with line/column, before any upload.
        let parsed = try await check(specFile: specFile)
        var stager = Stager(artifacts: RemoteBlobStore(plane: self), limits: configuration.limits)
        // s3:// data is the server's to read and pin: sent as written.
        stager.objects = .forwarded
        let staged = try await stager.stage(parsed, baseDirectory: specFile.deletingLastPathComponent())
        struct Submission: Encodable { var spec: String; var staged: [DataDigest] }
        var query: [URLQueryItem] = []
        if let priority { query.append(URLQueryItem(name: "priority", value: String(priority))) }
        if let delay { query.append(URLQueryItem(name: "delay", value: "\(Int(delay.seconds))s")) }
        let body = try JSON.encode(Submission(spec: text, staged: staged.staged))
        return try JSON.decode(Job.self, from: try await request("POST", "api/v1/jobs", query: query, body: body))
    }

    func submitTransform(_ request: TransformRequest) async throws -> Job {
        try JSON.decode(Job.self, from: try await self.request("POST", "api/v1/transforms", query: [], body: try JSON.encode(request)))
    }

    func job(_ id: JobID) async throws -> Job { try await get(Job.self, "api/v1/jobs/\(id)") }

    func jobs(_ filter: JobFilter) async throws -> [Job] {
        var query = [URLQueryItem(name: "limit", value: String(filter.limit))]
        if !filter.states.isEmpty { query.append(URLQueryItem(name: "state", value: filter.states.map(\.rawValue).sorted().joined(separator: ","))) }
        if let kind = filter.kind { query.append(URLQueryItem(name: "kind", value: kind.rawValue)) }
        if let model = filter.model { query.append(URLQueryItem(name: "model", value: model.rawValue)) }
        struct Page: Decodable { var jobs: [Job] }
        return try await get(Page.self, "api/v1/jobs", query: query).jobs
    }

    func cancel(_ id: JobID) async throws -> Job {
        try JSON.decode(Job.self, from: try await request("POST", "api/v1/jobs/\(id)/cancel"))
    }

    func logs(_ id: JobID, after: Int64) async throws -> [LogLine] {
        struct Page: Decodable { var lines: [LogLine] }
        return try await get(Page.self, "api/v1/jobs/\(id)/logs", query: [URLQueryItem(name: "after", value: String(after))]).lines
    }

    func models() async throws -> [ModelSummary] {
        struct Page: Decodable { var models: [ModelSummary] }
        return try await get(Page.self, "api/v1/models").models
    }

    func model(_ name: ModelName) async throws -> ModelSummary { try await get(ModelSummary.self, "api/v1/models/\(name)") }

    func versions(_ name: ModelName) async throws -> [ModelVersion] {
        struct Page: Decodable { var versions: [ModelVersion] }
        return try await get(Page.self, "api/v1/models/\(name)/versions").versions
    }

    func aliases(_ name: ModelName) async throws -> [Alias] {
        struct Page: Decodable { var aliases: [Alias] }
        return try await get(Page.self, "api/v1/models/\(name)/aliases").aliases
    }

    func setAlias(_ alias: AliasName, of name: ModelName, to version: Int) async throws -> Alias {
        struct Body: Encodable { var version: Int }
        return try JSON.decode(Alias.self, from: try await request("PUT", "api/v1/models/\(name)/aliases/\(alias)", body: try JSON.encode(Body(version: version))))
    }

    func deleteAlias(_ alias: AliasName, of name: ModelName) async throws {
        _ = try await request("DELETE", "api/v1/models/\(name)/aliases/\(alias)")
    }

    /// Uploads the local file as a blob (unless the server has it) and asks the server to score
    /// it: `POST /api/v1/models/{name}/evaluate {"data": "artifact:sha256:…"}`; an `s3://` URI
    /// is sent as is, for the server to read.
    func evaluate(_ reference: ModelReference, data location: String) async throws -> ModelEvaluation.Result {
        let isObject = location.lowercased().hasPrefix("s3://")
        let data = isObject ? location : ArtifactKeys.blobReference(sha256: try await uploadBlob(URL(fileURLWithPath: location)))
        var query: [URLQueryItem] = []
        switch reference.selector {
        case .version(let v): query.append(URLQueryItem(name: "version", value: String(v)))
        case .alias(let a): query.append(URLQueryItem(name: "alias", value: a.rawValue))
        case .default: break
        }
        let body = try JSON.encode(["data": data])
        var result = try JSON.decode(ModelEvaluation.Result.self,
                                     from: try await request("POST", "api/v1/models/\(reference.name)/evaluate", query: query, body: body))
        result.data = location
        return result
    }

    /// Uploads a local data file as a content-addressed blob, after the checks every data file
    /// gets (regular file, `limits.stage_bytes`), from a copy hashed while it was made: the bytes
    /// sent are the bytes hashed. Returns the sha256. The copy is in the system's temporary
    /// folder: talking to a server creates nothing in the working folder.
    func uploadBlob(_ file: URL) async throws -> String {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(".trainyard-upload-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: copy) }
        let limits = configuration.limits, path = file.path
        let sha: String
        do {
            sha = try await runBlocking(deadline: .seconds(limits.stageSeconds), onDeadline: {
                TrainyardError(.timeout, "reading \(path) took longer than limits.stage_seconds (\(limits.stageSeconds) s)")
            }) { stop in
                try LocalDataFile.open(path, policy: .unrestricted, limits: limits).copyHashing(to: copy, limit: limits.stageBytes, stop: stop).sha256
            }
        } catch let problem as LocalDataFile.Problem {
            throw EvaluationData.error(problem, written: path, access: .unrestricted)
        }
        let blobs = RemoteBlobStore(plane: self)
        let key = ArtifactKeys.blob(sha256: sha)
        if try await !blobs.exists(key) { _ = try await blobs.put(key, file: copy) }
        return sha
    }
}

/// The server's blob endpoint seen as an `ArtifactStore`, so the `Stager` can upload through it.
struct RemoteBlobStore: ArtifactStore {
    let plane: RemoteControlPlane
    var location: String { plane.baseURL.absoluteString }

    func put(_ key: String, data: Data) async throws -> StoredObject {
        guard key.hasPrefix("blobs/sha256/") else { throw TrainyardError(.invalidArgument, "only blobs can be uploaded") }
        _ = try await plane.request("PUT", "api/v1/\(key)", body: data, contentType: "application/octet-stream")
        return StoredObject(key: key, sha256: String(key.dropFirst("blobs/sha256/".count)), bytes: Int64(data.count))
    }

    func put(_ key: String, file: URL) async throws -> StoredObject { try await put(key, data: try Data(contentsOf: file)) }
    /// The upload is one request body, so the chunks are gathered first (as `put(file:)` reads the file).
    func put<Chunks: AsyncSequence>(_ key: String, from chunks: Chunks) async throws -> StoredObject where Chunks.Element == Data {
        var data = Data()
        for try await chunk in chunks { data.append(chunk) }
        return try await put(key, data: data)
    }

    func exists(_ key: String) async throws -> Bool {
        do { _ = try await plane.request("HEAD", "api/v1/\(key)"); return true } catch let e as TrainyardError where e.code == .notFound || e.code == .invalidArgument {
            return false
        }
    }

    func get(_ key: String) async throws -> Data { throw TrainyardError(.invalidArgument, "blobs are write-only from the CLI") }
    func read(_ key: String, chunks consume: (Data) async throws -> Void) async throws -> StoredObject {
        throw TrainyardError(.invalidArgument, "blobs are write-only from the CLI")
    }
    func download(_ key: String, to file: URL) async throws -> StoredObject { throw TrainyardError(.invalidArgument, "blobs are write-only from the CLI") }
    func list(prefix: String) async throws -> [String] { [] }
    func delete(_ key: String) async throws {}
    func publish(_ source: String, to destination: String) async throws -> PublicationOutcome {
        throw TrainyardError(.invalidArgument, "versions are published by workers, not from the CLI")
    }
}
