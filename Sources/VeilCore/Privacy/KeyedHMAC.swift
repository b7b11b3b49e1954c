import Crypto

/// HMAC-SHA256 (RFC 2104) under one fixed key, with the key's inner and outer pads absorbed
/// once, so each MAC costs the SHA-256 blocks of the message and of the outer digest only.
///
/// It calls `SHA256.update(bufferPointer:)` directly: the byte-protocol generic entry points
/// of `HMAC` are not specialised across the module boundary, and their witness lookups cost
/// more than the hashing of a short message. `Pseudonymizer.prf` (the reference, with
/// `HMAC<SHA256>`) and this type must agree; tests check that they do.
struct KeyedHMAC {
    /// SHA-256 after `key ^ ipad`.
    private let inner: SHA256
    /// SHA-256 after `key ^ opad`.
    private let outer: SHA256

    /// - Parameter key: The key bytes; a key longer than the 64-byte block is hashed first.
    init(key: [UInt8]) {
        var block = [UInt8](repeating: 0, count: 64)
        if key.count > 64 {
            let digest = SHA256.hash(data: key)
            digest.withUnsafeBytes { d in
                for k in 0..<d.count { block[k] = d[k] }
            }
        } else {
            for k in 0..<key.count { block[k] = key[k] }
        }
        var i = SHA256(), o = SHA256()
        let ipad = block.map { $0 ^ 0x36 }, opad = block.map { $0 ^ 0x5C }
        ipad.withUnsafeBytes { i.update(bufferPointer: $0) }
        opad.withUnsafeBytes { o.update(bufferPointer: $0) }
        inner = i
        outer = o
    }

    /// The first 128 bits of HMAC-SHA256(key, `message`).
    func pseudonym(_ message: UnsafeRawBufferPointer) -> Pseudonym {
        var i = inner
        i.update(bufferPointer: message)
        var o = outer
        i.finalize().withUnsafeBytes { o.update(bufferPointer: $0) }
        return o.finalize().withUnsafeBytes { Pseudonym(truncating: $0) }
    }
}
