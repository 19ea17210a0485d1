import Foundation

/// What a message on an sqs trigger's queue says, read from its body alone:
///
/// - a JSON object with `Records` of `eventSource` `aws:s3`: an S3 event notification (also when
///   delivered through SNS, whose envelope `{"Type": "Notification", "Message": "…"}` is opened);
///   `s3:TestEvent`, and notifications without a created object, need nothing done;
/// - a JSON object with a `task`: a spec, submitted as it is;
/// - any other JSON object: an older system's training message (`{"name": "my-model",
///   "image": …, "epochs": 1}`), whose fields fill the trigger's spec template;
/// - anything else must parse as a YAML spec.
///
/// Anything else is an error naming what is wrong; the body itself is never quoted (it can be
/// 256 KiB, and whoever sends to the queue chose it).
public enum QueueMessageBody: Sendable, Equatable {
    /// Spec text (YAML or JSON), submitted as it is.
    case spec(String)
    /// The top-level fields of a JSON message for the spec template (`${message.KEY}`).
    case fields([String: JSONValue])
    /// An S3 event notification with at least one object-created record (others are dropped).
    case s3Event(S3EventNotification)
    /// Nothing to do (why): the message is acknowledged.
    case ignorable(String)

    /// The largest body read: SQS's classic limit. A larger one is refused unread.
    public static let maxBytes = 256 * 1024

    /// Reads `body`; `maxSpecBytes` (`limits.spec_bytes`) bounds a YAML spec body.
    public static func read(_ body: String, maxSpecBytes: Int = ResourceLimits().specBytes) throws(TrainyardError) -> QueueMessageBody {
        let size = body.utf8.count
        guard size <= maxBytes else {
            throw TrainyardError(.invalidArgument, "the message body is \(size) bytes; at most \(maxBytes) are read")
        }
        let trimmed = body.drop { $0.isWhitespace }
        guard !trimmed.isEmpty else { throw TrainyardError(.invalidArgument, "the message body is empty") }
        guard trimmed.first == "{" || trimmed.first == "[" else {
            // Not JSON: it can only be a YAML spec.
            do {
                _ = try SpecParser(maxBytes: maxSpecBytes).parse(body)
            } catch {
                throw TrainyardError(error.code, "the message body is not JSON, and as a YAML spec: \(error.message)", details: error.details)
            }
            return .spec(body)
        }
        return try read(json: body, enveloped: false)
    }

    private static func read(json text: String, enveloped: Bool) throws(TrainyardError) -> QueueMessageBody {
        let what = enveloped ? "the SNS notification's Message" : "the message body"
        let value: JSONValue
        do {
            value = try JSON.decode(JSONValue.self, from: text)
        } catch {
            throw TrainyardError(.invalidArgument, "\(what) is not valid JSON\(position(of: error))")
        }
        guard case .object(let object) = value else {
            throw TrainyardError(.invalidArgument, "\(what) is JSON but not an object; expected a spec, an S3 event notification or a JSON object of fields")
        }
        if !enveloped, object["Type"] == .string("Notification"), case .string(let inner)? = object["Message"] {
            return try read(json: inner, enveloped: true)
        }
        if S3EventNotification.isTestEvent(object) { return .ignorable("an S3 test event (s3:TestEvent)") }
        if let event = try S3EventNotification.read(object) {
            let created = event.records.filter(\.isObjectCreated)
            guard !created.isEmpty else {
                let names = Set(event.records.map(\.eventName)).sorted().joined(separator: ", ")
                return .ignorable("an S3 event notification without a created object (\(clientEcho(names)))")
            }
            return .s3Event(S3EventNotification(records: created))
        }
        if object["task"] != nil { return .spec(text) }
        return .fields(object)
    }

    /// ` (line L, column C)` or ` (at byte N)` from a JSON decoding error, when it says.
    static func position(of error: any Error) -> String {
        let description: String
        if case DecodingError.dataCorrupted(let context) = error {
            description = (context.underlyingError.map { "\($0)" } ?? "") + " " + context.debugDescription
        } else {
            description = "\(error)"
        }
        for marker in ["line ", "character ", "byte "] {
            guard let range = description.range(of: marker) else { continue }
            let digits = description[range.upperBound...].prefix { $0.isNumber }
            if !digits.isEmpty {
                if marker == "line ", let column = description.range(of: "column ", range: range.upperBound..<description.endIndex) {
                    let c = description[column.upperBound...].prefix { $0.isNumber }
                    if !c.isEmpty { return " (line \(digits), column \(c))" }
                }
                return " (at \(marker)\(digits))"
            }
        }
        return ""
    }
}
