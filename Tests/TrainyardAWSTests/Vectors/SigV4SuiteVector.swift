import Testing
@testable import TrainyardAWS

/// One published SigV4 test case: the request before signing (in the suite's `.req` format), what
/// AWS published for it, and where that was read. Every expected string is copied from the named
/// source, never computed here.
struct SigV4SuiteVector: Sendable, CustomTestStringConvertible {
    let name: String
    /// The `.req` file: request line, `Name:value` headers (a line starting with whitespace
    /// continues the previous header), a blank line, the body.
    let request: String
    /// The `.creq` file, when the copy we read has one.
    var canonicalRequest: String? = nil
    /// The `.sts` file, when the copy we read has one.
    var stringToSign: String? = nil
    /// The `.authz` file, or the `Authorization` line of the signed request.
    let authorization: String
    /// Temporary credentials' token, for the `post-sts-*` and session-token cases.
    var sessionToken: String? = nil
    var signsSessionToken = true
    var pathStyle: SigV4PathStyle = .normalized
    /// Where the expected values were read.
    let source: String

    var testDescription: String { name }
}

/// A published presigned (query-string) case.
struct SigV4PresignVector: Sendable, CustomTestStringConvertible {
    let name: String
    /// The request before signing, in the `.req` format.
    let request: String
    let expiresIn: Int?
    var canonicalRequest: String? = nil
    var stringToSign: String? = nil
    let signature: String
    var pathStyle: SigV4PathStyle = .normalized
    let source: String

    var testDescription: String { name }
}
