import Testing

@testable import VeilCore

@Suite struct BinaryCodecTests {
    // MARK: - CRC32C

    /// Bit-at-a-time CRC-32C, the definition the table-driven version must match.
    static func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 { referenceCRC(bytes, polynomial: 0x82F6_3B78) }

    /// Bit-at-a-time reflected CRC-32 with `polynomial` (reversed form): 0x82F63B78 is CRC-32C,
    /// 0xEDB88320 the CRC-32 of gzip and Ethernet.
    static func referenceCRC(_ bytes: [UInt8], polynomial: UInt32) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
        }
        return ~crc
    }

    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // RFC 3720 (iSCSI) test vectors: 32 bytes of zeros, of 0xFF, and 0...31.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func crc32cMatchesTheBitwiseDefinitionAtEveryLengthAndSplit() {
        var state: UInt64 = 0x0123_4567_89AB_CDEF
        let data: [UInt8] = (0..<300).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 299, 300] {
            let bytes = Array(data.prefix(length))
            let expected = Self.referenceCRC32C(bytes)
            #expect(CRC32C.checksum(bytes) == expected, "length \(length)")
            // Non-contiguous input takes the fallback path.
            #expect(CRC32C.checksum(bytes.lazy.map { $0 }) == expected, "length \(length)")
            for split in [0, 1, length / 3, length] where split <= length {
                let first = CRC32C.checksum(bytes[..<split])
                #expect(CRC32C.update(first, with: bytes[split...]) == expected, "split \(split)")
            }
        }
    }

    // MARK: - Writer layout

    @Test func fixedWidthIntegersAreLittleEndian() {
        var writer = BinaryWriter()
        writer.writeUInt8(0xAB)
        writer.writeUInt16(0x0102)
        writer.writeUInt32(0x0304_0506)
        writer.writeUInt64(0x0708_090A_0B0C_0D0E)
        #expect(
            writer.bytes == [
                0xAB, 0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08,
                0x07,
            ])
        writer.patchUInt32(0xDDCC_BBAA, at: 1)
        #expect(writer.bytes.prefix(6) == [0xAB, 0xAA, 0xBB, 0xCC, 0xDD, 0x04])
    }

    @Test(
        arguments: [
            (UInt64(0), [0x00]),
            (1, [0x01]),
            (127, [0x7F]),
            (128, [0x80, 0x01]),
            (300, [0xAC, 0x02]),
            (16383, [0xFF, 0x7F]),
            (16384, [0x80, 0x80, 0x01]),
            (UInt64(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            (1 << 63, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
            (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ] as [(UInt64, [UInt8])])
    func varUIntEncoding(value: UInt64, bytes: [UInt8]) throws {
        var writer = BinaryWriter()
        writer.writeVarUInt(value)
        #expect(writer.bytes == bytes)
        var reader = BinaryReader(bytes)
        #expect(try reader.readVarUInt() == value)
        #expect(reader.isAtEnd)
    }

    @Test(
        arguments: [
            (Int64(0), UInt64(0)),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (63, 126),
            (-64, 127),
            (64, 128),
            (Int64.max, UInt64.max - 1),
            (Int64.min, UInt64.max),
        ] as [(Int64, UInt64)])
    func varIntZigzag(value: Int64, zigzag: UInt64) throws {
        var signed = BinaryWriter()
        signed.writeVarInt(value)
        var unsigned = BinaryWriter()
        unsigned.writeVarUInt(zigzag)
        #expect(signed.bytes == unsigned.bytes)
        var reader = BinaryReader(signed.bytes)
        #expect(try reader.readVarInt() == value)
        #expect(reader.isAtEnd)
    }

    // MARK: - Round trip

    @Test func everyTypeRoundTrips() throws {
        let strings = ["", "example.com", "/päge/ü€𝄞", String(repeating: "x", count: 300)]
        let blobs: [[UInt8]] = [[], [0], Array(0...255)]
        var writer = BinaryWriter(capacity: 64)
        for value: UInt8 in [0, 1, 0x7F, 0x80, 0xFF] { writer.writeUInt8(value) }
        for value: UInt16 in [0, 1, 0x1234, .max] { writer.writeUInt16(value) }
        for value: UInt32 in [0, 1, 0xDEAD_BEEF, .max] { writer.writeUInt32(value) }
        for value: UInt64 in [0, 1, 0x0123_4567_89AB_CDEF, .max] { writer.writeUInt64(value) }
        for value: UInt64 in [0, 127, 128, 1 << 35, .max] { writer.writeVarUInt(value) }
        for value: Int64 in [0, -1, 1, 127, -128, .max, .min] { writer.writeVarInt(value) }
        for string in strings { writer.writeString(string) }
        for blob in blobs { writer.writeBytes(blob) }
        writer.writeRawBytes([9, 8, 7])

        var reader = BinaryReader(writer.bytes)
        for value: UInt8 in [0, 1, 0x7F, 0x80, 0xFF] { #expect(try reader.readUInt8() == value) }
        for value: UInt16 in [0, 1, 0x1234, .max] { #expect(try reader.readUInt16() == value) }
        for value: UInt32 in [0, 1, 0xDEAD_BEEF, .max] { #expect(try reader.readUInt32() == value) }
        for value: UInt64 in [0, 1, 0x0123_4567_89AB_CDEF, .max] {
            #expect(try reader.readUInt64() == value)
        }
        for value: UInt64 in [0, 127, 128, 1 << 35, .max] {
            #expect(try reader.readVarUInt() == value)
        }
        for value: Int64 in [0, -1, 1, 127, -128, .max, .min] {
            #expect(try reader.readVarInt() == value)
        }
        for string in strings { #expect(try reader.readString() == string) }
        for blob in blobs { #expect(try reader.readBytes() == blob) }
        #expect(reader.remaining == 3)
        #expect(throws: VeilError.self) { try reader.expectEnd() }
        #expect(try reader.readRawBytes(count: 3) == [9, 8, 7])
        #expect(reader.isAtEnd)
        try reader.expectEnd()
        #expect(reader.offset == writer.count)
    }

    @Test func sectionsReportOffsetsInTheFile() throws {
        var reader = BinaryReader([1, 2, 3, 4, 5, 6], file: "a.veilstate", baseOffset: 1000)
        try reader.skip(count: 2)
        var section = try reader.readSection(count: 3)
        #expect(reader.offset == 5)
        #expect(try section.readUInt16() == 0x0403)
        let error = #expect(throws: VeilError.self) { _ = try section.readUInt16() }
        #expect(error?.byteOffset == Int64(1000 + 4))
        #expect(error?.file == "a.veilstate")
        #expect(try reader.readUInt8() == 6)
    }

    // MARK: - Reader errors

    typealias Read = @Sendable (inout BinaryReader) throws -> Void

    @Test(
        arguments: [
            ([], { r in _ = try r.readUInt8() } as Read, 0, "no byte for a u8"),
            ([1], { r in _ = try r.readUInt16() } as Read, 0, "one byte of a u16"),
            ([1, 2, 3], { r in _ = try r.readUInt32() } as Read, 0, "three bytes of a u32"),
            (
                [1, 2, 3, 4, 5, 6, 7], { r in _ = try r.readUInt64() } as Read, 0,
                "seven bytes of a u64"
            ),
            (
                [0x80], { r in _ = try r.readVarUInt() } as Read, 0,
                "varint ends on a continuation byte"
            ),
            (
                [0x05, 0xFF, 0xFF],
                { r in
                    _ = try r.readUInt8()
                    _ = try r.readVarUInt()
                } as Read, 1,
                "varint after a byte ends early"
            ),
            (
                [UInt8](repeating: 0x80, count: 10) + [0x01],
                { r in _ = try r.readVarUInt() } as Read, 0,
                "eleven-byte varint"
            ),
            (
                [UInt8](repeating: 0xFF, count: 9) + [0x02],
                { r in _ = try r.readVarUInt() } as Read, 0,
                "ten-byte varint above 2^64"
            ),
            (
                [UInt8](repeating: 0xFF, count: 9) + [0x7F],
                { r in _ = try r.readVarInt() } as Read, 0,
                "ten-byte signed varint above 2^64"
            ),
            (
                [0x80, 0x00], { r in _ = try r.readVarUInt() } as Read, 0,
                "varint not in shortest form"
            ),
            (
                [0xFF, 0x80, 0x00], { r in _ = try r.readVarUInt() } as Read, 0,
                "varint with a zero last group"
            ),
            (
                [4, 1, 2, 3], { r in _ = try r.readBytes() } as Read, 0,
                "byte string shorter than its length"
            ),
            (
                [0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1], { r in _ = try r.readBytes() } as Read, 0,
                "huge length is refused before allocating"
            ),
            (
                [2, 0xC3], { r in _ = try r.readString() } as Read, 0,
                "string shorter than its length"
            ),
            ([2, 0xC3, 0x28], { r in _ = try r.readString() } as Read, 0, "invalid UTF-8"),
            ([1, 0xFF], { r in _ = try r.readString() } as Read, 0, "0xFF is never UTF-8"),
            (
                [3, 1, 2], { r in _ = try r.readCount(minimumElementSize: 1) } as Read, 0,
                "count above the bytes left"
            ),
            (
                [2, 1, 2, 3], { r in _ = try r.readCount(minimumElementSize: 2) } as Read, 0,
                "count of two-byte elements above the bytes left"
            ),
            (
                [1, 2], { r in _ = try r.readRawBytes(count: 3) } as Read, 0,
                "raw bytes past the end"
            ),
            ([1, 2], { r in try r.skip(count: 3) } as Read, 0, "skip past the end"),
            ([1, 2], { r in _ = try r.readSection(count: 3) } as Read, 0, "section past the end"),
        ] as [([UInt8], Read, Int64, String)])
    func readerRejectsBadInput(bytes: [UInt8], read: Read, offset: Int64, reason: String) {
        var reader = BinaryReader(bytes, baseOffset: 50)
        let error = #expect(throws: VeilError.self, "\(reason)") { try read(&reader) }
        #expect(error?.code == .state, "\(reason)")
        #expect(error?.byteOffset == 50 + offset, "\(reason)")
    }

    @Test func truncationMessageNamesTheByte() {
        var reader = BinaryReader([1, 2, 3], file: "day.veilstate")
        _ = try? reader.readUInt16()
        let error = #expect(throws: VeilError.self) { _ = try reader.readUInt32() }
        let expected =
            "day.veilstate: byte offset 2: state data truncated at byte 2: 4 bytes needed, 1 left"
        #expect(error?.description == expected)
    }
}
