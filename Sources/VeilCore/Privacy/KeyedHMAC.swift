internal import CLibcrypto

/// HMAC-SHA256 (RFC 2104) under one fixed key, with the key's inner and outer pads absorbed
/// once, so each MAC costs the SHA-256 blocks of the message and of the outer digest only.
///
/// The SHA-256 states are OpenSSL's `SHA256_CTX`, plain structs: copying the keyed states is a
/// copy of a few words, with no allocation and no generic entry points in between (through
/// swift-crypto's `HMAC` the copies, their heap boxes and the byte-protocol witnesses cost more
/// than the hashing of a short message). `Pseudonymizer.prf` (the reference, with
/// `HMAC<SHA256>`) and this type must agree; tests check that they do.
struct KeyedHMAC {
    /// SHA-256 after `key ^ ipad`.
    private let inner: SHA256_CTX
    /// SHA-256 after `key ^ opad`.
    private let outer: SHA256_CTX

    /// - Parameter key: The key bytes; a key longer than the 64-byte block is hashed first.
    init(key: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 64)
        if key.count > 64 {
            var c = SHA256_CTX()
            veil_sha256_init(&c)
            key.withUnsafeBytes { veil_sha256_update(&c, $0.baseAddress, $0.count) }
            block.withUnsafeMutableBufferPointer { veil_sha256_final(&c, $0.baseAddress) }
        } else {
            for k in 0..<key.count { block[k] = key[k] }
        }
        var i = SHA256_CTX(), o = SHA256_CTX()
        veil_sha256_init(&i)
        veil_sha256_init(&o)
        let ipad = block.map { $0 ^ 0x36 }, opad = block.map { $0 ^ 0x5C }
        ipad.withUnsafeBytes { veil_sha256_update(&i, $0.baseAddress, $0.count) }
        opad.withUnsafeBytes { veil_sha256_update(&o, $0.baseAddress, $0.count) }
        inner = i
        outer = o
    }

    /// The first 128 bits of HMAC-SHA256(key, `message`).
    func pseudonym(_ message: UnsafeRawBufferPointer) -> Pseudonym {
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &digest) { d in
            // Safe: `d` is 32 bytes, the size of a SHA-256 digest.
            let out = d.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var i = inner
            veil_sha256_update(&i, message.baseAddress, message.count)
            veil_sha256_final(&i, out)
            var o = outer
            veil_sha256_update(&o, out, 32)
            veil_sha256_final(&o, out)
            return Pseudonym(truncating: UnsafeRawBufferPointer(d))
        }
    }
}
