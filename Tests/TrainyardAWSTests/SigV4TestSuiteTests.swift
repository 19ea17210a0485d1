import Foundation
import Testing
@testable import TrainyardAWS

/// Header signing checked against AWS's published cases (sources in `Vectors/`). A case passes only
/// when the whole `Authorization` value matches; where the published copy has the canonical request
/// and the string to sign, those must match too, so a failure shows which step went wrong.
@Suite("SigV4 header signing: AWS test suites")
struct SigV4TestSuiteTests {
    static let allHeaderVectors = SigV4TestSuite.vectors + AWSSigningTestSuite.headerVectors

    @Test("signs the published request into the published Authorization header", arguments: allHeaderVectors)
    func signsLikeTheSuite(_ vector: SigV4SuiteVector) throws {
        let file = try SuiteRequestFile(vector.request)
        let signer = try Self.signer(sessionToken: vector.sessionToken, pathStyle: vector.pathStyle,
                                     signsSessionToken: vector.signsSessionToken)

        let signed = try signer.sign(file.request, payloadHash: .sha256(of: Array(file.body.utf8)),
                                     date: instant(SigV4TestSuite.signingInstant))

        if let canonicalRequest = vector.canonicalRequest {
            #expect(signed.canonicalRequest == canonicalRequest, "canonical request, source: \(vector.source)")
        }
        if let stringToSign = vector.stringToSign {
            #expect(signed.stringToSign == stringToSign, "string to sign, source: \(vector.source)")
        }
        #expect(signed.authorization == vector.authorization, "source: \(vector.source)")
        #expect(signed.headers.last == HTTPField("Authorization", vector.authorization))
    }

    @Test("the headers to send carry the suite's X-Amz-Date once and the session token once",
          arguments: allHeaderVectors)
    func sentHeaders(_ vector: SigV4SuiteVector) throws {
        let file = try SuiteRequestFile(vector.request)
        let signer = try Self.signer(sessionToken: vector.sessionToken, pathStyle: vector.pathStyle,
                                     signsSessionToken: vector.signsSessionToken)
        let signed = try signer.sign(file.request, payloadHash: .sha256(of: Array(file.body.utf8)),
                                     date: instant(SigV4TestSuite.signingInstant))

        // 20150830T123600Z is the X-Amz-Date every .req of the suite carries.
        #expect(signed.headers.filter { $0.name.lowercased() == "x-amz-date" } == [HTTPField("X-Amz-Date", "20150830T123600Z")])
        let tokens = signed.headers.filter { $0.name.lowercased() == "x-amz-security-token" }
        #expect(tokens == (vector.sessionToken.map { [HTTPField("X-Amz-Security-Token", $0)] } ?? []))
        #expect(signed.headers.filter { $0.name.lowercased() == "authorization" }.count == 1)
    }

    /// AWS JavaScript SDK, suite fixture of @aws-sdk/signature-v4 (suite.fixture.js, as vendored in
    /// directus/directus node_modules), case post-vanilla-query-nonunreserved: a POST to / whose
    /// query is {"@#$%^": "", "+": "/,?><`\";:\\|][{}"} (the values as decoded strings).
    @Test("post-vanilla-query-nonunreserved: reserved characters in query names and values")
    func nonUnreservedQuery() throws {
        let valueOfPlus = #"/,?><`";:\|][{}"#
        let query = SigV4URIEncoding.encode("@#$%^") + "=&" + SigV4URIEncoding.encode("+") + "=" + SigV4URIEncoding.encode(valueOfPlus)
        let request = SigV4Request(method: "POST", path: "/", query: query,
                                   headers: [HTTPField("host", "example.amazonaws.com"), HTTPField("x-amz-date", "20150830T123600Z")])
        let signed = try Self.signer().sign(request, payloadHash: .emptyBody, date: instant(SigV4TestSuite.signingInstant))
        #expect(signed.authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e")
    }

    static func signer(sessionToken: String? = nil, pathStyle: SigV4PathStyle = .normalized,
                       signsSessionToken: Bool = true) throws -> SigV4Signer {
        let credentials = try AWSCredentials(accessKeyID: SigV4TestSuite.accessKeyID, secretAccessKey: SigV4TestSuite.secretAccessKey,
                                             sessionToken: sessionToken)
        return try SigV4Signer(credentials: credentials, region: SigV4TestSuite.region, service: SigV4TestSuite.service,
                               options: .init(pathStyle: pathStyle, sendsContentSHA256Header: false, signsSessionToken: signsSessionToken))
    }
}
