/// An open-addressing hash table keyed by byte strings, for caches and interning on the hot path.
///
/// Keys are copied into one growing byte arena; values live in an array. Entries are numbered
/// densely `0..<count` in insertion order and are never removed one by one, so an entry index
/// doubles as an interned id. The caller computes each key's hash once (usually with
/// `ByteKeyedTable.hash(_:)`) and passes it to `find` and `insert`, so a miss followed by an
/// insert hashes the key only once.
///
/// Lookups do not allocate. Inserts allocate only when the arena, the entry arrays or the slot
/// array grow (amortised doubling); `removeAll()` keeps all capacity.
///
/// Collision handling is linear probing over a power-of-two slot array kept at most 3/4 full.
/// Each entry stores its full 64-bit hash, so a probe compares key bytes only when the hashes
/// are equal.
public struct ByteKeyedTable<Value> {
    /// Slot → entry index, or `-1` for an empty slot. The count is a power of two.
    private var slots: [Int32]
    /// Entry → start of its key in `arena`; one extra element so entry `i`'s key is
    /// `arena[keyStarts[i]..<keyStarts[i + 1]]`.
    private var keyStarts: [Int]
    /// Entry → the full hash it was inserted with.
    private var hashes: [UInt64]
    /// Entry → value.
    private var values: [Value]
    /// All keys, back to back.
    private var arena: [UInt8]

    /// The largest number of entries: entry indices are stored as `Int32`.
    public static var maximumCount: Int { Int(Int32.max) / 2 }

    /// Creates an empty table with room for about `initialCapacity` entries before it grows.
    public init(initialCapacity: Int = 1024) {
        precondition(initialCapacity >= 0, "negative capacity")
        let slotCount = Self.slotCount(for: Swift.max(initialCapacity, 8))
        slots = Array(repeating: -1, count: slotCount)
        keyStarts = [0]
        keyStarts.reserveCapacity(initialCapacity + 1)
        hashes = []
        hashes.reserveCapacity(initialCapacity)
        values = []
        values.reserveCapacity(initialCapacity)
        arena = []
        arena.reserveCapacity(initialCapacity * 16)
    }

    /// The number of entries.
    public var count: Int { values.count }

    /// Whether the table has no entries.
    public var isEmpty: Bool { values.isEmpty }

    /// The total length of all keys, in bytes (the arena's size, for memory bounds).
    public var keyByteCount: Int { arena.count }

    /// The number of entries the table holds before its slot array next grows.
    public var capacity: Int { slots.count / 4 * 3 }

    /// Finds the entry whose key equals `key`.
    ///
    /// - Parameters:
    ///   - key: The key bytes.
    ///   - hash: The hash of `key`; must be the value given to `insert` for the same key.
    /// - Returns: The entry index, or `nil` when the key is absent.
    /// - Complexity: O(1) expected; does not allocate.
    public func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        let entry = slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                keyStarts.withUnsafeBufferPointer { starts in
                    arena.withUnsafeBytes { arena -> Int32 in
                        let mask = slots.count &- 1
                        var slot = Int(truncatingIfNeeded: hash) & mask
                        while true {
                            let e = slots[slot]
                            if e < 0 { return -1 }
                            let i = Int(e)
                            if hashes[i] == hash {
                                let start = starts[i]
                                let length = starts[i &+ 1] &- start
                                if length == key.count
                                    && (length == 0
                                        || memcmpBytes(arena.baseAddress! + start, key.baseAddress!, length))
                                {
                                    return e
                                }
                            }
                            slot = (slot &+ 1) & mask
                        }
                    }
                }
            }
        }
        return entry < 0 ? nil : Int(entry)
    }

    /// The value of entry `index`.
    public func value(at index: Int) -> Value {
        values[index]
    }

    /// Replaces the value of entry `index`.
    public mutating func setValue(_ value: Value, at index: Int) {
        values[index] = value
    }

    /// Calls `body` with the value of entry `index` for in-place mutation (no copy of the value).
    public mutating func withValue<R, E: Error>(
        at index: Int, _ body: (inout Value) throws(E) -> R
    ) throws(E) -> R {
        try body(&values[index])
    }

    /// Calls `body` with the key bytes of entry `index`. The pointer is valid only inside `body`.
    public func withKey<R, E: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let start = keyStarts[index]
        let end = keyStarts[index + 1]
        // Rethrowing a typed error through withUnsafeBytes needs a Result round trip.
        let result: Result<R, E> = arena.withUnsafeBytes { arena in
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: arena[start..<end])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The key of entry `index` as a new array (allocates; for tests and slow paths).
    public func key(at index: Int) -> [UInt8] {
        Array(arena[keyStarts[index]..<keyStarts[index + 1]])
    }

    /// The length in bytes of entry `index`'s key.
    public func keyLength(at index: Int) -> Int {
        keyStarts[index + 1] - keyStarts[index]
    }

    /// Adds a new entry and returns its index, which is the previous `count`.
    ///
    /// The key must not be present already (call `find` first); debug builds check this.
    ///
    /// - Parameters:
    ///   - key: The key bytes, copied into the table.
    ///   - hash: The hash of `key`, the same value later passed to `find`.
    ///   - value: The entry's value.
    /// - Returns: The new entry's index.
    /// - Complexity: Amortised O(1 + key length).
    @discardableResult
    public mutating func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value: Value) -> Int {
        assert(find(key, hash: hash) == nil, "ByteKeyedTable.insert: key already present")
        precondition(values.count < Self.maximumCount, "ByteKeyedTable is full")
        if (values.count + 1) * 4 > slots.count * 3 {
            grow()
        }
        let index = values.count
        arena.append(contentsOf: key)
        keyStarts.append(arena.count)
        hashes.append(hash)
        values.append(value)
        place(entry: index, hash: hash)
        return index
    }

    /// Returns the index of the entry for `key`, inserting `makeValue()` first when it is absent.
    ///
    /// - Returns: The entry index and whether it was inserted by this call.
    public mutating func findOrInsert(
        _ key: UnsafeRawBufferPointer, hash: UInt64, _ makeValue: () -> Value
    ) -> (index: Int, inserted: Bool) {
        if let index = find(key, hash: hash) {
            return (index, false)
        }
        return (insert(key, hash: hash, value: makeValue()), true)
    }

    /// Removes every entry, keeping the capacity of all storage.
    public mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        keyStarts.removeAll(keepingCapacity: true)
        keyStarts.append(0)
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
    }

    // MARK: - Internals

    private static func slotCount(for capacity: Int) -> Int {
        var n = 16
        while n / 4 * 3 < capacity { n <<= 1 }
        return n
    }

    @inline(never)
    private mutating func grow() {
        let newCount = slots.count * 2
        slots = Array(repeating: -1, count: newCount)
        for i in 0..<values.count {
            place(entry: i, hash: hashes[i])
        }
    }

    /// Puts `entry` in the first free slot of its probe sequence.
    private mutating func place(entry: Int, hash: UInt64) {
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count &- 1
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 {
                slot = (slot &+ 1) & mask
            }
            slots[slot] = Int32(truncatingIfNeeded: entry)
        }
    }

    #if DEBUG
        /// Checks the table's invariants (debug builds only).
        func _checkInvariants() {
            precondition(keyStarts.count == values.count + 1)
            precondition(hashes.count == values.count)
            precondition(keyStarts.last == arena.count)
            precondition(slots.count & (slots.count - 1) == 0)
            var seen = 0
            for s in slots where s >= 0 { seen += 1 }
            precondition(seen == values.count)
            for i in 0..<values.count {
                let found = withKey(at: i) { find($0, hash: hashes[i]) }
                precondition(found == i)
            }
        }
    #endif
}

