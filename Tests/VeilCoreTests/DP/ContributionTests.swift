import Foundation
import Testing

@testable import VeilCore

/// A visitor that hits `pages` distinct pages `hits` times in all (round robin), every 6 s from
/// 2026-11-28T00:10Z (one UTC day, one key epoch, one visit), with a referrer from one of
/// `referrers` hosts on every 10th hit.
func heavyVisitorLines(hits: Int = 10_000, pages: Int = 500, referrers: Int = 50, ip: String = "203.0.113.77")
    -> [String]
{
    let letters = Array("ghjkmnpqrstuvwxyz")  // no hex digits: never redacted as a token
    func name(_ i: Int) -> String {
        String([letters[i / (17 * 17) % 17], letters[i / 17 % 17], letters[i % 17]])
    }
    let start = StateTestKit.time(2026, 11, 28, 0, 10)
    return (0..<hits).map { i in
        var r = StateTestRequest(
            ip: ip, userAgent: StateTestKit.firefox, time: start + Int64(i) * 6, path: "/h/" + name(i % pages))
        // The visit enters through a web campaign (its page is still `/h/ggg`).
        if i == 0 { r.path += "?utm_source=heavy&utm_campaign=launch" }
        if i % 10 == 0 {
            r.referrer = "https://ref-\(name(i / 10 % referrers)).example.net/x"
        }
        return r.line
    }
}

@Suite("DP: per-visitor contribution records in the state")
struct ContributionTests {
    static func bounded(_ s: AggregateState, l0: Int, lInf: Int) throws -> [DPTable: [DPPartitionLabel: Int64]] {
        var p = DPParameters(epsilon: PrivacyAmount("1")!)
        p.l0 = l0
        p.lInf = lInf
        p.tables = DPTable.allCases
        var r = try DPRelease(state: s, parameters: p)
        return r.boundedCountsByLabel()
    }

