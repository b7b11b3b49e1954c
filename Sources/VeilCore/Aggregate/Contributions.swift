/// The tables a differentially private release can publish from per-visitor contribution
/// records kept in the state. (The DP tables of visits, `entry_pages`, `exit_pages` and the
/// visit length tables, count the visitor summaries' visits, so they need none here.)
public enum ContributionTable: Int, CaseIterable, Sendable {
    /// Per site and day: the visitor was there (count = pageviews that day).
    case trafficDay = 0
    case pages
    case referrers
    case browsers
    case operatingSystems
    case devices

    /// The aggregation table whose dimension values the records hold.
    public var tableID: TableID {
        switch self {
        case .trafficDay: .trafficDay
        case .pages: .pages
        case .referrers: .referrers
        case .browsers: .browsers
        case .operatingSystems: .operatingSystems
        case .devices: .devices
        }
    }

    /// Whether the records name a dimension value (all but `trafficDay`, whose partition is the day).
    var hasDimension: Bool { self != .trafficDay }
}

/// One contribution record: the visitor counted `count` times (pageviews, capped at
/// ``ContributionStore/countCap``) in the partition (`day`, `dim`) of one table.
struct ContributionEntry: Sendable, Equatable {
    /// Local day number (days since 1970-01-01 in the state's zone).
    var day: UInt32
    /// Dimension id (24 bits) << 8 | count (8 bits).
    var packed: UInt32
    /// In the store's overflow array: index + 1 of the next record of the same list; 0 ends it.
    var next: UInt32

    init(day: UInt32, dim: UInt32, count: UInt8, next: UInt32 = 0) {
        self.day = day
        packed = dim << 8 | UInt32(count)
        self.next = next
    }

    var dim: UInt32 { packed >> 8 }
    var count: UInt8 { UInt8(truncatingIfNeeded: packed) }
}

/// Per-visitor contribution records: for each (site, pseudonym) and each ``ContributionTable``,
/// the partitions (local day, dimension value) the visitor contributed to, with a capped count.
///
/// This is what contribution bounding at a differentially private release needs and what the
/// counters and sketches of the cells cannot give. To keep memory bounded, at most
/// ``maxPartitions`` partitions are kept per visitor and table: the ones with the smallest
/// *rank*, a hash of the pseudonym, the table, the day and the dimension value's **string**
/// (ids differ between states before a merge; ties go to the earlier day, then the byte-smaller
/// value). The kept set is exactly the `maxPartitions` smallest-rank partitions of everything
/// the visitor did, with exact (capped) counts, whatever the order of the records or the way the
/// input was split — an evicted partition can never come back, since the smaller-ranked ones
/// that pushed it out stay — so merging is union, counts added then capped, keep the smallest
/// ranks: associative, commutative, and shards merged equal the whole.
///
/// Layout, for the hot path: each visitor owns ``stride`` consecutive 64-bit words of `slots`
/// (72 bytes): the first record of each of the six tables inline (most visitors have one
/// browser, OS, device and day), then the heads of each table's further records, which are
/// singly linked lists in one flat `entries` array. Counting a pageview is one visitor lookup
/// and a walk that mostly stays in those 72 bytes; nothing is allocated per record (only the
/// flat arrays grow).
///
/// Pseudonymous data: it lives only in state files.
public struct ContributionStore: Sendable {
    /// The most partitions kept per visitor and table (the largest `--dp-l0`).
    public static let maxPartitions = 8
    /// The largest count kept per record (the largest `--dp-linf`).
    public static let countCap = 255

    static let tableCount = ContributionTable.allCases.count
    /// Words per visitor: one inline record per table, then two list heads per word.
    static let stride = tableCount + tableCount / 2

    /// Visitor keys; index `v` of the table owns `slots[v * stride ..< (v + 1) * stride]`.
    var visitorTable = IndexTable<VisitorKey>(capacity: 1024)
    /// Per visitor: words `0..<tableCount` the first record of each table (`day << 32 | dim << 8
    /// | count`, 0 = none); then the list heads (index + 1 into `entries`, 0 = none), two per word.
    var slots: [UInt64] = []
    /// Records after the first of a (visitor, table).
    var entries: [ContributionEntry] = []
    /// Stable 64-bit hashes of dimension strings by id, filled lazily (ranks need them only
    /// when a list is full, at merge and at release).
    var dimHashes: [UInt64] = []

    public init() {}

