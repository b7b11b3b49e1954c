/// ASCII byte tests shared by the classifiers (a namespace, so the names stay local to them).
enum ClassifyBytes {
    /// ASCII lower-case of one byte; bytes outside `A`...`Z` are returned unchanged.
    @inline(__always) static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
    }

    /// True for ASCII letters `A`...`Z` and `a`...`z`.
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26
    }

    /// True for ASCII digits `0`...`9`.
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }
}

/// An ASCII token searched case-insensitively in a byte buffer.
///
/// The token is stored lower-case once; the haystack is lower-cased byte by byte while
/// comparing, so a search allocates nothing.
struct ByteNeedle: Sendable {
    /// The token, ASCII lower-case.
    let bytes: [UInt8]
    /// The first byte in lower and upper case (equal when it is not a letter).
    private let firstLower: UInt8
    private let firstUpper: UInt8

    /// Makes a needle from ASCII text (a programmer's constant).
    init(_ text: String) {
        precondition(!text.isEmpty && text.utf8.allSatisfy { $0 < 0x80 }, "needle must be ASCII")
        bytes = text.utf8.map(ClassifyBytes.lowercased)
        firstLower = bytes[0]
        firstUpper = ClassifyBytes.isLetter(bytes[0]) ? bytes[0] & ~0x20 : bytes[0]
    }

    /// The first index at or after `start` where the token occurs in `hay`.
    ///
    /// - Complexity: O(`hay.count` × token length) in the worst case.
    func firstIndex(in hay: UnsafeBufferPointer<UInt8>, from start: Int = 0) -> Int? {
        bytes.withUnsafeBufferPointer { needle in
            let n = needle.count
            guard start >= 0, hay.count - start >= n else { return nil }
            let last = hay.count - n
            var i = start
            while i <= last {
                let b = hay[i]
                if b == firstLower || b == firstUpper {
                    var k = 1
                    while k < n, ClassifyBytes.lowercased(hay[i &+ k]) == needle[k] { k += 1 }
                    if k == n { return i }
                }
                i += 1
            }
            return nil
        }
    }
}

/// Where in a haystack a token may match.
enum TokenAnchor: Sendable {
    /// At any offset.
    case anywhere
    /// Only at offset 0.
    case start
    /// At the start of a word: offset 0, or after a byte that is not an ASCII letter.
    case wordStart
}

/// Many ASCII tokens searched case-insensitively in one pass over a haystack.
///
/// Tokens are bucketed by a hash of their first two bytes, so the pass only compares the one
/// or two tokens that could start at each offset. Two questions can be asked: which token
/// comes first in list order (`firstMatch`), and where each token first occurs (`scan`).
struct ByteNeedleSet: Sendable {
    /// Immutable tables in raw buffers, so the matching loops run without reference counting
    /// or bounds-checked array access.
    private final class Tables: @unchecked Sendable {
        // Safe: written only in `init`, read-only afterwards, freed in `deinit`.
        /// All tokens, lower-case, back to back.
        let text: UnsafeMutableBufferPointer<UInt8>
        /// Token `t` is `text[start[t] ..< start[t + 1]]`.
        let start: UnsafeMutableBufferPointer<Int32>
        let anchor: UnsafeMutableBufferPointer<TokenAnchor>
        /// Token indices grouped by `bucket(_:_:)` of their first two bytes, ascending within a
        /// group.
        let bucketed: UnsafeMutableBufferPointer<Int32>
        /// Group `g` is `bucketed[bucketStart[g] ..< bucketStart[g + 1]]`.
        let bucketStart: UnsafeMutableBufferPointer<Int32>

        static let bucketCount = 1024

        /// The bucket of two lower-case bytes.
        @inline(__always) static func bucket(_ first: UInt8, _ second: UInt8) -> Int {
            (Int(first) &* 33 &+ Int(second)) & (bucketCount - 1)
        }

