import Foundation
import Testing

@testable import VeilCore

/// Expected release tables computed from a synthetic log's requests directly, without veil's
/// aggregation code: distinct visitors are sets of (UTC day, address, user agent) — the
/// identity a daily key gives — and visits are made by sorting each visitor's pageviews.
struct ReleaseOracle {
    let site = "default"
    let timeout: Int64 = 30 * 60
    let requests: [StateTestRequest]

    struct Bucket {
        var pageviews = 0
        var visitors = Set<String>()
    }

    struct VisitSummary {
        var visitor: String
        var start: Int64
        var end: Int64
        var pageviews: Int
        var entry: String
        /// The largest path at the last second.
        var exit: String
        /// The referrer host of the first pageview.
        var referrer: String?
    }

    static func visitor(_ r: StateTestRequest) -> String {
        "\(ISOTime.floorDiv(r.time, 86_400))|\(r.ip)|\(r.userAgent)"
    }

    /// `part / whole` with four decimals, half up, by long division.
    static func rate(_ part: Int, _ whole: Int) -> String {
        guard whole > 0 else { return "" }
        let numerator = part * 10_000
        var q = numerator / whole
        if (numerator % whole) * 2 >= whole { q += 1 }
        let frac = String(q % 10_000)
        return "\(q / 10_000)." + String(repeating: "0", count: 4 - frac.count) + frac
    }

    var visits: [VisitSummary] {
        var byVisitor: [String: [StateTestRequest]] = [:]
        for r in requests where r.isPageview { byVisitor[Self.visitor(r), default: []].append(r) }
        var out: [VisitSummary] = []
        for (v, views) in byVisitor {
            // By time, then path, then a referred pageview before one without, by host.
            let sorted = views.sorted {
                if $0.time != $1.time { return $0.time < $1.time }
                if $0.path != $1.path { return StateTestKit.byteLess($0.path, $1.path) }
                guard let a = $0.referrerHost else { return false }
                guard let b = $1.referrerHost else { return true }
                return StateTestKit.byteLess(a, b)
            }
            var current: VisitSummary? = nil
            var end: Int64 = 0
            for p in sorted {
                if var c = current, p.time - end <= timeout {
                    c.pageviews += 1
                    c.end = p.time
                    c.exit = p.path  // sorted by time, then path: the last is the largest at the last second
                    current = c
                } else {
                    if let c = current { out.append(c) }
                    current = VisitSummary(
                        visitor: v, start: p.time, end: p.time, pageviews: 1, entry: p.path, exit: p.path,
                        referrer: p.referrerHost)
                }
                end = p.time
            }
            if let c = current { out.append(c) }
        }
        return out
    }

    /// Rows of a pageview table keyed by `value` (nil: the request does not count), with the
    /// k-threshold and `(other)` folding applied; plus the suppressed and folded counts.
    /// `entered`: the value a visit came by (its visits, bounces and bounce rate are appended).
    func dimension(
        k: Int, value: (StateTestRequest) -> String?, entered: ((VisitSummary) -> String?)? = nil
    ) -> (rows: [[String]], suppressed: Int, folded: Int) {
        var entries: [Int64: [String: (visits: Int, bounces: Int)]] = [:]
        if let entered {
            for v in visits {
                guard let e = entered(v) else { continue }
                let day = ISOTime.floorDiv(v.start, 86_400)
                var c = entries[day, default: [:]][e] ?? (0, 0)
                c.visits += 1
                if v.pageviews == 1 { c.bounces += 1 }
                entries[day, default: [:]][e] = c
            }
        }
        func visitColumns(_ day: Int64, _ values: [String]) -> [String] {
            guard entered != nil else { return [] }
            let c = values.map { entries[day]?[$0] ?? (0, 0) }
            let v = c.map(\.visits).reduce(0, +), b = c.map(\.bounces).reduce(0, +)
            return [String(v), String(b), Self.rate(b, v)]
        }
        var days: [Int64: [String: Bucket]] = [:]
        for r in requests where r.isPageview {
            guard let v = value(r) else { continue }
            days[ISOTime.floorDiv(r.time, 86_400), default: [:]][v, default: Bucket()].pageviews += 1
            days[ISOTime.floorDiv(r.time, 86_400), default: [:]][v, default: Bucket()].visitors.insert(Self.visitor(r))
        }
        var rows: [[String]] = []
        var suppressed = 0, folded = 0
        for day in days.keys.sorted() {
            let cells = days[day]!
            let date = ISOTime.date(days: day)
            let published = cells.filter { $0.value.visitors.count >= k }.sorted {
                $0.value.pageviews != $1.value.pageviews
                    ? $0.value.pageviews > $1.value.pageviews : StateTestKit.byteLess($0.key, $1.key)
            }
            for (v, b) in published {
                rows.append([site, date, v, String(b.pageviews), String(b.visitors.count)] + visitColumns(day, [v]))
            }
            let rest = cells.filter { $0.value.visitors.count < k }
            suppressed += rest.count
            let union = rest.values.reduce(into: Set<String>()) { $0.formUnion($1.visitors) }
            if !rest.isEmpty && union.count >= k {
                folded += rest.count
                rows.append(
                    [
                        site, date, otherLabel, String(rest.values.map(\.pageviews).reduce(0, +)), String(union.count),
                    ] + visitColumns(day, Array(rest.keys)))
            }
        }
        return (rows, suppressed, folded)
    }

