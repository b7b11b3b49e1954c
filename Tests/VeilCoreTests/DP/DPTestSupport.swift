import Foundation
import Testing

@testable import VeilCore

/// Statistics helpers for the differential privacy tests (floating point is fine here: these
/// judge the sampler, they are not part of it).
enum DPStats {
    /// The regularized upper incomplete gamma function Q(a, x) (series below a + 1, Lentz's
    /// continued fraction above).
    static func gammaQ(_ a: Double, _ x: Double) -> Double {
        precondition(a > 0 && x >= 0)
        if x == 0 { return 1 }
        let logPrefix = -x + a * log(x) - lgamma(a)
        if x < a + 1 {
            var ap = a
            var del = 1 / a
            var sum = del
            for _ in 0..<10_000 {
                ap += 1
                del *= x / ap
                sum += del
                if abs(del) < abs(sum) * 1e-16 { break }
            }
            return max(0, 1 - sum * exp(logPrefix))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1..<10_000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
        }
        return exp(logPrefix) * h
    }

    /// The p-value of a χ² statistic with `df` degrees of freedom.
    static func chiSquarePValue(_ chi2: Double, df: Int) -> Double { gammaQ(Double(df) / 2, chi2 / 2) }

    /// Pearson's χ² of a histogram of discrete Laplace samples against the exact pmf of scale
    /// `t`: one bin per value in [−M, M] and one per tail, M the largest value whose bin and
    /// tail both expect at least 5 samples.
    static func chiSquare(_ histogram: [Int64: Int], n: Int, scale t: Double) -> (chi2: Double, df: Int, bins: Int) {
        let total = Double(n)
        var m: Int64 = 0
        while total * DiscreteLaplaceMath.probability(m + 1, scale: t) >= 5 { m += 1 }
        while m > 0 && total * DiscreteLaplaceMath.upperTail(m + 1, scale: t) < 5 { m -= 1 }
        var chi2 = 0.0
        var bins = 0
        func add(_ observed: Int, _ expected: Double) {
            chi2 += (Double(observed) - expected) * (Double(observed) - expected) / expected
            bins += 1
        }
        for z in -m...m { add(histogram[z] ?? 0, total * DiscreteLaplaceMath.probability(z, scale: t)) }
        let tail = total * DiscreteLaplaceMath.upperTail(m + 1, scale: t)
        add(histogram.filter { $0.key > m }.reduce(0) { $0 + $1.value }, tail)
        add(histogram.filter { $0.key < -m }.reduce(0) { $0 + $1.value }, tail)
        return (chi2, bins - 1, bins)
    }

    /// Whether `observed` successes of `n` trials are within `sigmas` standard deviations of
    /// a binomial with probability `p`.
    static func withinSigmas(_ observed: Int, n: Int, p: Double, sigmas: Double) -> Bool {
        let mean = Double(n) * p
        let sd = (Double(n) * p * (1 - p)).squareRoot()
        return abs(Double(observed) - mean) <= sigmas * sd
    }
}

/// A fixed 32-byte seed from a number.
func dpTestSeed(_ n: UInt64) -> [UInt8] {
    var rng = StateTestRNG(seed: n)
    return (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}
