import Foundation
import Testing

@testable import VeilCore

/// A job with `sealPastEpochs` moves the summaries of past key epochs and days into a temporary
/// file while it runs. What it writes must not change: the release read part by part and the
/// state merged back must equal those of a job that kept everything in memory.
@Suite("Sealing past epochs: the same rollups and state, summaries out of memory")
struct SealingTests {
    typealias K = StateTestKit

    /// `days` days of traffic from 2026-11-28 18:00 UTC (visits across midnight), e-mail opens
    /// and clicks every day (campaigns spanning days, recipients coming back), in time order;
    /// with `late`, every 40th line of the first day is written again two days later (a
    /// server's late flush), so summaries of sealed epochs get more records.
    /// With `hosts`, lines are `vhost_combined` for two sites (rows of several sites per day).
    static func lines(days: Int, seed: UInt64, late: Bool, hosts: Bool = true) -> [String] {
        var timed: [(time: Int64, line: String)] = []
        for d in 0..<days {
            for r in StateTestLog(seed: seed &+ UInt64(d), visitors: 120).requests {
                var shifted = r
                shifted.time += Int64(d) * 86_400
                timed.append((shifted.time, shifted.line))
            }
            for i in 0..<90 {
                let offset = Int64(d) * 86_400 + Int64(i) * 97
                let token = "tok\((i * 7 + d * 3) % 60)"
                let campaign = ["spring", "summer", "autumn"][(i + d) % 3]
                timed.append(
                    (
                        EmailTestKit.t0 + offset,
                        EmailTestKit.open(campaign, token, at: offset, ip: "198.51.100.\(i % 40)")
                    ))
                if i % 3 == 0 {
                    timed.append(
                        (
                            EmailTestKit.t0 + offset + 30,
                            EmailTestKit.click(
                                campaign, "hero\(i % 4)", token, at: offset + 30, ip: "198.51.100.\(i % 40)")
                        ))
                }
            }
        }
        timed = timed.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var lines = timed.enumerated().map { (i, t) in
            hosts ? (i % 5 < 2 ? "b.example:443 " : "a.example:443 ") + t.line : t.line
        }
        if late {
            let firstDay = timed.prefix { $0.time < K.time(2026, 11, 29, 18) }.count
            let twoDaysOn = timed.firstIndex { $0.time >= K.time(2026, 12, 1) } ?? lines.count
            let moved = stride(from: 0, to: firstDay, by: 40).map { lines[$0] }
            for i in stride(from: 0, to: firstDay, by: 40).reversed() { lines.remove(at: i) }
            lines.insert(contentsOf: moved, at: twoDaysOn - moved.count)
        }
        return lines
    }

    /// One aggregator's state of a `vhost_combined` log.
    static func aggregate(_ ws: StateTestWorkspace, _ path: String) throws -> AggregateState {
        var ingest = IngestConfiguration()
        ingest.format = .named("vhost_combined")
        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(path: path, configuration: ingest, sink: &aggregator)
        return aggregator.finish()
    }

    struct Outcome {
        var tables: [StateTestTable]
        var state: [UInt8]
        var sealedEpochs: Int
        var sealedDays: Int
        var liveVisitors: Int
        var visitorSummaries: Int
    }

    /// A job over `vhost_combined` logs, sealing into the workspace's directory with `seal`.
    static func job(
        _ ws: StateTestWorkspace, seal: Bool, threads: Int, timeZone: String? = nil, skipBadFiles: Bool = false,
        maxPaths: Int? = nil
    ) -> AggregateJob {
        var aggregation = AggregationConfiguration()
        aggregation.timeZone = timeZone
        if let maxPaths { aggregation.maxPaths = maxPaths }
        var ingest = IngestConfiguration()
        ingest.format = .named("vhost_combined")
        var job = AggregateJob(ingest: ingest, aggregation: aggregation)
        job.threads = threads
        job.sealPastEpochs = seal
        job.sealingDirectory = ws.directory
        job.skipBadFiles = skipBadFiles
        return job
    }

    /// Runs a job over `paths`, then releases (part by part when sealed) and merges back.
    static func run(
        _ ws: StateTestWorkspace, _ paths: [String], seal: Bool, threads: Int = 1, timeZone: String? = nil,
        skipBadFiles: Bool = false
    ) throws -> Outcome {
        let job = job(ws, seal: seal, threads: threads, timeZone: timeZone, skipBadFiles: skipBadFiles)
        var result = try job.run(paths: paths, pseudonymizers: (0..<threads).map { _ in ws.pseudonymizer() })
        var releasing = ReleaseConfiguration()
        releasing.threads = threads
        var release = try Release(state: result.state, configuration: releasing, sealed: result.sealed)
        let tables = try release.tables().map(StateTestTable.init)
        let sealedEpochs = result.sealed?.visitorEpochs.count ?? 0
        let sealedDays = result.sealed?.recipientDays.count ?? 0
        let live = result.state.visitorCount
        try result.materialize()
        #expect(result.sealed == nil)
        return Outcome(
            tables: tables, state: StateCodec.encode(result.state), sealedEpochs: sealedEpochs, sealedDays: sealedDays,
            liveVisitors: live, visitorSummaries: release.visitorSummaries)
    }