    /// entry_pages or (`exits`) exit_pages rows.
    func pagesOfVisits(k: Int, exits: Bool = false) -> (rows: [[String]], suppressed: Int, folded: Int) {
        struct Entry { var visits = 0; var bounces = 0; var visitors = Set<String>() }
        var days: [Int64: [String: Entry]] = [:]
        for v in visits {
            let day = ISOTime.floorDiv(v.start, 86_400)
            let page = exits ? v.exit : v.entry
            var e = days[day, default: [:]][page] ?? Entry()
            e.visits += 1
            if v.pageviews == 1 { e.bounces += 1 }
            e.visitors.insert(v.visitor)
            days[day, default: [:]][page] = e
        }
        func counts(_ visits: Int, _ bounces: Int) -> [String] {
            exits ? [String(visits)] : [String(visits), String(bounces), Self.rate(bounces, visits)]
        }
        var rows: [[String]] = []
        var suppressed = 0, folded = 0
        for day in days.keys.sorted() {
            let entries = days[day]!
            let date = ISOTime.date(days: day)
            let published = entries.filter { $0.value.visitors.count >= k }.sorted {
                $0.value.visits != $1.value.visits
                    ? $0.value.visits > $1.value.visits : StateTestKit.byteLess($0.key, $1.key)
            }
            for (path, e) in published {
                rows.append([site, date, path] + counts(e.visits, e.bounces) + [String(e.visitors.count)])
            }
            let rest = entries.filter { $0.value.visitors.count < k }
            suppressed += rest.count
            let union = rest.values.reduce(into: Set<String>()) { $0.formUnion($1.visitors) }
            if !rest.isEmpty && union.count >= k {
                folded += rest.count
                let v = rest.values.map(\.visits).reduce(0, +), b = rest.values.map(\.bounces).reduce(0, +)
                rows.append([site, date, otherLabel] + counts(v, b) + [String(union.count)])
            }
        }
        return (rows, suppressed, folded)
    }

    /// visit_durations (`byDuration`) or visit_pageviews rows: per day, runs of adjacent ranges
    /// (in order) that each reach k visitors, a short run at the end joined to the one before,
    /// tiling the scale from its lowest value to an open end.
    func visitLengths(k: Int, byDuration: Bool) -> (rows: [[String]], suppressed: Int, folded: Int) {
        // (lowest value, highest value) of each range; nil: open.
        let ranges: [(low: Int, high: Int?)] =
            byDuration
            ? [(0, 0), (1, 10), (11, 30), (31, 60), (61, 180), (181, 600), (601, 1800), (1801, nil)]
            : [(1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, nil)]
        struct Row { var visits = 0; var pageviews = 0; var visitors = Set<String>() }
        var days: [Int64: [Int: Row]] = [:]
        for v in visits {
            let value = byDuration ? Int(v.end - v.start) : v.pageviews
            let range = ranges.firstIndex { value <= ($0.high ?? .max) }!
            var row = days[ISOTime.floorDiv(v.start, 86_400), default: [:]][range] ?? Row()
            row.visits += 1
            row.pageviews += v.pageviews
            row.visitors.insert(v.visitor)
            days[ISOTime.floorDiv(v.start, 86_400), default: [:]][range] = row
        }
        var rows: [[String]] = []
        var suppressed = 0, folded = 0
        for day in days.keys.sorted() {
            let date = ISOTime.date(days: day)
            let byRange = days[day]!
            var runs: [(last: Int, row: Row, short: Int)] = []
            var open: (last: Int, row: Row, short: Int)? = nil
            for range in byRange.keys.sorted() {
                let r = byRange[range]!
                var run = open ?? (range, Row(), 0)
                run.last = range
                run.row.visits += r.visits
                run.row.pageviews += r.pageviews
                run.row.visitors.formUnion(r.visitors)
                if r.visitors.count < k { run.short += 1 }
                if run.row.visitors.count >= k {
                    runs.append(run)
                    open = nil
                } else {
                    open = run
                }
            }
            if let rest = open {
                suppressed += rest.short
                if var last = runs.popLast() {
                    last.last = rest.last
                    last.row.visits += rest.row.visits
                    last.row.pageviews += rest.row.pageviews
                    last.row.visitors.formUnion(rest.row.visitors)
                    folded += rest.short
                    runs.append(last)
                }
            }
            var low = ranges[0].low
            for (i, run) in runs.enumerated() {
                suppressed += run.short
                folded += run.short
                let high = i == runs.count - 1 ? nil : ranges[run.last].high
                rows.append([
                    site, date, String(low), high.map { String($0) } ?? "", String(run.row.visits),
                    String(run.row.pageviews), String(run.row.visitors.count),
                ])
                if let high { low = high + 1 }
            }
        }
        return (rows, suppressed, folded)
    }

