/// Why personal data is being made: decides which accounts may be joined.
public enum JoinPurposeKind: String, Sendable, CaseIterable {
    /// Marketing: accounts that opted out are left out.
    case marketing
    /// Running the service the account signed up for (support, billing, fraud, security).
    case service
    /// Answering the account holder's own access request (`--account`).
    case access
    /// A legal obligation.
    case legal
}

/// What a join is asked to do.
public struct JoinConfiguration: Sendable {
    /// The stated purpose, recorded in the audit log and the manifest. Must not be empty.
    public var purpose: String
    public var purposeKind: JoinPurposeKind
    /// Only this account (a subject access request), or every account of the table.
    public var account: String?

    public init(purpose: String, purposeKind: JoinPurposeKind, account: String? = nil) {
        self.purpose = purpose
        self.purposeKind = purposeKind
        self.account = account
    }
}

/// One row of `activity.csv`: an account's web activity on one site and day.
public struct AccountActivity: Sendable, Equatable {
    public var account: String
    public var site: String
    /// Local day number (days since 1970-01-01 in the state's time zone) of the visits' starts.
    public var day: Int64
    public var pageviews: Int64
    public var visits: Int64
    /// UTC seconds of the first and last pageview.
    public var firstSeen: Int64
    public var lastSeen: Int64
}

/// One row of `campaigns.csv`: an account's opens and clicks of one campaign on one day.
public struct AccountCampaign: Sendable, Equatable {
    public var account: String
    public var site: String
    public var day: Int64
    public var campaign: String
    /// Opens by the recipient's mail client or its image proxy (opens by scanners not counted).
    public var opens: Int64
    /// Clicks, automated (scanner) clicks not counted.
    public var clicks: Int64
}

/// The outcome of a join, before anything is written.
public struct JoinResult: Sendable {
    public var activity: [AccountActivity] = []
    public var campaigns: [AccountCampaign] = []
    /// Accounts the join considered (all of the table, or the one asked for).
    public var accountsConsidered = 0
    /// Considered accounts left out because they opted out of marketing (marketing purposes).
    public var excludedOptOut = 0
    /// Considered accounts left out because they are restricted (any purpose).
    public var excludedRestricted = 0
    /// Joined accounts with at least one row.
    public var accountsMatched = 0
    /// Key epochs whose keys were used.
    public var epochs: [String] = []

    public var rowCount: Int { activity.count + campaigns.count }
}

/// `veil join`: recomputes each identity's pseudonyms with the epoch keys and matches them
/// against the state's per-visitor and per-recipient summaries.
///
/// A visitor matches through `cookie_id` (visitors known only by address and user agent cannot
/// be linked to an account); a recipient through `recipient_token` or `email` (lower-cased, as
/// the aggregation does). Pseudonyms are site-bound, so each identifier is tried for every site
/// and epoch of the state.
public enum IdentityJoin {
    /// Matches `identities` against `state`.
    ///
    /// - Throws: `VeilError(.key)` naming the epoch when any key the state was made with is
    ///   missing or shredded (nothing is joined then); `VeilError(.usage)` for an empty purpose
    ///   or an account that is not in the table.
    public static func run(
        state: AggregateState, identities: IdentityTable, keyStore: KeyStore, configuration: JoinConfiguration
    ) throws(VeilError) -> JoinResult {
        guard !configuration.purpose.trimmingASCIISpaces().isEmpty else {
            throw VeilError(.usage, "a join needs a stated purpose (--purpose)")
        }
        var result = JoinResult()
        let epochs = try checkedEpochs(state.epochs, keyStore: keyStore, purpose: "joined")
        result.epochs = epochs.map(\.description)

        var considered = identities.accounts
        if let only = configuration.account {
            considered = considered.filter { $0.accountID == only }
            guard !considered.isEmpty else {
                throw VeilError(
                    .usage, "the account given with --account is not in the identity table", file: identities.file)
            }
        }
        result.accountsConsidered = considered.count
        var eligible: [Identity] = []
        for a in considered {
            if a.restricted {
                result.excludedRestricted += 1
            } else if a.marketingOptOut && configuration.purposeKind == .marketing {
                result.excludedOptOut += 1
            } else {
                eligible.append(a)
            }
        }
        let links = try PseudonymLinks(state: state, accounts: eligible, epochs: epochs, keyStore: keyStore)

        var buckets = try TimeBuckets(zoneIdentifier: state.configuration.timeZone)
        struct DayKey: Hashable { var account: Int; var site: UInt32; var day: Int64 }
        var days: [DayKey: AccountActivity] = [:]
        for (i, key) in state.visitorKeys.enumerated() {
            guard let owners = links.visitors[key] else { continue }
            for visit in state.visitors[i].visits {
                let day = buckets.buckets(visit.start).day
                for a in owners {
                    let k = DayKey(account: a, site: key.site, day: day)
                    var row =
                        days[k]
                        ?? AccountActivity(
                            account: eligible[a].accountID, site: state.sites.string(key.site), day: day, pageviews: 0,
                            visits: 0, firstSeen: .max, lastSeen: .min)
                    row.pageviews += Int64(visit.pageviews)
                    row.visits += 1
                    row.firstSeen = min(row.firstSeen, visit.start)
                    row.lastSeen = max(row.lastSeen, visit.end)
                    days[k] = row
                }
            }
        }
        struct CampaignKey: Hashable { var account: Int; var site: UInt32; var day: Int32; var campaign: UInt32 }
        var campaigns: [CampaignKey: AccountCampaign] = [:]
        for (i, key) in state.recipientKeys.enumerated() {
            guard let owners = links.recipients[VisitorKey(site: key.site, pseudonym: key.pseudonym)] else { continue }
            let s = state.recipients[i]
            let opens = Int64(s.humanOpens) + Int64(s.proxyOpens)
            let clicks =
                s.clicks.reduce(Int64(0)) { $0 + ($1.automated ? 0 : Int64($1.count)) }
                + s.extraClicks.reduce(Int64(0)) { $0 + ($1.automated ? 0 : Int64($1.count)) }
            guard opens > 0 || clicks > 0 else { continue }
            for a in owners {
                let k = CampaignKey(account: a, site: key.site, day: key.day, campaign: key.campaign)
                var row =
                    campaigns[k]
                    ?? AccountCampaign(
                        account: eligible[a].accountID, site: state.sites.string(key.site), day: Int64(key.day),
                        campaign: state.dims.string(key.campaign), opens: 0, clicks: 0)
                row.opens += opens
                row.clicks += clicks
                campaigns[k] = row
            }
        }
        func less(_ a: String, _ b: String) -> Bool? { a == b ? nil : a.utf8.lexicographicallyPrecedes(b.utf8) }
        result.activity = days.values.sorted {
            less($0.account, $1.account) ?? less($0.site, $1.site) ?? ($0.day < $1.day)
        }
        result.campaigns = campaigns.values.sorted {
            less($0.account, $1.account) ?? less($0.site, $1.site)
                ?? ($0.day != $1.day ? $0.day < $1.day : less($0.campaign, $1.campaign) ?? false)
        }
        result.accountsMatched = Set(result.activity.map(\.account) + result.campaigns.map(\.account)).count
        return result
    }

