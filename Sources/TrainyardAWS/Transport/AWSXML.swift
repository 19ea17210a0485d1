/// The subset of XML that AWS answers in (S3 and the query-protocol services): elements,
/// attributes (skipped), text with the five named entities and numeric references, CDATA,
/// comments and the `<?xml …?>` declaration. No DTDs: a `<!DOCTYPE` is refused, so no entity
/// can expand into anything (what comes over the network is hostile).
///
/// Written here rather than taken from FoundationXML so the binary does not depend on libxml2.
public struct AWSXMLElement: Sendable, Equatable {
    public let name: String
    public internal(set) var children: [AWSXMLElement]
    /// The element's own text (character data directly inside it), entities decoded.
    public internal(set) var text: String

    public init(name: String, children: [AWSXMLElement] = [], text: String = "") {
        self.name = name
        self.children = children
        self.text = text
    }

    /// The first child named `name` (local name: a namespace prefix is ignored).
    public func child(_ name: String) -> AWSXMLElement? { children.first { $0.name == name } }

    /// Every child named `name`.
    public func children(_ name: String) -> [AWSXMLElement] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func text(of name: String) -> String? { child(name)?.text }

    /// The first element named `name` anywhere below (depth first), this one included.
    public func descendant(_ name: String) -> AWSXMLElement? {
        if self.name == name { return self }
        for child in children {
            if let found = child.descendant(name) { return found }
        }
        return nil
    }
}

/// Why a document could not be read, with the byte offset where reading stopped.
public struct AWSXMLError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let offset: Int
    public var description: String { "malformed XML at byte \(offset): \(message)" }
}

public enum AWSXML {
    /// Nesting deeper than this is refused: AWS documents are a few levels deep, and recursion
    /// on hostile input must stay bounded.
    public static let maximumDepth = 64

    /// Parses a whole document and returns its root element.
    public static func parse(_ bytes: some Collection<UInt8>) throws(AWSXMLError) -> AWSXMLElement {
        var reader = Reader(bytes: Array(bytes))
        return try reader.document()
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ message: String) -> AWSXMLError { AWSXMLError(message: message, offset: index) }

        mutating func document() throws(AWSXMLError) -> AWSXMLElement {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            try skipMisc()
            guard index < bytes.count else { throw fail("no root element") }
            let root = try element(depth: 0)
            try skipMisc()
            guard index == bytes.count else { throw fail("content after the root element") }
            return root
        }

        /// Whitespace, the declaration, processing instructions and comments between elements.
        mutating func skipMisc() throws(AWSXMLError) {
            while index < bytes.count {
                if isSpace(bytes[index]) {
                    index += 1
                } else if starts("<?") {
                    try skip(past: "?>")
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<!") {
                    throw fail("document type declarations are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func element(depth: Int) throws(AWSXMLError) -> AWSXMLElement {
            guard depth < AWSXML.maximumDepth else { throw fail("elements nested deeper than \(AWSXML.maximumDepth)") }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("expected '<'") }
            index += 1
            let qualifiedName = try name()
            var element = AWSXMLElement(name: localName(qualifiedName))
            // Attributes: read past them (AWS puts only xmlns there).
            while true {
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard index < bytes.count else { throw fail("unterminated start tag <\(qualifiedName)>") }
                if starts("/>") {
                    index += 2
                    return element
                }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                _ = try name()
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("attribute without '='") }
                index += 1
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                    throw fail("attribute value without quotes")
                }
                let quote = bytes[index]
                index += 1
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw fail("unterminated attribute value") }
                index += 1
            }
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("element <\(qualifiedName)> is not closed") }
                if starts("</") {
                    index += 2
                    let closing = try name()
                    guard closing == qualifiedName else { throw fail("</\(closing)> closes <\(qualifiedName)>") }
                    while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw fail("unterminated end tag") }
                    index += 1
                    element.text = String(decoding: text, as: UTF8.self)
                    return element
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    text.append(contentsOf: bytes[start..<(index - 3)])
                } else if starts("<?") {
                    try skip(past: "?>")
                } else if bytes[index] == UInt8(ascii: "<") {
                    element.children.append(try self.element(depth: depth + 1))
                } else if bytes[index] == UInt8(ascii: "&") {
                    text.append(contentsOf: try entity())
                } else {
                    text.append(bytes[index])
                    index += 1
                }
            }
        }

        mutating func name() throws(AWSXMLError) -> String {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=") { break }
                index += 1
            }
            guard index > start else { throw fail("expected a name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// `&amp;` … `&#x41;`: the decoded bytes.
        mutating func entity() throws(AWSXMLError) -> [UInt8] {
            let start = index
            index += 1
            while index < bytes.count, bytes[index] != UInt8(ascii: ";"), index - start < 12 { index += 1 }
            guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else { throw fail("unterminated entity reference") }
            let body = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
            index += 1
            switch body {
            case "amp": return Array("&".utf8)
            case "lt": return Array("<".utf8)
            case "gt": return Array(">".utf8)
            case "quot": return Array("\"".utf8)
            case "apos": return Array("'".utf8)
            default:
                let number: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    number = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    number = UInt32(body.dropFirst(), radix: 10)
                } else {
                    number = nil
                }
                guard let number, let scalar = Unicode.Scalar(number) else { throw fail("unknown entity &\(body);") }
                return Array(String(Character(scalar)).utf8)
            }
        }

        func starts(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            return literal.withUTF8Buffer { literalBytes in
                for offset in 0..<count where bytes[index + offset] != literalBytes[offset] { return false }
                return true
            }
        }

        mutating func skip(past terminator: StaticString) throws(AWSXMLError) {
            while index < bytes.count {
                if starts(terminator) {
                    index += terminator.utf8CodeUnitCount
                    return
                }
                index += 1
            }
            throw fail("unterminated \(terminator)")
        }

        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

        func localName(_ qualified: String) -> String {
            guard let colon = qualified.lastIndex(of: ":") else { return qualified }
            return String(qualified[qualified.index(after: colon)...])
        }
    }
}

extension String {
    /// `self` with `&`, `<`, `>`, `"` and `'` escaped, and control characters as numeric
    /// references (a raw `\r` would be turned into `\n` by the reader), for request documents.
    public var xmlEscaped: String {
        var escaped = ""
        escaped.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default:
                if scalar.value < 0x20 {
                    escaped += "&#x\(String(scalar.value, radix: 16, uppercase: true));"
                } else {
                    escaped.unicodeScalars.append(scalar)
                }
            }
        }
        return escaped
    }
}
