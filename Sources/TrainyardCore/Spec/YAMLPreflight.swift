import CYaml

/// Checks spec text with libyaml's event stream before anything builds a tree from it.
///
/// Yams resolves aliases while composing (and hashes mapping keys to find duplicates), so a
/// few lines of nested aliases (a "billion laughs" document) expand into gigabytes before
/// any check on the tree can run. Specs have no use for anchors, so they are refused here,
/// from the events alone, in time and memory linear in the text. The same pass bounds the
/// nesting depth (the tree walk that follows is recursive) and the number of nodes.
struct YAMLPreflight {
    /// Deepest nesting of mappings and lists a spec may use.
    static let maxDepth = 64
    /// Most nodes (scalars, lists, mappings) a spec may hold.
    static let maxNodes = 100_000

    enum Problem: Error, Equatable {
        case anchor(line: Int, column: Int)
        case alias(line: Int, column: Int)
        case tooDeep(line: Int, column: Int)
        case tooManyNodes(line: Int, column: Int)
        /// A syntax error; the composer reports it with its own wording.
        case syntax
    }

    /// Throws the first problem found, or returns when the text is safe to compose.
    static func check(_ text: String) throws(Problem) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw .syntax }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        let result: Problem? = bytes.withUnsafeMutableBufferPointer { buffer -> Problem? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var depth = 0, nodes = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return .syntax }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1, column = Int(event.start_mark.column) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_ALIAS_EVENT:
                    return .alias(line: line, column: column)
                case YAML_SCALAR_EVENT:
                    if event.data.scalar.anchor != nil { return .anchor(line: line, column: column) }
                    nodes += 1
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    if anchor != nil { return .anchor(line: line, column: column) }
                    nodes += 1
                    depth += 1
                    if depth > maxDepth { return .tooDeep(line: line, column: column) }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
                if nodes > maxNodes { return .tooManyNodes(line: line, column: column) }
            }
        }
        if let result { throw result }
    }
}
