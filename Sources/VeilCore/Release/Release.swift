/// Options for publishing rollups.
public struct ReleaseConfiguration: Sendable {
    /// A row is published only with at least `k` distinct visitors (or clients, for tables that
    /// count bots too).
    public var k = 10
    /// Threads the release may use (the tables are the same for any number): with two or
    /// more, the e-mail tables are built on a second thread while the rest are.
    public var threads = 1

    public init() {}
}

/// One anonymous table, ready to write.
public struct ReleasedTable: Sendable {
    /// Table name; the file is `<name>.csv`.
    public var name: String
    public var header: [String]
    public var rows: [[String]]
    /// What the k-threshold counted: `visitors` (non-bot), `clients` (any agent) or
    /// `recipients` (e-mail recipients).
    public var thresholdOn: String
    /// Rows below k (each either folded into `(other)` or dropped).
    public var suppressed = 0
    /// Of the suppressed rows, those folded into a published `(other)` row.
    public var folded = 0
    /// Smallest distinct count among published rows (nil when nothing was published).
    public var smallestPublishedCount: UInt64?

    public var fileName: String { name + ".csv" }
}

/// Turns a state into k-thresholded anonymous tables. The same state gives the same tables,
/// byte for byte: rows are sorted by site, time, then the main count (descending) and value
/// (the visit length tables: by range).
///
/// With `sealed` summaries (a job with `sealPastEpochs`), the per-visitor and per-recipient
/// passes read them back one key epoch (or day) at a time, so the release needs memory for one
/// epoch's summaries, not all of them; the tables are the same as from the merged state.
public struct Release {
    var state: AggregateState
    let sealed: SealedSummaries?
    let k: UInt64
    var buckets: TimeBuckets
    let granularity: EpochGranularity
    let threads: Int
    /// The referrer hosts that are the sites' own (not listed in `referrers`).
    let ownReferrers: OwnReferrers
    /// Visit summaries read by the last `tables()`: distinct (site, visitor pseudonym) pairs.
    public private(set) var visitorSummaries = 0

    public init(state: AggregateState, configuration: ReleaseConfiguration, sealed: SealedSummaries? = nil)
        throws(VeilError)
    {
        guard configuration.k >= 1 else { throw VeilError(.usage, "k must be at least 1") }
        self.state = state
        self.sealed = sealed
        k = UInt64(configuration.k)
        buckets = try TimeBuckets(zoneIdentifier: state.configuration.timeZone)
        granularity = EpochGranularity(rawValue: state.configuration.epochGranularity) ?? .day
        threads = configuration.threads
        ownReferrers = OwnReferrers(state)
    }

    /// The published tables, in a fixed order.
    /// - Throws: `VeilError(.io)` or `(.state)` when sealed summaries cannot be read back.
    public mutating func tables() throws(VeilError) -> [ReleasedTable] {
        // The e-mail tables read nothing the others write: with a spare thread, they are built
        // meanwhile, from a copy of this release (its arrays are shared, read-only).
        let campaigns =
            threads > 1 && (!state.recipientKeys.isEmpty || sealed?.recipientDays.isEmpty == false)
            ? CampaignTables(self) : nil
        var byTable = [[Int]](repeating: [], count: TableID.allCases.count)
        for (i, key) in state.cellKeys.enumerated() { byTable[Int(key.table.rawValue)].append(i) }
        let visits = try visitorPass()
        visitorSummaries = visits.summaries
        var out: [ReleasedTable] = []
        let visitsByDay = visits.day.byBucket
        out.append(traffic(.trafficHour, byTable, visits.hour.byBucket, name: "traffic_hourly", period: "hour"))
        out.append(traffic(.trafficDay, byTable, visitsByDay, name: "traffic_daily", period: "date"))
        out.append(rollUp(byTable, visitsByDay, name: "traffic_weekly", period: "week_start", range: .week))
        out.append(rollUp(byTable, visitsByDay, name: "traffic_monthly", period: "month", range: .month))
        out.append(dimension(.pages, byTable, name: "pages", columns: ["path"], metrics: .pageviews))
        out.append(pagesOfVisits(visits.entries, exits: false))
        out.append(pagesOfVisits(visits.exits, exits: true))
        out.append(visitLengths(visits.durations, days: visits.day.keys, name: "visit_durations", unit: "seconds"))
        out.append(visitLengths(visits.depths, days: visits.day.keys, name: "visit_pageviews", unit: "pageviews"))
        out.append(dimension(.notFound, byTable, name: "not_found", columns: ["path"], metrics: .requests))
        out.append(
            dimension(
                .referrers, byTable, name: "referrers", columns: ["referrer_host"], metrics: .pageviews,
                visits: visits.referrers))
        out.append(
            dimension(
                .webCampaigns, byTable, name: "web_campaigns", columns: ["source", "medium", "campaign"],
                metrics: .pageviews, visits: visits.campaigns))
        out.append(
            dimension(.browsers, byTable, name: "browsers", columns: ["browser", "version"], metrics: .pageviews))
        out.append(
            dimension(.operatingSystems, byTable, name: "operating_systems", columns: ["os"], metrics: .pageviews))
        out.append(dimension(.devices, byTable, name: "devices", columns: ["device"], metrics: .pageviews))
        // Only for states that counted countries (`--geoip`).
        if !byTable[Int(TableID.countries.rawValue)].isEmpty {
            out.append(dimension(.countries, byTable, name: "countries", columns: ["country"], metrics: .pageviews))
        }
        // Only for states whose inputs logged serving times.
        if hasDurations {
            out.append(responseTimes(byTable))
            out.append(
                dimension(.pages, byTable, name: "page_response_times", columns: ["path"], metrics: .durations))
        }
        out.append(dimension(.statusCodes, byTable, name: "status_codes", columns: ["status"], metrics: .requests))
        out.append(dimension(.bots, byTable, name: "bots", columns: ["bot"], metrics: .traffic))
        if let campaigns { out += try campaigns.wait() } else { out += try campaignTablesOfParts() }
        return out
    }

