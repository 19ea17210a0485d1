import Foundation
import TrainyardCore

/// The KServe V2 / Triton binary tensor data extension, the default of the reference client
/// (`tritonclient`: `binary_data=True`).
///
/// A request whose `Inference-Header-Content-Length` header is N has a JSON header of N bytes,
/// then the raw data of every input whose `parameters.binary_data_size` is set, in input order:
/// little-endian numbers, one byte per BOOL, and for BYTES each element as a 4-byte
/// little-endian length followed by its bytes. Outputs asked for with `parameters.binary_data:
/// true` (or all of them, with the request's `parameters.binary_data_output: true`) come back
/// the same way.
///
/// Every size in such a request is the client's word, so each is checked before anything is
/// read or sized by it: the header length against the body, each `binary_data_size` against
/// the shape × datatype and the bytes left, the shape against `limits.tensor_elements`, and
/// every byte after the JSON must belong to exactly one tensor.
///
/// ```swift
/// let (header, tail) = try V2BinaryTensors.split(body, headerLength: "212")
/// let request = try V2BinaryTensors.inlineInputs(header, tail: tail, maxElements: limits.tensorElements)
/// let rows = try Payloads.v2Rows(request, schema: model.schema)
/// ```
public enum V2BinaryTensors {
    /// The request and response header giving the JSON part's length in bytes.
    public static let headerName = "Inference-Header-Content-Length"

    static func bad(_ message: String) -> TrainyardError { TrainyardError(.invalidArgument, message) }

    /// Bytes per element of a fixed-size datatype; nil for BYTES (length-prefixed) and unknown names.
    static func elementSize(_ datatype: String) -> Int? {
        switch datatype {
        case "BOOL", "INT8", "UINT8": 1
        case "INT16", "UINT16", "FP16", "BF16": 2
        case "INT32", "UINT32", "FP32": 4
        case "INT64", "UINT64", "FP64": 8
        default: nil
        }
    }