    /// traffic_daily (`hourly` false) or traffic_hourly rows; thresholded on distinct clients.
    func traffic(k: Int, hourly: Bool) -> (rows: [[String]], suppressed: Int) {
        struct Totals {
            var requests = 0, pageviews = 0, bytes = 0, bots = 0, visits = 0, bounces = 0
            var status = [0, 0, 0, 0, 0]
            var visitors = Set<String>(), clients = Set<String>()
        }
        let width: Int64 = hourly ? 3600 : 86_400
        var buckets: [Int64: Totals] = [:]
        for r in requests {
            let b = ISOTime.floorDiv(r.time, width)
            var t = buckets[b] ?? Totals()
            t.requests += 1
            if r.isPageview { t.pageviews += 1 }
            t.bytes += r.bytes
            t.status[r.status / 100 - 1] += 1
            if r.isBot { t.bots += 1 } else { t.visitors.insert(Self.visitor(r)) }
            t.clients.insert(Self.visitor(r))
            buckets[b] = t
        }
        for v in visits {
            let b = ISOTime.floorDiv(v.start, width)
            buckets[b]!.visits += 1
            if v.pageviews == 1 { buckets[b]!.bounces += 1 }
        }
        var rows: [[String]] = []
        var suppressed = 0
        for b in buckets.keys.sorted() {
            let t = buckets[b]!
            guard t.clients.count >= k else { suppressed += 1; continue }
            let label = hourly ? ISOTime.string(seconds: b * 3600) : ISOTime.date(days: b)
            rows.append(
                [
                    site, label, String(t.requests), String(t.pageviews), String(t.visitors.count), String(t.visits),
                    String(t.bounces), Self.rate(t.bounces, t.visits), String(t.bytes),
                ]
                    + t.status.map(String.init) + [String(t.bots)])
        }
        return (rows, suppressed)
    }
}

@Suite("Release: k-threshold, (other), determinism, CSV")
struct ReleaseTests {
    // MARK: Against an independent computation

