import CByteScan

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The pseudonymiser's cache: PRF message → pseudonym, one flat record per entry.
///
/// Open addressing with linear probing over a power-of-two slot array kept at most 3/4 full,
/// like `ByteKeyedTable`, but a record keeps everything a lookup reads in one run of bytes: the
/// pseudonym, the key's length and the key itself. A record of up to 64 bytes (a key of up to
/// 40: IP+UA keys, which hold a user-agent number, and cookie ids of 32 characters) starts a
/// new cache line rather than straddle two, so a hit in a cache larger than the CPU's caches
/// (one epoch's visitors) reads one slot and one line of records — two cache misses where a
/// table with a separate entry array takes three. The cache sits on every request's path, so
/// this is worth its own type.
///
/// Each slot holds the top 32 bits of the key's hash over the record's offset (in 8-byte units,
/// plus one; 0 = empty), so probing past other keys touches only the slot array. Records are
/// never removed one by one; `removeAll()` keeps the storage. Lookups never allocate; inserts
/// allocate only when the slot array or the record area grows (doubling).
///
/// The keys are raw identifiers (cookie ids, addresses, user agents): the storage is zeroed when
/// the cache is cleared and when it is freed.
final class PseudonymCache {
    /// Record header: pseudonym (16 bytes), key length (4), the low 32 bits of the key's hash
    /// (4; the slot holds the high 32).
    private static let headerSize = 24
    private static let tagMask: UInt64 = 0xFFFF_FFFF_0000_0000
    /// The smallest record area (bytes).
    private static let minimumRecordCapacity = 1024

    private var slots: UnsafeMutablePointer<UInt64>
    private var slotCount: Int
    private var records: UnsafeMutableRawPointer
    private var recordCapacity: Int
    /// Bytes of `records` in use (a multiple of 8).
    private var used = 0

    /// The number of cached pseudonyms.
    private(set) var count = 0
    /// The total length of the cached keys, in bytes.
    private(set) var keyByteCount = 0

    /// The process's hash seed, premixed (as `ByteKeyedTable` keeps it).
    private let seed = byteHashPremixedSeed

