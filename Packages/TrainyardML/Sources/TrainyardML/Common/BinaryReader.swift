/// Reads what `BinaryWriter` wrote, checking magic, version and bounds.
public struct BinaryReader: Sendable {
    private let bytes: [UInt8]
    public private(set) var offset: Int = 0
    /// The format version found after the magic.
    public private(set) var version: UInt32 = 0

    /// - Throws: `ModelFormatError` if the magic differs or the version is above `maxVersion`.
    public init(_ bytes: [UInt8], magic: String, maxVersion: UInt32) throws {
        self.bytes = bytes
        let expected = Array(magic.utf8)
        guard bytes.count >= 8, Array(bytes[0..<4]) == expected else {
            throw ModelFormatError("not a \(magic) model file (bad magic)")
        }
        offset = 4
        version = try read(UInt32.self)
        guard version <= maxVersion else {
            throw ModelFormatError("\(magic) format version \(version) is newer than supported \(maxVersion)")
        }
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw ModelFormatError("truncated model file at byte \(offset)") }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            bytes.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + size]))
            }
        }
        offset += size
        return T(littleEndian: value)
    }
    public mutating func readInt() throws -> Int {
        let v = try read(Int64.self)
        guard v >= Int64(Int.min), v <= Int64(Int.max) else { throw ModelFormatError("integer out of range at byte \(offset)") }
        return Int(v)
    }
    public mutating func readBool() throws -> Bool { try read(UInt8.self) != 0 }
    public mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }
    public mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    private mutating func readCount(elementSize: Int) throws -> Int {
        let n = try readInt()
        guard n >= 0, n <= (bytes.count - offset) / max(elementSize, 1) else {
            throw ModelFormatError("bad length \(n) at byte \(offset)")
        }
        return n
    }
    public mutating func readString() throws -> String {
        let n = try readCount(elementSize: 1)
        let s = String(decoding: bytes[offset..<offset + n], as: UTF8.self)
        offset += n
        return s
    }
    public mutating func readFloats() throws -> [Float] {
        let n = try readCount(elementSize: 4)
        var out = [Float](repeating: 0, count: n)
        for i in 0..<n { out[i] = Float(bitPattern: try read(UInt32.self)) }
        return out
    }
    public mutating func readDoubles() throws -> [Double] {
        let n = try readCount(elementSize: 8)
        var out = [Double](repeating: 0, count: n)
        for i in 0..<n { out[i] = Double(bitPattern: try read(UInt64.self)) }
        return out
    }
    public mutating func readInt32s() throws -> [Int32] {
        let n = try readCount(elementSize: 4)
        var out = [Int32](repeating: 0, count: n)
        for i in 0..<n { out[i] = try read(Int32.self) }
        return out
    }
    public mutating func readBytes() throws -> [UInt8] {
        let n = try readCount(elementSize: 1)
        let out = Array(bytes[offset..<offset + n])
        offset += n
        return out
    }
    public mutating func readStrings() throws -> [String] {
        let n = try readCount(elementSize: 8)
        var out: [String] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try readString()) }
        return out
    }
}
