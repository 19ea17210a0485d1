import Foundation
import Testing
@testable import TrainyardAWS

/// The rules the suites exercise only in part, and what hostile input gets: a clear error naming
/// the part of the request, never a guess that signs something the server reads differently.
@Suite("SigV4 canonicalisation rules and refusals")
struct SigV4CanonicalizationTests {
    let host = HTTPField("Host", "example.amazonaws.com")

    func canonicalURI(_ path: String, _ style: SigV4PathStyle) throws -> String {
        let signer = try SigV4TestSuiteTests.signer(pathStyle: style)
        let signed = try signer.sign(SigV4Request(method: "GET", path: path, headers: [host]), payloadHash: .emptyBody, date: Date())
        return String(signed.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[1])
    }

    /// AWS's former General Reference page "Task 1: Create a canonical request for Signature Version 4"
    /// gave "/documents%2520and%2520settings/" as its example of a canonical URI with encoding (the
    /// wire path /documents%20and%20settings/ encoded once more); the page is retired, and the example
    /// is reproduced verbatim in OUTSCALE's SigV4 guide (docs.outscale.com/en/userguide/Creating-a-Canonical-Request.html).
    /// S3 encodes once: its API Reference's UriEncode() rules, and the PUT Object example below.
    @Test("other services encode the wire path again; S3 does not")
    func doubleEncoding() throws {
        #expect(try canonicalURI("/documents%20and%20settings/", .normalized) == "/documents%2520and%2520settings/")
        #expect(try canonicalURI("/documents%20and%20settings/", .s3) == "/documents%20and%20settings/")
        // S3 decodes and re-encodes: a key sent with "$" raw or as %24 signs the same
        // (the S3 PUT Object example's canonical URI is /test%24file.text).
        #expect(try canonicalURI("/test$file.text", .s3) == canonicalURI("/test%24file.text", .s3))
    }

    /// S3 API Reference, sig-v4-header-based-auth ("do not normalize URI paths for requests to
    /// Amazon S3 ... my-object//example//photo.user"), also normalize-path/normalize-path.txt of the suite.
    @Test("S3 keeps dot segments and repeated slashes: they are part of object keys")
    func s3PathsAreNotNormalized() throws {
        #expect(try canonicalURI("/my-object//example//photo.user", .s3) == "/my-object//example//photo.user")
        #expect(try canonicalURI("/a/./b/../c", .s3) == "/a/./b/../c")
    }

    @Test("SigV4URIEncoding.encodePath builds the wire path of an object key")
    func encodePath() {
        // S3 PUT Object example: the key test$file.text has the canonical URI /test%24file.text.
        #expect(SigV4URIEncoding.encodePath("/test$file.text") == "/test%24file.text")
        // get-utf8 of the 2015 suite: /ሴ has the canonical URI /%E1%88%B4 (aws-c-auth get-utf8 query-canonical-request.txt).
        #expect(SigV4URIEncoding.encodePath("/ሴ") == "/%E1%88%B4")
    }

