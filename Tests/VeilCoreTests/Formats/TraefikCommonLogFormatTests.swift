import Testing

@testable import VeilCore

/// Traefik's default access log (`traefik_clf`): combined, then the requests Traefik has
/// received since it started, the router's name, the server's URL and the duration — a tail
/// checked from the end of the line and cut off before the rest is read as combined.
@Suite("Traefik's common log format")
struct TraefikCommonLogFormatTests {
    static let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

    /// A line as Traefik writes it, with the fields after the size put in.
    static func line(
        user: String = "-", bytes: String = "5123", referrer: String = "\"https://www.example.org/\"",
        agent: String = "\"\(agent)\"", tail: String = #"8412 "website@docker" "http://10.0.0.7:8080" 12ms"#
    ) -> String {
        "192.0.2.7 - \(user) [28/Nov/2026:10:00:00 +0100] \"GET /pricing?utm_source=mail HTTP/1.1\" 200 \(bytes) "
            + "\(referrer) \(agent) \(tail)"
    }

    static func parse(_ line: String) throws -> AWSLoadBalancerFormatTests.Parsed {
        try AWSLoadBalancerFormatTests.parse("traefik_clf", line)
    }

    @Test("the combined fields are read; the request count, router, server URL and duration are not")
    func fields() throws {
        let p = try Self.parse(Self.line(user: "alice"))
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.7")
        #expect(p.text(p.record.user) == "alice")
        #expect(p.record.timestamp == 1_795_856_400)  // 2026-11-28T09:00:00Z
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/pricing?utm_source=mail")
        #expect(p.record.status == 200 && p.record.bytes == 5123)
        #expect(p.text(p.record.referrer) == "https://www.example.org/")
        #expect(p.text(p.record.userAgent) == Self.agent)
        // Nothing after the user agent is an identifier of the visitor or names a site.
        #expect(p.record.cookie.isEmpty && p.record.forwardedFor.isEmpty && p.record.site.isEmpty)
    }

    @Test(
        "what Traefik writes for missing values: size 0, `\"-\"` referrer, router and server, or a bare `-` (v1, v2.1)",
        arguments: [#"1 "-" "-" 0ms"#, "1 - - 0ms", #"9 "ping@internal" - 0ms"#, #"9 - "http://10.0.0.7:8080" 1ms"#])
    func missingValues(_ tail: String) throws {
        let p = try Self.parse(Self.line(bytes: "0", referrer: #""-""#, tail: tail))
        #expect(p.result == .record)
        #expect(p.record.bytes == 0 && p.record.referrer.isEmpty)
        #expect(p.text(p.record.userAgent) == Self.agent)
    }

    @Test("a `-` or `0` status (Traefik knew of no response) is skipped, not rejected; `2x0` is rejected")
    func noStatus() throws {
        for status in ["-", "0"] {
            let line =
                "192.0.2.7 - - [28/Nov/2026:10:00:00 +0100] \"GET / HTTP/1.0\" \(status) \(status) \"-\" \"-\" 746 \"-\" \"-\" 0ms"
            #expect(try Self.parse(line).result == .skip, "\(status)")
        }
        let bad = "192.0.2.7 - - [28/Nov/2026:10:00:00 +0100] \"GET / HTTP/1.0\" 2x0 5 \"-\" \"-\" 746 \"-\" \"-\" 0ms"
        #expect(try Self.parse(bad).result == .reject(.badStatus))
    }

    @Test("Traefik writes header values without escapes: a user agent with quotes inside keeps its line")
    func quotesInAgent() throws {
        let agent = #"Mozilla/5.0 "compat" Googlebot/2.1 (+http://www.google.com/bot.html)"#
        let p = try Self.parse(Self.line(agent: "\"\(agent)\""))
        #expect(p.result == .record)
        #expect(p.text(p.record.userAgent) == agent, "the whole user agent, so the bot is known")
        #expect(p.record.status == 200 && p.record.bytes == 5123)
    }

    @Test(
        "lines that are not Traefik's are rejected, so detection does not prefer it",
        arguments: [
            // Combined: nothing after the user agent.
            ("combined", ""),
            // Combined with a cookie: a quoted field where the request count belongs.
            ("combined_cookie", #""c0ffee""#),
            // The duration without its unit.
            ("no unit", #"8412 "website@docker" "http://10.0.0.7:8080" 12"#),
            // The server's URL missing.
            ("no server", #"8412 "website@docker" 12ms"#),
            // A request count that is not a number.
            ("count", #"x "website@docker" "http://10.0.0.7:8080" 12ms"#),
            // A router that is neither quoted nor `-`.
            ("bare router", #"8412 website@docker "http://10.0.0.7:8080" 12ms"#),
        ])
    func notTraefik(_ why: String, _ tail: String) throws {
        let p = try Self.parse(Self.line(tail: tail))
        #expect(p.result != .record, "\(why)")
        #expect(p.result == .reject(tail.hasSuffix("ms") ? .literalMismatch : .truncated), "\(why)")
    }

    @Test("Traefik's lines are detected as its own, not as a cookie log whose cookie is the server's URL")
    func detected() throws {
        let sample = (0..<64).map { i in
            Array(Self.line(tail: "\(900 + i) \"website@docker\" \"http://10.0.0.7:8080\" \(i)ms").utf8)
        }
        let d = FormatDetector.detect(sample)
        #expect(d.format.name == "traefik_clf" && d.parsed == 64)
        // Why the order matters: read as `combined_cookie`, the user agent runs on to the
        // router's closing quote and every line has the same "cookie".
        let wrong = try AWSLoadBalancerFormatTests.parse("combined_cookie", Self.line())
        #expect(wrong.result == .record)
        #expect(wrong.text(wrong.record.cookie) == "http://10.0.0.7:8080")
    }
}
