import Foundation
import Testing
@testable import TrainyardAWS

@Suite("SigV4 for S3: the S3 API Reference's worked examples")
struct S3DocumentationExampleTests {
    @Test("signs each example into the published canonical request, string to sign and signature",
          arguments: S3DocumentationExamples.examples)
    func signsLikeTheDocumentation(_ example: S3DocumentationExamples.Example) throws {
        let payloadHash = SigV4PayloadHash.sha256(of: Array(example.body.utf8))
        let request = SigV4Request(method: example.method, path: example.path, query: example.query, headers: example.headers)

        let signed = try Self.signer().sign(request, payloadHash: payloadHash, date: instant(S3DocumentationExamples.signingInstant))

        #expect(signed.canonicalRequest == example.canonicalRequest)
        #expect(signed.stringToSign == example.stringToSign)
        #expect(signed.signature == example.signature)
        // The page separates the parts of the header with "," alone (see Vectors/S3DocumentationExamples.swift).
        #expect(signed.authorization.replacingOccurrences(of: ", ", with: ",") == example.authorization)
        #expect(signed.headers.contains(HTTPField("X-Amz-Content-Sha256", payloadHash.value)))
        #expect(signed.headers.contains(HTTPField("X-Amz-Date", "20130524T000000Z")))
    }

    @Test("the caller's own x-amz-date and x-amz-content-sha256 are replaced, not signed twice")
    func signerOwnedHeadersAreReplaced() throws {
        let example = S3DocumentationExamples.examples[0]
        let stale = [HTTPField("X-Amz-Date", "19990101T000000Z"), HTTPField("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]
        let request = SigV4Request(method: example.method, path: example.path, query: example.query, headers: example.headers + stale)

        let signed = try Self.signer().sign(request, payloadHash: .emptyBody, date: instant(S3DocumentationExamples.signingInstant))

        #expect(signed.signature == example.signature)
        #expect(signed.headers.filter { $0.name.lowercased() == "x-amz-date" }.count == 1)
        #expect(signed.headers.filter { $0.name.lowercased() == "x-amz-content-sha256" }.map(\.value) == [SigV4PayloadHash.emptyBody.value])
    }

    @Test("a URL-built request gets its Host header, with a non-default port")
    func hostFromURL() throws {
        let standard = try SigV4Request(method: "GET", url: #require(URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")))
        #expect(standard.headers == [HTTPField("Host", "examplebucket.s3.amazonaws.com")])
        #expect(standard.path == "/test.txt")

        let local = try SigV4Request(method: "GET", url: #require(URL(string: "http://localhost:9000/bucket/a%20b?list-type=2")))
        #expect(local.headers == [HTTPField("Host", "localhost:9000")])
        #expect(local.path == "/bucket/a%20b")
        #expect(local.query == "list-type=2")

        let fileURL = try #require(URL(string: "file:///tmp/x"))
        let error = #expect(throws: SigV4Error.self) { try SigV4Request(method: "GET", url: fileURL) }
        #expect(error?.code == .invalidURL)
    }

    static func signer() throws -> SigV4Signer {
        let credentials = try AWSCredentials(accessKeyID: S3DocumentationExamples.accessKeyID,
                                             secretAccessKey: S3DocumentationExamples.secretAccessKey)
        return try SigV4Signer(credentials: credentials, region: S3DocumentationExamples.region, service: "s3")
    }
}
