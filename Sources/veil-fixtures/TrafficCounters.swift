/// The traffic numbers of one site for one hour, one day or the whole period.
struct TrafficCounters {
    /// Every well-formed request line, bots and mail proxies included.
    var requests = 0
    var botRequests = 0
    var mailProxyRequests = 0
    var pageviews = 0
    /// Sum of response bytes (`-` counts 0).
    var bytes = 0
    var status1xx = 0
    var status2xx = 0
    var status3xx = 0
    var status4xx = 0
    var status5xx = 0
    /// Visits that began in this period.
    var visits = 0
    /// Visits that began in this period and had exactly one pageview.
    var bounces = 0
    /// Distinct visitor identities with any non-bot, non-proxy request in this period.
    var visitors = 0
    /// Distinct visitor identities with at least one pageview in this period.
    var pageviewVisitors = 0

    mutating func add(status: Int, bytes: Int, bot: Bool, proxy: Bool, pageview: Bool) {
        requests += 1
        self.bytes += bytes
        if bot { botRequests += 1 }
        if proxy { mailProxyRequests += 1 }
        if pageview { pageviews += 1 }
        switch status {
        case 100..<200: status1xx += 1
        case 200..<300: status2xx += 1
        case 300..<400: status3xx += 1
        case 400..<500: status4xx += 1
        default: status5xx += 1
        }
    }

    /// The counters as ordered JSON members.
    var members: [(String, JSONValue)] {
        [
            ("requests", .int(requests)), ("bot_requests", .int(botRequests)),
            ("mail_proxy_requests", .int(mailProxyRequests)), ("pageviews", .int(pageviews)),
            ("visitors", .int(visitors)), ("pageview_visitors", .int(pageviewVisitors)),
            ("visits", .int(visits)), ("bounces", .int(bounces)), ("bytes", .int(bytes)),
            ("status_1xx", .int(status1xx)), ("status_2xx", .int(status2xx)), ("status_3xx", .int(status3xx)),
            ("status_4xx", .int(status4xx)), ("status_5xx", .int(status5xx)),
        ]
    }
}
