import Foundation

/// Who is publishing (or published) a destination prefix, and what: the object that makes
/// `S3ArtifactStore.publish` put-if-absent. Written first with `If-None-Match: *` (one writer
/// creates it), then only replaced with `If-Match` on the ETag its writer read, so each change
/// of state is a compare-and-swap:
///
/// `pending(A)` → `published(A)` (A copied everything; or another publisher finished A's copy)
/// `pending(A)` → `abandoned` (A's source vanished before its copy was done) → `pending(B)`
///
/// It names the source and every key to copy, so that anyone who finds it pending can finish
/// the copy of a publisher that died mid-way.
struct S3PublicationClaim: Codable, Equatable {
    enum State: String, Codable {
        case pending
        case published
        case abandoned
    }

    /// Identifies one call of `publish`.
    var token: String
    /// The source prefix (`staging/jobs/7/attempt-1/`).
    var source: String
    /// Keys relative to the source and to the destination.
    var keys: [String]
    var state: State
    var claimedAt: Date

    func with(_ state: State) -> S3PublicationClaim {
        var changed = self
        changed.state = state
        return changed
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    static func decode(_ data: Data, at key: String) throws -> S3PublicationClaim {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(S3PublicationClaim.self, from: data)
        } catch {
            throw S3PublicationError.unreadableClaim(key)
        }
    }
}

enum S3PublicationError: Error, CustomStringConvertible {
    case unreadableClaim(String)

    var description: String {
        switch self {
        case .unreadableClaim(let key): "the publication claim \(key) is not readable JSON"
        }
    }
}
