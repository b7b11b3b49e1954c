import Testing

@testable import VeilCore

@Suite("ByteKeyedTable")
struct ByteKeyedTableTests {
    private func find(_ table: ByteKeyedTable<Int>, _ key: [UInt8], hash: UInt64? = nil) -> Int? {
        key.withUnsafeBytes { table.find($0, hash: hash ?? ByteKeyedTable<Int>.hash($0)) }
    }

    @discardableResult
    private func insert(_ table: inout ByteKeyedTable<Int>, _ key: [UInt8], _ value: Int, hash: UInt64? = nil) -> Int {
        key.withUnsafeBytes { table.insert($0, hash: hash ?? ByteKeyedTable<Int>.hash($0), value: value) }
    }

    @Test("many keys: dense indices in insertion order, every key found, growth past the initial capacity")
    func manyKeys() {
        var table = ByteKeyedTable<Int>(initialCapacity: 4)
        let keys = (0..<20_000).map { Array("key-\($0)".utf8) }
        for (i, key) in keys.enumerated() {
            #expect(find(table, key) == nil)
            #expect(insert(&table, key, i * 3) == i)
        }
        #expect(table.count == keys.count)
        #expect(table.capacity >= keys.count)
        for (i, key) in keys.enumerated() {
            let index = find(table, key)
            #expect(index == i)
            if let index {
                #expect(table.value(at: index) == i * 3)
                #expect(table.key(at: index) == key)
            }
        }
        #expect(find(table, Array("key-20000".utf8)) == nil)
        #expect(find(table, Array("key-1".utf8) + [0]) == nil)
        #if DEBUG
            table._checkInvariants()
        #endif
    }

    @Test("keys whose hashes collide are told apart by their bytes")
    func collidingHashes() {
        var table = ByteKeyedTable<Int>(initialCapacity: 8)
        // Every key gets the same hash: all land in one probe chain.
        let keys: [[UInt8]] =
            [[], [0], [0, 0], [1], Array("ab".utf8), Array("ba".utf8), Array("abc".utf8)]
            + (0..<200).map { Array("k\($0)".utf8) }
        for (i, key) in keys.enumerated() {
            #expect(insert(&table, key, i, hash: 42) == i)
        }
        for (i, key) in keys.enumerated() {
            #expect(find(table, key, hash: 42) == i)
        }
        // The same bytes under another hash are a different probe and not found.
        #expect(find(table, Array("ab".utf8), hash: 43) == nil)
        #expect(find(table, Array("zz".utf8), hash: 42) == nil)
        // Hashes equal modulo the slot count but different in full.
        var other = ByteKeyedTable<Int>(initialCapacity: 8)
        insert(&other, Array("x".utf8), 1, hash: 5)
        insert(&other, Array("y".utf8), 2, hash: 5 + (1 << 40))
        #expect(find(other, Array("x".utf8), hash: 5) == 0)
        #expect(find(other, Array("y".utf8), hash: 5 + (1 << 40)) == 1)
        #expect(find(other, Array("x".utf8), hash: 5 + (1 << 40)) == nil)
    }

    @Test("keys of one length and one hash that differ in a single byte, at every position, are told apart")
    func singleByteDifferences() {
        for length in 1...40 {
            var table = ByteKeyedTable<Int>(initialCapacity: 8)
            let base = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            #expect(insert(&table, base, 0, hash: 7) == 0)
            for position in 0..<length {
                var key = base
                key[position] ^= 0x40
                #expect(find(table, key, hash: 7) == nil, "length \(length), byte \(position)")
                #expect(insert(&table, key, position + 1, hash: 7) == position + 1)
            }
            #expect(find(table, base, hash: 7) == 0)
        }
    }