        init(_ tokens: [(text: String, anchor: TokenAnchor)]) {
            let needles = tokens.map { ByteNeedle($0.text).bytes }
            precondition(needles.allSatisfy { $0.count >= 2 }, "tokens have at least two bytes")
            text = .allocate(capacity: needles.reduce(0) { $0 + $1.count })
            start = .allocate(capacity: needles.count + 1)
            anchor = .allocate(capacity: needles.count)
            bucketed = .allocate(capacity: needles.count)
            bucketStart = .allocate(capacity: Self.bucketCount + 1)
            var offset = 0
            for (t, needle) in needles.enumerated() {
                start[t] = Int32(offset)
                for byte in needle {
                    text[offset] = byte
                    offset += 1
                }
                anchor.initializeElement(at: t, to: tokens[t].anchor)
            }
            start[needles.count] = Int32(offset)
            var filled = 0
            let buckets = needles.map { Self.bucket($0[0], $0[1]) }
            for g in 0..<Self.bucketCount {
                bucketStart[g] = Int32(filled)
                for t in 0..<needles.count where buckets[t] == g {
                    bucketed[filled] = Int32(t)
                    filled += 1
                }
            }
            bucketStart[Self.bucketCount] = Int32(filled)
        }

        deinit {
            text.deallocate()
            start.deallocate()
            anchor.deallocate()
            bucketed.deallocate()
            bucketStart.deallocate()
        }

        /// Whether token `t` may and does match at `i` (`i + 1 < hay.count`).
        @inline(__always)
        func matches(_ t: Int, _ hay: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
            switch anchor[t] {
            case .anywhere: break
            case .start: if i != 0 { return false }
            case .wordStart: if i != 0 && ClassifyBytes.isLetter(hay[i - 1]) { return false }
            }
            let from = Int(start[t])
            let n = Int(start[t + 1]) - from
            guard hay.count - i >= n else { return false }
            var k = 0
            while k < n {
                if ClassifyBytes.lowercased(hay[i &+ k]) != text[from &+ k] { return false }
                k += 1
            }
            return true
        }
    }

    private let tables: Tables
    /// How many tokens the set holds.
    let count: Int

    /// Makes the set; `tokens` are ASCII, at least two bytes each, in priority order.
    init(_ tokens: [(text: String, anchor: TokenAnchor)]) {
        tables = Tables(tokens)
        count = tokens.count
    }

    /// The index (in list order) of the first token that occurs in `hay`, or `nil`.
    ///
    /// - Complexity: O(`hay.count` × tokens sharing a first byte × token length).
    func firstMatch(in hay: UnsafeBufferPointer<UInt8>) -> Int? {
        let tables = self.tables
        var best = Int.max
        for i in 0..<max(hay.count - 1, 0) {
            let g = Tables.bucket(ClassifyBytes.lowercased(hay[i]), ClassifyBytes.lowercased(hay[i + 1]))
            var j = Int(tables.bucketStart[g])
            let end = Int(tables.bucketStart[g + 1])
            while j < end {
                let t = Int(tables.bucketed[j])
                if t >= best { break }
                if tables.matches(t, hay, at: i) {
                    best = t
                    break
                }
                j += 1
            }
        }
        return best == Int.max ? nil : best
    }

    /// For every token, the offset just past its first occurrence in `hay`, or -1.
    ///
    /// - Parameter ends: at least `count` slots, overwritten.
    /// - Complexity: O(`hay.count` × tokens sharing a first byte × token length).
    func scan(_ hay: UnsafeBufferPointer<UInt8>, ends: UnsafeMutableBufferPointer<Int32>) {
        precondition(ends.count >= count, "one slot per token")
        let tables = self.tables
        for t in 0..<count { ends[t] = -1 }
        for i in 0..<max(hay.count - 1, 0) {
            let g = Tables.bucket(ClassifyBytes.lowercased(hay[i]), ClassifyBytes.lowercased(hay[i + 1]))
            var j = Int(tables.bucketStart[g])
            let end = Int(tables.bucketStart[g + 1])
            while j < end {
                let t = Int(tables.bucketed[j])
                if ends[t] < 0 && tables.matches(t, hay, at: i) {
                    let n = Int(tables.start[t + 1] - tables.start[t])
                    ends[t] = Int32(truncatingIfNeeded: i + n)
                }
                j += 1
            }
        }
    }
}
