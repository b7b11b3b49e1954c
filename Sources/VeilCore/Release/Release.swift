/// Options for publishing rollups.
public struct ReleaseConfiguration: Sendable {
    /// A row is published only with at least `k` distinct visitors (or clients, for tables that
    /// count bots too).
    public var k = 10

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
/// byte for byte: rows are sorted by site, time, then the main count (descending) and value.
public struct Release {
    let state: AggregateState
    let k: UInt64
    var buckets: TimeBuckets
    let granularity: EpochGranularity

    public init(state: AggregateState, configuration: ReleaseConfiguration) throws(VeilError) {
        guard configuration.k >= 1 else { throw VeilError(.usage, "k must be at least 1") }
        self.state = state
        k = UInt64(configuration.k)
        buckets = try TimeBuckets(zoneIdentifier: state.configuration.timeZone)
        granularity = EpochGranularity(rawValue: state.configuration.epochGranularity) ?? .day
    }

    /// The published tables, in a fixed order.
    public mutating func tables() -> [ReleasedTable] {
        var byTable = [[Int]](repeating: [], count: TableID.allCases.count)
        for (i, key) in state.cellKeys.enumerated() { byTable[Int(key.table.rawValue)].append(i) }
        let visits = visitTotals()
        var out: [ReleasedTable] = []
        out.append(traffic(.trafficHour, byTable, visits.hour, name: "traffic_hourly", period: "hour"))
        out.append(traffic(.trafficDay, byTable, visits.day, name: "traffic_daily", period: "date"))
        out.append(rollUp(byTable, visits.day, name: "traffic_weekly", period: "week_start", range: .week))
        out.append(rollUp(byTable, visits.day, name: "traffic_monthly", period: "month", range: .month))
        out.append(dimension(.pages, byTable, name: "pages", columns: ["path"], metrics: .pageviews))
        out.append(entryPages())
        out.append(dimension(.notFound, byTable, name: "not_found", columns: ["path"], metrics: .requests))
        out.append(dimension(.referrers, byTable, name: "referrers", columns: ["referrer_host"], metrics: .pageviews))
        out.append(dimension(.browsers, byTable, name: "browsers", columns: ["browser", "version"], metrics: .pageviews))
        out.append(dimension(.operatingSystems, byTable, name: "operating_systems", columns: ["os"], metrics: .pageviews))
        out.append(dimension(.devices, byTable, name: "devices", columns: ["device"], metrics: .pageviews))
        out.append(dimension(.statusCodes, byTable, name: "status_codes", columns: ["status"], metrics: .requests))
        out += campaignTables()
        return out
    }

    // MARK: Visits

    struct VisitCount { var visits: Int64 = 0; var bounces: Int64 = 0 }
    struct SiteBucket: Hashable { var site: Int; var bucket: Int64 }

    mutating func visitTotals() -> (hour: [SiteBucket: VisitCount], day: [SiteBucket: VisitCount]) {
        var hour: [SiteBucket: VisitCount] = [:]
        var day: [SiteBucket: VisitCount] = [:]
        for (j, key) in state.visitorKeys.enumerated() {
            for v in state.visitors[j].visits {
                let b = buckets.buckets(v.start)
                let bounce: Int64 = v.pageviews == 1 ? 1 : 0
                hour[SiteBucket(site: Int(key.site), bucket: b.hour), default: VisitCount()].visits += 1
                hour[SiteBucket(site: Int(key.site), bucket: b.hour), default: VisitCount()].bounces += bounce
                day[SiteBucket(site: Int(key.site), bucket: b.day), default: VisitCount()].visits += 1
                day[SiteBucket(site: Int(key.site), bucket: b.day), default: VisitCount()].bounces += bounce
            }
        }
        return (hour, day)
    }

    // MARK: Traffic

    static let trafficMetrics = [
        "requests", "pageviews", "VISITORS", "visits", "bounces", "bounce_rate", "bytes",
        "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx", "bot_requests",
    ]

    func visitorsColumn(covering range: EpochGranularity) -> String {
        granularity.covers(range) ? "visitors" : "visitors_sum_of_\(granularity.adjective)"
    }

