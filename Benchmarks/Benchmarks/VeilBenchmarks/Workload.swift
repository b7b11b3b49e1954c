import Foundation

/// Synthetic, deterministic traffic for the benchmarks.
///
/// Every address is a documentation address (RFC 5737 `192.0.2.0/24`, `198.51.100.0/24`,
/// `203.0.113.0/24`; RFC 3849 `2001:db8::/32`), every host is under `example.*` (RFC 2606),
/// so nothing here is anybody's data. The shape follows a small site's day: a fixed visitor
/// population (most with a cookie), Zipf-like page popularity, assets, a few bots, 404s,
/// redirects, referrers and `utm_*` campaigns, with timestamps spread over one UTC day (one
/// key epoch) in increasing order.
struct Workload {
    /// Lines of one format, back to back, each ending with `\n`.
    struct Lines {
        /// The bytes of every line, terminators included.
        var bytes: [UInt8]
        /// Start offset of each line; `bounds[i]..<(bounds[i + 1] - 1)` is line `i` without `\n`.
        var bounds: [Int]
        /// Directive lines (W3C header) at the start, counted in `bounds`.
        var headerLines: Int

        var count: Int { bounds.count - 1 }
    }

    enum Format {
        case combined, combinedCookie, caddy, w3c
    }

    /// Distinct visitors (clients) in the population.
    let visitors: Int
    /// Distinct pages (before assets and 404s).
    let pages: Int

    init(visitors: Int = 2_000, pages: Int = 400) {
        self.visitors = visitors
        self.pages = pages
    }

    /// 2026-11-28T00:00:00Z, a Saturday.
    static let dayStart: Int64 = 1_795_824_000

