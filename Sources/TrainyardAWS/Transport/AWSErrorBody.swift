import Foundation

/// What an error answer says, in whichever of AWS's shapes it came:
///
/// - S3 (REST-XML): `<Error><Code>NoSuchKey</Code><Message>…</Message><RequestId>…</RequestId></Error>`
/// - query protocol (SQS's XML API, STS): `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code>
///   <Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`
/// - JSON protocol (SQS today): `{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "…"}`,
///   with the older query code in the `x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender`
///   header, which is preferred because it is the code SQS documents.
/// - no body (HEAD, some proxies): a code derived from the status.
struct AWSErrorBody: Equatable {
    var code: String?
    var message: String?
    var requestID: String?

    /// Reads `body` (already bounded by the caller); headers are lower-cased names.
    static func parse(status: Int, headers: [String: String], body: [UInt8]) -> AWSErrorBody {
        var parsed = AWSErrorBody()
        let firstByte = body.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        if firstByte == UInt8(ascii: "<"), let root = try? AWSXML.parse(body) {
            let error = root.name == "Error" ? root : root.descendant("Error")
            parsed.code = error?.text(of: "Code")
            parsed.message = error?.text(of: "Message")
            parsed.requestID = error?.text(of: "RequestId") ?? root.text(of: "RequestId") ?? root.descendant("RequestId")?.text
        } else if firstByte == UInt8(ascii: "{"),
                  let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            if let type = (object["__type"] as? String) ?? (object["code"] as? String) ?? (object["Code"] as? String) {
                // `com.amazonaws.sqs#QueueDoesNotExist` → `QueueDoesNotExist`.
                parsed.code = type.split(separator: "#").last.map(String.init) ?? type
            }
            parsed.message = (object["message"] as? String) ?? (object["Message"] as? String)
        }
        if let queryError = headers["x-amzn-query-error"], let code = queryError.split(separator: ";").first, !code.isEmpty {
            parsed.code = String(code)
        }
        if parsed.code == nil || parsed.code?.isEmpty == true {
            parsed.code = headers["x-amzn-errortype"].flatMap { $0.split(separator: ":").first.map(String.init) } ?? statusCode(status)
        }
        if parsed.message?.isEmpty ?? true {
            parsed.message = body.isEmpty || firstByte == nil ? HTTPStatusText.reason(status) : "(unreadable error body)"
        }
        parsed.requestID = parsed.requestID ?? headers["x-amz-request-id"] ?? headers["x-amzn-requestid"]
        return parsed
    }

    /// The codes S3 uses for bodiless answers (HEAD), so callers can test one field.
    static func statusCode(_ status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 304: "NotModified"
        case 400: "BadRequest"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        default: "HTTP\(status)"
        }
    }
}

enum HTTPStatusText {
    static func reason(_ status: Int) -> String {
        switch status {
        case 301: "moved permanently (wrong region or endpoint?)"
        case 304: "not modified"
        case 400: "bad request"
        case 403: "forbidden (check the credentials and their permissions)"
        case 404: "not found"
        case 409: "conflict"
        case 412: "precondition failed"
        case 429: "too many requests"
        case 500: "internal server error"
        case 502: "bad gateway"
        case 503: "service unavailable"
        case 504: "gateway timeout"
        default: "HTTP status \(status)"
        }
    }
}
