import Foundation
import Testing

@testable import VeilCore

/// `AggregationConfiguration.recordsContributions` off (what `veil run` without `--state` does):
/// the per-visitor partition records are not kept, the counts and sketches are the same, and a
/// state made that way can neither be written nor released with noise.
@Suite("Aggregation without contribution records")
struct ContributionRecordsOffTests {
    static func aggregateBoth(_ ws: StateTestWorkspace, _ lines: [String]) throws -> (
        on: AggregateState, off: AggregateState
    ) {
        var off = AggregationConfiguration()
        off.recordsContributions = false
        let withRecords = try ws.aggregate(lines, name: "on.log").state
        let without = try ws.aggregate(lines, name: "off.log", aggregation: off).state
        return (withRecords, without)
    }

    @Test("the same cells, sketches, visit summaries and rollups; no records; the state says so")
    func sameCountsWithoutRecords() throws {
        let ws = try StateTestWorkspace()
        // Two days of traffic, a heavy visitor past the contribution caps, referrers.
        let lines = StateTestLog(seed: 0xC0FF, visitors: 150).lines + heavyVisitorLines(hits: 3000, pages: 200)
        let (on, off) = try Self.aggregateBoth(ws, lines)

        #expect(!on.omitsContributions)
        #expect(off.omitsContributions)
        #expect(on.contributions.visitorKeys.count > 100, "the default keeps records")
        #expect(off.contributions.visitorKeys.isEmpty, "no records kept")
        #expect(off.contributions.entries.isEmpty)

        // Cells: same keys in the same order, same counters and sketches (a skipped insert
        // through a record's bit must never lose a visitor, and a missing bit must add none).
        #expect(off.cellKeys == on.cellKeys)
        #expect(off.cells == on.cells)
        #expect(off.visitorKeys == on.visitorKeys)
        #expect(off.visitors == on.visitors)
        #expect(off.inputs.map(\.fingerprint) == on.inputs.map(\.fingerprint))
        #expect(try StateTestKit.release(off, k: 3) == StateTestKit.release(on, k: 3))
        let pages = try #require(on.cellKeys.firstIndex { $0.table == .pages })
        #expect(on.cells[pages].visitors.cardinality() > 0, "the comparison covers page sketches")
    }

    /// Without records, a pageview skips the browser, OS, device and referrer sketch inserts
    /// its visitor's summary notes as done (the same day and user-agent class as the last
    /// pageview; a referrer already seen that day). Visitors known by a cookie switch user
    /// agents and referrers within a local day and across its midnight (in the same key epoch,
    /// so with the same pseudonyms), where every note is stale — another class, another day, a
    /// referrer of the day before — and the insert must happen.
    @Test("skipped sketch inserts never lose a visitor when the agent, referrer or day changes")
    func notedCellsStayExact() throws {
        let ws = try StateTestWorkspace()
        var cookie = IngestConfiguration()
        cookie.format = .named("combined_cookie")
        let (firefox, chrome) = (StateTestKit.firefox, StateTestKit.chrome)
        let (a, b) = ("https://a.example.net/x", "https://b.example.org/y")
        // Local days (Berlin) change at 23:00Z, within the key epoch of the UTC day.
        func line(_ visitor: String, _ minute: Int, _ agent: String, _ referrer: String?) -> String {
            let t = StateTestKit.time(2026, 11, 28, 22, 0) + Int64(minute) * 60
            return "198.51.100.7 - - [\(StateTestKit.clf(t))] \"GET /p/\(minute) HTTP/1.1\" 200 512 "
                + "\"\(referrer ?? "-")\" \"\(agent)\" \"\(visitor)\""
        }
        let lines = [
            line("one", 50, firefox, a), line("one", 52, chrome, nil),  // another class, same day
            line("one", 54, firefox, a),  // the first class again: noted before, not now
            line("two", 55, firefox, a),
            line("one", 65, firefox, nil),  // the next local day, the same class
            line("one", 67, firefox, a),  // a referrer of the day before, after none this day
            line("two", 66, firefox, a),  // the same class and referrer, the next day
            line("one", 69, firefox, b), line("one", 71, firefox, b), line("three", 72, chrome, b),
        ]
        var configuration = AggregationConfiguration()
        configuration.timeZone = "Europe/Berlin"
        var off = configuration
        off.recordsContributions = false
        let on = try ws.aggregate(lines, name: "on.log", aggregation: configuration, ingest: cookie).state
        let without = try ws.aggregate(lines, name: "off.log", aggregation: off, ingest: cookie).state
        #expect(without.omitsContributions)
        #expect(without.cellKeys == on.cellKeys)
        for (i, key) in on.cellKeys.enumerated() {
            #expect(without.cells[i] == on.cells[i], "cell \(key)")
        }
        let browsers = on.cellKeys.indices.filter { on.cellKeys[$0].table == .browsers }
        #expect(Set(browsers.map { on.cellKeys[$0].bucket }).count == 2, "browser cells on two local days")
        let referrers = on.cellKeys.indices.filter { on.cellKeys[$0].table == .referrers }
        #expect(referrers.map { on.cells[$0].visitors.cardinality() }.max() == 2, "visitors share a referrer's cell")
    }

    @Test("a state without records is not written, and names the file")
    func notWritten() throws {
        let ws = try StateTestWorkspace()
        let (on, off) = try Self.aggregateBoth(ws, StateTestLog(seed: 0xC1, visitors: 40).lines)
        let path = ws.directory + "/off.veilstate"
        let e = #expect(throws: VeilError.self) { try StateCodec.write(off, to: path) }
        #expect(e?.code == .state)
        #expect(e.map { "\($0)" }?.contains("off.veilstate") == true)
        #expect(!FileManager.default.fileExists(atPath: path), "nothing is written")
        // The default state writes and reads back with its records.
        let good = ws.directory + "/on.veilstate"
        try StateCodec.write(on, to: good)
        let back = try StateCodec.read(good)
        #expect(back.contributions.visitorKeys.count == on.contributions.visitorKeys.count)
        #expect(!back.omitsContributions)
    }

    @Test("no noisy release from a state without records, nor from a merge with one")
    func noNoisyRelease() throws {
        let ws = try StateTestWorkspace()
        let log = StateTestLog(seed: 0xC2, visitors: 60)
        let (on, off) = try Self.aggregateBoth(ws, log.contiguousShards[0])
        let later = try ws.aggregate(log.contiguousShards[1], name: "later.log").state
        let p = DPParameters(epsilon: PrivacyAmount("1")!)
        _ = try DPRelease(state: on, parameters: p)
        let e = #expect(throws: VeilError.self) { _ = try DPRelease(state: off, parameters: p) }
        #expect(e?.code == .state)

        var merged = later
        try merged.merge(off)
        #expect(merged.omitsContributions, "a merge with a state without records has gaps in its records")
        #expect(throws: VeilError.self) { _ = try DPRelease(state: merged, parameters: p) }
        var fine = later
        try fine.merge(on)
        #expect(!fine.omitsContributions)
        _ = try DPRelease(state: fine, parameters: p)
    }
}
