import Testing

@testable import VeilCore

/// HAProxy's HTTP log (`haproxy`): `option httplog` lines with or without a syslog header,
/// captured cookie and headers, accept dates in a zone given by the user.
@Suite("HAProxy HTTP logs")
struct HAProxyFormatTests {
    static let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

    /// An `option httplog` line as HAProxy's documentation shows it, with the parts put in.
    static func line(
        header: String = "Nov 28 12:14:14 lb1 haproxy[14389]: ", client: String = "192.0.2.10:33317",
        date: String = "28/Nov/2026:12:14:14.655", timers: String = "10/0/30/69/109", status: String = "200",
        bytes: String = "2750", cookie: String = "-", captures: String = " {www.example.com|\(agent)|}",
        request: String = "\"GET /index.html HTTP/1.1\""
    ) -> String {
        "\(header)\(client) [\(date)] http-in static/srv1 \(timers) \(status) \(bytes) \(cookie) - ---- "
            + "1/1/1/1/0 0/0\(captures) \(request)"
    }

    static func format(headers: String? = "host,user-agent,referer", cookie: String? = "uid", zone: String? = nil)
        throws -> TextFormat
    {
        var c = HAProxyConfiguration()
        if let headers { try c.setCapturedRequestHeaders(headers) }
        if let cookie { try c.setCookieName(cookie) }
        var f = try #require(TextFormat.preset("haproxy"))
        f.configure(haproxy: c)
        f.setLogTimeZone(try zone.flatMap { try LogTimeZone.identifier($0) })
        return f
    }

    static func parse(
        _ line: String, headers: String? = "host,user-agent,referer", cookie: String? = "uid", zone: String? = nil
    ) throws -> AWSLoadBalancerFormatTests.Parsed {
        AWSLoadBalancerFormatTests.parse(try format(headers: headers, cookie: cookie, zone: zone), line)
    }

    @Test("client, accept date, status, size, cookie, captured headers and request are read")
    func fields() throws {
        let p = try Self.parse(
            Self.line(
                cookie: "uid=c0ffee42", captures: " {Shop.Example.com|\(Self.agent)|https://www.example.org/a}",
                request: "\"GET /pricing?utm_source=mail HTTP/1.1\""))
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.10")
        #expect(p.record.timestamp == 1_795_868_054 && p.record.milliseconds == 655)  // 2026-11-28T12:14:14Z
        #expect(p.record.status == 200 && p.record.bytes == 2750)
        #expect(p.text(p.record.cookie) == "c0ffee42")
        #expect(p.text(p.record.site) == "Shop.Example.com")
        #expect(p.text(p.record.userAgent) == Self.agent && p.record.userAgentLogged)
        #expect(p.text(p.record.referrer) == "https://www.example.org/a")
        #expect(p.text(p.record.method) == "GET" && p.text(p.record.target) == "/pricing?utm_source=mail")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.record.user.isEmpty && p.record.forwardedFor.isEmpty)
    }

    @Test(
        "the syslog header, whatever its form, is skipped",
        arguments: [
            "Nov 28 12:14:14 lb1 haproxy[14389]: ",
            "Nov  8 02:04:04 lb1 haproxy[1]: ",
            "2026-11-28T12:14:14.655123+01:00 lb1 haproxy[14389]: ",
            "<134>1 2026-11-28T12:14:14.655Z lb1 haproxy 14389 - - ",
            "<134>Nov 28 12:14:14 haproxy[7]: ",
            "<6>",
            "<134>Nov 28 12:14:14 lb1 haproxy[7]:",
            "Nov 28 12:14:14 lb1 haproxy: ",
            "",
        ])
    func syslogHeaders(header: String) throws {
        let p = try Self.parse(Self.line(header: header))
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.10")
        #expect(p.record.timestamp == 1_795_868_054)
    }

    @Test(
        "the client's port follows its last colon",
        arguments: [
            ("192.0.2.7:2817", "192.0.2.7"), ("2001:db8::7:50719", "2001:db8::7"),
            ("::ffff:192.0.2.9:443", "::ffff:192.0.2.9"), ("[2001:db8::9]:443", "2001:db8::9"),
            ("<6>[2001:db8::9]:443", "2001:db8::9"), ("haproxy[7]:[2001:db8::9]:443", "2001:db8::9"),
        ])
    func clients(written: String, address: String) throws {
        let p = try Self.parse(Self.line(client: written))
        #expect(p.result == .record && p.text(p.record.clientAddress) == address)
    }

