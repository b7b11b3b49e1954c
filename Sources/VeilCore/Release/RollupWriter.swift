import Foundation

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
        _ state: AggregateState, sealed: SealedSummaries? = nil, to directory: String, configuration: ReleaseConfiguration
    ) throws(VeilError) -> Summary {
        var release = try Release(state: state, configuration: configuration, sealed: sealed)
        let tables = try release.tables()
        if PersonalOutput.classification(of: directory) == "personal" {
            throw VeilError(.usage, "this is a personal-data directory (veil join output); anonymous rollups need their own", file: directory)
        }
        // The whole directory is replaced at once: readers see all old files or all new ones.
        let names = Set(tables.map(\.fileName) + ["manifest.json"])
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
        var tableInfo: [String: Any] = [:]
        for t in tables {
            tableInfo[t.name] = [
                "file": t.fileName,
                "columns": t.header,
                "rows": t.rows.count,
                "rows_suppressed": t.suppressed,
                "rows_folded_into_other": t.folded,
                "threshold_on": t.thresholdOn,
            ] as [String: Any]
        }
        let root: [String: Any] = [
            "schema_version": schemaVersion,
            "veil_version": veilVersion,
            "classification": "anonymous",
            "k": c.k,
            "differential_privacy": NSNull(),
            "time_zone": s.configuration.timeZone,
            "session_timeout_seconds": s.configuration.sessionTimeout,
            "key_epoch_granularity": s.configuration.epochGranularity,
            "key_epochs": s.epochs.sorted(),
            "records_out_of_range": s.outOfRange,
            "inputs": s.inputs.sorted().map {
                [
                    "fingerprint": $0.fingerprint, "name": $0.name, "bytes": $0.bytes, "lines": $0.lines,
                    "records": $0.records, "rejected": $0.rejected,
                ] as [String: Any]
            },
            "tables": tableInfo,
        ]
        let data = try! JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
