/// Appends little-endian primitives to a byte buffer; the writing half of the model file format.
///
/// Model files start with a 4-byte magic and a format version, then the model's own fields in
/// a fixed order. `BinaryReader` reads them back and throws `ModelFormatError` on truncation.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(magic: String, version: UInt32) {
        precondition(magic.utf8.count == 4, "magic must be 4 ASCII bytes")
        bytes.append(contentsOf: magic.utf8)
        write(version)
    }

    public mutating func write<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func write(_ value: Int) { write(Int64(value)) }
    public mutating func write(_ value: Bool) { write(UInt8(value ? 1 : 0)) }
    public mutating func write(_ value: Double) { write(value.bitPattern) }
    public mutating func write(_ value: Float) { write(value.bitPattern) }
    public mutating func write(_ value: String) {
        let utf8 = Array(value.utf8)
        write(utf8.count)
        bytes.append(contentsOf: utf8)
    }
    public mutating func write(_ values: [Float]) {
        write(values.count)
        bytes.reserveCapacity(bytes.count + values.count * 4)
        for v in values { write(v.bitPattern) }
    }
    public mutating func write(_ values: [Double]) {
        write(values.count)
        for v in values { write(v.bitPattern) }
    }
    public mutating func write(_ values: [Int32]) {
        write(values.count)
        for v in values { write(v) }
    }
    public mutating func write(_ values: [UInt8]) {
        write(values.count)
        bytes.append(contentsOf: values)
    }
    public mutating func write(_ values: [String]) {
        write(values.count)
        for v in values { write(v) }
    }
}