    @Test("setValue, withValue, withKey and findOrInsert")
    func valuesAndKeys() {
        var table = ByteKeyedTable<[Int]>()
        let key = Array("visitor".utf8)
        let hash = key.withUnsafeBytes { ByteKeyedTable<[Int]>.hash($0) }
        let first = key.withUnsafeBytes { table.findOrInsert($0, hash: hash) { [1] } }
        #expect(first.index == 0 && first.inserted)
        let again = key.withUnsafeBytes { table.findOrInsert($0, hash: hash) { [99] } }
        #expect(again.index == 0 && !again.inserted)
        table.withValue(at: 0) { $0.append(2) }
        #expect(table.value(at: 0) == [1, 2])
        table.setValue([7], at: 0)
        #expect(table.value(at: 0) == [7])
        #expect(table.withKey(at: 0) { Array($0) } == key)
        #expect(table.keyLength(at: 0) == key.count)
        #expect(table.keyByteCount == key.count)
    }

    @Test("removeAll empties the table and it works again afterwards")
    func removeAll() {
        var table = ByteKeyedTable<Int>(initialCapacity: 16)
        for i in 0..<1000 { insert(&table, Array("a\(i)".utf8), i) }
        let capacity = table.capacity
        table.removeAll()
        #expect(table.count == 0 && table.isEmpty)
        #expect(table.keyByteCount == 0)
        #expect(table.capacity == capacity)
        #expect(find(table, Array("a1".utf8)) == nil)
        #expect(insert(&table, Array("a1".utf8), 5) == 0)
        #expect(find(table, Array("a1".utf8)) == 0)
        #expect(table.value(at: 0) == 5)
    }

    @Test("a table of Sendable values is Sendable and can cross tasks")
    func sendable() async {
        var table = ByteKeyedTable<UInt32>()
        insertUInt32(&table, Array("shared".utf8), 9)
        let copy = table
        let found = await Task.detached {
            Array("shared".utf8).withUnsafeBytes { copy.find($0, hash: ByteKeyedTable<UInt32>.hash($0)) }
        }.value
        #expect(found == 0)
    }

    private func insertUInt32(_ table: inout ByteKeyedTable<UInt32>, _ key: [UInt8], _ value: UInt32) {
        key.withUnsafeBytes { _ = table.insert($0, hash: ByteKeyedTable<UInt32>.hash($0), value: value) }
    }

    @Test("hash depends on every byte and on the length")
    func hashSensitivity() {
        func h(_ bytes: [UInt8]) -> UInt64 { bytes.withUnsafeBytes { ByteKeyedHash.hash($0, seed: 1) } }
        // Lengths 0...100 cover every branch (0, 1-3, 4-16, 17-48, > 48).
        var seen = Set<UInt64>()
        for length in 0...100 {
            let base = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            #expect(seen.insert(h(base)).inserted, "length \(length) collides")
            for position in 0..<length {
                var flipped = base
                flipped[position] ^= 0x01
                #expect(h(flipped) != h(base), "byte \(position) of \(length) ignored")
            }
        }
        #expect(h([0]) != h([0, 0]))
        // Deterministic for one seed, different across seeds.
        #expect(h(Array("same".utf8)) == h(Array("same".utf8)))
        let other = Array("same".utf8).withUnsafeBytes { ByteKeyedHash.hash($0, seed: 2) }
        #expect(other != h(Array("same".utf8)))
    }

    @Test("every table, the static hash and the pseudonym cache hash a key alike (their seeds are the process's)")
    func oneSeedPerProcess() {
        let a = ByteKeyedTable<Int>()
        let b = ByteKeyedTable<String>(initialCapacity: 3)
        let cache = PseudonymCache(initialCapacity: 8)
        // Every length class of the hash: empty, 1-3, 4-16, 17-48, over 48 bytes.
        for n in [0, 1, 3, 4, 16, 17, 48, 49, 100, 200] {
            let key = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            key.withUnsafeBytes { k in
                let h = ByteKeyedTable<Int>.hash(k)
                #expect(a.hash(k) == h, "\(n) bytes")
                #expect(b.hash(k) == h, "\(n) bytes")
                #expect(cache.hash(k) == h, "\(n) bytes")
            }
        }
    }
}