    /// The aggregator looks a visitor up once per pageview and hands the visit summary's index to
    /// the contribution store as a hint: that holds only while both add visitors in lockstep.
    @Test("during aggregation, contribution records and visit summaries index visitors alike")
    func contributionIndicesFollowVisitSummaries() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(StateTestLog(seed: 0xC0DE, visitors: 120).lines, name: "lockstep.log").state
        #expect(s.visitorKeys.count > 50)
        #expect(s.contributions.visitorKeys == s.visitorKeys)
        // A wrong hint falls back to the lookup.
        var c = s.contributions
        let key = s.visitorKeys[7]
        #expect(c.visitor(key, hint: 3) == 7)
        #expect(c.visitor(key, hint: .max) == 7)
        #expect(c.visitorKeys.count == s.visitorKeys.count)
    }

    /// The issue's test: a synthetic visitor with 10,000 hits on 500 pages changes at most L0
    /// rows of each table, each by at most L∞, before noise — compared with the same traffic
    /// without that visitor.
    @Test(
        "a visitor with 10,000 hits on 500 pages changes at most L0 rows per table, each by at most L∞ (before noise)",
        arguments: [(1, 1), (5, 1), (8, 1), (5, 3)])
    func heavyVisitorIsBounded(l0: Int, lInf: Int) throws {
        let ws = try StateTestWorkspace()
        let base = StateTestLog(seed: 0xB0D1, visitors: 80).lines
        let without = try ws.aggregate(base, name: "without.log").state
        let with = try ws.aggregate(base + heavyVisitorLines(), name: "with.log").state
        #expect(with.contributions.visitorCount == without.contributions.visitorCount + 1)

        // Unbounded, the visitor is in 500 page rows and 50 referrer rows.
        let pageCells = with.cellKeys.filter {
            $0.table == .pages && with.dims.string(UInt32($0.dimension)).hasPrefix("/h/")
        }
        #expect(pageCells.count == 500)

        let a = try Self.bounded(without, l0: l0, lInf: lInf)
        let b = try Self.bounded(with, l0: l0, lInf: lInf)
        let maxDays = DPTableMechanism.maxLocalDays(granularity: "day", timeZone: "UTC")
        for table in DPTable.allCases {
            let x = a[table] ?? [:], y = b[table] ?? [:]
            #expect(!y.isEmpty, "\(table): nothing counted")
            let changed = Set(x.keys).union(y.keys).filter { x[$0, default: 0] != y[$0, default: 0] }
            let bound = table == .trafficDaily ? min(l0, maxDays) : l0
            #expect(changed.count <= bound, "\(table): \(changed.count) rows changed (L0 = \(bound))")
            for label in changed {
                let delta = y[label, default: 0] - x[label, default: 0]
                #expect(delta >= 1 && delta <= Int64(lInf), "\(table) \(label): changed by \(delta)")
            }
            // Where the visitor has more partitions than L0, exactly L0 rows change, by exactly
            // min(its count, L∞): 20 hits per page, 20 referred hits per host.
            if table == .pages || table == .referrers {
                #expect(changed.count == l0, "\(table)")
                #expect(changed.allSatisfy { y[$0, default: 0] - x[$0, default: 0] == Int64(lInf) })
            }
            // One visit: one entry, one exit, one duration and one length in pageviews.
            if table == .trafficDaily || table == .browsers || table.visitRankTable != nil {
                #expect(changed.count == 1, "\(table): \(changed)")
            }
        }
    }

    /// The kept partitions are the visitor's `maxPartitions` smallest-rank ones, with exact
    /// counts capped at 255, whatever the order of the lines and however they are split and
    /// merged.
    @Test("kept partitions are the 8 smallest-rank ones with capped counts, in any order and any split")
    func keptSetIsOrderAndSplitIndependent() throws {
        let ws = try StateTestWorkspace()
        // 30 pages; page 0 is hit 300 times (above the cap), the others 3 times each.
        var lines: [String] = []
        let start = StateTestKit.time(2026, 11, 28, 9)
        var t = start
        for i in 0..<30 {
            for _ in 0..<(i == 0 ? 300 : 3) {
                lines.append(
                    StateTestRequest(
                        ip: "192.0.2.200", userAgent: StateTestKit.chrome, time: t,
                        path: "/p/page\(String(UnicodeScalar(97 + i % 26)!))\(i / 26)"
                    ).line)
                t += 7
            }
        }
        var rng = StateTestRNG(seed: 5)
        var shuffled = lines
        for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, rng.int(i + 1)) }
        let orders = [lines, lines.reversed(), shuffled]
        var encodings: [[UInt8]] = []
        for (n, order) in orders.enumerated() {
            encodings.append(StateTestKit.encodeIgnoringInputs(try ws.aggregate(order, name: "o\(n).log").state))
            let parts = (0..<3).map { s in order.indices.filter { $0 % 3 == s }.map { order[$0] } }
            let states = try parts.enumerated().map { try ws.aggregate($1, name: "o\(n)p\($0).log").state }
            for perm in [[0, 1, 2], [2, 0, 1], [1, 2, 0]] {
                encodings.append(StateTestKit.encodeIgnoringInputs(try AggregateState.merged(perm.map { states[$0] })))
            }
        }
        #expect(Set(encodings).count == 1, "\(Set(encodings).count) different encodings")

        var s = try ws.aggregate(lines, name: "whole.log").state
        let v = try #require(s.contributions.visitorKeys.indices.first)
        let key = s.contributions.visitorKeys[v]
        let kept = s.contributions.records(v, ContributionTable.pages.rawValue)
        #expect(kept.count == ContributionStore.maxPartitions)
        // Expected: the 8 smallest (rank, day, bytes) of all 30 pages.
        let day = UInt32(start / 86_400)
        let all = s.cellKeys.filter { $0.table == .pages }.map { UInt32($0.dimension) }
        #expect(all.count == 30)
        var keyed = all.map {
            (dim: $0, key: s.contributionKey(key.pseudonym, ContributionTable.pages.rawValue, day, $0))
        }
        keyed.sort { s.isLess($0.key, $1.key) }
        #expect(Set(kept.map(\.dim)) == Set(keyed.prefix(8).map(\.dim)))
        let hot = try #require(s.dims.intern("/p/pagea0", readOnly: true))
        for r in kept { #expect(Int(r.count) == (r.dim == hot ? ContributionStore.countCap : 3)) }
        // Traffic, browser, OS, device: one record each.
        for t in [ContributionTable.trafficDay, .browsers, .operatingSystems, .devices] {
            #expect(s.contributions.records(v, t.rawValue).count == 1, "\(t)")
        }
        #expect(s.contributions.records(v, ContributionTable.referrers.rawValue).isEmpty)
    }

    /// The aggregator skips a cell's sketch insert when the visitor's contribution records show
    /// the partition was counted before. A one-line state never skips, so the merge of one state
    /// per line is the reference: the whole must encode the same, sketches included — with
    /// visitors whose page lists are full (ranked replacement), referrers, two days, bots.
    @Test("sketches skipped for partitions a visitor had already: one state per line, merged, equals the whole")
    func skippedSketchInsertsLoseNothing() throws {
        let ws = try StateTestWorkspace()
        var lines = StateTestLog(seed: 0x5C1B, visitors: 24).lines
        let start = StateTestKit.time(2026, 11, 28, 22)
        var expected: [String: Set<String>] = [:]  // "date /q/pageN" → visitors
        for i in 0..<160 {
            // Two visitors over 20 pages each, across midnight, every 5th hit with a referrer.
            let ip = i % 2 == 0 ? "192.0.2.201" : "2001:db8::77"
            let t = start + Int64(i) * 90
            // The second visitor follows the first to every other page: pages with one and two.
            let page = (i / 2 * 7 + (i % 4 == 3 ? 1 : 0)) % 20
            var r = StateTestRequest(ip: ip, userAgent: StateTestKit.chrome, time: t, path: "/q/page\(page)")
            if i % 5 == 0 { r.referrer = "https://ref\(i % 3).example.org/a" }
            lines.append(r.line)
            expected["\(StateTestKit.date(t)) \(r.path)", default: []].insert(ip)
        }
        let whole = try ws.aggregate(lines, name: "whole.log").state
        // Lines repeat (same-second twins), so the parts record no input: merge would refuse two.
        let parts = try lines.enumerated().map { (n, line) in
            var aggregator = try Aggregator(
                configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
            _ = try Ingest.run(
                path: try ws.write([line], name: "line\(n).log"), configuration: StateTestKit.combined,
                sink: &aggregator)
            return aggregator.finish()
        }
        let merged = try AggregateState.merged(parts)
        #expect(StateTestKit.encodeIgnoringInputs(whole) == StateTestKit.encodeIgnoringInputs(merged))
        // And against the log itself: each /q/ page's visitors per day (the sketches are exact
        // at these sizes).
        let table = try StateTestKit.table(try StateTestKit.release(whole, k: 1), "pages")
        var released: [String: String] = [:]
        for row in table.rows where table.value(row, "path").hasPrefix("/q/") {
            released["\(table.value(row, "date")) \(table.value(row, "path"))"] = table.value(row, "visitors")
        }
        #expect(released == expected.mapValues { String($0.count) })
        #expect(expected.values.contains { $0.count == 2 } && expected.values.contains { $0.count == 1 })
        // The log is what the test means: full page lists, repeated partitions.
        let pages = ContributionTable.pages.rawValue
        let full = whole.contributions.visitorKeys.indices.filter {
            whole.contributions.records($0, pages).count == ContributionStore.maxPartitions
        }
        #expect(full.count >= 2)
        #expect(whole.cellKeys.filter { $0.table == .referrers }.count >= 3)
    }

    @Test("the synthetic test log exercises the records: every human visitor with a pageview has some")
    func syntheticLogHasRecords() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(StateTestLog(seed: 0x5EED_0001).lines, name: "day.log").state
        #expect(s.contributions.visitorCount == s.visitorCount)
        #expect(s.contributions.visitorCount > 50)
    }

    @Test("decode(encode(s)) keeps the records; a decoded state releases the same bounded counts")
    func codecRoundTrip() throws {
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(
            StateTestLog(seed: 0xC0DE).lines + heavyVisitorLines(hits: 2000, pages: 40), name: "d.log"
        ).state
        let bytes = StateCodec.encode(s)
        let d = try StateCodec.decode(bytes, file: "d")
        #expect(StateCodec.encode(d) == bytes)
        #expect(d.contributions.visitorCount == s.contributions.visitorCount)
        #expect(try Self.bounded(d, l0: 3, lInf: 2) == Self.bounded(s, l0: 3, lInf: 2))
    }

    // MARK: Erasure

    @Test("removeContributions takes a visitor out of every bounded count and out of the encoding")
    func removeContributions() throws {
        let ws = try StateTestWorkspace()
        let base = StateTestLog(seed: 0xE2A5, visitors: 40).lines
        let without = try ws.aggregate(base, name: "a.log").state
        var with = try ws.aggregate(base + heavyVisitorLines(hits: 500, pages: 30), name: "b.log").state
        let pages = ContributionTable.pages.rawValue
        let v = try #require(
            with.contributions.visitorKeys.indices.first { v in
                with.contributions.records(v, pages).contains { with.dims.string($0.dim).hasPrefix("/h/") }
            })
        let key = with.contributions.visitorKeys[v]
        let first = with.removeContributions(site: key.site, pseudonym: key.pseudonym)
        let second = with.removeContributions(site: key.site, pseudonym: key.pseudonym)
        let batch = with.removeContributions(visitors: [key])
        #expect(first)
        #expect(!second, "removed twice")
        #expect(batch == 0)
        #expect(with.contributions.visitorCount == without.contributions.visitorCount)

        var p = DPParameters(epsilon: PrivacyAmount("1")!)
        // The tables of visits come from the visit summaries (erased elsewhere).
        p.tables = DPTable.allCases.filter { $0.contributionTable != nil }
        var ra = try DPRelease(state: without, parameters: p)
        var rb = try DPRelease(state: with, parameters: p)
        #expect(ra.boundedCountsByLabel() == rb.boundedCountsByLabel())

        let decoded = try StateCodec.decode(StateCodec.encode(with), file: "erased")
        #expect(decoded.contributions.visitorKeys.count == without.contributions.visitorKeys.count)
        #expect(!decoded.contributions.visitorKeys.contains(key))
    }

    // MARK: Codec validation

    /// A state body after `StateCodec`'s documented layout: one site, dims `/a` `/b`, no cells,
    /// visitors or recipients, then the contribution section written by `contributions`.
    static func crafted(_ contributions: (inout BinaryWriter) -> Void) -> [UInt8] {
        var w = BinaryWriter(capacity: 256)
        w.writeRawBytes(StateCodec.magic)
        // The version a state without country cells is written as.
        w.writeUInt16(StateCodec.visitCampaignsSince)
        w.writeString("UTC")
        w.writeVarUInt(1800)
        w.writeString("day")
        w.writeVarInt(5)
        w.writeVarUInt(2)
        w.writeVarInt(10)
        w.writeVarUInt(0)  // out of range
        w.writeVarUInt(1)
        w.writeString("d-2026-11-28")
        w.writeVarUInt(0)  // inputs
        w.writeVarUInt(1)
        w.writeString("example.com")
        w.writeVarUInt(2)
        w.writeString("/a")
        w.writeString("/b")
        w.writeVarUInt(0)  // cells
        w.writeVarUInt(0)  // visitors
        w.writeVarUInt(0)  // recipients
        contributions(&w)
        w.writeUInt32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// One visitor `(site 0, hi, lo)` whose tables hold `tables[t]` records of (day delta, dim, count).
    static func visitor(_ w: inout BinaryWriter, hi: UInt64 = 1, tables: [Int: [(UInt64, UInt64, UInt8)]]) {
        w.writeVarUInt(0)
        w.writeUInt64(hi)
        w.writeUInt64(7)
        for t in ContributionTable.allCases {
            let records = tables[t.rawValue] ?? []
            w.writeVarUInt(UInt64(records.count))
            for (day, dim, count) in records {
                w.writeVarUInt(day)
                if t.hasDimension { w.writeVarUInt(dim) }
                w.writeUInt8(count)
            }
        }
    }

    static let day = UInt64(StateTestKit.time(2026, 11, 28) / 86_400)

    @Test("a hand-written contribution section decodes to the records it names")
    func craftedSectionDecodes() throws {
        let bytes = Self.crafted { w in
            w.writeVarUInt(1)
            Self.visitor(&w, tables: [0: [(Self.day, 0, 4)], 1: [(Self.day, 0, 1), (0, 1, 255)]])
        }
        let s = try StateCodec.decode(bytes, file: "crafted")
        #expect(s.contributions.visitorCount == 1)
        let pages = s.contributions.records(0, ContributionTable.pages.rawValue).sorted { $0.dim < $1.dim }
        #expect(
            pages.map { [$0.day, $0.dim, UInt32($0.count)] } == [
                [UInt32(Self.day), 0, 1], [UInt32(Self.day), 1, 255],
            ])
        #expect(StateCodec.encode(s) == bytes, "the crafted section is canonical")
    }

    @Test(
        "malformed contribution sections are state errors",
        arguments: [
            "nine records", "count 0", "records out of order", "duplicate record", "dim out of range",
            "visitors out of order", "duplicate visitor", "visitor without records", "site out of range",
            "day out of range",
        ])
    func malformedSections(_ reason: String) {
        let d = Self.day
        let bytes = Self.crafted { w in
            switch reason {
            case "nine records":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [0: [(d, 0, 1)] + (1...8).map { _ in (UInt64(1), 0, 1) }])
            case "count 0":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [1: [(d, 0, 0)]])
            case "records out of order":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [1: [(d, 1, 1), (0, 0, 1)]])
            case "duplicate record":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [1: [(d, 1, 1), (0, 1, 1)]])
            case "dim out of range":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [1: [(d, 2, 1)]])
            case "visitors out of order":
                w.writeVarUInt(2)
                Self.visitor(&w, hi: 5, tables: [0: [(d, 0, 1)]])
                Self.visitor(&w, hi: 4, tables: [0: [(d, 0, 1)]])
            case "duplicate visitor":
                w.writeVarUInt(2)
                Self.visitor(&w, tables: [0: [(d, 0, 1)]])
                Self.visitor(&w, tables: [0: [(d, 0, 1)]])
            case "visitor without records":
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [:])
            case "site out of range":
                w.writeVarUInt(1)
                w.writeVarUInt(1)
                w.writeUInt64(1)
                w.writeUInt64(1)
                for _ in 0..<6 { w.writeVarUInt(0) }
            default:  // day out of range
                w.writeVarUInt(1)
                Self.visitor(&w, tables: [0: [(UInt64(CellKey.maxBucket), 0, 1)]])
            }
        }
        let e = #expect(throws: VeilError.self, "\(reason)") { try StateCodec.decode(bytes, file: "bad") }
        #expect(e?.code == .state, "\(reason): \(e?.message ?? "")")
    }
}
