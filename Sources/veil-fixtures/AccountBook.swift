/// The identity table `--accounts` writes, and the exact per-account activity `veil join`
/// must find in a log made with the same seed (`--accounts-truth`).
///
/// Accounts: every newsletter subscriber (cookie if the visitor has one, e-mail address,
/// recipient token) and every third other visitor with a cookie. Every fifth account opted
/// out of marketing, every eleventh is restricted. The CSV exercises the RFC 4180 corners a
/// real export has: a byte order mark, CRLF line ends, a quoted display name with commas,
/// quotes and line breaks, booleans spelled several ways, and a second row for some accounts.
///
/// Activity follows veil's definitions with daily keys: a visit is a chain of one cookie's
/// pageviews with gaps of at most 30 minutes within one UTC day (each day's pseudonym is new,
/// so a visit crossing midnight is two); opens count the pixel fetches by the recipient's
/// browser or its mail proxy, clicks every click.
struct AccountBook {
    struct Account {
        var id: String
        var visitor: Int
        var subscriber: Int
        var optOut: Bool
        var restricted: Bool
    }

    struct DayKey: Hashable {
        var account: Int
        var site: Int
        var day: Int64
    }

    struct Activity {
        var pageviews = 0
        var visits = 0
        var first: Int64 = .max
        var last: Int64 = .min
    }

    struct CampaignKey: Hashable {
        var account: Int
        var site: Int
        var day: Int64
        var campaign: Int
    }

    private(set) var accounts: [Account] = []
    private var accountOfVisitor: [Int]
    private var accountOfSubscriber: [Int]
    private let cookies: [[UInt8]]
    private let emails: [[UInt8]]
    private let tokens: [[UInt8]]
    private var activity: [DayKey: Activity] = [:]
    private var campaigns: [CampaignKey: (opens: Int, clicks: Int)] = [:]
    /// Last pageview second per (account, site), for sessionising.
    private var lastPageview: [Int: Int64] = [:]
    private let sites: [String]

    init(population: Population, sites: [String]) {
        self.sites = sites
        accountOfVisitor = Array(repeating: -1, count: population.visitors.count)
        accountOfSubscriber = Array(repeating: -1, count: population.subscribers.count)
        cookies = population.visitors.map(\.cookie)
        emails = population.subscribers.map(\.email)
        tokens = population.subscribers.map(\.recipient)
        var plain = 0
        for (v, visitor) in population.visitors.enumerated() {
            let s = visitor.subscriber
            if s < 0 {
                guard !visitor.cookie.isEmpty else { continue }
                plain += 1
                guard plain % 3 == 0 else { continue }
            }
            let n = accounts.count
            accounts.append(
                Account(
                    id: "acct-\(UTCCalendar.pad(n + 1, 5))", visitor: v, subscriber: s, optOut: n % 5 == 3,
                    restricted: n % 11 == 7))
            accountOfVisitor[v] = n
            if s >= 0 { accountOfSubscriber[s] = n }
        }
    }

    /// Counts one well-formed request (after the ground truth saw it).
    mutating func record(_ r: Request, cookieIdentity: Bool, pageview: Bool, proxy: Bool) {
        let second = GroundTruth.floorDiv(r.milliseconds, 1000)
        let day = GroundTruth.floorDiv(second, 86_400)
        if pageview, cookieIdentity, case .visitor(let v) = r.actor, accountOfVisitor[v] >= 0 {
            let a = accountOfVisitor[v]
            let key = DayKey(account: a, site: r.site, day: day)
            var act = activity[key] ?? Activity()
            let slot = a * 64 + r.site
            if let last = lastPageview[slot], second - last <= GroundTruth.visitTimeout,
                GroundTruth.floorDiv(last, 86_400) == day
            {
            } else {
                act.visits += 1
            }
            lastPageview[slot] = second
            act.pageviews += 1
            act.first = min(act.first, second)
            act.last = max(act.last, second)
            activity[key] = act
        }
        switch r.email {
        case .none: break
        case .open(let c, let s):
            guard accountOfSubscriber[s] >= 0 else { return }
            let key = CampaignKey(account: accountOfSubscriber[s], site: r.site, day: day, campaign: c)
            campaigns[key, default: (0, 0)].opens += 1
        case .click(let c, _, let s):
            guard accountOfSubscriber[s] >= 0 else { return }
            let key = CampaignKey(account: accountOfSubscriber[s], site: r.site, day: day, campaign: c)
            campaigns[key, default: (0, 0)].clicks += 1
        }
        _ = proxy
    }

