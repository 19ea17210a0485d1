import Crypto
import Foundation

/// A file in a watched folder, or an object under a watched `s3://` prefix, as one look saw
/// it. A file's identity is its path, size and modification time; an object's its URI, size
/// and ETag (the store's tag of its bytes). The same file or object seen again is not fired
/// again (also after a restart, from the store's record), and one rewritten under the same name
/// with other content is a new one. An object uploaded again with the same bytes keeps its
/// ETag: it is the same object and does not fire again.
public struct WatchedFile: Sendable, Hashable, Codable {
    /// Absolute path, or the object's `s3://bucket/key`.
    public var path: String
    public var bytes: Int64
    /// Seconds since 1970, with the file system's precision (an object: its last modification
    /// as the store reports it, 0 if it gave none).
    public var modified: Double
    /// An object's ETag (as the store gives it, quotes included); nil for a file.
    public var etag: String?

    public init(path: String, bytes: Int64, modified: Double, etag: String? = nil) {
        self.path = path
        self.bytes = bytes
        self.modified = modified
        self.etag = etag
    }

    /// The file's name (last path component).
    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }

    /// A digest of the identity, unique per trigger: stored as the key of the trigger's fired
    /// files and used in the idempotency key (a path can be longer than a key may be).
    public func identity(trigger id: Int64) -> String {
        if let etag {
            // Not the modification time: re-uploading the same bytes changes it, not the object.
            return SHA256.hex(of: Data("\(id)\u{0}\(path)\u{0}\(bytes)\u{0}etag\u{0}\(etag)".utf8))
        }
        return SHA256.hex(of: Data("\(id)\u{0}\(path)\u{0}\(bytes)\u{0}\(modified)".utf8))
    }
}

/// One firing as the store records it: which trigger, which file or slot, which job it made.
public struct TriggerFiring: Sendable, Equatable {
    public enum Cause: Sendable, Equatable {
        case file(WatchedFile)
        case slot(Date)
        /// sqs: a message (and for an S3 event notification, one of its records).
        case message(TriggerMessage)
    }

    public var trigger: TriggerName
    /// The trigger's id: a firing recorded for a trigger that was removed (or removed and
    /// created again) meanwhile is ignored.
    public var triggerID: Int64
    public var cause: Cause
    public var jobID: JobID

    public init(trigger: TriggerName, triggerID: Int64, cause: Cause, jobID: JobID) {
        self.trigger = trigger
        self.triggerID = triggerID
        self.cause = cause
        self.jobID = jobID
    }

    /// The idempotency key of the job this firing makes (`EnqueueRequest.idempotencyKey`):
    /// every process that fires the same file or slot asks for the same key, so the store makes
    /// one job however many fire at once. `trigger:<name>:file:<identity digest>`,
    /// `trigger:<name>:slot:<ISO 8601 UTC>` and `trigger:<name>:sqs:<message id>[:<record>]`
    /// (at most 210 bytes).
    public static func idempotencyKey(trigger: TriggerName, triggerID: Int64, cause: Cause) -> String {
        switch cause {
        case .file(let file): "trigger:\(trigger.rawValue):file:\(file.identity(trigger: triggerID))"
        case .slot(let slot): "trigger:\(trigger.rawValue):slot:\(TriggerPlaceholders.format(slot: slot))"
        case .message(let message): "trigger:\(trigger.rawValue):\(message.keySuffix)"
        }
    }

    public var idempotencyKey: String { Self.idempotencyKey(trigger: trigger, triggerID: triggerID, cause: cause) }

    /// What the job records as its origin.
    public var origin: JobOrigin {
        switch cause {
        case .file(let file): JobOrigin(trigger: trigger.rawValue, file: file.path)
        case .slot(let slot): JobOrigin(trigger: trigger.rawValue, slot: slot)
        case .message(let message): JobOrigin(trigger: trigger.rawValue, file: message.file, message: message.id)
        }
    }
}

/// A file a watch trigger fired, as stored.
public struct FiredFile: Sendable, Equatable, Codable {
    public var file: WatchedFile
    public var jobID: JobID
    public var firedAt: Date

    public init(file: WatchedFile, jobID: JobID, firedAt: Date) {
        self.file = file
        self.jobID = jobID
        self.firedAt = firedAt
    }

    enum CodingKeys: String, CodingKey {
        case file
        case jobID = "job_id"
        case firedAt = "fired_at"
    }
}
