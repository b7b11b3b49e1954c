/// Hands out one timestamp per log line: strictly increasing (while lines are at least a
/// millisecond apart), spread over the period along a day/night curve, with jitter.
///
/// The period is cut at UTC hour boundaries; each slice gets lines in proportion to its
/// length times the weight of its UTC hour (largest-remainder rounding, integers only), and
/// line `j` of `c` in a slice of `d` ms falls in `[j·d/c, (j+1)·d/c)`.
struct Timeline {
    /// Relative traffic per UTC hour: quiet at night, peaks late morning and evening.
    static let hourWeights = [
        28, 20, 15, 12, 11, 13, 20, 34, 52, 66, 74, 79, 81, 80, 78, 76, 75, 77, 80, 84, 82, 72, 56, 40,
    ]

    private var sliceStart: [Int64] = []
    private var sliceLength: [Int64] = []
    private var sliceCount: [Int] = []
    private var slice = 0
    private var position = 0

    init(startSeconds: Int64, days: Int, lines: Int) {
        let start = startSeconds * 1000
        let end = start + Int64(days) * 86_400_000
        var t = start
        var weights: [Int64] = []
        while t < end {
            let next = min(end, (t / 3_600_000 + 1) * 3_600_000)
            let hour = Int((t / 3_600_000) % 24)
            sliceStart.append(t)
            sliceLength.append(next - t)
            weights.append(Int64(Self.hourWeights[hour]) * (next - t) / 1000)
            t = next
        }
        let total = weights.reduce(0, +)
        var counts: [Int] = []
        var remainders: [(Int64, Int)] = []
        var assigned = 0
        for (i, w) in weights.enumerated() {
            let exact = Int64(lines).multipliedFullWidth(by: w)
            let (q, r) = total.dividingFullWidth(exact)
            counts.append(Int(q))
            assigned += Int(q)
            remainders.append((r, i))
        }
        remainders.sort { $0.0 != $1.0 ? $0.0 > $1.0 : $0.1 < $1.1 }
        for k in 0..<(lines - assigned) { counts[remainders[k].1] += 1 }
        sliceCount = counts
    }

    /// The timestamp (Unix ms) of the next line.
    mutating func next(_ rng: inout Xoshiro256StarStar) -> Int64 {
        while slice < sliceCount.count && position >= sliceCount[slice] {
            slice += 1
            position = 0
        }
        precondition(slice < sliceCount.count, "more lines requested than the timeline holds")
        let c = Int64(sliceCount[slice])
        let d = sliceLength[slice]
        let j = Int64(position)
        position += 1
        let low = j * d / c
        let high = (j + 1) * d / c
        let jitter = high > low ? Int64(rng.below(Int(high - low))) : 0
        return sliceStart[slice] + low + jitter
    }
}
