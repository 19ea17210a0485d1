import Foundation

/// What a trigger fires on.
public enum TriggerKind: String, Sendable, Codable, CaseIterable {
    /// A new file in a folder (or object under an `s3://` prefix), once its size and
    /// modification time (size and ETag) have settled.
    case watch
    /// The slots of a cron expression in a time zone.
    case schedule
    /// The messages on an SQS queue.
    case sqs
}

/// `watch`: a folder or an `s3://` prefix, the glob its files (objects) must match and how long
/// a file must stay unchanged.
public struct WatchSource: Sendable, Equatable, Codable {
    /// The folder: an absolute path, standardized; or the prefix's URI (`WatchedPrefix.uri`,
    /// `s3://bucket/prefix/`).
    public let path: String
    public let glob: GlobPattern
    /// A file fires once two looks at least this far apart found the same size and
    /// modification time (a half-written file waits); an object, the same size and ETag.
    public let settleSeconds: Double
    /// The prefix when `path` is an `s3://` URI; nil for a folder.
    public let objects: WatchedPrefix?

    public static let defaultSettleSeconds: Double = 5
    /// The longest settle time accepted.
    public static let maxSettleSeconds: Double = 86_400

    /// - Throws: `.invalidArgument` naming the problem: a path that is not absolute (relative
    ///   paths are resolved by the CLI before they get here), an `s3://` URI with a bad bucket or
    ///   prefix, a bad glob, a settle time out of range. Whether this process can read `s3://`
    ///   is checked when the trigger is created (`TriggerCatalog`), not here.
    public init(path: String, glob: String, settleSeconds: Double = WatchSource.defaultSettleSeconds) throws(TrainyardError) {
        guard !path.utf8.contains(0) else { throw TrainyardError(.invalidArgument, "watch path contains a NUL character") }
        guard settleSeconds.isFinite, (0...Self.maxSettleSeconds).contains(settleSeconds) else {
            throw TrainyardError(.invalidArgument, "settle time \(settleSeconds) s is out of range 0–\(Int(Self.maxSettleSeconds)) s")
        }
        if path.lowercased().hasPrefix("s3://") {
            let objects = try WatchedPrefix(parsing: path)
            self.objects = objects
            self.path = objects.uri
        } else {
            var folder = path
            if folder.lowercased().hasPrefix("file://") {
                guard case .success(.file(let p)) = DataLocation.parse(path, base: nil) else {
                    throw TrainyardError(.invalidArgument, "watch path \(clientEcho(path)) is not a valid file:// URI")
                }
                folder = p
            }
            guard let standardized = LexicalPath.standardized(folder) else {
                throw TrainyardError(.invalidArgument, "watch path \"\(clientEcho(path))\" must be an absolute path")
            }
            objects = nil
            self.path = standardized
        }
        self.glob = try GlobPattern(glob)
        self.settleSeconds = settleSeconds
    }

    enum CodingKeys: String, CodingKey {
        case path, glob
        case settleSeconds = "settle_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try TriggerCoding.refuseUnknownKeys(decoder, allowed: ["path", "glob", "settle_seconds"], in: "watch")
        do {
            try self.init(path: try c.decode(String.self, forKey: .path), glob: try c.decodeIfPresent(String.self, forKey: .glob) ?? "*",
                          settleSeconds: try c.decodeIfPresent(Double.self, forKey: .settleSeconds) ?? Self.defaultSettleSeconds)
        } catch let error as TrainyardError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(glob.text, forKey: .glob)
        try c.encode(settleSeconds, forKey: .settleSeconds)
    }
}

/// `schedule`: a cron expression read in an IANA time zone.
public struct ScheduleSource: Sendable, Equatable, Codable {
    public let cron: CronExpression
    public let timeZone: TimeZone
    /// The zone's name as given (`UTC` stays `UTC`, which Foundation calls `GMT`).
    public let timeZoneName: String

    /// - Throws: `.invalidArgument` naming the cron field and position, or the unknown zone.
    public init(cron: String, timeZone: String) throws(TrainyardError) {
        self.cron = try CronExpression(cron)
        self.timeZone = try Self.zone(timeZone)
        timeZoneName = timeZone
    }

    /// An IANA zone (`Europe/Berlin`, `America/New_York`, `UTC`).
    public static func zone(_ identifier: String) throws(TrainyardError) -> TimeZone {
        guard !identifier.isEmpty, identifier.utf8.count <= 64, identifier.unicodeScalars.allSatisfy({ $0.isASCII && $0.properties.generalCategory != .control }),
              let zone = TimeZone(identifier: identifier) else {
            throw TrainyardError(.invalidArgument, "unknown time zone \"\(clientEcho(identifier))\"; use an IANA name such as Europe/Berlin, America/New_York or UTC")
        }
        return zone
    }

    /// The slot to fire now, if any: the latest slot after `max(lastSlot, activeSince)` that is
    /// not after `now`. After downtime that is the one latest missed slot, however many passed.
    public func dueSlot(lastSlot: Date?, activeSince: Date, now: Date) -> Date? {
        cron.latestSlot(after: Self.base(lastSlot: lastSlot, activeSince: activeSince), notAfter: now, in: timeZone)
    }

    /// The slot that fires next: the due one, or the first after now.
    public func nextSlot(lastSlot: Date?, activeSince: Date, now: Date) -> Date? {
        let base = Self.base(lastSlot: lastSlot, activeSince: activeSince)
        return dueSlot(lastSlot: lastSlot, activeSince: activeSince, now: now) ?? cron.next(after: max(base, now), in: timeZone)
    }

    static func base(lastSlot: Date?, activeSince: Date) -> Date { max(lastSlot ?? activeSince, activeSince) }

    public static func == (a: ScheduleSource, b: ScheduleSource) -> Bool { a.cron == b.cron && a.timeZoneName == b.timeZoneName }

    enum CodingKeys: String, CodingKey {
        case cron
        case timeZone = "time_zone"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try TriggerCoding.refuseUnknownKeys(decoder, allowed: ["cron", "time_zone"], in: "schedule")
        do {
            try self.init(cron: try c.decode(String.self, forKey: .cron), timeZone: try c.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC")
        } catch let error as TrainyardError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cron.text, forKey: .cron)
        try c.encode(timeZoneName, forKey: .timeZone)
    }
}

/// What a trigger fires on: one of the sources.
public enum TriggerSource: Sendable, Equatable {
    case watch(WatchSource)
    case schedule(ScheduleSource)
    case sqs(SQSSource)

    public var kind: TriggerKind {
        switch self {
        case .watch: .watch
        case .schedule: .schedule
        case .sqs: .sqs
        }
    }
}

/// Decoding helpers shared by the trigger values.
enum TriggerCoding {
    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A key the object does not know is an error naming it (a misspelt `setle_seconds` must
    /// not silently become the default).
    static func refuseUnknownKeys(_ decoder: any Decoder, allowed: Set<String>, in what: String) throws {
        let keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
        let unknown = keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown key(s) \(unknown.map { clientEcho($0) }.joined(separator: ", ")) in \(what); expected \(allowed.sorted().joined(separator: ", "))"))
        }
    }
}
