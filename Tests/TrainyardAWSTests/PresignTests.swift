import Foundation
import Testing
@testable import TrainyardAWS

@Suite("SigV4 presigned URLs")
struct PresignTests {
    @Test("query-string signing matches AWS's signing test suite", arguments: AWSSigningTestSuite.presignVectors)
    func matchesTheSuite(_ vector: SigV4PresignVector) throws {
        let file = try SuiteRequestFile(vector.request)
        let signer = try SigV4TestSuiteTests.signer(pathStyle: vector.pathStyle)

        // The suite signs the (empty) body's hash rather than UNSIGNED-PAYLOAD: its service is not S3.
        let presigned = try signer.presign(file.request, expiresIn: vector.expiresIn, date: instant(SigV4TestSuite.signingInstant),
                                           payloadHash: .sha256(of: Array(file.body.utf8)))

        if let canonicalRequest = vector.canonicalRequest {
            #expect(presigned.canonicalRequest == canonicalRequest, "source: \(vector.source)")
        }
        if let stringToSign = vector.stringToSign {
            #expect(presigned.stringToSign == stringToSign, "source: \(vector.source)")
        }
        #expect(presigned.signature == vector.signature, "source: \(vector.source)")
        #expect(presigned.query.hasSuffix("&X-Amz-Signature=\(vector.signature)"))
        #expect(presigned.query.contains("X-Amz-Expires=") == (vector.expiresIn != nil))
    }

    @Test("the S3 API Reference's presigned GET of test.txt")
    func s3DocumentationExample() throws {
        typealias Example = S3DocumentationExamples.Presigned
        let signer = try S3DocumentationExampleTests.signer()
        let date = try instant(S3DocumentationExamples.signingInstant)
        let url = try #require(URL(string: Example.url))

        let presigned = try signer.presign(SigV4Request(method: "GET", url: url), expiresIn: Example.expiresIn, date: date)
        #expect(presigned.canonicalRequest == Example.canonicalRequest)
        #expect(presigned.stringToSign == Example.stringToSign)
        #expect(presigned.signature == Example.signature)
        #expect(presigned.headers == [HTTPField("Host", "examplebucket.s3.amazonaws.com")])

        let signedURL = try signer.presignedURL(method: "GET", url: url, expiresIn: Example.expiresIn, date: date)
        let components = try #require(URLComponents(url: signedURL, resolvingAgainstBaseURL: false))
        #expect(components.host == "examplebucket.s3.amazonaws.com")
        #expect(components.path == "/test.txt")
        let items = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        // The page's example URL, with its X-Amz-Credential written out with "/" for readability.
        #expect(items == [
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
            "X-Amz-Date": "20130524T000000Z",
            "X-Amz-Expires": "86400",
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Signature": Example.signature,
        ])
    }

    @Test("temporary credentials put the session token in the signed query")
    func sessionTokenIsSigned() throws {
        let credentials = try AWSCredentials(accessKeyID: S3DocumentationExamples.accessKeyID,
                                             secretAccessKey: S3DocumentationExamples.secretAccessKey, sessionToken: "token/with+reserved=")
        let signer = try SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let url = try #require(URL(string: S3DocumentationExamples.Presigned.url))
        let presigned = try signer.presign(SigV4Request(method: "GET", url: url), expiresIn: 60, date: instant(S3DocumentationExamples.signingInstant))

        let canonicalQuery = presigned.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2]
        #expect(canonicalQuery.contains("&X-Amz-Security-Token=token%2Fwith%2Breserved%3D&"))
        #expect(presigned.query.hasPrefix(String(canonicalQuery)))

        let signedURL = try signer.presignedURL(method: "GET", url: url, expiresIn: 60, date: instant(S3DocumentationExamples.signingInstant))
        let items = URLComponents(url: signedURL, resolvingAgainstBaseURL: false)?.queryItems ?? []
        #expect(items.filter { $0.name == "X-Amz-Security-Token" }.map(\.value) == ["token/with+reserved="])
    }

    @Test("a lifetime outside 1 s … 7 days is refused", arguments: [0, -1, 604_801, Int.max])
    func expiryBounds(_ seconds: Int) throws {
        let signer = try S3DocumentationExampleTests.signer()
        let request = SigV4Request(method: "GET", path: "/k", headers: [HTTPField("Host", "b.s3.amazonaws.com")])
        let error = #expect(throws: SigV4Error.self) { try signer.presign(request, expiresIn: seconds, date: Date()) }
        #expect(error?.code == .expiryOutOfRange)
        _ = try signer.presign(request, expiresIn: SigV4Signer.maximumPresignedLifetime, date: Date())
        _ = try signer.presign(request, expiresIn: 1, date: Date())
    }

    @Test("a query that already carries a presigning parameter is refused")
    func reservedParameters() throws {
        let signer = try S3DocumentationExampleTests.signer()
        for name in ["X-Amz-Signature", "X-Amz-Credential", "X-Amz-Expires", "X-Amz-Security-Token"] {
            let request = SigV4Request(method: "GET", path: "/k", query: "\(name)=forged", headers: [HTTPField("Host", "b.s3.amazonaws.com")])
            let error = #expect(throws: SigV4Error.self) { try signer.presign(request, expiresIn: 60, date: Date()) }
            #expect(error?.code == .reservedQueryParameter, "\(name)")
        }
    }
}