    @Test("accept dates are read in the zone given, with summer time, to the millisecond")
    func zones() throws {
        // 12:14:14 in Berlin in November (UTC+1) and in July (UTC+2).
        let winter = try Self.parse(Self.line(), zone: "Europe/Berlin")
        #expect(winter.record.timestamp == 1_795_868_054 - 3600)
        let summer = try Self.parse(Self.line(date: "28/Jul/2026:12:14:14.655"), zone: "Europe/Berlin")
        #expect(summer.record.timestamp == 1_785_240_854 - 7200)
        let kolkata = try Self.parse(Self.line(date: "28/Nov/2026:12:14:14"), zone: "Asia/Kolkata")
        #expect(kolkata.record.timestamp == 1_795_868_054 - 19_800 && kolkata.record.milliseconds == 0)
        // Fractions of 1 to 9 digits; milliseconds kept.
        for (fraction, millis) in [(".5", 500), (".05", 50), (".655123", 655), (".123456789", 123)] {
            let p = try Self.parse(Self.line(date: "28/Nov/2026:12:14:14" + fraction))
            #expect(p.result == .record && p.record.milliseconds == Int16(millis), "\(fraction)")
        }
        // Berlin's clocks went back at 03:00 CEST on 2026-10-25 (01:00Z): 02:30 is read as its
        // first occurrence (CEST, 00:30Z); they went forward at 02:00 CET on 2026-03-29 (01:00Z),
        // and 02:30, which never was, is read with the offset before (CET, 01:30Z).
        // New York's clocks went back at 02:00 EDT on 2026-11-01 (06:00Z) and forward at 02:00
        // EST on 2026-03-08 (07:00Z): the same rules west of Greenwich.
        for (date, zone, utc) in [
            ("25/Oct/2026:02:30:00", "Europe/Berlin", 1_792_888_200),  // 2026-10-25T00:30:00Z
            ("25/Oct/2026:03:00:00", "Europe/Berlin", 1_792_893_600),  // 2026-10-25T02:00:00Z
            ("29/Mar/2026:01:59:59", "Europe/Berlin", 1_774_745_999),  // 2026-03-29T00:59:59Z
            ("29/Mar/2026:02:30:00", "Europe/Berlin", 1_774_747_800),  // 2026-03-29T01:30:00Z
            ("29/Mar/2026:03:00:00", "Europe/Berlin", 1_774_746_000),  // 2026-03-29T01:00:00Z
            ("01/Nov/2026:01:30:00", "America/New_York", 1_793_511_000),  // 2026-11-01T05:30:00Z
            ("01/Nov/2026:02:00:00", "America/New_York", 1_793_516_400),  // 2026-11-01T07:00:00Z
            ("08/Mar/2026:02:30:00", "America/New_York", 1_772_955_000),  // 2026-03-08T07:30:00Z
            ("08/Mar/2026:03:00:00", "America/New_York", 1_772_953_200),  // 2026-03-08T07:00:00Z
        ] {
            let p = try Self.parse(Self.line(date: date), zone: zone)
            #expect(p.result == .record && p.record.timestamp == Int64(utc), "\(date) \(zone)")
        }
    }

    @Test("one parser converts many dates in turn, its remembered minute never leaking into the next")
    func clockCache() throws {
        var f = try Self.format(zone: "America/New_York")
        for (date, utc) in [
            ("28/Nov/2026:12:14:14", 1_795_868_054 + 5 * 3600),
            ("28/Jul/2026:12:14:14", 1_785_240_854 + 4 * 3600),
            ("28/Jul/2026:12:14:59", 1_785_240_899 + 4 * 3600),
            ("28/Nov/2026:12:14:15", 1_795_868_055 + 5 * 3600),
        ] {
            var bytes = Array(Self.line(date: date).utf8)
            var record = LogRecord()
            let r = bytes.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
            #expect(r == .record && record.timestamp == Int64(utc), "\(date)")
        }
    }

