#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The learned state of an entity recognizer: attribute table, sparse state weights,
/// transition/start/end scores (−∞ where the tag scheme forbids), labels.
struct CRFModel: Sendable {
    static let magic = "TNER"
    static let version: UInt32 = 1
    static let forbidden = -1e30

    var labels: [String]
    var scheme: TagScheme
    var table: AttributeTable
    var attrOffsets: [Int32]
    var stateLabels: [UInt8]
    var weights: [Float]
    var transitions: [Double]
    var start: [Double]
    var end: [Double]
    var maxTextLength: Int
    /// Document block size for document-level features (0 = off).
    var contextSentences: Int

    var L: Int { labels.count }

    /// Entity types, sorted.
    var entityTypes: [String] {
        Array(Set(labels.filter { $0 != "O" }.map { String($0.dropFirst(2)) })).sorted()
    }

    init(layout: CRFLayout, table: AttributeTable, theta: [Double], scheme: TagScheme, contextSentences: Int, maxTextLength: Int = 100_000) {
        self.contextSentences = contextSentences
        let L = layout.L
        labels = layout.labels
        self.scheme = scheme
        self.table = table
        attrOffsets = layout.attrOffsets
        stateLabels = layout.stateLabels
        weights = theta[0..<layout.stateCount].map { Float($0) }
        transitions = (0..<(L * L)).map { layout.allowed[$0] ? theta[layout.transitionBase + $0] : Self.forbidden }
        start = (0..<L).map { layout.allowedStart[$0] ? theta[layout.startBase + $0] : Self.forbidden }
        end = (0..<L).map { layout.allowedEnd[$0] ? theta[layout.endBase + $0] : Self.forbidden }
        self.maxTextLength = maxTextLength
    }

    /// Viterbi labels for token range `tokens` of `corpus`, as label indices.
    func viterbi(_ corpus: NERCorpus, tokens: Range<Int>, scratch: inout CRFScratch, into out: inout [Int32]) {
        let n = tokens.count
        guard n > 0 else { out.removeAll(); return }
        scratch.ensure(tokens: n, labels: L)
        weights.withUnsafeBufferPointer { w in
            corpus.attrs.withUnsafeBufferPointer { attrs in
                corpus.tokenStarts.withUnsafeBufferPointer { starts in
                    scratch.emission.withUnsafeMutableBufferPointer { e in
                        CRF.emissions(layout: layoutView, weights: w, attrs: attrs, tokenStarts: starts, tokens: tokens, into: e)
                    }
                }
            }
        }
        transitions.withUnsafeBufferPointer { tr in
            start.withUnsafeBufferPointer { st in
                end.withUnsafeBufferPointer { en in
                    CRF.viterbi(n: n, L: L, transitions: tr, start: st, end: en, scratch: &scratch, into: &out)
                }
            }
        }
    }

    /// Per-token marginals P(y_t = label) for the emissions left in `scratch` (call after
    /// `emissions`); overwrites the emissions. Returns them row-major n × L in `scratch.alpha`.
    func marginals(n: Int, scratch: inout CRFScratch) {
        let expT = transitions.map { $0 <= Self.forbidden ? 0 : exp($0) }
        let expStart = start.map { $0 <= Self.forbidden ? 0 : exp($0) }
        let expEnd = end.map { $0 <= Self.forbidden ? 0 : exp($0) }
        expT.withUnsafeBufferPointer { eT in
            expStart.withUnsafeBufferPointer { eS in
                expEnd.withUnsafeBufferPointer { eE in
                    _ = CRF.forwardBackward(n: n, L: L, expT: eT, expStart: eS, expEnd: eE, scratch: &scratch)
                }
            }
        }
    }

    /// Layout view for the shared emission routine (constraints are unused there).
    var layoutView: CRFLayout {
        CRFLayout(labels: labels, attrOffsets: attrOffsets, stateLabels: stateLabels, allowed: [], allowedStart: [], allowedEnd: [])
    }

    /// Tags of every sentence of `corpus`, decoded in parallel.
    func decode(_ corpus: NERCorpus) -> [[String]] {
        let count = corpus.sentenceCount
        var result = [[String]](repeating: [], count: count)
        result.withUnsafeMutableBufferPointer { buffer in
            let out = UnsafeSendable(buffer)
            Parallel.forEachChunk(count: count, minimumPerWorker: 32) { _, range in
                var scratch = CRFScratch()
                var path: [Int32] = []
                for s in range {
                    viterbi(corpus, tokens: corpus.sentenceStarts[s]..<corpus.sentenceStarts[s + 1], scratch: &scratch, into: &path)
                    out.value[s] = path.map { labels[Int($0)] }
                }
            }
        }
        return result
    }

    // MARK: Serialization

    func serialized() -> [UInt8] {
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(scheme.rawValue)
        w.write(maxTextLength)
        w.write(contextSentences)
        w.write(labels)
        let entries = table.entries()
        w.write(entries.count)
        for (key, _) in entries { w.write(key) }
        w.write(attrOffsets)
        w.write(stateLabels)
        w.write(weights)
        w.write(transitions)
        w.write(start)
        w.write(end)
        return w.bytes
    }

    init(bytes: [UInt8]) throws {
        var r = try BinaryReader(bytes, magic: Self.magic, maxVersion: Self.version)
        guard let scheme = TagScheme(rawValue: try r.readString()) else { throw ModelFormatError("unknown tag scheme") }
        self.scheme = scheme
        maxTextLength = try r.readInt()
        contextSentences = try r.readInt()
        labels = try r.readStrings()
        let count = try r.readInt()
        guard count >= 0, count <= bytes.count / 8 else { throw ModelFormatError("bad attribute count \(count)") }
        var table = AttributeTable(capacity: count)
        for i in 0..<count { table.set(try r.read(UInt64.self), Int32(i)) }
        self.table = table
        attrOffsets = try r.readInt32s()
        stateLabels = try r.readBytes()
        weights = try r.readFloats()
        transitions = try r.readDoubles()
        start = try r.readDoubles()
        end = try r.readDoubles()
        let L = labels.count
        guard L >= 1, attrOffsets.count == count + 1, attrOffsets.first == 0, Int(attrOffsets.last!) == stateLabels.count,
              weights.count == stateLabels.count, stateLabels.allSatisfy({ Int($0) < L }),
              transitions.count == L * L, start.count == L, end.count == L,
              zip(attrOffsets, attrOffsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw ModelFormatError("inconsistent entity recognizer model")
        }
    }
}
