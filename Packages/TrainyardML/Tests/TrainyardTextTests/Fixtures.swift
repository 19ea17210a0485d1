import Foundation

/// CC BY 4.0 fixtures in Tests/Fixtures/text (see the README there).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/text")

    static func bytes(_ name: String) -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            fatalError("missing test fixture \(url.path)")
        }
        return Array(data)
    }
}

extension String {
    /// Substring by code point offsets (Python `s[start:end]`).
    func scalarSlice(_ start: Int, _ end: Int) -> String {
        let scalars = Array(unicodeScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[start..<end])
        return String(view)
    }
}
