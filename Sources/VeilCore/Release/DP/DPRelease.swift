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
        if tables.contains(.webCampaigns),
            state.visitors.contains(where: { $0.visits.contains { $0.campaign == other } })
        {
            throw VeilError(
                .state,
                "the state folded web campaigns past the 10,000 it keeps apart into \(otherLabel); a differentially private release of web_campaigns needs every value kept apart (aggregate fewer days per state)"
            )
        }
        let byEntry = tables.contains(.entryPages), byExit = tables.contains(.exitPages)
        if byEntry || byExit,
            state.visitors.contains(where: {
                $0.visits.contains { (byEntry && $0.entry == other) || (byExit && $0.exit == other) }
            })
        {
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
            // A site's own referrer hosts are not referrals (`OwnReferrers`).
            let own = ct == .referrers ? OwnReferrers(state) : nil
            state.boundedContributions(ct, l0: m.l0, excluding: own.map { $0.contains(site:dim:) }) { c in
                sums[Partition(site: c.site, day: c.day, dim: c.dim), default: 0] += Int64(min(c.count, cap))
            }
        } else if let rankTable = m.table.visitRankTable {
            // Tables of visits: each visitor's visits by (start day, entry page, exit page, web
            // campaign or length range), the l0 partitions of smallest keyed rank kept.
            let scale = m.table.lengthScale
            for (j, key) in state.visitorKeys.enumerated() {
                var counts: [Partition: Int] = [:]
                state.visitors[j].forEachVisit { v in
                    guard let dim = Self.visitDimension(m.table, v) else { return }
                    let day = UInt32(truncatingIfNeeded: buckets.buckets(v.start).day)
                    counts[Partition(site: key.site, day: day, dim: dim), default: 0] += 1
                }
                var kept = Array(counts)
                if kept.count > m.l0 {
                    var keyed = kept.map { item in
                        let p = item.key
                        // A path's rank hashes its text, a range's its number.
                        let k =
                            scale == nil
                            ? state.contributionKey(key.pseudonym, rankTable, p.day, p.dim)
                            : AggregateState.ContributionKey(
                                rank: ContributionStore.rank(
                                    key.pseudonym, table: rankTable, day: p.day, dimHash: UInt64(p.dim) &+ 1),
                                day: p.day, dim: p.dim, hasDimension: false)
                        return (key: k, item: item)
                    }
                    keyed.sort { a, b in
                        // Ranges compare by number after rank and day; paths by text.
                        scale == nil || a.key.rank != b.key.rank || a.key.day != b.key.day
                            ? state.isLess(a.key, b.key) : a.key.dim < b.key.dim
                    }
                    kept = keyed.prefix(m.l0).map(\.item)
                }
                for (p, n) in kept { sums[p, default: 0] += Int64(min(n, cap)) }
            }
        }
        return sums
    }

    /// The partition value a visit counts under in a table of visits: its entry page, its exit
    /// page (nil when unknown: a visit read from a state older than exits), the web campaign its
    /// first pageview was tagged with (nil for none, and for a visit read from a state older
    /// than version 6), or the index of its length's range.
    static func visitDimension(_ table: DPTable, _ v: Visit) -> UInt32? {
        switch table {
        case .entryPages: return v.entry
        case .exitPages: return v.exit == Visit.unknownExit ? nil : v.exit
        case .webCampaigns: return v.campaign == Visit.noCampaign ? nil : v.campaign
        case .visitDurations: return UInt32(VisitLengthScale.duration.index(of: v.end - v.start))
        case .visitPageviews: return UInt32(VisitLengthScale.pageviews.index(of: Int64(v.pageviews)))
        default: return nil
        }
    }

    /// The label of a partition of `table`: a length range is named by its smallest and
    /// largest value (`11-30`; `1801-` for the open range).
    func label(_ p: Partition, _ table: DPTable) -> DPPartitionLabel {
        let value: String
        if table == .trafficDaily {
            value = ""
        } else if let scale = table.lengthScale {
            let range = Int(p.dim)
            value = "\(scale.lowerBound(of: range))-" + (scale.upperBound(of: range).map { String($0) } ?? "")
        } else {
            value = state.dims.string(p.dim)
        }
        return DPPartitionLabel(site: state.sites.string(p.site), date: ISOTime.date(days: Int64(p.day)), value: value)
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
            var rows: [(label: DPPartitionLabel, day: UInt32, dim: UInt32, value: Int64)] = []
            for (p, n) in boundedCounts(m) where n > 0 {
                let l = label(p, m.table)
                if let v = Self.noisyValue(n, mechanism: m, label: l, noiseKey: noiseKey, releaseID: releaseID) {
                    rows.append((l, p.day, p.dim, v))
                }
            }
            let scale = m.table.lengthScale
            rows.sort { a, b in
                if a.label.site != b.label.site {
                    return a.label.site.utf8.lexicographicallyPrecedes(b.label.site.utf8)
                }
                if a.day != b.day { return a.day < b.day }
                // A length table's rows in the order of its ranges, as without DP.
                if scale != nil { return a.dim < b.dim }
                if a.value != b.value { return a.value > b.value }
                return a.label.value.utf8.lexicographicallyPrecedes(b.label.value.utf8)
            }
            for r in rows {
                var row = [r.label.site, r.label.date]
                if let scale {
                    let range = Int(r.dim)
                    row += [String(scale.lowerBound(of: range)), scale.upperBound(of: range).map { String($0) } ?? ""]
                } else if m.table == .browsers {
                    // "chrome 120" → browser "chrome", version "120".
                    if let sp = r.label.value.lastIndex(of: " ") {
                        row += [String(r.label.value[..<sp]), String(r.label.value[r.label.value.index(after: sp)...])]
                    } else {
                        row += [r.label.value, ""]
                    }
                } else if m.table == .webCampaigns {
                    row += TableID.webCampaignColumns(r.label.value)
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