    /// The JSON header and the binary part of a body whose header length is `headerLength`.
    public static func split(_ body: [UInt8], headerLength raw: String) throws(TrainyardError) -> (header: JSONValue, tail: ArraySlice<UInt8>) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard let length = Int(text), length >= 0 else {
            throw bad("the \(headerName) header \"\(clientEcho(raw))\" must be a non-negative integer (the JSON header's length in bytes)")
        }
        guard length <= body.count else {
            throw bad("the \(headerName) header says the JSON header has \(length) bytes, but the body has only \(body.count)")
        }
        guard length > 0 else { throw bad("the \(headerName) header is 0: the body must start with the JSON inference header") }
        let header = try FastJSON.parse(body[0..<length])
        return (header, body[length...])
    }

    /// The request with every binary input's data decoded from `tail` into its `data` array (so
    /// the rest of the V2 path sees one shape), and `binary_data_size` removed.
    public static func inlineInputs(_ request: JSONValue, tail: ArraySlice<UInt8>, maxElements: Int) throws(TrainyardError) -> JSONValue {
        guard case .object(var o) = request else { throw bad("the JSON inference header must be an object with \"inputs\"") }
        guard case .array(var inputs)? = o["inputs"] else {
            throw bad("\"inputs\" must be a non-empty array of tensors {\"name\", \"shape\", \"datatype\", \"data\" or parameters.binary_data_size}")
        }
        var offset = tail.startIndex
        for (i, input) in inputs.enumerated() {
            guard case .object(var tensor) = input, case .object(var parameters)? = tensor["parameters"],
                  let sizeValue = parameters["binary_data_size"] else { continue }
            let path = "inputs[\(i)]"
            guard case .int(let size) = sizeValue, size >= 0 else {
                throw bad("\"\(path).parameters.binary_data_size\" must be a non-negative integer (bytes)")
            }
            guard tensor["data"] == nil else { throw bad("\"\(path)\" has both \"data\" and parameters.binary_data_size; send one") }
            guard case .string(let datatype)? = tensor["datatype"] else { throw bad("\"\(path).datatype\" is required (BOOL, INT64, FP32, FP64, BYTES, …)") }
            guard case .array(let shapeValues)? = tensor["shape"] else { throw bad("\"\(path).shape\" is required (an array of integers)") }
            let shape = try shapeValues.map { (v) throws(TrainyardError) -> Int in
                guard case .int(let n) = v, n >= 0 else { throw bad("\"\(path).shape\" must contain non-negative integers") }
                return n
            }
            let count = try Payloads.elementCount(shape, path: path, limit: maxElements)
            let remaining = tail.endIndex - offset
            guard size <= remaining else {
                throw bad("\"\(path).parameters.binary_data_size\" is \(size) bytes, but only \(remaining) bytes of binary data are left in the body")
            }
            let bytes = tail[offset..<offset + size]
            offset += size
            let data: [JSONValue]
            if datatype == "BYTES" {
                data = try decodeBytes(bytes, count: count, path: path)
            } else if let width = elementSize(datatype) {
                // count ≤ limits.tensor_elements, so the product cannot overflow.
                guard size == count * width else {
                    throw bad("\"\(path).parameters.binary_data_size\" is \(size) bytes, but shape \(clientEcho("\(shape)")) of \(datatype) holds \(count) × \(width) = \(count * width) bytes")
                }
                data = try decodeFixed(bytes, datatype: datatype, width: width, path: path)
            } else {
                throw bad("\"\(path).datatype\" \"\(clientEcho(datatype))\" is not a V2 datatype (BOOL, INT8…INT64, UINT8…UINT64, FP16, BF16, FP32, FP64, BYTES)")
            }
            parameters["binary_data_size"] = nil
            tensor["parameters"] = parameters.isEmpty ? nil : .object(parameters)
            tensor["data"] = .array(data)
            inputs[i] = .object(tensor)
        }
        guard offset == tail.endIndex else {
            throw bad("the body has \(tail.endIndex - offset) bytes after the JSON header that no input's parameters.binary_data_size accounts for")
        }
        o["inputs"] = .array(inputs)
        return .object(o)
    }

    /// BYTES elements: each a 4-byte little-endian length, then that many bytes.
    static func decodeBytes(_ bytes: ArraySlice<UInt8>, count: Int, path: String) throws(TrainyardError) -> [JSONValue] {
        var data: [JSONValue] = []
        data.reserveCapacity(count)
        var at = bytes.startIndex
        for element in 0..<count {
            guard bytes.endIndex - at >= 4 else {
                throw bad("\"\(path)\": BYTES element \(element) of \(count) has no 4-byte length prefix (binary_data_size is \(bytes.count) bytes)")
            }
            let length = Int(readLittleEndian(bytes, at, width: 4))
            at += 4
            guard length <= bytes.endIndex - at else {
                throw bad("\"\(path)\": BYTES element \(element) says \(length) bytes, but only \(bytes.endIndex - at) are left of its binary_data_size")
            }
            data.append(.string(String(decoding: bytes[at..<at + length], as: UTF8.self)))
            at += length
        }
        guard at == bytes.endIndex else {
            throw bad("\"\(path)\": parameters.binary_data_size is \(bytes.count) bytes, but its \(count) BYTES elements take \(at - bytes.startIndex)")
        }
        return data
    }

    /// Little-endian numbers (and one byte per BOOL). NaN is a missing value (null, as in JSON);
    /// ±infinity is refused, as the JSON path refuses it.
    static func decodeFixed(_ bytes: ArraySlice<UInt8>, datatype: String, width: Int, path: String) throws(TrainyardError) -> [JSONValue] {
        var data: [JSONValue] = []
        data.reserveCapacity(bytes.count / width)
        var at = bytes.startIndex
        while at < bytes.endIndex {
            let raw = readLittleEndian(bytes, at, width: width)
            let value: JSONValue
            switch datatype {
            case "BOOL": value = .bool(raw != 0)
            case "INT8": value = .int(Int(Int8(truncatingIfNeeded: raw)))
            case "INT16": value = .int(Int(Int16(truncatingIfNeeded: raw)))
            case "INT32": value = .int(Int(Int32(truncatingIfNeeded: raw)))
            case "INT64": value = .int(Int(Int64(bitPattern: raw)))
            case "UINT64": value = raw <= UInt64(Int.max) ? .int(Int(raw)) : .double(Double(raw))
            case "UINT8", "UINT16", "UINT32": value = .int(Int(raw))
            default:
                let d: Double
                switch datatype {
                case "FP16": d = Double(halfToFloat(UInt16(truncatingIfNeeded: raw)))
                case "BF16": d = Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw) << 16))
                case "FP32": d = Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
                default: d = Double(bitPattern: raw)
                }
                if d.isNaN { value = .null } else if d.isInfinite {
                    throw bad("\"\(path)\": element \((at - bytes.startIndex) / width) is \(d > 0 ? "" : "-")infinity; send a finite number (NaN for a missing value)")
                } else { value = .double(d) }
            }
            data.append(value)
            at += width
        }
        return data
    }

    static func readLittleEndian(_ bytes: ArraySlice<UInt8>, _ at: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in 0..<width { value |= UInt64(bytes[at + k]) << (8 * UInt64(k)) }
        return value
    }

    /// IEEE 754 half precision to single (no dependence on the platform's Float16).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }

    // MARK: Outputs

    /// The outputs the request asked for (`outputs[].name`; all when it names none), each in
    /// binary when asked (`outputs[].parameters.binary_data`, else the request's
    /// `parameters.binary_data_output`): its `data` moved to the returned tail and its size put
    /// in `parameters.binary_data_size`. An empty tail means a plain JSON answer.
    ///
    /// - Throws: 400 for a requested output the model does not produce, naming those it does.
    public static func selectOutputs(_ outputs: [JSONValue], request: JSONValue) throws(TrainyardError) -> (outputs: [JSONValue], tail: [UInt8], binary: Bool) {
        var allBinary = false
        if case .bool(let b)? = request["parameters"]?["binary_data_output"] { allBinary = b }
        var wanted: [(name: String, binary: Bool)]?
        if let requested = request["outputs"] {
            guard case .array(let list) = requested else { throw bad("\"outputs\" must be an array of {\"name\", \"parameters\"}") }
            wanted = try list.enumerated().map { (i, item) throws(TrainyardError) -> (String, Bool) in
                guard case .string(let name)? = item["name"] else { throw bad("\"outputs[\(i)].name\" is required (a string)") }
                var binary = allBinary
                if let flag = item["parameters"]?["binary_data"] {
                    guard case .bool(let b) = flag else { throw bad("\"outputs[\(i)].parameters.binary_data\" must be true or false") }
                    binary = b
                }
                return (name, binary)
            }
        }
        let produced = outputs.compactMap { $0["name"]?.stringValue }
        let selection: [(tensor: JSONValue, binary: Bool)]
        if let wanted, !wanted.isEmpty {
            selection = try wanted.map { (w) throws(TrainyardError) -> (JSONValue, Bool) in
                guard let tensor = outputs.first(where: { $0["name"]?.stringValue == w.name }) else {
                    throw bad("the model has no output \"\(clientEcho(w.name))\"; its outputs are \(produced.joined(separator: ", "))")
                }
                return (tensor, w.binary)
            }
        } else {
            selection = outputs.map { ($0, allBinary) }
        }
        var tail: [UInt8] = []
        var anyBinary = false
        let result = selection.map { (tensor, binary) -> JSONValue in
            guard binary, case .object(var t) = tensor, case .string(let datatype)? = t["datatype"], case .array(let data)? = t["data"] else { return tensor }
            anyBinary = true
            let start = tail.count
            encode(data, datatype: datatype, into: &tail)
            var parameters = t["parameters"]?.objectValue ?? [:]
            parameters["binary_data_size"] = .int(tail.count - start)
            t["parameters"] = .object(parameters)
            t["data"] = nil
            return .object(t)
        }
        return (result, tail, anyBinary)
    }

    /// Output data in the extension's layout (the server's outputs are FP64 and BYTES; a missing
    /// number is NaN, a missing string empty, a non-string BYTES element its JSON text).
    static func encode(_ data: [JSONValue], datatype: String, into out: inout [UInt8]) {
        func append(_ value: UInt64, width: Int) {
            for k in 0..<width { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k)))) }
        }
        for element in data {
            switch datatype {
            case "BYTES":
                let bytes: [UInt8]
                switch element {
                case .string(let s): bytes = Array(s.utf8)
                case .null: bytes = []
                default: bytes = FastJSON.serialize(element)
                }
                append(UInt64(bytes.count), width: 4)
                out += bytes
            case "FP32":
                append(UInt64(Float(element.doubleValue ?? .nan).bitPattern), width: 4)
            case "INT64":
                append(UInt64(bitPattern: Int64(element.doubleValue.flatMap { Int(exactly: $0.rounded()) } ?? 0)), width: 8)
            case "BOOL":
                if case .bool(true) = element { out.append(1) } else { out.append(0) }
            default:
                append((element.doubleValue ?? .nan).bitPattern, width: 8)
            }
        }
    }
}
