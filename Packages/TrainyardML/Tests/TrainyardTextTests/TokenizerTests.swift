import Testing
@testable import TrainyardText

private func texts(_ s: String) -> [String] { Tokenizer.tokenize(s).map(\.text) }

@Test func tokenizerSplitsWordsAndPunctuationWithOffsets() {
    let tokens = Tokenizer.tokenize("Hello, world!")
    #expect(tokens == [
        Token(text: "Hello", start: 0, end: 5), Token(text: ",", start: 5, end: 6),
        Token(text: "world", start: 7, end: 12), Token(text: "!", start: 12, end: 13),
    ])
}

@Test func tokenizerSplitsContractionsPennTreebankStyle() {
    #expect(texts("I don't know John's car, they're sure.") ==
            ["I", "do", "n't", "know", "John", "'s", "car", ",", "they", "'re", "sure", "."])
    #expect(texts("can't won’t O'Neil") == ["ca", "n't", "wo", "n’t", "O'Neil"])
    // SST-2 style pre-split clitics stay one token each.
    #expect(texts("it 's not , does n't") == ["it", "'s", "not", ",", "does", "n't"])
}

@Test func tokenizerKeepsURLsMentionsAndHashtagsWhole() {
    let s = "see https://example.com/a?b=1, @bob_99 and #SwiftLang! www.test.org."
    let tokens = Tokenizer.tokenize(s)
    #expect(tokens.map(\.text) == ["see", "https://example.com/a?b=1", ",", "@bob_99", "and", "#SwiftLang", "!", "www.test.org", "."])
    for t in tokens { #expect(s.scalarSlice(t.start, t.end) == t.text) }
}

@Test func tokenizerKeepsNumbersDatesAndAbbreviations() {
    #expect(texts("3.14 and 1,000 on 1996-08-22 at 10:30 in the U.S. today.") ==
            ["3.14", "and", "1,000", "on", "1996-08-22", "at", "10:30", "in", "the", "U.S.", "today", "."])
    #expect(texts("well-known... wow!!") == ["well-known", "...", "wow", "!!"])
}

@Test func tokenizerOffsetsCountCodePoints() {
    let s = "Café 🎉 naïve 👍🏽 Zürich"
    let tokens = Tokenizer.tokenize(s)
    #expect(tokens.map(\.text) == ["Café", "🎉", "naïve", "👍🏽", "Zürich"])
    #expect(tokens[1].start == 5 && tokens[1].end == 6)
    #expect(tokens[3].start == 13 && tokens[3].end == 15)  // thumbs up + skin tone = 2 code points
    #expect(tokens[4].start == 16 && tokens[4].end == 22)
    for t in tokens { #expect(s.scalarSlice(t.start, t.end) == t.text) }
    // Decomposed é (e + combining acute) stays inside the word.
    let decomposed = "Cafe\u{301} ok"
    #expect(Tokenizer.tokenize(decomposed).map(\.end) == [5, 8])
}

@Test func tokenizerHandlesEmptyAndWhitespaceText() {
    #expect(Tokenizer.tokenize("").isEmpty)
    #expect(Tokenizer.tokenize(" \t\n\u{00A0}").isEmpty)
}