    @Test("five days with late lines: sealed and in-memory jobs give the same tables and state", arguments: [1, 2, 3])
    func sameOutput(threads: Int) throws {
        let ws = try StateTestWorkspace()
        let path = try ws.write(Self.lines(days: 5, seed: 0x5EA1, late: true), name: "days.log")
        let kept = try Self.run(ws, [path], seal: false, threads: threads)
        let sealed = try Self.run(ws, [path], seal: true, threads: threads)
        #expect(kept.sealedEpochs == 0)
        #expect(sealed.sealedEpochs >= 4 && sealed.sealedDays >= 4, "epochs and days were sealed")
        #expect(sealed.liveVisitors * 3 < kept.liveVisitors, "most visit summaries left memory")
        #expect(sealed.visitorSummaries == kept.visitorSummaries)
        #expect(sealed.tables == kept.tables)
        #expect(sealed.state == kept.state)
        // The release had something to show from every part.
        let campaigns = try #require(kept.tables.first { $0.name == "campaigns" })
        let entries = try #require(kept.tables.first { $0.name == "entry_pages" })
        #expect(Set(campaigns.rows.map { $0[1] }).count >= 5 && Set(entries.rows.map { $0[1] }).count >= 5)
        // More threads (in the job, and in the release, whose e-mail tables then take a thread
        // of their own) change nothing.
        if threads > 1 {
            let one = try Self.run(ws, [path], seal: true, threads: 1)
            #expect(sealed.tables == one.tables)
            #expect(sealed.state == one.state)
        }
    }

    @Test("local days across key epochs (UTC+5:30, UTC-8) and two inputs over the same days")
    func zonesAndInputs() throws {
        let ws = try StateTestWorkspace()
        let a = try ws.write(Self.lines(days: 4, seed: 0xA11, late: false), name: "a.log")
        let b = try ws.write(Self.lines(days: 4, seed: 0xB22, late: true), name: "b.log")
        for zone in ["Asia/Kolkata", "America/Los_Angeles"] {
            let kept = try Self.run(ws, [a, b], seal: false, timeZone: zone)
            let sealed = try Self.run(ws, [a, b], seal: true, timeZone: zone)
            #expect(sealed.sealedEpochs >= 3)
            #expect(sealed.tables == kept.tables, "\(zone)")
            #expect(sealed.state == kept.state, "\(zone)")
        }
    }

    @Test("an input that fails half way leaves no sealed piece behind (--skip-bad-files)")
    func failedInput() throws {
        let ws = try StateTestWorkspace()
        let good = try ws.write(Self.lines(days: 3, seed: 0xC33, late: false), name: "good.log")
        // Four days of lines, then a truncated gzip stream: the failure comes after sealing.
        let text = Self.lines(days: 4, seed: 0xD44, late: false).joined(separator: "\n") + "\n"
        let gz = ws.directory + "/bad.log.gz"
        let plain = ws.directory + "/bad.log"
        try Data(text.utf8).write(to: URL(fileURLWithPath: plain))
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gzip.arguments = ["gzip", "-k", "-f", plain]
        try gzip.run()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)
        let whole = try Data(contentsOf: URL(fileURLWithPath: gz))
        try whole.prefix(whole.count - 4096).write(to: URL(fileURLWithPath: gz))