    @Test("a '%' without two hex digits is refused in a query, and in an S3 path",
          arguments: ["a=%zz", "a=%", "a=%4", "%G1=b"])
    func malformedQueryEscape(_ query: String) throws {
        let signer = try SigV4TestSuiteTests.signer()
        let error = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET", path: "/", query: query, headers: [host]), payloadHash: .emptyBody, date: Date())
        }
        #expect(error?.code == .malformedPercentEncoding)
        #expect(error?.message.contains("query") == true)
    }

    @Test("a malformed escape in an S3 path is refused; other services encode the '%' itself")
    func malformedPathEscape() throws {
        let error = #expect(throws: SigV4Error.self) { try canonicalURI("/key%2", .s3) }
        #expect(error?.code == .malformedPercentEncoding)
        #expect(try canonicalURI("/key%2", .normalized) == "/key%252")
    }

    @Test("header values with line breaks or control characters are refused, without echoing the value",
          arguments: ["value\r\nX-Injected: yes", "value\nmore", "nul\u{0}", "del\u{7F}"])
    func headerInjection(_ value: String) throws {
        let signer = try SigV4TestSuiteTests.signer()
        let error = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET", path: "/", headers: [host, HTTPField("My-Header", value)]),
                            payloadHash: .emptyBody, date: Date())
        }
        #expect(error?.code == .invalidHeaderValue)
        #expect(error?.message.contains("my-header") == true)
        #expect(error?.message.contains(value) == false, "a header value may be a secret; it is never quoted")
    }

    @Test("header names must be HTTP tokens", arguments: ["", "My Header", "My:Header", "Mý-Header", "a\r\nb"])
    func headerNames(_ name: String) throws {
        let signer = try SigV4TestSuiteTests.signer()
        let error = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET", path: "/", headers: [host, HTTPField(name, "v")]), payloadHash: .emptyBody, date: Date())
        }
        #expect(error?.code == .invalidHeaderName)
    }

    @Test("tabs count as whitespace when values are trimmed and collapsed")
    func tabsCollapse() throws {
        let signer = try SigV4TestSuiteTests.signer()
        let signed = try signer.sign(SigV4Request(method: "GET", path: "/", headers: [host, HTTPField("My-Header", "\t a \t\t b\t")]),
                                     payloadHash: .emptyBody, date: Date())
        #expect(signed.canonicalRequest.contains("\nmy-header:a b\n"))
    }

    @Test("a request without Host, a bad method or a relative path is refused")
    func structuralRefusals() throws {
        let signer = try SigV4TestSuiteTests.signer()
        let noHost = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET", path: "/"), payloadHash: .emptyBody, date: Date())
        }
        #expect(noHost?.code == .missingHost)
        let badMethod = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET /x", path: "/", headers: [host]), payloadHash: .emptyBody, date: Date())
        }
        #expect(badMethod?.code == .invalidMethod)
        let relative = #expect(throws: SigV4Error.self) {
            try signer.sign(SigV4Request(method: "GET", path: "x", headers: [host]), payloadHash: .emptyBody, date: Date())
        }
        #expect(relative?.code == .invalidPath)
    }

    @Test("headers that proxies rewrite are sent but not signed; a caller's Authorization is dropped")
    func unsignedHeaders() throws {
        let signer = try SigV4TestSuiteTests.signer()
        let request = SigV4Request(method: "GET", path: "/", headers: [
            host, HTTPField("User-Agent", "trainyard"), HTTPField("Authorization", "forged"), HTTPField("Expect", "100-continue"),
        ])
        let signed = try signer.sign(request, payloadHash: .emptyBody, date: Date())
        #expect(signed.signedHeaders == "host;x-amz-date")
        #expect(signed.headers.contains(HTTPField("User-Agent", "trainyard")))
        #expect(!signed.headers.contains(HTTPField("Authorization", "forged")))
    }

    @Test("payload hashes: 64 lowercase hex digits or a marker", arguments: ["", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "abc", "UNSIGNED-PAYLOAD"])
    func payloadHashes(_ text: String) {
        let error = #expect(throws: SigV4Error.self) { try SigV4PayloadHash(hexSHA256: text) }
        #expect(error?.code == .invalidPayloadHash)
    }

    @Test("the SHA-256 of an empty body is the hash every suite case without a body signs")
    func emptyBody() throws {
        // e3b0… is the last line of every published canonical request of a body-less request (e.g. get-vanilla-query-order-key.creq).
        #expect(SigV4PayloadHash.emptyBody.value == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(try SigV4PayloadHash(hexSHA256: SigV4PayloadHash.emptyBody.value) == .emptyBody)
    }

    @Test("regions and services that cannot be part of a credential scope are refused",
          arguments: [("", "s3"), ("us-east-1", ""), ("us/east", "s3"), ("us-east-1", "s 3")])
    func scopes(region: String, service: String) throws {
        let credentials = try AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        let error = #expect(throws: SigV4Error.self) { try SigV4Signer(credentials: credentials, region: region, service: service) }
        #expect(error?.code == .invalidScope)
    }

    @Test("the X-Amz-Date form of an instant is UTC and drops fractions of a second")
    func timestamp() throws {
        let stamp = SigV4Timestamp(try instant(SigV4TestSuite.signingInstant).addingTimeInterval(0.999))
        // The suite's X-Amz-Date and credential scope day for its signing instant.
        #expect(stamp.amzDate == "20150830T123600Z")
        #expect(stamp.dateStamp == "20150830")
    }
}
