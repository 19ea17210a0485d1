/// Client input quoted back in an error message, cut to a readable length.
///
/// An error names the offending value so the caller can find it, but a caller can send anything:
/// a 70 KB "model name" must not come back as a 70 KB reply (nor fill a log line). Every message
/// that repeats something a client sent goes through `clientEcho`.
///
/// ```swift
/// throw TrainyardError(.invalidArgument, "invalid model name \"\(clientEcho(raw))\": …")
/// ```
public func clientEcho(_ text: some StringProtocol, limit: Int = clientEchoLimit) -> String {
    guard text.count > limit else { return String(text) }
    return String(text.prefix(limit)) + "… (\(text.utf8.count) bytes)"
}

/// The longest piece of client input an error message repeats (characters).
public let clientEchoLimit = 100
