import Testing

@testable import VeilCore

@Suite struct HyperLogLogTests {
    /// SplitMix64: a deterministic stand-in for keyed pseudonyms (uniform 64-bit values).
    typealias SplitMix64 = StateTestRNG

    static func hashes(_ count: Int, seed: UInt64) -> [UInt64] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { _ in generator.next() }
    }

    static func sketch(_ hashes: some Sequence<UInt64>) -> HyperLogLog {
        var sketch = HyperLogLog()
        for hash in hashes { sketch.insert(hash: hash) }
        return sketch
    }

    static func encoded(_ sketch: HyperLogLog) -> [UInt8] {
        var writer = BinaryWriter()
        sketch.encode(into: &writer)
        return writer.bytes
    }

    static func decoded(_ bytes: [UInt8]) throws(VeilError) -> HyperLogLog {
        var reader = BinaryReader(bytes)
        let sketch = try HyperLogLog.decode(from: &reader)
        try reader.expectEnd()
        return sketch
    }

    static func merged(_ a: HyperLogLog, _ b: HyperLogLog) -> HyperLogLog {
        var result = a
        result.merge(b)
        return result
    }

    // MARK: - Estimates

    @Test(arguments: [0, 1, 2, 5, 9, 10, 11, 50, 100])
    func smallCardinalitiesAreExact(count: Int) {
        for seed: UInt64 in [1, 2, 3, 42, 2026] {
            let sketch = Self.sketch(Self.hashes(count, seed: seed))
            #expect(sketch.cardinality() == UInt64(count), "seed \(seed)")
            #expect(sketch.isSparse)
        }
    }

    @Test(arguments: [1000, 4000])
    func sparseRangeIsNearlyExact(count: Int) {
        let sketch = Self.sketch(Self.hashes(count, seed: 7))
        #expect(sketch.isSparse)
        // Only hashes sharing their top 25 bits are lost: expect at most a couple.
        #expect(abs(sketch.estimate - Double(count)) <= 2)
    }

    @Test(arguments: [(5000, UInt64(11)), (20000, 12), (100_000, 1), (100_000, 2), (100_000, 3)])
    func denseEstimatesAreWithinTolerance(count: Int, seed: UInt64) {
        let sketch = Self.sketch(Self.hashes(count, seed: seed))
        #expect(!sketch.isSparse)
        let error = abs(sketch.estimate - Double(count)) / Double(count)
        #expect(error < 0.025, "relative error \(error)")
    }

    @Test func millionDistinctWithinTolerance() {
        for seed: UInt64 in [5, 6] {
            var generator = SplitMix64(seed: seed)
            var sketch = HyperLogLog()
            for _ in 0..<1_000_000 { sketch.insert(hash: generator.next()) }
            let error = abs(sketch.estimate - 1e6) / 1e6
            #expect(error < 0.025, "seed \(seed): relative error \(error)")
        }
    }

    @Test func emptySketch() {
        let sketch = HyperLogLog()
        #expect(sketch.isEmpty)
        #expect(sketch.isSparse)
        #expect(sketch.estimate == 0)
        #expect(sketch.cardinality() == 0)
        var one = HyperLogLog()
        one.insert(hash: 0x1234_5678_9ABC_DEF0)
        #expect(!one.isEmpty)
        #expect(HyperLogLog.union([HyperLogLog(), HyperLogLog()]) == HyperLogLog())
    }

    @Test(arguments: [3, 400, 3000, 30000])
    func duplicatesDoNotChangeTheSketch(count: Int) {
        let hashes = Self.hashes(count, seed: 99)
        let once = Self.sketch(hashes)
        var generator = SplitMix64(seed: 5)
        var repeated = once
        for hash in hashes.shuffled(using: &generator) + hashes.reversed() {
            repeated.insert(hash: hash)
        }
        #expect(repeated == once)
        #expect(repeated.estimate == once.estimate)
        #expect(Self.encoded(repeated) == Self.encoded(once))
    }

    // MARK: - Representation

    @Test func sparseEntryFoldsToTheDenseRegisterOfTheSameHash() {
        var generator = SplitMix64(seed: 3)
        // Random hashes plus ones with long runs of zeros after the index bits.
        var hashes = (0..<10000).map { _ in generator.next() }
        for shift in 0..<64 {
            hashes.append(UInt64(0x2A5) << 50 | (UInt64(1) << shift) >> 14)
            hashes.append(generator.next() & ~((UInt64(1) << 50) - 1))
        }
        for hash in hashes {
            let (index, rank) = HyperLogLog.denseRegister(HyperLogLog.sparseEntry(hash))
            let expectedIndex = Int(hash >> 50)
            let expectedRank = min((hash << 14).leadingZeroBitCount, 50) + 1
            #expect(index == expectedIndex)
            #expect(Int(rank) == expectedRank)
        }
        // All-zero tail: the largest ranks of both forms.
        #expect(HyperLogLog.sparseEntry(0) & 0x3F == 40)
        #expect(HyperLogLog.denseRegister(HyperLogLog.sparseEntry(0)).rank == 51)
    }

    @Test func sharedSparseIndexKeepsTheHighestRankInAnyOrder() {
        // 200 sparse indexes, each hit by three hashes whose ranks are 1, 5 and 40.
        var hashes: [UInt64] = []
        for i in 0..<200 {
            let index = UInt64(i * 40_503 % (1 << 25)) << 39
            hashes += [index | 1 << 38, index | 1 << 34, index]
        }
        let reference = Self.sketch(hashes)
        #expect(reference.cardinality() == 200)
        var compacted = reference
        compacted.compact()
        #expect(compacted.sparse.count == 200)
        #expect(compacted.sparse.allSatisfy { $0 & 0x3F == 40 })
        var generator = SplitMix64(seed: 17)
        for _ in 0..<5 {
            let shuffled = hashes.shuffled(using: &generator)
            #expect(Self.encoded(Self.sketch(shuffled)) == Self.encoded(reference))
            let split = Int.random(in: 0..<shuffled.count, using: &generator)
            let merged = Self.merged(
                Self.sketch(shuffled[..<split]), Self.sketch(shuffled[split...]))
            #expect(Self.encoded(merged) == Self.encoded(reference))
        }
    }

    @Test func denseConversionGivesTheRegistersOfDirectInsertion() {
        let hashes = Self.hashes(9000, seed: 21)
        let sketch = Self.sketch(hashes)
        var expected = [UInt8](repeating: 0, count: HyperLogLog.registerCount)
        for hash in hashes {
            let index = Int(hash >> 50)
            expected[index] = max(
                expected[index], UInt8(min((hash << 14).leadingZeroBitCount, 50) + 1))
        }
        #expect(sketch.registers == expected)
        #expect(sketch.sparse.isEmpty)
    }

    /// Hashes with `count` distinct sparse indexes, spread over the index space.
    static func distinctIndexHashes(_ count: Int) -> [UInt64] {
        (0..<count).map { i in UInt64(i &* 8191 % (1 << 25)) << 39 | UInt64(i) }
    }

    @Test func convertsToDenseOnlyPastTheSparseLimit() {
        let hashes = Self.distinctIndexHashes(HyperLogLog.sparseLimit + 1)
        let atLimit = Self.sketch(hashes.dropLast())
        #expect(atLimit.isSparse)
        #expect(atLimit.cardinality() == UInt64(HyperLogLog.sparseLimit))
        let pastLimit = Self.sketch(hashes)
        #expect(!pastLimit.isSparse)
        // Merging two sparse halves crosses the limit the same way.
        let half = hashes.count / 2
        let joined = Self.merged(Self.sketch(hashes[..<half]), Self.sketch(hashes[half...]))
        #expect(joined == pastLimit)
        #expect(Self.encoded(joined) == Self.encoded(pastLimit))
    }

    @Test(arguments: [7, 300, 3000, 4100, 20000])
    func insertionOrderDoesNotMatter(count: Int) {
        let hashes = Self.hashes(count, seed: UInt64(count))
        let reference = Self.encoded(Self.sketch(hashes))
        var generator = SplitMix64(seed: 1)
        for _ in 0..<3 {
            let shuffled = Self.sketch(hashes.shuffled(using: &generator))
            #expect(Self.encoded(shuffled) == reference)
        }
        #expect(Self.encoded(Self.sketch(hashes.reversed())) == reference)
    }

    @Test(arguments: [1, 3, 7, 100, 2000, HyperLogLog.sparseLimit + 1])
    func insertingAfterCompactingOrDecodingGivesTheSketchOfAllHashes(step: Int) throws {
        // Inserts alternate with compaction (the sorted list moves back into a table, with
        // every earlier entry) and with an encode/decode round trip; repeats and shared
        // indexes included. The result must equal straight insertion, byte for byte.
        let hashes = Self.distinctIndexHashes(HyperLogLog.sparseLimit + 1) + Self.hashes(3000, seed: 5)
        let all = hashes + hashes.prefix(500)
        var sketch = HyperLogLog()
        var round = 0
        for start in stride(from: 0, to: all.count, by: step) {
            for hash in all[start..<min(start + step, all.count)] { sketch.insert(hash: hash) }
            round += 1
            if round % 3 == 0 {
                sketch = try Self.decoded(Self.encoded(sketch))
            } else {
                sketch.compact()
            }
            if start + step <= HyperLogLog.sparseLimit { #expect(sketch.isSparse) }
        }
        let straight = Self.sketch(all)
        #expect(sketch == straight)
        #expect(Self.encoded(sketch) == Self.encoded(straight))
        #expect(!sketch.isSparse)
    }

    // MARK: - Merging

    /// Three hash sets of the given sizes (disjoint, plus a shared part when `overlap`).
    static func threeSets(_ sizes: (Int, Int, Int), overlap: Int) -> [[UInt64]] {
        let shared = hashes(overlap, seed: 1000)
        return [
            hashes(sizes.0, seed: 1001) + shared,
            hashes(sizes.1, seed: 1002) + shared.prefix(overlap / 2),
            hashes(sizes.2, seed: 1003),
        ]
    }

    @Test(arguments: [
        ((5, 8, 13), 3),  // sparse, stays sparse
        ((2000, 1500, 1200), 100),  // each sparse, union dense
        ((9000, 12000, 30000), 500),  // dense
        ((10, 20000, 3000), 5),  // mixed
    ])
    func mergeIsCommutativeAssociativeAndEqualsTheUnionSketch(sizes: (Int, Int, Int), overlap: Int) {
        let sets = Self.threeSets(sizes, overlap: overlap)
        let (a, b, c) = (Self.sketch(sets[0]), Self.sketch(sets[1]), Self.sketch(sets[2]))

        #expect(Self.encoded(Self.merged(a, b)) == Self.encoded(Self.merged(b, a)))
        #expect(Self.encoded(Self.merged(a, c)) == Self.encoded(Self.merged(c, a)))
        #expect(Self.encoded(Self.merged(b, c)) == Self.encoded(Self.merged(c, b)))

        let left = Self.merged(Self.merged(a, b), c)
        let right = Self.merged(a, Self.merged(b, c))
        #expect(Self.encoded(left) == Self.encoded(right))

        let whole = Self.sketch(sets[0] + sets[1] + sets[2])
        #expect(left == whole)
        #expect(Self.encoded(left) == Self.encoded(whole))
        #expect(Self.encoded(Self.merged(a, b)) == Self.encoded(Self.sketch(sets[0] + sets[1])))
        #expect(HyperLogLog.union([c, a, b]) == whole)
    }

    @Test func mergeWithSelfOrEmptyChangesNothing() {
        for count in [4, 5000] {
            let sketch = Self.sketch(Self.hashes(count, seed: 77))
            #expect(Self.merged(sketch, sketch) == sketch)
            #expect(Self.merged(sketch, HyperLogLog()) == sketch)
            #expect(Self.encoded(Self.merged(HyperLogLog(), sketch)) == Self.encoded(sketch))
        }
    }

    @Test func mergeSeesBufferedInsertsOfBothSides() {
        // Inserts stay in the entry table until compacted; merge and equality must see them.
        var a = HyperLogLog()
        var b = HyperLogLog()
        for hash in Self.hashes(6, seed: 1) { a.insert(hash: hash) }
        for hash in Self.hashes(6, seed: 2) { b.insert(hash: hash) }
        let ab = Self.merged(a, b)
        #expect(ab.cardinality() == 12)
        var compacted = ab
        compacted.compact()
        #expect(compacted == ab)
        #expect(Self.encoded(compacted) == Self.encoded(ab))
    }

    // MARK: - Encoding

    @Test(arguments: [0, 1, 10, 500, HyperLogLog.sparseLimit, 50000])
    func encodingRoundTrips(count: Int) throws {
        let sketch =
            count == HyperLogLog.sparseLimit
            ? Self.sketch(Self.distinctIndexHashes(count))
            : Self.sketch(Self.hashes(count, seed: 8))
        let bytes = Self.encoded(sketch)
        let decoded = try Self.decoded(bytes)
        #expect(decoded == sketch)
        #expect(decoded.estimate == sketch.estimate)
        #expect(Self.encoded(decoded) == bytes)
        // Decoded sketches keep accepting inserts identically.
        var grown = decoded
        var original = sketch
        for hash in Self.hashes(100, seed: 123) {
            grown.insert(hash: hash)
            original.insert(hash: hash)
        }
        #expect(Self.encoded(grown) == Self.encoded(original))
    }

    @Test func smallSketchesEncodeSmall() {
        #expect(Self.encoded(HyperLogLog()).count == 2)
        var one = HyperLogLog()
        one.insert(hash: 0xFFFF_FFFF_FFFF_FFFF)
        #expect(Self.encoded(one).count < 32)
        #expect(Self.encoded(Self.sketch(Self.hashes(5, seed: 1))).count < 32)
        #expect(Self.encoded(Self.sketch(Self.hashes(50000, seed: 1))).count == 1 + 12288)
    }

    @Test func decodeRejectsEveryTruncation() {
        for sketch in [
            Self.sketch(Self.hashes(20, seed: 4)), Self.sketch(Self.hashes(6000, seed: 4)),
        ] {
            let bytes = Self.encoded(sketch)
            var lengths = Array(0..<min(bytes.count, 64))
            lengths += [bytes.count / 2, bytes.count - 2, bytes.count - 1]
            for length in lengths {
                var reader = BinaryReader(Array(bytes.prefix(length)))
                #expect(throws: VeilError.self, "length \(length)") {
                    _ = try HyperLogLog.decode(from: &reader)
                }
            }
        }
    }

    /// A sparse encoding from explicit entry values (deltas computed with wrapping).
    static func sparseBytes(_ entries: [UInt64], count: Int? = nil) -> [UInt8] {
        var writer = BinaryWriter()
        writer.writeUInt8(HyperLogLog.Tag.sparse)
        writer.writeVarUInt(UInt64(count ?? entries.count))
        var previous: UInt64 = 0
        for entry in entries {
            writer.writeVarUInt(entry &- previous)
            previous = entry
        }
        return writer.bytes
    }

    static func denseBytes(setting register: Int, to value: UInt8) -> [UInt8] {
        var bytes = encoded(sketch(hashes(50000, seed: 2)))
        // Four registers share three bytes: register 4g+k is bits 6k..<6k+6 of group g.
        let bit = 6 * (register % 4)
        let group = 1 + 3 * (register / 4)
        var word =
            UInt32(bytes[group]) | UInt32(bytes[group + 1]) << 8 | UInt32(bytes[group + 2]) << 16
        word = word & ~(0x3F << UInt32(bit)) | UInt32(value) << UInt32(bit)
        bytes[group] = UInt8(truncatingIfNeeded: word)
        bytes[group + 1] = UInt8(truncatingIfNeeded: word >> 8)
        bytes[group + 2] = UInt8(truncatingIfNeeded: word >> 16)
        return bytes
    }

    @Test func decodeAcceptsTheLargestRanks() throws {
        let sparse = try Self.decoded(Self.sparseBytes([1 << 6 | 40, 2 << 6 | 1]))
        #expect(sparse.cardinality() == 2)
        let dense = try Self.decoded(Self.denseBytes(setting: 16383, to: 51))
        #expect(dense.registers[16383] == 51)
        let edited = try Self.decoded(Self.denseBytes(setting: 5, to: 0))
        #expect(edited.registers[5] == 0)
    }

    @Test(
        arguments: [
            ([3], "unknown encoding tag"),
            ([0], "tag 0 is not an encoding"),
            (sparseBytes([1 << 6 | 1, 1 << 6 | 1]), "same entry twice (zero delta)"),
            (sparseBytes([1 << 6 | 1, 1 << 6 | 2]), "same index twice with different ranks"),
            (sparseBytes([5 << 6 | 1, 2 << 6 | 1]), "entries not sorted (delta wraps around)"),
            (sparseBytes([7 << 6 | 0]), "rank 0"),
            (sparseBytes([7 << 6 | 41]), "sparse rank above 40"),
            (sparseBytes([1 << 31 | 1]), "entry beyond 31 bits"),
            (sparseBytes([1 << 6 | 1], count: 2), "count larger than the entries present"),
            (sparseBytes([], count: 1_000_000), "count larger than the bytes left"),
            (
                sparseBytes(
                    distinctIndexHashes(HyperLogLog.sparseLimit + 1).map {
                        UInt64(HyperLogLog.sparseEntry($0))
                    }.sorted()), "more sparse entries than the limit"
            ),
            (denseBytes(setting: 0, to: 52), "register value 52"),
            (denseBytes(setting: 16383, to: 63), "register value 63 in the last register"),
            ([2] + [UInt8](repeating: 0, count: 12288), "dense sketch with no register set"),
            (Array(denseBytes(setting: 0, to: 1).dropLast()), "dense registers truncated"),
        ] as [([UInt8], String)])
    func decodeRejectsMalformedSketches(bytes: [UInt8], reason: String) {
        var reader = BinaryReader(bytes)
        let error = #expect(throws: VeilError.self, "\(reason)") {
            _ = try HyperLogLog.decode(from: &reader)
        }
        #expect(error?.code == .state, "\(reason)")
        #expect(error?.byteOffset != nil, "\(reason)")
    }

    @Test func decodeNamesTheOffsetOfTheBadRegister() {
        var reader = BinaryReader(
            Self.denseBytes(setting: 41, to: 60), file: "day.veilstate", baseOffset: 100)
        let error = #expect(throws: VeilError.self) { _ = try HyperLogLog.decode(from: &reader) }
        // Tag byte, then group 10 (registers 40...43) starts at 1 + 30.
        #expect(error?.byteOffset == Int64(100 + 1 + 30))
        #expect(error?.file == "day.veilstate")
    }
}
