import Testing
@testable import TrainyardText

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Test func tsvWithHeaderIsReadLiterallyDespiteStrayQuotes() throws {
    let data = bytes("label\tsentence\r\n1\tit's \"great , really\r\n0\t\"quoted\"\r\n")
    let records = try TextDatasetReader.read(data, format: .auto)
    #expect(records.map(\.label) == ["1", "0"])
    #expect(records[0].text == "it's \"great , really")
    #expect(records[1].text == "quoted")  // a fully quoted field is unquoted
    #expect(records[0].line == 2)
}

@Test func tsvWithoutHeaderInfersTextAndLabelColumns() throws {
    let data = bytes("Wow... Loved this place.\t1\nCrust is not good.\t0\nThe fries were great too.\t1\n")
    let records = try TextDatasetReader.read(data, format: .tsv)
    #expect(records.count == 3)
    #expect(records[1] == LabeledText(text: "Crust is not good.", label: "0", line: 2))
    let byIndex = try TextDatasetReader.read(data, format: .tsv, textColumn: "0", labelColumn: "1")
    #expect(byIndex == records)
}

@Test func csvHandlesQuotesCommasAndNewlines() throws {
    let data = bytes("id,text,label\n1,\"hello, \"\"world\"\"\nsecond line\",pos\n2,plain,neg\n")
    let records = try TextDatasetReader.read(data, format: .auto)
    #expect(records.map(\.text) == ["hello, \"world\"\nsecond line", "plain"])
    #expect(records.map(\.label) == ["pos", "neg"])
    #expect(records[1].line == 4)
}

@Test func jsonlAndFastTextAreReadAndDetected() throws {
    let jsonl = bytes("{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0}\n{\"text\": \"meh\", \"label\": true}\n")
    #expect(try TextDatasetReader.detect(jsonl) == .jsonl)
    #expect(try TextDatasetReader.read(jsonl, format: .auto).map(\.label) == ["1", "0", "true"])
    let custom = bytes("{\"body\": \"x\", \"y\": \"a\"}\n")
    #expect(try TextDatasetReader.read(custom, format: .jsonl, textColumn: "body", labelColumn: "y")[0].label == "a")
    let ft = bytes("__label__pos a fine film\n__label__neg __label__other dull\n")
    #expect(try TextDatasetReader.detect(ft) == .fasttext)
    let records = try TextDatasetReader.read(ft, format: .auto)
    #expect(records.map(\.label) == ["pos", "neg"])
    #expect(records.map(\.text) == ["a fine film", "dull"])
}

@Test func malformedLinesNameTheirLine() {
    #expect(throws: TextInputError.self) { try TextDatasetReader.read(bytes("a,b\nc\n"), format: .csv) }
    if let e = inputError({ _ = try TextDatasetReader.read(bytes("text\tlabel\tid\nok\t1\t7\nbroken\t1\n"), format: .tsv) }) {
        #expect(e.code == .malformedLine)
        #expect(e.line == 3)
        #expect(e.description.hasPrefix("line 3:"))
    }
    if let e = inputError({ _ = try TextDatasetReader.read(bytes("{\"text\": \"a\", \"label\": 1}\n{oops\n"), format: .jsonl) }) {
        #expect(e.line == 2)
    }
    if let e = inputError({ _ = try TextDatasetReader.read(bytes("__label__a x\nno label here\n"), format: .fasttext) }) {
        #expect(e.line == 2 && e.code == .malformedLine)
    }
}

@Test func unknownFormatAndMissingColumnsAreClearErrors() {
    if let e = inputError({ _ = try TextDatasetReader.read(bytes("just some words\n"), format: .auto) }) {
        #expect(e.code == .unknownFormat)
        #expect(e.description.contains("format"))
    }
    if let e = inputError({ _ = try TextDatasetReader.read(bytes("text\tlabel\na\t1\n"), format: .tsv, labelColumn: "sentiment") }) {
        #expect(e.code == .missingColumn)
        #expect(e.description.contains("sentiment"))
    }
}

@Test func conllReaderHandlesSchemesSeparatorsAndDocstart() throws {
    let data = bytes("-DOCSTART- O\n\nEU NNP B-NP I-ORG\nrejects VBZ B-VP O\n\nPeter\tB-PER\nBlackburn\tI-PER\n \n")
    let sentences = try CoNLLReader.read(data)
    #expect(sentences.count == 2)
    #expect(sentences[0].tokens == ["EU", "rejects"])
    #expect(sentences[0].tags == ["I-ORG", "O"])
    #expect(sentences[0].documentStart)
    #expect(sentences[0].line == 3)
    #expect(sentences[1].tags == ["B-PER", "I-PER"])
}

@Test func conllReaderRejectsMalformedLinesWithLineNumbers() {
    if let e = inputError({ _ = try CoNLLReader.read(bytes("a O\nb\n")) }) {
        #expect(e.line == 2 && e.code == .malformedLine)
    }
    if let e = inputError({ _ = try CoNLLReader.read(bytes("a O\n\nb PERSON\n")) }) {
        #expect(e.line == 3)
        #expect(e.description.contains("PERSON"))
    }
}

/// The `TextInputError` thrown by `body`, recording an issue if it throws nothing or something else.
func inputError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> TextInputError? {
    do {
        try body()
        Issue.record("expected a TextInputError", sourceLocation: sourceLocation)
    } catch let e as TextInputError {
        return e
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
