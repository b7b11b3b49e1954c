import Foundation

/// An exact, non-negative amount of privacy loss (ε, a budget): a decimal with at most nine
/// fractional digits, kept as an integer count of 10⁻⁹, so budgets add up without rounding.
public struct PrivacyAmount: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Units per 1.
    public static let unitsPerOne: Int64 = 1_000_000_000
    /// The largest amount veil accepts (ε above this protects nothing anyway).
    public static let maximum = PrivacyAmount(units: 1_000 * unitsPerOne)

    /// The amount in units of 10⁻⁹.
    public var units: Int64

    public init(units: Int64) {
        precondition(units >= 0)
        self.units = units
    }

    /// Parses `1`, `0.5`, `.25`, `2.000000001`: digits with an optional decimal point and at
    /// most nine fractional digits. Nil for anything else (signs, exponents, more digits) or an
    /// amount above ``maximum``.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !text.isEmpty, text != ".", parts.count <= 2 else { return nil }
        let whole = parts[0], fraction = parts.count == 2 ? parts[1] : ""
        guard whole.count <= 4, fraction.count <= 9,
            whole.allSatisfy({ $0 >= "0" && $0 <= "9" }), fraction.allSatisfy({ $0 >= "0" && $0 <= "9" })
        else { return nil }
        var units = (Int64(whole) ?? 0) * Self.unitsPerOne
        var scale = Self.unitsPerOne / 10
        for c in fraction {
            units += Int64(c.asciiValue! - 48) * scale  // Safe: checked to be a digit above.
            scale /= 10
        }
        guard units <= Self.maximum.units else { return nil }
        self.units = units
    }

    /// `0.5`, `1`, `0.000000001`: the shortest exact decimal.
    public var description: String {
        let whole = units / Self.unitsPerOne, fraction = units % Self.unitsPerOne
        guard fraction != 0 else { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 9 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    public var doubleValue: Double { Double(units) / Double(Self.unitsPerOne) }

    public static func < (a: Self, b: Self) -> Bool { a.units < b.units }
    public static func + (a: Self, b: Self) -> Self { PrivacyAmount(units: a.units + b.units) }
    public static func - (a: Self, b: Self) -> Self { PrivacyAmount(units: max(0, a.units - b.units)) }
}

/// The tables a differentially private release can publish: the visitor-count tables.
public enum DPTable: String, CaseIterable, Sendable, Comparable {
    case trafficDaily = "traffic_daily"
    case pages
    case entryPages = "entry_pages"
    case exitPages = "exit_pages"
    case referrers
    case webCampaigns = "web_campaigns"
    case browsers
    case operatingSystems = "operating_systems"
    case devices
    case visitDurations = "visit_durations"
    case visitPageviews = "visit_pageviews"

    /// The tables a release publishes unless `--dp-tables` says otherwise: the pageview tables
    /// and entry pages. Exit pages, web campaigns and the visit length tables are released on
    /// request (each table released takes its share of ε).
    public static let defaultTables: [DPTable] = [
        .trafficDaily, .pages, .entryPages, .referrers, .browsers, .operatingSystems, .devices,
    ]

    /// The contribution records that feed the table (nil for the tables of visits: the visit
    /// summaries do).
    var contributionTable: ContributionTable? {
        switch self {
        case .trafficDaily: .trafficDay
        case .pages: .pages
        case .entryPages, .exitPages, .webCampaigns, .visitDurations, .visitPageviews: nil
        case .referrers: .referrers
        case .browsers: .browsers
        case .operatingSystems: .operatingSystems
        case .devices: .devices
        }
    }

    /// For a table of visits, the table number its partitions are ranked under
    /// (`ContributionStore.rank`): after the contribution tables, entry pages first.
    var visitRankTable: Int? {
        switch self {
        case .entryPages: ContributionStore.tableCount
        case .exitPages: ContributionStore.tableCount + 1
        case .visitDurations: ContributionStore.tableCount + 2
        case .visitPageviews: ContributionStore.tableCount + 3
        case .webCampaigns: ContributionStore.tableCount + 4
        default: nil
        }
    }

    /// The scale of a visit length table.
    var lengthScale: VisitLengthScale? {
        switch self {
        case .visitDurations: .duration
        case .visitPageviews: .pageviews
        default: nil
        }
    }

    /// The columns naming a row's partition after site and date.
    var labelColumns: [String] {
        switch self {
        case .trafficDaily: []
        case .pages, .entryPages, .exitPages: ["path"]
        case .referrers: ["referrer_host"]
        case .webCampaigns: ["source", "medium", "campaign"]
        case .browsers: ["browser", "version"]
        case .operatingSystems: ["os"]
        case .devices: ["device"]
        case .visitDurations: ["min_seconds", "max_seconds"]
        case .visitPageviews: ["min_pageviews", "max_pageviews"]
        }
    }

    /// What one visitor adds to a row, before capping at L∞.
    var eventName: String { contributionTable == nil ? "visits" : "pageviews" }

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!  // Safe: every case is in allCases.
    }

    /// Tables veil publishes without differential privacy only, and why.
    public static let notReleased: [(name: String, reason: String)] = [
        ("traffic_hourly", "not covered by contribution bounding; not released under differential privacy"),
        (
            "traffic_weekly",
            "not released under differential privacy (sum the daily rows: post-processing costs no budget)"
        ),
        (
            "traffic_monthly",
            "not released under differential privacy (sum the daily rows: post-processing costs no budget)"
        ),
        ("not_found", "counts bots and requests, not visitors; not released under differential privacy"),
        ("status_codes", "counts bots and requests, not visitors; not released under differential privacy"),
        ("bots", "counts bots and requests, not visitors; not released under differential privacy"),
        ("countries", "not covered by contribution bounding; not released under differential privacy"),
        (
            "response_times",
            "serving times are not covered by contribution bounding; not released under differential privacy"
        ),
        (
            "page_response_times",
            "serving times are not covered by contribution bounding; not released under differential privacy"
        ),
        ("campaigns", "e-mail recipients are not bounded; not released under differential privacy"),
        ("campaign_links", "e-mail recipients are not bounded; not released under differential privacy"),
    ]
}