    var visitorKeys: [VisitorKey] { visitorTable.keys }

    /// Number of visitors that have at least one record.
    public var visitorCount: Int {
        (0..<visitorTable.count).reduce(0) { $0 + (hasRecords($1) ? 1 : 0) }
    }

    /// Whether visitor `v` has any record (a table's list is empty when its inline record is).
    func hasRecords(_ v: Int) -> Bool {
        let base = v * Self.stride
        for t in 0..<Self.tableCount where slots[base + t] != 0 { return true }
        return false
    }

    @inline(__always)
    static func pack(day: UInt32, dim: UInt32, count: UInt8) -> UInt64 {
        UInt64(day) << 32 | UInt64(dim) << 8 | UInt64(count)
    }

    static func unpack(_ word: UInt64) -> ContributionEntry {
        ContributionEntry(
            day: UInt32(truncatingIfNeeded: word >> 32), dim: UInt32(truncatingIfNeeded: word >> 8) & 0xFF_FFFF,
            count: UInt8(truncatingIfNeeded: word))
    }

    /// The head of the further records of visitor `v` in `table`.
    @inline(__always)
    func head(_ v: Int, _ table: Int) -> UInt32 {
        let w = slots[v &* Self.stride &+ Self.tableCount &+ table >> 1]
        return UInt32(truncatingIfNeeded: table & 1 == 0 ? w : w >> 32)
    }

    @inline(__always)
    mutating func setHead(_ v: Int, _ table: Int, _ value: UInt32) {
        let i = v &* Self.stride &+ Self.tableCount &+ table >> 1
        slots[i] =
            table & 1 == 0
            ? slots[i] & 0xFFFF_FFFF_0000_0000 | UInt64(value)
            : slots[i] & 0x0000_0000_FFFF_FFFF | UInt64(value) << 32
    }

    /// The index of a visitor, created (with no records) when new.
    @inline(__always)
    mutating func visitor(_ key: VisitorKey) -> Int {
        let (v, inserted) = visitorTable.findOrInsert(key)
        if inserted { appendEmptySlots() }
        return v
    }

    /// The index of visitor `key`, trying `hint` first: during aggregation a visitor's
    /// contribution index equals its visit-summary index (both are added for every pageview),
    /// so the hint saves a second hash lookup of the same visitor.
    @inline(__always)
    mutating func visitor(_ key: VisitorKey, hint: Int) -> Int {
        if hint < visitorTable.count && visitorTable.keys[hint] == key { return hint }
        return visitor(key)
    }

    @inline(never)
    private mutating func appendEmptySlots() {
        slots.append(contentsOf: repeatElement(0, count: Self.stride))
    }

    /// What `add` did with a contribution.
    enum AddOutcome {
        /// A new record for the partition.
        case added
        /// The partition had a record already: its count went up (up to ``countCap``).
        case counted
        /// The partition is new and the list is full: the caller decides by rank whether it
        /// replaces a kept one (`AggregateState.addRankedContribution`).
        case full
    }

    /// Counts one more contribution of visitor `v` to (`day`, `dim`) of `table`.
    /// - Complexity: O(``maxPartitions``), no allocation unless the entry array grows.
    @inline(__always)
    mutating func add(_ v: Int, _ table: Int, day: UInt32, dim: UInt32) -> AddOutcome {
        let i = v &* Self.stride &+ table
        let first = slots[i]
        let key = UInt64(day) << 32 | UInt64(dim) << 8
        if first == 0 {
            slots[i] = key | 1
            return .added
        }
        if first & ~0xFF == key {
            if first & 0xFF < UInt64(Self.countCap) { slots[i] = first &+ 1 }
            return .counted
        }
        return addFurther(v, table, day: day, dim: dim)
    }

    @inline(__always)
    private mutating func addFurther(_ v: Int, _ table: Int, day: UInt32, dim: UInt32) -> AddOutcome {
        let h = head(v, table)
        var e = h
        var n = 1
        while e != 0 {
            let i = Int(e &- 1)
            let entry = entries[i]
            if entry.day == day && entry.dim == dim {
                if entry.count < UInt8(Self.countCap) { entries[i].packed = entry.packed &+ 1 }
                return .counted
            }
            e = entry.next
            n &+= 1
        }
        guard n < Self.maxPartitions else { return .full }
        precondition(entries.count < Int(UInt32.max) - 1, "too many contribution records")
        entries.append(ContributionEntry(day: day, dim: dim, count: 1, next: h))
        setHead(v, table, UInt32(entries.count))
        return .added
    }

