import Foundation
import Testing
@testable import TrainyardAWS

@Suite("AWSCredentials never show their secrets")
struct AWSCredentialsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FQoGZXIvYXdzEXAMPLETOKEN/+="

    @Test("description, debugDescription, interpolation, dump and Mirror redact the secret and the token")
    func redacted() throws {
        let credentials = try AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Self.secret, sessionToken: Self.token)
        var dumped = ""
        dump(credentials, to: &dumped)
        let mirrored = Mirror(reflecting: credentials).children.map { "\($0.label ?? ""): \($0.value)" }.joined(separator: ", ")
        let renderings = [
            credentials.description, credentials.debugDescription, "\(credentials)", String(describing: credentials),
            String(reflecting: credentials), dumped, mirrored, "\([credentials])", "\(Optional(credentials) as Any)",
        ]
        for rendering in renderings {
            #expect(!rendering.contains(Self.secret), "\(rendering)")
            #expect(!rendering.contains(Self.token), "\(rendering)")
            #expect(!rendering.contains("EXAMPLEKEY"), "\(rendering)")
            #expect(rendering.contains("AKIAIOSFODNN7EXAMPLE"), "the key id is not secret and helps to tell credentials apart")
        }
        // Still usable by the signer.
        #expect(credentials.secretAccessKey == Self.secret)
        #expect(credentials.sessionToken == Self.token)
    }

    @Test("without a token the rendering says so")
    func noToken() throws {
        let credentials = try AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret)
        #expect(credentials.description == "AWSCredentials(accessKeyID: AKIDEXAMPLE, secretAccessKey: <redacted>, sessionToken: none)")
    }

    @Test("unusable credentials are refused, naming the field but never quoting the secret or the token",
          arguments: [
            ("", secret, nil),
            ("AKID/EXAMPLE", secret, nil),
            ("AKID EXAMPLE", secret, nil),
            ("AKID,EXAMPLE", secret, nil),
            ("AKIDEXAMPLE", "", nil),
            ("AKIDEXAMPLE", secret, ""),
            ("AKIDEXAMPLE", secret, "token\r\nX-Injected: 1"),
          ] as [(String, String, String?)])
    func refused(accessKeyID: String, secret: String, token: String?) {
        let error = #expect(throws: SigV4Error.self) {
            try AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token)
        }
        #expect(error?.code == .invalidCredentials)
        #expect(error.map { !$0.description.contains(Self.secret) } ?? false)
        if let token, !token.isEmpty {
            #expect(error.map { !$0.description.contains(token) } ?? false)
        }
    }
}