    @Test("the captured cookie is the visitor's only under the name given")
    func cookies() throws {
        let uid = try Self.parse(Self.line(cookie: "uid=c0ffee42"))
        #expect(uid.text(uid.record.cookie) == "c0ffee42")
        // A load balancer's own cookie, the same for many visitors, is never a visitor's.
        for (word, name) in [("SERVERID=s1", "uid"), ("xuid=c0ffee42", "uid"), ("uid=", "uid"), ("-", "uid")] {
            let p = try Self.parse(Self.line(cookie: word), cookie: name)
            #expect(p.result == .record && p.record.cookie.isEmpty, "\(word)")
        }
        let unnamed = try Self.parse(Self.line(cookie: "uid=c0ffee42"), cookie: nil)
        #expect(unnamed.result == .record && unnamed.record.cookie.isEmpty)
        // As HAProxy's `capture cookie` matches it: a prefix of the name, or the exact name
        // when it ends with `=`.
        for (word, name, value) in [
            ("ASPSESSIONIDQQ=abc", "ASPSESSION", "abc"), ("uidx=c0ffee42", "uid=", ""),
            ("uid=c0ffee42", "uid=", "c0ffee42"),
            ("uid=a=b", "uid", "a=b"),
        ] {
            let p = try Self.parse(Self.line(cookie: word), cookie: name)
            #expect(p.result == .record && p.text(p.record.cookie) == value, "\(word) \(name)")
        }
    }

    @Test("captured headers follow the names given: fewer values, other headers, none mapped")
    func captures() throws {
        // Names beyond the values a line has leave those fields empty.
        let short = try Self.parse(Self.line(captures: " {www.example.com}"))
        #expect(short.result == .record && short.text(short.record.site) == "www.example.com")
        #expect(short.record.userAgent.isEmpty && short.record.userAgentLogged)
        // Another header keeps its place; x-forwarded-for is read.
        let other = try Self.parse(
            Self.line(captures: " {abc-123|198.51.100.4, 10.0.0.1|\(Self.agent)}"),
            headers: "X-Request-ID,X-Forwarded-For,User-Agent")
        #expect(other.text(other.record.forwardedFor) == "198.51.100.4, 10.0.0.1")
        #expect(other.text(other.record.userAgent) == Self.agent && other.record.site.isEmpty)
        // A response-header group after the request's is not read.
        let both = try Self.parse(Self.line(captures: " {www.example.com|\(Self.agent)|} {text/html|max-age=60}"))
        #expect(both.result == .record && both.text(both.record.userAgent) == Self.agent)
        #expect(both.text(both.record.method) == "GET")
        // Without names: no user agent logged, and the groups are passed over.
        let unnamed = try Self.parse(Self.line(), headers: nil)
        #expect(unnamed.result == .record && !unnamed.record.userAgentLogged && unnamed.record.site.isEmpty)
        let bare = try Self.parse(Self.line(captures: ""), headers: nil)
        #expect(bare.result == .record && bare.text(bare.record.target) == "/index.html")
        // Names given, but a line without the group (another frontend's): no user agent logged,
        // not an empty one (a bot's).
        let groupless = try Self.parse(Self.line(captures: ""))
        #expect(groupless.result == .record && !groupless.record.userAgentLogged && groupless.record.userAgent.isEmpty)
        // A captured Host that is no host name names no site.
        for value in ["Alice Smith 555-0100", "https://www.example.org/?q=a", "", "-x.example.com"] {
            let p = try Self.parse(Self.line(captures: " {\(value)|\(Self.agent)|}"))
            #expect(p.result == .record && p.record.site.isEmpty, "\(value)")
        }
        let port = try Self.parse(Self.line(captures: " {www.example.com:8443|\(Self.agent)|}"))
        #expect(port.text(port.record.site) == "www.example.com:8443")
    }

    @Test("an HTTP/2 request's absolute URL names no site: its HTTP/1.1 requests' targets have no host")
    func urlSite() throws {
        let p = try Self.parse(
            Self.line(captures: "", request: "\"GET https://www.example.com/a?b=1 HTTP/2.0\""), headers: nil)
        #expect(p.result == .record && p.record.site.isEmpty)
        #expect(p.text(p.record.target) == "https://www.example.com/a?b=1")
        // The captured Host names it.
        let host = try Self.parse(Self.line(request: "\"GET https://cdn.example.net/a HTTP/2.0\""))
        #expect(host.text(host.record.site) == "www.example.com")
    }