        let alone = try Self.run(ws, [good], seal: false)
        let withBad = try Self.run(ws, [good, gz], seal: true, skipBadFiles: true)
        #expect(withBad.tables == alone.tables)
        #expect(withBad.state == alone.state)
    }

    @Test("the temporary file has no name: nothing is left in its directory")
    func unlinked() throws {
        let ws = try StateTestWorkspace()
        let dir = ws.directory + "/spill"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var state = AggregateState(configuration: StateConfiguration())
        let site = state.sites.intern("example.com")
        state.addPageview(
            site: site, pseudonym: Pseudonym(hi: 1, lo: 2), time: K.time(2026, 11, 28, 9), path: state.dims.intern("/"))
        let sealed = SealedSummaries(configuration: state.configuration, directory: dir)
        try state.seal(epochs: { _ in true }, days: { _ in true }, into: sealed)
        #expect(state.visitorCount == 0)
        #expect(sealed.bytes > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        let back = try sealed.visitors(epoch: sealed.visitorEpochs[0])
        #expect(back.visitorCount == 1 && back.visitors[0].visits[0].pageviews == 1)
    }

    /// The type `stat -f` (coreutils) reports for the file system holding `path`.
    static func fileSystemType(_ path: String) throws -> String {
        let stat = Process()
        stat.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        stat.arguments = ["-f", "-c", "%T", path]
        let out = Pipe()
        stat.standardOutput = out
        try stat.run()
        stat.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(
        "the file knows whether it is on a memory file system: /dev/shm (tmpfs) yes, and the test directory as stat -f says"
    )
    func memoryFileSystem() throws {
        let ws = try StateTestWorkspace()
        let shm = "/dev/shm/veil-sealing-\(UInt64.random(in: 0...UInt64.max))"
        try #require(try Self.fileSystemType("/dev/shm") == "tmpfs", "this test needs /dev/shm on a tmpfs")
        try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: shm) }
        for (dir, expected) in [
            (shm, true), (ws.directory, ["tmpfs", "ramfs"].contains(try Self.fileSystemType(ws.directory))),
        ] {
            var state = AggregateState(configuration: StateConfiguration())
            state.addPageview(
                site: state.sites.intern("example.com"), pseudonym: Pseudonym(hi: 5, lo: 6),
                time: K.time(2026, 11, 28, 9), path: state.dims.intern("/"))
            let sealed = SealedSummaries(configuration: state.configuration, directory: dir)
            #expect(!sealed.inMemoryFileSystem, "no file yet")
            try state.seal(epochs: { _ in true }, days: { _ in true }, into: sealed)
            #expect(sealed.bytes > 0)
            #expect(sealed.inMemoryFileSystem == expected, "\(dir)")
        }
    }

    @Test("cells sealed and restored: the same state, with cells made again since joined")
    func cellsRoundTrip() throws {
        let ws = try StateTestWorkspace()
        let path = try ws.write(Self.lines(days: 3, seed: 0xE55, late: false), name: "cells.log")
        let whole = try Self.aggregate(ws, path)
        var state = whole
        let sealed = SealedSummaries(configuration: state.configuration, directory: ws.directory)
        let day2 = ISOTime.floorDiv(K.time(2026, 11, 29), 86_400)
        #expect(
            try state.sealCells({ $0.table == .trafficHour ? $0.bucket < day2 * 24 : $0.bucket < day2 }, into: sealed))
        #expect(sealed.hasCells && state.cellCount > 0 && state.cellCount < whole.cellCount)
        // A cell of a sealed day made again (a late record), and one sealed twice.
        try state.sealCells({ $0.table == .trafficDay && $0.bucket == day2 }, into: sealed)
        let site = Int(try #require(state.sites.intern("a.example", readOnly: true)))
        let i = state.cell(CellKey(table: .trafficDay, site: site, bucket: day2 - 1, dimension: 0))
        state.cells[i].requests += 1
        try sealed.restoreCells(into: &state)
        #expect(!sealed.hasCells)
        state.cells[state.cell(CellKey(table: .trafficDay, site: site, bucket: day2 - 1, dimension: 0))].requests -= 1
        state.compact()
        #expect(StateCodec.encode(state) == StateCodec.encode(whole))
    }

    @Test("an epoch sealed in many small pieces reads back as one", arguments: [1, 5, 64])
    func pieces(size: Int) throws {
        let ws = try StateTestWorkspace()
        let path = try ws.write(Self.lines(days: 3, seed: 0xF66, late: false), name: "pieces.log")
        let whole = try Self.aggregate(ws, path)
        var state = whole
        let sealed = SealedSummaries(configuration: state.configuration, directory: ws.directory)
        try state.seal(epochs: { _ in true }, days: { _ in true }, into: sealed, pieceSize: size)
        #expect(state.visitorCount == 0 && state.recipientCount == 0)
        #expect(sealed.visitorEpochs.count >= 3 && sealed.recipientDays.count >= 3)
        for e in sealed.visitorEpochs { try state.merge(sealed.visitors(epoch: e)) }
        for d in sealed.recipientDays { try state.merge(sealed.recipients(day: d)) }
        #expect(state.visitorCount == whole.visitorCount && state.recipientCount == whole.recipientCount)
        #expect(StateCodec.encode(state) == StateCodec.encode(whole))
    }

    @Test("a directory that does not exist: no file until something is sealed, then an error naming it")
    func badDirectory() throws {
        var state = AggregateState(configuration: StateConfiguration())
        state.addPageview(
            site: state.sites.intern("example.com"), pseudonym: Pseudonym(hi: 3, lo: 4), time: K.time(2026, 11, 28, 9),
            path: state.dims.intern("/"))
        let sealed = SealedSummaries(configuration: state.configuration, directory: "/nonexistent/veil-spill")
        #expect(sealed.bytes == 0)
        #expect {
            try state.seal(epochs: { _ in true }, days: { _ in true }, into: sealed)
        } throws: { error in
            let e = error as? VeilError
            return e?.code == .io && e?.description.contains("/nonexistent/veil-spill") == true
                && e?.description.contains("TMPDIR") == true
        }
    }
}