    /// A state's epoch ids, parsed and in order, each with a usable key.
    /// - Throws: `VeilError(.key)` naming the first epoch whose key is missing or shredded.
    static func checkedEpochs(_ ids: some Sequence<String>, keyStore: KeyStore, purpose: String) throws(VeilError)
        -> [EpochID]
    {
        var epochs: [EpochID] = []
        for text in ids.sorted() {
            guard let e = EpochID(text) else {
                throw VeilError(.state, "the state names an epoch veil cannot read (\(text))")
            }
            guard e.granularity == keyStore.granularity else {
                throw VeilError(
                    .key,
                    "the state's pseudonyms use \(e.granularity.rawValue) keys, the key store \(keyStore.path) has \(keyStore.granularity.rawValue) keys"
                )
            }
            do {
                _ = try keyStore.key(for: e, create: false)
            } catch {
                throw VeilError(
                    .key,
                    "the key of epoch \(e) cannot be used (\(error.message)); its data cannot be \(purpose), nothing was written",
                    file: keyStore.path)
            }
            epochs.append(e)
        }
        return epochs
    }
}

/// Every pseudonym the identities of some accounts have in one state: site-bound visitor
/// pseudonyms from cookie ids, recipient pseudonyms from tokens and e-mail addresses, for
/// every epoch given. Values are indexes into the accounts array.
struct PseudonymLinks {
    var visitors: [VisitorKey: [Int]] = [:]
    var recipients: [VisitorKey: [Int]] = [:]

    init(state: AggregateState, accounts: [Identity], epochs: [EpochID], keyStore: KeyStore) throws(VeilError) {
        let pseudonymizer = Pseudonymizer(keyStore: keyStore, createKeys: false)
        for (siteID, site) in state.sites.strings.enumerated() {
            let siteBytes = Array(site.utf8)
            for epoch in epochs {
                for (a, account) in accounts.enumerated() {
                    for cookie in account.cookies {
                        let p = try Self.pseudonym(siteBytes, cookie) { (s, c) throws(VeilError) in
                            try pseudonymizer.visitor(
                                epoch: epoch, site: s, cookie: c, ip: UnsafeRawBufferPointer(start: nil, count: 0),
                                userAgent: UnsafeRawBufferPointer(start: nil, count: 0))
                        }
                        Self.add(&visitors, VisitorKey(site: UInt32(siteID), pseudonym: p), a)
                    }
                    for token in account.recipientTokens + account.emails {
                        let p = try Self.pseudonym(siteBytes, token) { (s, t) throws(VeilError) in
                            try pseudonymizer.recipient(epoch: epoch, site: s, token: t)
                        }
                        Self.add(&recipients, VisitorKey(site: UInt32(siteID), pseudonym: p), a)
                    }
                }
            }
        }
    }

    /// Runs `body` on the bytes of `site` and `value`.
    private static func pseudonym(
        _ site: [UInt8], _ value: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(VeilError) -> Pseudonym
    ) throws(VeilError) -> Pseudonym {
        let r: Result<Pseudonym, VeilError> = site.withUnsafeBytes { s in
            value.withUnsafeBytes { v in Result { () throws(VeilError) -> Pseudonym in try body(s, v) } }
        }
        return try r.get()
    }

    private static func add(_ table: inout [VisitorKey: [Int]], _ key: VisitorKey, _ account: Int) {
        if !(table[key]?.contains(account) ?? false) { table[key, default: []].append(account) }
    }
}
