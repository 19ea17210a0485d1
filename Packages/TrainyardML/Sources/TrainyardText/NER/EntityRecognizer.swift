/// A recognised entity in a text.
public struct Entity: Sendable, Equatable, Codable {
    /// The original substring, `text[start..<end]` in code points.
    public var text: String
    /// The entity type, e.g. `PER`.
    public var tag: String
    /// Confidence in [0, 1]: the mean forward-backward marginal of the entity's token labels.
    public var score: Double
    /// Code point offset of the first character.
    public var start: Int
    /// Code point offset after the last character (exclusive).
    public var end: Int

    public init(text: String, tag: String, score: Double, start: Int, end: Int) {
        self.text = text
        self.tag = tag
        self.score = score
        self.start = start
        self.end = end
    }
}

/// A loaded entity recognizer. Immutable and thread-safe: share one instance across requests.
public final class EntityRecognizer: Sendable {
    let model: CRFModel
    /// Entity types the model can produce, sorted.
    public let entityTypes: [String]

    /// Loads a model written by `EntityRecognition.train`.
    /// - Throws: `ModelFormatError` for a corrupt or foreign file.
    public init(model: [UInt8]) throws {
        let loaded = try CRFModel(bytes: model)
        self.model = loaded
        entityTypes = loaded.entityTypes
    }

    /// Tokenizes `text`, tags it and returns its entities with code point offsets.
    /// - Throws: `TextInputError` if the text is empty (or only whitespace) or longer than the
    ///   model's `max_text_length`.
    public func recognize(_ text: String) throws -> [Entity] {
        var scratch = CRFScratch()
        return try recognize(text, scratch: &scratch)
    }

    /// Recognises every text, in parallel; a text that fails yields its error.
    public func recognize(batch texts: [String]) -> [Result<[Entity], TextInputError>] {
        var out = [Result<[Entity], TextInputError>](repeating: .success([]), count: texts.count)
        out.withUnsafeMutableBufferPointer { buffer in
            let o = UnsafeSendable(buffer)
            Parallel.forEachChunk(count: texts.count, minimumPerWorker: 8) { _, range in
                var scratch = CRFScratch()
                for i in range {
                    do { o.value[i] = .success(try recognize(texts[i], scratch: &scratch)) }
                    catch let e as TextInputError { o.value[i] = .failure(e) }
                    catch { o.value[i] = .failure(TextInputError(.malformedLine, "\(error)")) }
                }
            }
        }
        return out
    }

    func recognize(_ text: String, scratch: inout CRFScratch) throws -> [Entity] {
        let scalars = Tokenizer.scalarValues(of: text)
        guard scalars.count <= model.maxTextLength else {
            throw TextInputError(.textTooLong, "text of \(scalars.count) characters is longer than max_text_length \(model.maxTextLength)")
        }
        var spans: [TokenSpan] = []
        scalars.withUnsafeBufferPointer { Tokenizer.spans(of: $0, into: &spans) }
        if spans.isEmpty { throw TextInputError(.emptyText, "empty text") }
        let sentence = TokenizedSentence(scalars: scalars, spans: spans)
        var hashes: [UInt64] = []
        var ends: [Int] = []
        NERFeatures.extractDocument([sentence][...], useContext: model.contextSentences > 0, attrs: &hashes, ends: &ends)
        var corpus = NERCorpus()
        var k = 0
        for end in ends {
            while k < end {
                let id = model.table.find(hashes[k])
                if id >= 0 { corpus.attrs.append(id) }
                k += 1
            }
            corpus.tokenStarts.append(corpus.attrs.count)
        }
        var path: [Int32] = []
        let n = spans.count
        model.viterbi(corpus, tokens: 0..<n, scratch: &scratch, into: &path)
        let tags = path.map { model.labels[Int($0)] }
        let chunks = EntityMetrics.chunks(tags)
        if chunks.isEmpty { return [] }
        // Emissions again (Viterbi consumed nothing, but marginals overwrite them in place).
        model.weights.withUnsafeBufferPointer { w in
            corpus.attrs.withUnsafeBufferPointer { attrs in
                corpus.tokenStarts.withUnsafeBufferPointer { starts in
                    scratch.emission.withUnsafeMutableBufferPointer { e in
                        CRF.emissions(layout: model.layoutView, weights: w, attrs: attrs, tokenStarts: starts, tokens: 0..<n, into: e)
                    }
                }
            }
        }
        model.marginals(n: n, scratch: &scratch)
        let L = model.L
        return chunks.map { c in
            var score = 0.0
            for t in c.start..<c.end { score += scratch.alpha[t * L + Int(path[t])] }
            let start = Int(spans[c.start].start), end = Int(spans[c.end - 1].end)
            var view = String.UnicodeScalarView()
            for i in start..<end { view.append(Unicode.Scalar(scalars[i])!) }
            return Entity(text: String(view), tag: c.type, score: min(max(score / Double(c.end - c.start), 0), 1),
                          start: start, end: end)
        }
    }

    /// Tags pre-tokenized sentences (one tag per token, in the model's scheme), in parallel.
    /// Consecutive sentences form documents of the model's `context_sentences` size, or
    /// split where `documentStarts` is true.
    public func tag(_ sentences: [[String]], documentStarts: [Bool]? = nil) -> [[String]] {
        let starts = documentStarts ?? [Bool](repeating: false, count: sentences.count)
        let hashed = HashedCorpus(sentences.map { TokenizedSentence(tokens: $0) },
                                  documents: HashedCorpus.documents(starts: starts, blockSize: model.contextSentences),
                                  useContext: model.contextSentences > 0)
        return model.decode(hashed.corpus(model.table, gold: []))
    }

    /// Entity-level precision/recall/F1 (fractions, conlleval-equivalent) and per-type scores on
    /// CoNLL data; gold tags may be IOB1, IOB2 or BIOES.
    public func evaluate(conll: [UInt8]) throws -> EvaluationReport {
        let sentences = try CoNLLReader.read(conll)
        let predicted = tag(sentences.map(\.tokens), documentStarts: sentences.map(\.documentStart))
        let m = EntityMetrics(truth: sentences.map(\.tags), predicted: predicted)
        return EvaluationReport(metrics: m.asDictionary, perType: m.perTypeDictionary, rows: sentences.count)
    }
}
