/// Settings that must agree for two states to merge.
public struct StateConfiguration: Sendable, Equatable {
    /// IANA zone the day buckets are in (`UTC` by default).
    public var timeZone: String = "UTC"
    /// Inactivity that ends a visit, in seconds.
    public var sessionTimeout: Int64 = 30 * 60
    /// Key epoch length of the key store the pseudonyms came from (`hour`, `day`, `week`, `month`).
    public var epochGranularity: String = "day"
    /// The timing rules that make clicks scanner clicks at release.
    public var emailTiming = EmailTimingRules()

    public init() {}
}

/// One input a state covers.
public struct InputRecord: Sendable, Equatable, Comparable {
    /// `sha256:<hex>` of the raw input bytes: what `merge` uses to refuse counting an input twice.
    public var fingerprint: String
    /// The name the input was given as (a path, or `-`).
    public var name: String
    public var bytes: Int64
    public var lines: Int64
    public var records: Int64
    public var rejected: Int64
    /// The database that placed the input's pageviews in countries (`--geoip`); nil when it
    /// was aggregated without one (its pageviews are in no country row).
    public var countryDatabase: CountryDatabase.Identity?

    public init(
        fingerprint: String, name: String, bytes: Int64, lines: Int64, records: Int64, rejected: Int64,
        countryDatabase: CountryDatabase.Identity? = nil
    ) {
        self.fingerprint = fingerprint
        self.name = name
        self.bytes = bytes
        self.lines = lines
        self.records = records
        self.rejected = rejected
        self.countryDatabase = countryDatabase
    }

    public static func < (a: Self, b: Self) -> Bool { a.fingerprint < b.fingerprint }
}

/// Pseudonymous aggregation state: table cells with counters and HyperLogLog sketches, the
/// per-visitor visit summaries and contribution records, the per-recipient e-mail summaries,
/// the key epochs used and the inputs covered.
///
/// States merge: `merge` is associative and commutative (counters add, sketches take register
/// maxima, visits join), and its encoding is canonical (sorted by strings, not by the order
/// things were first seen), so equal content gives equal bytes.
public struct AggregateState: Sendable {
    public internal(set) var configuration: StateConfiguration
    var sites = Interner()
    var dims = Interner()
    /// Cell keys; index `i` of the table is `cells[i]`.
    var cellTable = IndexTable<CellKey>(capacity: 1024)
    var cells: [Cell] = []
    /// Visitor keys; index `i` of the table is `visitors[i]`.
    var visitorTable = IndexTable<VisitorKey>(capacity: 1024)
    var visitors: [VisitorSummary] = []

    /// Recipient keys; index `i` of the table is `recipients[i]`.
    var recipientTable = IndexTable<RecipientKey>(capacity: 64)
    var recipients: [RecipientSummary] = []

    var cellKeys: [CellKey] { cellTable.keys }
    var visitorKeys: [VisitorKey] { visitorTable.keys }
    var recipientKeys: [RecipientKey] { recipientTable.keys }

    /// Per-visitor contribution records (partitions and capped counts) for differentially
    /// private releases (see `Contributions.swift`).
    var contributions = ContributionStore()
    /// Whether the state was aggregated without contribution records
    /// (`AggregationConfiguration.recordsContributions` off), or merged with one that was: it
    /// is then only released without noise, and never written.
    public internal(set) var omitsContributions = false
    /// Key epoch ids whose keys made the pseudonyms in this state.
    public internal(set) var epochs: Set<String> = []
    public internal(set) var inputs: [InputRecord] = []
    /// Records skipped because their time lies outside what veil can bucket (before 1970 or
    /// after 2089).
    public internal(set) var outOfRange: Int64 = 0

    public init(configuration: StateConfiguration) {
        self.configuration = configuration
    }

    /// Number of table cells.
    public var cellCount: Int { cells.count }
    /// Number of distinct (site, visitor) summaries.
    public var visitorCount: Int { visitors.count }
    /// Number of distinct (site, campaign, day, recipient) summaries.
    public var recipientCount: Int { recipients.count }

    /// Which country databases placed the pageviews of the inputs a state covers.
    public struct CountryCoverage: Sendable, Equatable {
        /// The databases, by build time.
        public var databases: [CountryDatabase.Identity]
        /// Inputs no database placed (aggregated without `--geoip`, or recorded by a state
        /// format that did not name it): none of their pageviews is in a country row.
        public var inputsWithoutDatabase: Int
    }

    /// The state's country coverage; nil when it counted no countries at all (no input placed
    /// by a database, no country cell).
    public var countryCoverage: CountryCoverage? {
        let placed = inputs.compactMap(\.countryDatabase)
        guard !placed.isEmpty || cellKeys.contains(where: { $0.table == .countries }) else { return nil }
        return CountryCoverage(
            databases: Set(placed).sorted(), inputsWithoutDatabase: inputs.count - placed.count)
    }