/// Settings of a differentially private release.
///
/// ε and δ are the totals of the release for one privacy unit (one visitor pseudonym, that is
/// one visitor within one key epoch); they are split evenly over the released tables. Each
/// visitor counts in at most `l0` rows of each table (`l0` partitions per table), by at most
/// `lInf` each.
public struct DPParameters: Sendable, Equatable {
    public var epsilon: PrivacyAmount
    public var delta: Double = 1e-6
    public var l0 = 5
    public var lInf = 1
    /// The tables to release, in any order (written in the fixed table order).
    public var tables: [DPTable] = DPTable.defaultTables

    public init(epsilon: PrivacyAmount) {
        self.epsilon = epsilon
    }

    /// - Throws: `VeilError(.usage)` naming the bad value.
    public func validate() throws(VeilError) {
        guard epsilon.units > 0 else { throw VeilError(.usage, "--dp-epsilon must be above 0") }
        guard delta.isFinite, delta > 0, delta < 1 else {
            throw VeilError(.usage, "--dp-delta must be above 0 and below 1 (e.g. 1e-6)")
        }
        guard l0 >= 1, l0 <= ContributionStore.maxPartitions else {
            throw VeilError(
                .usage,
                "--dp-l0 must be between 1 and \(ContributionStore.maxPartitions) (the partitions a state keeps per visitor)"
            )
        }
        guard lInf >= 1, lInf <= ContributionStore.countCap else {
            throw VeilError(.usage, "--dp-linf must be between 1 and \(ContributionStore.countCap)")
        }
        guard !tables.isEmpty, Set(tables).count == tables.count else {
            throw VeilError(.usage, "--dp-tables must name each table at most once, and at least one")
        }
    }

    /// The released tables in the fixed order.
    var orderedTables: [DPTable] { tables.sorted() }

    /// The canonical text of these parameters (part of the release id).
    var canonical: String {
        "mechanism=discrete_laplace;epsilon=\(epsilon);delta=\(delta);l0=\(l0);linf=\(lInf);tables=\(orderedTables.map(\.rawValue).joined(separator: ","))"
    }
}

/// The noise and threshold of one released table.
public struct DPTableMechanism: Sendable, Equatable {
    public let table: DPTable
    /// This table's share of ε, exactly: `epsilonUnits / 10⁹ / tableCount`.
    public let epsilon: Double
    /// This table's share of δ.
    public let delta: Double
    /// Partitions per visitor in this table (traffic_daily: at most the local days one key
    /// epoch can touch, whatever `--dp-l0` says).
    public let l0: Int
    public let lInf: Int
    /// The discrete Laplace scale `l0 · lInf / ε` as a fraction.
    public let scaleNumerator: UInt64
    public let scaleDenominator: UInt64
    /// The probability that a partition with one visitor passes the threshold is at most this
    /// (`1 − (1 − δ)^(1/l0)`).
    public let partitionDelta: Double
    /// A row is published when its noisy value is at least this.
    public let threshold: Int64