    /// Where a record lives: inline (`nil`) or at an index of `entries`.
    typealias Location = Int?

    /// The records of visitor `v` in `table` with their locations.
    func locatedRecords(_ v: Int, _ table: Int) -> [(record: ContributionEntry, at: Location)] {
        let first = slots[v * Self.stride + table]
        guard first != 0 else { return [] }
        var out: [(record: ContributionEntry, at: Location)] = [(Self.unpack(first), nil)]
        var e = head(v, table)
        while e != 0 {
            let entry = entries[Int(e - 1)]
            out.append((entry, Int(e - 1)))
            e = entry.next
        }
        return out
    }

    /// The records of visitor `v` in `table`.
    func records(_ v: Int, _ table: Int) -> [ContributionEntry] {
        locatedRecords(v, table).map(\.record)
    }

    /// Calls `body` with each record of visitor `v` in `table` (no allocation).
    @inline(__always)
    func forEachRecord(_ v: Int, _ table: Int, _ body: (ContributionEntry) -> Void) {
        let first = slots[v * Self.stride + table]
        guard first != 0 else { return }
        body(Self.unpack(first))
        var e = head(v, table)
        while e != 0 {
            let entry = entries[Int(e - 1)]
            body(entry)
            e = entry.next
        }
    }

    /// Puts a fresh record (count 1) where another one was.
    mutating func replace(_ v: Int, _ table: Int, at location: Location, day: UInt32, dim: UInt32) {
        if let j = location {
            entries[j] = ContributionEntry(day: day, dim: dim, count: 1, next: entries[j].next)
        } else {
            slots[v * Self.stride + table] = Self.pack(day: day, dim: dim, count: 1)
        }
    }

    /// Replaces the records of visitor `v` in `table` (at most ``maxPartitions``, counts ≥ 1,
    /// capped at ``countCap``), reusing the list's nodes: no allocation unless the list grows.
    mutating func setRecords(_ v: Int, _ table: Int, _ records: [(day: UInt32, dim: UInt32, count: Int)]) {
        precondition(records.count <= Self.maxPartitions)
        guard let first = records.first else {
            slots[v * Self.stride + table] = 0
            setHead(v, table, 0)
            return
        }
        slots[v * Self.stride + table] = Self.pack(
            day: first.day, dim: first.dim, count: UInt8(min(first.count, Self.countCap)))
        var reuse = head(v, table)
        var previous: Int? = nil
        var newHead: UInt32 = 0
        for r in records.dropFirst() {
            let node: Int
            if reuse != 0 {
                node = Int(reuse - 1)
                reuse = entries[node].next
            } else {
                entries.append(ContributionEntry(day: 0, dim: 0, count: 0))
                node = entries.count - 1
            }
            entries[node] = ContributionEntry(day: r.day, dim: r.dim, count: UInt8(min(r.count, Self.countCap)))
            if let previous { entries[previous].next = UInt32(node + 1) } else { newHead = UInt32(node + 1) }
            previous = node
        }
        setHead(v, table, newHead)
    }

    /// Forgets every record of visitor `v`.
    mutating func clear(_ v: Int) {
        for i in v * Self.stride..<(v + 1) * Self.stride { slots[i] = 0 }
    }

    // MARK: Ranks

    /// A stable 64-bit hash of a string's bytes (FNV-1a, then mixed): the same in every process
    /// and state, unlike the seeded hashes of the lookup tables.
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return mix64(h)
    }

    /// The rank of a partition for a visitor: smaller ranks are kept. `table` is a
    /// ``ContributionTable`` raw value, or 6...9 for the DP tables of visits
    /// (`DPTable.visitRankTable`).
    static func rank(_ p: Pseudonym, table: Int, day: UInt32, dimHash: UInt64) -> UInt64 {
        let partition = mix64(dimHash &+ (UInt64(day) << 8 | UInt64(table)) &* 0x9E37_79B9_7F4A_7C15)
        return mix64(p.hi ^ mix64(p.lo ^ partition))
    }
}

// MARK: - State operations