    // MARK: Cells

    @inline(__always)
    mutating func cell(_ key: CellKey) -> Int {
        let (i, inserted) = cellTable.findOrInsert(key)
        if inserted { cells.append(Cell()) }
        return i
    }

    // MARK: Visitors

    /// Adds a pageview, tagged with web campaign `campaign` (`Visit.noCampaign`: none) and from
    /// referrer host `referrer` (`Visit.noReferrer`: none), to the visitor's visit summary.
    ///
    /// Kept out of line: inlined into `Aggregator.consume`, its code made the optimiser leave
    /// the cell array's uniqueness and index checks there as calls; out of line, `consume` has
    /// none (see Benchmarks/PERFORMANCE.md).
    /// - Returns: the visitor's summary index.
    @inline(never) @discardableResult
    mutating func addPageview(
        site: UInt32, pseudonym: Pseudonym, time: Int64, path: UInt32, campaign: UInt32 = Visit.noCampaign,
        referrer: UInt32 = Visit.noReferrer
    ) -> Int {
        let key = VisitorKey(site: site, pseudonym: pseudonym)
        let timeout = configuration.sessionTimeout
        let (i, inserted) = visitorTable.findOrInsert(key)
        if inserted {
            visitors.append(
                VisitorSummary(
                    first: Visit(
                        start: time, end: time, pageviews: 1, entry: path, exit: path, campaign: campaign,
                        referrer: referrer)))
        } else if !visitors[i].addInOrder(
            time: time, path: path, campaign: campaign, referrer: referrer, timeout: timeout)
        {
            // Out of order, or a tie at a visit's first or last second: entry and exit pages are
            // ordered by their strings (a copy of the interner for the comparison, only on
            // this path).
            let dims = self.dims
            visitors[i].addOutOfOrder(
                time: time, path: path, campaign: campaign, referrer: referrer, timeout: timeout
            ) { dims.isLess($0, $1) }
        }
        return i
    }

    // MARK: Recipients

    /// The summary index of a recipient, created when new.
    @inline(__always)
    mutating func recipient(_ key: RecipientKey) -> Int {
        let (i, inserted) = recipientTable.findOrInsert(key)
        if inserted { recipients.append(RecipientSummary()) }
        return i
    }

    /// Adds one click to a recipient's summary.
    mutating func addClick(_ i: Int, time: Int64, link: UInt32, automated: Bool) {
        let dims = self.dims
        recipients[i].addClick(time: time, link: link, automated: automated) { dims.isLess($0, $1) }
    }

    /// Frees the sketches' insert buffers once counting is done (sorting each sketch's entries),
    /// on up to `threads` threads.
    mutating func compact(threads: Int = 1) {
        let n = cells.count
        // The cells go to the threads in turns of `run`: a few sketches (the busiest hours and
        // pages) hold most of the work, and turns spread them. A thread per run of cells at
        // most: at the end of a run whose past cells were sealed away a few hundred cells are
        // left, and their compaction (about 14 ms on the reference) still halves on two threads.
        let run = 64
        let parts = max(1, min(threads, n / run))
        cells.withUnsafeMutableBufferPointer { all in
            let cells = CellRuns(cells: all, run: run, parts: parts)
            let workers = (1..<parts).map { p in JoinableThread { cells.compact(part: p) } }
            cells.compact(part: 0)
            for w in workers { w.join() }
        }
    }

    /// The cells during `compact(threads:)`: each thread compacts its own runs of cells, so the
    /// unsynchronised shared buffer is safe.
    private struct CellRuns: @unchecked Sendable {
        let cells: UnsafeMutableBufferPointer<Cell>
        let run: Int
        let parts: Int

        /// Compacts runs `part`, `part + parts`, `part + 2 * parts`, ...
        func compact(part: Int) {
            var start = part * run
            while start < cells.count {
                for i in start..<min(start + run, cells.count) {
                    cells[i].visitors.compact()
                    cells[i].clients.compact()
                }
                start += parts * run
            }
        }
    }

    // MARK: Merge