    /// `scaleNumerator / scaleDenominator`.
    public var scale: Double { Double(scaleNumerator) / Double(scaleDenominator) }
    /// The exact variance of the noise, `2q/(1−q)²` with `q = exp(−1/scale)`.
    public var noiseVariance: Double { DiscreteLaplaceMath.variance(scale: scale) }

    /// - Parameter maxDays: the most local days one key epoch can touch (bounds traffic_daily).
    init(table: DPTable, parameters p: DPParameters, maxDays: Int) {
        self.table = table
        let n = Int64(p.tables.count)
        l0 = table == .trafficDaily ? min(p.l0, maxDays) : p.l0
        lInf = p.lInf
        epsilon = p.epsilon.doubleValue / Double(n)
        delta = p.delta / Double(n)
        // scale = l0 · lInf / (units / (10⁹ · n)) = l0 · lInf · 10⁹ · n / units.
        var num = UInt64(l0) * UInt64(lInf) * UInt64(PrivacyAmount.unitsPerOne) * UInt64(n)
        var den = UInt64(p.epsilon.units)
        let g = Self.gcd(num, den)
        num /= g
        den /= g
        scaleNumerator = num
        scaleDenominator = den
        partitionDelta = -expm1(log1p(-delta) / Double(l0))
        threshold = Self.threshold(scale: Double(num) / Double(den), lInf: lInf, partitionDelta: partitionDelta)
    }

    /// The smallest integer τ such that a partition whose only visitor adds at most `lInf` is
    /// published with probability at most `partitionDelta`: τ = lInf + k with k ≥ 1 the least
    /// integer where `P(Z ≥ k) = q^k / (1 + q) ≤ partitionDelta`, `q = exp(−1/scale)`.
    ///
    /// This is the threshold of Laplace partition selection (Google's differential-privacy
    /// library: `1 + (l0/ε)·ln(1/(2δ'))`), computed for the discrete tail, whose factor
    /// `1/(1+q)` is above the continuous `1/2`, and for contributions up to `lInf`. Floating
    /// point is used here, once, on public parameters — never in the sampler; a margin makes
    /// any rounding err on the side of a higher threshold.
    public static func threshold(scale t: Double, lInf: Int, partitionDelta: Double) -> Int64 {
        let q = exp(-1 / t)
        let target = log(partitionDelta)  // need −k/t − ln(1+q) ≤ ln δ'
        var k = max(1, Int64(((-target - log1p(q)) * t).rounded(.up)))
        while -Double(k) / t - log1p(q) > target - 1e-12 { k += 1 }
        return Int64(lInf) + k
    }

    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// The most local days that the records of one key epoch can fall on.
    static func maxLocalDays(granularity: String, timeZone: String) -> Int {
        let utc = timeZone == "UTC"
        switch EpochGranularity(rawValue: granularity) ?? .month {
        case .hour, .day: return utc ? 1 : 2
        case .week: return utc ? 7 : 8
        case .month: return utc ? 31 : 32
        }
    }
}

/// Floating-point formulas of the discrete Laplace distribution with scale `t`
/// (`P(Z = z) = (1 − q)/(1 + q) · q^|z|`, `q = exp(−1/t)`), for thresholds, manifests and
/// tests. The sampler (``DiscreteLaplace``) never uses them.
public enum DiscreteLaplaceMath {
    /// The exact probability mass of discrete Laplace with scale `t` at `z` (for tests and
    /// documentation; floating point, never used to sample).
    public static func probability(_ z: Int64, scale t: Double) -> Double {
        let q = exp(-1 / t)
        return (1 - q) / (1 + q) * pow(q, Double(z.magnitude))
    }

    /// The variance `2q / (1 − q)²`, `q = exp(−1/t)`.
    public static func variance(scale t: Double) -> Double {
        let q = exp(-1 / t)
        return 2 * q / ((1 - q) * (1 - q))
    }

    /// `P(Z ≥ k) = q^k / (1 + q)` for `k ≥ 1`.
    public static func upperTail(_ k: Int64, scale t: Double) -> Double {
        precondition(k >= 1)
        let q = exp(-1 / t)
        return pow(q, Double(k)) / (1 + q)
    }
}
