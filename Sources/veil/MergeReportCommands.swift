import ArgumentParser
import Foundation
import VeilCore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge state files into one.",
        discussion: """
            Merging is associative and commutative; it refuses states that cover the same input, \
            so no log is ever counted twice.

            Example: veil merge web1.veilstate web2.veilstate -o all.veilstate
            """)

    @Argument(help: "State files.")
    var states: [String]

    @Option(name: .shortAndLong, help: "State file to write.")
    var output: String

    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard states.count >= 1 else { throw ValidationError("give at least one state file") }
    }

    func run() throws {
        try Veil.guarded {
            var merged = try StateCodec.read(states[0])
            for path in states.dropFirst() {
                do {
                    try merged.merge(try StateCodec.read(path))
                } catch let e as VeilError where e.file == nil {
                    throw VeilError(e.code, e.message, file: path)
                }
            }
            try StateCodec.write(merged, to: output)
            if out.json {
                struct Summary: Encodable { var states: [String]; var output: String; var inputs: Int; var visitorSummaries: Int; var cells: Int }
                print(jsonString(Summary(
                    states: states, output: output, inputs: merged.inputs.count, visitorSummaries: merged.visitorCount,
                    cells: merged.cellCount)))
            } else if !out.quiet {
                Terminal.note("merged \(states.count) states (\(merged.inputs.count) inputs, \(grouped(merged.visitorCount)) visitor summaries) → \(output)")
            }
        }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Publish anonymous CSV rollups from state files.",
        discussion: """
            A row is published only with at least k distinct visitors; rows below k fold into an \
            (other) row per table and day when that row reaches k. The same states give \
            byte-identical files.

            Example: veil report week.veilstate -o rollups/ --k 20
            """)

    @Argument(help: "State files (merged before publishing).")
    var states: [String]

    @Option(name: .shortAndLong, help: "Directory for the CSV rollups and manifest.json.")
    var output: String

    @Option(name: .long, help: "Publish a row only with at least this many distinct visitors.")
    var k = 10

    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard k >= 2 else { throw ValidationError("--k must be at least 2") }
        guard !states.isEmpty else { throw ValidationError("give at least one state file") }
    }

    func run() throws {
        try Veil.guarded {
            var merged = try StateCodec.read(states[0])
            for path in states.dropFirst() { try merged.merge(try StateCodec.read(path)) }
            var rc = ReleaseConfiguration()
            rc.k = k
            let summary = try RollupWriter.write(merged, to: output, configuration: rc)
            if out.json {
                print(jsonString(ReleaseSummary(summary, k: k)))
            } else if !out.quiet {
                let rows = summary.tables.reduce(0) { $0 + $1.rows }
                let suppressed = summary.tables.reduce(0) { $0 + $1.suppressed }
                Terminal.note("\(summary.tables.count) tables, \(grouped(rows)) rows (\(grouped(suppressed)) below k=\(k) suppressed) → \(output)/")
            }
        }
    }
}
