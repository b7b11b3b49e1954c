/// Appends veil's binary state encoding to a byte array.
///
/// Fixed-width integers are little-endian. `writeVarUInt` is unsigned LEB128 (7 bits per byte,
/// low group first, high bit set on every byte but the last, always the shortest form);
/// `writeVarInt` zigzag-maps a signed value (0, -1, 1, -2, … → 0, 1, 2, 3, …) and writes it as
/// LEB128. Byte strings and UTF-8 strings are a LEB128 length followed by the bytes.
public struct BinaryWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer, reserving room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written so far.
    public var count: Int { bytes.count }

    /// Appends one byte.
    public mutating func writeUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends a 16-bit value, little-endian.
    public mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    /// Appends a 32-bit value, little-endian.
    public mutating func writeUInt32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    /// Appends a 64-bit value, little-endian.
    public mutating func writeUInt64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    /// Appends an unsigned value as LEB128 (1 to 10 bytes, shortest form).
    public mutating func writeVarUInt(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends a signed value zigzag-mapped, then as LEB128.
    public mutating func writeVarInt(_ value: Int64) {
        writeVarUInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Appends a LEB128 byte count followed by the bytes.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeVarUInt(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Appends a string as a LEB128 byte count followed by its UTF-8 bytes.
    public mutating func writeString(_ value: String) {
        writeBytes(value.utf8)
    }

    /// Appends bytes as they are, with no length.
    public mutating func writeRawBytes(_ value: some Sequence<UInt8>) {
        bytes.append(contentsOf: value)
    }

    /// Overwrites four already-written bytes at `offset` with `value`, little-endian.
    ///
    /// For headers whose length or checksum is known only at the end.
    /// - Precondition: `offset + 4 <= count`.
    public mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "patch outside written bytes")
        for i in 0..<4 {
            bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i))
        }
    }
}

/// Reads veil's binary state encoding (see `BinaryWriter`) from bytes in memory.
///
/// Every read checks the bytes left first: reading past the end, a malformed LEB128 value or a
/// length larger than what is left throws a `VeilError` with code `.state` that names the byte
/// offset, never traps. Offsets in errors are `baseOffset` plus the position in `bytes`, so a
/// reader over one section of a file reports offsets in the file.
public struct BinaryReader: Sendable {
    /// The bytes being read.
    public let bytes: ArraySlice<UInt8>
    /// The file the bytes came from, for error messages.
    public let file: String?
    /// The position of `bytes`' first byte in `file`.
    public let baseOffset: Int64
    /// Index into `bytes` of the next byte to read.
    private var position: Int

    /// Creates a reader over `bytes`, starting at its first byte.
    public init(_ bytes: [UInt8], file: String? = nil, baseOffset: Int64 = 0) {
        self.init(bytes[...], file: file, baseOffset: baseOffset)
    }

    /// Creates a reader over `bytes`, starting at its first byte; `baseOffset` is the position
    /// of that first byte in `file`.
    public init(_ bytes: ArraySlice<UInt8>, file: String? = nil, baseOffset: Int64 = 0) {
        self.bytes = bytes
        self.file = file
        self.baseOffset = baseOffset
        self.position = bytes.startIndex
    }

    /// The number of bytes read so far.
    public var offset: Int { position - bytes.startIndex }
    /// The number of bytes not read yet.
    public var remaining: Int { bytes.endIndex - position }
    /// Whether every byte has been read.
    public var isAtEnd: Bool { position == bytes.endIndex }

    /// A state error located at `offset` bytes into this reader (the current position when nil).
    public func error(_ message: String, at offset: Int? = nil) -> VeilError {
        VeilError(
            .state, message, file: file,
            byteOffset: baseOffset + Int64(offset ?? self.offset))
    }

    @inline(never)
    private func truncated(_ needed: Int, at offset: Int) -> VeilError {
        error(
            "state data truncated at byte \(baseOffset + Int64(offset)): \(needed) bytes needed, "
                + "\(bytes.endIndex - (bytes.startIndex + offset)) left",
            at: offset)
    }

    /// Throws unless at least `count` bytes are left.
    private func require(_ count: Int) throws(VeilError) {
        if count > remaining { throw truncated(count, at: offset) }
    }

    /// Reads one byte.
    public mutating func readUInt8() throws(VeilError) -> UInt8 {
        try require(1)
        defer { position += 1 }
        return bytes[position]
    }

    /// Reads a little-endian 16-bit value.
    public mutating func readUInt16() throws(VeilError) -> UInt16 {
        UInt16(truncatingIfNeeded: try readLittleEndian(byteCount: 2))
    }

