import Foundation
import Hummingbird
import TrainyardCore

extension ControlAPI {
    var modelRoutes: [APIRoute] {
        let badName = APIResponse.error(400, "Invalid model name, alias or version number")
        let notFound = APIResponse.error(404, "No such model or version")
        return [
            APIRoute(.get, "/api/v1/models", scope: .read, operationID: "listModels", summary: "List models", tag: "models",
                     responses: [.json(200, "Models", Schema.ref("ModelList"))]) { _, _ in
                struct Page: Encodable { var models: [ModelSummary] }
                return try HTTPHelpers.json(Page(models: try await services.store.models()))
            },
            APIRoute(.get, "/api/v1/models/{name}", scope: .read, operationID: "getModel", summary: "Show a model", tag: "models",
                     responses: [.json(200, "The model", Schema.ref("ModelSummary")), badName, notFound]) { _, context in
                try HTTPHelpers.json(try await requireModel(try Params.model(context)))
            },
            APIRoute(.get, "/api/v1/models/{name}/versions", scope: .read, operationID: "listVersions",
                     summary: "A model's versions", tag: "models",
                     responses: [.json(200, "Versions", Schema.ref("VersionList")), badName, notFound]) { _, context in
                let name = try Params.model(context)
                _ = try await requireModel(name)
                struct Page: Encodable { var versions: [ModelVersion] }
                return try HTTPHelpers.json(Page(versions: try await services.store.versions(of: name)))
            },
            APIRoute(.get, "/api/v1/models/{name}/versions/{version}", scope: .read, operationID: "getVersion",
                     summary: "Show a version with its manifest", tag: "models",
                     responses: [.json(200, "The version", Schema.ref("ModelVersion")), badName, notFound]) { _, context in
                try HTTPHelpers.json(try await requireVersion(try Params.model(context), try Params.version(context)))
            },
            APIRoute(.patch, "/api/v1/models/{name}/versions/{version}", scope: .train, operationID: "updateVersion",
                     summary: "Archive or restore a version (refused while an alias points at it), or replace its tags", tag: "models",
                     requestBody: APIRequestBody(["application/json": Schema.ref("VersionPatch")], description: "status and/or tags"),
                     responses: [.json(200, "The updated version", Schema.ref("ModelVersion")), badName, notFound,
                                 .error(409, "An alias points at this version")], handler: patchVersion),
            APIRoute(.delete, "/api/v1/models/{name}/versions/{version}", scope: .train, operationID: "deleteVersion",
                     summary: "Delete a version's registry entry (refused while an alias points at it)", tag: "models",
                     responses: [APIResponse(204, "Deleted"), badName, notFound, .error(409, "An alias points at this version")]) { _, context in
                let name = try Params.model(context), version = try Params.version(context)
                try await services.store.deleteVersion(name, version: version)
                context.logger.info("version deleted", metadata: ["trainyard.model": .string(name.rawValue), "trainyard.version": .stringConvertible(version),
                                                                  "trainyard.caller": .string(context.actor)])
                return Response(status: .noContent)
            },
            APIRoute(.get, "/api/v1/models/{name}/versions/{version}/metrics", scope: .read, operationID: "getVersionMetrics",
                     summary: "A version's final metrics and metric history", tag: "models",
                     responses: [.json(200, "Metrics", Schema.ref("MetricHistory")), badName, notFound]) { _, context in
                let v = try await requireVersion(try Params.model(context), try Params.version(context))
                struct Metrics: Encodable { var model: ModelName; var version: Int; var metrics: [String: Double]; var history: [MetricPoint] }
                return try HTTPHelpers.json(Metrics(model: v.model, version: v.version, metrics: v.manifest.metrics, history: v.manifest.history))
            },
            APIRoute(.get, "/api/v1/models/{name}/aliases", scope: .read, operationID: "listAliases", summary: "A model's aliases", tag: "aliases",
                     responses: [.json(200, "Aliases", Schema.ref("AliasList")), badName, notFound]) { _, context in
                let name = try Params.model(context)
                _ = try await requireModel(name)
                struct Page: Encodable { var aliases: [Alias] }
                return try HTTPHelpers.json(Page(aliases: try await services.store.aliases(of: name)))
            },
            APIRoute(.get, "/api/v1/models/{name}/aliases/history", scope: .read, operationID: "aliasHistory",
                     summary: "The audit trail of alias moves: who, from, to, when", tag: "aliases",
                     responses: [.json(200, "Events, oldest first", Schema.ref("AliasHistory")), badName, notFound]) { _, context in
                let name = try Params.model(context)
                _ = try await requireModel(name)
                struct Page: Encodable { var events: [AliasEvent] }
                return try HTTPHelpers.json(Page(events: try await services.store.aliasEvents(of: name)))
            },
            APIRoute(.put, "/api/v1/models/{name}/aliases/{alias}", scope: .train, operationID: "setAlias",
                     summary: "Point an alias at a version (create or move it), audited with the token's name", tag: "aliases",
                     requestBody: APIRequestBody(["application/json": Schema.ref("AliasUpdate")], description: "{\"version\": N, \"reason\": \"…\"}"),
                     responses: [.json(200, "The alias", Schema.ref("Alias")), badName, notFound], handler: putAlias),
            APIRoute(.delete, "/api/v1/models/{name}/aliases/{alias}", scope: .train, operationID: "deleteAlias",
                     summary: "Remove an alias (audited)", tag: "aliases",
                     responses: [APIResponse(204, "Deleted"), badName, notFound]) { _, context in
                let name = try Params.model(context), alias = try Params.alias(context)
                try await services.store.deleteAlias(alias, of: name, actor: context.actor)
                context.logger.info("alias deleted", metadata: ["trainyard.model": .string(name.rawValue), "trainyard.alias": .string(alias.rawValue),
                                                                "trainyard.caller": .string(context.actor)])
                return Response(status: .noContent)
            },
        ]
    }