extension ByteKeyedTable: Sendable where Value: Sendable {}

extension ByteKeyedTable {
    /// A fast non-cryptographic 64-bit hash of `key`, in the style of wyhash.
    ///
    /// Seeded once per process from the system random source, so values differ between runs:
    /// never store them. Not for anything secret: pseudonyms use a keyed PRF instead.
    ///
    /// - Complexity: O(key length); does not allocate.
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        ByteKeyedHash.hash(key, seed: byteHashProcessSeed)
    }

    /// `hash(_:)` of the bytes of a typed buffer.
    public static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        ByteKeyedHash.hash(UnsafeRawBufferPointer(key), seed: byteHashProcessSeed)
    }
}

/// The per-process seed of `ByteKeyedTable.hash`. Random so that input crafted to collide
/// (log lines are attacker-controlled) cannot degrade the tables to linear scans.
fileprivate let byteHashProcessSeed: UInt64 = {
    var rng = SystemRandomNumberGenerator()
    return rng.next()
}()

/// The wyhash-style mixing function behind `ByteKeyedTable.hash`.
enum ByteKeyedHash {
    private static let s0: UInt64 = 0x2d35_8dcc_aa6c_78a5
    private static let s1: UInt64 = 0x8bb8_4b93_962e_acc9
    private static let s2: UInt64 = 0x4b33_a62e_d433_d4a3
    private static let s3: UInt64 = 0x4d5a_2da5_1de1_aa47

    @inline(__always)
    private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return hi ^ lo
    }

    @inline(__always)
    private static func read8(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func read4(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    /// Hashes `key` with `seed` (deterministic for a given seed).
    static func hash(_ key: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let length = key.count
        var seed = seed ^ mix(seed ^ s0, s1)
        var a: UInt64 = 0
        var b: UInt64 = 0
        if length == 0 {
            // a = b = 0
        } else if length <= 16 {
            let p = key.baseAddress!
            if length >= 4 {
                let quarter = (length >> 3) << 2
                a = (read4(p, 0) << 32) | read4(p, quarter)
                b = (read4(p, length - 4) << 32) | read4(p, length - 4 - quarter)
            } else {
                a = (UInt64(key[0]) << 16) | (UInt64(key[length >> 1]) << 8) | UInt64(key[length - 1])
            }
        } else {
            let base = key.baseAddress!
            var offset = 0
            var remaining = length
            if remaining > 48 {
                var see1 = seed
                var see2 = seed
                repeat {
                    seed = mix(read8(base, offset) ^ s1, read8(base, offset + 8) ^ seed)
                    see1 = mix(read8(base, offset + 16) ^ s2, read8(base, offset + 24) ^ see1)
                    see2 = mix(read8(base, offset + 32) ^ s3, read8(base, offset + 40) ^ see2)
                    offset += 48
                    remaining -= 48
                } while remaining > 48
                seed ^= see1 ^ see2
            }
            while remaining > 16 {
                seed = mix(read8(base, offset) ^ s1, read8(base, offset + 8) ^ seed)
                offset += 16
                remaining -= 16
            }
            a = read8(base, offset + remaining - 16)
            b = read8(base, offset + remaining - 8)
        }
        a ^= s1
        b ^= seed
        let (hi, lo) = a.multipliedFullWidth(by: b)
        return mix(lo ^ s0 ^ UInt64(length), hi ^ s1)
    }
}

/// Whether `count` bytes at `a` and `b` are equal.
@inline(__always)
fileprivate func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            != b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        {
            return false
        }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        i += 1
    }
    return true
}
