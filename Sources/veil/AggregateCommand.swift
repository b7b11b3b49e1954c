import ArgumentParser
import Foundation
import VeilCore

/// Aggregation shared by `run` and `aggregate`.
func runAggregation(
    paths: [String], input: InputOptions, aggregation: AggregationOptions, keyStore: KeyStore, output: OutputOptions
) throws -> AggregateJob.Result {
    var job = AggregateJob(ingest: try input.configuration(), aggregation: try aggregation.configuration())
    job.skipBadFiles = aggregation.skipBadFiles
    job.threads = aggregation.threads ?? ProcessInfo.processInfo.activeProcessorCount
    if output.quiet || output.json { job.ingest.progress = nil }
    var done = 0
    let result = try job.run(paths: paths, keyStore: keyStore) { report in
        done += 1
        if !output.quiet {
            Terminal.progress("[\(done)/\(paths.count)] \(report.file): \(grouped(report.records)) records, \(String(format: "%.0f", Double(report.lines) / max(report.seconds, 1e-9))) lines/s")
        }
    }
    Terminal.clearProgress()
    if !output.quiet {
        for r in result.reports where r.rejected > 0 {
            Terminal.note("\(r.file): \(grouped(r.rejected)) of \(grouped(r.lines)) lines rejected: \(rejectSummary(r))")
        }
        for r in result.skipped {
            Terminal.note("skipped bad input: \(r.error ?? r.file)")
        }
    }
    if aggregation.strict {
        let rejected = result.reports.reduce(0) { $0 + $1.rejected }
        if rejected > 0 {
            throw VeilError(.rejectedLines, "\(grouped(rejected)) input lines were rejected (--strict); nothing was written")
        }
    }
    return result
}

struct AggregateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aggregate",
        abstract: "Aggregate logs into a pseudonymous state file.",
        discussion: """
            The state holds counters, HyperLogLog sketches and per-visitor visit summaries keyed \
            by pseudonym; it is pseudonymous data (mode 0600). States merge with `veil merge` \
            and are published with `veil report`.

            Example: veil aggregate /var/log/nginx/access.log-20261128.zst -o 20261128.veilstate --keys /etc/veil/keys
            """)

    @Argument(help: "Log files (plain, gzip or zstd; - for standard input).")
    var logs: [String]

    @Option(name: .shortAndLong, help: "State file to write.")
    var output: String

    @Option(name: .long, help: "Key store directory (created by `veil keys init`).")
    var keys: String

    @OptionGroup var input: InputOptions
    @OptionGroup var aggregation: AggregationOptions
    @OptionGroup var out: OutputOptions

    func run() throws {
        try Veil.guarded {
            let store = try KeyStore.open(path: keys)
            let result = try runAggregation(paths: logs, input: input, aggregation: aggregation, keyStore: store, output: out)
            try StateCodec.write(result.state, to: output)
            if out.json {
                print(jsonString(AggregateSummary(result, output: output)))
            } else if !out.quiet {
                Terminal.note(AggregateSummary(result, output: output).line)
            }
        }
    }
}

struct AggregateSummary: Encodable {
    var inputs: [FileReport]
    var skippedInputs: [FileReport]
    var lines: Int
    var records: Int
    var rejected: Int
    var state: String
    var visitors: Int
    var cells: Int

    init(_ r: AggregateJob.Result, output: String) {
        inputs = r.reports
        skippedInputs = r.skipped
        lines = r.reports.reduce(0) { $0 + $1.lines }
        records = r.reports.reduce(0) { $0 + $1.records }
        rejected = r.reports.reduce(0) { $0 + $1.rejected }
        state = output
        visitors = r.state.visitorCount
        cells = r.state.cellCount
    }

    var line: String {
        "\(inputs.count) input\(inputs.count == 1 ? "" : "s"), \(grouped(lines)) lines, \(grouped(records)) records, \(grouped(rejected)) rejected → \(state)"
    }
}
