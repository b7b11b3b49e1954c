/// An open-addressing hash table keyed by byte strings, for caches and interning on the hot path.
///
/// Keys are copied into one growing byte arena; values live in an array. Entries are numbered
/// densely `0..<count` in insertion order and are never removed one by one, so an entry index
/// doubles as an interned id. The caller computes each key's hash once (usually with the
/// table's `hash(_:)`) and passes it to `find` and `insert`, so a miss followed by an insert
/// hashes the key only once.
///
/// Lookups do not allocate. Inserts allocate only when the arena, the entry arrays or the slot
/// array grow (amortised doubling); `removeAll()` keeps all capacity.
///
/// Collision handling is linear probing over a power-of-two slot array kept at most 3/4 full.
/// Each slot holds the entry's index and the top 32 bits of its hash, so a probe past other keys
/// touches only the slot array; an entry's key offset, length, full hash and value sit together,
/// so a hit in a table larger than the caches reads one slot, one entry and the key bytes.
public struct ByteKeyedTable<Value> {
    /// One entry: where its key lies in `arena`, the hash it was inserted with, its value.
    fileprivate struct Entry {
        var start: Int
        var length: Int
        var hash: UInt64
        var value: Value
    }

    /// Slot → `0` when empty, else the top 32 bits of the entry's hash over `entry index + 1`
    /// in the low 32 bits. The count is a power of two.
    private var slots: [UInt64]
    /// Entries in insertion order.
    private var entries: [Entry]
    /// All keys, back to back.
    private var arena: [UInt8]
    /// The process's hash seed, premixed (see `hash(_:)`): a copy read with the table, where
    /// the global would be read through its lazy initialiser on every hash.
    private let seed = byteHashPremixedSeed

    private static var tagMask: UInt64 { 0xFFFF_FFFF_0000_0000 }

    /// The largest number of entries: entry indices are stored in 32 bits.
    public static var maximumCount: Int { Int(Int32.max) / 2 }

    /// Creates an empty table with room for about `initialCapacity` entries before it grows.
    public init(initialCapacity: Int = 1024) {
        precondition(initialCapacity >= 0, "negative capacity")
        let slotCount = Self.slotCount(for: Swift.max(initialCapacity, 8))
        slots = Array(repeating: 0, count: slotCount)
        entries = []
        entries.reserveCapacity(initialCapacity)
        arena = []
        arena.reserveCapacity(initialCapacity * 16)
    }

    /// The number of entries.
    public var count: Int { entries.count }

