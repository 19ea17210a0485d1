import Testing
@testable import TrainyardTabular

@Suite struct CSVTests {
    @Test func quotedFieldsWithDelimitersQuotesAndNewlines() throws {
        let t = try CSVTable.parse(TestData.bytes("a,b,c\n\"x,1\",\"say \"\"hi\"\"\",\"two\nlines\"\n3,4,5\n"))
        #expect(t.header == ["a", "b", "c"])
        #expect(t.rows.count == 2)
        #expect(t.rows.string(row: 0, column: 0) == "x,1")
        #expect(t.rows.string(row: 0, column: 1) == "say \"hi\"")
        #expect(t.rows.string(row: 0, column: 2) == "two\nlines")
        #expect(t.rows.line(of: 1) == 4)  // the quoted newline counts
    }

    @Test func crlfBomAndTrailingBlankLines() throws {
        let t = try CSVTable.parse([0xEF, 0xBB, 0xBF] + TestData.bytes("id,v\r\n1,2\r\n3,4\r\n\r\n"))
        #expect(t.header == ["id", "v"])
        #expect(t.rows.count == 2)
        #expect(t.rows.string(row: 1, column: 1) == "4")
    }

    @Test func tabDelimiterDetected() throws {
        let t = try CSVTable.parse(TestData.bytes("a\tb\n1,5\t2\n"))
        #expect(t.delimiter == CSVTokenizer.tab)
        #expect(t.rows.string(row: 0, column: 0) == "1,5")
    }

    @Test func missingValueSpellings() {
        for s in ["", "NA", "NaN", "nan", "null", "NULL", "  "] {
            #expect(Array(s.utf8).withUnsafeBufferPointer { FieldParsing.classify($0) } == .missing, "\(s)")
        }
        #expect(Array("1.5e3".utf8).withUnsafeBufferPointer { FieldParsing.classify($0) } == .number(1500))
        #expect(Array(" -0.25 ".utf8).withUnsafeBufferPointer { FieldParsing.classify($0) } == .number(-0.25))
        #expect(Array("abc".utf8).withUnsafeBufferPointer { FieldParsing.classify($0) } == .text)
        #expect(Array("1.2.3".utf8).withUnsafeBufferPointer { FieldParsing.classify($0) } == .text)
    }

    @Test func raggedRowNamesTheLine() {
        do {
            _ = try CSVTable.parse(TestData.bytes("a,b\n1,2\n3\n"))
            Issue.record("expected an error")
        } catch let e as TabularDataError {
            #expect(e.code == .raggedRow)
            #expect(e.line == 3)
            #expect(e.description.contains("line 3"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func emptyAndHeaderOnlyFiles() {
        #expect(throws: TabularDataError.self) { try CSVTable.parse([]) }
        do { _ = try CSVTable.parse(TestData.bytes("a,b\n")) } catch let e as TabularDataError { #expect(e.code == .headerOnly) } catch { Issue.record("\(error)") }
        do { _ = try CSVTable.parse(TestData.bytes("\n\n")) } catch let e as TabularDataError { #expect(e.code == .emptyFile) } catch { Issue.record("\(error)") }
    }

    @Test func streamingInChunksMatchesWholeParse() throws {
        let text = "\u{FEFF}name,q,v\r\n\"a,b\",\"x\"\"y\",1\r\nplain,\"multi\nline\",2\r\nlast,z,3"
        let bytes = TestData.bytes(text)
        let whole = try CSVTable.parse(bytes)
        for chunk in [1, 2, 3, 7, 64] {
            var reader = CSVStreamReader()
            var got: [[String]] = []
            var i = 0
            while i < bytes.count {
                let rows = try reader.read(bytes[i..<min(i + chunk, bytes.count)])
                for r in 0..<rows.count { got.append((0..<rows.columnCount).map { rows.string(row: r, column: $0) }) }
                i += chunk
            }
            let rows = try reader.finish()
            for r in 0..<rows.count { got.append((0..<rows.columnCount).map { rows.string(row: r, column: $0) }) }
            #expect(reader.header == whole.header, "chunk \(chunk)")
            let expected = (0..<whole.rows.count).map { r in (0..<3).map { whole.rows.string(row: r, column: $0) } }
            #expect(got == expected, "chunk \(chunk)")
        }
    }

    @Test func duplicateHeaderIsAnError() {
        #expect(throws: TabularDataError.self) { try CSVTable.parse(TestData.bytes("a,a\n1,2\n")) }
    }
}
