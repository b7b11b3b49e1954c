/// A HyperLogLog sketch that counts distinct visitors from their keyed pseudonyms.
///
/// Precision p = 14: m = 16384 registers, standard error about 0.8 % once the sketch is dense.
/// The input is 64 bits of a keyed pseudonym, which is already uniformly random, so it is used as
/// the hash directly: the top 14 bits pick the register, the rank is the number of leading zeros
/// of the remaining 50 bits plus one (at most 51).
///
/// **Two forms.** veil keeps one sketch per table row (per page per day, per campaign link, ...),
/// so most sketches see few visitors and start in a *sparse* form in the style of HLL++: a sorted
/// list of entries at the higher precision p' = 25, one 32-bit entry `index' << 6 | rank'` per
/// occupied index' (top 25 bits of the hash; rank' = leading zeros of the remaining 39 bits plus
/// one, at most 40), keeping the largest rank per index. Its estimate is linear counting over
/// 2^25 buckets, which is exact in practice for the small counts that decide whether a row
/// reaches the release threshold k. When the sparse form would hold more than
/// `sparseLimit` = m / 4 = 4096 entries — where its sorted list takes as much memory as the
/// 16 KiB dense form (its insert table, while it is being filled, up to twice that) and about as
/// many encoded bytes as the packed 12 KiB dense encoding — the sketch becomes
/// *dense*: one byte per register, each p' entry folded into its p = 14 register exactly as if
/// the hash had been inserted at p = 14. The dense estimate is Ertl's improved estimator
/// ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which needs no
/// empirical bias correction and is accurate across the whole range.
///
/// **Canonical state.** Which form a sketch has, and its contents, depend only on the set of
/// hashes inserted: the sparse entries are a function of the set, their count only grows when
/// the set grows, and the dense registers are the register-wise maximum. So inserting in any
/// order, merging in any order or grouping, and encoding all give identical values and bytes;
/// `merge(a, b)` equals `merge(b, a)` byte for byte. While a sparse sketch is being filled its
/// entries sit in an open-addressing table keyed by p' index (an insert is one probe, not a
/// binary search); they are sorted back into the list on demand, and `==`, `estimate` and
/// `encode` look at the list.
///
/// A sketch is pseudonymous data: it lives only in state files, never in a release.
public struct HyperLogLog: Sendable, Equatable {
    /// Register index bits of the dense form.
    public static let precision = 14
    /// Number of registers in the dense form (2^14).
    public static let registerCount = 1 << precision
    /// Largest register value: 64 - 14 bits after the index, plus one.
    public static let maxRank: UInt8 = 51
    /// Index bits of the sparse form.
    public static let sparsePrecision = 25
    /// Largest rank in the sparse form: 64 - 25 bits after the index, plus one.
    static let maxSparseRank: UInt32 = 40
    /// Most entries a sparse sketch holds; one more and it is dense.
    public static let sparseLimit = registerCount / 4

    /// Encoding tags, the first byte of an encoded sketch.
    enum Tag {
        /// Sparse, p = 14 / p' = 25: LEB128 entry count, then each entry as a LEB128 delta from
        /// the previous one (the first from 0).
        static let sparse: UInt8 = 1
        /// Dense, p = 14: the registers packed 6 bits each, four registers in three bytes
        /// (`r0 | r1 << 6 | r2 << 12 | r3 << 18`, little-endian).
        static let dense: UInt8 = 2
    }

    /// Sparse entries sorted ascending, one per p' index. Empty when dense or while the
    /// entries are in `table`.
    private(set) var sparse: [UInt32] = []
    /// While a sparse sketch is being filled: all its entries, one per p' index, in an
    /// open-addressing table (a power-of-two slot array at most 3/4 full, probed linearly from
    /// the index's low bits; 0 = empty, which no entry is: its rank is at least 1). Empty
    /// otherwise.
    private var table: [UInt32] = []
    /// The number of entries in `table`.
    private var tableCount = 0
    /// The dense registers, one per byte. Empty while sparse.
    private(set) var registers: [UInt8] = []

