import ArgumentParser
import Foundation
import VeilCore

/// Aggregation shared by `run` and `aggregate`.
///
/// - Parameters:
///   - createKeys: Create the key of an epoch seen for the first time; when false, a missing
///     key is an error naming the epoch (`veil aggregate --no-new-keys`).
///   - inputName: The name to record for the one input in `paths` instead of the path
///     (`veil aggregate --input-name`).
///   - releasedAtOnce: The state is released without noise right after and never written
///     (`veil run` without `--state`): summaries of past key epochs wait in a temporary file
///     (`AggregateJob.sealPastEpochs`) and no per-visitor contribution records are kept.
func runAggregation(
    paths: [String], input: InputOptions, aggregation: AggregationOptions, keyStore: KeyStore, output: OutputOptions,
    createKeys: Bool = true, inputName: String? = nil, releasedAtOnce: Bool = false
) throws -> AggregateJob.Result {
    var job = AggregateJob(ingest: try input.configuration(), aggregation: try aggregation.configuration())
    job.sealPastEpochs = releasedAtOnce
    job.aggregation.recordsContributions = !releasedAtOnce
    job.skipBadFiles = aggregation.skipBadFiles
    if let geoip = aggregation.geoip { job.aggregation.countries = try CountryDatabase(path: geoip) }
    job.threads = aggregation.threadCount
    if output.quiet || output.json { job.ingest.progress = nil }
    // One pseudonymiser (and its cache) per parsing thread, kept across inputs.
    let pseudonymizers = (0..<max(1, job.threads)).map { _ in Pseudonymizer(keyStore: keyStore, createKeys: createKeys)
    }
    var done = 0
    let progress = { (report: FileReport) in
        done += 1
        if !output.quiet {
            Terminal.progress(
                "[\(done)/\(paths.count)] \(report.file): \(grouped(report.records)) records, \(String(format: "%.0f", Double(report.lines) / max(report.seconds, 1e-9))) lines/s"
            )
        }
    }
    if let inputName { job.inputNames = [paths[0]: inputName] }
    let result = try job.run(paths: paths, pseudonymizers: pseudonymizers, progress: progress)
    Terminal.clearProgress()
    if !output.quiet {
        for r in result.reports where r.rejected > 0 {
            Terminal.note(
                "\(r.file): \(grouped(r.rejected)) of \(grouped(r.lines)) lines rejected: \(rejectSummary(r))")
        }
        for r in result.reports where r.requestsNamed == false {
            Terminal.note("\(r.file): requests \(requestsNotNamed(r))")
        }
        // Times without a zone read as UTC because no zone was named: an hour off, or more,
        // when the server wrote its local time.
        for r in result.reports where r.logTimeZone != nil && input.logTz == nil {
            Terminal.note("\(r.file): times written without a zone, read as UTC (--log-tz names theirs)")
        }
        // HAProxy's options given for an input read as another format: said, not silently unused.
        if let option = input.haproxyOption {
            for r in result.reports where !r.format.isEmpty && r.format != "haproxy" {
                Terminal.note("\(r.file): read as \(r.format), not HAProxy's log: \(option) not used")
            }
        }
        for r in result.skipped {
            Terminal.note("skipped bad input: \(r.error ?? r.file)")
        }
        if let c = result.countries {
            Terminal.note("countries from \(c.path): \(c.identity.description)")
        }
    }
    if aggregation.strict {
        let rejected = result.reports.reduce(0) { $0 + $1.rejected }
        if rejected > 0 {
            throw VeilError(
                .rejectedLines, "\(grouped(rejected)) input lines were rejected (--strict); nothing was written")
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

            A missing epoch key is created on first use, unless --no-new-keys is given: then a \
            missing key is an error naming the epoch. Use --no-new-keys wherever the key store \
            is a copy (cluster workers): keys created in a copy would differ from copy to copy, \
            and pseudonyms of one visitor would not match. Create the keys beforehand with \
            `veil keys ensure`.

            Example: veil aggregate /var/log/nginx/access.log-20261128.zst -o 20261128.veilstate --keys /etc/veil/keys

            Standard input recorded under the file's name, on a worker with a copy of the store:
              zstdcat access.log-20261128.zst | veil aggregate - --input-name access.log-20261128.zst \\
                  -o 20261128.veilstate --keys /etc/veil/keys --no-new-keys
            """)

    @Argument(help: "Log files (plain, gzip, zstd, xz or bzip2; - for standard input).")
    var logs: [String]

    @Option(name: .shortAndLong, help: "State file to write.")
    var output: String

    @Option(name: .long, help: "Key store directory (created by `veil keys init`).")
    var keys: String

    @Flag(
        name: .long,
        help: "Never create a key: a missing epoch key is an error naming the epoch (see `veil keys ensure`).")
    var noNewKeys = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Record the one input under this name (in the state and the manifest's inputs) instead of its path or -.",
            valueName: "name"))
    var inputName: String?

    @OptionGroup var input: InputOptions
    @OptionGroup var aggregation: AggregationOptions
    @OptionGroup var out: OutputOptions

    func validate() throws {
        if let inputName {
            guard logs.count == 1 else { throw ValidationError("--input-name names one input; give exactly one log") }
            guard !inputName.isEmpty else { throw ValidationError("--input-name must not be empty") }
        }
    }

    func run() throws {
        try Veil.guarded {
            let store = try KeyStore.open(path: keys)
            let lock = try OutputLock(for: output)
            defer { withExtendedLifetime(lock) {} }
            let result = try runAggregation(
                paths: logs, input: input, aggregation: aggregation, keyStore: store, output: out,
                createKeys: !noNewKeys, inputName: inputName)
            try StateCodec.write(result.state, to: output)
            keepUntilExit(result.state)
            if out.json {
                print(jsonString(AggregateSummary(result, output: output, countries: result.countries)))
            } else if !out.quiet {
                Terminal.note(AggregateSummary(result, output: output, countries: result.countries).line)
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
    /// The country database of `--geoip`: which one made `countries.csv`.
    var countryDatabase: CountryDatabaseSummary?

    struct CountryDatabaseSummary: Encodable {
        var path: String
        var databaseType: String
        /// The database's build date (UTC), from its metadata.
        var buildDate: String
    }

    init(_ r: AggregateJob.Result, output: String, countries: CountryDatabase? = nil) {
        countryDatabase = countries.map {
            CountryDatabaseSummary(
                path: $0.path, databaseType: $0.databaseType,
                buildDate: $0.buildDate)
        }
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
        "\(inputs.count) input\(inputs.count == 1 ? "" : "s"), \(grouped(lines)) lines, \(grouped(records)) records\(skippedNote), \(grouped(rejected)) rejected → \(state)"
    }

    /// `, N skipped` when lines were skipped (directives, blank lines, requests without a
    /// response, e-mail events of other kinds), else nothing.
    var skippedNote: String {
        let skipped = inputs.reduce(0) { $0 + $1.skipped }
        return skipped > 0 ? ", \(grouped(skipped)) skipped" : ""
    }
}
