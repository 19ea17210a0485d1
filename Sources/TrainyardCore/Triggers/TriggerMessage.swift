import Crypto
import Foundation

/// What fired an sqs trigger: one message, and for an S3 event notification one of its records
/// (a message with three records makes three jobs). The message id is the identity: SQS
/// delivers a message at least once, and every delivery of it carries the same id, so every
/// delivery asks for the same job.
public struct TriggerMessage: Sendable, Equatable {
    /// The queue's id of the message.
    public var id: String
    /// The S3 event record (0-based) this job is for; nil for a spec or a JSON message.
    public var record: Int?
    /// The `s3://bucket/key` of the record's object; nil for a spec or a JSON message.
    public var file: String?

    public init(id: String, record: Int? = nil, file: String? = nil) {
        self.id = id
        self.record = record
        self.file = file
    }

    /// The message id as it appears in an idempotency key: as it is when it is a plain id of at
    /// most 128 bytes (SQS's are UUIDs), else its SHA-256 (another queue may use anything), so
    /// the key stays within `EnqueueRequest.maxIdempotencyKeyLength` and printable.
    public var keyComponent: String {
        let plain = id.utf8.count <= 128 && !id.isEmpty
            && id.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
        return plain ? id : "sha256-" + SHA256.hex(of: Data(id.utf8))
    }

    /// `sqs:<message id>` or `sqs:<message id>:<record>`, the part of the idempotency key after
    /// the trigger's name.
    public var keySuffix: String { "sqs:\(keyComponent)" + (record.map { ":\($0)" } ?? "") }
}
