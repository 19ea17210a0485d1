/// An AWS access key: the key id that names it, the secret that signs with it and, for temporary
/// credentials (STS, an instance or task role), the session token that goes with them.
///
/// Printing, interpolating, `dump`ing or mirroring a value never shows the secret or the token:
/// credentials end up in log lines and error messages by accident, so the type itself redacts
/// them. Only the signer reads ``secretAccessKey``.
public struct AWSCredentials: Sendable {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    /// Checks what would otherwise corrupt a signed request: an empty id or secret, an id with a
    /// `/`, `,` or whitespace (it is written into `Credential=…/scope`), a token with a control
    /// character (it travels in a header). Errors name the field, never its value.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) throws(SigV4Error) {
        guard !accessKeyID.isEmpty,
              accessKeyID.unicodeScalars.allSatisfy({ $0.isVisibleASCII && $0 != "/" && $0 != "," })
        else {
            throw SigV4Error(.invalidCredentials, "the access key id must be printable ASCII without '/', ',' or spaces")
        }
        guard !secretAccessKey.isEmpty else {
            throw SigV4Error(.invalidCredentials, "the secret access key of \(accessKeyID) is empty")
        }
        if let sessionToken {
            guard !sessionToken.isEmpty, sessionToken.unicodeScalars.allSatisfy(\.isVisibleASCII) else {
                throw SigV4Error(.invalidCredentials, "the session token of \(accessKeyID) is empty or not printable ASCII")
            }
        }
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }

    /// `dump`, `Mirror` and debuggers see the same redacted fields as `description`.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "accessKeyID": accessKeyID,
            "secretAccessKey": "<redacted>",
            "sessionToken": sessionToken == nil ? "none" : "<redacted>",
        ], displayStyle: .struct)
    }
}

extension Unicode.Scalar {
    /// `!` … `~`: what may appear in an access key id or a session token.
    var isVisibleASCII: Bool { value > 0x20 && value < 0x7F }
}