    /// An empty sketch.
    public init() {}

    init(sparse: [UInt32]) {
        self.sparse = sparse
    }

    init(registers: [UInt8]) {
        precondition(registers.count == Self.registerCount, "dense sketch needs every register")
        self.registers = registers
    }

    // MARK: - Inserting

    /// Adds one visitor, given 64 bits of its pseudonym.
    ///
    /// Dense sketches update one register in place and never allocate. Sparse sketches probe
    /// their entry table, which doubles when 3/4 full (the first insert after the sorted list
    /// was read moves the list into a table).
    /// - Parameter hash: uniformly distributed bits, such as the first 8 bytes of a pseudonym.
    /// - Complexity: O(1) dense, amortised O(1) sparse.
    public mutating func insert(hash: UInt64) {
        if !registers.isEmpty {
            let index = Int(truncatingIfNeeded: hash >> UInt64(64 - Self.precision))
            let zeros = (hash << UInt64(Self.precision)).leadingZeroBitCount
            let rank = UInt8(truncatingIfNeeded: min(zeros, 50) + 1)
            if registers[index] < rank {
                registers[index] = rank
            }
            return
        }
        insertSparse(Self.sparseEntry(hash))
    }

    /// The sparse entry of a hash: `index' << 6 | rank'`.
    static func sparseEntry(_ hash: UInt64) -> UInt32 {
        let index = UInt32(truncatingIfNeeded: hash >> UInt64(64 - sparsePrecision))
        let rank = UInt32(min((hash << UInt64(sparsePrecision)).leadingZeroBitCount, 39) + 1)
        return index << 6 | rank
    }

    /// The dense register and rank that the hashes behind a sparse entry give at p = 14.
    ///
    /// The 11 index bits below the top 14 come first in the rank's bit string: if one of them is
    /// set, the rank is decided there; otherwise 11 zeros precede the sparse rank's bits.
    static func denseRegister(_ entry: UInt32) -> (index: Int, rank: UInt8) {
        let index = Int(entry >> 17)
        let low = (entry >> 6) & 0x7FF
        let rank = low != 0 ? UInt32(low.leadingZeroBitCount - 20) : 11 + (entry & 0x3F)
        return (index, UInt8(truncatingIfNeeded: rank))
    }

    private mutating func insertSparse(_ entry: UInt32) {
        if table.isEmpty { fillTable() }
        let key = entry >> 6
        let inserted: Bool = table.withUnsafeMutableBufferPointer { slots in
            let mask = slots.count &- 1
            var i = Int(truncatingIfNeeded: key) & mask
            while true {
                let slot = slots[i]
                if slot == 0 {
                    slots[i] = entry
                    return true
                }
                if slot >> 6 == key {
                    // Same index: keep the higher rank.
                    if slot < entry { slots[i] = entry }
                    return false
                }
                i = (i &+ 1) & mask
            }
        }
        guard inserted else { return }
        tableCount += 1
        if tableCount > Self.sparseLimit {
            convertToDense()
        } else if tableCount * 4 > table.count * 3 {
            rehash(slotCount: table.count * 2)
        }
    }

    /// Moves the sorted entries into a table with room to grow.
    private mutating func fillTable() {
        var slotCount = 8
        while slotCount * 3 < sparse.count * 8 { slotCount *= 2 }
        rehash(slotCount: slotCount)
    }

    /// Places every entry (of `sparse` and `table`) in a new table of `slotCount` slots.
    private mutating func rehash(slotCount: Int) {
        var slots = [UInt32](repeating: 0, count: slotCount)
        let mask = slotCount - 1
        var count = 0
        func place(_ entry: UInt32) {
            var i = Int(entry >> 6) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = entry
            count += 1
        }
        for entry in sparse { place(entry) }
        for entry in table where entry != 0 { place(entry) }
        sparse = []
        table = slots
        tableCount = count
    }

