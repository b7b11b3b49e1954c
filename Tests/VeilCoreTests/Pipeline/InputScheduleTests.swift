import Foundation
import Testing

@testable import VeilCore

/// A job of several inputs may read them side by side, each with its share of the threads
/// (`InputSchedule`). Whatever the schedule, the state, the tables and the reports must be
/// those of reading the inputs one after another.
@Suite("Inputs read side by side: the schedule, and the same output as one after another")
struct InputScheduleTests {
    @Test("the plan: inputs of like size are read side by side, one input larger than all the rest with every thread")
    func plan() {
        let two = InputSchedule.plan(weights: [100, 100], threads: 2)
        #expect(two.concurrency == 2)
        #expect(two.threadsPerReader == [1, 1])
        #expect(
            InputSchedule.plan(weights: [300, 100, 100], threads: 2).concurrency == 1, "one input is 60% of the work")
        let night = InputSchedule.plan(weights: [10, 50, 30, 20, 40, 60, 70, 80], threads: 2)
        #expect(night.concurrency == 2)
        #expect(night.order == [7, 6, 5, 1, 4, 2, 3, 0], "largest first")
        let wide = InputSchedule.plan(weights: [100, 100, 100, 100], threads: 8)
        #expect(wide.concurrency > 1)
        #expect(wide.threadsPerReader.reduce(0, +) == 8, "every thread has a reader")
        #expect(wide.threadsPerReader.allSatisfy { $0 >= 2 }, "\(wide.threadsPerReader)")
        let alone = InputSchedule.plan(weights: [100, 300], threads: 2)
        #expect(alone.concurrency == 1)
        #expect(alone.order == [0, 1], "one after another: in input order")
        #expect(InputSchedule.plan(weights: [100, 100], threads: 1).concurrency == 1)
    }

    @Test(
        "an input's estimated work: its size, ten times that for gzip and zstd; none for standard input, a directory or a named pipe"
    )
    func weights() throws {
        let ws = try StateTestWorkspace()
        let plain = try ws.write(Array(repeating: "plain text line", count: 10), name: "plain.log")
        #expect(InputSchedule.weight(plain) == 160)
        for (name, magic) in [("a.zst", [0x28, 0xB5, 0x2F, 0xFD]), ("a.gz", [0x1F, 0x8B, 0x08, 0x00])]
            as [(String, [UInt8])]
        {
            let path = ws.directory + "/" + name
            try Data(magic + [UInt8](repeating: 7, count: 96)).write(to: URL(fileURLWithPath: path))
            #expect(InputSchedule.weight(path) == 1000, "\(name)")
        }
        let fifo = ws.directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in ["-", ws.directory, fifo, ws.directory + "/missing"] {
            #expect(InputSchedule.weight(path) == nil, "\(path)")
        }
        #expect(InputSchedule(paths: [plain, plain], threads: 2).concurrency == 2)
        #expect(InputSchedule(paths: [plain, "-"], threads: 2).concurrency == 1, "standard input among the inputs")
        #expect(InputSchedule(paths: [plain], threads: 2).concurrency == 1)
    }

    /// What a job gave: the state's bytes, the tables, the reports (times set to 0), skipped inputs.
    struct Output {
        var state: [UInt8]
        var tables: [StateTestTable]
        var reports: [FileReport]
        var skipped: [FileReport]
        /// Reports passed to the progress callback, in input order.
        var progress: [FileReport]

        /// Expects `self` to equal `other`, field by field (a state's bytes are not printed).
        func expectEqual(_ other: Output, _ comment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(state.count == other.state.count, "\(comment): state size", sourceLocation: sourceLocation)
            #expect(state.elementsEqual(other.state), "\(comment): state bytes", sourceLocation: sourceLocation)
            #expect(tables == other.tables, "\(comment)", sourceLocation: sourceLocation)
            #expect(reports == other.reports, "\(comment)", sourceLocation: sourceLocation)
            #expect(skipped == other.skipped, "\(comment)", sourceLocation: sourceLocation)
            #expect(progress == other.progress, "\(comment)", sourceLocation: sourceLocation)
        }
    }

    static func run(
        _ ws: StateTestWorkspace, _ paths: [String], threads: Int, seal: Bool = false, skipBadFiles: Bool = false,
        maxPaths: Int? = nil
    ) throws(VeilError) -> Output {
        let job = SealingTests.job(ws, seal: seal, threads: threads, skipBadFiles: skipBadFiles, maxPaths: maxPaths)
        let seen = Seen()
        var result = try job.run(paths: paths, pseudonymizers: (0..<threads).map { _ in ws.pseudonymizer() }) {
            seen.reports.append($0)
        }
        var release = try Release(state: result.state, configuration: ReleaseConfiguration(), sealed: result.sealed)
        let tables = try release.tables().map(StateTestTable.init)
        try result.materialize()
        func timeless(_ r: FileReport) -> FileReport {
            var r = r
            r.seconds = 0
            return r
        }
        let order = Dictionary(uniqueKeysWithValues: paths.enumerated().map { ($1, $0) })
        return Output(
            state: StateCodec.encode(result.state), tables: tables, reports: result.reports.map(timeless),
            skipped: result.skipped, progress: seen.reports.map(timeless).sorted { order[$0.file]! < order[$1.file]! })
    }

    final class Seen: @unchecked Sendable {
        var reports: [FileReport] = []
    }

    /// `count` inputs of two days of traffic each (e-mail events too), one with late lines.
    static func inputs(_ ws: StateTestWorkspace, count: Int) throws -> [String] {
        try (0..<count).map { i in
            try ws.write(SealingTests.lines(days: 2, seed: 0x1A7 &+ UInt64(i) &* 977, late: i == 1), name: "in\(i).log")
        }
    }

    @Test(
        "side by side or one after another: the same state, tables and reports (in memory and sealed)",
        arguments: [false, true])
    func sameOutput(seal: Bool) throws {
        let ws = try StateTestWorkspace()
        let paths = try Self.inputs(ws, count: 5)
        let sequential = try Self.run(ws, paths, threads: 1, seal: seal)
        #expect(sequential.reports.count == 5)
        #expect(sequential.progress == sequential.reports, "one progress call per input")
        for threads in [2, 3, 4] {
            #expect(InputSchedule(paths: paths, threads: threads).concurrency >= 2, "\(threads) threads")
            let concurrent = try Self.run(ws, paths, threads: threads, seal: seal)
            concurrent.expectEqual(sequential, "\(threads) threads")
        }
        // One aggregator carried from input to input (above), or a state per input merged
        // (with --skip-bad-files), in either order of the inputs: the same state and tables.
        let merged = try Self.run(ws, paths, threads: 1, seal: seal, skipBadFiles: true)
        merged.expectEqual(sequential, "a state per input")
        for skipBadFiles in [false, true] {
            let reversed = try Self.run(ws, paths.reversed(), threads: 1, seal: seal, skipBadFiles: skipBadFiles)
            #expect(reversed.state.elementsEqual(sequential.state), "reversed, skipBadFiles \(skipBadFiles)")
            #expect(reversed.tables == sequential.tables, "reversed, skipBadFiles \(skipBadFiles)")
        }
    }

    @Test("a bad input among them: skipped with the same report, or the first bad input's error", arguments: [1, 2])
    func badInputs(threads: Int) throws {
        let ws = try StateTestWorkspace()
        var paths = try Self.inputs(ws, count: 4)
        // zstd's magic number, then bytes that are no frame header: corrupt from the start.
        for n in [1, 3] {
            let bad = ws.directory + "/bad\(n).log.zst"
            try Data([0x28, 0xB5, 0x2F, 0xFD] + [UInt8](repeating: 0xFF, count: 4000)).write(
                to: URL(fileURLWithPath: bad))
            paths.insert(bad, at: n)
        }
        #expect(InputSchedule(paths: paths, threads: 2).concurrency == 2)
        let skipped = try Self.run(ws, paths, threads: threads, skipBadFiles: true)
        #expect(skipped.skipped.map(\.file) == [paths[1], paths[3]])
        #expect(skipped.skipped.allSatisfy { $0.error?.contains("zstd") == true }, "\(skipped.skipped.map(\.error))")
        let good = try Self.run(
            ws, paths.enumerated().filter { ![1, 3].contains($0.offset) }.map(\.element), threads: 1)
        #expect(skipped.state.elementsEqual(good.state))
        #expect(skipped.tables == good.tables)
        #expect(skipped.reports == good.reports)
        #expect(skipped.progress == good.progress, "skipped inputs have no progress call")

        #expect {
            _ = try Self.run(ws, paths, threads: threads)
        } throws: { error in
            guard let e = error as? VeilError else { return false }
            return e.code == .corruptInput && e.file == paths[1]
        }
    }

    @Test("an input with the content of an earlier one is refused, naming both", arguments: [1, 2])
    func duplicate(threads: Int) throws {
        let ws = try StateTestWorkspace()
        var paths = try Self.inputs(ws, count: 3)
        let copy = ws.directory + "/copy.log"
        try FileManager.default.copyItem(atPath: paths[0], toPath: copy)
        paths.append(copy)
        #expect {
            _ = try Self.run(ws, paths, threads: threads)
        } throws: { error in
            guard let e = error as? VeilError else { return false }
            return e.code == .usage
                && e.message == "'\(copy)' has the same content as '\(paths[0])'; an input is counted once"
        }
    }

    @Test("inputs that reach a cap together are read again in order: the values of the first inputs keep their rows")
    func capsTogether() throws {
        let ws = try StateTestWorkspace()
        let t = StateTestKit.time(2026, 11, 28, 10)
        // Each input alone stays within --max-paths 4; together they hold 6 paths.
        func input(_ paths: [String], name: String, from: Int) throws -> String {
            let lines = (0..<40).map { i in
                "a.example:443 "
                    + StateTestRequest(
                        ip: StateTestKit.address(from + i % 10), userAgent: StateTestKit.firefox,
                        time: t + Int64(from * 100 + i),
                        path: paths[i % paths.count]
                    ).line
            }
            return try ws.write(lines, name: name)
        }
        let paths = [
            try input(["/a", "/b", "/c"], name: "first.log", from: 0),
            try input(["/d", "/e", "/f"], name: "second.log", from: 20),
        ]
        #expect(InputSchedule(paths: paths, threads: 2).concurrency == 2)
        let sequential = try Self.run(ws, paths, threads: 1, maxPaths: 4)
        let concurrent = try Self.run(ws, paths, threads: 2, maxPaths: 4)
        concurrent.expectEqual(sequential, "--max-paths 4")
        let pages = try #require(sequential.tables.first { $0.name == "pages" })
        let labels = Set(pages.rows.map { pages.value($0, "path") })
        #expect(labels.isSuperset(of: ["/a", "/b", "/c", "/d"]), "\(labels)")
        #expect(!labels.contains("/e") && !labels.contains("/f"), "\(labels)")
    }
}
