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

    /// A scan from the end takes the highest flagged byte, so its masks must be exact: the
    /// fillers include each wanted byte xor 0x01 (which the borrowing mask flags falsely above
    /// a match), 0x00, 0x80 and 0xFF, at every length to 40 and every start offset to 7.
    @Test("lastOf: the last of two bytes at every position, next to bytes a borrow would flag")
    func lastOfAtEveryPosition() {
        var rng = StateTestRNG(seed: 0x1A57)
        var wrong: [String] = []
        for (a, b) in [(UInt8(ascii: "."), UInt8(ascii: "/")), (UInt8(ascii: "a"), UInt8(ascii: "z")), (0x00, 0xFF)] {
            let fillers: [UInt8] = [a ^ 1, b ^ 1, 0x00, 0x01, 0x80, 0xFF, 0x7F, UInt8(ascii: "x")].filter {
                $0 != a && $0 != b
            }
            for length in 0...40 {
                for start in 0..<8 {
                    for _ in 0..<6 {
                        var bytes = (0..<(start + length + 8)).map { _ in
                            fillers[Int(rng.next() % UInt64(fillers.count))]
                        }
                        // Zero, one or two wanted bytes inside the range, wanted bytes outside it.
                        for _ in 0..<Int(rng.next() % 3) where length > 0 {
                            bytes[start + Int(rng.next() % UInt64(length))] = rng.next() % 2 == 0 ? a : b
                        }
                        if start > 0 { bytes[start - 1] = a }
                        bytes[start + length] = b
                        let expected = (start..<(start + length)).last { bytes[$0] == a || bytes[$0] == b } ?? -1
                        let got = bytes.withUnsafeBytes {
                            ByteWords.lastOf(a, b, in: $0.baseAddress!, from: start, to: start + length)
                        }
                        if got != expected {
                            wrong.append("\(a),\(b) length \(length) start \(start): \(got), expected \(expected)")
                        }
                    }
                }
            }
        }
        #expect(wrong.count == 0, "\(wrong.count) wrong, first: \(wrong.prefix(5))")
    }
}
