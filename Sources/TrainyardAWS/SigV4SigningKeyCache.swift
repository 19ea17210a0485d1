import Crypto
import Synchronization

/// Keeps derived signing keys so that the four-HMAC chain runs once per day, region and service
/// rather than once per request. A key is only valid for its scope, so the cache key is the whole
/// scope plus the credentials (by key id and a digest of the secret: rotated credentials under
/// the same id get a new key). The cache holds at most `capacity` keys and forgets the least
/// recently used one first, so a long-running process that signs for many scopes stays bounded.
///
/// Safe to share between tasks; one cache per process (or per client) is enough.
public final class SigV4SigningKeyCache: Sendable {
    private struct Scope: Hashable {
        let accessKeyID: String
        let secretDigest: [UInt8]
        let dateStamp: String
        let region: String
        let service: String
    }

    private struct Entry {
        let scope: Scope
        /// Raw bytes: `SymmetricKey` is not `Sendable`, and the entries live behind a mutex.
        let key: [UInt8]
    }

    private let capacity: Int
    /// Most recently used last.
    private let entries = Mutex<[Entry]>([])

    public init(capacity: Int = 16) {
        precondition(capacity > 0, "a signing key cache needs room for at least one key")
        self.capacity = capacity
    }

    /// How many keys are held (for tests and metrics).
    public var count: Int { entries.withLock { $0.count } }

    func key(for credentials: AWSCredentials, dateStamp: String, region: String, service: String) -> SymmetricKey {
        let scope = Scope(accessKeyID: credentials.accessKeyID,
                          secretDigest: Array(SHA256.hash(data: Array(credentials.secretAccessKey.utf8))),
                          dateStamp: dateStamp, region: region, service: service)
        if let cached = entries.withLock({ entries -> [UInt8]? in
            guard let index = entries.firstIndex(where: { $0.scope == scope }) else { return nil }
            let entry = entries.remove(at: index)
            entries.append(entry)
            return entry.key
        }) {
            return SymmetricKey(data: cached)
        }
        // Derived outside the lock: two tasks racing on a new scope both derive the same key.
        let key = Self.deriveKey(secretAccessKey: credentials.secretAccessKey, dateStamp: dateStamp, region: region, service: service)
        entries.withLock { entries in
            guard !entries.contains(where: { $0.scope == scope }) else { return }
            if entries.count >= capacity { entries.removeFirst(entries.count - capacity + 1) }
            entries.append(Entry(scope: scope, key: key.withUnsafeBytes { Array($0) }))
        }
        return key
    }

    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request")`.
    static func deriveKey(secretAccessKey: String, dateStamp: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return key
    }
}