    /// Sorts the table's entries back into the list (a table never holds more than
    /// `sparseLimit`: the insert past it converts to dense).
    private mutating func settle() {
        guard !table.isEmpty else { return }
        var entries: [UInt32] = []
        entries.reserveCapacity(tableCount)
        for entry in table where entry != 0 { entries.append(entry) }
        Self.heapSort(&entries)
        sparse = entries
        table = []
        tableCount = 0
    }

    private mutating func convertToDense() {
        var registers = [UInt8](repeating: 0, count: Self.registerCount)
        Self.fold(sparse, into: &registers)
        Self.fold(table, into: &registers)
        self.registers = registers
        sparse = []
        table = []
        tableCount = 0
    }

    /// Raises the registers to the entries' (empty slots, 0, are skipped).
    private static func fold(_ entries: [UInt32], into registers: inout [UInt8]) {
        for entry in entries where entry != 0 {
            let (index, rank) = denseRegister(entry)
            if registers[index] < rank { registers[index] = rank }
        }
    }

    /// Sorts in place without allocating (the standard library's sort may allocate scratch space).
    private static func heapSort(_ values: inout [UInt32]) {
        values.withUnsafeMutableBufferPointer { a in
            let n = a.count
            func siftDown(_ start: Int, _ end: Int) {
                var root = start
                while true {
                    var child = 2 * root + 1
                    if child >= end { return }
                    if child + 1 < end && a[child] < a[child + 1] { child += 1 }
                    if a[root] >= a[child] { return }
                    a.swapAt(root, child)
                    root = child
                }
            }
            var start = n / 2
            while start > 0 {
                start -= 1
                siftDown(start, n)
            }
            var end = n
            while end > 1 {
                end -= 1
                a.swapAt(0, end)
                siftDown(0, end)
            }
        }
    }

    /// Brings the entry table into the canonical sorted list and frees the table.
    ///
    /// Never changes what the sketch reports; call it when a sketch is done being filled to
    /// release the table's memory and make later `==`, `estimate` and `encode` calls copy-free.
    public mutating func compact() {
        settle()
    }

    /// This sketch with its entries in the sorted list.
    private func normalized() -> HyperLogLog {
        if table.isEmpty { return self }
        var copy = self
        copy.settle()
        return copy
    }

    // MARK: - Merging

    /// Adds every visitor counted by `other`: register-wise (or entry-wise) maximum.
    ///
    /// Two sparse sketches stay sparse while the union has at most `sparseLimit` entries.
    /// The result equals the sketch of the union of both inputs, whatever the order.
    public mutating func merge(_ other: HyperLogLog) {
        settle()
        let other = other.normalized()
        switch (registers.isEmpty, other.registers.isEmpty) {
        case (false, false):
            registers.withUnsafeMutableBufferPointer { mine in
                other.registers.withUnsafeBufferPointer { theirs in
                    for i in 0..<mine.count where mine[i] < theirs[i] {
                        mine[i] = theirs[i]
                    }
                }
            }
        case (false, true):
            Self.fold(other.sparse, into: &registers)
        case (true, false):
            let mine = sparse
            registers = other.registers
            sparse = []
            Self.fold(mine, into: &registers)
        case (true, true):
            sparse = Self.unionOfSorted(sparse, other.sparse)
            if sparse.count > Self.sparseLimit {
                convertToDense()
            }
        }
    }

