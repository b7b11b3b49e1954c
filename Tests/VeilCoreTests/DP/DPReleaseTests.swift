import Foundation
import Testing

@testable import VeilCore

@Suite("DP: release, partition selection, parameters")
struct DPReleaseTests {
    static func parameters(
        _ epsilon: String, delta: Double = 1e-6, l0: Int = 5, lInf: Int = 1, tables: [DPTable] = DPTable.allCases
    ) -> DPParameters {
        var p = DPParameters(epsilon: PrivacyAmount(epsilon)!)
        p.delta = delta
        p.l0 = l0
        p.lInf = lInf
        p.tables = tables
        return p
    }

    static let key = DPNoiseKey(bytes: dpTestSeed(0xC0FFEE))

    // MARK: Partition selection

    /// The issue's test: a partition with a single contributing visitor is published at most at
    /// the rate δ allows. Each trial is a release with another release id (so other noise); the
    /// observed rate must be within 3σ of the exact probability `P(1 + Z ≥ τ)`, which is at most
    /// the per-partition δ' = 1 − (1 − δ)^(1/L0) — and so within 3σ of at most δ'.
    @Test("a one-visitor partition is published at the rate δ allows (10^5 releases, end to end, within 3σ)")
    func singleVisitorPartitionRateEndToEnd() throws {
        let ws = try StateTestWorkspace()
        let line = StateTestRequest(
            ip: "192.0.2.9", userAgent: StateTestKit.firefox, time: StateTestKit.time(2026, 11, 28, 12), path: "/lonely"
        ).line
        let s = try ws.aggregate([line], name: "one.log").state
        // ε = 1 and δ = 0.05 with L0 = 5 on one table: δ' ≈ 0.0102, large enough to measure.
        var release = try DPRelease(state: s, parameters: Self.parameters("1", delta: 0.05, l0: 5, tables: [.pages]))
        let m = release.mechanisms[0]
        let p = DiscreteLaplaceMath.upperTail(m.threshold - 1, scale: m.scale)
        #expect(p <= m.partitionDelta)
        #expect(m.partitionDelta <= 0.05 / 5 * 1.03 && m.partitionDelta >= 0.05 / 5)

        let trials = 100_000
        var published = 0
        for i in 0..<trials {
            let tables = release.tables(noiseKey: Self.key, releaseID: "trial-\(i)")
            if !tables[0].rows.isEmpty {
                #expect(tables[0].rows == [["default", "2026-11-28", "/lonely", tables[0].rows[0][3]]])
                published += 1
            }
        }
        #expect(
            DPStats.withinSigmas(published, n: trials, p: p, sigmas: 3),
            "\(published) of \(trials) published; exact p = \(p)")
        let sd = (Double(trials) * m.partitionDelta * (1 - m.partitionDelta)).squareRoot()
        #expect(Double(published) <= Double(trials) * m.partitionDelta + 3 * sd, "above the δ' rate: \(published)")
    }

    @Test("the same at L0 = 1 and δ = 0.01, on the mechanism alone (10^5 release ids, within 3σ)")
    func singleVisitorPartitionRateMechanism() throws {
        let release = try DPRelease(
            state: AggregateState(configuration: StateConfiguration()),
            parameters: Self.parameters("1", delta: 0.01, l0: 1, tables: [.referrers]))
        let m = release.mechanisms[0]
        #expect(m.scale == 1)
        #expect(abs(m.partitionDelta - 0.01) < 1e-15)
        // q = 1/e: P(Z ≥ k) = e^-k / (1 + 1/e) ≤ 0.01 first at k = 5, so τ = 6.
        #expect(m.threshold == 6)
        let p = DiscreteLaplaceMath.upperTail(5, scale: 1)
        let label = DPPartitionLabel(site: "example.com", date: "2026-11-28", value: "news.example.org")
        var published = 0
        for i in 0..<100_000 {
            if DPRelease.noisyValue(1, mechanism: m, label: label, noiseKey: Self.key, releaseID: "r\(i)") != nil {
                published += 1
            }
        }
        #expect(DPStats.withinSigmas(published, n: 100_000, p: p, sigmas: 3), "\(published); exact p = \(p)")
    }

    @Test(
        "τ is the least integer whose one-visitor tail is at most δ', and never below Google's continuous threshold",
        arguments: [
            ("1", 1e-6, 5, 1, 7), ("0.1", 1e-6, 1, 1, 1), ("2.5", 1e-9, 8, 3, 2), ("8", 1e-5, 1, 1, 1),
            ("1", 0.3, 2, 1, 1),
        ])
    func thresholdIsMinimal(epsilon: String, delta: Double, l0: Int, lInf: Int, tables: Int) throws {
        let p = Self.parameters(
            epsilon, delta: delta, l0: l0, lInf: lInf, tables: Array(DPTable.allCases.suffix(tables)))
        let release = try DPRelease(state: AggregateState(configuration: StateConfiguration()), parameters: p)
        for m in release.mechanisms {
            let k = m.threshold - Int64(lInf)
            #expect(k >= 1)
            #expect(DiscreteLaplaceMath.upperTail(k, scale: m.scale) <= m.partitionDelta)
            if k > 1 { #expect(DiscreteLaplaceMath.upperTail(k - 1, scale: m.scale) > m.partitionDelta) }
            // The scale is l0·lInf/ε per table, ε split evenly.
            let eps = PrivacyAmount(epsilon)!.doubleValue / Double(tables)
            #expect(abs(m.scale - Double(m.l0 * lInf) / eps) < 1e-9 * m.scale)
            if lInf == 1 {
                let google = 1 + m.scale * log(1 / (2 * m.partitionDelta))
                #expect(Double(m.threshold) >= google.rounded(.up), "τ = \(m.threshold), continuous \(google)")
            }
        }
    }

    @Test("traffic_daily counts each visitor in at most the days one key epoch can touch")
    func trafficDailyL0() throws {
        #expect(DPTableMechanism.maxLocalDays(granularity: "day", timeZone: "UTC") == 1)
        #expect(DPTableMechanism.maxLocalDays(granularity: "hour", timeZone: "UTC") == 1)
        #expect(DPTableMechanism.maxLocalDays(granularity: "day", timeZone: "Europe/Berlin") == 2)
        #expect(DPTableMechanism.maxLocalDays(granularity: "week", timeZone: "UTC") == 7)
        var c = StateConfiguration()
        c.timeZone = "America/New_York"
        let r = try DPRelease(state: AggregateState(configuration: c), parameters: Self.parameters("1", l0: 5))
        #expect(r.mechanisms.first { $0.table == .trafficDaily }?.l0 == 2)
        #expect(r.mechanisms.first { $0.table == .pages }?.l0 == 5)
    }

    // MARK: Determinism and release ids

    @Test("the same state and parameters give the same tables; the noise changes with the release id")
    func determinism() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(StateTestLog(seed: 0xD7, visitors: 200).lines, name: "d.log").state
        let p = Self.parameters("20", delta: 1e-3, l0: 2, tables: [.trafficDaily, .pages, .devices])
        var r1 = try DPRelease(state: s, parameters: p)
        var r2 = try DPRelease(state: try StateCodec.decode(StateCodec.encode(s), file: "copy"), parameters: p)
        let id = DPKeys.releaseID(state: s, parameters: p, noiseKey: Self.key)
        #expect(id.count == 32 && id.allSatisfy { $0.isHexDigit })
        let a = r1.tables(noiseKey: Self.key, releaseID: id).map(StateTestTable.init)
        #expect(a == r2.tables(noiseKey: Self.key, releaseID: id).map(StateTestTable.init))
        #expect(a.map(\.name) == ["traffic_daily", "pages", "devices"])
        #expect(a[0].rows.count == 2, "both days published at ε = 20: \(a[0])")
        #expect(a[1].header == ["site", "date", "path", "visitors"])

        // Other release ids: other noise (at scale 35, forty draws are not all alike).
        let m = try DPRelease(state: s, parameters: Self.parameters("1")).mechanisms[1]
        let label = DPPartitionLabel(site: "default", date: "2026-11-28", value: "/")
        let values = (0..<40).map { i in
            DPRelease.noisyValue(10_000, mechanism: m, label: label, noiseKey: Self.key, releaseID: "other-\(i)")
        }
        #expect(Set(values).count > 20, "\(values)")
        #expect(values.allSatisfy { $0 != nil && abs($0! - 10_000) < 1_000 })
        #expect(
            DPRelease.noisyValue(10_000, mechanism: m, label: label, noiseKey: Self.key, releaseID: "other-0")
                == values[0])

        // The release id follows the state and the parameters, and the key.
        #expect(DPKeys.releaseID(state: s, parameters: p, noiseKey: Self.key) == id)
        #expect(
            DPKeys.releaseID(
                state: s,
                parameters: Self.parameters("20", delta: 1e-3, l0: 3, tables: [.trafficDaily, .pages, .devices]),
                noiseKey: Self.key) != id)
        #expect(DPKeys.releaseID(state: s, parameters: p, noiseKey: DPNoiseKey(bytes: dpTestSeed(1))) != id)
        var erased = s
        let k = try #require(erased.contributions.visitorKeys.first)
        erased.removeContributions(site: k.site, pseudonym: k.pseudonym)
        #expect(
            DPKeys.releaseID(state: erased, parameters: p, noiseKey: Self.key) != id, "an erasure must give fresh noise"
        )
    }

    @Test(
        "with L∞ > 1 the value column is capped pageviews (visits for the tables of visits); browsers split name and version"
    )
    func columns() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(StateTestLog(seed: 0xC01, visitors: 200).lines, name: "c.log").state
        var r = try DPRelease(state: s, parameters: Self.parameters("50", delta: 1e-3, l0: 1, lInf: 4))
        let t = r.tables(noiseKey: Self.key, releaseID: "cols")
        #expect(t.map(\.name) == DPTable.allCases.map(\.rawValue))
        #expect(t.first { $0.name == "pages" }?.header.last == "capped_pageviews")
        for name in ["entry_pages", "exit_pages", "visit_durations", "visit_pageviews"] {
            #expect(t.first { $0.name == name }?.header.last == "capped_visits", "\(name)")
        }
        let browsers = try #require(t.first { $0.name == "browsers" })
        #expect(browsers.header == ["site", "date", "browser", "version", "capped_pageviews"])
        #expect(browsers.rows.contains { $0[2] == "firefox" && $0[3] == "121" }, "\(browsers.rows)")
        for table in t {
            for row in table.rows { #expect(Int(row.last!)! >= 1, "\(table.name): \(row)") }
        }
    }

    /// Exit pages and the visit length tables count visits like entry pages: each visitor in
    /// at most L0 rows, by at most L∞. With L0 = 8 (no visitor of this log has more rows a
    /// day) and L∞ = 1 a row's bounded count is its distinct visitors: for pages, the k = 1
    /// release's `visitors` column; for a length range (which the k release tiles with its
    /// neighbours, so its rows name other bounds), the visitors with a visit of that length
    /// that day, counted from the visit summaries.
    @Test("exit pages and visit lengths: bounded counts are the k = 1 release's visitors per row; rows name the ranges")
    func tablesOfVisits() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(StateTestLog(seed: 0xE817, visitors: 300).lines, name: "v.log").state
        let exact = try StateTestKit.release(s, k: 1)
        let tables: [DPTable] = [.entryPages, .exitPages, .visitDurations, .visitPageviews]
        var r = try DPRelease(state: s, parameters: Self.parameters("1000", delta: 1e-3, l0: 8, tables: tables))
        let bounded = r.boundedCountsByLabel()
        for table in tables {
            var expected: [DPPartitionLabel: Int64] = [:]
            if let scale = table.lengthScale {
                var visitors: [DPPartitionLabel: Set<Int>] = [:]
                for (j, summary) in s.visitors.enumerated() {
                    summary.forEachVisit { v in
                        let length = table == .visitDurations ? v.end - v.start : Int64(v.pageviews)
                        let range = scale.index(of: length)
                        let high = scale.upperBound(of: range).map { String($0) } ?? ""
                        let label = DPPartitionLabel(
                            site: "default", date: ISOTime.date(days: v.start / 86_400),
                            value: "\(scale.lowerBound(of: range))-\(high)")
                        visitors[label, default: []].insert(j)
                    }
                }
                expected = visitors.mapValues { Int64($0.count) }
            } else {
                for row in try StateTestKit.table(exact, table.rawValue).rows {
                    // site, date, path, ..., visitors.
                    expected[DPPartitionLabel(site: row[0], date: row[1], value: row[2])] = Int64(row.last!)!
                }
            }
            #expect(expected.count >= 8, "\(table): \(expected)")
            #expect(bounded[table] == expected, "\(table)")
        }

        // At ε = 1000 the noise is at most a visitor or two: the published rows carry the ranges
        // as numbers, in range order within a day.
        let published = r.tables(noiseKey: Self.key, releaseID: "visits").map(StateTestTable.init)
        #expect(published.map(\.name) == tables.map(\.rawValue))
        let durations = try StateTestKit.table(published, "visit_durations")
        #expect(durations.header == ["site", "date", "min_seconds", "max_seconds", "visitors"])
        #expect(
            try StateTestKit.table(published, "visit_pageviews").header.dropLast() == [
                "site", "date", "min_pageviews", "max_pageviews",
            ])
        #expect(try StateTestKit.table(published, "exit_pages").header == ["site", "date", "path", "visitors"])
        let lows = durations.rows.filter { $0[1] == durations.rows[0][1] }.map { Int($0[2])! }
        #expect(lows == lows.sorted() && lows.count >= 4 && lows.first == 0, "\(durations.rows)")
        for row in durations.rows {
            let key = DPPartitionLabel(site: row[0], date: row[1], value: row[2] + "-" + row[3])
            let truth = try #require(bounded[.visitDurations]?[key], "\(row)")
            #expect(abs(Int64(row[4])! - truth) <= 3, "\(row) vs \(truth)")
        }
        // The open range has no upper end.
        #expect(durations.rows.contains { $0[2] == "1801" && $0[3] == "" } || !lows.contains(1801))
    }

    /// Visitors' visits by the web campaign of their first pageview: tagged pageviews later in
    /// a visit count in no row (the k-release counts their pageviews, not their visits).
    /// `entries`: the visitors with a visit through each campaign on each day; `twice`: how many
    /// of them had two.
    static func campaignLog(
        visitors: Int
    ) -> (requests: [StateTestRequest], entries: [DPPartitionLabel: Set<Int>], twice: [DPPartitionLabel: Int64]) {
        let campaigns: [(path: String, label: String)?] = [
            ("/?utm_source=news&utm_medium=email&utm_campaign=dec", "news\temail\tdec"),
            ("/landing?utm_source=ads&utm_medium=cpc", "ads\tcpc\t(none)"),
            ("/spring?utm_campaign=spring&utm_source=partner", "partner\t(none)\tspring"),
            nil,
        ]
        var requests: [StateTestRequest] = []
        var entries: [DPPartitionLabel: Set<Int>] = [:]
        var twice: [DPPartitionLabel: Int64] = [:]
        for v in 0..<visitors {
            let ua = StateTestKit.humanAgents[v % StateTestKit.humanAgents.count]
            let ip = StateTestKit.address(v)
            // Three visits on the 28th (three hours apart), one on the 29th for every other visitor.
            // Every seventh visitor comes back through its first visit's campaign at 10:00.
            let starts =
                [1, 4, 7].map { StateTestKit.time(2026, 11, 28, $0, v % 50) }
                + (v % 2 == 0 ? [StateTestKit.time(2026, 11, 29, 2, v % 50)] : [])
                + (v % 7 == 0 ? [StateTestKit.time(2026, 11, 28, 10, v % 50)] : [])
            for (i, t) in starts.enumerated() {
                let c = campaigns[(i == 4 ? v : v + i) % campaigns.count]
                requests.append(StateTestRequest(ip: ip, userAgent: ua, time: t, path: c?.path ?? "/"))
                requests.append(StateTestRequest(ip: ip, userAgent: ua, time: t + 60, path: "/pricing"))
                if v % 5 == 0 {
                    requests.append(StateTestRequest(ip: ip, userAgent: ua, time: t + 90, path: "/a?utm_source=inner"))
                }
                if let c {
                    let label = DPPartitionLabel(site: "default", date: ISOTime.date(days: t / 86_400), value: c.label)
                    if !entries[label, default: []].insert(v).inserted { twice[label, default: 0] += 1 }
                }
            }
        }
        return (requests, entries, twice)
    }

    @Test(
        "web campaigns: the visitors whose visit entered through each campaign, bounded per visitor; three label columns"
    )
    func webCampaigns() throws {
        let ws = try StateTestWorkspace()
        let log = Self.campaignLog(visitors: 60)
        let s = try ws.aggregate(log.requests, name: "utm.log")
        // L0 = 8 keeps every row of every visitor: the bounded counts are the distinct visitors.
        var r = try DPRelease(
            state: s, parameters: Self.parameters("1000", delta: 1e-3, l0: 8, tables: [.webCampaigns]))
        let bounded = try #require(r.boundedCountsByLabel()[.webCampaigns])
        #expect(bounded == log.entries.mapValues { Int64($0.count) }, "\(bounded)")
        #expect(!bounded.keys.contains { $0.value.hasPrefix("inner") })
        #expect(bounded.count == 4)  // three campaigns on the 28th, one on the 29th
        // L0 = 1: each visitor with a campaign visit counts in exactly one row per key epoch (a
        // day: the privacy unit is a visitor's pseudonym of one epoch).
        var one = try DPRelease(
            state: s, parameters: Self.parameters("1000", delta: 1e-3, l0: 1, tables: [.webCampaigns]))
        let units = Set(log.entries.flatMap { label, visitors in visitors.map { "\(label.date) \($0)" } })
        #expect(one.boundedCountsByLabel()[.webCampaigns]?.values.reduce(0, +) == Int64(units.count))
        #expect(units.count == 75)
        // L∞ = 2: a visitor's visits through one campaign on one day count up to twice.
        var capped = try DPRelease(
            state: s, parameters: Self.parameters("1000", delta: 1e-3, l0: 8, lInf: 2, tables: [.webCampaigns]))
        #expect(log.twice.values.reduce(0, +) >= 3)
        #expect(capped.boundedCountsByLabel()[.webCampaigns] == bounded.merging(log.twice, uniquingKeysWith: +))

        let published = r.tables(noiseKey: Self.key, releaseID: "utm").map(StateTestTable.init)
        let t = try StateTestKit.table(published, "web_campaigns")
        #expect(t.header == ["site", "date", "source", "medium", "campaign", "visitors"])
        #expect(t.rows.count == 4, "\(t.rows)")
        for row in t.rows {
            let label = DPPartitionLabel(site: row[0], date: row[1], value: row[2...4].joined(separator: "\t"))
            let truth = try #require(bounded[label], "\(row)")
            #expect(abs(Int64(row[5])! - truth) <= 3, "\(row) vs \(truth)")
        }
        #expect(t.rows.contains { $0[2...4] == ["ads", "cpc", "(none)"] })
    }

    @Test("a state that folded web campaigns into (other) is refused for web_campaigns only")
    func foldedCampaignsAreRefused() throws {
        let ws = try StateTestWorkspace()
        var c = AggregationConfiguration()
        c.maxWebCampaigns = 2
        let s = try ws.aggregate(Self.campaignLog(visitors: 20).requests, name: "cap.log", aggregation: c)
        let e = #expect(throws: VeilError.self) {
            try DPRelease(state: s, parameters: Self.parameters("1", tables: [.webCampaigns]))
        }
        #expect(e?.code == .state && e?.message.contains("web campaigns") == true, "\(e?.message ?? "")")
        #expect(throws: Never.self) {
            _ = try DPRelease(state: s, parameters: Self.parameters("1", tables: [.pages, .entryPages]))
        }
    }

    // MARK: Refusals and validation

    @Test("a state that folded paths past --max-paths into (other) is refused")
    func otherIsRefused() throws {
        let ws = try StateTestWorkspace()
        var c = AggregationConfiguration()
        c.maxPaths = 3
        let s = try ws.aggregate(StateTestLog(seed: 3, visitors: 30).requests, name: "cap.log", aggregation: c)
        let e = #expect(throws: VeilError.self) { try DPRelease(state: s, parameters: Self.parameters("1")) }
        #expect(e?.code == .state)
        #expect(e?.message.contains("--max-paths") == true, "\(e?.message ?? "")")
        // Exit pages alone hold paths too.
        #expect(throws: VeilError.self) {
            try DPRelease(state: s, parameters: Self.parameters("1", tables: [.exitPages]))
        }
        // Without the tables that hold paths it is fine.
        #expect(throws: Never.self) {
            _ = try DPRelease(
                state: s, parameters: Self.parameters("1", tables: [.trafficDaily, .devices, .visitDurations]))
        }
    }

    @Test(
        "bad parameters are usage errors",
        arguments: [
            ("epsilon 0", "0", 1e-6, 5, 1, 1), ("delta 0", "1", 0, 5, 1, 1), ("delta 1", "1", 1, 5, 1, 1),
            ("delta negative", "1", -0.1, 5, 1, 1), ("delta NaN", "1", .nan, 5, 1, 1), ("l0 0", "1", 1e-6, 0, 1, 1),
            ("l0 above 8", "1", 1e-6, 9, 1, 1), ("linf 0", "1", 1e-6, 5, 0, 1),
            ("linf above 255", "1", 1e-6, 5, 256, 1),
            ("no table", "1", 1e-6, 5, 1, 0), ("a table twice", "1", 1e-6, 5, 1, 2),
        ])
    func badParameters(_ reason: String, epsilon: String, delta: Double, l0: Int, lInf: Int, tables: Int) {
        var p = Self.parameters(epsilon, delta: delta, l0: l0, lInf: lInf)
        p.tables = tables == 0 ? [] : tables == 2 ? [.pages, .pages] : [.pages]
        let e = #expect(throws: VeilError.self, "\(reason)") { try p.validate() }
        #expect(e?.code == .usage, "\(reason)")
    }

    @Test(
        "privacy amounts are exact decimals",
        arguments: [
            ("1", Int64(1_000_000_000), "1"), ("0.5", 500_000_000, "0.5"), (".25", 250_000_000, "0.25"),
            ("2.000000001", 2_000_000_001, "2.000000001"), ("0", 0, "0"), ("1000", 1_000_000_000_000, "1000"),
            ("007.10", 7_100_000_000, "7.1"),
        ])
    func amounts(text: String, units: Int64, shown: String) throws {
        let a = try #require(PrivacyAmount(text))
        #expect(a.units == units)
        #expect(a.description == shown)
        #expect(PrivacyAmount(a.description) == a)
    }

    @Test(
        "not privacy amounts",
        arguments: ["", ".", "-1", "+1", "1e-3", "0.0000000001", "1,5", "abc", "1.2.3", "1001", " 1", "inf"])
    func notAmounts(text: String) {
        #expect(PrivacyAmount(text) == nil, "\(text)")
    }

    @Test("three tenths add up to exactly 0.3")
    func amountsAddExactly() {
        let tenth = PrivacyAmount("0.1")!
        #expect(tenth + tenth + tenth == PrivacyAmount("0.3")!)
        #expect(PrivacyAmount("1")! - PrivacyAmount("0.3")! == PrivacyAmount("0.7")!)
    }
}
