import Foundation
import Testing
import TrainyardCore
@testable import TrainyardServing

/// The KServe V2 binary tensor extension's decoding and encoding, on hand-built bytes.
@Suite struct V2BinaryTensorsTests {
    static func items(_ value: JSONValue?) -> [JSONValue] { if case .array(let a)? = value { return a } else { return [] } }
    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
    static func bytesElements(_ strings: [String]) -> [UInt8] { strings.flatMap { le(UInt32($0.utf8.count)) + Array($0.utf8) } }

    /// A body: the JSON header (inputs given `binary_data_size` from their bytes), then the bytes.
    static func body(_ inputs: [(name: String, datatype: String, shape: [Int], bytes: [UInt8])], declaredSizes: [Int]? = nil) -> (body: [UInt8], headerLength: String) {
        let tensors: [JSONValue] = inputs.enumerated().map { i, t in
            .object(["name": .string(t.name), "datatype": .string(t.datatype), "shape": .array(t.shape.map { .int($0) }),
                     "parameters": .object(["binary_data_size": .int(declaredSizes?[i] ?? t.bytes.count)])])
        }
        let header = FastJSON.serialize(.object(["inputs": .array(tensors)]))
        return (header + inputs.flatMap(\.bytes), String(header.count))
    }

    static func decode(_ built: (body: [UInt8], headerLength: String), maxElements: Int = 1000) throws -> JSONValue {
        let (header, tail) = try V2BinaryTensors.split(built.body, headerLength: built.headerLength)
        return try V2BinaryTensors.inlineInputs(header, tail: tail, maxElements: maxElements)
    }

    static func message(_ work: () throws -> Void) -> String {
        do { try work(); return "no error" } catch let error as TrainyardError {
            #expect(error.code == .invalidArgument)
            return error.message
        } catch { return "\(error)" }
    }

    @Test func everyDatatypeDecodesLittleEndian() throws {
        let half1_5: UInt16 = 0x3E00, halfMinus2: UInt16 = 0xC000
        let inputs: [(String, String, [Int], [UInt8])] = [
            ("f32", "FP32", [2], Self.le(Float(1.5).bitPattern) + Self.le(Float(-2).bitPattern)),
            ("f64", "FP64", [1], Self.le(Double(0.25).bitPattern)),
            ("f16", "FP16", [2], Self.le(half1_5) + Self.le(halfMinus2)),
            ("bf16", "BF16", [1], Self.le(UInt16(Float(3).bitPattern >> 16))),
            ("i8", "INT8", [1], [0xFF]),
            ("i16", "INT16", [1], Self.le(Int16(-300))),
            ("i32", "INT32", [1], Self.le(Int32(70_000))),
            ("i64", "INT64", [1, 1], Self.le(Int64(-5))),
            ("u16", "UINT16", [1], Self.le(UInt16(65_535))),
            ("u64", "UINT64", [1], Self.le(UInt64.max)),
            ("b", "BOOL", [2], [1, 0]),
            ("s", "BYTES", [2], Self.bytesElements(["héllo", ""])),
            ("nan", "FP32", [1], Self.le(Float.nan.bitPattern)),
        ]
        let request = try Self.decode(Self.body(inputs))
        let data: [String: JSONValue?] = Dictionary(uniqueKeysWithValues: Self.items(request["inputs"]).map { ($0["name"]?.stringValue ?? "", $0["data"]) })
        #expect(data["f32"] == .array([.double(1.5), .double(-2)]))
        #expect(data["f64"] == .array([.double(0.25)]))
        #expect(data["f16"] == .array([.double(1.5), .double(-2)]))
        #expect(data["bf16"] == .array([.double(3)]))
        #expect(data["i8"] == .array([.int(-1)]))
        #expect(data["i16"] == .array([.int(-300)]))
        #expect(data["i32"] == .array([.int(70_000)]))
        #expect(data["i64"] == .array([.int(-5)]))
        #expect(data["u16"] == .array([.int(65_535)]))
        #expect(data["u64"] == .array([.double(Double(UInt64.max))]))
        #expect(data["b"] == .array([.bool(true), .bool(false)]))
        #expect(data["s"] == .array([.string("héllo"), .string("")]))
        #expect(data["nan"] == .array([.null]), "NaN is a missing value, as null is in JSON")
        // binary_data_size is consumed; the decoded request is an ordinary V2 request.
        #expect(Self.items(request["inputs"]).first?["parameters"] == nil)
    }