    static let userAgents: [String] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
        // Bots (about one request in twelve).
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    ]
    static let botAgents = 8..<11

    static let referrers: [String] = [
        "https://www.example.net/", "https://search.example/?q=veil+logs", "https://news.example.org/item?id=1",
        "https://social.example/@someone/113",
    ]

    static let sites = ["www.example.com", "shop.example.org"]

    /// One visitor of the population.
    struct Visitor {
        var address: String
        var userAgent: Int
        var cookie: String
    }

    /// The population: addresses shared by a few visitors (NAT), 30 % without a cookie.
    func population() -> [Visitor] {
        var rng = SplitMix64(seed: 0x5eed_0001)
        var result: [Visitor] = []
        result.reserveCapacity(visitors)
        let prefixes = ["192.0.2.", "198.51.100.", "203.0.113."]
        for i in 0..<visitors {
            let address: String
            if i % 5 == 4 {
                address =
                    "2001:db8:\(String(i / 256, radix: 16)):\(String(i % 256, radix: 16))::\(String(rng.next() % 0xffff + 1, radix: 16))"
            } else {
                let n = Int(rng.next() % UInt64(prefixes.count * 254))
                address = prefixes[n / 254] + String(n % 254 + 1)
            }
            let ua: Int
            let roll = rng.next() % 100
            if roll < 8 {
                ua = Self.botAgents.lowerBound + Int(rng.next() % UInt64(Self.botAgents.count))
            } else {
                ua = Int(rng.next() % UInt64(Self.botAgents.lowerBound))
            }
            let cookie =
                (rng.next() % 10 < 7 && !Self.botAgents.contains(ua))
                ? hex(rng.next()) + hex(rng.next()) : ""
            result.append(Visitor(address: address, userAgent: ua, cookie: cookie))
        }
        return result
    }

    /// One request.
    struct Request {
        var time: Int64
        var millis: Int
        var visitor: Int
        var site: Int
        var method: String
        var path: String
        var query: String
        var status: Int
        var bytes: Int
        var referrer: String
    }

    /// `count` requests over one UTC day (`day` days after `dayStart`), in time order. Every day
    /// has the same traffic: the same visitors ask for the same pages at the same times of day.
    func requests(count: Int, day: Int = 0) -> [Request] {
        var rng = SplitMix64(seed: 0x5eed_0002)
        var out: [Request] = []
        out.reserveCapacity(count)
        let step = 86_399_000 / max(count, 1)
        for i in 0..<count {
            let ms = Int64(i) * Int64(step)
            let visitor = Int(zipf(&rng, visitors))
            var r = Request(
                time: Self.dayStart + Int64(day) * 86_400 + ms / 1000, millis: Int(ms % 1000), visitor: visitor,
                site: visitor % 7 == 0 ? 1 : 0, method: "GET", path: "/", query: "", status: 200,
                bytes: 0, referrer: "")
            let kind = rng.next() % 100
            switch kind {
            case 0..<55:
                let page = Int(zipf(&rng, pages))
                switch page % 10 {
                case 0: r.path = page == 0 ? "/" : "/products/\(100_000 + page)"
                case 1: r.path = "/account/\(uuid(UInt64(page)))/settings"
                case 2: r.path = "/blog/2026/11/post-\(page)"
                case 3: r.path = "/unsubscribe/\(hex(UInt64(page) &* 0x9e37_79b9_7f4a_7c15))\(hex(UInt64(page)))"
                default: r.path = "/docs/section-\(page % 37)/page-\(page)"
                }
                r.bytes = 4_000 + Int(rng.next() % 40_000)
                if rng.next() % 9 == 0 { r.query = "utm_source=newsletter&utm_campaign=nov\(page % 4)&ref=\(page)" }
                if rng.next() % 4 == 0 { r.referrer = Self.referrers[Int(rng.next() % UInt64(Self.referrers.count))] }
                if rng.next() % 12 == 0 { r.status = 304; r.bytes = 0 }
            case 55..<88:
                let n = Int(rng.next() % 60)
                r.path = n < 30 ? "/static/app.\(n).css" : n < 50 ? "/static/img/\(n).png" : "/static/js/bundle.\(n).js"
                r.bytes = 1_000 + Int(rng.next() % 200_000)
                r.referrer = "https://\(Self.sites[r.site])/"
            case 88..<93:
                r.path = ["/wp-login.php", "/.env", "/old-page", "/favicon.ico", "/robots.txt"][Int(rng.next() % 5)]
                r.status = r.path == "/robots.txt" ? 200 : 404
                r.bytes = 512
            case 93..<96:
                r.method = "POST"
                r.path = "/api/v1/events"
                r.status = 204
            case 96..<98:
                r.path = "/go/\(rng.next() % 50)"
                r.status = 301
                r.bytes = 0
            case 98:
                r.method = "HEAD"
                r.path = "/"
                r.bytes = 0
            default:
                r.path = "/search"
                r.query = "q=term\(rng.next() % 300)"
                r.status = rng.next() % 20 == 0 ? 500 : 200
                r.bytes = 9_000
            }
            out.append(r)
        }
        return out
    }

    /// `count` lines of `format` (plus the W3C header lines for `.w3c`) of day `day`.
    func lines(_ format: Format, count: Int, day: Int = 0) -> Lines {
        let people = population()
        let uaText = Self.userAgents.map { Array($0.utf8) }
        let uaW3C = uaText.map { $0.map { $0 == UInt8(ascii: " ") ? UInt8(ascii: "+") : $0 } }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count * 320)
        var bounds: [Int] = [0]
        bounds.reserveCapacity(count + 5)
        var header = 0
        func end() {
            bytes.append(UInt8(ascii: "\n"))
            bounds.append(bytes.count)
        }
        func put(_ s: String) { bytes.append(contentsOf: s.utf8) }
        if format == .w3c {
            for line in [
                "#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
                "#Date: 2026-11-28 00:00:00",
                "#Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus sc-win32-status sc-bytes time-taken",
            ] {
                put(line)
                end()
                header += 1
            }
        }
        for r in requests(count: count, day: day) {
            let v = people[r.visitor]
            let c = Civil(r.time)
            let target = r.query.isEmpty ? r.path : r.path + "?" + r.query
            switch format {
            case .combined, .combinedCookie:
                put(
                    "\(v.address) - - [\(c.clf)] \"\(r.method) \(target) HTTP/1.1\" \(r.status) \(r.bytes == 0 ? "-" : String(r.bytes)) \"\(r.referrer.isEmpty ? "-" : r.referrer)\" \""
                )
                bytes.append(contentsOf: uaText[v.userAgent])
                put("\"")
                if format == .combinedCookie { put(" \"\(v.cookie.isEmpty ? "-" : v.cookie)\"") }
            case .caddy:
                let millis = r.millis == 0 ? "" : "." + pad(r.millis, 3)
                put(
                    "{\"level\":\"info\",\"ts\":\(r.time)\(millis),\"logger\":\"http.log.access\",\"msg\":\"handled request\",\"request\":{\"remote_ip\":\"\(v.address)\",\"remote_port\":\"\(40_000 + r.visitor)\",\"client_ip\":\"\(v.address)\",\"proto\":\"HTTP/2.0\",\"method\":\"\(r.method)\",\"host\":\"\(Self.sites[r.site])\",\"uri\":\"\(target)\",\"headers\":{\"User-Agent\":[\""
                )
                bytes.append(contentsOf: uaText[v.userAgent])
                if !r.referrer.isEmpty { put("\"],\"Referer\":[\"\(r.referrer)") }
                put(
                    "\"],\"Accept-Encoding\":[\"gzip, deflate, br\"]}},\"bytes_read\":0,\"user_id\":\"\",\"duration\":0.00\(1_000 + r.visitor % 9_000),\"size\":\(r.bytes),\"status\":\(r.status),\"resp_headers\":{\"Server\":[\"Caddy\"]}}"
                )
            case .w3c:
                put(
                    "\(c.date) \(c.time) W3SVC1 192.0.2.254 \(r.method) \(r.path) \(r.query.isEmpty ? "-" : r.query) 443 - \(v.address) "
                )
                bytes.append(contentsOf: uaW3C[v.userAgent])
                put(
                    " \(r.referrer.isEmpty ? "-" : r.referrer) \(Self.sites[r.site]) \(r.status) 0 0 \(r.bytes) \(15 + r.visitor % 300)"
                )
            }
            end()
        }
        return Lines(bytes: bytes, bounds: bounds, headerLines: header)
    }

    /// A value in 0..<n, small values much more likely (roughly Zipf with s = 1).
    private func zipf(_ rng: inout SplitMix64, _ n: Int) -> UInt64 {
        // Inverse of the continuous CDF of 1/x on [1, n + 1).
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        let x = exp(u * log(Double(n) + 1)) - 1
        return min(UInt64(x), UInt64(n - 1))
    }
}

/// A UTC time split into the spellings the formats use.
struct Civil {
    var clf: String
    var date: String
    var time: String

    init(_ seconds: Int64) {
        let days = seconds / 86_400
        let rem = Int(seconds % 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        let y = Int(yoe + era * 400 + (m <= 2 ? 1 : 0))
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let hms = "\(pad(rem / 3600, 2)):\(pad(rem / 60 % 60, 2)):\(pad(rem % 60, 2))"
        clf = "\(pad(d, 2))/\(months[m - 1])/\(y):\(hms) +0000"
        date = "\(y)-\(pad(m, 2))-\(pad(d, 2))"
        time = hms
    }
}

/// SplitMix64: a small deterministic generator (the benchmarks must see the same bytes every run).
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

func hex(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

func uuid(_ seed: UInt64) -> String {
    var rng = SplitMix64(seed: seed)
    let a = hex(rng.next()), b = hex(rng.next())
    let ca = Array(a), cb = Array(b)
    return String(ca[0..<8]) + "-" + String(ca[8..<12]) + "-4" + String(ca[13..<16]) + "-a"
        + String(cb[1..<4]) + "-" + String(cb[4..<16])
}
