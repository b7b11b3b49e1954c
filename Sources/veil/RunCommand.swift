import ArgumentParser
import Foundation
import VeilCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Aggregate logs and publish rollups in one go (the quick path).",
        discussion: """
            Uses the default key store ($VEIL_KEYS, else $XDG_DATA_HOME/veil/keys, else \
            ~/.local/share/veil/keys), creating it if it does not exist (and saying so), and \
            publishes CSV rollups with k-anonymity threshold k.

            Without --state, the summaries of past days wait in an unlinked temporary file in \
            $TMPDIR (else /tmp), so memory stays that of about one day however many days the \
            logs cover. On a tmpfs that file takes memory too: for long inputs, point TMPDIR at \
            a disk.

            Example: veil run access.log-20261128.zst access.log-20261129.zst -o rollups/
            """)

    @Argument(help: "Log files (plain, gzip, zstd, xz or bzip2; - for standard input).")
    var logs: [String]

    @Option(name: .shortAndLong, help: "Directory for the CSV rollups and manifest.json.")
    var output = "rollups"

    @Option(name: .long, help: "Key store directory (default: see above).")
    var keys: String?

    @Option(name: .long, help: "Also write the pseudonymous state to this file.")
    var state: String?

    @Option(name: .long, help: "Publish a row only with at least this many distinct visitors.")
    var k = 10

    @OptionGroup var input: InputOptions
    @OptionGroup var aggregation: AggregationOptions
    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard k >= 2 else { throw ValidationError("--k must be at least 2") }
    }

    func run() throws {
        try Veil.guarded {
            let started = Date()
            let path = keys ?? defaultKeyStorePath()
            let store: KeyStore
            if keys == nil && !FileManager.default.fileExists(atPath: path) {
                store = try KeyStore(path: path)
                if !out.quiet { Terminal.note("created key store \(path) (keys rotate daily; see `veil keys --help`)") }
            } else {
                store = try KeyStore.open(path: path)
            }
            try store.checkNotInside(output)
            if let state, AtomicDirectory.isInside(state, output) {
                throw VeilError(
                    .usage,
                    "--state must not be inside the rollup directory: pseudonymous data never sits with anonymous rollups"
                )
            }
            let lock = try OutputLock(for: output)
            let stateLock = try state.map { p throws(VeilError) in try OutputLock(for: p) }
            defer { withExtendedLifetime((lock, stateLock)) {} }
            // Without a state file to write, summaries of past key epochs wait in a temporary
            // file and the release reads them back one epoch at a time: memory stays that of
            // about one epoch however many days the logs cover. Nor are the per-visitor records
            // that only a noisy release from a state file reads kept.
            var result = try runAggregation(
                paths: logs, input: input, aggregation: aggregation, keyStore: store, output: out,
                releasedAtOnce: state == nil)
            if let state {
                try result.materialize()
                try StateCodec.write(result.state, to: state)
            }
            var rc = ReleaseConfiguration()
            rc.k = k
            rc.threads = aggregation.threadCount
            let summary = try RollupWriter.write(result.state, sealed: result.sealed, to: output, configuration: rc)
            keepUntilExit(result.state)
            var agg = AggregateSummary(result, output: output, countries: result.countries)
            agg.visitors = summary.visitorSummaries
            if out.json {
                print(jsonString(RunSummary(aggregate: agg, release: ReleaseSummary(summary, k: k))))
            }
            if !out.quiet, let note = memoryFileSystemNote(result) { Terminal.note(note) }
            if !out.json && !out.quiet {
                let rows = summary.tables.reduce(0) { $0 + $1.rows }
                let suppressed = summary.tables.reduce(0) { $0 + $1.suppressed }
                Terminal.note(
                    "\(agg.inputs.count) input\(agg.inputs.count == 1 ? "" : "s"), \(grouped(agg.lines)) lines, \(grouped(agg.records)) records\(agg.skippedNote), \(grouped(agg.rejected)) rejected; \(summary.tables.count) tables, \(grouped(rows)) rows (\(grouped(suppressed)) below k=\(k) suppressed) → \(output)/ in \(String(format: "%.2f", Date().timeIntervalSince(started))) s"
                )
            }
        }
    }
}

/// A note when past days' summaries went to a memory file system (tmpfs) and the input spans a
/// week or more: they took memory after all, outside veil's own, and a longer backfill could
/// run the machine out of it. Nil otherwise.
func memoryFileSystemNote(_ result: AggregateJob.Result) -> String? {
    guard let sealed = result.sealed, sealed.inMemoryFileSystem else { return nil }
    let iso = ISO8601DateFormatter()
    let times = result.reports.flatMap { [$0.firstTimestamp, $0.lastTimestamp] }.compactMap {
        $0.flatMap(iso.date(from:))
    }
    guard let first = times.min(), let last = times.max(), last.timeIntervalSince(first) >= 7 * 86_400 else {
        return nil
    }
    return
        "note: \(sealed.directory) is on a memory file system (tmpfs or ramfs): the \(megabytes(sealed.bytes)) of past days' summaries kept there took memory; for inputs of many days set TMPDIR to a directory on disk"
}

struct ReleaseSummary: Encodable {
    struct Table: Encodable { var name: String; var rows: Int; var suppressed: Int }
    var directory: String
    var k: Int
    var tables: [Table]

    init(_ s: RollupWriter.Summary, k: Int) {
        directory = s.directory
        self.k = k
        tables = s.tables.map { Table(name: $0.name, rows: $0.rows, suppressed: $0.suppressed) }
    }
}

struct RunSummary: Encodable {
    var aggregate: AggregateSummary
    var release: ReleaseSummary
    /// The process's own peak resident memory so far, in bytes.
    var peakRSSBytes = peakResidentBytes()
}

/// Peak resident memory of this process, in bytes: `VmHWM` of `/proc/self/status` on Linux,
/// else `ru_maxrss`. (On Linux `ru_maxrss` also counts the memory of the process that started
/// veil: a `posix_spawn` child begins in its parent's address space, and the kernel keeps that
/// address space's peak across `exec`, so veil started by a 400 MiB test runner or job
/// scheduler would report 400 MiB.)
func peakResidentBytes() -> Int {
    #if os(Linux)
        if let status = try? AtomicFile.read("/proc/self/status") {
            for line in String(decoding: status, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let digits = line.dropFirst("VmHWM:".count).filter(\.isNumber)
                if let kib = Int(digits) { return kib * 1024 }
            }
        }
    #endif
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}