extension AggregateState {
    /// Records one pageview's contributions: traffic that day, the page, the referrer host
    /// (if any), browser, operating system and device.
    ///
    /// - Returns: a bit per ``ContributionTable`` (`1 << rawValue`) set when the visitor's
    ///   partition of that table already had a record — the visitor was counted there before,
    ///   so the table cell's visitor sketch holds its pseudonym already (inserting again would
    ///   change nothing). A clear bit promises nothing.
    /// - Complexity: one visitor lookup and six list walks of at most
    ///   ``ContributionStore/maxPartitions`` records; allocates only when a flat array grows.
    @inline(__always)
    @discardableResult
    mutating func addContributions(
        site: UInt32, pseudonym: Pseudonym, day: Int64, path: UInt32, referrer: UInt32?, browser: UInt32,
        os: UInt32, device: UInt32, visitorHint: Int = .max
    ) -> UInt8 {
        let v = contributions.visitor(VisitorKey(site: site, pseudonym: pseudonym), hint: visitorHint)
        let d = UInt32(truncatingIfNeeded: day)
        var counted = addContribution(v, .trafficDay, d, 0, pseudonym)
        counted |= addContribution(v, .pages, d, path, pseudonym)
        if let referrer { counted |= addContribution(v, .referrers, d, referrer, pseudonym) }
        counted |= addContribution(v, .browsers, d, browser, pseudonym)
        counted |= addContribution(v, .operatingSystems, d, os, pseudonym)
        counted |= addContribution(v, .devices, d, device, pseudonym)
        return counted
    }

    /// Adds one contribution; returns `table`'s bit when the partition had a record already.
    @inline(__always)
    private mutating func addContribution(
        _ v: Int, _ table: ContributionTable, _ day: UInt32, _ dim: UInt32, _ p: Pseudonym
    ) -> UInt8 {
        switch contributions.add(v, table.rawValue, day: day, dim: dim) {
        case .counted: return 1 << UInt8(table.rawValue)
        case .added: return 0
        case .full:
            addRankedContribution(v, table, day, dim, p)
            return 0
        }
    }

    /// A new partition for a full list: it replaces the largest-ranked record when its own
    /// rank is smaller, else it is dropped. Walks the list in place: no allocation (this runs
    /// for every pageview of a page beyond a visitor's kept ones).
    @inline(never)
    mutating func addRankedContribution(
        _ v: Int, _ table: ContributionTable, _ day: UInt32, _ dim: UInt32, _ p: Pseudonym
    ) {
        let t = table.rawValue
        let first = contributions.slots[v * ContributionStore.stride + t]
        guard first != 0 else { return }
        let newKey = contributionKey(p, t, day, dim)
        let r0 = ContributionStore.unpack(first)
        var worstAt: ContributionStore.Location = nil
        var worstKey = contributionKey(p, t, r0.day, r0.dim)
        var e = contributions.head(v, t)
        while e != 0 {
            let i = Int(e - 1)
            let entry = contributions.entries[i]
            let key = contributionKey(p, t, entry.day, entry.dim)
            if isLess(worstKey, key) {
                worstKey = key
                worstAt = i
            }
            e = entry.next
        }
        guard isLess(newKey, worstKey) else { return }
        contributions.replace(v, t, at: worstAt, day: day, dim: dim)
    }

    /// What orders a visitor's partitions: rank, then day, then the value's bytes.
    struct ContributionKey {
        var rank: UInt64
        var day: UInt32
        var dim: UInt32
        /// False for traffic (no dimension value to compare).
        var hasDimension: Bool
    }

    /// The ordering key of a partition of a contribution table (`table` < 6), or of entry or exit
    /// pages (6, 7).
    mutating func contributionKey(_ p: Pseudonym, _ table: Int, _ day: UInt32, _ dim: UInt32) -> ContributionKey {
        let hasDimension = table != ContributionTable.trafficDay.rawValue
        let h = hasDimension ? dimHash(dim) : 0
        return ContributionKey(
            rank: ContributionStore.rank(p, table: table, day: day, dimHash: h), day: day, dim: dim,
            hasDimension: hasDimension)
    }

    func isLess(_ a: ContributionKey, _ b: ContributionKey) -> Bool {
        if a.rank != b.rank { return a.rank < b.rank }
        if a.day != b.day { return a.day < b.day }
        return a.hasDimension && dims.isLess(a.dim, b.dim)
    }

    /// The stable hash of dimension `dim`'s string (cached).
    mutating func dimHash(_ dim: UInt32) -> UInt64 {
        let i = Int(dim)
        if i >= contributions.dimHashes.count {
            for j in contributions.dimHashes.count..<dims.count {
                contributions.dimHashes.append(ContributionStore.stableHash(dims.string(UInt32(j))))
            }
        }
        return contributions.dimHashes[i]
    }