    func trafficRow(site: Int, period: String, _ c: Cell, visitors: UInt64, _ v: VisitCount) -> [String] {
        [state.sites.string(UInt32(site)), period, String(c.requests), String(c.pageviews), String(visitors),
         String(v.visits), String(v.bounces), Self.rate(v.bounces, v.visits), String(c.bytes),
         String(c.statusClasses.0), String(c.statusClasses.1), String(c.statusClasses.2),
         String(c.statusClasses.3), String(c.statusClasses.4), String(c.botRequests)]
    }

    func traffic(_ table: TableID, _ byTable: [[Int]], _ visits: [SiteBucket: VisitCount], name: String, period: String) -> ReleasedTable {
        let range: EpochGranularity = table == .trafficHour ? .hour : .day
        var t = ReleasedTable(
            name: name,
            header: ["site", period] + Self.trafficMetrics.map { $0 == "VISITORS" ? visitorsColumn(covering: range) : $0 },
            rows: [], thresholdOn: "clients")
        let order = byTable[Int(table.rawValue)].sorted { sortKey(state.cellKeys[$0]) < sortKey(state.cellKeys[$1]) }
        for i in order {
            let key = state.cellKeys[i]
            let c = state.cells[i]
            let n = c.allClients
            guard n >= k else { t.suppressed += 1; continue }
            t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
            let label = table == .trafficHour
                ? ISOTime.localHour(utcSeconds: key.bucket * 3600, offset: buckets.offset(at: key.bucket * 3600))
                : ISOTime.date(days: key.bucket)
            t.rows.append(trafficRow(site: key.site, period: label, c, visitors: c.visitors.cardinality(),
                                     visits[SiteBucket(site: key.site, bucket: key.bucket)] ?? VisitCount()))
        }
        return t
    }

    /// Weekly or monthly traffic from the daily cells.
    func rollUp(_ byTable: [[Int]], _ visits: [SiteBucket: VisitCount], name: String, period: String, range: EpochGranularity) -> ReleasedTable {
        var groups: [SiteBucket: (cell: Cell, visitorSum: UInt64, visits: VisitCount)] = [:]
        for i in byTable[Int(TableID.trafficDay.rawValue)] {
            let key = state.cellKeys[i]
            let g = SiteBucket(site: key.site, bucket: range == .week ? Self.weekStart(key.bucket) : Self.monthIndex(key.bucket))
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
            header: ["site", period] + Self.trafficMetrics.map { $0 == "VISITORS" ? visitorsColumn(covering: range) : $0 },
            rows: [], thresholdOn: "clients")
        // By site name, then period: site ids depend on the order inputs and threads saw the sites.
        for g in groups.keys.sorted(by: { sortKey(site: $0.site, $0.bucket) < sortKey(site: $1.site, $1.bucket) }) {
            let e = groups[g]!
            let n = e.cell.allClients
            guard n >= k else { t.suppressed += 1; continue }
            t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
            let label = range == .week ? ISOTime.date(days: g.bucket) : Self.monthLabel(g.bucket)
            t.rows.append(trafficRow(site: g.site, period: label, e.cell,
                                     visitors: distinct ? e.cell.visitors.cardinality() : e.visitorSum, e.visits))
        }
        return t
    }

    // MARK: Dimension tables

    enum MainMetric { case pageviews, requests }

