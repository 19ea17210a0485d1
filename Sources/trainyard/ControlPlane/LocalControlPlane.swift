import Foundation
import TrainyardCore
import TrainyardRuntime
import TrainyardServing

/// Works on the embedded store directly (SQLite + folder), with no server running.
struct LocalControlPlane: ControlPlane {
    let services: TrainyardServices
    var isRemote: Bool { false }

    func submit(specFile: URL, priority: Int?, delay: Duration?) async throws -> Job {
        let text = try readSpec(specFile)
        return try await services.submitter.submit(text, options: .init(baseDirectory: specFile.deletingLastPathComponent(),
                                                                        submittedBy: "cli:\(NSUserName())", priority: priority, delay: delay))
    }

    func check(specFile: URL) async throws -> ParsedSpec {
        try await services.submitter.check(try readSpec(specFile), options: .init(baseDirectory: specFile.deletingLastPathComponent())).parsed
    }

    func submitTransform(_ request: TransformRequest) async throws -> Job {
        try await services.transformSubmitter.submit(request, options: .init(submittedBy: "cli:\(NSUserName())",
                                                                            baseDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)))
    }

    func job(_ id: JobID) async throws -> Job {
        guard let job = try await services.store.job(id) else { throw TrainyardError.notFound("job \(id)") }
        return job
    }

    func jobs(_ filter: JobFilter) async throws -> [Job] { try await services.store.jobs(filter) }
    func cancel(_ id: JobID) async throws -> Job { try await services.store.cancel(id) }
    func logs(_ id: JobID, after: Int64) async throws -> [LogLine] { try await services.store.logs(id, after: after, limit: 10_000) }
    func models() async throws -> [ModelSummary] { try await services.store.models() }

    func model(_ name: ModelName) async throws -> ModelSummary {
        guard let m = try await services.store.model(name) else { throw TrainyardError.notFound("model \(name)") }
        return m
    }

    func versions(_ name: ModelName) async throws -> [ModelVersion] {
        _ = try await model(name)
        return try await services.store.versions(of: name)
    }

    func aliases(_ name: ModelName) async throws -> [Alias] { try await services.store.aliases(of: name) }

    func setAlias(_ alias: AliasName, of name: ModelName, to version: Int) async throws -> Alias {
        try await services.store.setAlias(alias, of: name, to: version, actor: "cli:\(NSUserName())", reason: nil)
    }

    func deleteAlias(_ alias: AliasName, of name: ModelName) async throws {
        try await services.store.deleteAlias(alias, of: name, actor: "cli:\(NSUserName())")
    }

    func evaluate(_ reference: ModelReference, data location: String) async throws -> ModelEvaluation.Result {
        // The CLI reads files as its user: any path, with the same file checks and size limit as staged data.
        let bytes = try await EvaluationData(artifacts: services.artifacts, dataObjects: services.dataObjects, access: .unrestricted,
                                             limits: services.configuration.limits).read(location)
        return try await ModelEvaluation(store: services.store, artifacts: services.artifacts).evaluate(reference, data: bytes, dataName: location)
    }
}

/// Reads a spec file, with a usage error (exit 2) naming the file when it can't.
func readSpec(_ file: URL) throws -> String {
    guard FileManager.default.fileExists(atPath: file.path) else {
        throw TrainyardError(.invalidArgument, "spec file \(file.path) does not exist")
    }
    guard let data = FileManager.default.contents(atPath: file.path), let text = String(data: data, encoding: .utf8) else {
        throw TrainyardError(.invalidArgument, "spec file \(file.path) is not readable UTF-8 text")
    }
    return text
}
