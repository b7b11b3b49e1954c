import CByteScan

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

    /// The four bytes at `p + i`, byte `p[i]` in the low bits. The caller guarantees that
    /// `p[i..<i + 4]` is readable.
    @inline(__always)
    static func load32(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
        UInt32(littleEndian: (p + i).loadUnaligned(as: UInt32.self))
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

    /// The index of the first byte equal to `a` or `b` in `p[i..<n]`, or `n`: eight bytes at a
    /// time, then one.
    @inline(__always)
    static func firstOf(_ a: UInt8, _ b: UInt8, in p: UnsafeRawPointer, from i: Int, to n: Int) -> Int {
        let wa = broadcast(a), wb = broadcast(b)
        var i = i
        while i &+ 8 <= n {
            let x = load(p, i)
            let m = zeroBytes(x ^ wa) | zeroBytes(x ^ wb)
            if m != 0 { return i &+ lowestByte(m) }
            i &+= 8
        }
        while i < n {
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == a || c == b { return i }
            i &+= 1
        }
        return n
    }

    /// The bytes of `t` (eight bytes xor 0x30 each) that were not ASCII digits, flagged in
    /// their high nibbles: a byte was a digit exactly when its value here is below 10, with no
    /// high nibble, and none after adding 6. A carry only runs upward, out of a non-digit, so
    /// the lowest flagged byte is exact, and "none flagged" is exact.
    @inline(__always)
    static func nonDigits(_ t: UInt64) -> UInt64 {
        (t | (t &+ 0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0
    }

    /// The index of the first byte of `p[i..<end]` that is not an ASCII digit, or `end`: eight
    /// bytes at a time while eight remain (timestamps and durations run to 10-16 digits),
    /// without a branch per digit.
    @inline(__always)
    static func digitsEnd(_ p: UnsafeRawPointer, from i: Int, to end: Int) -> Int {
        var i = i
        while i &+ 8 <= end {
            let stop = nonDigits(load(p, i) ^ 0x3030_3030_3030_3030)
            if stop != 0 { return i &+ lowestByte(stop) }
            i &+= 8
        }
        while i < end, p.load(fromByteOffset: i, as: UInt8.self) &- UInt8(ascii: "0") <= 9 { i &+= 1 }
        return i
    }

    /// The index of the last byte equal to `a` or `b` in `p[start..<end]`, or -1: eight bytes
    /// at a time from the end, then one. A scan from the end takes the highest flagged byte, so
    /// it uses the exact masks of `veil_equal_bytes`, not the borrowing ones above.
    @inline(__always)
    static func lastOf(_ a: UInt8, _ b: UInt8, in p: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        var i = end
        while i &- 8 >= start {
            let x = load(p, i &- 8)
            let m = veil_equal_bytes(x, a) | veil_equal_bytes(x, b)
            if m != 0 { return i &- 8 &+ (63 &- m.leadingZeroBitCount) &>> 3 }
            i &-= 8
        }
        while i > start {
            i &-= 1
            let c = p.load(fromByteOffset: i, as: UInt8.self)
            if c == a || c == b { return i }
        }
        return -1
    }

    /// The index, within its word, of the byte a mask flags lowest.
    @inline(__always)
    static func lowestByte(_ mask: UInt64) -> Int { mask.trailingZeroBitCount &>> 3 }

    /// Whether `count` bytes at `a` and `b` are equal (`veil_same_bytes`: blocks of 16 bytes
    /// or-ed and tested once, the last ones overlapping, inline without a call to `memcmp`;
    /// branches on the size of `count`, not on where the bytes differ).
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        veil_same_bytes(a, b, count) != 0
    }

    /// Whether `bytes` holds exactly the bytes of `array` (`equal` on both; the generic
    /// `elementsEqual` walks them one iterator step at a time).
    @inline(__always)
    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ array: [UInt8]) -> Bool {
        guard bytes.count == array.count else { return false }
        guard bytes.count > 0, let a = bytes.baseAddress else { return true }
        // Safe: `array` is not empty, so its buffer has a base address.
        return array.withUnsafeBytes { equal(UnsafeRawPointer(a), $0.baseAddress!, count: bytes.count) }
    }

    /// The index of the first `byte` in `p[start..<end]`, or `end` (`memchr`).
    @inline(__always)
    static func find(_ byte: UInt8, _ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        guard start < end, let hit = memchr(p + start, Int32(byte), end - start) else { return end }
        return p.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether `p[0..<n]` holds a control byte (below 0x20, except tab), sixteen bytes at a time.
    static func hasControlByte(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Bool {
        var i = veil_scan16_control(p, 0, n)
        while i < n {
            if p[i] < 0x20 && p[i] != 0x09 { return true }
            i += 1
        }
        return false
    }
}
