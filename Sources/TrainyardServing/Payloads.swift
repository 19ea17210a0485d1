import Foundation
import TrainyardCore

/// Turns each protocol's request body into rows (one JSON value per instance) and answers back
/// into each protocol's shape. Pure functions: every malformed request is a 400 naming the
/// offending key.
public enum Payloads {
    static func bad(_ message: String) -> TrainyardError { TrainyardError(.invalidArgument, message) }

    /// Native: `{"inputs": [...]}` or `{"instances": [...]}` (rows), or `{"inputs": {"col": [...]}}` (columns).
    public static func nativeRows(_ body: JSONValue) throws(TrainyardError) -> [JSONValue] {
        guard case .object(let o) = body else {
            if case .array(let rows) = body { return rows }
            throw bad("the body must be a JSON object with \"inputs\" or \"instances\"")
        }
        if let inputs = o["inputs"] { return try rowsOrColumns(inputs, key: "inputs") }
        if let instances = o["instances"] { return try rowsOrColumns(instances, key: "instances") }
        throw bad("the body must have \"inputs\" or \"instances\" (an array of rows); got keys \(clientEcho(o.keys.sorted().joined(separator: ", ")))")
    }

    /// TensorFlow Serving REST: `instances` (row format) or `inputs` (columnar format).
    /// - Returns: the rows, and whether the request was columnar (answered with `outputs`).
    public static func tfServingRows(_ body: JSONValue) throws(TrainyardError) -> (rows: [JSONValue], columnar: Bool) {
        guard case .object(let o) = body else { throw bad("the body must be a JSON object with \"instances\" or \"inputs\"") }
        if o["instances"] != nil && o["inputs"] != nil { throw bad("use either \"instances\" (row format) or \"inputs\" (columnar format), not both") }
        if let instances = o["instances"] {
            guard case .array(let rows) = instances else { throw bad("\"instances\" must be an array (one element per instance)") }
            return (rows, false)
        }
        if let inputs = o["inputs"] { return (try rowsOrColumns(inputs, key: "inputs"), true) }
        throw bad("the body must have \"instances\" (row format) or \"inputs\" (columnar format)")
    }

    /// MLflow scoring server JSON: `dataframe_split`, `dataframe_records`, `instances`, `inputs`.
    public static func mlflowRows(_ body: JSONValue) throws(TrainyardError) -> [JSONValue] {
        guard case .object(let o) = body else {
            throw bad("the body must be a JSON object with one of dataframe_split, dataframe_records, instances, inputs")
        }
        let keys = ["dataframe_split", "dataframe_records", "instances", "inputs"].filter { o[$0] != nil }
        guard keys.count == 1 else {
            throw bad(keys.isEmpty ? "the body must have one of dataframe_split, dataframe_records, instances, inputs; got keys \(clientEcho(o.keys.sorted().joined(separator: ", ")))"
                                   : "the body has \(keys.joined(separator: " and ")); use exactly one")
        }
        switch keys[0] {
        case "dataframe_split":
            guard case .object(let split)? = o["dataframe_split"] else { throw bad("\"dataframe_split\" must be an object with \"columns\" and \"data\"") }
            guard case .array(let data)? = split["data"] else { throw bad("\"dataframe_split.data\" must be an array of rows") }
            guard let columnsValue = split["columns"] else { return data }
            guard case .array(let columnValues) = columnsValue else { throw bad("\"dataframe_split.columns\" must be an array of column names") }
            let columns = try columnValues.enumerated().map { (i, c) throws(TrainyardError) -> String in
                guard case .string(let s) = c else { throw bad("\"dataframe_split.columns[\(i)]\" must be a string") }
                return s
            }
            return try data.enumerated().map { (i, row) throws(TrainyardError) -> JSONValue in
                guard case .array(let values) = row else { throw bad("\"dataframe_split.data[\(i)]\" must be an array of \(columns.count) values") }
                guard values.count == columns.count else {
                    throw bad("\"dataframe_split.data[\(i)]\" has \(values.count) values for \(columns.count) columns")
                }
                return .object(Dictionary(zip(columns, values), uniquingKeysWith: { a, _ in a }))
            }
        case "dataframe_records":
            guard case .array(let rows)? = o["dataframe_records"] else { throw bad("\"dataframe_records\" must be an array of objects") }
            return rows
        case "instances":
            guard case .array(let rows)? = o["instances"] else { throw bad("\"instances\" must be an array") }
            return rows
        default:
            return try rowsOrColumns(o["inputs"]!, key: "inputs")
        }
    }