    /// Whether the table has no entries.
    public var isEmpty: Bool { entries.isEmpty }

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
            entries.withUnsafeBufferPointer { entries in
                arena.withUnsafeBytes { arena -> Int in
                    let mask = slots.count &- 1
                    let tag = hash & Self.tagMask
                    var slot = Int(truncatingIfNeeded: hash) & mask
                    while true {
                        let s = slots[slot]
                        if s == 0 { return -1 }
                        if s & Self.tagMask == tag {
                            let i = Int(truncatingIfNeeded: s & 0xFFFF_FFFF) &- 1
                            let length = entries[i].length
                            if length == key.count && entries[i].hash == hash
                                && (length == 0
                                    || ByteWords.equal(
                                        arena.baseAddress! + entries[i].start, key.baseAddress!, count: length))
                            {
                                return i
                            }
                        }
                        slot = (slot &+ 1) & mask
                    }
                }
            }
        }
        return entry < 0 ? nil : entry
    }

    /// The value of entry `index`.
    public func value(at index: Int) -> Value {
        entries[index].value
    }

    /// Replaces the value of entry `index`.
    public mutating func setValue(_ value: Value, at index: Int) {
        entries[index].value = value
    }

    /// Calls `body` with the value of entry `index` for in-place mutation (no copy of the value).
    public mutating func withValue<R, E: Error>(
        at index: Int, _ body: (inout Value) throws(E) -> R
    ) throws(E) -> R {
        try body(&entries[index].value)
    }

    /// Calls `body` with the key bytes of entry `index`. The pointer is valid only inside `body`.
    public func withKey<R, E: Error>(
        at index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let start = entries[index].start
        let end = start + entries[index].length
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
        let start = entries[index].start
        return Array(arena[start..<start + entries[index].length])
    }

    /// The length in bytes of entry `index`'s key.
    public func keyLength(at index: Int) -> Int {
        entries[index].length
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
        precondition(entries.count < Self.maximumCount, "ByteKeyedTable is full")
        if (entries.count + 1) * 4 > slots.count * 3 {
            grow()
        }
        let index = entries.count
        entries.append(Entry(start: arena.count, length: key.count, hash: hash, value: value))
        arena.append(contentsOf: key)
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
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
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
        slots = Array(repeating: 0, count: newCount)
        for i in 0..<entries.count {
            place(entry: i, hash: entries[i].hash)
        }
    }

    /// Puts `entry` in the first free slot of its probe sequence.
    private mutating func place(entry: Int, hash: UInt64) {
        slots.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count &- 1
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 {
                slot = (slot &+ 1) & mask
            }
            slots[slot] = (hash & Self.tagMask) | UInt64(entry + 1)
        }
    }

    #if DEBUG
        /// Checks the table's invariants (debug builds only).
        func _checkInvariants() {
            precondition((entries.last.map { $0.start + $0.length } ?? 0) == arena.count)
            precondition(slots.count & (slots.count - 1) == 0)
            var seen = 0
            for s in slots where s != 0 { seen += 1 }
            precondition(seen == entries.count)
            for i in 0..<entries.count {
                let found = withKey(at: i) { find($0, hash: entries[i].hash) }
                precondition(found == i)
            }
        }
    #endif
}

extension ByteKeyedTable: Sendable where Value: Sendable {}
extension ByteKeyedTable.Entry: Sendable where Value: Sendable {}

extension ByteKeyedTable {
    /// A fast non-cryptographic 64-bit hash of `key`, in the style of wyhash.
    ///
    /// Seeded once per process from the system random source, so values differ between runs:
    /// never store them. Not for anything secret: pseudonyms use a keyed PRF instead. Every
    /// table of the process gives the same value (and `ByteKeyedTable.hash(_:)` too); the
    /// instance method is the cheaper of the two on a hot path.
    ///
    /// - Complexity: O(key length); does not allocate.
    @inline(__always)
    public func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        ByteKeyedHash.hash(key, premixedSeed: seed)
    }

    /// `hash(_:)` without a table at hand.
    public static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        ByteKeyedHash.hash(key, premixedSeed: byteHashPremixedSeed)
    }

    /// `hash(_:)` of the bytes of a typed buffer.
    public static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        ByteKeyedHash.hash(UnsafeRawBufferPointer(key), premixedSeed: byteHashPremixedSeed)
    }
}

/// The per-process seed of `ByteKeyedTable.hash`. Random so that input crafted to collide
/// (log lines are attacker-controlled) cannot degrade the tables to linear scans.
/// `ByteKeyedHash.premixed` of it is what tables hash with.
let byteHashPremixedSeed: UInt64 = {
    var rng = SystemRandomNumberGenerator()
    return ByteKeyedHash.premixed(rng.next())
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
        hash(key, premixedSeed: premixed(seed))
    }

    /// The first step of hashing with `seed`, which depends on the seed alone: done once per
    /// seed instead of once per key.
    static func premixed(_ seed: UInt64) -> UInt64 {
        seed ^ mix(seed ^ s0, s1)
    }

    /// Hashes `key` with a seed already `premixed`.
    static func hash(_ key: UnsafeRawBufferPointer, premixedSeed: UInt64) -> UInt64 {
        let length = key.count
        var seed = premixedSeed
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