    /// Adds `other` into this state.
    /// - Throws: `VeilError(.state)` when the configurations differ or both states cover the
    ///   same input (counting it twice would be wrong).
    public mutating func merge(_ other: AggregateState) throws(VeilError) {
        guard other.configuration == configuration else {
            throw VeilError(
                .state,
                "cannot merge states made with different settings (time zone \(configuration.timeZone) vs \(other.configuration.timeZone), session timeout \(configuration.sessionTimeout)s vs \(other.configuration.sessionTimeout)s, key epochs per \(configuration.epochGranularity) vs \(other.configuration.epochGranularity), scanner timing \(configuration.emailTiming.summary) vs \(other.configuration.emailTiming.summary))"
            )
        }
        let mine = Set(inputs.map(\.fingerprint))
        if let dup = other.inputs.first(where: { mine.contains($0.fingerprint) }) {
            throw VeilError(
                .state,
                "both states cover input '\(dup.name)' (\(dup.fingerprint.prefix(23))…); merging would count it twice"
            )
        }
        // Cell keys hold 15 bits of site id and 24 of dimension id: refuse before changing anything.
        let newSites = other.sites.strings.reduce(0) { $0 + (self.sites.intern($1, readOnly: true) == nil ? 1 : 0) }
        let newDims = other.dims.strings.reduce(0) { $0 + (self.dims.intern($1, readOnly: true) == nil ? 1 : 0) }
        guard self.sites.count + newSites <= CellKey.maxSites, self.dims.count + newDims <= CellKey.maxDimension else {
            throw VeilError(
                .state,
                "the merged state would have more than \(CellKey.maxSites) sites or \(CellKey.maxDimension) distinct values"
            )
        }
        inputs = (inputs + other.inputs).sorted()
        epochs.formUnion(other.epochs)
        if other.omitsContributions { omitsContributions = true }
        outOfRange += other.outOfRange

        var siteMap = [UInt32](repeating: 0, count: other.sites.count)
        for (i, s) in other.sites.strings.enumerated() { siteMap[i] = sites.intern(s) }
        var dimMap = [UInt32](repeating: 0, count: other.dims.count)
        for (i, s) in other.dims.strings.enumerated() { dimMap[i] = dims.intern(s) }

        for (j, k) in other.cellKeys.enumerated() {
            let key = CellKey(
                table: k.table, site: Int(siteMap[k.site]), bucket: k.bucket,
                dimension: k.table.hasDimension ? Int(dimMap[k.dimension]) : 0)
            let i = cell(key)
            cells[i].merge(other.cells[j])
        }
        let timeout = configuration.sessionTimeout
        let dims = self.dims
        for (j, k) in other.visitorKeys.enumerated() {
            let key = VisitorKey(site: siteMap[Int(k.site)], pseudonym: k.pseudonym)
            let theirs = other.visitors[j].visits.map { v in
                var mapped = v
                mapped.entry = dimMap[Int(v.entry)]
                if v.exit != Visit.unknownExit { mapped.exit = dimMap[Int(v.exit)] }
                if v.campaign != Visit.noCampaign { mapped.campaign = dimMap[Int(v.campaign)] }
                if v.referrer != Visit.noReferrer { mapped.referrer = dimMap[Int(v.referrer)] }
                return mapped
            }
            let (i, inserted) = visitorTable.findOrInsert(key)
            if inserted {
                visitors.append(VisitorSummary(visits: theirs))
            } else {
                visitors[i].merge(theirs, timeout: timeout) { dims.isLess($0, $1) }
            }
        }
        for (j, k) in other.recipientKeys.enumerated() {
            let key = RecipientKey(
                site: siteMap[Int(k.site)], campaign: dimMap[Int(k.campaign)], day: k.day, pseudonym: k.pseudonym)
            var theirs = other.recipients[j]
            for c in theirs.clicks.indices { theirs.clicks[c].link = dimMap[Int(theirs.clicks[c].link)] }
            for e in theirs.extraClicks.indices { theirs.extraClicks[e].link = dimMap[Int(theirs.extraClicks[e].link)] }
            let (i, inserted) = recipientTable.findOrInsert(key)
            if inserted {
                // Re-sort by this state's byte order (the same order: ids map string to string).
                recipients.append(RecipientSummary())
            }
            recipients[i].merge(theirs) { dims.isLess($0, $1) }
        }
        mergeContributions(other, siteMap: siteMap, dimMap: dimMap)
    }

    /// The merge of several states.
    public static func merged(_ states: [AggregateState]) throws(VeilError) -> AggregateState {
        guard var result = states.first else {
            throw VeilError(.usage, "nothing to merge")
        }
        for s in states.dropFirst() { try result.merge(s) }
        result.compact()
        return result
    }
}

extension EmailTimingRules {
    /// `burst 5 s / 2 links, delivery 10 s`.
    var summary: String {
        "burst \(burstSeconds) s / \(burstLinks) links, delivery \(deliverySeconds) s"
    }
}

extension TableID {
    /// Traffic tables have no dimension value.
    var hasDimension: Bool { self != .trafficHour && self != .trafficDay }
}
