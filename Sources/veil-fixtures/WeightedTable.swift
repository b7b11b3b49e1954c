/// Samples indices in proportion to integer weights (cumulative table + binary search).
///
/// Weights are integers so that sampling is exact and identical on every platform.
struct WeightedTable {
    private var cumulative: [UInt64] = []

    /// Builds a table; every weight must be non-negative and their sum positive.
    init(weights: [UInt64]) {
        var total: UInt64 = 0
        cumulative.reserveCapacity(weights.count)
        for w in weights {
            total += w
            cumulative.append(total)
        }
        precondition(total > 0, "a weighted table needs a positive total weight")
    }

    init(_ weights: [Int]) {
        self.init(weights: weights.map { UInt64($0) })
    }

    var count: Int { cumulative.count }

    /// An index drawn with probability weight[i] / total.
    func sample(_ rng: inout Xoshiro256StarStar) -> Int {
        let total = cumulative[cumulative.count - 1]
        let r = total.multipliedFullWidth(by: rng.next()).high
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let mid = (low + high) >> 1
            if cumulative[mid] > r { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// Zipf weights `1 / k^s` for ranks 1...n, `s = 1.1`, as integers.
    ///
    /// `k^0.1` is found by Newton's method with only `*` and `/`, which IEEE 754 rounds the
    /// same way everywhere (unlike `pow`, whose last bit differs between C libraries).
    static func zipf(count n: Int) -> WeightedTable {
        var weights: [UInt64] = []
        weights.reserveCapacity(n)
        for k in 1...max(1, n) {
            let x = Double(k)
            var root = 1 + (x - 1) / 10  // ≥ x^0.1, so Newton descends monotonically
            for _ in 0..<200 {
                var p9 = 1.0
                for _ in 0..<9 { p9 *= root }
                let next = root - (p9 * root - x) / (10 * p9)
                if !(next < root) { break }
                root = next
            }
            weights.append(UInt64(1e12 / (x * root)))
        }
        return WeightedTable(weights: weights)
    }
}
