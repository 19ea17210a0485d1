import Crypto
import Foundation

/// The idempotency key of a transform: the same input files (path and identity: size and
/// modification time, or an S3 ETag), scored by the same model version into the same output
/// with the same options, is the same job however often it is submitted, retried or
/// re-delivered; a changed file is a new input and a new job.
public enum TransformIdentity {
    public static func idempotencyKey(_ spec: TransformSpec, model: ModelName) -> String {
        var text = "model=\(model.rawValue):\(spec.version)\noutput=\(spec.output)\n"
        text += "format=\(spec.format?.rawValue ?? "-") header=\(spec.header.map(String.init) ?? "-") keep=\(spec.keep.joined(separator: ",")) "
        text += "join=\(spec.joinInput) probabilities=\(spec.probabilities) max_error_rate=\(spec.maxErrorRate) template=\(spec.outputTemplate ?? "-")\n"
        for file in spec.files {
            if let etag = file.etag {
                // An object is the bytes its ETag names: rewriting the same bytes (a new
                // modification time, the same ETag) is the same input, not a new job.
                text += "file=\(file.path) bytes=\(file.bytes) etag=\(etag)\n"
            } else {
                text += "file=\(file.path) bytes=\(file.bytes) modified=\(file.modified) etag=-\n"
            }
        }
        return "transform:" + SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
