/// Exact counts kept while generating, with the same definitions veil's rollups use.
///
/// Timestamps arrive in non-decreasing order, so each site keeps the distinct-visitor set of
/// only its current hour and day.
struct GroundTruth {
    /// One visit in progress for one visitor identity.
    struct Visit {
        var firstSecond: Int64
        var lastSecond: Int64
        /// The page of the last pageview (the first of them, when several share its second).
        var lastPage: Int
        var pageviews: Int
        var startHour: Int
        var startDay: Int
        var crossedMidnight: Bool
    }

    /// E-mail numbers of one campaign.
    struct Campaign {
        var opens = 0
        var humanOpens = 0
        var proxyOpens = 0
        var clicks = 0
        var linkClicks: [Int]
        var openers = Set<Int>()
        var humanOpeners = Set<Int>()
        var clickers = Set<Int>()
    }

    /// Everything counted for one site.
    struct Site {
        var hours: [TrafficCounters]
        var days: [TrafficCounters]
        var total = TrafficCounters()
        var currentHour = -1
        var currentDay = -1
        var hourVisitors = Set<UInt64>()
        var hourPageviewVisitors = Set<UInt64>()
        var dayVisitors = Set<UInt64>()
        var dayPageviewVisitors = Set<UInt64>()
        var allVisitors = Set<UInt64>()
        var allPageviewVisitors = Set<UInt64>()
        var statusCodes: [[Int: Int]]
        /// Bot requests per user agent, per day: requests, bytes, then requests by status class
        /// (1xx to 5xx).
        var botRequests: [[Int: [Int]]]
        /// Bot clients per user agent, per day: `[1, cookie bytes…]` for a request with a
        /// cookie, `[0, address, user agent]` without (veil's visitor identity).
        var botClients: [[Int: Set<[Int]>]]
        var pagePageviews: [[Int]]
        var entryPages: [[Int]]
        /// Visits by the page of their last pageview, by the day they start.
        var exitPages: [[Int]]
        /// Visits per range of `GroundTruth.durationRanges` (seconds from first to last
        /// pageview), by the day they start.
        var visitDurations: [[Int]]
        /// Visits per range of `GroundTruth.pageviewRanges`, by the day they start.
        var visitPageviews: [[Int]]
        var userAgentPageviews: [[Int]]
        var notFound: [[[UInt8]: Int]]
        var referrerHosts: [[[UInt8]: Int]]
        /// Visits per referrer host of their first pageview, by the day they start.
        var referrerVisits: [[[UInt8]: Int]]
        /// Pageviews per web campaign label (`GroundTruth.webCampaign(of:)`), per day.
        var webCampaigns: [[[UInt8]: Int]]
        /// Visits per web campaign label of their first pageview, by the day they start.
        var webCampaignVisits: [[[UInt8]: Int]]
        var visits: [UInt64: Visit] = [:]
        var campaigns: [Campaign]

        init(hours: Int, days: Int, userAgents: Int) {
            self.hours = Array(repeating: TrafficCounters(), count: hours)
            self.days = Array(repeating: TrafficCounters(), count: days)
            statusCodes = Array(repeating: [:], count: days)
            botRequests = Array(repeating: [:], count: days)
            botClients = Array(repeating: [:], count: days)
            pagePageviews = Array(repeating: [], count: days)
            entryPages = Array(repeating: [], count: days)
            exitPages = Array(repeating: [], count: days)
            visitDurations = Array(
                repeating: Array(repeating: 0, count: GroundTruth.durationRanges.count), count: days)
            visitPageviews = Array(
                repeating: Array(repeating: 0, count: GroundTruth.pageviewRanges.count), count: days)
            userAgentPageviews = Array(repeating: Array(repeating: 0, count: userAgents), count: days)
            notFound = Array(repeating: [:], count: days)
            referrerHosts = Array(repeating: [:], count: days)
            referrerVisits = Array(repeating: [:], count: days)
            webCampaigns = Array(repeating: [:], count: days)
            webCampaignVisits = Array(repeating: [:], count: days)
            campaigns = Vocabulary.campaigns.map { Campaign(linkClicks: Array(repeating: 0, count: $0.links.count)) }
        }

