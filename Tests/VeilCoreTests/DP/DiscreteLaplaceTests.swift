import Foundation
import Testing

@testable import VeilCore

@Suite("DP: exact discrete Laplace sampler")
struct DiscreteLaplaceTests {
    static let sampleCount = 1_000_000

    /// Draws `n` samples of scale `t / s` from a fixed seed.
    static func histogram(t: UInt64, s: UInt64, seed: UInt64, n: Int = sampleCount) -> [Int64: Int] {
        let rng = NoiseStream(seed: dpTestSeed(seed))
        var h: [Int64: Int] = [:]
        for _ in 0..<n { h[DiscreteLaplace.sample(scaleNumerator: t, scaleDenominator: s, rng), default: 0] += 1 }
        return h
    }

    @Test(
        "10^6 samples follow the exact discrete Laplace pmf (χ², bins merged below 5 expected; p > 1e-4), and their variance is 2q/(1-q)²",
        arguments: [(UInt64(1), UInt64(2)), (1, 1), (3, 1), (7, 3), (10, 1)])
    func chiSquareGoodnessOfFit(t: UInt64, s: UInt64) {
        let scale = Double(t) / Double(s)
        let h = Self.histogram(t: t, s: s, seed: 0xD15C_0000 + t * 31 + s)
        #expect(h.values.reduce(0, +) == Self.sampleCount)
        let (chi2, df, bins) = DPStats.chiSquare(h, n: Self.sampleCount, scale: scale)
        let p = DPStats.chiSquarePValue(chi2, df: df)
        #expect(bins >= 7, "too few bins (\(bins)) for a meaningful test")
        #expect(p > 1e-4, "scale \(t)/\(s): χ² = \(chi2) on \(df) df, p = \(p)")

        // Moments: mean 0 (symmetry), variance 2q/(1−q)² (the README's noise formula).
        let n = Double(Self.sampleCount)
        let mean = h.reduce(0.0) { $0 + Double($1.key) * Double($1.value) } / n
        let variance = h.reduce(0.0) { $0 + (Double($1.key) - mean) * (Double($1.key) - mean) * Double($1.value) } / n
        let expected = DiscreteLaplaceMath.variance(scale: scale)
        #expect(abs(mean) < 5 * (expected / n).squareRoot(), "mean \(mean)")
        #expect(abs(variance / expected - 1) < 0.02, "variance \(variance), expected \(expected)")
    }

    /// The same test has the power to reject a sampler that is off by 5% in scale, so a pass
    /// above means something.
    @Test("control: samples of scale 10 are rejected as scale 10.5 and as scale 9.5")
    func chiSquareRejectsAWrongScale() {
        let h = Self.histogram(t: 10, s: 1, seed: 0xD15C_1000)
        for wrong in [10.5, 9.5] {
            let (chi2, df, _) = DPStats.chiSquare(h, n: Self.sampleCount, scale: wrong)
            #expect(DPStats.chiSquarePValue(chi2, df: df) < 1e-10, "scale \(wrong): χ² = \(chi2) on \(df) df")
        }
    }

    @Test(
        "Bernoulli(exp(-n/d)) is true with probability exp(-n/d) (2·10^5 draws within 4σ)",
        arguments: [(UInt64(0), UInt64(1)), (1, 3), (1, 1), (5, 2), (7, 1), (999, 1000)])
    func bernoulliExp(n: UInt64, d: UInt64) {
        let rng = NoiseStream(seed: dpTestSeed(0xBE00 + n * 7 + d))
        let trials = 200_000
        var hits = 0
        for _ in 0..<trials where DiscreteLaplace.bernoulliExp(numerator: n, denominator: d, rng) { hits += 1 }
        let p = exp(-Double(n) / Double(d))
        if n == 0 {
            #expect(hits == trials)
        } else {
            #expect(DPStats.withinSigmas(hits, n: trials, p: p, sigmas: 4), "\(hits) of \(trials), expected p = \(p)")
        }
    }

    @Test("uniform(below:) hits every value of a small range equally (χ², p > 1e-4) and never reaches n")
    func uniformIsUniform() {
        let rng = NoiseStream(seed: dpTestSeed(0x0417))
        for n: UInt64 in [1, 3, 10, 1 << 40 + 7] {
            var counts = [Int](repeating: 0, count: 10)
            let draws = 100_000
            for _ in 0..<draws {
                let x = rng.uniform(below: n)
                #expect(x < n)
                counts[Int(x % 10)] += n < 10 ? 0 : 1
                if n < 10 { counts[Int(x)] += 1 }
            }
            let k = Int(min(n, 10))
            if k < 2 { continue }
            let expected = Double(draws) / Double(k)
            let chi2 = counts.prefix(k).reduce(0.0) {
                $0 + (Double($1) - expected) * (Double($1) - expected) / expected
            }
            #expect(DPStats.chiSquarePValue(chi2, df: k - 1) > 1e-4, "n = \(n): \(counts)")
        }
    }

    @Test("a noise stream is a function of its seed: same seed, same words; another seed or message, other words")
    func noiseStreamIsDeterministic() {
        func words(_ seed: [UInt8], _ count: Int = 3000) -> [UInt64] {
            let s = NoiseStream(seed: seed)
            return (0..<count).map { _ in s.nextWord() }
        }
        let a = words(dpTestSeed(1)), b = words(dpTestSeed(1)), c = words(dpTestSeed(2))
        #expect(a == b)
        #expect(a != c)
        #expect(Set(a).count == a.count, "repeated 64-bit words: the keystream repeats")
        // Bits taken one at a time come from the same words.
        let bits = NoiseStream(seed: dpTestSeed(1))
        var first: UInt64 = 0
        for i in 0..<64 where bits.bit() { first |= 1 << UInt64(i) }
        #expect(first == a[0])
        // Keyed: HMAC(key, message) seeds it.
        let key = DPNoiseKey(bytes: dpTestSeed(9))
        let m1 = NoiseStream(key: key, message: Array("a".utf8)), m2 = NoiseStream(key: key, message: Array("b".utf8))
        #expect(m1.nextWord() != m2.nextWord())
    }

    @Test("the sampler's source uses no floating point: no Double, Float, exp, log, or Foundation")
    func samplerHasNoFloatingPoint() throws {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        let source = try String(
            contentsOf: url.appendingPathComponent("Sources/VeilCore/Release/DP/DiscreteLaplace.swift"), encoding: .utf8
        )
        let code = source.split(separator: "\n").map { line -> Substring in
            guard let c = line.range(of: "//") else { return line }
            return line[..<c.lowerBound]
        }.joined(separator: "\n")
        #expect(code.contains("func sample("), "not the sampler's source")
        for banned in ["Double", "Float", "exp(", "log(", "import Foundation", "pow(", "sqrt"] {
            #expect(!code.contains(banned), "the sampler's code uses \(banned)")
        }
    }
}
