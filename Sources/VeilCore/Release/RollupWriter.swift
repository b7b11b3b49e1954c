/// veil's version, written into manifests.
public let veilVersion = "0.1.0"

/// Writes a release: one CSV per table and `manifest.json`, each file atomically.
public enum RollupWriter {
    /// The manifest's schema version.
    public static let schemaVersion = 1

    /// Summary of a written release.
    public struct Summary: Sendable {
        public var directory: String
        public var tables: [(name: String, rows: Int, suppressed: Int)]
        /// Visit summaries the release read: distinct (site, visitor pseudonym) pairs.
        public var visitorSummaries: Int
    }

    /// Releases `state` (with the summaries in `sealed`, if any) into `directory` (created if
    /// missing).
    public static func write(
        _ state: AggregateState, sealed: SealedSummaries? = nil, to directory: String,
        configuration: ReleaseConfiguration
    ) throws(VeilError) -> Summary {
        var release = try Release(state: state, configuration: configuration, sealed: sealed)
        let tables = try release.tables()
        if PersonalOutput.classification(of: directory) == "personal" {
            throw VeilError(
                .usage, "this is a personal-data directory (veil join output); anonymous rollups need their own",
                file: directory)
        }
        // The whole directory is replaced at once: readers see all old files or all new ones.
        // Any rollup veil writes may be replaced (a table this release leaves out, such as
        // `countries.csv` without a country database, included).
        let names = Set(tables.map(\.fileName) + ["manifest.json"]).union(rollupFileNames)
        let manifestText = manifest(state, tables, configuration)
        try AtomicDirectory.replace(directory, owned: { names.contains($0) }) { (tmp) throws(VeilError) in
            for t in tables {
                var csv = CSVWriter(header: t.header)
                for row in t.rows { csv.append(row) }
                try AtomicFile.writeUnpublished(csv.text, to: tmp + "/" + t.fileName)
            }
            try AtomicFile.writeUnpublished(manifestText, to: tmp + "/manifest.json")
        }
        return Summary(
            directory: directory, tables: tables.map { ($0.name, $0.rows.count, $0.suppressed) },
            visitorSummaries: release.visitorSummaries)
    }

    /// `manifest.json`: what the release is, how it was thresholded, what it covers. Keys are
    /// sorted, so the same state gives the same bytes.
    static func manifest(_ s: AggregateState, _ tables: [ReleasedTable], _ c: ReleaseConfiguration) -> String {
        manifestValue(s, tables, c).text + "\n"
    }

    /// The members of `manifest.json`.
    static func manifestValue(_ s: AggregateState, _ tables: [ReleasedTable], _ c: ReleaseConfiguration) -> JSONValue {
        // Which database placed each input's pageviews, said whenever the state counted
        // countries for any of them: an input with none named has no pageview in a country row.
        let coverage = s.countryCoverage
        var tableInfo: [String: JSONValue] = [:]
        for t in tables {
            var info: [String: JSONValue] = [
                "file": .string(t.fileName),
                "columns": .strings(t.header),
                "rows": .int(t.rows.count),
                "rows_suppressed": .int(t.suppressed),
                "rows_folded_into_other": .int(t.folded),
                "threshold_on": .string(t.thresholdOn),
            ]
            if t.name == "countries", let coverage {
                info["inputs_without_country_database"] = .int(coverage.inputsWithoutDatabase)
            }
            tableInfo[t.name] = .object(info)
        }
        func input(_ i: InputRecord) -> JSONValue {
            var members: [String: JSONValue] = [
                "fingerprint": .string(i.fingerprint), "name": .string(i.name), "bytes": .int(i.bytes),
                "lines": .int(i.lines), "records": .int(i.records), "rejected": .int(i.rejected),
            ]
            if coverage != nil {
                members["country_database"] =
                    i.countryDatabase.map {
                        .object([
                            "database_type": .string($0.databaseType),
                            "build_epoch": .int(Int64(clamping: $0.buildEpoch)),
                            "build_date": .string($0.buildDate),
                        ])
                    } ?? .null
            }
            return .object(members)
        }
        return .object([
            "schema_version": .int(schemaVersion),
            "veil_version": .string(veilVersion),
            "classification": .string("anonymous"),
            "k": .int(c.k),
            "differential_privacy": .null,
            "time_zone": .string(s.configuration.timeZone),
            "session_timeout_seconds": .int(s.configuration.sessionTimeout),
            "key_epoch_granularity": .string(s.configuration.epochGranularity),
            "key_epochs": .strings(s.epochs.sorted()),
            "records_out_of_range": .int(s.outOfRange),
            "inputs": .array(s.inputs.sorted().map(input)),
            "tables": .object(tableInfo),
        ])
    }
}