    /// `campaignTablesOfParts()` on a thread of its own.
    private final class CampaignTables: @unchecked Sendable {
        /// The copy the thread works on, alone until `done` is signalled.
        private var release: Release
        private var result: Result<[ReleasedTable], VeilError>?
        private var worker: JoinableThread?

        init(_ release: Release) {
            self.release = release
            worker = JoinableThread { [self] in
                result = Result { () throws(VeilError) -> [ReleasedTable] in try self.release.campaignTablesOfParts() }
            }
        }

        /// The tables, once built.
        func wait() throws(VeilError) -> [ReleasedTable] {
            worker?.join()
            return try result!.get()
        }
    }

    // MARK: Parts

    /// Site and dimension ids of a part in this state's ids.
    struct IDMap {
        var sites: [UInt32]
        var dims: [UInt32]
    }

    /// Calls `body` with each sealed key epoch's visit summaries and the map of their ids to
    /// this state's, then with the state itself (no map).
    func forEachVisitorPart(_ body: (AggregateState, IDMap?) -> Void) throws(VeilError) {
        if let sealed {
            for e in sealed.visitorEpochs {
                let part = try sealed.visitors(epoch: e, contributions: false)
                body(part, try idMap(part))
            }
        }
        body(state, nil)
    }

    /// The ids in this state of a sealed part's strings (the job's state interned every
    /// string its sealed summaries use).
    func idMap(_ part: AggregateState) throws(VeilError) -> IDMap {
        func map(_ strings: [String], _ interner: Interner) throws(VeilError) -> [UInt32] {
            var ids: [UInt32] = []
            ids.reserveCapacity(strings.count)
            for s in strings {
                guard let id = interner.intern(s, readOnly: true) else {
                    throw VeilError(.state, "sealed summaries name sites or values the state does not hold")
                }
                ids.append(id)
            }
            return ids
        }
        return IDMap(sites: try map(part.sites.strings, state.sites), dims: try map(part.dims.strings, state.dims))
    }

    /// The e-mail tables, from each sealed day's recipient summaries, then the state's own.
    /// Their rows are grouped by (site, day), and a day is in one part only.
    mutating func campaignTablesOfParts() throws(VeilError) -> [ReleasedTable] {
        guard let sealed, !sealed.recipientDays.isEmpty else { return campaignTables() }
        var parts: [[ReleasedTable]] = []
        for d in sealed.recipientDays {
            // Rows name sites and values by their strings: the part's own ids serve.
            var part = self
            part.state = try sealed.recipients(day: d)
            parts.append(part.campaignTables())
        }
        parts.append(campaignTables())
        var out = parts[0]
        for i in out.indices {
            out[i].suppressed = 0
            out[i].folded = 0
            out[i].smallestPublishedCount = nil
            var rows: [(site: String, date: String, n: Int, row: [String])] = []
            for p in parts {
                let t = p[i]
                for row in t.rows { rows.append((row[0], row[1], rows.count, row)) }
                out[i].suppressed += t.suppressed
                out[i].folded += t.folded
                if let n = t.smallestPublishedCount {
                    out[i].smallestPublishedCount = min(out[i].smallestPublishedCount ?? n, n)
                }
            }
            // By site and day, as one part's rows are; within a (site, day), in their order.
            rows.sort { a, b in
                if a.site != b.site { return a.site.utf8.lexicographicallyPrecedes(b.site.utf8) }
                if a.date != b.date { return a.date < b.date }
                return a.n < b.n
            }
            out[i].rows = rows.map(\.row)
        }
        return out
    }

    // MARK: Visits

    struct VisitCount {
        var visits: Int64 = 0
        var bounces: Int64 = 0

