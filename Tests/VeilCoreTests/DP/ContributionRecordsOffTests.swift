import Foundation
import Testing

@testable import VeilCore

/// `AggregationConfiguration.recordsContributions` off (what `veil run` without `--state` does):
/// the per-visitor partition records are not kept, the counts and sketches are the same, and a
/// state made that way can neither be written nor released with noise.
@Suite("Aggregation without contribution records")
struct ContributionRecordsOffTests {
    static func aggregateBoth(_ ws: StateTestWorkspace, _ lines: [String]) throws -> (on: AggregateState, off: AggregateState) {
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
