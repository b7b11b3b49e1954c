/// How long requests took to serve, as a histogram of log-linear buckets over microseconds:
/// mergeable (counts add), so the percentiles of a merged state are those of all its inputs.
///
/// Bucket `i` for a duration of `v` microseconds: `v` itself below 16 (exact), else, with
/// `e = ⌊log₂ v⌋` (4 or more) and `m` the three bits after the leading one,
/// `16 + 8·(e − 4) + m`: eight buckets per power of two, so a bucket's midpoint is within 1/16
/// (6.25%) of every duration in it. Durations of 2⁴⁰ µs (12.7 days) or more share the last
/// bucket. A percentile is the midpoint of the bucket holding its rank (nearest rank); the
/// mean is exact (the sum of the durations is kept).
///
/// `counts` grows to the highest bucket used (its last element is never 0), so equal
/// histograms are equal arrays; an empty histogram allocates nothing.
public struct DurationHistogram: Sendable, Equatable {
    /// Buckets: 16 exact ones, then 8 per power of two from 2⁴ to 2³⁹.
    public static let bucketCount = 16 + 8 * 36
    /// The largest duration kept apart (µs); longer ones count in the last bucket.
    static let largest: Int64 = (1 << 40) - 1

    /// Requests per bucket, up to the highest bucket used.
    public private(set) var counts: [UInt64] = []
    /// The sum of the durations, in microseconds (stops at `Int64.max`).
    public private(set) var sum: Int64 = 0

    public init() {}

    /// Whether no duration was added.
    public var isEmpty: Bool { counts.isEmpty }

    /// The number of durations added (stops at `UInt64.max`).
    public var count: UInt64 { counts.reduce(0) { $0.addingReportingOverflow($1).overflow ? .max : $0 &+ $1 } }

    /// The bucket of a duration of `microseconds` (0 or more).
    @inline(__always)
    static func bucket(_ microseconds: Int64) -> Int {
        let v = UInt64(min(max(microseconds, 0), largest))
        guard v >= 16 else { return Int(v) }
        let e = 63 - v.leadingZeroBitCount
        let m = Int((v >> UInt64(e - 3)) & 7)
        return 16 + 8 * (e - 4) + m
    }

    /// The durations bucket `i` holds: `lower ..< upper` microseconds.
    static func bounds(_ i: Int) -> (lower: Int64, upper: Int64) {
        guard i >= 16 else { return (Int64(i), Int64(i) + 1) }
        let e = (i - 16) / 8 + 4
        let m = Int64((i - 16) % 8)
        let width = Int64(1) << Int64(e - 3)
        let lower = (8 + m) * width
        return (lower, lower + width)
    }

    /// The value a percentile falling in bucket `i` is given: the bucket's midpoint (its
    /// duration itself below 16 µs).
    static func midpoint(_ i: Int) -> Int64 {
        let (lower, upper) = bounds(i)
        return i < 16 ? lower : lower + (upper - lower) / 2
    }

    /// Adds one request that took `microseconds` (negative: not logged, ignored by callers).
    /// - Complexity: O(1) amortised; allocates only when a higher bucket is first used.
    @inline(__always)
    public mutating func add(microseconds: Int64) {
        let i = Self.bucket(microseconds)
        if i >= counts.count { grow(to: i + 1) }
        counts[i] &+= 1
        sum.addSaturating(max(microseconds, 0))
    }

    @inline(never)
    private mutating func grow(to n: Int) {
        counts.append(contentsOf: repeatElement(0, count: n - counts.count))
    }

    /// Adds `o`'s durations (counts stop at `UInt64.max`, the sum at `Int64.max`).
    public mutating func merge(_ o: DurationHistogram) {
        guard !o.isEmpty else { return }
        if o.counts.count > counts.count { grow(to: o.counts.count) }
        for (i, c) in o.counts.enumerated() {
            let (s, overflow) = counts[i].addingReportingOverflow(c)
            counts[i] = overflow ? .max : s
        }
        sum.addSaturating(o.sum)
    }

    /// The duration (µs) below or at which a share `q` (0 < q ≤ 1) of the requests were
    /// served: the midpoint of the bucket holding the request of rank ⌈q·n⌉. Nil when empty.
    public func percentile(_ q: Double) -> Int64? {
        let n = count
        guard n > 0 else { return nil }
        let rank = max(1, UInt64((Double(n) * q).rounded(.up)))
        var seen: UInt64 = 0
        for (i, c) in counts.enumerated() {
            seen = seen.addingReportingOverflow(c).overflow ? .max : seen &+ c
            if seen >= rank { return Self.midpoint(i) }
        }
        return Self.midpoint(counts.count - 1)
    }

    /// The mean duration in microseconds. Nil when empty.
    public var mean: Double? {
        let n = count
        return n == 0 ? nil : Double(sum) / Double(n)
    }

    /// Microseconds as milliseconds with one decimal (`12.3`), rounded half up.
    static func milliseconds(_ microseconds: Double) -> String {
        let tenths = (microseconds / 100).rounded(.toNearestOrAwayFromZero)
        guard tenths.isFinite, tenths < 1e17 else { return "0.0" }
        let t = Int64(tenths)
        return "\(t / 10).\(t % 10)"
    }

    // MARK: State file

    /// Writes the histogram: varint n (buckets used), then n × (varint bucket, varint count),
    /// buckets increasing, counts at least 1; then, when n > 0, varint sum.
    func encode(into w: inout BinaryWriter) {
        let used = counts.indices.filter { counts[$0] > 0 }
        w.writeVarUInt(UInt64(used.count))
        for i in used {
            w.writeVarUInt(UInt64(i))
            w.writeVarUInt(counts[i])
        }
        if !used.isEmpty { w.writeVarUInt(UInt64(sum)) }
    }

    /// Reads what `encode` wrote.
    /// - Throws: `VeilError` (`.state`) for buckets out of order or range, a zero count or a sum
    ///   past `Int64.max`.
    static func decode(from r: inout BinaryReader) throws(VeilError) -> DurationHistogram {
        var h = DurationHistogram()
        let at = r.offset
        let n = try r.readVarUInt()
        guard n <= UInt64(bucketCount) else { throw r.error("duration histogram too long", at: at) }
        guard n > 0 else { return h }
        var previous = -1
        var counts = [UInt64]()
        for _ in 0..<Int(n) {
            let bucketAt = r.offset
            let i = try r.readVarUInt()
            let c = try r.readVarUInt()
            guard i < UInt64(bucketCount), Int(i) > previous, c > 0 else {
                throw r.error("bad duration histogram bucket", at: bucketAt)
            }
            counts.append(contentsOf: repeatElement(0, count: Int(i) - counts.count))
            counts.append(c)
            previous = Int(i)
        }
        let sumAt = r.offset
        let sum = try r.readVarUInt()
        guard sum <= UInt64(Int64.max) else { throw r.error("duration sum out of range", at: sumAt) }
        h.counts = counts
        h.sum = Int64(sum)
        return h
    }
}