    @Test("released tables equal an independent count of the synthetic log", arguments: [1, 3, 6, 12])
    func releaseMatchesOracle(k: Int) throws {
        let ws = try StateTestWorkspace()
        let log = StateTestLog(seed: 0x0AC1E)
        let state = try ws.aggregate(log.requests, name: "oracle.log")
        let tables = try StateTestKit.release(state, k: k)
        let oracle = ReleaseOracle(requests: log.requests)

        let pages = try StateTestKit.table(tables, "pages")
        let expectedPages = oracle.dimension(k: k) { $0.path }
        #expect(pages.header == ["site", "date", "path", "pageviews", "visitors"])
        #expect(pages.rows == expectedPages.rows)
        #expect(pages.suppressed == expectedPages.suppressed)
        #expect(pages.folded == expectedPages.folded)
        #expect(pages.thresholdOn == "visitors")

        let referrers = try StateTestKit.table(tables, "referrers")
        let expectedReferrers = oracle.dimension(k: k, value: { $0.referrerHost }, entered: { $0.referrer })
        #expect(referrers.rows == expectedReferrers.rows)
        #expect(referrers.suppressed == expectedReferrers.suppressed)
        #expect(referrers.folded == expectedReferrers.folded)

        let entries = try StateTestKit.table(tables, "entry_pages")
        let expectedEntries = oracle.pagesOfVisits(k: k)
        #expect(entries.rows == expectedEntries.rows)
        #expect(entries.suppressed == expectedEntries.suppressed)
        #expect(entries.folded == expectedEntries.folded)
        let exits = try StateTestKit.table(tables, "exit_pages")
        let expectedExits = oracle.pagesOfVisits(k: k, exits: true)
        #expect(exits.header == ["site", "date", "path", "exits", "visitors"])
        #expect(exits.rows == expectedExits.rows)
        #expect(exits.suppressed == expectedExits.suppressed)
        #expect(exits.folded == expectedExits.folded)
        if k == 1 {
            #expect(exits.rows != entries.rows.map { Array($0.prefix(4)) + [$0[6]] }, "exits are not the entries")
        }

        for (name, byDuration) in [("visit_durations", true), ("visit_pageviews", false)] {
            let table = try StateTestKit.table(tables, name)
            let expected = oracle.visitLengths(k: k, byDuration: byDuration)
            #expect(table.rows == expected.rows, "\(name)")
            #expect(table.suppressed == expected.suppressed, "\(name)")
            #expect(table.folded == expected.folded, "\(name)")
            let unit = byDuration ? "seconds" : "pageviews"
            #expect(table.header == ["site", "date", "min_" + unit, "max_" + unit, "visits", "pageviews", "visitors"])
            // Every visit is in exactly one row: the rows add up to the day's visits.
            let daily = try StateTestKit.table(tables, "traffic_daily").rows
            let visits = Dictionary(grouping: table.rows, by: { $0[1] }).mapValues { $0.reduce(0) { $0 + Int($1[4])! } }
            for row in daily { #expect(visits[row[1]] == Int(row[5]), "\(name) \(row[1]) visits") }
            if k == 1 { #expect(table.rows.count >= 8, "\(name): too few ranges to mean something") }
            if k == 6 { #expect(table.folded > 0 && table.rows.count >= 4, "\(name): no joined range at k = 6") }
        }

        let daily = try StateTestKit.table(tables, "traffic_daily")
        let expectedDaily = oracle.traffic(k: k, hourly: false)
        #expect(daily.rows == expectedDaily.rows)
        #expect(daily.suppressed == expectedDaily.suppressed)
        #expect(daily.thresholdOn == "clients")
        let hourly = try StateTestKit.table(tables, "traffic_hourly")
        let expectedHourly = oracle.traffic(k: k, hourly: true)
        #expect(hourly.rows == expectedHourly.rows)
        #expect(hourly.suppressed == expectedHourly.suppressed)

        // The test means something: the log has published, suppressed and folded rows.
        if k == 6 {
            #expect(!pages.rows.isEmpty && pages.suppressed > 0)
            #expect(entries.suppressed > 0)
        }
        if k == 1 {
            #expect(pages.suppressed == 0 && daily.rows.count == 2 && hourly.rows.count >= 12)
        }
    }

    @Test(
        "every published row has at least k visitors; (other) is published only when it reaches k",
        arguments: [1, 2, 5, 10, 40])
    func publishedRowsReachK(k: Int) throws {
        let ws = try StateTestWorkspace()
        let log = StateTestLog(seed: 0xBEEF, visitors: 200)
        let state = try ws.aggregate(log.requests, name: "k.log")
        let tables = try StateTestKit.release(state, k: k)
        #expect(
            tables.map(\.name) == [
                "traffic_hourly", "traffic_daily", "traffic_weekly", "traffic_monthly", "pages", "entry_pages",
                "exit_pages", "visit_durations", "visit_pageviews", "not_found", "referrers", "web_campaigns",
                "browsers",
                "operating_systems", "devices", "status_codes", "bots",
                "campaigns", "campaign_links",
            ])
        for name in ["pages", "referrers", "browsers", "operating_systems", "devices", "entry_pages", "exit_pages"] {
            let t = try StateTestKit.table(tables, name)
            #expect(t.thresholdOn == "visitors", "\(name)")
            let valueColumn = t.header[2]
            var otherRows = 0
            for row in t.rows {
                let visitors = try #require(Int(t.value(row, "visitors")), "\(name) \(row)")
                #expect(visitors >= k, "\(name): \(row) has \(visitors) visitors, k = \(k)")
                if t.value(row, valueColumn) == otherLabel { otherRows += 1 }
            }
            #expect(t.folded <= t.suppressed, "\(name)")
            if t.folded > 0 { #expect(otherRows > 0, "\(name): rows folded into an unpublished (other)") }
            if otherRows == 0 { #expect(t.folded == 0, "\(name)") }
            if let smallest = t.smallestPublishedCount { #expect(smallest >= UInt64(k), "\(name)") }
            #expect((t.smallestPublishedCount == nil) == t.rows.isEmpty, "\(name)")
        }
        // Visit lengths: no (other) row; each day's rows reach k and tile the scale, from its
        // lowest value to an open end.
        for (name, lowest) in [("visit_durations", 0), ("visit_pageviews", 1)] {
            let t = try StateTestKit.table(tables, name)
            #expect(t.thresholdOn == "visitors" && t.folded <= t.suppressed, "\(name)")
            for (date, rows) in Dictionary(grouping: t.rows, by: { $0[1] }) {
                var next = lowest
                for (i, row) in rows.enumerated() {
                    #expect(try #require(Int(row[6])) >= k, "\(name) \(date): \(row) below k = \(k)")
                    #expect(Int(row[2]) == next, "\(name) \(date): \(row) does not start at \(next)")
                    if i == rows.count - 1 {
                        #expect(row[3] == "", "\(name) \(date): the last row \(row) is not open")
                    } else {
                        let high = try #require(Int(row[3]), "\(name) \(date): \(row) open before the last row")
                        #expect(high >= next, "\(name) \(date): \(row)")
                        next = high + 1
                    }
                }
            }
        }
        for t in tables {
            if let smallest = t.smallestPublishedCount { #expect(smallest >= UInt64(k), "\(t.name)") }
            if k == 1 { #expect(t.suppressed == 0, "\(t.name)") }
        }

        if k == 1 {
            // Nothing suppressed: each pageview table adds up to all human pageviews.
            let pageviews = log.requests.filter(\.isPageview).count
            for name in ["pages", "browsers", "operating_systems", "devices"] {
                let t = try StateTestKit.table(tables, name)
                #expect(t.rows.map { Int(t.value($0, "pageviews"))! }.reduce(0, +) == pageviews, "\(name)")
            }
            let referred = log.requests.filter { $0.isPageview && $0.referrerHost != nil }.count
            let referrers = try StateTestKit.table(tables, "referrers")
            #expect(referrers.rows.map { Int(referrers.value($0, "pageviews"))! }.reduce(0, +) == referred)
            let daily = try StateTestKit.table(tables, "traffic_daily")
            let entries = try StateTestKit.table(tables, "entry_pages")
            func total(_ t: StateTestTable, _ column: String) -> Int {
                t.rows.map { Int(t.value($0, column)) ?? 0 }.reduce(0, +)
            }
            let entryVisits = total(entries, "visits"), dailyVisits = total(daily, "visits")
            #expect(entryVisits == dailyVisits)
            let requests = total(daily, "requests"), botRequests = total(daily, "bot_requests")
            #expect(requests == log.requests.count)
            #expect(botRequests == log.requests.filter(\.isBot).count)
            let browsers = try StateTestKit.table(tables, "browsers")
            #expect(browsers.header == ["site", "date", "browser", "version", "pageviews", "visitors"])
            #expect(browsers.rows.contains { browsers.value($0, "version") == "121" })
        }
    }

    // MARK: A hand-built example

    /// One pageview each: 12 visitors on /a, 3 on /b, 4 on /c, 5 on /d (all Firefox, all from
    /// www.example.com), 2026-11-28 between 10:00 and 10:24 UTC.
    static func handBuilt(_ counts: [(String, Int)] = [("/a", 12), ("/b", 3), ("/c", 4), ("/d", 5)])
        -> [StateTestRequest]
    {
        var out: [StateTestRequest] = []
        var n = 0
        for (path, count) in counts {
            for _ in 0..<count {
                out.append(
                    StateTestRequest(
                        ip: StateTestKit.address(n), userAgent: StateTestKit.firefox,
                        time: StateTestKit.time(2026, 11, 28, 10, n),
                        path: path, referrer: "https://www.example.com/", referrerHost: "www.example.com"))
                n += 1
            }
        }
        return out
    }

    @Test("k = 10 on 12/3/4/5 visitors: /a published, /b /c /d suppressed and folded into (other) with 12")
    func handBuiltFolded() throws {
        let ws = try StateTestWorkspace()
        let tables = try StateTestKit.release(try ws.aggregate(Self.handBuilt(), name: "hand.log"), k: 10)
        let pages = try StateTestKit.table(tables, "pages")
        #expect(
            pages.rows == [
                ["default", "2026-11-28", "/a", "12", "12"],
                ["default", "2026-11-28", "(other)", "12", "12"],
            ])
        #expect(pages.suppressed == 3)
        #expect(pages.folded == 3)
        #expect(pages.smallestPublishedCount == 12)
        let entries = try StateTestKit.table(tables, "entry_pages")
        #expect(
            entries.rows == [
                ["default", "2026-11-28", "/a", "12", "12", "1.0000", "12"],
                ["default", "2026-11-28", "(other)", "12", "12", "1.0000", "12"],
            ])
        #expect(entries.suppressed == 3 && entries.folded == 3)
        let referrers = try StateTestKit.table(tables, "referrers")
        #expect(referrers.rows == [["default", "2026-11-28", "www.example.com", "24", "24", "24", "24", "1.0000"]])
        #expect(referrers.suppressed == 0 && referrers.folded == 0)
        for name in ["browsers", "operating_systems", "devices"] {
            let t = try StateTestKit.table(tables, name)
            #expect(t.rows.count == 1 && t.suppressed == 0, "\(name)")
            #expect(t.rows.first.map { t.value($0, "visitors") } == "24", "\(name)")
        }
        let daily = try StateTestKit.table(tables, "traffic_daily")
        #expect(daily.rows.count == 1)
        #expect(
            daily.rows.first.map {
                [
                    daily.value($0, "requests"), daily.value($0, "visitors"), daily.value($0, "visits"),
                    daily.value($0, "bounce_rate"),
                ]
            }
                == ["24", "24", "24", "1.0000"])
    }

    @Test("k = 13: /a suppressed as well, all four fold into an (other) of 24")
    func handBuiltAllFolded() throws {
        let ws = try StateTestWorkspace()
        let pages = try StateTestKit.table(
            StateTestKit.release(try ws.aggregate(Self.handBuilt(), name: "hand.log"), k: 13), "pages")
        #expect(pages.rows == [["default", "2026-11-28", "(other)", "24", "24"]])
        #expect(pages.suppressed == 4 && pages.folded == 4)
    }

    @Test("k = 10 on 12/3/4 visitors: (other) would have 7 < 10, so it is not published and nothing is folded")
    func handBuiltOtherBelowK() throws {
        let ws = try StateTestWorkspace()
        let requests = Self.handBuilt([("/a", 12), ("/b", 3), ("/c", 4)])
        let tables = try StateTestKit.release(try ws.aggregate(requests, name: "hand.log"), k: 10)
        for name in ["pages", "entry_pages"] {
            let t = try StateTestKit.table(tables, name)
            #expect(t.rows.map { t.value($0, "path") } == ["/a"], "\(name)")
            #expect(t.suppressed == 2 && t.folded == 0, "\(name)")
        }
    }

    @Test("k above every count: no rows in any table, every row counted as suppressed")
    func kAboveEverything() throws {
        let ws = try StateTestWorkspace()
        let tables = try StateTestKit.release(try ws.aggregate(Self.handBuilt(), name: "hand.log"), k: 25)
        for t in tables {
            #expect(t.rows.isEmpty, "\(t.name): \(t.rows)")
            #expect(t.folded == 0 && t.smallestPublishedCount == nil, "\(t.name)")
        }
        let expected: [String: Int] = [
            "traffic_hourly": 1, "traffic_daily": 1, "traffic_weekly": 1, "traffic_monthly": 1, "pages": 4,
            "entry_pages": 4, "not_found": 0, "referrers": 1, "browsers": 1, "operating_systems": 1, "devices": 1,
            "status_codes": 1, "bots": 0, "campaigns": 0, "campaign_links": 0, "web_campaigns": 0,
            // 24 one-pageview visits: all in the first range of duration and of pageviews.
            "visit_durations": 1, "visit_pageviews": 1, "exit_pages": 4,
        ]
        #expect(Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.suppressed) }) == expected)
    }

    @Test("visit lengths: a short last range joins the row before it; exits are the last pages, ties to the larger")
    func visitLengthsByHand() throws {
        let ws = try StateTestWorkspace()
        let t0 = StateTestKit.time(2026, 11, 28, 10)
        func view(_ n: Int, _ seconds: Int64, _ path: String) -> StateTestRequest {
            StateTestRequest(
                ip: StateTestKit.address(n), userAgent: StateTestKit.firefox, time: t0 + seconds, path: path)
        }
        var log: [StateTestRequest] = []
        // Three one-pageview visits (0 s, 1 pageview), three of 100 s and 2 pageviews, and one of
        // 2000 s and 3 pageviews (gaps of 1000 s, under the 30-minute timeout).
        for n in 0..<3 { log.append(view(n, Int64(n), "/a")) }
        for n in 3..<6 { log += [view(n, 10, "/a"), view(n, 110, "/b")] }
        log += [view(6, 0, "/c"), view(6, 1000, "/a"), view(6, 2000, "/c")]
        // One more visitor: two pageviews in the same second, on /a and /d: exit /d.
        log += [view(7, 3000, "/d"), view(7, 3000, "/a")]
        let tables = try StateTestKit.release(try ws.aggregate(log, name: "lengths.log"), k: 3)
        let durations = try StateTestKit.table(tables, "visit_durations")
        #expect(
            durations.rows == [
                ["default", "2026-11-28", "0", "0", "4", "5", "4"],
                ["default", "2026-11-28", "1", "", "4", "9", "4"],
            ])
        #expect(durations.suppressed == 1 && durations.folded == 1)
        let depths = try StateTestKit.table(tables, "visit_pageviews")
        #expect(
            depths.rows == [
                ["default", "2026-11-28", "1", "1", "3", "3", "3"],
                ["default", "2026-11-28", "2", "", "5", "11", "5"],
            ])
        #expect(depths.suppressed == 1 && depths.folded == 1)
        let exits = try StateTestKit.table(tables, "exit_pages")
        #expect(
            exits.rows == [
                ["default", "2026-11-28", "/a", "3", "3"],
                ["default", "2026-11-28", "/b", "3", "3"],
            ])
        #expect(exits.suppressed == 2 && exits.folded == 0)
        // At k = 1: visitor 7's pageviews in one second enter at /a and leave at /d.
        let all = try StateTestKit.release(try ws.aggregate(log, name: "lengths1.log"), k: 1)
        #expect(
            try StateTestKit.table(all, "exit_pages").rows.map { [$0[2], $0[3]] } == [
                ["/a", "3"], ["/b", "3"], ["/c", "1"], ["/d", "1"],
            ])
        #expect(
            try StateTestKit.table(all, "entry_pages").rows.map { [$0[2], $0[3]] } == [["/a", "7"], ["/c", "1"]])
    }

    @Test("k must be at least 1")
    func kZero() throws {
        var c = ReleaseConfiguration()
        c.k = 0
        let e = #expect(throws: VeilError.self) {
            _ = try Release(state: AggregateState(configuration: StateConfiguration()), configuration: c)
        }
        #expect(e?.code == .usage)
    }

    // MARK: Determinism

    @Test("the same state gives the same tables and the same files, byte for byte")
    func deterministic() throws {
        let ws = try StateTestWorkspace()
        let state = try ws.aggregate(StateTestLog(seed: 0xD0D0).requests, name: "det.log")
        var c = ReleaseConfiguration()
        c.k = 3
        var release = try Release(state: state, configuration: c)
        let first = try release.tables().map(StateTestTable.init)
        let second = try release.tables().map(StateTestTable.init)
        #expect(first == second)
        #expect(try StateTestKit.release(state, k: 3) == first)
        let decoded = try StateCodec.decode(StateCodec.encode(state), file: "det.veilstate")
        #expect(try StateTestKit.release(decoded, k: 3) == first)

        let dirs = [ws.directory + "/out1", ws.directory + "/out2"]
        _ = try RollupWriter.write(state, to: dirs[0], configuration: c)
        _ = try RollupWriter.write(decoded, to: dirs[1], configuration: c)
        let names = try FileManager.default.contentsOfDirectory(atPath: dirs[0]).sorted()
        #expect(names.count == 20 && names.contains("manifest.json") && names.contains("pages.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dirs[1]).sorted() == names)
        for name in names {
            let a = FileManager.default.contents(atPath: dirs[0] + "/" + name)
            let b = FileManager.default.contents(atPath: dirs[1] + "/" + name)
            #expect(a != nil && a == b, "\(name) differs between two releases of one state")
        }
    }

    // MARK: Rates

    @Test("Release.rate: four decimals, rounded half up, empty without a denominator")
    func rateVectors() {
        let vectors: [(Int64, Int64, String)] = [
            (0, 0, ""), (5, 0, ""), (0, 1, "0.0000"), (1, 1, "1.0000"), (0, 7, "0.0000"), (7, 7, "1.0000"),
            (1, 2, "0.5000"), (1, 3, "0.3333"), (2, 3, "0.6667"), (1, 6, "0.1667"), (5, 7, "0.7143"),
            (1, 8, "0.1250"), (1, 32, "0.0313"),  // 0.03125: half up, not half even
            (1, 16, "0.0625"), (1, 20_000, "0.0001"),  // 0.00005 rounds up
            (1, 20_001, "0.0000"), (1, 40_000, "0.0000"), (3, 40_000, "0.0001"),
            (19_997, 20_000, "0.9999"),  // 0.99985 rounds up to 0.9999
            (19_999, 20_000, "1.0000"),  // 0.99995 rounds up to 1
            (39_999, 40_000, "1.0000"),  // 0.999975 rounds up to 1
            (123_456, 1_000_000, "0.1235"), (1, 9_999, "0.0001"), (2, 1_000_000, "0.0000"),
            (999_999_999, 1_000_000_000, "1.0000"), (1, 1_000_000_000, "0.0000"),
        ]
        for (part, whole, expected) in vectors {
            #expect(Release.rate(part, whole) == expected, "rate(\(part), \(whole))")
            #expect(ReleaseOracle.rate(Int(part), Int(whole)) == expected, "oracle rate(\(part), \(whole))")
        }
    }

    // MARK: CSV

    @Test(
        "CSV escaping: comma, quote, CR, LF and CRLF are quoted; quotes doubled",
        arguments: [
            ("plain", "plain"), ("", ""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("\"", "\"\"\"\""),
            ("line\r\nbreak", "\"line\r\nbreak\""), ("lf\nonly", "\"lf\nonly\""), ("cr\ronly", "\"cr\ronly\""),
            ("café ünïcode", "café ünïcode"), ("a=b", "a=b"), ("x-1", "x-1"), ("1.0000", "1.0000"),
            ("/a/b?c=d", "/a/b?c=d"),
            ("tab\tinside", "tab\tinside"), ("(other)", "(other)"),
        ])
    func csvEscaping(field: String, expected: String) {
        #expect(CSVWriter.escape(field) == expected)
    }

    @Test(
        "CSV formula injection: cells starting with = + - @ tab or CR get a leading quote",
        arguments: [
            ("=1+2", "'=1+2"), ("+44 20 7946 0000", "'+44 20 7946 0000"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"),
            ("\tindent", "'\tindent"), ("\rcr", "\"'\rcr\""),
            ("=HYPERLINK(\"http://example.com\",\"x\")", "\"'=HYPERLINK(\"\"http://example.com\"\",\"\"x\"\")\""),
            ("=a,b", "\"'=a,b\""), ("-", "'-"), ("@", "'@"),
        ])
    func csvFormulaInjection(field: String, expected: String) {
        #expect(CSVWriter.escape(field) == expected)
    }

    /// Splits RFC 4180 text into records of fields, working on bytes (CRLF is one `Character`).
    static func parseCSV(_ text: String) -> [[String]] {
        let bytes = Array(text.utf8)
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var i = 0
        var quoted = false
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") && field.isEmpty {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                record.append(String(decoding: field, as: UTF8.self))
                field = []
            } else if b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A {
                record.append(String(decoding: field, as: UTF8.self))
                records.append(record)
                record = []
                field = []
                i += 1
            } else {
                field.append(b)
            }
            i += 1
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(String(decoding: field, as: UTF8.self)); records.append(record)
        }
        return records
    }

    @Test("CSVWriter: CRLF rows that an RFC 4180 reader splits back into the same fields")
    func csvWriterRoundTrip() {
        let header = ["site", "path", "note"]
        let rows = [
            ["example.com", "/a", "plain"],
            ["example.com", "/b,c", "has \"quotes\""],
            ["example.com", "/multi", "line\r\nbreak\nand\rmore"],
            ["example.com", "=cmd|' /C calc'!A0", "@SUM(1)"],
            ["", "-", "+"],
        ]
        var w = CSVWriter(header: header)
        for r in rows { w.append(r) }
        #expect(w.text.hasPrefix("site,path,note\r\n"))
        #expect(w.text.hasSuffix("\r\n"))
        let parsed = Self.parseCSV(w.text)
        func neutralised(_ f: String) -> String {
            guard let c = f.utf8.first,
                [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(c)
            else { return f }
            return "'" + f
        }
        #expect(parsed == [header] + rows.map { $0.map(neutralised) })
        // Every record has the header's width, and no unquoted field starts a formula.
        for record in parsed {
            #expect(record.count == 3)
            for f in record { #expect(!["=", "+", "-", "@", "\t", "\r"].contains(f.first.map(String.init) ?? "")) }
        }
    }
}