    @Test func jsonAndBinaryInputsMix() throws {
        let binary = Self.body([("a", "FP64", [2], Self.le(Double(1).bitPattern) + Self.le(Double(2).bitPattern))])
        var header = try FastJSON.parse(binary.body[0..<Int(binary.headerLength)!])
        guard case .object(var o) = header, case .array(var inputs)? = o["inputs"] else { Issue.record("bad header"); return }
        inputs.insert(.object(["name": .string("c"), "datatype": .string("BYTES"), "shape": .array([.int(2)]), "data": .array([.string("u"), .string("v")])]), at: 0)
        o["inputs"] = .array(inputs)
        header = .object(o)
        let headerBytes = FastJSON.serialize(header)
        let body = headerBytes + binary.body[Int(binary.headerLength)!...]
        let rows = try Payloads.v2Rows(try Self.decode((body, String(headerBytes.count))), schema: .any)
        #expect(rows == [.object(["a": .double(1), "c": .string("u")]), .object(["a": .double(2), "c": .string("v")])])
    }

    @Test func everySizeIsChecked() throws {
        let two = Self.le(Double(1).bitPattern) + Self.le(Double(2).bitPattern)
        // The header length: not a number, beyond the body, zero.
        var built = Self.body([("a", "FP64", [2], two)])
        #expect(Self.message { _ = try Self.decode((built.body, "12x")) }.contains("Inference-Header-Content-Length"))
        #expect(Self.message { _ = try Self.decode((built.body, "-1")) }.contains("non-negative integer"))
        #expect(Self.message { _ = try Self.decode((built.body, String(built.body.count + 1))) }.contains("the body has only \(built.body.count)"))
        #expect(Self.message { _ = try Self.decode((built.body, "0")) }.contains("JSON inference header"))
        // A header length that cuts the JSON short is a JSON error, not a crash.
        #expect(Self.message { _ = try Self.decode((built.body, "5")) } != "no error")
        // binary_data_size disagreeing with shape × datatype.
        built = Self.body([("a", "FP64", [3], two)])
        #expect(Self.message { _ = try Self.decode(built) }.contains("holds 3 × 8 = 24 bytes"))
        // binary_data_size beyond the bytes left.
        built = Self.body([("a", "FP64", [2], two)], declaredSizes: [24])
        #expect(Self.message { _ = try Self.decode(built) }.contains("only 16 bytes of binary data are left"))
        // Bytes no input accounts for.
        built = Self.body([("a", "FP64", [2], two)], declaredSizes: [16])
        built.body += [0, 0, 0]
        #expect(Self.message { _ = try Self.decode(built) }.contains("3 bytes after the JSON header"))
        // A shape past limits.tensor_elements, and one whose product overflows Int.
        built = Self.body([("a", "FP64", [2000], two)])
        #expect(Self.message { _ = try Self.decode(built, maxElements: 1000) }.contains("limits.tensor_elements"))
        built = Self.body([("a", "FP64", [Int.max, 4], two)])
        #expect(Self.message { _ = try Self.decode(built, maxElements: .max) }.contains("limits.tensor_elements"))
        // A negative or non-integer binary_data_size.
        built = Self.body([("a", "FP64", [2], two)], declaredSizes: [-16])
        #expect(Self.message { _ = try Self.decode(built) }.contains("binary_data_size\" must be a non-negative integer"))
        // An unknown datatype.
        built = Self.body([("a", "FP128", [1], two)])
        #expect(Self.message { _ = try Self.decode(built) }.contains("not a V2 datatype"))
        // ±infinity.
        built = Self.body([("a", "FP32", [1], Self.le(Float.infinity.bitPattern))])
        #expect(Self.message { _ = try Self.decode(built) }.contains("infinity"))
    }

