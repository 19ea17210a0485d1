import Foundation
import TrainyardCore

/// A train job's data channel that is an object named by URI (`data.train: s3://bucket/key`):
/// downloaded by the worker into its work folder, streamed, bounded by `limits.stage_bytes`,
/// and only if it is still the object pinned at submit (its ETag). A changed or deleted object
/// fails the job at once, not retried: every attempt would find the same thing, and training on
/// other bytes than those that were checked is what pinning prevents.
enum ObjectChannel {
    /// Downloads the channel's object to `file`; returns the digest for the version's lineage
    /// (the URI, its ETag, and the sha256 and size of what was read).
    static func fetch(_ uri: String, channel: String, spec: Spec, to file: URL, services: TrainyardServices) async throws -> DataDigest {
        let key = "data.\(channel)"
        guard let pin = spec.staged.first(where: { $0.key == key && $0.source == uri }) else {
            throw TrainingFailure("\(key) \(uri) was not pinned when the job was submitted (its identity is not in the job's spec); submit the spec again", retryable: false)
        }
        guard let store = services.dataObjects, store.serves(uri) else {
            throw TrainingFailure("\(key) is \(uri), but this worker has no S3 configured (TRAINYARD_S3_ENDPOINT or AWS's endpoint settings, and AWS credentials)",
                                  retryable: false)
        }
        let identity = DataObjectIdentity(uri: uri, bytes: pin.bytes, etag: pin.etag, lastModified: nil)
        let read: DataObjectRead
        do {
            read = try await store.download(uri, to: file, expecting: identity, maximumBytes: services.configuration.limits.stageBytes)
        } catch let error as TrainyardError where error.code == .conflict {
            throw TrainingFailure("\(key) \(identity.pinnedDescription) changed after the job was submitted: \(error.message); submit the spec again to train on the new object",
                                  retryable: false)
        } catch let error as TrainyardError where error.code == .notFound {
            throw TrainingFailure("\(key) \(uri) is gone (it was there when the job was submitted): \(error.message)", retryable: false)
        }
        guard read.bytes == pin.bytes else {
            throw TrainingFailure("\(key) \(uri) changed after the job was submitted: \(pin.bytes) bytes then, \(read.bytes) read now", retryable: false)
        }
        return DataDigest(key: key, source: uri, sha256: read.sha256, bytes: read.bytes, etag: read.object.etag ?? pin.etag)
    }
}
