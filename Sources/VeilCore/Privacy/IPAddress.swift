/// An IP address as a 128-bit value; IPv4 addresses are stored IPv4-mapped (`::ffff:a.b.c.d`).
///
/// Parsing is strict and works on bytes without allocating:
/// - IPv4: exactly four decimal parts `0`-`255` separated by `.`; no sign, no spaces, and no
///   leading zeros (`010` is rejected: `inet_aton` would read it as octal, so its meaning is
///   ambiguous).
/// - IPv6: the RFC 4291 text forms — eight groups of one to four hex digits (either case), one
///   `::` standing for one or more zero groups, an IPv4 dotted quad in place of the last two
///   groups (`::ffff:192.0.2.1`), and an optional zone (`fe80::1%eth0`) that is dropped.
///   Brackets and ports are not accepted here (see `firstClient(inForwardedFor:)`).
///
/// Text output follows RFC 5952 (lower case, no leading zeros, the longest run of two or more
/// zero groups as `::`), except that IPv4-mapped addresses are written as plain dotted quads.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The high 64 bits (network byte order: the first 8 bytes of the address).
    public var hi: UInt64
    /// The low 64 bits.
    public var lo: UInt64

    /// The longest text `write(into:)` produces (`ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff`).
    public static let maximumTextLength = 39

    /// The address with the given 128 bits.
    @inlinable
    public init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// The IPv4-mapped address of `ipv4` (host byte order: `0xC0000201` is 192.0.2.1).
    @inlinable
    public init(ipv4: UInt32) {
        hi = 0
        lo = 0xffff_0000_0000 | UInt64(ipv4)
    }

    /// Parses an IPv4 or IPv6 address from its text bytes; `nil` when they are not exactly one
    /// address.
    ///
    /// - Complexity: O(n); does not allocate.
    public init?(_ text: UnsafeRawBufferPointer) {
        guard let parsed = IPAddress.parse(text) else { return nil }
        self = parsed
    }

    /// Parses an IPv4 or IPv6 address from a string (for tests and configuration).
    public init?(_ text: String) {
        var copy = text
        guard let parsed = copy.withUTF8({ IPAddress.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = parsed
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.hi, a.lo) < (b.hi, b.lo)
    }

    /// Whether this is an IPv4 address (stored IPv4-mapped, `::ffff:0:0/96`).
    @inlinable
    public var isIPv4: Bool { hi == 0 && lo >> 32 == 0xffff }

    /// The IPv4 address, when this is one (host byte order).
    @inlinable
    public var ipv4: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: lo) : nil }

    /// The IPv4 address carried inside this address: IPv4-mapped (`::ffff:0:0/96`), NAT64
    /// well-known prefix (`64:ff9b::/96`, RFC 6052) or 6to4 (`2002::/16`, bits 16..<48,
    /// RFC 3056). These are truncated by the IPv4 rule.
    @inlinable
    public var embeddedIPv4: UInt32? {
        if hi == 0 && lo >> 32 == 0xffff { return UInt32(truncatingIfNeeded: lo) }
        if hi == 0x0064_ff9b_0000_0000 && lo >> 32 == 0 { return UInt32(truncatingIfNeeded: lo) }
        if hi >> 48 == 0x2002 { return UInt32(truncatingIfNeeded: hi >> 16) }
        return nil
    }

    /// Calls `body` with the 16 bytes of the address in network order.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (hi.bigEndian, lo.bigEndian)
        return try Swift.withUnsafeBytes(of: &words) { try body($0) }
    }

    // MARK: - Truncation

    /// How many leading bits of an address to keep. IPv4 /8 to /24 (default /16), IPv6 /32 to
    /// /64 (default /48).
    public struct Truncation: Sendable, Hashable {
        public let v4Prefix: Int
        public let v6Prefix: Int

        /// The defaults: IPv4 /16, IPv6 /48.
        public static let standard = Truncation(unchecked: 16, 48)

        /// Validates the prefix lengths.
        ///
        /// - Throws: `VeilError(.usage)` when `v4Prefix` is outside 8...24 or `v6Prefix`
        ///   outside 32...64.
        public init(v4Prefix: Int = 16, v6Prefix: Int = 48) throws(VeilError) {
            guard (8...24).contains(v4Prefix) else {
                throw VeilError(.usage, "IPv4 prefix /\(v4Prefix) is not allowed; use /8 to /24")
            }
            guard (32...64).contains(v6Prefix) else {
                throw VeilError(.usage, "IPv6 prefix /\(v6Prefix) is not allowed; use /32 to /64")
            }
            self.init(unchecked: v4Prefix, v6Prefix)
        }

        private init(unchecked v4: Int, _ v6: Int) {
            v4Prefix = v4
            v6Prefix = v6
        }
    }

    /// The network of this address: the first `v4Prefix` or `v6Prefix` bits, the rest zero.
    ///
    /// Addresses with an embedded IPv4 address (`embeddedIPv4`) are truncated by the IPv4 rule
    /// and returned as a plain (IPv4-mapped) IPv4 network, so nothing finer than the IPv4
    /// prefix survives whichever form the client used.
    ///
    /// - Complexity: O(1); does not allocate.
    @inlinable
    public func truncated(_ rule: Truncation = .standard) -> IPAddress {
        if let v4 = embeddedIPv4 {
            let mask: UInt32 = ~0 << UInt32(32 - rule.v4Prefix)
            return IPAddress(ipv4: v4 & mask)
        }
        let mask: UInt64 = rule.v6Prefix >= 64 ? ~0 : ~0 << UInt64(64 - rule.v6Prefix)
        return IPAddress(hi: hi & mask, lo: 0)
    }

    /// `truncated(_:)` with prefix lengths checked first.
    ///
    /// - Throws: `VeilError(.usage)` for a prefix outside IPv4 8...24 or IPv6 32...64.
    public func truncated(v4Prefix: Int = 16, v6Prefix: Int = 48) throws(VeilError) -> IPAddress {
        truncated(try Truncation(v4Prefix: v4Prefix, v6Prefix: v6Prefix))
    }

    // MARK: - Text

    /// Writes the address's text form into `buffer` (at least `maximumTextLength` bytes) and
    /// returns the number of bytes written.
    ///
    /// - Complexity: O(1); does not allocate.
    public func write(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= IPAddress.maximumTextLength, "buffer too small for an IP address")
        var n = 0
        @inline(__always) func put(_ b: UInt8) {
            buffer[n] = b
            n += 1
        }
        func decimal(_ v: UInt32) {
            if v >= 100 { put(UInt8(ascii: "0") + UInt8(v / 100)) }
            if v >= 10 { put(UInt8(ascii: "0") + UInt8(v / 10 % 10)) }
            put(UInt8(ascii: "0") + UInt8(v % 10))
        }
        if let v4 = ipv4 {
            decimal(v4 >> 24)
            put(UInt8(ascii: "."))
            decimal(v4 >> 16 & 0xff)
            put(UInt8(ascii: "."))
            decimal(v4 >> 8 & 0xff)
            put(UInt8(ascii: "."))
            decimal(v4 & 0xff)
            return n
        }
        func group(_ i: Int) -> UInt16 {
            let word = i < 4 ? hi : lo
            return UInt16(truncatingIfNeeded: word >> UInt64(48 - 16 * (i & 3)))
        }
        // The longest run of at least two zero groups, the first one on a tie (RFC 5952 4.2).
        var bestStart = -1
        var bestLength = 1
        var i = 0
        while i < 8 {
            if group(i) == 0 {
                var j = i
                while j < 8 && group(j) == 0 { j += 1 }
                if j - i > bestLength {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        let hex: StaticString = "0123456789abcdef"
        i = 0
        while i < 8 {
            if i == bestStart {
                put(UInt8(ascii: ":"))
                if i == 0 { put(UInt8(ascii: ":")) }
                i += bestLength
                continue
            }
            let g = group(i)
            var shift = 12
            while shift > 0 && (g >> UInt16(shift)) == 0 { shift -= 4 }
            while shift >= 0 {
                put(hex.utf8Start[Int((g >> UInt16(shift)) & 0xf)])
                shift -= 4
            }
            i += 1
            if i < 8 { put(UInt8(ascii: ":")) }
        }
        return n
    }

    /// The RFC 5952 text form (dotted quad for IPv4).
    public var description: String {
        withUnsafeTemporaryAllocation(byteCount: 48, alignment: 1) { buffer in
            let n = write(into: buffer)
            return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
    }

    // MARK: - X-Forwarded-For

    /// The left-most valid address of an `X-Forwarded-For` chain.
    ///
    /// Entries are separated by `,`, spaces or tabs. Each entry may be `[v6]` or `[v6]:port`, or
    /// `a.b.c.d:port`; surrounding `"` are ignored. Entries that are not addresses — `unknown`,
    /// obfuscated identifiers, garbage — are skipped.
    ///
    /// - Complexity: O(n); does not allocate.
    public static func firstClient(inForwardedFor chain: UnsafeRawBufferPointer) -> IPAddress? {
        firstClientEntry(chain)?.address
    }

    /// Where the address returned by `firstClient(inForwardedFor:)` is written in `chain`
    /// (brackets, port and quotes excluded), as offsets from the start of `chain`.
    ///
    /// - Complexity: O(n); does not allocate.
    public static func firstClientRange(inForwardedFor chain: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        firstClientEntry(UnsafeRawBufferPointer(chain))?.range
    }

    /// `firstClient(inForwardedFor:)` on a string.
    public static func firstClient(inForwardedFor chain: String) -> IPAddress? {
        var copy = chain
        return copy.withUTF8 { firstClient(inForwardedFor: UnsafeRawBufferPointer($0)) }
    }

    private static func firstClientEntry(_ chain: UnsafeRawBufferPointer) -> (address: IPAddress, range: Range<Int>)? {
        var i = 0
        let end = chain.count
        while i < end {
            while i < end && isSeparator(chain[i]) { i += 1 }
            var j = i
            while j < end && !isSeparator(chain[j]) { j += 1 }
            if j > i, let range = entryAddressRange(chain, i, j),
                let address = parse(UnsafeRawBufferPointer(rebasing: chain[range]))
            {
                return (address, range)
            }
            i = j
        }
        return nil
    }

    private static func isSeparator(_ b: UInt8) -> Bool {
        b == UInt8(ascii: ",") || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
    }

    /// The part of the entry `chain[from..<to]` that should hold the address.
    private static func entryAddressRange(_ chain: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Range<Int>? {
        var start = from
        var end = to
        while start < end && chain[start] == UInt8(ascii: "\"") { start += 1 }
        while end > start && chain[end - 1] == UInt8(ascii: "\"") { end -= 1 }
        guard start < end else { return nil }
        if chain[start] == UInt8(ascii: "[") {
            var close = start + 1
            while close < end && chain[close] != UInt8(ascii: "]") { close += 1 }
            guard close < end else { return nil }
            return (start + 1)..<close
        }
        // `a.b.c.d:port`: one colon after a dot.
        var colons = 0
        var firstColon = -1
        var hasDot = false
        for k in start..<end {
            if chain[k] == UInt8(ascii: ":") {
                colons += 1
                if firstColon < 0 { firstColon = k }
            } else if chain[k] == UInt8(ascii: ".") && colons == 0 {
                hasDot = true
            }
        }
        if colons == 1 && hasDot {
            end = firstColon
        }
        return start..<end
    }

    // MARK: - Parsing

    static func parse(_ text: UnsafeRawBufferPointer) -> IPAddress? {
        guard !text.isEmpty else { return nil }
        for b in text where b == UInt8(ascii: ":") {
            return parseIPv6(text)
        }
        guard let v4 = parseIPv4(text, 0, text.count) else { return nil }
        return IPAddress(ipv4: v4)
    }

    /// Parses a strict dotted quad in `text[start..<end]`.
    static func parseIPv4(_ text: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> UInt32? {
        var result: UInt32 = 0
        var parts = 0
        var value: UInt32 = 0
        var digits = 0
        var i = start
        while i < end {
            let b = text[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                if digits > 0 && value == 0 { return nil }  // leading zero
                value = value * 10 + UInt32(b - UInt8(ascii: "0"))
                digits += 1
                if value > 255 { return nil }
            } else if b == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | value
                parts += 1
                value = 0
                digits = 0
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0, parts == 3 else { return nil }
        return result << 8 | value
    }

    private static func hexValue(_ b: UInt8) -> UInt16? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    static func parseIPv6(_ text: UnsafeRawBufferPointer) -> IPAddress? {
        var end = text.count
        // Zone index: `%` followed by at least one byte, dropped.
        for k in 0..<end where text[k] == UInt8(ascii: "%") {
            guard k + 1 < end else { return nil }
            end = k
            break
        }
        var groups = SIMD8<UInt16>()
        var n = 0
        var gap = -1
        var i = 0
        guard end >= 2 else { return nil }
        if text[0] == UInt8(ascii: ":") {
            guard text[1] == UInt8(ascii: ":") else { return nil }
            gap = 0
            i = 2
        }
        while i < end {
            var j = i
            var value: UInt16 = 0
            while j < end, j - i < 4, let h = hexValue(text[j]) {
                value = value << 4 | h
                j += 1
            }
            if j < end && text[j] == UInt8(ascii: ".") {
                // IPv4 tail: the last 32 bits.
                guard n <= 6, let v4 = parseIPv4(text, i, end) else { return nil }
                groups[n] = UInt16(truncatingIfNeeded: v4 >> 16)
                groups[n + 1] = UInt16(truncatingIfNeeded: v4)
                n += 2
                i = end
                break
            }
            guard j > i, n < 8 else { return nil }
            groups[n] = value
            n += 1
            i = j
            if i == end { break }
            guard text[i] == UInt8(ascii: ":") else { return nil }  // also: a fifth hex digit
            i += 1
            if i < end && text[i] == UInt8(ascii: ":") {
                guard gap < 0 else { return nil }
                gap = n
                i += 1
            } else if i == end {
                return nil  // trailing single colon
            }
        }
        if gap < 0 {
            guard n == 8 else { return nil }
        } else {
            guard n <= 7 else { return nil }
            // Move the groups after the gap to the end.
            let tail = n - gap
            var k = 0
            while k < tail {
                let from = n - 1 - k
                let to = 7 - k
                let v = groups[from]
                groups[from] = 0
                groups[to] = v
                k += 1
            }
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for k in 0..<4 {
            hi = hi << 16 | UInt64(groups[k])
            lo = lo << 16 | UInt64(groups[k + 4])
        }
        return IPAddress(hi: hi, lo: lo)
    }
}
