import Foundation
import Testing
@testable import TrainyardAWS

/// CRC-32 against the published check values of the IEEE polynomial (zlib's `crc32`).
struct S3ChecksumCRC32Tests {
    @Test func checkValuesOfTheIEEEPolynomial() {
        #expect(S3ChecksumCRC32.of(Data()).value == 0)
        #expect(S3ChecksumCRC32.of(Data("123456789".utf8)).value == 0xCBF4_3926)
        #expect(S3ChecksumCRC32.of(Data("The quick brown fox jumps over the lazy dog".utf8)).value == 0x414F_A339)
        #expect(S3ChecksumCRC32.of(Data("a".utf8)).value == 0xE8B7_BE43)
    }

    @Test func base64IsOfTheBigEndianBytes() {
        // 0xCBF43926 → CB F4 39 26 → "y/Q5Jg==".
        #expect(S3ChecksumCRC32.of(Data("123456789".utf8)).base64 == "y/Q5Jg==")
        #expect(S3ChecksumCRC32().base64 == "AAAAAA==")
    }

    /// The 8-bytes-at-a-time path and the byte tail agree with a bitwise reference, whatever
    /// the length, alignment and split of the input.
    @Test func anySplitGivesTheBitwiseReference() {
        var generator = SystemRandomNumberGenerator()
        let bytes = Data((0..<1_037).map { _ in UInt8.random(in: 0...255, using: &generator) })
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 1_000, 1_037] {
            for start in [0, 1, 3] where start + length <= bytes.count {
                let slice = bytes.subdata(in: start..<(start + length))
                let expected = Self.bitwise(slice)
                #expect(S3ChecksumCRC32.of(slice).value == expected, "length \(length) from \(start)")
                for split in [0, 1, 5, length / 2, length] where split <= length {
                    var running = S3ChecksumCRC32()
                    running.update(slice.prefix(split))
                    running.update(slice.dropFirst(split))
                    #expect(running.value == expected, "length \(length) split at \(split)")
                }
            }
        }
    }

    private static func bitwise(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