    // MARK: Merge

    /// Adds `other`'s contribution records (site and dimension ids mapped into this state's).
    mutating func mergeContributions(_ other: AggregateState, siteMap: [UInt32], dimMap: [UInt32]) {
        let tables = ContributionStore.tableCount
        var all: [(day: UInt32, dim: UInt32, count: Int)] = []
        all.reserveCapacity(2 * ContributionStore.maxPartitions)
        for (j, k) in other.contributions.visitorKeys.enumerated() where other.contributions.hasRecords(j) {
            let key = VisitorKey(site: siteMap[Int(k.site)], pseudonym: k.pseudonym)
            let v = contributions.visitor(key)
            for t in 0..<tables where other.contributions.slots[j * ContributionStore.stride + t] != 0 {
                all.removeAll(keepingCapacity: true)
                contributions.forEachRecord(v, t) { all.append(($0.day, $0.dim, Int($0.count))) }
                let mine = all.count
                let hasDimension = t != ContributionTable.trafficDay.rawValue
                other.contributions.forEachRecord(j, t) { r in
                    let dim = hasDimension ? dimMap[Int(r.dim)] : 0
                    if let i = all[..<mine].firstIndex(where: { $0.day == r.day && $0.dim == dim }) {
                        all[i].count += Int(r.count)
                    } else {
                        all.append((r.day, dim, Int(r.count)))
                    }
                }
                if all.count > ContributionStore.maxPartitions {
                    var keyed = all.map { (key: contributionKey(key.pseudonym, t, $0.day, $0.dim), record: $0) }
                    keyed.sort { isLess($0.key, $1.key) }
                    all = keyed.prefix(ContributionStore.maxPartitions).map(\.record)
                }
                contributions.setRecords(v, t, all)
            }
        }
    }

    // MARK: Erasure

    /// Removes every contribution record of one visitor (erasure). The state then encodes as if
    /// the visitor had never contributed.
    /// - Returns: whether the visitor had records.
    @discardableResult
    public mutating func removeContributions(site: UInt32, pseudonym: Pseudonym) -> Bool {
        guard let v = contributions.visitorTable.find(VisitorKey(site: site, pseudonym: pseudonym)) else {
            return false
        }
        let had = contributions.hasRecords(v)
        contributions.clear(v)
        return had
    }

    /// Removes the contribution records of every visitor in `visitors` (erasure).
    /// - Returns: how many of them had records.
    @discardableResult
    public mutating func removeContributions(visitors: Set<VisitorKey>) -> Int {
        visitors.reduce(0) { $0 + (removeContributions(site: $1.site, pseudonym: $1.pseudonym) ? 1 : 0) }
    }

    // MARK: Bounding (release)

    /// One bounded contribution: visitor's (capped) count in a partition.
    struct BoundedContribution {
        var site: UInt32
        var day: UInt32
        var dim: UInt32
        var count: Int
    }

    /// For each visitor, the `l0` smallest-ranked partitions of `table` with their capped
    /// counts: what a differentially private release may count. Partitions `excluded` (site,
    /// dimension) are left out before ranking, so they take none of a visitor's `l0`.
    /// - Precondition: `1 <= l0 <= ContributionStore.maxPartitions`.
    mutating func boundedContributions(
        _ table: ContributionTable, l0: Int, excluding excluded: ((_ site: Int, _ dim: Int) -> Bool)? = nil,
        visit: (BoundedContribution) -> Void
    ) {
        precondition(l0 >= 1 && l0 <= ContributionStore.maxPartitions)
        let t = table.rawValue
        for (v, key) in contributions.visitorKeys.enumerated() {
            var records = contributions.records(v, t)
            if let excluded { records.removeAll { excluded(Int(key.site), Int($0.dim)) } }
            if records.isEmpty { continue }
            if records.count > l0 {
                var keyed = records.map { (key: contributionKey(key.pseudonym, t, $0.day, $0.dim), record: $0) }
                keyed.sort { isLess($0.key, $1.key) }
                records = keyed.prefix(l0).map(\.record)
            }
            for r in records {
                visit(BoundedContribution(site: key.site, day: r.day, dim: r.dim, count: Int(r.count)))
            }
        }
    }
}