    func requireModel(_ name: ModelName) async throws -> ModelSummary {
        guard let model = try await services.store.model(name) else { throw TrainyardError.notFound("model \(name)") }
        return model
    }

    func requireVersion(_ name: ModelName, _ version: Int) async throws -> ModelVersion {
        guard let v = try await services.store.version(name, version) else {
            _ = try await requireModel(name)
            throw TrainyardError.notFound("version \(name):\(version)")
        }
        return v
    }

    struct VersionPatch: Decodable {
        var status: VersionStatus?
        var tags: [String: String]?
    }

    @Sendable func patchVersion(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let name = try Params.model(context), version = try Params.version(context)
        let body = try await HTTPHelpers.readBody(request, limit: context.maxUploadSize)
        try Self.rejectUnknownKeys(body, allowed: ["status", "tags"], what: "version update")
        let patch = try HTTPHelpers.decodeBody(VersionPatch.self, from: body, what: "version update")
        guard patch.status != nil || patch.tags != nil else {
            throw TrainyardError(.invalidArgument, "version update: give \"status\" (ready or archived) and/or \"tags\"")
        }
        var result = try await requireVersion(name, version)
        if let status = patch.status, status != result.status {
            result = try await services.store.setStatus(status, of: name, version: version)
        }
        if let tags = patch.tags {
            result = try await services.store.setTags(tags, of: name, version: version)
        }
        context.logger.info("version updated", metadata: ["trainyard.model": .string(name.rawValue), "trainyard.version": .stringConvertible(version),
                                                          "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(result)
    }

    struct AliasUpdate: Decodable {
        var version: Int
        var reason: String?
    }

    @Sendable func putAlias(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let name = try Params.model(context), alias = try Params.alias(context)
        let body = try await HTTPHelpers.readBody(request, limit: context.maxUploadSize)
        try Self.rejectUnknownKeys(body, allowed: ["version", "reason"], what: "alias update")
        try Self.requireInteger(body, key: "version", what: "alias update")
        let update = try HTTPHelpers.decodeBody(AliasUpdate.self, from: body, what: "alias update")
        guard update.version >= 1 else { throw TrainyardError(.invalidArgument, "alias update: \"version\" must be a positive integer; got \(update.version)") }
        _ = try await requireVersion(name, update.version)
        let result = try await services.store.setAlias(alias, of: name, to: update.version, actor: context.actor, reason: update.reason)
        context.logger.info("alias set", metadata: ["trainyard.model": .string(name.rawValue), "trainyard.alias": .string(alias.rawValue),
                                                    "trainyard.version": .stringConvertible(update.version), "trainyard.caller": .string(context.actor)])
        return try HTTPHelpers.json(result)
    }

    static func rejectUnknownKeys(_ body: Data, allowed: Set<String>, what: String) throws {
        guard let value = try? JSON.decode(JSONValue.self, from: body) else { return }  // the typed decode reports it
        guard case .object(let object) = value else { throw TrainyardError(.invalidArgument, "\(what): the body must be a JSON object") }
        let unknown = Set(object.keys).subtracting(allowed)
        guard unknown.isEmpty else {
            throw TrainyardError(.invalidArgument, "\(what): unknown key(s) \(clientEcho(unknown.sorted().joined(separator: ", "))); expected \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// A present `key` must be a JSON integer. The typed decoder reports a fraction such as 1.5
    /// as a corrupt document ("not valid JSON"); this names the key and the rule instead.
    static func requireInteger(_ body: Data, key: String, what: String) throws {
        guard case .object(let object)? = try? JSON.decode(JSONValue.self, from: body), let value = object[key] else { return }
        let got: String
        switch value {
        case .int, .null: return  // null: the typed decode names it ("must be an integer, not null")
        case .double(let d): got = "\(d)"
        case .string(let s): got = "the string \"\(clientEcho(s))\""
        case .bool(let b): got = "\(b)"
        case .array: got = "an array"
        case .object: got = "an object"
        }
        throw TrainyardError(.invalidArgument, "\(what): \"\(key)\" must be an integer (a version number); got \(got)")
    }
}