    @Test func bytesLengthPrefixesAreChecked() throws {
        // An element claiming more bytes than are left.
        var built = Self.body([("s", "BYTES", [1], Self.le(UInt32(100)) + Array("abc".utf8))])
        #expect(Self.message { _ = try Self.decode(built) }.contains("says 100 bytes, but only 3 are left"))
        // A huge length prefix (no allocation by it).
        built = Self.body([("s", "BYTES", [1], Self.le(UInt32.max))])
        #expect(Self.message { _ = try Self.decode(built) }.contains("says \(UInt32.max) bytes"))
        // Fewer elements than the shape, and a truncated prefix.
        built = Self.body([("s", "BYTES", [2], Self.bytesElements(["x"]))])
        #expect(Self.message { _ = try Self.decode(built) }.contains("element 1 of 2 has no 4-byte length prefix"))
        // More bytes than the shape's elements take.
        built = Self.body([("s", "BYTES", [1], Self.bytesElements(["x", "y"]))])
        #expect(Self.message { _ = try Self.decode(built) }.contains("its 1 BYTES elements take 5"))
    }

    @Test func outputsAreSelectedAndEncoded() throws {
        let outputs: [JSONValue] = [
            .object(["name": .string("label"), "datatype": .string("BYTES"), "shape": .array([.int(2)]), "data": .array([.string("pos"), .null])]),
            .object(["name": .string("score"), "datatype": .string("FP64"), "shape": .array([.int(2)]), "data": .array([.double(0.75), .int(1)])]),
        ]
        // Nothing asked: JSON, every output.
        let plain = try V2BinaryTensors.selectOutputs(outputs, request: .object([:]))
        #expect(!plain.binary && plain.outputs == outputs && plain.tail.isEmpty)
        // binary_data_output: every output in binary, in order, sizes in parameters.
        let all = try V2BinaryTensors.selectOutputs(outputs, request: .object(["parameters": .object(["binary_data_output": .bool(true)])]))
        #expect(all.binary)
        #expect(all.outputs[0]["data"] == nil && all.outputs[0]["parameters"]?["binary_data_size"] == .int(4 + 3 + 4))
        #expect(all.outputs[1]["parameters"]?["binary_data_size"] == .int(16))
        #expect(all.tail == Self.bytesElements(["pos", ""]) + Self.le(Double(0.75).bitPattern) + Self.le(Double(1).bitPattern))
        // One output asked for, in binary; the other is left out.
        let one = try V2BinaryTensors.selectOutputs(outputs, request: .object(["outputs": .array([
            .object(["name": .string("score"), "parameters": .object(["binary_data": .bool(true)])])])]))
        #expect(one.outputs.count == 1 && one.outputs[0]["name"] == .string("score") && one.tail.count == 16)
        // One asked for in JSON although binary_data_output is set.
        let json = try V2BinaryTensors.selectOutputs(outputs, request: .object(["parameters": .object(["binary_data_output": .bool(true)]),
                                                                                 "outputs": .array([.object(["name": .string("label"), "parameters": .object(["binary_data": .bool(false)])])])]))
        #expect(!json.binary && json.outputs == [outputs[0]])
        // An output the model does not produce: 400 naming those it does.
        let unknown = Self.message { _ = try V2BinaryTensors.selectOutputs(outputs, request: .object(["outputs": .array([.object(["name": .string("logits")])])])) }
        #expect(unknown.contains("no output \"logits\"") && unknown.contains("label, score"))
    }
}