    func dimension(_ table: TableID, _ byTable: [[Int]], name: String, columns: [String], metrics: MainMetric) -> ReleasedTable {
        let clientsThreshold = table.countsAllClients
        var header = ["site", "date"] + columns
        header += metrics == .pageviews ? ["pageviews", visitorsColumn(covering: .day)] : ["requests", "bot_requests"]
        var t = ReleasedTable(name: name, header: header, rows: [], thresholdOn: clientsThreshold ? "clients" : "visitors")
        let otherDim = Int(state.dims.intern(otherLabel, readOnly: true) ?? UInt32.max)

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
            var published: [(main: Int64, dim: Int, cell: Cell, n: UInt64)] = []
            var other = Cell()
            var folded = 0
            var hasOther = false
            for i in groups[g]! {
                let c = state.cells[i]
                let dim = state.cellKeys[i].dimension
                let n = clientsThreshold ? c.allClients : c.visitors.cardinality()
                if n >= k && dim != otherDim {
                    published.append((metrics == .pageviews ? c.pageviews : c.requests, dim, c, n))
                } else {
                    if dim != otherDim { folded += 1 }
                    other.merge(c)
                    hasOther = true
                }
            }
            t.suppressed += folded
            published.sort { $0.main != $1.main ? $0.main > $1.main : state.dims.isLess(UInt32($0.dim), UInt32($1.dim)) }
            if hasOther {
                let n = clientsThreshold ? other.allClients : other.visitors.cardinality()
                if n >= k {
                    published.append((0, otherDim, other, n))
                    t.folded += folded
                }
            }
            let date = ISOTime.date(days: g.bucket)
            let site = state.sites.string(UInt32(g.site))
            for p in published {
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
                } else {
                    row.append(value)
                }
                row += metrics == .pageviews
                    ? [String(p.cell.pageviews), String(p.cell.visitors.cardinality())]
                    : [String(p.cell.requests), String(p.cell.botRequests)]
                t.rows.append(row)
            }
        }
        return t
    }

    // MARK: Entry pages

    mutating func entryPages() -> ReleasedTable {
        /// Visitor indices of an entry row; each visitor's visits come together, so checking the
        /// last index keeps the list free of duplicates.
        struct Entry { var visits: Int64 = 0; var bounces: Int64 = 0; var visitors: [Int32] = [] }
        struct EntryKey: Hashable { var site: Int; var day: Int64; var dim: Int }
        var index: [EntryKey: Int] = [:]
        var entries: [(key: EntryKey, entry: Entry)] = []
        for (j, key) in state.visitorKeys.enumerated() {
            for v in state.visitors[j].visits {
                let k = EntryKey(site: Int(key.site), day: buckets.buckets(v.start).day, dim: Int(v.entry))
                let i: Int
                if let found = index[k] {
                    i = found
                } else {
                    i = entries.count
                    index[k] = i
                    entries.append((k, Entry()))
                }
                entries[i].entry.visits += 1
                if v.pageviews == 1 { entries[i].entry.bounces += 1 }
                if entries[i].entry.visitors.last != Int32(j) { entries[i].entry.visitors.append(Int32(j)) }
            }
        }
        var groups: [SiteBucket: [Int]] = [:]
        for (i, e) in entries.enumerated() { groups[SiteBucket(site: e.key.site, bucket: e.key.day), default: []].append(i) }

        var t = ReleasedTable(
            name: "entry_pages",
            header: ["site", "date", "path", "visits", "bounces", "bounce_rate", visitorsColumn(covering: .day)],
            rows: [], thresholdOn: "visitors")
        let otherDim = Int(state.dims.intern(otherLabel, readOnly: true) ?? UInt32.max)
        let keys = groups.keys.sorted {
            let sa = state.sites.string(UInt32($0.site)), sb = state.sites.string(UInt32($1.site))
            return sa != sb ? sa.utf8.lexicographicallyPrecedes(sb.utf8) : $0.bucket < $1.bucket
        }
        for g in keys {
            var published: [(dim: Int, visits: Int64, bounces: Int64, visitors: Int)] = []
            var otherVisits: Int64 = 0, otherBounces: Int64 = 0
            var otherVisitors: [Int32] = []
            var folded = 0
            var hasOther = false
            for i in groups[g]! {
                let (key, e) = entries[i]
                if UInt64(e.visitors.count) >= k && key.dim != otherDim {
                    published.append((key.dim, e.visits, e.bounces, e.visitors.count))
                } else {
                    if key.dim != otherDim { folded += 1 }
                    otherVisits += e.visits
                    otherBounces += e.bounces
                    otherVisitors += e.visitors
                    hasOther = true
                }
            }
            t.suppressed += folded
            published.sort { $0.visits != $1.visits ? $0.visits > $1.visits : state.dims.isLess(UInt32($0.dim), UInt32($1.dim)) }
            if hasOther {
                otherVisitors.sort()
                var distinct = 0
                var last: Int32 = -1
                for v in otherVisitors where v != last {
                    distinct += 1
                    last = v
                }
                if UInt64(distinct) >= k {
                    published.append((otherDim, otherVisits, otherBounces, distinct))
                    t.folded += folded
                }
            }
            for p in published {
                let n = UInt64(p.visitors)
                t.smallestPublishedCount = min(t.smallestPublishedCount ?? n, n)
                t.rows.append([
                    state.sites.string(UInt32(g.site)), ISOTime.date(days: g.bucket),
                    p.dim == otherDim ? otherLabel : state.dims.string(UInt32(p.dim)),
                    String(p.visits), String(p.bounces), Self.rate(p.bounces, p.visits), String(n),
                ])
            }
        }
        return t
    }

    // MARK: Helpers

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