        mutating func closeHour() {
            guard currentHour >= 0 else { return }
            hours[currentHour].visitors = hourVisitors.count
            hours[currentHour].pageviewVisitors = hourPageviewVisitors.count
            hourVisitors.removeAll(keepingCapacity: true)
            hourPageviewVisitors.removeAll(keepingCapacity: true)
        }

        mutating func closeDay() {
            guard currentDay >= 0 else { return }
            days[currentDay].visitors = dayVisitors.count
            days[currentDay].pageviewVisitors = dayPageviewVisitors.count
            dayVisitors.removeAll(keepingCapacity: true)
            dayPageviewVisitors.removeAll(keepingCapacity: true)
        }

        /// Counts one request in hour `hour` and day `day`; returns how many pageview gaps fell
        /// near the visit timeout, how many visits first crossed midnight and how many first had
        /// two last pageviews in one second on different pages (0 or 1 each).
        mutating func record(
            _ r: Request, second: Int64, hour h: Int, day d: Int, identity: UInt64?, bot: Bool, proxy: Bool,
            pageview: Bool, userAgentVisible: Bool
        ) -> (near: Int, crossing: Int, exitTie: Int) {
            if h != currentHour {
                closeHour()
                currentHour = h
            }
            if d != currentDay {
                closeDay()
                currentDay = d
            }
            hours[h].add(status: r.status, bytes: r.bytes, bot: bot, proxy: proxy, pageview: pageview)
            days[d].add(status: r.status, bytes: r.bytes, bot: bot, proxy: proxy, pageview: pageview)
            total.add(status: r.status, bytes: r.bytes, bot: bot, proxy: proxy, pageview: pageview)
            statusCodes[d][r.status, default: 0] += 1
            if bot {
                var counts = botRequests[d][r.userAgent, default: [0, 0, 0, 0, 0, 0, 0]]
                counts[0] += 1
                counts[1] += r.bytes
                if (1...5).contains(r.status / 100) { counts[1 + r.status / 100] += 1 }
                botRequests[d][r.userAgent] = counts
                let client = r.cookie.isEmpty ? [0, r.address, r.userAgent] : [1] + r.cookie.map { Int($0) }
                botClients[d][r.userAgent, default: []].insert(client)
            }
            var result = (near: 0, crossing: 0, exitTie: 0)
            if let identity {
                hourVisitors.insert(identity)
                dayVisitors.insert(identity)
                allVisitors.insert(identity)
                if r.status == 404 { notFound[d][r.path, default: 0] += 1 }
            }
            if pageview, let identity {
                hourPageviewVisitors.insert(identity)
                dayPageviewVisitors.insert(identity)
                allPageviewVisitors.insert(identity)
                if pagePageviews[d].count <= r.page {
                    pagePageviews[d].append(contentsOf: repeatElement(0, count: r.page + 1 - pagePageviews[d].count))
                }
                pagePageviews[d][r.page] += 1
                if userAgentVisible { userAgentPageviews[d][r.userAgent] += 1 }
                let host = GroundTruth.host(of: r.referrer)
                if let host { referrerHosts[d][host, default: 0] += 1 }
                let campaign = GroundTruth.webCampaign(of: r.query)
                if let campaign { webCampaigns[d][campaign, default: 0] += 1 }
                result = countVisit(
                    identity: identity, second: second, hour: h, day: d, page: r.page, campaign: campaign,
                    referrer: host)
            }
            switch r.email {
            case .none: break
            case .open(let c, let s):
                campaigns[c].opens += 1
                campaigns[c].openers.insert(s)
                if proxy {
                    campaigns[c].proxyOpens += 1
                } else {
                    campaigns[c].humanOpens += 1
                    campaigns[c].humanOpeners.insert(s)
                }
            case .click(let c, let link, let s):
                campaigns[c].clicks += 1
                campaigns[c].linkClicks[link] += 1
                campaigns[c].clickers.insert(s)
            }
            return result
        }

