import Crypto
import Foundation

/// A cryptographically secure stream of random bits: the ChaCha20 keystream of a 256-bit seed.
///
/// The keystream is taken from swift-crypto's ChaCha20-Poly1305 sealing an all-zero message
/// (the ciphertext of zeros is the keystream), under nonces 0, 1, 2, … — a fresh nonce per
/// chunk, so no keystream block is ever repeated. The same seed always gives the same bits:
/// that is what makes a release reproducible, and why the seed must come from a secret key.
///
/// Chunk `i` is the keystream of nonce `i`, of a fixed length: 128 bytes for the first (most
/// partitions need a few dozen words), four times the previous one after that, up to 4 KiB
/// (long runs, as in the sampler tests, cost one seal per 512 words). The schedule is part of
/// what the bits are: changing it would change every release's noise.
///
/// Not `Sendable`: one stream per partition (or per test).
public final class NoiseStream {
    private let key: SymmetricKey
    private var nonce: UInt64 = 0
    private var words: [UInt64] = []
    private var next = 0
    private var chunkBytes = 128
    private var bitBuffer: UInt64 = 0
    private var bitsLeft = 0

    /// The largest chunk, in bytes.
    static let maxChunk = 4096

    /// A stream from a 32-byte seed.
    /// - Precondition: `seed.count == 32`.
    public init(seed: [UInt8]) {
        precondition(seed.count == 32, "a noise seed has 32 bytes")
        key = SymmetricKey(data: seed)
    }

    /// A stream whose seed is `HMAC-SHA256(key, message)`.
    public convenience init(key: DPNoiseKey, message: [UInt8]) {
        self.init(seed: Array(HMAC<SHA256>.authenticationCode(for: message, using: key.key)))
    }

    /// The next 64 random bits.
    @inline(__always)
    public func nextWord() -> UInt64 {
        if next == words.count { refill() }
        let w = words[next]
        next &+= 1
        return w
    }

    @inline(never)
    private func refill() {
        var nonceBytes = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { nonceBytes[11 - i] = UInt8(truncatingIfNeeded: nonce >> (8 * UInt64(i))) }
        nonce &+= 1
        let zeros = [UInt8](repeating: 0, count: chunkBytes)
        // Safe: a 12-byte nonce and a 32-byte key are always valid; sealing cannot fail.
        let box = try! ChaChaPoly.seal(zeros, using: key, nonce: try! ChaChaPoly.Nonce(data: nonceBytes))
        let stream = box.ciphertext
        words.removeAll(keepingCapacity: true)
        words.reserveCapacity(chunkBytes / 8)
        stream.withUnsafeBytes { raw in
            for i in 0..<(chunkBytes / 8) {
                words.append(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))
            }
        }
        next = 0
        chunkBytes = min(Self.maxChunk, chunkBytes * 4)
    }

    /// One fair random bit.
    @inline(__always)
    public func bit() -> Bool {
        if bitsLeft == 0 {
            bitBuffer = nextWord()
            bitsLeft = 64
        }
        let b = bitBuffer & 1 == 1
        bitBuffer >>= 1
        bitsLeft &-= 1
        return b
    }

    /// A uniform integer in `0..<n`, exactly (Lemire's multiply-and-reject: no modulo bias).
    /// - Precondition: `n >= 1`.
    @inline(__always)
    public func uniform(below n: UInt64) -> UInt64 {
        precondition(n >= 1)
        if n == 1 { return 0 }
        var m = nextWord().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = nextWord().multipliedFullWidth(by: n) }
        }
        return m.high
    }
}
