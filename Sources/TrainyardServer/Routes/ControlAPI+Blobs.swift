import Crypto
import Foundation
import Hummingbird
import TrainyardCore

extension ControlAPI {
    var blobRoutes: [APIRoute] {
        [
            APIRoute(.put, "/api/v1/blobs/sha256/{hex}", scope: .train, operationID: "putBlob",
                     summary: "Upload a data or code blob, content-addressed: the body's sha256 must equal {hex}", tag: "blobs",
                     requestBody: APIRequestBody(["application/octet-stream": .object(["type": .string("string"), "format": .string("binary")])],
                                                 description: "The bytes"),
                     responses: [
                        .json(201, "Stored", Schema.ref("Blob")),
                        .json(200, "Already stored", Schema.ref("Blob")),
                        .error(400, "{hex} is not a sha256 or does not match the body"),
                        .error(413, "Body larger than server.max_body_bytes"),
                     ], handler: putBlob),
            // Part of the upload protocol (check, then PUT what is missing), so it takes the uploader's scope.
            APIRoute(.head, "/api/v1/blobs/sha256/{hex}", scope: .train, operationID: "headBlob",
                     summary: "Whether a blob is stored (200) or not (404); the CLI checks before uploading", tag: "blobs",
                     responses: [APIResponse(200, "Stored"), APIResponse(404, "Not stored"), APIResponse(400, "{hex} is not a sha256")]) { _, context in
                let hex = try Self.sha256Parameter(context)
                let exists = try await services.artifacts.exists(ArtifactKeys.blob(sha256: hex))
                return Response(status: exists ? .ok : .notFound)
            },
        ]
    }

    static func sha256Parameter(_ context: TrainyardRequestContext) throws -> String {
        let hex = context.parameters.get("hex") ?? ""
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw TrainyardError(.invalidArgument, "blob id \"\(hex.prefix(80))\" must be a sha256: 64 lowercase hex digits")
        }
        return hex
    }

    @Sendable func putBlob(_ request: Request, _ context: TrainyardRequestContext) async throws -> Response {
        let hex = try Self.sha256Parameter(context)
        let body = try await HTTPHelpers.readBody(request, limit: context.maxUploadSize)
        let actual = SHA256.hex(of: body)
        guard actual == hex else {
            throw TrainyardError(.invalidArgument, "the body's sha256 is \(actual), not \(hex) as the URL says; the upload was corrupted or mislabelled",
                                 details: [.init(path: "body", message: "sha256 mismatch")])
        }
        let key = ArtifactKeys.blob(sha256: hex)
        struct Blob: Encodable { var key: String; var sha256: String; var bytes: Int; var reference: String; var created: Bool }
        let existed = try await services.artifacts.exists(key)
        if !existed {
            try await services.artifacts.put(key, data: body)
            context.logger.info("blob stored", metadata: ["trainyard.blob.sha256": .string(hex), "trainyard.blob.bytes": .stringConvertible(body.count)])
        }
        return try HTTPHelpers.json(Blob(key: key, sha256: hex, bytes: body.count, reference: ArtifactKeys.blobReference(sha256: hex), created: !existed),
                                    status: existed ? .ok : .created)
    }
}