        private mutating func countVisit(
            identity: UInt64, second: Int64, hour: Int, day: Int, page: Int, campaign: [UInt8]?, referrer: [UInt8]?
        ) -> (near: Int, crossing: Int, exitTie: Int) {
            var result = (near: 0, crossing: 0, exitTie: 0)
            if var v = visits[identity] {
                let gap = second - v.lastSecond
                if abs(gap - GroundTruth.visitTimeout) <= 60 { result.near = 1 }
                if gap <= GroundTruth.visitTimeout {
                    v.pageviews += 1
                    if second > v.lastSecond {
                        v.lastPage = page
                    } else if page != v.lastPage {
                        result.exitTie = 1
                    }
                    v.lastSecond = second
                    if day != v.startDay && !v.crossedMidnight {
                        v.crossedMidnight = true
                        result.crossing = 1
                    }
                    visits[identity] = v
                    return result
                }
                endVisit(v)
            }
            visits[identity] = Visit(
                firstSecond: second, lastSecond: second, lastPage: page, pageviews: 1, startHour: hour, startDay: day,
                crossedMidnight: false)
            hours[hour].visits += 1
            days[day].visits += 1
            total.visits += 1
            if entryPages[day].count <= page {
                entryPages[day].append(contentsOf: repeatElement(0, count: page + 1 - entryPages[day].count))
            }
            entryPages[day][page] += 1
            if let campaign { webCampaignVisits[day][campaign, default: 0] += 1 }
            if let referrer { referrerVisits[day][referrer, default: 0] += 1 }
            return result
        }

        /// Closes the open hour, day and visits.
        mutating func finish() {
            closeHour()
            closeDay()
            total.visitors = allVisitors.count
            total.pageviewVisitors = allPageviewVisitors.count
            for v in visits.values { endVisit(v) }
            visits.removeAll()
        }

        mutating func endVisit(_ v: Visit) {
            if exitPages[v.startDay].count <= v.lastPage {
                exitPages[v.startDay].append(
                    contentsOf: repeatElement(0, count: v.lastPage + 1 - exitPages[v.startDay].count))
            }
            exitPages[v.startDay][v.lastPage] += 1
            visitDurations[v.startDay][
                GroundTruth.range(of: Int(v.lastSecond - v.firstSecond), GroundTruth.durationRanges)] += 1
            visitPageviews[v.startDay][GroundTruth.range(of: v.pageviews, GroundTruth.pageviewRanges)] += 1
            guard v.pageviews == 1 else { return }
            hours[v.startHour].bounces += 1
            days[v.startDay].bounces += 1
            total.bounces += 1
        }
    }

    /// The seconds between two pageviews of one identity above which a new visit begins.
    static let visitTimeout: Int64 = 1800

    /// The lowest value of each range of visit duration in seconds (first to last pageview)
    /// that veil's `visit_durations` counts in; each range ends before the next begins, the
    /// last is open.
    static let durationRanges = [0, 1, 11, 31, 61, 181, 601, 1801]
    /// The lowest value of each range of pageviews per visit of veil's `visit_pageviews`.
    static let pageviewRanges = [1, 2, 3, 4, 6, 11, 21]

    /// The index of the last range whose low end is at most `value`.
    static func range(of value: Int, _ ranges: [Int]) -> Int {
        ranges.lastIndex { $0 <= value } ?? 0
    }

