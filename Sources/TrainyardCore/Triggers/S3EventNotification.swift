import Foundation

/// An S3 event notification as S3 sends it to a queue:
/// `{"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
/// "s3": {"bucket": {"name": "b"}, "object": {"key": "in/day+1.csv", "size": 123}}}]}`.
/// Object keys arrive URL-encoded as in a form (`+` for a space, `%2B` for a plus) and are
/// decoded here. Only the fields a job needs are read; everything else a record holds is ignored.
public struct S3EventNotification: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        /// The record's position in the message (0-based): part of its job's idempotency key.
        public var index: Int
        /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
        public var eventName: String
        public var bucket: String
        /// Decoded.
        public var key: String
        public var size: Int64?

        public init(index: Int, eventName: String, bucket: String, key: String, size: Int64? = nil) {
            self.index = index
            self.eventName = eventName
            self.bucket = bucket
            self.key = key
            self.size = size
        }

        /// `s3://bucket/key`, the key as it is (not encoded).
        public var uri: String { "s3://\(bucket)/\(key)" }
        /// A new object (put, post, copy, multipart upload): the events that make jobs.
        public var isObjectCreated: Bool { eventName.hasPrefix("ObjectCreated:") }
    }

    public var records: [Record]

    /// Most records read from one message (S3 sends one per notification).
    public static let maxRecords = 100
    /// S3's longest object key, in bytes.
    public static let maxKeyBytes = 1024

    public init(records: [Record]) { self.records = records }

    /// The test message S3 sends when a notification is configured
    /// (`{"Service": "Amazon S3", "Event": "s3:TestEvent", …}`): acknowledged, nothing to do.
    public static func isTestEvent(_ object: [String: JSONValue]) -> Bool {
        object["Event"] == .string("s3:TestEvent")
    }

    /// The notification in `object`; nil when `object` is not one (no `Records`). A message that
    /// has `Records` but not as S3 writes them is an error naming the record and the field.
    public static func read(_ object: [String: JSONValue]) throws(TrainyardError) -> S3EventNotification? {
        guard let value = object["Records"] else { return nil }
        guard case .array(let items) = value else { throw problem("Records is not a list") }
        guard !items.isEmpty else { throw problem("Records is empty") }
        guard items.count <= maxRecords else { throw problem("it has \(items.count) records; at most \(maxRecords) are read") }
        var records: [Record] = []
        for (index, item) in items.enumerated() {
            records.append(try record(item, index: index))
        }
        return S3EventNotification(records: records)
    }

    static func problem(_ what: String) -> TrainyardError {
        TrainyardError(.invalidArgument, "not a valid S3 event notification: \(what)")
    }

    static func record(_ item: JSONValue, index: Int) throws(TrainyardError) -> Record {
        let at = "Records[\(index)]"
        guard case .object(let fields) = item else { throw problem("\(at) is not an object") }
        guard case .string(let source)? = fields["eventSource"] else { throw problem("\(at).eventSource is missing") }
        guard source == "aws:s3" else {
            throw problem("\(at).eventSource is \"\(clientEcho(source))\"; only aws:s3 records are read")
        }
        guard case .string(let eventName)? = fields["eventName"], !eventName.isEmpty, eventName.utf8.count <= 128 else {
            throw problem("\(at).eventName is missing")
        }
        guard case .string(let bucket)? = fields["s3"]?["bucket"]?["name"] else { throw problem("\(at).s3.bucket.name is missing") }
        guard isBucketName(bucket) else {
            throw problem("\(at).s3.bucket.name \"\(clientEcho(bucket))\" is not a bucket name (3–63 letters, digits, . _ -)")
        }
        guard case .string(let encodedKey)? = fields["s3"]?["object"]?["key"] else { throw problem("\(at).s3.object.key is missing") }
        let key = try decodeKey(encodedKey, at: "\(at).s3.object.key")
        var size: Int64?
        switch fields["s3"]?["object"]?["size"] {
        case .int(let bytes)? where bytes >= 0: size = Int64(bytes)
        case nil, .null?: size = nil
        default: throw problem("\(at).s3.object.size is not a byte count")
        }
        return Record(index: index, eventName: eventName, bucket: bucket, key: key, size: size)
    }

    /// A key as S3 encodes it in notifications: `+` is a space, `%XX` a byte of UTF-8.
    public static func decodeKey(_ encoded: String, at path: String = "s3.object.key") throws(TrainyardError) -> String {
        guard let key = encoded.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
            throw problem("\(path) \"\(clientEcho(encoded))\" is not valid URL encoding")
        }
        guard !key.isEmpty, key.utf8.count <= maxKeyBytes else { throw problem("\(path) must be 1–\(maxKeyBytes) bytes") }
        guard !key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw problem("\(path) \"\(clientEcho(encoded))\" holds control characters")
        }
        return key
    }

    /// Bucket names as S3 allows them (including the older names with capitals and `_`).
    static func isBucketName(_ name: String) -> Bool {
        (3...63).contains(name.utf8.count)
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_".unicodeScalars.contains($0)) }
    }
}
