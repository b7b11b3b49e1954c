import Testing

@testable import VeilCore

@Suite("ByteWords")
struct ByteWordsTests {
    /// `equal` reads whole blocks and moves the last ones back to end at `count`: every length
    /// from 0 to 300 (each size class and its edges), at unaligned starts between bytes that differ, equal keys and keys
    /// that differ in one bit at each position in turn.
    @Test("equal: every length to 300, a difference at every position")
    func equalAtEveryLength() {
        var rng = StateTestRNG(seed: 0xB17E)
        var a = [UInt8](repeating: 0, count: 310)
        var b = [UInt8](repeating: 0, count: 310)
        var wrong: [String] = []
        for n in 0...300 {
            let (sa, sb) = (n % 3, 1 + n % 5)
            for k in 0..<n {
                let byte = UInt8(truncatingIfNeeded: rng.next())
                a[sa + k] = byte
                b[sb + k] = byte
            }
            // The bytes around the keys differ: none of them may be read as part of a key.
            a[sa + n] = 0x00
            b[sb + n] = 0xFF
            b[sb - 1] = sa > 0 ? ~a[sa - 1] : 0x5A
            a.withUnsafeBytes { pa in
                b.withUnsafeMutableBytes { pb in
                    if !ByteWords.equal(pa.baseAddress! + sa, pb.baseAddress! + sb, count: n) {
                        wrong.append("\(n): equal bytes said different")
                    }
                    for at in 0..<n {
                        let bit = UInt8(1) << UInt8(truncatingIfNeeded: rng.next() % 8)
                        pb[sb + at] ^= bit
                        if ByteWords.equal(pa.baseAddress! + sa, pb.baseAddress! + sb, count: n) {
                            wrong.append("\(n): byte \(at) differs, said equal")
                        }
                        pb[sb + at] ^= bit
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
    }
}
