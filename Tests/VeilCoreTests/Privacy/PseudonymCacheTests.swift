import Testing

@testable import VeilCore

@Suite("PseudonymCache")
struct PseudonymCacheTests {
    private func find(_ cache: PseudonymCache, _ key: [UInt8], hash: UInt64? = nil) -> Pseudonym? {
        key.withUnsafeBytes { cache.find($0, hash: hash ?? ByteKeyedTable<Int>.hash($0)) }
    }

    private func insert(_ cache: PseudonymCache, _ key: [UInt8], _ value: Pseudonym, hash: UInt64? = nil) {
        key.withUnsafeBytes { cache.insert($0, hash: hash ?? ByteKeyedTable<Int>.hash($0), value: value) }
    }

    private func pseudonym(_ i: Int) -> Pseudonym {
        Pseudonym(hi: UInt64(bitPattern: Int64(i)) &* 0x9E37_79B9_7F4A_7C15, lo: ~UInt64(bitPattern: Int64(i)))
    }

    @Test("keys of every length up to 300 bytes, growing past the initial slots and record area")
    func manyKeys() {
        let cache = PseudonymCache(initialCapacity: 4)
        // Lengths 0...300 cycle, so records of every padding (length mod 8) sit side by side.
        let keys = (0..<20_000).map { i in
            Array("visitor-\(i)-".utf8) + Array(repeating: UInt8(i % 251), count: i % 290)
        }
        for (i, key) in keys.enumerated() {
            #expect(find(cache, key) == nil)
            insert(cache, key, pseudonym(i))
        }
        #expect(cache.count == keys.count)
        #expect(cache.keyByteCount == keys.reduce(0) { $0 + $1.count })
        var wrong = 0
        for (i, key) in keys.enumerated() where find(cache, key) != pseudonym(i) { wrong += 1 }
        #expect(wrong == 0)
        #expect(find(cache, Array("visitor-20000-".utf8)) == nil)
        #expect(find(cache, keys[7] + [0]) == nil, "a key's prefix is another key")
        #expect(find(cache, Array(keys[7].dropLast())) == nil)
        insert(cache, [], pseudonym(-1))
        #expect(find(cache, []) == pseudonym(-1))
        // A record of up to 64 bytes (a key of up to 40) lies in one 64-byte line: a hit reads
        // one line of records.
        let lines = cache.recordLines
        #expect(lines.records == keys.count + 1)
        #expect(lines.crossing == 0)
    }

    @Test("keys whose hashes collide, in full or modulo the slot count, are told apart")
    func collidingHashes() {
        let cache = PseudonymCache(initialCapacity: 8)
        let keys: [[UInt8]] =
            [[], [0], [0, 0], [1], Array("ab".utf8), Array("ba".utf8)]
            + (0..<200).map { Array("k\($0)".utf8) }
        for (i, key) in keys.enumerated() { insert(cache, key, pseudonym(i), hash: 42) }
        for (i, key) in keys.enumerated() { #expect(find(cache, key, hash: 42) == pseudonym(i)) }
        #expect(find(cache, Array("ab".utf8), hash: 43) == nil, "the same bytes under another hash")
        #expect(find(cache, Array("zz".utf8), hash: 42) == nil)
        // Equal top 32 bits (the slot's tag) and equal slot, different hashes.
        let other = PseudonymCache(initialCapacity: 8)
        insert(other, Array("x".utf8), pseudonym(1), hash: 5)
        insert(other, Array("x".utf8), pseudonym(2), hash: 5 + (1 << 20))
        #expect(find(other, Array("x".utf8), hash: 5) == pseudonym(1))
        #expect(find(other, Array("x".utf8), hash: 5 + (1 << 20)) == pseudonym(2))
        #expect(find(other, Array("x".utf8), hash: 6) == nil)
    }

    @Test("removeAll forgets every key and the cache fills again")
    func removeAll() {
        let cache = PseudonymCache(initialCapacity: 16)
        let keys = (0..<5_000).map { Array("cookie=\($0)".utf8) }
        for (i, key) in keys.enumerated() { insert(cache, key, pseudonym(i)) }
        cache.removeAll()
        #expect(cache.count == 0 && cache.keyByteCount == 0)
        #expect(keys.allSatisfy { find(cache, $0) == nil })
        for (i, key) in keys.reversed().enumerated() { insert(cache, key, pseudonym(i + 7)) }
        #expect(keys.reversed().enumerated().allSatisfy { find(cache, $1) == pseudonym($0 + 7) })
    }

    @Test("removeAll keeps room for the entries it forgot (at most twice their size) and frees the rest")
    func removeAllFitsStorage() {
        let cache = PseudonymCache(initialCapacity: 16)
        func fill(_ n: Int, from first: Int) {
            for i in first..<first + n { insert(cache, Array("192.0.2.\(i % 250) ua-\(i)".utf8), pseudonym(i)) }
        }
        fill(40_000, from: 0)
        let busy = cache.storageBytes
        // Sized for the 40,000 entries just forgotten: they fit again without growing.
        cache.removeAll()
        let fitted = cache.storageBytes
        #expect(fitted <= busy)
        fill(40_000, from: 0)
        #expect(cache.storageBytes == fitted)
        // A quieter epoch: a tenth of the entries; the storage shrinks to about their needs...
        cache.removeAll()
        fill(4_000, from: 100_000)
        cache.removeAll()
        let quiet = cache.storageBytes
        #expect(quiet * 4 < busy)
        // ... stays there while epochs are alike ...
        fill(4_000, from: 200_000)
        cache.removeAll()
        #expect(cache.storageBytes == quiet)
        // ... grows again when needed, and every entry is found.
        fill(40_000, from: 300_000)
        #expect(cache.count == 40_000)
        var wrong = 0
        for i in 300_000..<340_000 where find(cache, Array("192.0.2.\(i % 250) ua-\(i)".utf8)) != pseudonym(i) {
            wrong += 1
        }
        #expect(wrong == 0)
        #expect(find(cache, Array("192.0.2.0 ua-100000".utf8)) == nil)
        // An empty cache keeps a small area.
        cache.removeAll()
        cache.removeAll()
        #expect(cache.count == 0 && cache.storageBytes < 4096)
    }
}
