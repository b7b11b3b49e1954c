/// A key whose 64-bit hash is cheap and well mixed (no per-process seeded SipHash).
public protocol FastHashable: Equatable {
    var fastHash: UInt64 { get }
}

/// Maps keys to dense indices `0..<count` in insertion order, with open addressing and linear
/// probing. veil's hot path looks up table cells and visitors with it: a lookup is one multiply,
/// a probe or two and one key compare, where `Dictionary` would run SipHash.
///
/// Keys are stored in `keys`, so index `i` names `keys[i]`.
public struct IndexTable<Key: FastHashable>: Sendable where Key: Sendable {
    public private(set) var keys: [Key] = []
    /// Slot → index + 1 (0 = empty). Capacity is a power of two, at most 50% full.
    private var slots: [Int32]
    private var mask: Int

    public init(capacity: Int = 64) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: 0, count: n)
        mask = n - 1
    }

    public var count: Int { keys.count }

    /// The index of `key`, if present.
    @inline(__always)
    public func find(_ key: Key) -> Int? {
        var slot = Int(truncatingIfNeeded: key.fastHash) & mask
        return slots.withUnsafeBufferPointer { s in
            keys.withUnsafeBufferPointer { k in
                while true {
                    let e = Int(s[slot])
                    if e == 0 { return nil }
                    if k[e - 1] == key { return e - 1 }
                    slot = (slot &+ 1) & mask
                }
            }
        }
    }

    /// The index of `key`, inserting it (at index `count`) when absent.
    /// - Returns: the index, and whether it was inserted.
    @inline(__always)
    public mutating func findOrInsert(_ key: Key) -> (index: Int, inserted: Bool) {
        if let i = find(key) { return (i, false) }
        return (insertNew(key), true)
    }

    @inline(never)
    private mutating func insertNew(_ key: Key) -> Int {
        if (keys.count + 1) * 2 > slots.count { grow() }
        let index = keys.count
        keys.append(key)
        place(index)
        return index
    }

    private mutating func place(_ index: Int) {
        var slot = Int(truncatingIfNeeded: keys[index].fastHash) & mask
        while slots[slot] != 0 { slot = (slot &+ 1) & mask }
        slots[slot] = Int32(index + 1)
    }

    private mutating func grow() {
        let n = slots.count * 2
        slots = [Int32](repeating: 0, count: n)
        mask = n - 1
        for i in keys.indices { place(i) }
    }
}

/// A strong 64-bit mixer (the finaliser of SplitMix64 / MurmurHash3).
@inline(__always)
func mix64(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
