/// xoshiro256** (Blackman, Vigna 2018): the generator's only source of randomness.
///
/// Every draw is integer arithmetic, so a seed gives the same sequence on every platform and
/// compiler. Swift's default random number generator is never used.
struct Xoshiro256StarStar {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Seeds stream `stream` of `seed` through SplitMix64; different streams are independent.
    init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD6E8_FEB8_6659_FD93))
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 &- k))
    }

    /// The next 64-bit output.
    @inline(__always) mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// A number in `0..<n` (multiply-high reduction; `n` must be positive).
    @inline(__always) mutating func below(_ n: Int) -> Int {
        precondition(n > 0, "below(_:) needs a positive bound")
        return Int(truncatingIfNeeded: UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// A number in `low...high`.
    @inline(__always) mutating func inRange(_ low: Int, _ high: Int) -> Int {
        low + below(high - low + 1)
    }

    /// True with probability `perMillion / 1_000_000`.
    @inline(__always) mutating func chance(perMillion: Int) -> Bool {
        below(1_000_000) < perMillion
    }

    /// A uniformly chosen element of a non-empty array.
    @inline(__always) mutating func pick<T>(_ items: [T]) -> T {
        items[below(items.count)]
    }

    /// Shuffles `items` in place (Fisher–Yates).
    mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, below(i + 1))
        }
    }
}