    @Test("what HAProxy writes besides requests: kept, skipped or repaired as a reader expects")
    func otherLines() throws {
        // A client gone before any response.
        #expect(try Self.parse(Self.line(timers: "-1/-1/-1/-1/0", status: "-1", bytes: "0")).result == .skip)
        // A bad request HAProxy answered itself: a request of nothing, counted.
        let bad = try Self.parse(
            Self.line(timers: "-1/-1/-1/-1/0", status: "400", bytes: "187", captures: " {||}", request: "\"<BADREQ>\""))
        #expect(
            bad.result == .record && bad.record.status == 400 && bad.record.method.isEmpty && bad.record.target.isEmpty)
        // `option logasap`'s sizes.
        #expect(try Self.parse(Self.line(bytes: "+2750")).record.bytes == 2750)
        // `option httpslog`: TLS fields after the request.
        let tls = try Self.parse(
            Self.line() + " 0/0000000000000000/0/0/0 www.example.com/TLSv1.3/TLS_AES_256_GCM_SHA384")
        #expect(tls.result == .record && tls.text(tls.record.protocolVersion) == "HTTP/1.1")
        // A line cut inside its request (HAProxy's log line length): kept, flagged.
        var f = try Self.format()
        var cut = Array(Self.line(request: "\"GET /a/very/long/pa").utf8)
        var record = LogRecord()
        let r = cut.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
        #expect(r == .record && f.lastRecordWasRepaired && f.unterminatedQuoteCount == 1)
        // TCP mode (`option tcplog`) and HAProxy's own messages: skipped.
        for line in [
            "Nov 28 12:12:51 lb1 haproxy[14387]: 192.0.2.2:33313 [28/Nov/2026:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0",
            "Nov 28 12:12:51 lb1 haproxy[14387]: Proxy http-in started.",
            "Nov 28 12:12:51 lb1 haproxy[14387]: Server static/srv1 is DOWN, reason: Layer4 timeout, check duration: 2001ms.",
            "[WARNING]  (8) : Server static/srv1 is DOWN, reason: Layer4 timeout.",
            "Proxy stats started.",
            "Nov 28 12:12:51 lb1 haproxy[14387]: 192.0.2.1:56059 [28/Nov/2026:12:14:14.380] fe/1: SSL handshake failure",
            "192.0.2.1:56059 [28/Nov/2026:12:14:14.380] fe-https/2: Timeout during SSL handshake",
        ] {
            #expect(try Self.parse(line).result == .skip, "\(line)")
        }
    }

    @Test(
        "malformed lines are rejected with their reason",
        arguments: [
            (line(date: "28/Xyz/2026:12:14:14.655"), RejectReason.badTimestamp),
            (line(date: "31/Nov/2026:12:14:14.655"), .badTimestamp),
            (line(date: "28/Nov/2026:24:14:14.655"), .badTimestamp),
            (line(date: "28/Nov/2026:12:14:14 +0100"), .badTimestamp),
            (line(date: "28/Nov/2026:12:14:14."), .badTimestamp),
            (line(status: "2x0"), .badStatus),
            (line(status: "600"), .badStatus),
            (line(status: "-"), .badStatus),
            (line(bytes: "12a"), .badBytes),
            (line(timers: "10/0/30"), .literalMismatch),
            (line(timers: "10/0/30/69"), .literalMismatch),
            (line(captures: " {www.example.com|"), .truncated),
            (line(request: "GET / HTTP/1.1\""), .literalMismatch),
            (line(captures: " {a} {b} {c}"), .literalMismatch),
            ("192.0.2.10:33317 [28/Nov/2026:12:14:14.655] http-in static/srv1 10/0/30/69/109 200", .truncated),
            ("Nov 28 12:14:14 lb1 haproxy[14389]: 192.0.2.10:33317 [28/Nov/2026:12:1", .truncated),
            ("Nov 28 12:14:14 lb1 haproxy[14389]: 192.0.2.10:33317", .truncated),
            ("2001:db8::1:443 [28/Nov", .truncated),
            ("192.0.2.10:33317 28/Nov/2026:12:14:14.655 http-in", .badTimestamp),
            (line(header: "\u{0}\u{1}garbage "), .binaryGarbage),
            ("\u{0}\u{0}\u{7}", .binaryGarbage),
            (" [28/Nov/2026:12:14:14.655] http-in static/srv1", .badAddress),
            // Cut short: truncated wherever the line ends.
            ("192.0.2.10:4242 [28", .truncated),
            ("Nov 28 12:14:14 lb1 haproxy[1]: 192.0.2.10:4242 [2", .truncated),
            ("Nov 28 12:14:14 lb1 haproxy[1]: 2001", .truncated),
            ("Nov 28 12:14:14 lb1 haproxy: 192.0.2.10:4242 [28/No", .truncated),
            ("192.0.2.10:4242 [28/Nov/2026:12:14:14.655] ", .truncated),
            ("192.0.2.10:4242 [28/Nov/2026:12:14:14.655] http-in static/srv1 0/0/1/3/4 20", .truncated),
            ("192.0.2.10:4242 [28/Nov/2026:12:14:14.655] http-in static/srv1 0/0/1/3/4 200 27", .truncated),
            ("192.0.2.10:4242 [28/Nov/2026:12:14:14.655] http-in static/srv1 0/0/1", .truncated),
            (
                "192.0.2.10:4242 [28/Nov/2026:12:14:14.655] http-in static/srv1 0/0/1/3/4 200 2750 - - ---- 1/1/1/1/0",
                .truncated
            ),
        ])
    func rejects(line: String, reason: RejectReason) throws {
        #expect(try Self.parse(line).result == .reject(reason), "\(line)")
    }

    @Test("HAProxy's lines are detected as haproxy, and other presets' lines are not read by it")
    func detection() throws {
        let lines = (0..<20).map { i in
            Array(Self.line(client: "192.0.2.\(i + 1):4\(i)00", request: "\"GET /a\(i) HTTP/1.1\"").utf8)
        }
        let d = FormatDetector.detect(lines)
        #expect(d.format.name == "haproxy" && d.parsed == 20)
        // A file of TCP-mode lines only is still HAProxy's.
        let tcp = (0..<5).map { i in
            Array("192.0.2.\(i + 1):4242 [28/Nov/2026:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0".utf8)
        }
        #expect(FormatDetector.detect(tcp).format.name == "haproxy")
        // A combined line (its CLF time has a zone) is no HAProxy line, and the reverse.
        let combined = FormatDetectorTests.textLine("combined", 0)
        #expect(try Self.parse(combined).result == .reject(.badTimestamp))
        #expect(try AWSLoadBalancerFormatTests.parse("combined", Self.line()).result != .record)
    }

    @Test("header names, cookie names and zones are checked")
    func configurationErrors() throws {
        var c = HAProxyConfiguration()
        #expect(throws: VeilError.self) { try c.setCapturedRequestHeaders("host,,user-agent") }
        #expect(throws: VeilError.self) { try c.setCapturedRequestHeaders("") }
        #expect(throws: VeilError.self) { try c.setCapturedRequestHeaders("user agent") }
        #expect(throws: VeilError.self) { try c.setCookieName("") }
        #expect(throws: VeilError.self) { try c.setCookieName("u=id") }
        #expect(throws: VeilError.self) { try c.setCookieName("=") }
        // Abbreviations name zones of Foundation's choosing (BST is Dhaka's); GMT+5 is east.
        for name in ["Mars/Olympus_Mons", "BST", "IST", "GMT+5", "UTC+5", "../zoneinfo/UTC", "/etc/localtime", ""] {
            #expect(throws: VeilError.self, "\(name)") { try LogTimeZone.identifier(name) }
        }
        for name in ["Etc/GMT-1", "Asia/Kolkata", "America/Los_Angeles", "EST"] {
            #expect(try LogTimeZone.identifier(name) == name)
        }
        #expect(throws: Never.self) { try c.setCapturedRequestHeaders(" Host , -,Referrer") }
        #expect(c.capturedRequestHeaders == [.host, .other, .referer])
        try c.setCookieName("__Host-sid")
        #expect(c.cookieName == Array("__Host-sid".utf8))
        #expect(try LogTimeZone.identifier("UTC") == nil && LogTimeZone.identifier("utc") == nil)
        #expect(try LogTimeZone.identifier("Asia/Kolkata") == "Asia/Kolkata")
    }
}