    /// An array of rows, or an object of equally long columns.
    static func rowsOrColumns(_ value: JSONValue, key: String) throws(TrainyardError) -> [JSONValue] {
        switch value {
        case .array(let rows): return rows
        case .object(let columns):
            var count: Int?
            var names: [String] = []
            var arrays: [[JSONValue]] = []
            for (name, column) in columns.sorted(by: { $0.key < $1.key }) {
                guard case .array(let values) = column else { throw bad("\"\(key).\(clientEcho(name))\" must be an array (one value per instance)") }
                if let c = count, c != values.count {
                    throw bad("the columns of \"\(key)\" differ in length (\(clientEcho(names[0])) has \(c), \(clientEcho(name)) has \(values.count))")
                }
                count = values.count
                names.append(name)
                arrays.append(values)
            }
            return (0..<(count ?? 0)).map { i in .object(Dictionary(uniqueKeysWithValues: zip(names, arrays.map { $0[i] }))) }
        default:
            throw bad("\"\(key)\" must be an array of rows or an object of columns")
        }
    }

    /// CSV with a header row: one object per line; numbers parsed, empty fields null.
    public static func csvRows(_ data: some Collection<UInt8>) throws(TrainyardError) -> [JSONValue] {
        var records = try parseCSV(Array(data))
        guard !records.isEmpty else { throw bad("the CSV body is empty; expected a header line and rows") }
        let header = records.removeFirst()
        var rows: [JSONValue] = []
        for (i, fields) in records.enumerated() {
            if fields.count == 1 && fields[0].isEmpty { continue }
            guard fields.count == header.count else {
                throw bad("CSV line \(i + 2) has \(fields.count) fields; the header has \(header.count)")
            }
            var o: [String: JSONValue] = [:]
            for (name, field) in zip(header, fields) { o[name] = scalar(field) }
            rows.append(.object(o))
        }
        return rows
    }

    /// CSV for a model with named `columns` (SageMaker's default is header-less, columns in the
    /// model's order): the first line is a header only when it names exactly those columns (in
    /// any order); otherwise every line is a row of values in the model's column order.
    public static func csvRows(_ data: some Collection<UInt8>, columns: [String]) throws(TrainyardError) -> [JSONValue] {
        let records = try parseCSV(Array(data))
        guard let first = records.first else { throw bad("the CSV body is empty; expected rows of \(columns.count) values (\(columnList(columns)))") }
        let names = first.map { $0.trimmingCharacters(in: .whitespaces) }
        let hasHeader = names.count == columns.count && Set(names) == Set(columns)
        let header = hasHeader ? names : columns
        var rows: [JSONValue] = []
        for (i, fields) in records.enumerated() where !(hasHeader && i == 0) {
            if fields.count == 1 && fields[0].isEmpty { continue }
            guard fields.count == header.count else {
                throw bad(hasHeader ? "CSV line \(i + 1) has \(fields.count) fields; the header has \(header.count)"
                                    : "CSV line \(i + 1) has \(fields.count) fields; the model takes \(columns.count) columns in this order: \(columnList(columns)) (a header line, if sent, must name exactly these columns)")
            }
            var o: [String: JSONValue] = [:]
            for (name, field) in zip(header, fields) { o[name] = scalar(field) }
            rows.append(.object(o))
        }
        return rows
    }

