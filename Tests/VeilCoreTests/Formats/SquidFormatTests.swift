import Testing

@testable import VeilCore

/// Squid's native access log (`squid`).
@Suite struct SquidFormatTests {
    /// A native log line (`%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`);
    /// 2026-11-28T11:14:14.108Z.
    static func line(
        time: String = "1795864454.108", elapsed: String = "   180", client: String = "192.0.2.10",
        code: String = "TCP_MISS/200", bytes: String = "13654", method: String = "GET",
        url: String = "http://www.example.com/blog/a?utm_source=news", user: String = "-",
        type: String = "text/html"
    ) -> String {
        "\(time) \(elapsed) \(client) \(code) \(bytes) \(method) \(url) \(user) HIER_DIRECT/203.0.113.5 \(type)"
    }

    static func parse(_ line: String) throws -> AWSLoadBalancerFormatTests.Parsed {
        try AWSLoadBalancerFormatTests.parse("squid", line)
    }

    @Test("time, client, status, size, method and URL are read; the URL's host names the site; no user agent")
    func fields() throws {
        let p = try Self.parse(Self.line())
        #expect(p.result == .record)
        #expect(p.record.timestamp == 1_795_864_454 && p.record.milliseconds == 108)
        #expect(p.text(p.record.clientAddress) == "192.0.2.10")
        #expect(p.record.status == 200 && p.record.bytes == 13654)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "http://www.example.com/blog/a?utm_source=news")
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(!p.record.userAgentLogged && p.record.userAgent.isEmpty && p.record.referrer.isEmpty)
        #expect(p.record.user.isEmpty && p.record.cookie.isEmpty)
        #expect(TextFormat.preset("squid")?.logsUserAgent == false)
    }

    @Test("IPv6 clients, padded and unpadded elapsed times, a user, an https URL with a port, trailing text")
    func variants() throws {
        let p = try Self.parse(
            Self.line(
                elapsed: "123456789", client: "2001:db8::7", url: "https://shop.example.org:8443/cart", user: "alice")
                + " extra")
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "2001:db8::7")
        #expect(p.text(p.record.user) == "alice")
        #expect(p.text(p.record.site) == "shop.example.org:8443")
        let tight = try Self.parse(Self.line(elapsed: "5"))
        #expect(tight.result == .record && tight.record.status == 200)
    }

    @Test("a CONNECT names its host and has no target; an error line names no site")
    func connectAndErrors() throws {
        let c = try Self.parse(
            Self.line(code: "TCP_TUNNEL/200", method: "CONNECT", url: "www.example.com:443", type: "-"))
        #expect(c.result == .record)
        #expect(c.text(c.record.site) == "www.example.com:443")
        #expect(c.record.target.isEmpty)
        let e = try Self.parse(
            Self.line(code: "NONE_NONE/400", bytes: "3910", method: "NONE", url: "error:invalid-request"))
        #expect(e.result == .record && e.record.status == 400)
        #expect(e.record.site.isEmpty)
        #expect(e.text(e.record.target) == "error:invalid-request")
    }

    @Test("ICAP and cache manager lines (Squid's own traffic) are skipped")
    func ownTraffic() throws {
        for (method, url) in [
            ("REQMOD", "icap://127.0.0.1:1344/request"), ("RESPMOD", "icap://127.0.0.1:1344/response"),
            ("GET", "cache_object://localhost/info"),
        ] {
            #expect(try Self.parse(Self.line(code: "ICAP_MOD/200", method: method, url: url)).result == .skip, "\(url)")
        }
        #expect(try Self.parse(Self.line(url: "http://cache_object.example.com/a")).result == .record)
    }

    @Test("status 000 (no response sent) is skipped, not rejected")
    func noResponse() throws {
        for code in ["TCP_MISS_ABORTED/000", "NONE_NONE/000", "TAG_NONE/000"] {
            let p = try Self.parse(Self.line(code: code, bytes: "0"))
            #expect(p.result == .skip, "\(code)")
            #expect(p.record.timestamp == 1_795_864_454, "the time is read, as --format auto counts skipped lines")
        }
    }

    @Test(
        "rejects, each with its reason",
        arguments: [
            (line(time: "17958X4454.108"), RejectReason.badTimestamp),
            (line(code: "TCP_MISS"), .badStatus),
            (line(code: "TCP_MISS/2x0"), .badStatus),
            (line(code: "TCP_MISS/999"), .badStatus),
            (line(bytes: "-"), .badBytes),
            (line(type: ""), .truncated),
            ("1795864454.108    180 192.0.2.10 TCP_MISS/200 13654 GET http://www.example.com/a", .truncated),
            (line(user: "al\u{1}ice"), .binaryGarbage),
        ])
    func rejects(_ text: String, _ reason: RejectReason) throws {
        let p = try Self.parse(text)
        #expect(p.result == .reject(reason), "\(text)")
    }

    @Test("a line cut anywhere before its content type is truncated")
    func everyCut() throws {
        let text = Self.line()
        let typeStart = text.count - "text/html".count
        for cut in 1..<typeStart {
            let p = try Self.parse(String(text.prefix(cut)))
            #expect(p.result == .reject(.truncated), "cut at \(cut)")
        }
    }
}
