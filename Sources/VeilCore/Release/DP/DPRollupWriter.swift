import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension RollupWriter {
    /// Summary of a written differentially private release.
    public struct DPSummary: Sendable {
        public var directory: String
        public var releaseID: String
        public var tables: [(name: String, rows: Int)]
        /// False when the ledger already held this release (re-run: nothing new spent).
        public var charged: Bool
        public var budget: PrivacyAmount
        /// Per key epoch: ε spent including this release, and what is left.
        public var epochs: [(epoch: String, spent: PrivacyAmount, remaining: PrivacyAmount)]
    }

    /// Writes a differentially private release of `state` into `directory`.
    ///
    /// In order: checks the parameters and the key store; derives the noise key and the
    /// release id; checks the budget and the output directory (failing before any work);
    /// computes the tables; charges the ledger (written and fsynced before any CSV); then
    /// replaces the output directory whole with the CSV files and `manifest.json`
    /// (`AtomicDirectory`). When the budget would be exceeded nothing is written. The same state
    /// and parameters give byte-identical files and are charged once.
    ///
    /// - Parameters:
    ///   - keyStore: the store whose keys made the state's pseudonyms; it holds the ledger.
    ///   - budget: the most ε any key epoch may spend over all releases.
    ///   - now: the time recorded in the ledger (default: the clock).
    /// - Throws: `VeilError(.usage)` for bad parameters, `.key` for missing keys or a damaged
    ///   ledger, `.state` for a state DP cannot release, `.privacyBudget` when over budget.
    public static func writeDifferentiallyPrivate(
        _ state: AggregateState, to directory: String, parameters: DPParameters, keyStore: KeyStore,
        budget: PrivacyAmount, now: Int64? = nil
    ) throws(VeilError) -> DPSummary {
        try parameters.validate()
        guard budget.units > 0 else { throw VeilError(.usage, "--dp-budget must be above 0") }
        try keyStore.checkNotInside(directory)
        var release = try DPRelease(state: state, parameters: parameters)
        let noiseKey = try DPKeys.noiseKey(epochs: state.epochs, keyStore: keyStore)
        let releaseID = DPKeys.releaseID(state: state, parameters: parameters, noiseKey: noiseKey)
        let entry = PrivacyLedger.Entry(
            releaseID: releaseID, time: now ?? Int64(Date().timeIntervalSince1970), epochs: Array(state.epochs),
            epsilon: parameters.epsilon, delta: parameters.delta, l0: parameters.l0, lInf: parameters.lInf,
            tables: parameters.orderedTables.map(\.rawValue))
        let ledger = PrivacyLedger(keyStore: keyStore)
        try ledger.check(entry, budget: budget)
        try checkOutputDirectory(directory)

        let tables = release.tables(noiseKey: noiseKey, releaseID: releaseID)
        let manifestText = dpManifest(state, tables, release, releaseID: releaseID)

        let charge = try ledger.charge(entry, budget: budget)
        // The whole directory is replaced at once (an earlier release's other tables go too).
        try AtomicDirectory.replace(directory, owned: { rollupFileNames.contains($0) }) { (tmp) throws(VeilError) in
            for t in tables {
                var csv = CSVWriter(header: t.header)
                for row in t.rows { csv.append(row) }
                try AtomicFile.writeUnpublished(csv.text, to: tmp + "/" + t.fileName)
            }
            try AtomicFile.writeUnpublished(manifestText, to: tmp + "/manifest.json")
        }
        return DPSummary(
            directory: directory, releaseID: releaseID, tables: tables.map { ($0.name, $0.rows.count) },
            charged: charge.charged, budget: budget, epochs: charge.epochs)
    }

    /// Every file name a rollup directory can hold: a DP release may replace a directory of an
    /// earlier release (DP or not), never one holding other files.
    static let rollupFileNames: Set<String> = Set(
        DPTable.allCases.map { $0.rawValue + ".csv" } + DPTable.notReleased.map { $0.name + ".csv" } + ["manifest.json"]
    )

    /// What `AtomicDirectory.replace` would refuse, checked before the ledger is charged: a
    /// symbolic link, a file, a personal-data directory, or files veil did not write.
    static func checkOutputDirectory(_ directory: String) throws(VeilError) {
        if PersonalOutput.classification(of: directory) == "personal" {
            throw VeilError(
                .usage, "this is a personal-data directory (veil join output); anonymous rollups need their own",
                file: directory)
        }
        try AtomicDirectory.checkReplaceable(directory, owned: { rollupFileNames.contains($0) })
    }

    /// `manifest.json` of a DP release. Only what is public or differentially private: no input
    /// fingerprints or line counts, no suppressed-row counts (exact functions of the data).
    static func dpManifest(_ s: AggregateState, _ tables: [ReleasedTable], _ release: DPRelease, releaseID: String)
        -> String
    {
        let p = release.parameters
        var tableInfo: [String: Any] = [:]
        var mechanismInfo: [String: Any] = [:]
        for (t, m) in zip(tables, release.mechanisms) {
            tableInfo[t.name] =
                [
                    "file": t.fileName,
                    "columns": t.header,
                    "rows": t.rows.count,
                    "rows_suppressed": NSNull(),
                    "rows_folded_into_other": NSNull(),
                    "threshold_on": t.thresholdOn,
                ] as [String: Any]
            mechanismInfo[t.name] =
                [
                    "epsilon": m.epsilon,
                    "delta": m.delta,
                    "l0": m.l0,
                    "linf": m.lInf,
                    "noise_scale": m.scale,
                    "noise_scale_fraction": "\(m.scaleNumerator)/\(m.scaleDenominator)",
                    "noise_variance": m.noiseVariance,
                    "noise_standard_deviation": m.noiseVariance.squareRoot(),
                    "partition_delta": m.partitionDelta,
                    "threshold": m.threshold,
                    "value_column": t.header.last ?? "",
                ] as [String: Any]
        }
        var notReleased: [String: String] = [:]
        for (name, reason) in DPTable.notReleased { notReleased[name] = reason }
        for t in DPTable.allCases where !p.tables.contains(t) { notReleased[t.rawValue] = "not selected (--dp-tables)" }
        let dp: [String: Any] = [
            "mechanism": "discrete_laplace",
            "sampler":
                "exact, integer arithmetic only (Canonne, Kamath, Steinke 2020, algorithms 1 and 2); ChaCha20 keystream seeded by HMAC-SHA256(noise key, release id, table, site, date, value)",
            "partition_selection": "laplace_thresholding",
            "privacy_unit": "one visitor (keyed pseudonym) within one key epoch",
            "epsilon": p.epsilon.doubleValue,
            "epsilon_exact": p.epsilon.description,
            "delta": p.delta,
            "l0": p.l0,
            "linf": p.lInf,
            "budget_split": "epsilon and delta are split evenly over the released tables",
            "contribution_bounding":
                "per visitor and table, the l0 partitions of smallest keyed rank, each counted at most linf times",
            "other_row": "none: rows below the threshold are dropped, not folded into (other)",
            "tables": mechanismInfo,
            "tables_not_released": notReleased,
            "release_id": releaseID,
            "ledger_entry": releaseID,
        ]
        let root: [String: Any] = [
            "schema_version": schemaVersion,
            "veil_version": veilVersion,
            "classification": "anonymous",
            "k": NSNull(),
            "differential_privacy": dp,
            "time_zone": s.configuration.timeZone,
            "session_timeout_seconds": s.configuration.sessionTimeout,
            "key_epoch_granularity": s.configuration.epochGranularity,
            "key_epochs": s.epochs.sorted(),
            "records_out_of_range": NSNull(),
            "inputs": NSNull(),
            "tables": tableInfo,
        ]
        // Safe: only strings, numbers, null, arrays and dictionaries.
        let data = try! JSONSerialization.data(
            withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
