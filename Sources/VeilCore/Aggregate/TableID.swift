/// The aggregation tables kept in a state. Each cell of a table is keyed by site, time bucket
/// and (for all but traffic) one dimension value.
public enum TableID: UInt8, CaseIterable, Sendable, Comparable {
    /// Per site and hour: every record.
    case trafficHour = 0
    /// Per site and day: every record.
    case trafficDay = 1
    /// Per site, day and redacted path: pageviews.
    case pages = 2
    /// Per site, day and redacted path: requests answered 404 or 410.
    case notFound = 3
    /// Per site, day and referrer host: pageviews with a referrer.
    case referrers = 4
    /// Per site, day and browser family + major version: pageviews.
    case browsers = 5
    /// Per site, day and operating-system family: pageviews.
    case operatingSystems = 6
    /// Per site, day and device class: pageviews.
    case devices = 7
    /// Per site, day and status code: every record.
    case statusCodes = 8
    /// Per site, day and web campaign (`utm_source`, `utm_medium`, `utm_campaign`): pageviews
    /// whose target carries campaign tags.
    case webCampaigns = 9
    /// Per site, day and bot name (`BotName`): requests from bots.
    case bots = 10
    /// Per site, day and country (ISO 3166-1 alpha-2 code, or `(unknown)`) of the client
    /// address, from a country database (`AggregationConfiguration.countries`): pageviews.
    case countries = 11

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// What separates the source, medium and campaign in a web campaign's dimension label.
    static let webCampaignSeparator: Character = "\t"

    /// A web campaign's dimension label as its three columns: source, medium, campaign
    /// (`(none)` for a part the label lacks).
    static func webCampaignColumns(_ label: String) -> [String] {
        var parts = label.split(separator: webCampaignSeparator, maxSplits: 2, omittingEmptySubsequences: false)
            .map(String.init)
        while parts.count < 3 { parts.append("(none)") }
        return parts
    }

    /// Tables whose rows include bots: their k-threshold counts distinct clients (any agent),
    /// not just visitors.
    public var countsAllClients: Bool {
        switch self {
        case .trafficHour, .trafficDay, .notFound, .statusCodes, .bots: true
        default: false
        }
    }
}

/// Counters and sketches of one table cell.
public struct Cell: Sendable, Equatable {
    public var requests: Int64 = 0
    public var pageviews: Int64 = 0
    public var bytes: Int64 = 0
    /// Responses by status class: index 0 = 1xx ... 4 = 5xx.
    public var statusClasses: (Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0)
    /// `statusClasses` as a list, 1xx first (the `status_1xx` ... `status_5xx` columns).
    public var statusClassCounts: [Int64] {
        [statusClasses.0, statusClasses.1, statusClasses.2, statusClasses.3, statusClasses.4]
    }
    public var botRequests: Int64 = 0
    /// Distinct non-bot, non-proxy visitors (keyed pseudonyms).
    public var visitors = HyperLogLog()
    /// Distinct clients that are not visitors (bots, mail proxies); kept only for tables where
    /// `countsAllClients`. All clients = `visitors ∪ clients` (see `allClients`).
    public var clients = HyperLogLog()
    /// How long the cell's requests took to serve, for inputs whose format logs it (traffic
    /// cells: every request; page cells: pageviews). Empty otherwise.
    public var durations = DurationHistogram()

    public init() {}

    public static func == (a: Cell, b: Cell) -> Bool {
        a.requests == b.requests && a.pageviews == b.pageviews && a.bytes == b.bytes
            && a.statusClasses == b.statusClasses && a.botRequests == b.botRequests
            && a.visitors == b.visitors && a.clients == b.clients && a.durations == b.durations
    }

    /// Distinct clients of any kind.
    public var allClients: UInt64 {
        if clients.isEmpty { return visitors.cardinality() }
        var u = visitors
        u.merge(clients)
        return u.cardinality()
    }

    /// Counts a client in `visitors` (people) or `clients` (everything else).
    @inline(__always) mutating func countClient(_ p: Pseudonym, human: Bool) {
        if human { visitors.insert(hash: p.lo) } else { clients.insert(hash: p.lo) }
    }

    /// Counts one request of a bot (the bots table): a request, a bot request, its bytes and
    /// its status class.
    @inline(__always) mutating func countBotRequest(bytes: Int64, status: UInt16) {
        requests += 1
        botRequests += 1
        self.bytes.addSaturating(bytes)
        countStatus(status)
    }

    @inline(__always) mutating func countStatus(_ status: UInt16) {
        switch status / 100 {
        case 1: statusClasses.0 += 1
        case 2: statusClasses.1 += 1
        case 3: statusClasses.2 += 1
        case 4: statusClasses.3 += 1
        case 5: statusClasses.4 += 1
        default: break
        }
    }

    /// Adds `o`'s counts and sketches. Counts stop at `Int64.max` instead of trapping: real
    /// traffic never gets near it, but a state file may hold any count up to it, and `veil merge`
    /// or `veil report` must not crash on one (Fixtures/fuzz/regressions/state-body/).
    mutating func merge(_ o: Cell) {
        requests.addSaturating(o.requests)
        pageviews.addSaturating(o.pageviews)
        bytes.addSaturating(o.bytes)
        statusClasses.0.addSaturating(o.statusClasses.0)
        statusClasses.1.addSaturating(o.statusClasses.1)
        statusClasses.2.addSaturating(o.statusClasses.2)
        statusClasses.3.addSaturating(o.statusClasses.3)
        statusClasses.4.addSaturating(o.statusClasses.4)
        botRequests.addSaturating(o.botRequests)
        visitors.merge(o.visitors)
        clients.merge(o.clients)
        durations.merge(o.durations)
    }
}

extension Int64 {
    /// Adds a count, stopping at `Int64.max` (counts are never negative, so never at `.min`).
    @inline(__always) mutating func addSaturating(_ n: Int64) {
        let (sum, overflow) = addingReportingOverflow(n)
        self = overflow ? (n < 0 ? .min : .max) : sum
    }
}

/// Packs a cell's key into 64 bits: table (5 bits), site (15), bucket (20), dimension (24).
@usableFromInline struct CellKey: Hashable, Comparable, Sendable, FastHashable {
    @usableFromInline var raw: UInt64

    static let maxSites = 1 << 15
    static let maxBucket = 1 << 20
    static let maxDimension = 1 << 24

    @inline(__always) init(table: TableID, site: Int, bucket: Int64, dimension: Int) {
        raw =
            UInt64(table.rawValue) << 59 | UInt64(site) << 44 | UInt64(bucket & 0xF_FFFF) << 24
            | UInt64(dimension)
    }

    var table: TableID { TableID(rawValue: UInt8(raw >> 59))! }
    var site: Int { Int(raw >> 44 & 0x7FFF) }
    var bucket: Int64 { Int64(raw >> 24 & 0xF_FFFF) }
    var dimension: Int { Int(raw & 0xFF_FFFF) }

    @usableFromInline static func < (a: Self, b: Self) -> Bool { a.raw < b.raw }

    @inline(__always) @usableFromInline var fastHash: UInt64 { mix64(raw) }
}
