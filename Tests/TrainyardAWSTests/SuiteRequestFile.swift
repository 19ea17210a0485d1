import Foundation
@testable import TrainyardAWS

/// Reads a request in the test suite's `.req` format: `METHOD target HTTP/1.1`, then `Name:value`
/// lines, then an optional blank line and the body. The target may contain spaces (`GET /example
/// space/ HTTP/1.1`), so the method is what precedes the first space and the version what follows
/// the last. A line starting with whitespace continues the previous header; the suite's canonical
/// request for that case (get-header-value-multiline) lists each line as its own value, so each
/// becomes another value of the same header.
struct SuiteRequestFile {
    let request: SigV4Request
    let body: String

    init(_ text: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let requestLine = lines.first,
              let firstSpace = requestLine.firstIndex(of: " "),
              let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace
        else { throw ParseError(line: 1, reason: "no 'METHOD target HTTP/1.1' line") }
        let method = String(requestLine[..<firstSpace])
        let target = requestLine[requestLine.index(after: firstSpace)..<lastSpace]

        var headers: [HTTPField] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t" {
                guard let previous = headers.last else { throw ParseError(line: index + 1, reason: "continuation without a header") }
                headers.append(HTTPField(previous.name, line))
            } else {
                guard let colon = line.firstIndex(of: ":") else { throw ParseError(line: index + 1, reason: "header without ':'") }
                headers.append(HTTPField(String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        body = index < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""

        let path: Substring
        let query: Substring
        if let questionMark = target.firstIndex(of: "?") {
            path = target[..<questionMark]
            query = target[target.index(after: questionMark)...]
        } else {
            path = target
            query = ""
        }
        request = SigV4Request(method: method, path: String(path), query: String(query), headers: headers)
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "request file line \(line): \(reason)" }
    }
}

/// `2015-08-30T12:36:00Z` → a `Date`, so tests name the instant as the suites print it.
func instant(_ iso8601: String) throws -> Date {
    guard let date = ISO8601DateFormatter().date(from: iso8601) else {
        throw SuiteRequestFile.ParseError(line: 0, reason: "not an ISO 8601 instant: \(iso8601)")
    }
    return date
}
