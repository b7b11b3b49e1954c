/// A set of byte values, 256 bits in four words: a membership test is a shift and a mask. The
/// hot path's pre-checks use it to turn most requests away before any URL pattern is tried.
struct ByteSet: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// The empty set.
    init() {}

    /// Every byte value.
    static var all: ByteSet {
        var s = ByteSet()
        s.words = (.max, .max, .max, .max)
        return s
    }

    /// Whether the set holds every byte value.
    var isFull: Bool { words.0 & words.1 & words.2 & words.3 == .max }

    mutating func insert(_ b: UInt8) {
        let bit = UInt64(1) << UInt64(b & 63)
        switch b >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inline(__always)
    func contains(_ b: UInt8) -> Bool {
        let word: UInt64
        switch b >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word >> UInt64(b & 63) & 1 != 0
    }
}