    /// Reads a little-endian 32-bit value.
    public mutating func readUInt32() throws(VeilError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readLittleEndian(byteCount: 4))
    }

    /// Reads a little-endian 64-bit value.
    public mutating func readUInt64() throws(VeilError) -> UInt64 {
        try readLittleEndian(byteCount: 8)
    }

    private mutating func readLittleEndian(byteCount: Int) throws(VeilError) -> UInt64 {
        try require(byteCount)
        var value: UInt64 = 0
        for i in 0..<byteCount {
            value |= UInt64(bytes[position + i]) << UInt64(8 * i)
        }
        position += byteCount
        return value
    }

    /// Reads an unsigned LEB128 value.
    ///
    /// - Throws: `.state` when the bytes end inside the value, when it has more than 10 bytes
    ///   or does not fit in 64 bits, or when it is not in its shortest form (a last byte of 0
    ///   after a continuation byte), so that every value has exactly one encoding.
    public mutating func readVarUInt() throws(VeilError) -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        for i in 0..<10 {
            guard position < bytes.endIndex else { throw truncated(i + 1, at: start) }
            let byte = bytes[position]
            position += 1
            if i == 9 && byte > 1 {
                throw malformedVarint("value does not fit in 64 bits", at: start)
            }
            value |= UInt64(byte & 0x7F) << UInt64(7 * i)
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    throw malformedVarint("not in shortest form", at: start)
                }
                return value
            }
        }
        // Unreachable: the tenth byte either ends the value or was rejected above.
        throw malformedVarint("too long", at: start)
    }

    @inline(never)
    private func malformedVarint(_ reason: String, at offset: Int) -> VeilError {
        error("malformed varint at byte \(baseOffset + Int64(offset)): \(reason)", at: offset)
    }

    /// Reads a zigzag-mapped LEB128 signed value.
    public mutating func readVarInt() throws(VeilError) -> Int64 {
        let raw = try readVarUInt()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// Reads a LEB128 element count and checks that `count * minimumElementSize` bytes are left,
    /// so a corrupt count can never make the caller allocate more than the input could hold.
    /// - Precondition: `minimumElementSize >= 1`.
    public mutating func readCount(minimumElementSize: Int = 1) throws(VeilError) -> Int {
        precondition(minimumElementSize >= 1, "minimum element size must be positive")
        let start = offset
        let raw = try readVarUInt()
        let limit = UInt64(remaining / minimumElementSize)
        guard raw <= limit else {
            throw error(
                "state data truncated: a count at byte \(baseOffset + Int64(start)) "
                    + "announces more than the \(remaining) bytes left",
                at: start)
        }
        return Int(raw)
    }

    /// Reads a LEB128 byte count followed by that many bytes.
    public mutating func readBytes() throws(VeilError) -> [UInt8] {
        let count = try readCount()
        return try readRawBytes(count: count)
    }

    /// Reads a LEB128 byte count followed by that many bytes of UTF-8.
    /// - Throws: `.state` also when the bytes are not valid UTF-8.
    public mutating func readString() throws(VeilError) -> String {
        let start = offset
        let count = try readCount()
        let slice = bytes[position..<position + count]
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw error("invalid UTF-8 in string at byte \(baseOffset + Int64(start))", at: start)
        }
        position += count
        return string
    }

    /// Reads exactly `count` bytes, with no length prefix.
    /// - Precondition: `count >= 0`.
    public mutating func readRawBytes(count: Int) throws(VeilError) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        try require(count)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Returns a reader over the next `count` bytes and skips them here, without copying.
    /// The new reader reports offsets in the same file.
    public mutating func readSection(count: Int) throws(VeilError) -> BinaryReader {
        precondition(count >= 0, "negative byte count")
        try require(count)
        let section = BinaryReader(
            bytes[position..<position + count], file: file,
            baseOffset: baseOffset + Int64(offset))
        position += count
        return section
    }

    /// Skips `count` bytes.
    public mutating func skip(count: Int) throws(VeilError) {
        precondition(count >= 0, "negative byte count")
        try require(count)
        position += count
    }

    /// Throws unless every byte has been read (trailing bytes mean a corrupt or foreign file).
    public func expectEnd() throws(VeilError) {
        guard isAtEnd else {
            throw error(
                "unexpected \(remaining) trailing bytes at byte \(baseOffset + Int64(offset))")
        }
    }
}

/// CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected), the checksum of veil's state files.
///
/// Table-driven, slicing-by-8. `checksum(Array("123456789".utf8)) == 0xE306_9283`.
public enum CRC32C {
    /// Eight 256-entry tables, one after another: table k maps a byte to its CRC shifted by k
    /// further zero bytes.
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            table[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = table[(k - 1) * 256 + i]
                table[k * 256 + i] = (previous >> 8) ^ table[Int(previous & 0xFF)]
            }
        }
        return table
    }()

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        update(0, with: bytes)
    }

    /// Continues a checksum: `update(checksum(a), with: b) == checksum(a + b)`.
    public static func update(_ checksum: UInt32, with bytes: some Sequence<UInt8>) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ buffer in
            update(checksum, with: UnsafeRawBufferPointer(buffer))
        }) {
            return result
        }
        return update(checksum, with: Array(bytes))
    }

    /// Continues a checksum over raw memory.
    public static func update(_ checksum: UInt32, with buffer: UnsafeRawBufferPointer) -> UInt32 {
        table.withUnsafeBufferPointer { t in
            var crc = ~checksum
            var i = 0
            let count = buffer.count
            while count - i >= 8 {
                let low =
                    crc ^ buffer.loadUnaligned(fromByteOffset: i, as: UInt32.self).littleEndian
                let high = buffer.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self).littleEndian
                crc =
                    t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(buffer[i])) & 0xFF)]
                i += 1
            }
            return ~crc
        }
    }
}
