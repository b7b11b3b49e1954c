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
            let lock = try OutputLock(for: output)
            defer { withExtendedLifetime(lock) {} }
            var merged = try StateCodec.read(states[0])
            for path in states.dropFirst() {
                do {
                    try merged.merge(try StateCodec.read(path))
                } catch let e as VeilError where e.file == nil {
                    throw VeilError(e.code, e.message, file: path)
                }
            }
            try StateCodec.write(merged, to: output)
            keepUntilExit(merged)
            let coverage = merged.countryCoverage
            if out.json {
                struct Summary: Encodable {
                    var states: [String]; var output: String; var inputs: Int; var visitorSummaries: Int; var cells: Int
                    var countryDatabases: [CountryDatabaseInfo]?; var inputsWithoutCountryDatabase: Int?
                }
                print(
                    jsonString(
                        Summary(
                            states: states, output: output, inputs: merged.inputs.count,
                            visitorSummaries: merged.visitorCount,
                            cells: merged.cellCount,
                            countryDatabases: coverage?.databases.map(CountryDatabaseInfo.init),
                            inputsWithoutCountryDatabase: coverage?.inputsWithoutDatabase)))
            } else if !out.quiet {
                Terminal.note(
                    "merged \(states.count) states (\(merged.inputs.count) inputs, \(grouped(merged.visitorCount)) visitor summaries) → \(output)"
                )
                if let coverage { noteCountryCoverage(coverage, inputs: merged.inputs.count) }
            }
        }
    }
}

/// A country database as `veil merge --json` names it.
struct CountryDatabaseInfo: Encodable {
    var databaseType: String
    var buildEpoch: UInt64
    var buildDate: String

    init(_ d: CountryDatabase.Identity) {
        databaseType = d.databaseType
        buildEpoch = d.buildEpoch
        buildDate = d.buildDate
    }
}

