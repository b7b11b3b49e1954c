import Foundation

/// The label of one row of a differentially private table: site, date and the partition's
/// value (empty for traffic).
public struct DPPartitionLabel: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var site: String
    public var date: String
    public var value: String

    public static func < (a: Self, b: Self) -> Bool {
        if a.site != b.site { return a.site.utf8.lexicographicallyPrecedes(b.site.utf8) }
        if a.date != b.date { return a.date < b.date }
        return a.value.utf8.lexicographicallyPrecedes(b.value.utf8)
    }

    public var description: String { "\(site) \(date) \(value)" }
}

/// Differentially private tables from a state: contribution bounding, discrete Laplace noise
/// and partition selection.
///
/// For each released table and each visitor (site + pseudonym), only the `l0` partitions of
/// smallest rank are counted (see ``ContributionStore``), each by at most `lInf` (for
/// `lInf = 1`: distinct visitors). Each partition with a positive bounded count gets its own
/// noise, from a ``NoiseStream`` seeded by `HMAC-SHA256(noise key, release id, table, site,
/// date, value)`, so the same release gives the same numbers and a second run adds nothing to
/// average. A row is published when its noisy value reaches the table's threshold; its value
/// is the noisy count. Nothing is folded into `(other)`: an `(other)` row would sum partitions
/// chosen by their own noisy counts.
public struct DPRelease {
    public let parameters: DPParameters
    /// One mechanism per released table, in table order.
    public let mechanisms: [DPTableMechanism]
    var state: AggregateState
    var buckets: TimeBuckets
    let granularity: EpochGranularity

    /// Partition key inside one state.
    struct Partition: Hashable {
        var site: UInt32
        var day: UInt32
        var dim: UInt32
    }

    /// - Throws: `VeilError(.usage)` for bad parameters; `VeilError(.state)` when the state
    ///   folded values past a cap into `(other)` (a visitor's new value would then move
    ///   another visitor's counts, which contribution bounding cannot limit), or was made
    ///   without contribution records (`AggregateState.omitsContributions`).
    public init(state: AggregateState, parameters: DPParameters) throws(VeilError) {
        try parameters.validate()
        guard !state.omitsContributions else {
            throw VeilError(
                .state,
                "the state was aggregated without the per-visitor records that bound what one visitor adds; a differentially private release needs them (aggregate with contribution records on)"
            )
        }
        self.state = state
        self.parameters = parameters
        buckets = try TimeBuckets(zoneIdentifier: state.configuration.timeZone)
        granularity = EpochGranularity(rawValue: state.configuration.epochGranularity) ?? .day
        let maxDays = DPTableMechanism.maxLocalDays(
            granularity: state.configuration.epochGranularity, timeZone: state.configuration.timeZone)
        mechanisms = parameters.orderedTables.map {
            DPTableMechanism(table: $0, parameters: parameters, maxDays: maxDays)
        }
        try checkNoCappedValues()
    }

    private func checkNoCappedValues() throws(VeilError) {
        if state.sites.intern(otherLabel, readOnly: true) != nil {
            throw VeilError(
                .state,
                "the state holds more sites than veil keeps apart (some were folded into \(otherLabel)); a differentially private release needs every site kept apart"
            )
        }
        guard let other = state.dims.intern(otherLabel, readOnly: true) else { return }
        let tables = Set(parameters.tables)
        for t in [ContributionTable.pages, .referrers] where tables.contains(t == .pages ? .pages : .referrers) {
            for v in 0..<state.contributions.visitorKeys.count
            where state.contributions.records(v, t.rawValue).contains(where: { $0.dim == other }) {
                throw VeilError(
                    .state,
                    "the state folded \(t == .pages ? "paths past --max-paths" : "referrer hosts past the referrer cap") into \(otherLabel); a differentially private release needs every value kept apart (aggregate again with a larger cap)"
                )
            }
        }
        if tables.contains(.entryPages), state.visitors.contains(where: { $0.visits.contains { $0.entry == other } }) {
            throw VeilError(
                .state,
                "the state folded paths past --max-paths into \(otherLabel); a differentially private release needs every value kept apart (aggregate again with a larger --max-paths)"
            )
        }
    }

    // MARK: Bounding

    /// The bounded counts (before noise) of one table, by partition.
    mutating func boundedCounts(_ m: DPTableMechanism) -> [Partition: Int64] {
        var sums: [Partition: Int64] = [:]
        let cap = m.lInf
        if let ct = m.table.contributionTable {
            state.boundedContributions(ct, l0: m.l0) { c in
                sums[Partition(site: c.site, day: c.day, dim: c.dim), default: 0] += Int64(min(c.count, cap))
            }
        } else {
            // Entry pages: each visitor's visits by (start day, entry page).
            let entryTable = ContributionStore.tableCount
            for (j, key) in state.visitorKeys.enumerated() {
                var counts: [Partition: Int] = [:]
                state.visitors[j].forEachVisit { v in
                    let day = UInt32(truncatingIfNeeded: buckets.buckets(v.start).day)
                    counts[Partition(site: key.site, day: day, dim: v.entry), default: 0] += 1
                }
                var kept = Array(counts)
                if kept.count > m.l0 {
                    var keyed = kept.map {
                        (key: state.contributionKey(key.pseudonym, entryTable, $0.key.day, $0.key.dim), item: $0)
                    }
                    keyed.sort { state.isLess($0.key, $1.key) }
                    kept = keyed.prefix(m.l0).map(\.item)
                }
                for (p, n) in kept { sums[p, default: 0] += Int64(min(n, cap)) }
            }
        }
        return sums
    }

