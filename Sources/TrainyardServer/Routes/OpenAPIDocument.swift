import Foundation
import TrainyardCore

/// Builds the OpenAPI 3.1 document from the route table.
///
/// What it declares is what the server does: each route's error body in its protocol's shape
/// (`ErrorDialect(path:)`), `security` and the 401/403 answers only when tokens are configured,
/// and path parameters with the same rules the handlers apply (name pattern and length, positive
/// integers). Schemathesis checks the server against it in CI (`scripts/schemathesis`).
public enum OpenAPIDocument {
    /// A model or alias name, as `ModelName.isValid` checks it.
    static let namePattern = "^[a-z0-9][a-z0-9._-]{0,63}$"

    /// The schema of a path parameter, from its name.
    static func pathParameterSchema(_ name: String) -> JSONValue {
        switch name {
        case "id", "version":
            return .object(["type": .string("integer"), "minimum": .int(1), "maximum": .int(Int(Int64.max))])
        case "name", "alias":
            return .object(["type": .string("string"), "pattern": .string(namePattern), "minLength": .int(1), "maxLength": .int(64)])
        case "hex":
            return .object(["type": .string("string"), "pattern": .string("^[0-9a-f]{64}$")])
        default:
            return Schema.string
        }
    }

    /// The schema of one server-sent event (OpenAPI 3.1 validators check a `text/event-stream`
    /// body event by event): the route's own description says what its events carry.
    static func serverSentEvent(_ declared: JSONValue) -> JSONValue {
        var event = Schema.object(["event": Schema.string, "data": Schema.string, "id": Schema.string, "retry": Schema.integer])
        if let description = declared["description"]?.stringValue { event = Schema.with(event, description: description) }
        return event
    }

    /// `schema` with every reference to the envelope `Error` replaced by `errorSchema`.
    static func replacingErrorSchema(_ schema: JSONValue, with errorSchema: String) -> JSONValue {
        guard errorSchema != "Error" else { return schema }
        return schema == Schema.ref("Error") ? Schema.ref(errorSchema) : schema
    }