    /// `ByteKeyedTable.hash(_:)` of `key`: the hash `find` and `insert` take.
    @inline(__always)
    func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        ByteKeyedHash.hash(key, premixedSeed: seed)
    }

    /// Bytes allocated for slots and records.
    var storageBytes: Int { slotCount * MemoryLayout<UInt64>.stride + recordCapacity }

    /// Creates an empty cache with room for about `initialCapacity` entries before it grows.
    init(initialCapacity: Int = 1024) {
        let n = Self.slotCount(for: initialCapacity)
        slotCount = n
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0, count: n)
        recordCapacity = max(max(initialCapacity, 8) * 128, Self.minimumRecordCapacity)
        records = .allocate(byteCount: recordCapacity, alignment: 64)
    }

    deinit {
        memset(records, 0, used)
        records.deallocate()
        slots.deallocate()
    }

    /// The pseudonym cached for `key`, whose hash is `hash` (the value later given to `insert`).
    /// - Complexity: O(1) expected; does not allocate.
    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Pseudonym? {
        let mask = slotCount &- 1
        let tag = hash & Self.tagMask
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if s & Self.tagMask == tag {
                let r = records + Self.recordOffset(s)
                if Int(r.load(fromByteOffset: 16, as: UInt32.self)) == key.count
                    && r.load(fromByteOffset: 20, as: UInt32.self) == UInt32(truncatingIfNeeded: hash)
                    && (key.isEmpty || ByteWords.equal(r + Self.headerSize, key.baseAddress!, count: key.count))
                {
                    return Pseudonym(hi: r.load(as: UInt64.self), lo: r.load(fromByteOffset: 8, as: UInt64.self))
                }
            }
            i = (i &+ 1) & mask
        }
    }

    /// Starts loading the slot a lookup of a key whose hash is `hash` reads first, so that a
    /// `find` a little later (after other work) does not wait for memory. Only a hint.
    @inline(__always)
    func prefetch(hash: UInt64) {
        veil_prefetch(slots + (Int(truncatingIfNeeded: hash) & (slotCount &- 1)))
    }

    /// Caches `pseudonym` for `key`, which must not be cached already.
    func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, value pseudonym: Pseudonym) {
        assert(find(key, hash: hash) == nil, "PseudonymCache.insert: key already present")
        precondition(key.count <= Int(UInt32.max), "PseudonymCache: key too long")
        if (count + 1) * 4 > slotCount * 3 { growSlots() }
        let size = Self.recordSize(keyLength: key.count)
        // A record that fits in a cache line starts a new one rather than straddle two: a hit
        // then reads one line of records, not two.
        let at = size <= 64 && used & 63 + size > 64 ? (used + 63) & ~63 : used
        if at + size > recordCapacity { growRecords(to: at + size) }
        precondition(at >> 3 < Int(UInt32.max), "PseudonymCache: record area full")
        let r = records + at
        r.storeBytes(of: pseudonym.hi, as: UInt64.self)
        r.storeBytes(of: pseudonym.lo, toByteOffset: 8, as: UInt64.self)
        r.storeBytes(of: UInt32(key.count), toByteOffset: 16, as: UInt32.self)
        r.storeBytes(of: UInt32(truncatingIfNeeded: hash), toByteOffset: 20, as: UInt32.self)
        if let base = key.baseAddress { (r + Self.headerSize).copyMemory(from: base, byteCount: key.count) }
        place(offset: at, hash: hash)
        used = at + size
        count += 1
        keyByteCount += key.count
    }

    /// Forgets every entry (zeroing the keys).
    ///
    /// The record area is replaced by a fresh one of the same capacity, at most twice what
    /// these entries used: its pages become resident again only as the next key epoch's
    /// entries fill them, so resident memory follows the current epoch's visitors, not the
    /// busiest epoch's (or, on two threads, the largest share of the visitors this thread
    /// ever had), and an epoch like this one fits without growing. The slot array is cut back
    /// when it is more than twice what these entries need.
    func removeAll() {
        memset(records, 0, used)
        let n = Self.slotCount(for: count + count / 4)
        if slotCount > 2 * n {
            slots.deallocate()
            slotCount = n
            slots = .allocate(capacity: n)
            slots.initialize(repeating: 0, count: n)
        } else {
            slots.update(repeating: 0, count: slotCount)
        }
        records.deallocate()
        recordCapacity = max(min(recordCapacity, 2 * used), Self.minimumRecordCapacity)
        records = .allocate(byteCount: recordCapacity, alignment: 64)
        used = 0
        count = 0
        keyByteCount = 0
    }

    /// The number of records of up to 64 bytes that straddle two 64-byte lines of the record
    /// area (none should: see `insert`), and the number of records. For tests.
    var recordLines: (crossing: Int, records: Int) {
        var crossing = 0, records = 0
        for i in 0..<slotCount where slots[i] != 0 {
            let offset = Self.recordOffset(slots[i])
            let size = Self.recordSize(
                keyLength: Int((self.records + offset).load(fromByteOffset: 16, as: UInt32.self)))
            let address = Int(bitPattern: self.records + offset)
            if size <= 64 && address & 63 + size > 64 { crossing += 1 }
            records += 1
        }
        return (crossing, records)
    }

    // MARK: - Internals

    /// The byte offset of the record a non-empty slot points to.
    @inline(__always)
    private static func recordOffset(_ slot: UInt64) -> Int {
        Int(truncatingIfNeeded: (slot & 0xFFFF_FFFF) &- 1) &<< 3
    }

    /// The bytes a record takes: the header and the key, padded to 8.
    @inline(__always)
    private static func recordSize(keyLength: Int) -> Int {
        headerSize + (keyLength + 7) & ~7
    }

    /// The smallest slot count (a power of two, at least 16) that holds `entries` at most
    /// 3/4 full.
    private static func slotCount(for entries: Int) -> Int {
        var n = 16
        while n / 4 * 3 < max(entries, 8) { n <<= 1 }
        return n
    }

    private func place(offset: Int, hash: UInt64) {
        let mask = slotCount &- 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i &+ 1) & mask }
        slots[i] = (hash & Self.tagMask) | UInt64(offset >> 3 + 1)
    }

    @inline(never)
    private func growSlots() {
        let old = slots, oldCount = slotCount
        slotCount *= 2
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        // Every record from the old slots (records may have gaps between them, see `insert`).
        for i in 0..<oldCount where old[i] != 0 {
            let offset = Self.recordOffset(old[i])
            let low = (records + offset).load(fromByteOffset: 20, as: UInt32.self)
            place(offset: offset, hash: old[i] & Self.tagMask | UInt64(low))
        }
        old.deallocate()
    }

    @inline(never)
    private func growRecords(to needed: Int) {
        var capacity = recordCapacity * 2
        while capacity < needed { capacity *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        bigger.copyMemory(from: records, byteCount: used)
        memset(records, 0, used)
        records.deallocate()
        records = bigger
        recordCapacity = capacity
    }
}