    /// The label of a partition of `table`.
    func label(_ p: Partition, _ table: DPTable) -> DPPartitionLabel {
        DPPartitionLabel(
            site: state.sites.string(p.site), date: ISOTime.date(days: Int64(p.day)),
            value: table == .trafficDaily ? "" : state.dims.string(p.dim))
    }

    /// Bounded counts (before noise) of every released table, by partition label: what one
    /// visitor can change by at most `l0` rows of `lInf` each.
    public mutating func boundedCountsByLabel() -> [DPTable: [DPPartitionLabel: Int64]] {
        var out: [DPTable: [DPPartitionLabel: Int64]] = [:]
        for m in mechanisms {
            var table: [DPPartitionLabel: Int64] = [:]
            for (p, n) in boundedCounts(m) { table[label(p, m.table)] = n }
            out[m.table] = table
        }
        return out
    }

    // MARK: Noise

    /// The message whose HMAC seeds a partition's noise: domain, release id, table, site,
    /// date and value, each length-prefixed.
    static func seedMessage(releaseID: String, table: DPTable, label: DPPartitionLabel) -> [UInt8] {
        ["veil/v1/dp-noise", releaseID, table.rawValue, label.site, label.date, label.value]
            .flatMap { DPKeys.lengthPrefixed(Array($0.utf8)) }
    }

    /// The published value of a partition with bounded count `value`, or nil when its noisy
    /// value stays below the threshold.
    public static func noisyValue(
        _ value: Int64, mechanism m: DPTableMechanism, label: DPPartitionLabel, noiseKey: DPNoiseKey, releaseID: String
    ) -> Int64? {
        let rng = NoiseStream(key: noiseKey, message: seedMessage(releaseID: releaseID, table: m.table, label: label))
        let noisy =
            value + DiscreteLaplace.sample(scaleNumerator: m.scaleNumerator, scaleDenominator: m.scaleDenominator, rng)
        return noisy >= m.threshold ? max(0, noisy) : nil
    }

    // MARK: Tables

    /// The name of the value column: `visitors` (or `visitors_sum_of_hourly` under hourly keys)
    /// for `lInf = 1`, else `capped_pageviews` / `capped_visits`.
    func valueColumn(_ table: DPTable) -> String {
        if parameters.lInf == 1 {
            return granularity.covers(.day) ? "visitors" : "visitors_sum_of_\(granularity.adjective)"
        }
        return "capped_" + table.eventName
    }

    /// The published tables, in the fixed table order; rows sorted by site, date, value
    /// (descending) and label.
    public mutating func tables(noiseKey: DPNoiseKey, releaseID: String) -> [ReleasedTable] {
        var out: [ReleasedTable] = []
        for m in mechanisms {
            let column = valueColumn(m.table)
            var t = ReleasedTable(
                name: m.table.rawValue, header: ["site", "date"] + m.table.labelColumns + [column], rows: [],
                thresholdOn: "noisy_" + column)
            var rows: [(label: DPPartitionLabel, day: UInt32, value: Int64)] = []
            for (p, n) in boundedCounts(m) where n > 0 {
                let l = label(p, m.table)
                if let v = Self.noisyValue(n, mechanism: m, label: l, noiseKey: noiseKey, releaseID: releaseID) {
                    rows.append((l, p.day, v))
                }
            }
            rows.sort { a, b in
                if a.label.site != b.label.site {
                    return a.label.site.utf8.lexicographicallyPrecedes(b.label.site.utf8)
                }
                if a.day != b.day { return a.day < b.day }
                if a.value != b.value { return a.value > b.value }
                return a.label.value.utf8.lexicographicallyPrecedes(b.label.value.utf8)
            }
            for r in rows {
                var row = [r.label.site, r.label.date]
                if m.table == .browsers {
                    // "chrome 120" → browser "chrome", version "120".
                    if let sp = r.label.value.lastIndex(of: " ") {
                        row += [String(r.label.value[..<sp]), String(r.label.value[r.label.value.index(after: sp)...])]
                    } else {
                        row += [r.label.value, ""]
                    }
                } else if m.table != .trafficDaily {
                    row.append(r.label.value)
                }
                row.append(String(r.value))
                t.rows.append(row)
            }
            out.append(t)
        }
        return out
    }
}