/// Says when a state's country rows cover only part of its inputs (some were aggregated
/// without `--geoip`) or come from more than one database.
func noteCountryCoverage(_ c: AggregateState.CountryCoverage, inputs: Int) {
    if c.inputsWithoutDatabase > 0 {
        Terminal.note(
            "countries: \(c.inputsWithoutDatabase) of \(inputs) inputs had no country database (--geoip): their pageviews are in no country row"
        )
    }
    if c.databases.count > 1 {
        Terminal.note(
            "countries from \(c.databases.count) databases: \(c.databases.map(\.description).joined(separator: "; "))")
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

            With --dp-epsilon the release is differentially private instead: each visitor counts \
            in at most --dp-l0 rows of each table (by at most --dp-linf), every count gets exact \
            discrete Laplace noise, and a row is published only when its noisy count clears a \
            threshold set by epsilon and delta. Only the visitor tables are released (traffic_daily, \
            pages, entry_pages, referrers, browsers, operating_systems, devices; exit_pages, \
            web_campaigns, visit_durations and visit_pageviews with --dp-tables). Epsilon is \
            charged to every key epoch the states cover, in the ledger of the key store (--keys); \
            a release that would take an epoch over --dp-budget is refused. The same release \
            again gives the same files and is not charged again.

            Example: veil report week.veilstate -o rollups/ --k 20
            With DP: veil report day.veilstate -o dp/ --dp-epsilon 1 --keys /etc/veil/keys
                     veil report day.veilstate -o dp/ --dp-epsilon 0.5 --dp-tables traffic_daily,pages --dp-l0 3 --keys keys/
            """)

    @Argument(help: "State files (merged before publishing).")
    var states: [String]

    @Option(name: .shortAndLong, help: "Directory for the CSV rollups and manifest.json.")
    var output: String

    @Option(
        name: .long,
        help: "Publish a row only with at least this many distinct visitors (default 10; not with --dp-epsilon).")
    var k: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Release with differential privacy, spending this ε (a decimal, e.g. 1 or 0.5) per key epoch.",
            valueName: "epsilon"))
    var dpEpsilon: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "δ of the release: the chance allowed of publishing a row that one visitor alone made (default 1e-6).",
            valueName: "delta"))
    var dpDelta: Double?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Rows of each table one visitor may count in (1-\(ContributionStore.maxPartitions), default 5).",
            valueName: "n"))
    var dpL0: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Most one visitor adds to one row (1-\(ContributionStore.countCap), default 1: rows count visitors).",
            valueName: "n"))
    var dpLinf: Int?

    @Option(
        name: .long,
        help: ArgumentHelp("Most ε any key epoch may spend over all releases (default 1).", valueName: "epsilon"))
    var dpBudget: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Tables to release, comma-separated: \(DPTable.allCases.map(\.rawValue).joined(separator: ",")) (default \(DPTable.defaultTables.map(\.rawValue).joined(separator: ","))); ε and δ are split over them.",
            valueName: "list"))
    var dpTables: String?

    @Option(
        name: .long,
        help:
            "Key store of the states' pseudonyms (needed with --dp-epsilon: the noise key is derived from it and it holds the budget ledger)."
    )
    var keys: String?

    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard !states.isEmpty else { throw ValidationError("give at least one state file") }
        guard dpEpsilon != nil else {
            if let k, k < 2 { throw ValidationError("--k must be at least 2") }
            let dpOnly: [(String, Bool)] = [
                ("--dp-delta", dpDelta != nil), ("--dp-l0", dpL0 != nil), ("--dp-linf", dpLinf != nil),
                ("--dp-budget", dpBudget != nil), ("--dp-tables", dpTables != nil), ("--keys", keys != nil),
            ]
            if let flag = dpOnly.first(where: { $0.1 }) { throw ValidationError("\(flag.0) needs --dp-epsilon") }
            return
        }
        if k != nil {
            throw ValidationError("--k does not apply with --dp-epsilon: rows are selected by their noisy count")
        }
        guard keys != nil else {
            throw ValidationError(
                "--dp-epsilon needs --keys DIR: the key store the states were made with (noise key and budget ledger)")
        }
        do { _ = try dpParameters() } catch let e as VeilError { throw ValidationError(e.message) }
        _ = try budget()
    }

    /// The DP parameters from the flags.
    func dpParameters() throws -> DPParameters {
        guard let text = dpEpsilon, let epsilon = PrivacyAmount(text), epsilon.units > 0 else {
            throw ValidationError(
                "--dp-epsilon must be a decimal above 0 and at most \(PrivacyAmount.maximum) with at most 9 decimals (e.g. 1 or 0.5)"
            )
        }
        var p = DPParameters(epsilon: epsilon)
        if let dpDelta { p.delta = dpDelta }
        if let dpL0 { p.l0 = dpL0 }
        if let dpLinf { p.lInf = dpLinf }
        if let dpTables {
            p.tables = []
            for name in dpTables.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = name.trimmingCharacters(in: .whitespaces)
                guard let t = DPTable(rawValue: trimmed) else {
                    throw ValidationError(
                        "--dp-tables: unknown table '\(trimmed)' (choose from \(DPTable.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                p.tables.append(t)
            }
        }
        try p.validate()
        return p
    }

    func budget() throws -> PrivacyAmount {
        guard let text = dpBudget else { return PrivacyAmount(units: PrivacyAmount.unitsPerOne) }
        guard let b = PrivacyAmount(text), b.units > 0 else {
            throw ValidationError("--dp-budget must be a decimal above 0 with at most 9 decimals (e.g. 1 or 2.5)")
        }
        return b
    }

    func run() throws {
        let parameters = dpEpsilon == nil ? nil : try dpParameters()
        let budget = try budget()
        try Veil.guarded {
            let lock = try OutputLock(for: output)
            defer { withExtendedLifetime(lock) {} }
            var merged = try StateCodec.read(states[0])
            for path in states.dropFirst() { try merged.merge(try StateCodec.read(path)) }
            if let parameters, let keys {
                let store = try KeyStore.open(path: keys)
                let summary = try RollupWriter.writeDifferentiallyPrivate(
                    merged, to: output, parameters: parameters, keyStore: store, budget: budget)
                if out.json {
                    print(jsonString(DPReleaseSummary(summary, parameters: parameters)))
                } else if !out.quiet {
                    let rows = summary.tables.reduce(0) { $0 + $1.rows }
                    let tightest = summary.epochs.min { $0.remaining < $1.remaining }
                    Terminal.note(
                        "\(summary.tables.count) differentially private tables, \(grouped(rows)) rows → \(output)/ (ε = \(parameters.epsilon), δ = \(parameters.delta); release \(summary.releaseID)"
                            + (summary.charged ? "" : ", already in the ledger: not charged again")
                            + (tightest.map { "; budget left for \($0.epoch): \($0.remaining) of \(budget)" } ?? "")
                            + ")")
                }
                return
            }
            let k = self.k ?? 10
            var rc = ReleaseConfiguration()
            rc.k = k
            rc.threads = ProcessInfo.processInfo.activeProcessorCount
            let summary = try RollupWriter.write(merged, to: output, configuration: rc)
            keepUntilExit(merged)
            if out.json {
                print(jsonString(ReleaseSummary(summary, k: k)))
            } else if !out.quiet {
                let rows = summary.tables.reduce(0) { $0 + $1.rows }
                let suppressed = summary.tables.reduce(0) { $0 + $1.suppressed }
                Terminal.note(
                    "\(summary.tables.count) tables, \(grouped(rows)) rows (\(grouped(suppressed)) below k=\(k) suppressed) → \(output)/"
                )
                if let coverage = merged.countryCoverage { noteCountryCoverage(coverage, inputs: merged.inputs.count) }
            }
        }
    }
}

/// `veil report --dp-epsilon … --json`: no suppressed counts (they are not differentially private).
struct DPReleaseSummary: Encodable {
    struct Table: Encodable { var name: String; var rows: Int }
    struct Epoch: Encodable { var epoch: String; var spent: String; var remaining: String }
    var directory: String
    var releaseID: String
    var epsilon: String
    var delta: Double
    var l0: Int
    var linf: Int
    var budget: String
    var charged: Bool
    var tables: [Table]
    var epochs: [Epoch]

    init(_ s: RollupWriter.DPSummary, parameters p: DPParameters) {
        directory = s.directory
        releaseID = s.releaseID
        epsilon = p.epsilon.description
        delta = p.delta
        l0 = p.l0
        linf = p.lInf
        budget = s.budget.description
        charged = s.charged
        tables = s.tables.map { Table(name: $0.name, rows: $0.rows) }
        epochs = s.epochs.map {
            Epoch(epoch: $0.epoch, spent: $0.spent.description, remaining: $0.remaining.description)
        }
    }
}