    public static func build(routes: [APIRoute], authEnabled: Bool) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for route in routes {
            let errorSchema = ErrorDialect(path: route.path).schemaName
            let errorContent: JSONValue = .object(["application/json": .object(["schema": Schema.ref(errorSchema)])])
            var operation: [String: JSONValue] = [
                "operationId": .string(route.operationID),
                "summary": .string(route.summary),
                "tags": .array([.string(route.tag)]),
            ]
            var parameters: [JSONValue] = route.pathParameters.map { name in
                .object([
                    "name": .string(name), "in": .string("path"), "required": .bool(true),
                    "schema": pathParameterSchema(name),
                ])
            }
            parameters += route.query.map { p in
                .object(["name": .string(p.name), "in": .string(p.location), "required": .bool(p.required),
                         "description": .string(p.description), "schema": p.schema])
            }
            if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
            if let body = route.requestBody {
                operation["requestBody"] = .object([
                    "description": .string(body.description),
                    "required": .bool(body.required),
                    "content": .object(body.content.mapValues { .object(["schema": $0]) }),
                ])
            }
            var responses: [String: JSONValue] = [:]
            for r in route.responses {
                var response: [String: JSONValue] = ["description": .string(r.description)]
                if !r.content.isEmpty {
                    response["content"] = .object(Dictionary(uniqueKeysWithValues: r.content.map { mediaType, schema in
                        (mediaType, .object(["schema": mediaType == "text/event-stream" ? serverSentEvent(schema)
                                                                                         : replacingErrorSchema(schema, with: errorSchema)]))
                    }))
                }
                responses[String(r.status)] = .object(response)
            }
            if authEnabled, let scope = route.scope {
                if responses["401"] == nil {
                    responses["401"] = .object(["description": .string("Missing or unknown bearer token"), "content": errorContent])
                }
                if responses["403"] == nil {
                    responses["403"] = .object(["description": .string("The token lacks the required scope"), "content": errorContent])
                }
                operation["security"] = .array([.object(["bearer": .array([.string(scope.rawValue)])])])
            } else if authEnabled {
                operation["security"] = .array([])
            }
            // The scope a token needs once tokens are configured (informative when they are not).
            if let scope = route.scope { operation["x-trainyard-scope"] = .string(scope.rawValue) }
            responses["default"] = .object(["description": .string("Error"), "content": errorContent])
            operation["responses"] = .object(responses)
            paths[route.path, default: [:]][route.method.rawValue.lowercased()] = .object(operation)
        }
        var components: [String: JSONValue] = ["schemas": .object(schemas.merging(triggerSchemas) { own, _ in own })]
        if authEnabled {
            components["securitySchemes"] = .object(["bearer": .object(["type": .string("http"), "scheme": .string("bearer"),
                                                                        "description": .string("A token from auth.tokens; scopes admin, train, predict, read")])])
        }
        return .object([
            "openapi": .string("3.1.0"),
            "info": .object([
                "title": .string("Trainyard"),
                "version": .string("1"),
                "description": .string("Control API (/api/v1), operations and inference routes of a Trainyard server. Errors are {\"error\": {\"code\", \"message\", \"details\"}}, "
                    + "except on the client-protocol routes, which answer in their protocol's shape: KServe V2 and TensorFlow Serving {\"error\": \"message\"}, "
                    + "MLflow/SageMaker {\"error_code\", \"message\"} (each with the same status code, and details as an extra key)."
                    + (authEnabled ? " This server requires bearer tokens: each operation's security names the scope." : "")),
            ]),
            "paths": .object(paths.mapValues { .object($0) }),
            "components": .object(components),
        ])
    }

    static let schemas: [String: JSONValue] = [
        "ProtocolError": Schema.object([
            "error": Schema.string, "code": Schema.string,
            "details": Schema.array(Schema.object(["path": Schema.string, "message": Schema.string], required: ["message"])),
        ], required: ["error"], description: "KServe V2 and TensorFlow Serving error body"),
        "MLflowError": Schema.object([
            "error_code": Schema.string, "message": Schema.string,
            "details": Schema.array(Schema.object(["path": Schema.string, "message": Schema.string], required: ["message"])),
        ], required: ["error_code", "message"], description: "MLflow scoring server / SageMaker error body"),
        "Error": Schema.object([
            "error": Schema.object([
                "code": Schema.string,
                "message": Schema.string,
                "details": Schema.array(Schema.object([
                    "path": Schema.string, "line": Schema.integer, "column": Schema.integer, "message": Schema.string,
                ], required: ["message"])),
            ], required: ["code", "message", "details"]),
        ], required: ["error"]),
        "JobProgress": Schema.object([
            "epoch": Schema.integer, "total_epochs": Schema.integer, "loss": Schema.number, "eta_seconds": Schema.number,
            "metrics": Schema.map(Schema.number), "message": Schema.string,
            "rows": Schema.integer, "rows_out": Schema.integer, "row_errors": Schema.integer, "rows_per_second": Schema.number,
        ]),
        "TransformRequest": Schema.object([
            "model": Schema.with(Schema.string, description: "NAME, NAME@ALIAS or NAME:VERSION"),
            "input": Schema.with(Schema.string, description: "A file or a folder the server can read (absolute path or file:// URI)"),
            "output": Schema.with(Schema.string, description: "The output folder (created if missing)"),
            "glob": Schema.string,
            "format": Schema.enumeration(TransformFormat.allCases.map(\.rawValue)),
            "header": Schema.boolean, "keep": Schema.array(Schema.string), "join_input": Schema.boolean, "probabilities": Schema.boolean,
            "max_error_rate": Schema.number, "output_template": Schema.string, "priority": Schema.integer, "retries": Schema.integer,
            "timeout_seconds": Schema.number,
        ], required: ["model", "input", "output"]),
        "Job": Schema.object([
            "id": Schema.integer,
            "kind": Schema.enumeration(JobKind.allCases.map(\.rawValue)),
            "state": Schema.enumeration(JobState.allCases.map(\.rawValue)),
            "model": Schema.string,
            "spec": Schema.with(Schema.object([:]), description: "The spec after staging (snake_case keys)"),
            "priority": Schema.integer, "attempt": Schema.integer, "max_attempts": Schema.integer,
            "run_after": Schema.dateTime, "created_at": Schema.dateTime, "started_at": Schema.dateTime,
            "finished_at": Schema.dateTime, "lease_expires_at": Schema.dateTime, "worker_id": Schema.string,
            "cancel_requested": Schema.boolean, "failure_reason": Schema.string, "result_version": Schema.integer,
            "progress": Schema.ref("JobProgress"), "submitted_by": Schema.string,
        ], required: ["id", "kind", "state", "model", "spec", "priority", "attempt", "max_attempts", "created_at"]),
        "JobList": Schema.object(["jobs": Schema.array(Schema.ref("Job")), "next_before": Schema.integer], required: ["jobs"]),
        "JobSubmission": Schema.object([
            "spec": Schema.with(Schema.anyValue, description: "The spec as YAML/JSON text, or as a JSON object"),
            "staged": Schema.array(Schema.ref("DataDigest")),
        ], required: ["spec"], description: "A wrapped submission; a bare spec object is accepted too"),
        "Spec": Schema.with(Schema.object([
            "name": Schema.string, "task": Schema.string, "data": Schema.object([:]), "model": Schema.object([:]),
            "warm_start": Schema.string, "promote": Schema.object([:]), "retries": Schema.integer, "timeout": Schema.string,
            "command": Schema.array(Schema.string), "serve": Schema.array(Schema.string),
        ], required: ["name", "task"]), description: "A training spec (see the blueprint); YAML or JSON"),
        "DataDigest": Schema.object(["key": Schema.string, "source": Schema.string, "sha256": Schema.string, "bytes": Schema.integer],
                                    required: ["key", "source", "sha256", "bytes"]),
        "LogLine": Schema.object(["sequence": Schema.integer, "at": Schema.dateTime, "text": Schema.string], required: ["sequence", "at", "text"]),
        "LogPage": Schema.object(["lines": Schema.array(Schema.ref("LogLine")), "next_after": Schema.integer], required: ["lines", "next_after"]),
        "JobEvent": Schema.object([
            "id": Schema.integer, "state": Schema.string, "attempt": Schema.integer, "progress": Schema.ref("JobProgress"),
            "cancel_requested": Schema.boolean, "failure_reason": Schema.string, "result_version": Schema.integer,
        ], description: "Data of an SSE `progress` event"),
        "Blob": Schema.object(["key": Schema.string, "sha256": Schema.string, "bytes": Schema.integer, "reference": Schema.string,
                               "created": Schema.boolean]),
        "ModelSummary": Schema.object([
            "name": Schema.string, "created_at": Schema.dateTime, "latest_version": Schema.integer, "version_count": Schema.integer,
            "aliases": Schema.map(Schema.integer), "task": Schema.string,
        ], required: ["name", "created_at", "version_count", "aliases"]),
        "ModelList": Schema.object(["models": Schema.array(Schema.ref("ModelSummary"))], required: ["models"]),
        "ModelVersion": Schema.object([
            "model": Schema.string, "version": Schema.integer, "status": Schema.enumeration(["ready", "archived"]),
            "created_at": Schema.dateTime, "job_id": Schema.integer,
            "manifest": Schema.with(Schema.object([:]), description: "task, algorithm, params, metrics, history, lineage, artifacts"),
            "aliases": Schema.array(Schema.string), "tags": Schema.map(Schema.string),
            "promotion": Schema.ref("PromotionRecord"),
        ], required: ["model", "version", "status", "created_at", "manifest"]),
        "PromotionRecord": Schema.object([
            "alias": Schema.string, "metric": Schema.string, "promoted": Schema.boolean,
            "reason": Schema.with(Schema.string, description: "The decision in one sentence, as in the job's log"),
            "value": Schema.number, "incumbent_version": Schema.integer, "incumbent_value": Schema.number,
            "compared_on": Schema.enumeration(PromotionComparison.allCases.map(\.rawValue)), "rows": Schema.integer,
        ], required: ["alias", "metric", "promoted", "reason"],
           description: "What promote: decided when the version was registered (absent without promote)"),
        "VersionList": Schema.object(["versions": Schema.array(Schema.ref("ModelVersion"))], required: ["versions"]),
        "VersionPatch": Schema.object(["status": Schema.enumeration(["ready", "archived"]), "tags": Schema.map(Schema.string)]),
        "MetricHistory": Schema.object([
            "model": Schema.string, "version": Schema.integer, "metrics": Schema.map(Schema.number),
            "history": Schema.array(Schema.object(["step": Schema.integer, "metrics": Schema.map(Schema.number)])),
        ], required: ["model", "version", "metrics", "history"]),
        "Alias": Schema.object([
            "model": Schema.string, "alias": Schema.string, "version": Schema.integer, "updated_at": Schema.dateTime, "updated_by": Schema.string,
        ], required: ["model", "alias", "version"]),
        "AliasList": Schema.object(["aliases": Schema.array(Schema.ref("Alias"))], required: ["aliases"]),
        "AliasUpdate": Schema.object(["version": Schema.integer, "reason": Schema.string], required: ["version"]),
        "AliasEvent": Schema.object([
            "model": Schema.string, "alias": Schema.string, "from_version": Schema.integer, "to_version": Schema.integer,
            "actor": Schema.string, "at": Schema.dateTime, "reason": Schema.string,
        ], required: ["model", "alias", "actor", "at"]),
        "AliasHistory": Schema.object(["events": Schema.array(Schema.ref("AliasEvent"))], required: ["events"]),
        "Status": Schema.object(["status": Schema.string, "reason": Schema.string], required: ["status"]),
        "EvaluationRequest": Schema.object([
            "data": Schema.with(Schema.string, description: "artifact:sha256:<hex> (an uploaded blob: PUT /api/v1/blobs/sha256/{hex}), s3://bucket/key, or an absolute path / file:// URI the server may read (server.data_roots)"),
        ], required: ["data"]),
        "Evaluation": Schema.object([
            "model": Schema.string, "version": Schema.integer, "data": Schema.string, "rows": Schema.integer, "seconds": Schema.number,
            "metrics": Schema.map(Schema.number),
            "per_type": Schema.with(Schema.map(Schema.map(Schema.number)), description: "NER: precision, recall, f1, support per entity type"),
        ], required: ["model", "version", "data", "rows", "seconds", "metrics"]),
    ]
}