    /// The identity table as CSV bytes.
    func csv() -> [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        func field(_ bytes: [UInt8]) -> [UInt8] {
            let special = bytes.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 10 || $0 == 13 }
            guard special else { return bytes }
            var q: [UInt8] = [UInt8(ascii: "\"")]
            for b in bytes {
                if b == UInt8(ascii: "\"") { q.append(b) }
                q.append(b)
            }
            q.append(UInt8(ascii: "\""))
            return q
        }
        func row(_ fields: [[UInt8]]) {
            for (i, f) in fields.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out += field(f)
            }
            out += [13, 10]
        }
        let spellings: [(String, String)] = [("true", "false"), ("yes", "no"), ("1", "0"), ("Y", "")]
        row(
            ["account_id", "display_name", "cookie_id", "email", "recipient_token", "marketing_opt_out", "restricted"]
                .map { Array($0.utf8) })
        for (n, a) in accounts.enumerated() {
            let (yes, no) = spellings[n % spellings.count]
            var name = "Customer \(n + 1)"
            if n % 4 == 1 { name += ", \"Gold\" tier" }
            if n % 6 == 2 { name += "\nsecond line, of the note" }
            let cookie = cookies[a.visitor]
            let email = a.subscriber >= 0 ? emails[a.subscriber] : []
            let token = a.subscriber >= 0 ? tokens[a.subscriber] : []
            let flags = [Array((a.optOut ? yes : no).utf8), Array((a.restricted ? yes : no).utf8)]
            if a.subscriber >= 0 && n % 2 == 0 {
                // Two rows: the web identity, then the mail identity.
                row([Array(a.id.utf8), Array(name.utf8), cookie, [], []] + flags)
                row([Array(a.id.utf8), [], [], email, token] + [[], []])
            } else {
                row([Array(a.id.utf8), Array(name.utf8), cookie, email, token] + flags)
            }
        }
        return out
    }

    /// The activity a join must find, as JSON.
    func truth() -> JSONValue {
        func sorted<K>(_ keys: [K], _ parts: (K) -> (String, String, Int64, String)) -> [K] {
            keys.sorted {
                let a = parts($0), b = parts($1)
                if a.0 != b.0 { return a.0.utf8.lexicographicallyPrecedes(b.0.utf8) }
                if a.1 != b.1 { return a.1.utf8.lexicographicallyPrecedes(b.1.utf8) }
                if a.2 != b.2 { return a.2 < b.2 }
                return a.3.utf8.lexicographicallyPrecedes(b.3.utf8)
            }
        }
        let activityRows = sorted(Array(activity.keys)) { (accounts[$0.account].id, sites[$0.site], $0.day, "") }.map {
            k -> JSONValue in
            let a = activity[k]!
            let acct = accounts[k.account]
            return .object([
                ("account_id", .string(acct.id)), ("site", .string(sites[k.site])),
                ("date", .string(UTCCalendar.dayKey(k.day * 86_400))), ("pageviews", .int(a.pageviews)),
                ("visits", .int(a.visits)), ("first_seen", .string(UTCCalendar.isoKey(a.first))),
                ("last_seen", .string(UTCCalendar.isoKey(a.last))), ("marketing_opt_out", .bool(acct.optOut)),
                ("restricted", .bool(acct.restricted)),
            ])
        }
        let campaignRows = sorted(Array(campaigns.keys)) {
            (accounts[$0.account].id, sites[$0.site], $0.day, Vocabulary.campaigns[$0.campaign].name)
        }.map { k -> JSONValue in
            let c = campaigns[k]!
            let acct = accounts[k.account]
            return .object([
                ("account_id", .string(acct.id)), ("site", .string(sites[k.site])),
                ("date", .string(UTCCalendar.dayKey(k.day * 86_400))),
                ("campaign", .string(Vocabulary.campaigns[k.campaign].name)), ("opens", .int(c.opens)),
                ("clicks", .int(c.clicks)), ("marketing_opt_out", .bool(acct.optOut)),
                ("restricted", .bool(acct.restricted)),
            ])
        }
        return .object([
            ("accounts", .int(accounts.count)),
            ("marketing_opt_out", .int(accounts.filter(\.optOut).count)),
            ("restricted", .int(accounts.filter(\.restricted).count)),
            ("activity", .array(activityRows)),
            ("campaigns", .array(campaignRows)),
        ])
    }
}