    static func columnList(_ columns: [String]) -> String {
        let shown = columns.prefix(20).map { clientEcho($0, limit: 40) }.joined(separator: ", ")
        return columns.count > 20 ? shown + ", … (\(columns.count) in all)" : shown
    }

    static func scalar(_ field: String) -> JSONValue {
        let t = field.trimmingCharacters(in: .whitespaces)
        if t.isEmpty || t == "NA" || t == "NaN" || t == "null" { return .null }
        if let i = Int(t) { return .int(i) }
        if let d = Double(t), d.isFinite { return .double(d) }
        return .string(field)
    }

    /// RFC 4180 fields (quotes, doubled quotes, CRLF).
    static func parseCSV(_ bytes: [UInt8]) throws(TrainyardError) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var quoted = false, i = 0, atStart = true
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == quote {
                    if i + 1 < bytes.count && bytes[i + 1] == quote { field.append(quote); i += 2; continue }
                    quoted = false
                } else { field.append(b) }
                i += 1
                continue
            }
            switch b {
            case quote where field.isEmpty: quoted = true
            case comma: row.append(String(decoding: field, as: UTF8.self)); field = []
            case lf:
                row.append(String(decoding: field, as: UTF8.self)); field = []
                rows.append(row); row = []
            case cr: break
            default: field.append(b)
            }
            atStart = false
            i += 1
        }
        if quoted { throw bad("the CSV body ends inside a quoted field") }
        if !field.isEmpty || !row.isEmpty { row.append(String(decoding: field, as: UTF8.self)); rows.append(row) }
        _ = atStart
        return rows
    }

    // MARK: KServe V2 (Open Inference Protocol)

    /// Rows from a V2 inference request: `{"inputs": [{"name", "shape", "datatype", "data"}]}`.
    ///
    /// Tabular models take one tensor per column (shape `[N]` or `[N, 1]`), or one tensor of shape
    /// `[N, F]` with the columns in model order; text models one `BYTES` tensor of shape `[N]`.
    ///
    /// - Parameter maxElements: `limits.tensor_elements`: a shape holding more is a 400 (shapes are
    ///   client numbers: their product is computed overflow-checked, before anything is sized by it).
    public static func v2Rows(_ body: JSONValue, schema: InputSchema,
                              maxElements: Int = ResourceLimits().tensorElements) throws(TrainyardError) -> [JSONValue] {
        guard case .object(let o) = body else { throw bad("the body must be a JSON object with \"inputs\"") }
        guard case .array(let tensors)? = o["inputs"], !tensors.isEmpty else {
            throw bad("\"inputs\" must be a non-empty array of tensors {\"name\", \"shape\", \"datatype\", \"data\"}")
        }
        var decoded: [(name: String, shape: [Int], data: [JSONValue])] = []
        for (i, tensor) in tensors.enumerated() {
            let path = "inputs[\(i)]"
            guard case .object(let t) = tensor else { throw bad("\"\(path)\" must be a tensor object") }
            guard case .string(let name)? = t["name"] else { throw bad("\"\(path).name\" is required (a string)") }
            guard name.utf8.count <= 1024 else { throw bad("\"\(path).name\" \"\(clientEcho(name))\" is longer than 1024 bytes") }
            guard case .array(let shapeValues)? = t["shape"] else { throw bad("\"\(path).shape\" is required (an array of integers)") }
            let shape = try shapeValues.map { (v) throws(TrainyardError) -> Int in
                guard case .int(let n) = v, n >= 0 else { throw bad("\"\(path).shape\" must contain non-negative integers") }
                return n
            }
            guard case .string(let datatype)? = t["datatype"] else { throw bad("\"\(path).datatype\" is required (BOOL, INT64, FP32, FP64, BYTES, …)") }
            guard let data = t["data"] else { throw bad("\"\(path).data\" is required") }
            let expected = try elementCount(shape, path: path, limit: maxElements)
            let flat = flatten(data)
            guard flat.count == expected else {
                throw bad("\"\(path)\": shape \(clientEcho("\(shape)")) holds \(expected) elements but data has \(flat.count)")
            }
            try checkDatatype(datatype, flat, path: path)
            decoded.append((name, shape, flat))
        }
        switch schema {
        case .text:
            guard decoded.count == 1 else { throw bad("a text model takes one BYTES tensor; got \(decoded.count) tensors") }
            return decoded[0].data
        case .tabular(let columns, _):
            if decoded.count == 1, decoded[0].shape.count == 2, decoded[0].shape[1] == columns.count, columns.count > 1 || !columns.contains(where: { $0.name == decoded[0].name }) {
                let width = decoded[0].shape[1]
                return stride(from: 0, to: decoded[0].data.count, by: max(1, width)).map { .array(Array(decoded[0].data[$0..<$0 + width])) }
            }
            return try namedColumns(decoded)
        case .any:
            if decoded.count == 1 {
                let t = decoded[0]
                if t.shape.count <= 1 { return t.data }
                let width = t.shape.dropFirst().reduce(1, *)
                return stride(from: 0, to: t.data.count, by: max(1, width)).map { .array(Array(t.data[$0..<$0 + width])) }
            }
            return try namedColumns(decoded)
        }
    }

    /// How many elements `shape` holds, refusing a shape whose non-zero dimensions multiply past
    /// `limit`. Bounding that product (not just the whole one, which a zero dimension makes 0)
    /// bounds every partial product taken later (row widths), so none can overflow.
    static func elementCount(_ shape: [Int], path: String, limit: Int) throws(TrainyardError) -> Int {
        var product = 1
        for dimension in shape where dimension > 0 {
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow, next <= limit else {
                throw bad("\"\(path).shape\" \(clientEcho("\(shape)")) holds more than \(limit) elements, the server's limit (limits.tensor_elements)")
            }
            product = next
        }
        return shape.contains(0) ? 0 : product
    }

    private static func namedColumns(_ tensors: [(name: String, shape: [Int], data: [JSONValue])]) throws(TrainyardError) -> [JSONValue] {
        let n = tensors[0].shape.first ?? tensors[0].data.count
        for t in tensors {
            guard t.data.count == n, t.shape.first == n || t.shape.isEmpty else {
                throw bad("tensor \"\(clientEcho(t.name))\" has shape \(clientEcho("\(t.shape)")); every column tensor must have shape [\(n)] or [\(n), 1]")
            }
        }
        return (0..<n).map { i in .object(Dictionary(tensors.map { ($0.name, $0.data[i]) }, uniquingKeysWith: { a, _ in a })) }
    }

    private static func flatten(_ v: JSONValue) -> [JSONValue] {
        guard case .array(let items) = v else { return [v] }
        if !items.contains(where: { if case .array = $0 { return true } else { return false } }) { return items }
        return items.flatMap(flatten)
    }

    private static func checkDatatype(_ datatype: String, _ data: [JSONValue], path: String) throws(TrainyardError) {
        let numeric = ["INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "BF16", "FP32", "FP64"]
        switch datatype {
        case "BYTES":
            if let i = data.firstIndex(where: { if case .string = $0 { return false } else { return true } }) {
                throw bad("\"\(path).data[\(i)]\": a BYTES tensor holds strings")
            }
        case "BOOL":
            if let i = data.firstIndex(where: { if case .bool = $0 { return false } else { return true } }) {
                throw bad("\"\(path).data[\(i)]\": a BOOL tensor holds booleans")
            }
        case _ where numeric.contains(datatype):
            if let i = data.firstIndex(where: { if case .null = $0 { return false }; return $0.doubleValue == nil }) {
                throw bad("\"\(path).data[\(i)]\": a \(datatype) tensor holds numbers")
            }
        default:
            throw bad("\"\(path).datatype\" \"\(clientEcho(datatype))\" is not a V2 datatype (BOOL, INT8…INT64, UINT8…UINT64, FP16, BF16, FP32, FP64, BYTES)")
        }
    }

    /// V2 output tensors for `outputs` (one per row) of `model`.
    public static func v2Outputs(_ outputs: [JSONValue], model: ServedModel) -> [JSONValue] {
        let n = outputs.count
        func tensor(_ name: String, _ datatype: String, _ shape: [Int], _ data: [JSONValue], parameters: [String: JSONValue]? = nil) -> JSONValue {
            var t: [String: JSONValue] = ["name": .string(name), "datatype": .string(datatype), "shape": .array(shape.map { .int($0) }), "data": .array(data)]
            if let parameters { t["parameters"] = .object(parameters) }
            return .object(t)
        }
        func probabilities() -> JSONValue? {
            guard let first = outputs.first?["probabilities"]?.objectValue else { return nil }
            let classes = first.keys.sorted()
            let data = outputs.flatMap { o in classes.map { o["probabilities"]?[$0] ?? .null } }
            return tensor("probabilities", "FP64", [n, classes.count], data, parameters: ["classes": .array(classes.map { .string($0) })])
        }
        switch model.task {
        case .tabularRegression:
            return [tensor("prediction", "FP64", [n], outputs.map { $0["prediction"] ?? .null })]
        case .tabularClassification, .textClassification:
            var result = [tensor("label", "BYTES", [n], outputs.map { $0["label"] ?? .null })]
            if outputs.first?["score"] != nil { result.append(tensor("score", "FP64", [n], outputs.map { $0["score"] ?? .null })) }
            if let p = probabilities() { result.append(p) }
            return result
        case .ner:
            return [tensor("entities", "BYTES", [n], outputs.map { .string(String(decoding: FastJSON.serialize($0), as: UTF8.self)) })]
        case .command:
            if outputs.allSatisfy({ $0.doubleValue != nil }) { return [tensor("predictions", "FP64", [n], outputs)] }
            if outputs.allSatisfy({ $0.stringValue != nil }) { return [tensor("predictions", "BYTES", [n], outputs)] }
            return [tensor("predictions", "BYTES", [n], outputs.map { .string(String(decoding: FastJSON.serialize($0), as: UTF8.self)) })]
        }
    }

    /// V2 tensor metadata of a version's inputs and outputs.
    public static func v2Metadata(_ version: ModelVersion) -> (inputs: [JSONValue], outputs: [JSONValue]) {
        func meta(_ name: String, _ datatype: String, _ shape: [Int]) -> JSONValue {
            .object(["name": .string(name), "datatype": .string(datatype), "shape": .array(shape.map { .int($0) })])
        }
        let inputs: [JSONValue]
        switch InputSchema(manifest: version.manifest) {
        case .tabular(let columns, _): inputs = columns.map { meta($0.name, $0.kind == "categorical" ? "BYTES" : "FP64", [-1]) }
        case .text: inputs = [meta("text", "BYTES", [-1])]
        case .any: inputs = [meta("input", "BYTES", [-1])]
        }
        let outputs: [JSONValue]
        switch version.manifest.task {
        case .tabularRegression: outputs = [meta("prediction", "FP64", [-1])]
        case .tabularClassification: outputs = [meta("label", "BYTES", [-1]), meta("probabilities", "FP64", [-1, -1])]
        case .textClassification: outputs = [meta("label", "BYTES", [-1]), meta("score", "FP64", [-1]), meta("probabilities", "FP64", [-1, -1])]
        case .ner: outputs = [meta("entities", "BYTES", [-1])]
        case .command: outputs = [meta("predictions", "BYTES", [-1])]
        }
        return (inputs, outputs)
    }
}