        mutating func add(bounce: Int64) {
            visits += 1
            bounces += bounce
        }
    }
    struct SiteBucket: Hashable, FastHashable, Sendable {
        var site: Int
        var bucket: Int64
        var fastHash: UInt64 {
            mix64(UInt64(truncatingIfNeeded: bucket) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: site))
        }
    }

    /// One row of a table of visits (an entry page, or a range of visit lengths): its visits,
    /// their bounces and pageviews, and its distinct visitors. Each visitor's visits come
    /// together, so comparing with the last visitor counts them exactly. The visitors' numbers
    /// are kept only while there are fewer than `keep` (a row below k may fold into another
    /// and needs them for the union; a row that reaches k never folds), so the memory of a
    /// release does not grow with its visits.
    struct VisitRow {
        var visits: Int64 = 0
        var bounces: Int64 = 0
        var pageviews: Int64 = 0
        var distinct = 0
        var lastVisitor = UInt32.max
        /// The visitors' numbers while `distinct < keep`; emptied when it gets there.
        var visitors: [UInt32] = []

        mutating func add(_ v: Visit, visitor: UInt32, keep: Int) {
            visits += 1
            if v.pageviews == 1 { bounces += 1 }
            pageviews.addSaturating(Int64(v.pageviews))
            if lastVisitor != visitor {
                lastVisitor = visitor
                distinct += 1
                if distinct < keep {
                    visitors.append(visitor)
                } else if !visitors.isEmpty {
                    visitors = []
                }
            }
        }

        /// Adds `o`'s counts (`distinct` and the visitor list are the folded row's to set).
        mutating func merge(_ o: VisitRow) {
            visits += o.visits
            bounces += o.bounces
            pageviews.addSaturating(o.pageviews)
            visitors += o.visitors
        }
    }
    /// A visit row's site, local day of the visits' start, and value: a dimension id (entry
    /// pages) or the index of a range of a `VisitLengthScale`.
    struct VisitRowKey: Hashable, FastHashable, Sendable {
        var site: Int
        var day: Int64
        var dim: Int
        var fastHash: UInt64 {
            mix64(
                (UInt64(truncatingIfNeeded: day) << 32 ^ UInt64(truncatingIfNeeded: dim)) &* 0x9E37_79B9_7F4A_7C15
                    ^ UInt64(truncatingIfNeeded: site))
        }
    }

    /// The rows of one table of visits, in the order they were first met.
    struct VisitRows {
        private var index = IndexTable<VisitRowKey>()
        private(set) var rows: [(key: VisitRowKey, row: VisitRow)] = []

        /// Counts a visit; `keep`: see `VisitRow`.
        mutating func add(_ key: VisitRowKey, _ v: Visit, visitor: UInt32, keep: Int) {
            let (i, inserted) = index.findOrInsert(key)
            if inserted { rows.append((key, VisitRow())) }
            rows[i].row.add(v, visitor: visitor, keep: keep)
        }

        /// The row of `key`, if a visit was counted there.
        func row(_ key: VisitRowKey) -> VisitRow? { index.find(key).map { rows[$0].row } }
    }

    /// Visits and bounces per (site, bucket), counted with one cheap lookup per visit (a
    /// `Dictionary` would run SipHash for each of the run's visits).
    struct VisitCounts {
        private var index = IndexTable<SiteBucket>()
        private var counts: [VisitCount] = []

        /// Counts a visit in bucket `key`.
        /// - Returns: the bucket's number: buckets are numbered from 0 as they are first met.
        @discardableResult
        mutating func add(_ key: SiteBucket, bounce: Int64) -> Int {
            let (i, inserted) = index.findOrInsert(key)
            if inserted { counts.append(VisitCount()) }
            counts[i].add(bounce: bounce)
            return i
        }

        /// The buckets, by number.
        var keys: [SiteBucket] { index.keys }

        /// The counts by (site, bucket), for the tables' few lookups per row.
        var byBucket: [SiteBucket: VisitCount] { Dictionary(uniqueKeysWithValues: zip(index.keys, counts)) }
    }

    /// The rows of a table of visit lengths: for each (site, day) number, one per range of the
    /// scale, so a visit costs no lookup beyond its day's; and, for the distinct visitors of
    /// any set of ranges, how many visitors had visits in exactly each set of ranges that day
    /// (a scale has at most 8 ranges: 256 sets). Memory: a few KiB per (site, day).
    struct VisitLengthRows {
        let scale: VisitLengthScale
        /// Row `day * scale.count + range` (no visitor lists: see `visitorsBySet`).
        private(set) var rows: [VisitRow] = []
        /// Entry `day * sets + set`: visitors whose visits that day fell in exactly the ranges
        /// of bit set `set`.
        private(set) var visitorsBySet: [Int] = []
        private var pending: (visitor: UInt32, day: Int, set: Int)? = nil

        init(scale: VisitLengthScale) {
            precondition(scale.count <= 8, "at most 8 ranges")
            self.scale = scale
        }

        var sets: Int { 1 << scale.count }

        mutating func add(_ v: Visit, length: Int64, day: Int, visitor: UInt32) {
            let start = day * scale.count
            if rows.count < start + scale.count {
                rows.append(contentsOf: repeatElement(VisitRow(), count: start + scale.count - rows.count))
                visitorsBySet.append(contentsOf: repeatElement(0, count: (day + 1) * sets - visitorsBySet.count))
            }
            let range = scale.index(of: length)
            rows[start + range].add(v, visitor: visitor, keep: 0)
            if let p = pending, p.visitor == visitor, p.day == day {
                pending = (visitor, day, p.set | 1 << range)
            } else {
                finish()
                pending = (visitor, day, 1 << range)
            }
        }

        /// Counts the last visitor's set of ranges; call once after the last visit.
        mutating func finish() {
            if let p = pending { visitorsBySet[p.day * sets + p.set] += 1 }
            pending = nil
        }

        /// The distinct visitors of day `day` with a visit in any range of bit set `ranges`.
        func visitors(day: Int, ranges: Int) -> Int {
            var n = 0
            for set in 1..<sets where set & ranges != 0 { n += visitorsBySet[day * sets + set] }
            return n
        }
    }

    /// What the per-visitor pass gathers: visits and bounces per (site, hour) and (site, day),
    /// and the rows of the tables of visits by entry page, duration and pageviews.
    struct VisitorPass {
        var hour = VisitCounts()
        var day = VisitCounts()
        var entries = VisitRows()
        /// By exit page; visits whose exit is unknown (read from an old state) are in none.
        var exits = VisitRows()
        /// By the web campaign of the first pageview; untagged visits are in none.
        var campaigns = VisitRows()
        /// By the referrer host of the first pageview; visits without one are in none.
        var referrers = VisitRows()
        /// Rows by (site, day) number of `day` and range.
        var durations = VisitLengthRows(scale: .duration)
        var depths = VisitLengthRows(scale: .pageviews)
        /// Visit summaries read.
        var summaries = 0
    }

    mutating func visitorPass() throws(VeilError) -> VisitorPass {
        var pass = VisitorPass()
        var buckets = self.buckets
        // Rows keep their visitors' numbers while below k (see `VisitRow`); a path that
        // reads `(other)` always folds, so its row keeps them all.
        let keep = Int(clamping: k)
        let otherDim = otherDimension
        try forEachVisitorPart { part, map in
            // Visitor numbers run on across parts.
            let base = pass.summaries
            for (j, partKey) in part.visitorKeys.enumerated() {
                let visitor = UInt32(truncatingIfNeeded: base + j)
                let key =
                    map.map { VisitorKey(site: $0.sites[Int(partKey.site)], pseudonym: partKey.pseudonym) } ?? partKey
                let site = Int(key.site)
                part.visitors[j].forEachVisit { partVisit in
                    var v = partVisit
                    if let map {
                        v.entry = map.dims[Int(v.entry)]
                        if v.exit != Visit.unknownExit { v.exit = map.dims[Int(v.exit)] }
                        if v.campaign != Visit.noCampaign { v.campaign = map.dims[Int(v.campaign)] }
                        if v.referrer != Visit.noReferrer { v.referrer = map.dims[Int(v.referrer)] }
                    }
                    let b = buckets.buckets(v.start)
                    let bounce: Int64 = v.pageviews == 1 ? 1 : 0
                    pass.hour.add(SiteBucket(site: site, bucket: b.hour), bounce: bounce)
                    let day = pass.day.add(SiteBucket(site: site, bucket: b.day), bounce: bounce)
                    let entry = Int(v.entry)
                    pass.entries.add(
                        VisitRowKey(site: site, day: b.day, dim: entry), v, visitor: visitor,
                        keep: entry == otherDim ? .max : keep)
                    if v.exit != Visit.unknownExit {
                        let exit = Int(v.exit)
                        pass.exits.add(
                            VisitRowKey(site: site, day: b.day, dim: exit), v, visitor: visitor,
                            keep: exit == otherDim ? .max : keep)
                    }
                    // Thresholded on the campaign's and referrer's cells: no visitor lists.
                    if v.campaign != Visit.noCampaign {
                        pass.campaigns.add(
                            VisitRowKey(site: site, day: b.day, dim: Int(v.campaign)), v, visitor: visitor, keep: 0)
                    }
                    if v.referrer != Visit.noReferrer {
                        pass.referrers.add(
                            VisitRowKey(site: site, day: b.day, dim: Int(v.referrer)), v, visitor: visitor, keep: 0)
                    }
                    pass.durations.add(v, length: v.end - v.start, day: day, visitor: visitor)
                    pass.depths.add(v, length: Int64(v.pageviews), day: day, visitor: visitor)
                }
            }
            pass.summaries += part.visitors.count
        }
        pass.durations.finish()
        pass.depths.finish()
        self.buckets = buckets
        return pass
    }

    // MARK: Traffic

    static let statusClassColumns = ["status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]

    static let trafficMetrics =
        ["requests", "pageviews", "VISITORS", "visits", "bounces", "bounce_rate", "bytes"] + statusClassColumns
        + ["bot_requests"]

    func visitorsColumn(covering range: EpochGranularity) -> String {
        granularity.covers(range) ? "visitors" : "visitors_sum_of_\(granularity.adjective)"
    }

    func trafficRow(site: Int, period: String, _ c: Cell, visitors: UInt64, _ v: VisitCount) -> [String] {
        [
            state.sites.string(UInt32(site)), period, String(c.requests), String(c.pageviews), String(visitors),
            String(v.visits), String(v.bounces), Self.rate(v.bounces, v.visits), String(c.bytes),
        ] + c.statusClassCounts.map { String($0) } + [String(c.botRequests)]
    }

    func traffic(_ table: TableID, _ byTable: [[Int]], _ visits: [SiteBucket: VisitCount], name: String, period: String)
        -> ReleasedTable
    {
        let range: EpochGranularity = table == .trafficHour ? .hour : .day
        var t = ReleasedTable(
            name: name,
            header: ["site", period]
                + Self.trafficMetrics.map { $0 == "VISITORS" ? visitorsColumn(covering: range) : $0 },
            rows: [], thresholdOn: "clients")
        publishTraffic(table, byTable, into: &t) { key, c in
            let label =
                table == .trafficHour
                ? ISOTime.localHour(utcSeconds: key.bucket * 3600, offset: buckets.offset(at: key.bucket * 3600))
                : ISOTime.date(days: key.bucket)
            return trafficRow(
                site: key.site, period: label, c, visitors: c.visitors.cardinality(),
                visits[SiteBucket(site: key.site, bucket: key.bucket)] ?? VisitCount())
        }
        return t
    }

    /// Appends to `t` a row for each cell of traffic `table` with at least k clients (by site
    /// name, then time), counting the others as suppressed; `row` may give no row for a
    /// published cell (a day without serving times).
    func publishTraffic(
        _ table: TableID, _ byTable: [[Int]], into t: inout ReleasedTable, row: (CellKey, Cell) -> [String]?
    ) {
        let order = byTable[Int(table.rawValue)].sorted { sortKey(state.cellKeys[$0]) < sortKey(state.cellKeys[$1]) }
        for i in order {
            let c = state.cells[i]
            let n = c.allClients
            guard n >= k else { t.suppressed += 1; continue }
            guard let r = row(state.cellKeys[i], c) else { continue }
            t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
            t.rows.append(r)
        }
    }

    /// The columns after the count of a table of serving times.
    static let durationColumns = ["mean_ms", "p50_ms", "p90_ms", "p99_ms"]

    /// The mean and the 50th, 90th and 99th percentiles of `h`, in milliseconds.
    static func durationValues(_ h: DurationHistogram) -> [String] {
        [DurationHistogram.milliseconds(h.mean ?? 0)]
            + [0.5, 0.9, 0.99].map { DurationHistogram.milliseconds(Double(h.percentile($0) ?? 0)) }
    }

    /// Whether any cell holds serving times (the input's format logged them): the two tables
    /// of serving times are released only then.
    var hasDurations: Bool { state.cells.contains { !$0.durations.isEmpty } }

    /// `response_times`: how long a site's requests took to serve per day (every request
    /// whose serving time was logged, bots' too), for the days `traffic_daily` publishes.
    func responseTimes(_ byTable: [[Int]]) -> ReleasedTable {
        var t = ReleasedTable(
            name: "response_times", header: ["site", "date", "requests"] + Self.durationColumns, rows: [],
            thresholdOn: "clients")
        publishTraffic(.trafficDay, byTable, into: &t) { key, c in
            c.durations.isEmpty
                ? nil
                : [state.sites.string(UInt32(key.site)), ISOTime.date(days: key.bucket), String(c.durations.count)]
                    + Self.durationValues(c.durations)
        }
        return t
    }

    /// Weekly or monthly traffic from the daily cells.
    func rollUp(
        _ byTable: [[Int]], _ visits: [SiteBucket: VisitCount], name: String, period: String, range: EpochGranularity
    ) -> ReleasedTable {
        var groups: [SiteBucket: (cell: Cell, visitorSum: UInt64, visits: VisitCount)] = [:]
        for i in byTable[Int(TableID.trafficDay.rawValue)] {
            let key = state.cellKeys[i]
            let g = SiteBucket(
                site: key.site, bucket: range == .week ? Self.weekStart(key.bucket) : Self.monthIndex(key.bucket))
            var e = groups[g] ?? (Cell(), 0, VisitCount())
            e.cell.merge(state.cells[i])
            e.visitorSum += state.cells[i].visitors.cardinality()
            let v = visits[SiteBucket(site: key.site, bucket: key.bucket)] ?? VisitCount()
            e.visits.visits += v.visits
            e.visits.bounces += v.bounces
            groups[g] = e
        }
        let distinct = granularity.covers(range)
        var t = ReleasedTable(
            name: name,
            header: ["site", period]
                + Self.trafficMetrics.map { $0 == "VISITORS" ? visitorsColumn(covering: range) : $0 },
            rows: [], thresholdOn: "clients")
        // By site name, then period: site ids depend on the order inputs and threads saw the sites.
        for g in groups.keys.sorted(by: { sortKey(site: $0.site, $0.bucket) < sortKey(site: $1.site, $1.bucket) }) {
            let e = groups[g]!
            let n = e.cell.allClients
            guard n >= k else { t.suppressed += 1; continue }
            t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
            let label = range == .week ? ISOTime.date(days: g.bucket) : Self.monthLabel(g.bucket)
            t.rows.append(
                trafficRow(
                    site: g.site, period: label, e.cell,
                    visitors: distinct ? e.cell.visitors.cardinality() : e.visitorSum, e.visits))
        }
        return t
    }

    // MARK: Dimension tables

    /// The counts of a dimension table's rows: pageviews and visitors; requests and bot
    /// requests; or requests, bytes and responses by status class (bots: all their requests
    /// are bot requests).
    enum MainMetric {
        case pageviews, requests, traffic
        /// How long the pageviews took to serve: the rows of the pages table whose serving
        /// times were logged.
        case durations
    }

    /// A table of one dimension from its cells; `visits`: the visits counted under each of its
    /// values (`web_campaigns`, `referrers`: by the campaign or referrer host of their first
    /// pageview), which adds the columns `visits`, `bounces` and `bounce_rate` after the
    /// visitors.
    func dimension(
        _ table: TableID, _ byTable: [[Int]], name: String, columns: [String], metrics: MainMetric,
        visits: VisitRows? = nil
    ) -> ReleasedTable {
        let clientsThreshold = table.countsAllClients
        var header = ["site", "date"] + columns
        switch metrics {
        case .pageviews: header += ["pageviews", visitorsColumn(covering: .day)]
        case .requests: header += ["requests", "bot_requests"]
        case .traffic: header += ["requests", "bytes"] + Self.statusClassColumns
        case .durations: header += ["pageviews"] + Self.durationColumns
        }
        if visits != nil { header += ["visits", "bounces", "bounce_rate"] }
        var t = ReleasedTable(
            name: name, header: header, rows: [], thresholdOn: clientsThreshold ? "clients" : "visitors")
        let otherDim = otherDimension

        // Group cells by (site, day).
        var groups: [SiteBucket: [Int]] = [:]
        for i in byTable[Int(table.rawValue)] {
            let key = state.cellKeys[i]
            groups[SiteBucket(site: key.site, bucket: key.bucket), default: []].append(i)
        }
        let siteOrder = { (a: SiteBucket, b: SiteBucket) -> Bool in
            let sa = state.sites.string(UInt32(a.site)), sb = state.sites.string(UInt32(b.site))
            return sa != sb ? sa.utf8.lexicographicallyPrecedes(sb.utf8) : a.bucket < b.bucket
        }
        for g in groups.keys.sorted(by: siteOrder) {
            var published: [(main: Int64, dim: Int, cell: Cell, n: UInt64, visits: VisitRow)] = []
            var other = Cell()
            var otherVisits = VisitRow()
            var folded = 0
            var hasOther = false
            for i in groups[g]! {  // Safe: g is one of groups' keys.
                let c = state.cells[i]
                let dim = state.cellKeys[i].dimension
                // A site's own host is internal navigation, not a referrer: neither listed nor
                // folded into `(other)`.
                if table == .referrers && ownReferrers.contains(site: g.site, dim: dim) { continue }
                let n = clientsThreshold ? c.allClients : c.visitors.cardinality()
                let v = visits?.row(VisitRowKey(site: g.site, day: g.bucket, dim: dim)) ?? VisitRow()
                if n >= k && dim != otherDim {
                    published.append((metrics == .pageviews ? c.pageviews : c.requests, dim, c, n, v))
                } else {
                    if dim != otherDim { folded += 1 }
                    other.merge(c)
                    otherVisits.merge(v)
                    hasOther = true
                }
            }
            t.suppressed += folded
            published.sort {
                $0.main != $1.main ? $0.main > $1.main : state.dims.isLess(UInt32($0.dim), UInt32($1.dim))
            }
            if hasOther {
                let n = clientsThreshold ? other.allClients : other.visitors.cardinality()
                if n >= k {
                    published.append((0, otherDim, other, n, otherVisits))
                    t.folded += folded
                }
            }
            let date = ISOTime.date(days: g.bucket)
            let site = state.sites.string(UInt32(g.site))
            for p in published {
                // A page none of whose pageviews had a serving time logged has no row there.
                if metrics == .durations && p.cell.durations.isEmpty { continue }
                t.smallestPublishedCount = min(t.smallestPublishedCount ?? p.n, p.n)
                var row = [site, date]
                let value = p.dim == otherDim ? otherLabel : state.dims.string(UInt32(p.dim))
                if table == .browsers {
                    // "chrome 120" → browser "chrome", version "120".
                    if let sp = value.lastIndex(of: " "), p.dim != otherDim {
                        row += [String(value[..<sp]), String(value[value.index(after: sp)...])]
                    } else {
                        row += [value, ""]
                    }
                } else if table == .webCampaigns {
                    // Source, medium and campaign; `(other)` in each for the folded row.
                    row +=
                        p.dim == otherDim
                        ? [otherLabel, otherLabel, otherLabel] : TableID.webCampaignColumns(value)
                } else {
                    row.append(value)
                }
                switch metrics {
                case .pageviews: row += [String(p.cell.pageviews), String(p.cell.visitors.cardinality())]
                case .requests: row += [String(p.cell.requests), String(p.cell.botRequests)]
                case .traffic:
                    row += ([p.cell.requests, p.cell.bytes] + p.cell.statusClassCounts).map { String($0) }
                case .durations:
                    row += [String(p.cell.durations.count)] + Self.durationValues(p.cell.durations)
                }
                if visits != nil {
                    row += [
                        String(p.visits.visits), String(p.visits.bounces), Self.rate(p.visits.bounces, p.visits.visits),
                    ]
                }
                t.rows.append(row)
            }
        }
        return t
    }

    // MARK: Tables of visits

    /// The indices of `keys` in the tables' order: by site name, then day.
    func sortedBySiteAndDay(_ keys: [SiteBucket]) -> [Int] {
        keys.indices.sorted {
            let a = keys[$0], b = keys[$1]
            let sa = state.sites.string(UInt32(a.site)), sb = state.sites.string(UInt32(b.site))
            return sa != sb ? sa.utf8.lexicographicallyPrecedes(sb.utf8) : a.bucket < b.bucket
        }
    }

    /// The number of distinct numbers in a visitor list.
    static func distinctCount(_ visitors: [UInt32]) -> Int {
        var sorted = visitors
        sorted.sort()
        var distinct = 0
        var last: UInt32? = nil
        for v in sorted where v != last {
            distinct += 1
            last = v
        }
        return distinct
    }

    /// `entry_pages` or `exit_pages`: per site and day (of the visits' start), the paths with
    /// at least k distinct visitors, most visits first; the others fold into one `(other)`
    /// row, published when it reaches k.
    func pagesOfVisits(_ visitRows: VisitRows, exits: Bool) -> ReleasedTable {
        let metrics = exits ? ["exits"] : ["visits", "bounces", "bounce_rate"]
        var t = ReleasedTable(
            name: exits ? "exit_pages" : "entry_pages",
            header: ["site", "date", "path"] + metrics + [visitorsColumn(covering: .day)], rows: [],
            thresholdOn: "visitors")
        let otherDim = otherDimension
        var groups: [SiteBucket: [Int]] = [:]
        for (i, e) in visitRows.rows.enumerated() {
            groups[SiteBucket(site: e.key.site, bucket: e.key.day), default: []].append(i)
        }
        let keys = Array(groups.keys)
        for g in sortedBySiteAndDay(keys).map({ keys[$0] }) {
            let indices = groups[g]!  // Safe: g is one of groups' keys.
            var published: [(dim: Int, row: VisitRow, visitors: Int)] = []
            var other = VisitRow()
            var folded = 0
            var hasOther = false
            for i in indices {
                let (key, row) = visitRows.rows[i]
                if UInt64(row.distinct) >= k && key.dim != otherDim {
                    published.append((key.dim, row, row.distinct))
                } else {
                    if key.dim != otherDim { folded += 1 }
                    other.merge(row)
                    hasOther = true
                }
            }
            t.suppressed += folded
            published.sort {
                $0.row.visits != $1.row.visits
                    ? $0.row.visits > $1.row.visits : state.dims.isLess(UInt32($0.dim), UInt32($1.dim))
            }
            if hasOther {
                let distinct = Self.distinctCount(other.visitors)
                if UInt64(distinct) >= k {
                    published.append((otherDim, other, distinct))
                    t.folded += folded
                }
            }
            for p in published {
                let n = UInt64(p.visitors)
                t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
                let counts =
                    exits
                    ? [String(p.row.visits)]
                    : [String(p.row.visits), String(p.row.bounces), Self.rate(p.row.bounces, p.row.visits)]
                t.rows.append(
                    [
                        state.sites.string(UInt32(g.site)), ISOTime.date(days: g.bucket),
                        p.dim == otherDim ? otherLabel : state.dims.string(UInt32(p.dim)),
                    ] + counts + [String(n)])
            }
        }
        return t
    }

    /// `visit_durations` or `visit_pageviews`: per site and day, the visits by range of
    /// `scale`, as rows that tile the scale — the first starts at its lowest value, each next
    /// one after the one before ends, the last is open (`max` empty). A range whose visits
    /// have fewer than k distinct visitors is joined with the ranges after it until the run
    /// reaches k; a short run left at the end joins the run before it. A day whose visitors
    /// all together are fewer than k has no row. `suppressed` counts the ranges (with visits)
    /// not published alone, `folded` those of them inside a published row.
    func visitLengths(_ lengths: VisitLengthRows, days: [SiteBucket], name: String, unit: String) -> ReleasedTable {
        let scale = lengths.scale
        var t = ReleasedTable(
            name: name,
            header: [
                "site", "date", "min_" + unit, "max_" + unit, "visits", "pageviews", visitorsColumn(covering: .day),
            ],
            rows: [], thresholdOn: "visitors")
        struct Run {
            var last = 0
            var row = VisitRow()
            /// Bit set of the ranges joined.
            var ranges = 0
            var short = 0
        }
        for d in sortedBySiteAndDay(days) {
            let g = days[d]
            var runs: [(run: Run, visitors: Int)] = []
            var open = Run()
            for range in 0..<scale.count {
                let row = lengths.rows[d * scale.count + range]
                guard row.visits > 0 else { continue }
                open.row.merge(row)
                open.last = range
                open.ranges |= 1 << range
                if UInt64(row.distinct) < k { open.short += 1 }
                let distinct = lengths.visitors(day: d, ranges: open.ranges)
                if UInt64(distinct) >= k {
                    runs.append((open, distinct))
                    open = Run()
                }
            }
            if open.ranges != 0 {
                if var last = runs.popLast() {
                    last.run.row.merge(open.row)
                    last.run.last = open.last
                    last.run.ranges |= open.ranges
                    last.run.short += open.short
                    last.visitors = lengths.visitors(day: d, ranges: last.run.ranges)
                    runs.append(last)
                } else {
                    t.suppressed += open.short
                }
            }
            var low = scale.lowest
            for (i, (run, visitors)) in runs.enumerated() {
                t.suppressed += run.short
                t.folded += run.short
                let n = UInt64(visitors)
                t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
                let high = i == runs.count - 1 ? nil : scale.upperBound(of: run.last)
                t.rows.append([
                    state.sites.string(UInt32(g.site)), ISOTime.date(days: g.bucket), String(low),
                    high.map { String($0) } ?? "", String(run.row.visits), String(run.row.pageviews), String(n),
                ])
                if let high { low = high + 1 }
            }
        }
        return t
    }

    // MARK: Helpers

    /// The dimension id of the label `(other)`, which a folded row shows (a value that reads
    /// `(other)` folds too, so the folded row is never taken for it); no id a value has when
    /// the state holds no such label.
    var otherDimension: Int { Int(state.dims.intern(otherLabel, readOnly: true) ?? UInt32.max) }

    func sortKey(_ k: CellKey) -> (String, Int64) { sortKey(site: k.site, k.bucket) }

    func sortKey(site: Int, _ bucket: Int64) -> (String, Int64) { (state.sites.string(UInt32(site)), bucket) }

    /// `bounces / visits` with four decimals, rounded half up; empty without visits.
    static func rate(_ part: Int64, _ whole: Int64) -> String {
        guard whole > 0 else { return "" }
        let scaled = (part * 20_000 + whole) / (2 * whole)  // round(part / whole * 10000)
        let int = scaled / 10_000, frac = scaled % 10_000
        return "\(int)." + String(frac).leftPadded(4)
    }

    /// Monday of the ISO week containing `day` (days since 1970-01-01, a Thursday).
    static func weekStart(_ day: Int64) -> Int64 {
        day - (((day + 3) % 7) + 7) % 7
    }

    static func monthIndex(_ day: Int64) -> Int64 {
        let (y, m, _) = Timestamp.civilFromDays(day)
        return Int64(y) * 12 + Int64(m - 1)
    }

    static func monthLabel(_ index: Int64) -> String {
        ISOTime.four(Int(index / 12)) + "-" + ISOTime.two(Int(index % 12) + 1)
    }
}

extension EpochGranularity {
    /// True when one epoch of this length always contains a whole `range` bucket, so distinct
    /// counts over the bucket are possible.
    func covers(_ range: EpochGranularity) -> Bool {
        switch (self, range) {
        case (.hour, .hour), (.day, .hour), (.day, .day), (.week, .hour), (.week, .day), (.week, .week),
            (.month, .hour), (.month, .day), (.month, .month):
            true
        default:
            false
        }
    }

    /// `hourly`, `daily`, `weekly`, `monthly`.
    var adjective: String {
        switch self {
        case .hour: "hourly"
        case .day: "daily"
        case .week: "weekly"
        case .month: "monthly"
        }
    }
}
