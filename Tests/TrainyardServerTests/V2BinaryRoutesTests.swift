import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardServing
import TrainyardTestSupport
@testable import TrainyardServer

/// `/v2/models/{name}/infer` with the binary tensor extension, bodies built by hand as
/// tritonclient builds them: JSON header, then each binary input's little-endian bytes.
@Suite(.serialized) struct V2BinaryRoutesTests {
    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    /// The "lin" model's three columns for rows (4, 1, u) and (16, 3, v), in binary; `extra`
    /// goes into the JSON header (outputs, parameters).
    static func linRequest(extra: [String: JSONValue] = [:], sizeOfA: Int? = nil) -> (body: ByteBuffer, headers: HTTPFields) {
        let a = le(Float(4).bitPattern) + le(Float(16).bitPattern)
        let b = le(Int64(1)) + le(Int64(3))
        let c = [("u"), ("v")].flatMap { le(UInt32($0.utf8.count)) + Array($0.utf8) }
        func tensor(_ name: String, _ datatype: String, _ size: Int) -> JSONValue {
            .object(["name": .string(name), "datatype": .string(datatype), "shape": .array([.int(2)]),
                     "parameters": .object(["binary_data_size": .int(size)])])
        }
        var header: [String: JSONValue] = ["id": .string("bin-1"),
                                           "inputs": .array([tensor("a", "FP32", sizeOfA ?? a.count), tensor("b", "INT64", b.count), tensor("c", "BYTES", c.count)])]
        header.merge(extra) { $1 }
        let json = FastJSON.serialize(.object(header))
        return (ByteBuffer(bytes: json + a + b + c), [.contentType: "application/octet-stream", .inferenceHeaderContentLength: String(json.count)])
    }

    static let jsonRequest = #"{"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [4, 16]}, {"name": "b", "shape": [2], "datatype": "INT64", "data": [1, 3]}, {"name": "c", "shape": [2], "datatype": "BYTES", "data": ["u", "v"]}]}"#

    func withLin(maxBodyBytes: Int = 1 << 20, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let fixture = try await Fixture.make(maxBodyBytes: maxBodyBytes)
        defer { fixture.remove() }
        try await RegisteredVersions.registerTabular("lin", services: fixture.services)
        try await fixture.withInference(options: ServingOptions()) { client, _ in try await body(client) }
    }

    @Test func binaryInputsAnswerAsTheSameJSONRequest() async throws {
        try await withLin { client in
            let reference = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: [.contentType: "application/json"],
                                                     body: body(Self.jsonRequest))
            #expect(reference.status == .ok, "\(reference.text)")
            let request = Self.linRequest()
            let binary = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: request.headers, body: request.body)
            #expect(binary.status == .ok, "\(binary.text)")
            #expect(binary.headers[.inferenceHeaderContentLength] == nil, "no binary output was asked for")
            let answer = try binary.json()
            #expect(answer["id"]?.stringValue == "bin-1")
            #expect(answer["outputs"] == (try reference.json())["outputs"])
        }
    }

    @Test func binaryOutputsComeBackAfterTheJSONHeader() async throws {
        try await withLin { client in
            let reference = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: [.contentType: "application/json"],
                                                     body: body(Self.jsonRequest)).json()
            let expected = (reference["outputs"]?.arrayValue?.first?["data"]?.arrayValue ?? []).compactMap(\.doubleValue)
            #expect(expected.count == 2)
            for extra: [String: JSONValue] in [["parameters": .object(["binary_data_output": .bool(true)])],
                                               ["outputs": .array([.object(["name": .string("prediction"), "parameters": .object(["binary_data": .bool(true)])])])]] {
                let request = Self.linRequest(extra: extra)
                let response = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: request.headers, body: request.body)
                #expect(response.status == .ok, "\(response.text)")
                #expect(response.headers[.contentType] == "application/octet-stream")
                let length = try #require(response.headers[.inferenceHeaderContentLength].flatMap { Int($0) })
                let bytes = Array(response.body.readableBytesView)
                let header = try FastJSON.parse(bytes[0..<length])
                let output = try #require(header["outputs"]?.arrayValue?.first)
                #expect(output["name"]?.stringValue == "prediction" && output["data"] == nil)
                #expect(output["parameters"]?["binary_data_size"]?.intValue == 16)
                let tail = Array(bytes[length...])
                #expect(tail.count == 16)
                let values = (0..<2).map { i in Double(bitPattern: tail[i * 8..<i * 8 + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) }
                #expect(values == expected)
            }
            // A JSON request may ask for a binary answer too.
            let json = #"{"inputs": [{"name": "a", "shape": [1], "datatype": "FP64", "data": [4]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["u"]}], "parameters": {"binary_data_output": true}}"#
            let mixed = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: [.contentType: "application/json"], body: body(json))
            #expect(mixed.status == .ok && mixed.headers[.inferenceHeaderContentLength] != nil)
        }
    }

    @Test func badBinaryRequestsAreClear400s() async throws {
        try await withLin(maxBodyBytes: 4096) { client in
            let good = Self.linRequest()
            var cases: [(String, ByteBuffer, HTTPFields, HTTPResponse.Status, String)] = []
            var beyond = good.headers
            beyond[.inferenceHeaderContentLength] = String(good.body.readableBytes + 1)
            cases.append(("header length beyond the body", good.body, beyond, .badRequest, "the body has only"))
            var notANumber = good.headers
            notANumber[.inferenceHeaderContentLength] = "ten"
            cases.append(("header length not a number", good.body, notANumber, .badRequest, "must be a non-negative integer"))
            let wrongSize = Self.linRequest(sizeOfA: 12)
            cases.append(("binary_data_size against shape × datatype", wrongSize.body, wrongSize.headers, .badRequest, "holds 2 × 4 = 8 bytes"))
            var trailing = good.body
            trailing.writeBytes([1, 2, 3])
            cases.append(("bytes nobody accounts for", trailing, good.headers, .badRequest, "3 bytes after the JSON header"))
            cases.append(("octet-stream without the header", good.body, [.contentType: "application/octet-stream"], .badRequest, "Inference-Header-Content-Length"))
            let unknownOutput = Self.linRequest(extra: ["outputs": .array([.object(["name": .string("logits")])])])
            cases.append(("an output the model lacks", unknownOutput.body, unknownOutput.headers, .badRequest, "its outputs are prediction"))
            var huge = good.body
            huge.writeBytes([UInt8](repeating: 0, count: 5000))
            cases.append(("a body past server.max_body_bytes", huge, good.headers, .contentTooLarge, "server.max_body_bytes"))
            for (what, requestBody, headers, status, text) in cases {
                let response = try await client.execute(uri: "/v2/models/lin/infer", method: .post, headers: headers, body: requestBody)
                #expect(response.status == status, "\(what): \(response.status) \(response.text)")
                // The V2 error shape: {"error": "…"}.
                let message = (try? response.json())?["error"]?.stringValue ?? ""
                #expect(message.contains(text), "\(what): \(response.text)")
            }
        }
    }
}