    /// Merges two sorted entry lists, keeping the higher rank where an index is in both.
    private static func unionOfSorted(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        if b.isEmpty { return a }
        if a.isEmpty { return b }
        var result: [UInt32] = []
        result.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            let x = a[i]
            let y = b[j]
            if x >> 6 == y >> 6 {
                result.append(max(x, y))
                i += 1
                j += 1
            } else if x < y {
                result.append(x)
                i += 1
            } else {
                result.append(y)
                j += 1
            }
        }
        result.append(contentsOf: a[i...])
        result.append(contentsOf: b[j...])
        return result
    }

    /// The sketch of the union of all visitors counted by `sketches`.
    public static func union(_ sketches: some Sequence<HyperLogLog>) -> HyperLogLog {
        var result = HyperLogLog()
        for sketch in sketches {
            result.merge(sketch)
        }
        return result
    }

    // MARK: - Reading

    /// Whether nothing has been inserted.
    public var isEmpty: Bool {
        sparse.isEmpty && table.isEmpty && registers.isEmpty
    }

    /// Whether no entry waits in the insert table (after `compact()`, or nothing inserted since).
    var isCompact: Bool { table.isEmpty }

    /// Whether the sketch is in the sparse form (at most `sparseLimit` distinct p' indexes).
    public var isSparse: Bool {
        normalized().registers.isEmpty
    }

    /// The estimated number of distinct hashes inserted.
    ///
    /// Sparse: linear counting over 2^25 buckets, `-m' ln(1 - n/m')` for n occupied indexes —
    /// within a fraction of a visitor of the truth for counts up to thousands (only two hashes
    /// sharing their top 25 bits are missed). Dense: Ertl's improved raw estimator.
    public var estimate: Double {
        let sketch = normalized()
        if sketch.registers.isEmpty {
            return Self.linearCounting(occupied: sketch.sparse.count)
        }
        return Self.improvedEstimate(sketch.registers)
    }

    /// `estimate` rounded to the nearest integer.
    public func cardinality() -> UInt64 {
        UInt64(estimate.rounded())
    }

    /// `-m' ln(1 - n/m')` for m' = 2^25, computed as the series `m' Σ xᵏ/k` with
    /// x = n/m' ≤ 2^-13, which converges in a few terms and needs no libm.
    static func linearCounting(occupied: Int) -> Double {
        let buckets = Double(1 << sparsePrecision)
        let x = Double(occupied) / buckets
        var power = x
        var sum = 0.0
        var k = 1.0
        while true {
            let term = power / k
            let next = sum + term
            if next == sum { break }
            sum = next
            power *= x
            k += 1
        }
        return buckets * sum
    }

    /// Ertl's improved estimator (2017, algorithm 6) for p = 14, q = 50.
    static func improvedEstimate(_ registers: [UInt8]) -> Double {
        let q = 64 - precision
        var histogram = [Int](repeating: 0, count: q + 2)
        for value in registers {
            histogram[Int(value)] += 1
        }
        let m = Double(registerCount)
        var z = m * tau(1 - Double(histogram[q + 1]) / m)
        for k in stride(from: q, through: 1, by: -1) {
            z = 0.5 * (z + Double(histogram[k]))
        }
        z += m * sigma(Double(histogram[0]) / m)
        let alphaInfinity = 0.721_347_520_444_481_7  // 1 / (2 ln 2)
        return alphaInfinity * m * m / z
    }

    /// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k-1).
    static func sigma(_ x: Double) -> Double {
        if x == 1 { return .infinity }
        var x = x
        var y = 1.0
        var z = x
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    /// τ(x) = (1 - x - Σ_{k≥1} (1 - x^(2^-k))² 2^-k) / 3.
    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x
        var y = 1.0
        var z = 1 - x
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }

    // MARK: - Equality and encoding

    /// Equal when both count the same entries (sparse) or registers (dense).
    public static func == (a: HyperLogLog, b: HyperLogLog) -> Bool {
        let a = a.normalized()
        let b = b.normalized()
        return a.sparse == b.sparse && a.registers == b.registers
    }

    /// Appends the canonical encoding: a tag byte, then the sparse entries or packed registers.
    ///
    /// An empty sketch takes 2 bytes, a sparse one about 1 + 4 bytes per entry (less when
    /// entries are dense enough for short deltas), a dense one 12 289 bytes.
    public func encode(into writer: inout BinaryWriter) {
        let sketch = normalized()
        if sketch.registers.isEmpty {
            writer.writeUInt8(Tag.sparse)
            writer.writeVarUInt(UInt64(sketch.sparse.count))
            var previous: UInt32 = 0
            for entry in sketch.sparse {
                writer.writeVarUInt(UInt64(entry - previous))
                previous = entry
            }
        } else {
            writer.writeUInt8(Tag.dense)
            let r = sketch.registers
            for i in stride(from: 0, to: r.count, by: 4) {
                let packed =
                    UInt32(r[i]) | UInt32(r[i + 1]) << 6 | UInt32(r[i + 2]) << 12
                    | UInt32(r[i + 3]) << 18
                writer.writeUInt8(UInt8(truncatingIfNeeded: packed))
                writer.writeUInt8(UInt8(truncatingIfNeeded: packed >> 8))
                writer.writeUInt8(UInt8(truncatingIfNeeded: packed >> 16))
            }
        }
    }

    /// Reads a sketch written by `encode(into:)`.
    ///
    /// - Throws: `VeilError` `.state` naming the byte offset when the bytes end early, the tag is
    ///   unknown, a sparse list is longer than `sparseLimit`, its entries are not strictly
    ///   increasing by index or have a rank outside 1...40, a dense register exceeds 51, or a
    ///   dense sketch is all zeros (never written: an empty sketch is sparse).
    public static func decode(from reader: inout BinaryReader) throws(VeilError) -> HyperLogLog {
        let start = reader.offset
        let tag = try reader.readUInt8()
        switch tag {
        case Tag.sparse:
            let countOffset = reader.offset
            let count = try reader.readCount(minimumElementSize: 1)
            guard count <= sparseLimit else {
                throw reader.error(
                    "HyperLogLog sparse list has \(count) entries, more than \(sparseLimit)",
                    at: countOffset)
            }
            var entries: [UInt32] = []
            entries.reserveCapacity(count)
            var previous: UInt64 = 0
            for i in 0..<count {
                let entryOffset = reader.offset
                let delta = try reader.readVarUInt()
                let (value, overflow) = previous.addingReportingOverflow(delta)
                guard !overflow, value < 1 << 31 else {
                    throw reader.error(
                        "HyperLogLog sparse entry \(i) is out of range", at: entryOffset)
                }
                let rank = UInt32(value & 0x3F)
                guard rank >= 1 && rank <= maxSparseRank else {
                    throw reader.error(
                        "HyperLogLog sparse entry \(i) has rank \(rank), outside 1...40",
                        at: entryOffset)
                }
                guard i == 0 || value >> 6 > previous >> 6 else {
                    throw reader.error(
                        "HyperLogLog sparse entry \(i) is not above the previous index",
                        at: entryOffset)
                }
                entries.append(UInt32(value))
                previous = value
            }
            return HyperLogLog(sparse: entries)
        case Tag.dense:
            let dataOffset = reader.offset
            let packed = try reader.readRawBytes(count: registerCount / 4 * 3)
            var registers = [UInt8](repeating: 0, count: registerCount)
            var any = false
            for group in 0..<registerCount / 4 {
                let word =
                    UInt32(packed[3 * group]) | UInt32(packed[3 * group + 1]) << 8
                    | UInt32(packed[3 * group + 2]) << 16
                for k in 0..<4 {
                    let value = UInt8(truncatingIfNeeded: (word >> UInt32(6 * k)) & 0x3F)
                    guard value <= maxRank else {
                        throw reader.error(
                            "HyperLogLog register \(4 * group + k) is \(value), above \(maxRank)",
                            at: dataOffset + 3 * group)
                    }
                    any = any || value != 0
                    registers[4 * group + k] = value
                }
            }
            guard any else {
                throw reader.error("HyperLogLog dense sketch has no registers set", at: start)
            }
            return HyperLogLog(registers: registers)
        default:
            throw reader.error("unknown HyperLogLog encoding \(tag)", at: start)
        }
    }
}