    let firstHour: Int64
    let firstDay: Int64
    private(set) var sites: [Site]
    var malformed = Array(repeating: 0, count: MalformedKind.allCases.count)
    var malformedLines: [(line: Int, kind: MalformedKind)] = []
    /// Pageview gaps within 60 s of the visit timeout (where a classifier's `>` vs `>=` or
    /// millisecond handling could differ).
    var gapsNearTimeout = 0
    /// Visits with pageviews on more than one UTC day (counted once, on their first day).
    var visitsCrossingMidnight = 0
    /// Pageviews on another page in the second of their visit's last pageview so far (veil's
    /// exit page is then the larger path, the truth's the first).
    var exitTies = 0
    var requests = 0

    init(startSeconds: Int64, days: Int, siteCount: Int, userAgents: Int) {
        let end = startSeconds + Int64(days) * 86_400
        firstHour = Self.floorDiv(startSeconds, 3600)
        firstDay = Self.floorDiv(startSeconds, 86_400)
        let hourCount = Int(Self.floorDiv(end - 1, 3600) - firstHour + 1)
        let dayCount = Int(Self.floorDiv(end - 1, 86_400) - firstDay + 1)
        sites = (0..<siteCount).map { _ in Site(hours: hourCount, days: dayCount, userAgents: userAgents) }
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    /// Counts one well-formed request line.
    /// - Parameters:
    ///   - identity: the visitor identity (cookie, else address + user agent as the log shows
    ///     them), nil for bots and mail proxies.
    ///   - userAgentVisible: the format shows the User-Agent (browser tables are kept).
    mutating func record(
        _ r: Request, identity: UInt64?, bot: Bool, proxy: Bool, pageview: Bool, userAgentVisible: Bool
    ) {
        requests += 1
        let second = Self.floorDiv(r.milliseconds, 1000)
        let h = Int(Self.floorDiv(second, 3600) - firstHour)
        let d = Int(Self.floorDiv(second, 86_400) - firstDay)
        let (near, crossing, exitTie) = sites[r.site].record(
            r, second: second, hour: h, day: d, identity: identity, bot: bot, proxy: proxy, pageview: pageview,
            userAgentVisible: userAgentVisible)
        gapsNearTimeout += near
        visitsCrossingMidnight += crossing
        exitTies += exitTie
    }

    /// The host of an absolute `scheme://host/…` referrer.
    static func host(of url: [UInt8]) -> [UInt8]? {
        guard let colon = url.firstIndex(of: UInt8(ascii: ":")), colon + 3 <= url.count,
            url[colon + 1] == UInt8(ascii: "/"), url[colon + 2] == UInt8(ascii: "/")
        else { return nil }
        let start = colon + 3
        let end = url[start...].firstIndex(of: UInt8(ascii: "/")) ?? url.count
        return Array(url[start..<end])
    }

    /// The web campaign of a query the generator wrote (plain `name=value` pairs, no escapes):
    /// `utm_source`, `utm_medium` and `utm_campaign` joined by tabs, `(none)` for a missing one;
    /// nil when the query has none of them.
    static func webCampaign(of query: [UInt8]) -> [UInt8]? {
        var values: [String: [UInt8]] = [:]
        for pair in query.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: parts[0], as: UTF8.self)
            if ["utm_source", "utm_medium", "utm_campaign"].contains(name), values[name] == nil {
                values[name] = parts.count > 1 ? Array(parts[1]) : []
            }
        }
        guard !values.isEmpty else { return nil }
        let tab = [UInt8(ascii: "\t")]
        let none = Array("(none)".utf8)
        func value(_ name: String) -> [UInt8] { values[name].flatMap { $0.isEmpty ? nil : $0 } ?? none }
        return value("utm_source") + tab + value("utm_medium") + tab + value("utm_campaign")
    }

    /// Counts one malformed line (1-based physical line number).
    mutating func recordMalformed(line: Int, kind: MalformedKind) {
        malformed[kind.rawValue] += 1
        malformedLines.append((line, kind))
    }

    /// Closes the open hours, days and visits; call once after the last line.
    mutating func finish() {
        for i in sites.indices { sites[i].finish() }
    }
}
