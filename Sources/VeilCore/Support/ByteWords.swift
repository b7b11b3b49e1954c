/// Eight bytes at a time (SWAR): the word loads and byte masks the hot-path scanners share.
///
/// A mask has the high bit set in each byte that matches. Bytes above the lowest match may be
/// flagged falsely (a borrow runs upward); the lowest flagged byte is always a true match, and
/// "any byte matches" is exact. Scanners use only those two facts.
enum ByteWords {
    /// The eight bytes at `p + i`, byte `p[i]` in the low bits, whatever the byte order.
    /// The caller guarantees that `p[i..<i + 8]` is readable.
    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        UInt64(littleEndian: (p + i).loadUnaligned(as: UInt64.self))
    }

    /// `b` in every byte.
    @inline(__always)
    static func broadcast(_ b: UInt8) -> UInt64 { UInt64(b) &* 0x0101_0101_0101_0101 }

    /// The bytes of `x` that are zero.
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    /// The bytes of `x` below 0x20.
    @inline(__always)
    static func below0x20(_ x: UInt64) -> UInt64 {
        (x &- 0x2020_2020_2020_2020) & ~x & 0x8080_8080_8080_8080
    }

    /// The index, within its word, of the byte a mask flags lowest.
    @inline(__always)
    static func lowestByte(_ mask: UInt64) -> Int { mask.trailingZeroBitCount &>> 3 }
}
