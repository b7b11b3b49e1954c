import Crypto
import Foundation

/// The secrets and identifiers of a differentially private release.
///
/// - The **noise key** seeds every noise draw. Whoever knows it and a release id can subtract
///   the noise, so it must stay as secret as the pseudonym keys: it is derived from the keys of
///   the epochs the state covers, `HKDF-SHA256(ikm = ‖ over the epochs in order of
///   (id, HMAC-SHA256(epoch key, "veil/v1/dp-noise-key")), info = "veil/v1/dp-noise")`. Shredding
///   an epoch's key therefore also ends the possibility to recompute (and so to remove) the
///   noise of every release that covered it, and a state whose epochs were shredded cannot be
///   released with differential privacy any more.
/// - The **release id** is `HMAC-SHA256(noise key, SHA-256(state file bytes) ‖ parameters)`,
///   first 16 bytes in hex: equal for the same state and parameters (the same noise, so the
///   same files and no new budget), different as soon as one byte of the state differs (an
///   erasure, one more input): fresh noise, so two releases never differ by exactly the data.
///   Being keyed, it tells nothing about the state to anyone without the keys.
public enum DPKeys {
    /// - Throws: `VeilError(.key)` when an epoch's key is missing or was shredded, or an epoch
    ///   id is not understood.
    public static func noiseKey(epochs: Set<String>, keyStore: KeyStore) throws(VeilError) -> DPNoiseKey {
        var ikm: [UInt8] = []
        for id in epochs.sorted() {
            guard let epoch = EpochID(id) else {
                throw VeilError(.key, "the state names key epoch '\(id)', which is not an epoch id")
            }
            let key: EpochKey
            do {
                key = try keyStore.key(for: epoch, create: false)
            } catch {
                throw VeilError(
                    .key,
                    "a differentially private release needs the key of every epoch the state covers (its noise key is derived from them): \(error.message)"
                )
            }
            ikm += lengthPrefixed(Array(id.utf8))
            ikm += Array(
                HMAC<SHA256>.authenticationCode(for: Array("veil/v1/dp-noise-key".utf8), using: key.symmetricKey))
        }
        return DPNoiseKey(
            HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: ikm), salt: Array("veil/v1".utf8),
                info: Array("veil/v1/dp-noise".utf8),
                outputByteCount: 32))
    }

    /// The release id of `state` under `parameters` (32 hex digits).
    public static func releaseID(state: AggregateState, parameters: DPParameters, noiseKey: DPNoiseKey) -> String {
        let digest = SHA256.hash(data: StateCodec.encode(state))
        var message = lengthPrefixed(Array("veil/v1/dp-release".utf8))
        message += lengthPrefixed(Array(digest))
        message += lengthPrefixed(Array(parameters.canonical.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: noiseKey.key)
        return mac.prefix(16).map { byte in
            let s = String(byte, radix: 16)
            return byte < 16 ? "0" + s : s
        }.joined()
    }

    static func lengthPrefixed(_ bytes: [UInt8]) -> [UInt8] {
        let n = UInt32(bytes.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }
}

/// The secret that seeds a release's noise (32 bytes). Never printed.
public struct DPNoiseKey: Sendable, CustomStringConvertible, CustomReflectable {
    let bytes: [UInt8]

    init(_ key: SymmetricKey) { bytes = key.withUnsafeBytes { Array($0) } }

    /// A key from 32 bytes (tests; releases derive theirs with ``DPKeys/noiseKey(epochs:keyStore:)``).
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a noise key has 32 bytes")
        self.bytes = bytes
    }

    var key: SymmetricKey { SymmetricKey(data: bytes) }

    public var description: String { "DPNoiseKey(…)" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}
