/// Writes labelled texts and tagged sentences back in a format `TextDatasetReader` and
/// `CoNLLReader` read to the same records (the held-out validation rows another model is
/// scored on). JSONL for texts, whatever the training format was: a TSV/CSV/fastText text may
/// hold characters those formats cannot carry back unchanged, a JSON string holds any.
public enum TextDatasetWriter {
    /// One `{"<textKey>": text, "<labelKey>": label}` object per line.
    public static func jsonl(_ records: [LabeledText], textKey: String, labelKey: String) -> [UInt8] {
        var out: [UInt8] = []
        for record in records {
            out.append(UInt8(ascii: "{"))
            appendJSONString(textKey, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(record.text, to: &out)
            out.append(UInt8(ascii: ","))
            appendJSONString(labelKey, to: &out)
            out.append(UInt8(ascii: ":"))
            appendJSONString(record.label, to: &out)
            out.append(contentsOf: Array("}\n".utf8))
        }
        return out
    }

    /// `token tag` lines, a blank line after each sentence, and a `-DOCSTART-` line before a
    /// sentence that starts a document (document context is a feature of the recognizer).
    public static func conll(_ sentences: [CoNLLSentence]) -> [UInt8] {
        var out: [UInt8] = []
        for sentence in sentences {
            if sentence.documentStart { out.append(contentsOf: Array("-DOCSTART- O\n\n".utf8)) }
            for (token, tag) in zip(sentence.tokens, sentence.tags) {
                out.append(contentsOf: Array(token.utf8))
                out.append(32)
                out.append(contentsOf: Array(tag.utf8))
                out.append(10)
            }
            out.append(10)
        }
        return out
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, the rest
    /// UTF-8 as is.
    static func appendJSONString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case 92: out.append(contentsOf: [92, 92])
            case 10: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 13: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 9: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<32:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
