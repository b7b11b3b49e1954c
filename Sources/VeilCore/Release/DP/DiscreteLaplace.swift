/// Exact samplers for the discrete Laplace distribution, in integer arithmetic only.
///
/// The algorithms are those of Canonne, Kamath and Steinke, "The Discrete Gaussian for
/// Differential Privacy" (NeurIPS 2020), Algorithms 1 and 2: Bernoulli(exp(−γ)) for a rational
/// γ by the alternating Taylor series, a geometric variable from repeated Bernoulli(exp(−1))
/// trials, and a sign with the (−, 0) outcome rejected. Every step draws uniform integers from
/// a ``NoiseStream`` and compares integers: there is no floating-point `log`, `exp` or division
/// anywhere, so the output distribution is exactly the intended one (the attacks on naive
/// floating-point Laplace noise, Mironov 2012, have nothing to exploit). This file does not
/// even import Foundation; the floating-point formulas for documentation and tests are in
/// ``DiscreteLaplaceMath``.
///
/// The discrete Laplace distribution with scale `t` has probability mass
/// `P(Z = z) = (1 − q) / (1 + q) · q^|z|` with `q = exp(−1/t)`; its variance is
/// `2q / (1 − q)²` (about `2t²` for large `t`). Adding it to an integer count of L1
/// sensitivity Δ with `t = Δ / ε` gives ε-differential privacy.
public enum DiscreteLaplace {
    /// One sample with scale `numerator / denominator`.
    /// - Precondition: both are at least 1 and below 2^48 (so products of the algorithm fit in
    ///   64 bits).
    public static func sample(scaleNumerator t: UInt64, scaleDenominator s: UInt64, _ rng: NoiseStream) -> Int64 {
        precondition(t >= 1 && s >= 1 && t < 1 << 48 && s < 1 << 48, "discrete Laplace scale out of range")
        while true {
            // X = U + t·V is geometric with parameter exp(−1/t): U uniform in [0, t) accepted
            // with probability exp(−U/t), V geometric with parameter exp(−1).
            let u = rng.uniform(below: t)
            guard bernoulliExp(numerator: u, denominator: t, rng) else { continue }
            var v: UInt64 = 0
            while bernoulliExp(numerator: 1, denominator: 1, rng) { v &+= 1 }
            let (tv, overflow) = t.multipliedReportingOverflow(by: v)
            guard !overflow, tv <= UInt64(Int64.max) - u else { continue }  // Probability below 2^-40.
            let y = (u + tv) / s
            let negative = rng.bit()
            if negative && y == 0 { continue }
            return negative ? -Int64(y) : Int64(y)
        }
    }

    /// A Bernoulli variable that is true with probability exp(−n/d), exactly.
    /// - Precondition: `d >= 1`.
    public static func bernoulliExp(numerator n: UInt64, denominator d: UInt64, _ rng: NoiseStream) -> Bool {
        precondition(d >= 1)
        var n = n
        // exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)): one Bernoulli(exp(−1)) per whole unit.
        while n > d {
            if !bernoulliExpUnit(numerator: 1, denominator: 1, rng) { return false }
            n -= d
        }
        return bernoulliExpUnit(numerator: n, denominator: d, rng)
    }

    /// Bernoulli(exp(−γ)) for γ = n/d in [0, 1]: draw A_k ~ Bernoulli(γ/k) for k = 1, 2, … until
    /// one is 0; the result is whether that k is odd. P(odd) = Σ (−γ)^j / j! = exp(−γ).
    @inline(__always)
    static func bernoulliExpUnit(numerator n: UInt64, denominator d: UInt64, _ rng: NoiseStream) -> Bool {
        if n == 0 { return true }
        var k: UInt64 = 1
        while true {
            let (dk, overflow) = d.multipliedReportingOverflow(by: k)
            // Safe: k exceeding 2^16 has probability below 1/(2^16)!; d < 2^48.
            precondition(!overflow, "Bernoulli(exp) trial count overflow")
            if rng.uniform(below: dk) >= n { break }  // A_k = 0 with probability 1 − n/(d·k)
            k &+= 1
        }
        return k & 1 == 1
    }
}
