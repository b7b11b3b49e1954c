import Testing

@testable import VeilCore

/// One parsed line: the result, the record, and the line's bytes after in-place unescaping.
private struct Parsed {
    var result: ParseResult
    var record: LogRecord
    var bytes: [UInt8]

    /// The text of a range (lossy for invalid UTF-8; use `raw` to compare bytes).
    func text(_ r: ByteRange) -> String {
        String(decoding: raw(r), as: UTF8.self)
    }

    func raw(_ r: ByteRange) -> [UInt8] {
        Array(bytes[Int(r.start)..<Int(r.end)])
    }
}

private func parse(_ format: inout TextFormat, _ bytes: [UInt8]) -> Parsed {
    var bytes = bytes
    var record = LogRecord()
    let result = bytes.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
    return Parsed(result: result, record: record, bytes: bytes)
}

private func parse(_ format: inout TextFormat, _ line: String) -> Parsed {
    parse(&format, Array(line.utf8))
}

private func preset(_ name: String) throws -> TextFormat {
    try #require(TextFormat.preset(name))
}

private let chromeUA =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
/// 2000-10-10T20:55:36Z
private let t0: Int64 = 971_211_336

@Suite struct TextFormatPresetTests {
    @Test func common() throws {
        var f = try preset("common")
        #expect(f.name == "common")
        let p = parse(&f, #"192.0.2.10 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#)
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.10")
        #expect(p.text(p.record.user) == "frank")
        #expect(p.record.timestamp == t0)
        #expect(p.record.milliseconds == 0)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/apache_pb.gif")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.0")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 2326)
        #expect(p.record.referrer.isEmpty)
        #expect(p.record.userAgent.isEmpty)
        #expect(!p.record.userAgentLogged, "common has no User-Agent field: the agent is unknown, not empty")
        #expect(MemoryLayout<LogRecord>.stride == 128, "a record is two cache lines (the two threads' batches)")
        #expect(p.record.site.isEmpty)
        #expect(p.record.cookie.isEmpty)
        // A combined line's `-` user agent is logged (and empty): a bot's.
        var c = try preset("combined")
        let q = parse(&c, #"192.0.2.10 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "-""#)
        #expect(q.result == .record && q.record.userAgent.isEmpty && q.record.userAgentLogged)
        // A format string without one, and with one.
        var noAgent = try TextFormat(nginx: #"$remote_addr [$time_local] "$request" $status $body_bytes_sent"#)
        #expect(
            !parse(&noAgent, #"192.0.2.10 [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 5"#).record.userAgentLogged)
        var withAgent = try TextFormat(nginx: #"$remote_addr [$time_local] "$request" $status "$http_user_agent""#)
        #expect(
            parse(&withAgent, #"192.0.2.10 [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 "-""#).record
                .userAgentLogged)
    }

    @Test func combined() throws {
        var f = try preset("combined")
        #expect(f.name == "combined")
        let line =
            #"203.0.113.7 - - [10/Oct/2000:13:55:36 -0700] "GET /a/b?c=d&utm_source=x HTTP/1.1" 304 - "https://www.example.com/start?q=1" ""#
            + chromeUA + #"""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "203.0.113.7")
        #expect(p.record.user.isEmpty)
        #expect(p.record.timestamp == t0)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/a/b?c=d&utm_source=x")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.record.status == 304)
        #expect(p.record.bytes == 0)
        #expect(p.text(p.record.referrer) == "https://www.example.com/start?q=1")
        #expect(p.text(p.record.userAgent) == chromeUA)
        #expect(p.record.forwardedFor.isEmpty)
        #expect(!f.lastRecordHadUnterminatedQuote)
    }

    @Test func vhostCombined() throws {
        var f = try preset("vhost_combined")
        let line =
            #"www.example.com:443 198.51.100.4 - - [10/Oct/2000:22:55:36 +0200] "POST /login HTTP/2.0" 302 512 "-" "curl/8.4.0""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(p.text(p.record.clientAddress) == "198.51.100.4")
        #expect(p.record.timestamp == t0)
        #expect(p.text(p.record.method) == "POST")
        #expect(p.text(p.record.target) == "/login")
        #expect(p.text(p.record.protocolVersion) == "HTTP/2.0")
        #expect(p.record.status == 302)
        #expect(p.record.bytes == 512)  // %O
        #expect(p.record.referrer.isEmpty)
        #expect(p.text(p.record.userAgent) == "curl/8.4.0")
        // Spelled with a hyphen.
        #expect(TextFormat.preset("vhost-combined")?.name == "vhost_combined")
    }

    @Test(
        "a virtual host that is an IPv6 literal, with or without brackets, keeps all of it",
        arguments: ["vhost_combined", "vhost_common", "apache"])
    func vhostIPv6(_ name: String) throws {
        var f =
            name == "apache"
            ? try TextFormat(apache: #"%v:%p %h %l %u %t "%r" %>s %b "%{User-Agent}i""#) : try preset(name)
        let tail = #" 198.51.100.4 - - [10/Oct/2000:22:55:36 +0200] "GET / HTTP/1.1" 200 5 "-" "curl/8.4.0""#
        for (head, site) in [
            ("2001:db8::2:443", "2001:db8::2"), ("[2001:db8::3]:443", "[2001:db8::3]"), ("::1:80", "::1"),
            ("www.example.com:443", "www.example.com"),
        ] {
            let p = parse(&f, head + tail)
            #expect(p.result == .record, "\(head)")
            #expect(p.text(p.record.site) == site, "\(head)")
            #expect(p.text(p.record.clientAddress) == "198.51.100.4", "\(head)")
        }
    }

    @Test func combinedCookie() throws {
        var f = try preset("combined_cookie")
        let line =
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0" "uid=abc123""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.cookie) == "uid=abc123")
        #expect(p.text(p.record.userAgent) == "UA/1.0")
        #expect(p.record.forwardedFor.isEmpty)
    }

    @Test func combinedCookieXFF() throws {
        var f = try preset("combined_cookie_xff")
        let line =
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0" "c0ffee" "203.0.113.7, 198.51.100.2""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.cookie) == "c0ffee")
        #expect(p.text(p.record.forwardedFor) == "203.0.113.7, 198.51.100.2")
        #expect(p.text(p.record.clientAddress) == "192.0.2.1")
    }

    @Test func combinedXFF() throws {
        var f = try preset("combined_xff")
        let line =
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0" "203.0.113.7, 198.51.100.2""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.forwardedFor) == "203.0.113.7, 198.51.100.2")
        #expect(p.record.cookie.isEmpty)
        let dash = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0" "-""#)
        #expect(dash.result == .record)
        #expect(dash.record.forwardedFor.isEmpty)
    }

    @Test func presetNames() throws {
        #expect(TextFormat.preset("apache") == nil)
        #expect(TextFormat.preset("") == nil)
        #expect(
            TextFormat.presetNames == [
                "common", "combined", "vhost_combined", "vhost_common", "combined_cookie", "combined_cookie_xff",
                "combined_xff", "traefik_clf", "aws_alb", "aws_elb", "aws_s3", "haproxy", "squid",
            ])
        #expect(TextFormat(try CompiledFormat.apache("%h"), name: "mine").name == "mine")
    }

    @Test func commonAcceptsCombinedLines() throws {
        // Extra text after the last field is ignored.
        var f = try preset("common")
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0""#)
        #expect(p.result == .record)
        #expect(p.record.bytes == 10)
        #expect(p.record.userAgent.isEmpty)
    }

    @Test func extraFieldsAfterCombined() throws {
        var f = try preset("combined")
        let p = parse(
            &f,
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0" "extra" 0.123 www.example.com"#
        )
        #expect(p.result == .record)
        #expect(p.text(p.record.userAgent) == "UA/1.0")
    }
}

@Suite struct TextFormatAddressTests {
    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("192.0.2.1:5678", "192.0.2.1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("host.example.com", "host.example.com"),
        ("-", ""),
    ])
    func clientAddress(_ written: String, _ expected: String) throws {
        var f = try preset("combined")
        let p = parse(&f, written + #" - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-""#)
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == expected)
    }

    @Test(arguments: [
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1", "[2001:db8::1"),  // no closing bracket: unchanged
        ("2001:db8::1", "2001:db8::1"),
        ("192.0.2.1:5678", "192.0.2.1"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:", "192.0.2.1:"),  // empty port: unchanged
        ("192.0.2.1:80a", "192.0.2.1:80a"),
        ("host.example.com", "host.example.com"),
        ("host.example.com:8080", "host.example.com"),
        ("", ""),
    ])
    func hostPort(_ written: String, _ expected: String) {
        let line = Array(("xx" + written + "yy").utf8)
        let r = line.withUnsafeBufferPointer {
            HostPort.address(in: $0, ByteRange(2, 2 + written.utf8.count))
        }
        #expect(String(decoding: line[Int(r.start)..<Int(r.end)], as: UTF8.self) == expected)
    }
}

@Suite struct TextFormatStringTests {
    /// The nginx format from the issue.
    @Test func nginxIssueFormat() throws {
        let format =
            #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$cookie_uid""#
        var f = try TextFormat(nginx: format)
        #expect(f.name == "nginx:" + format)
        let line =
            #"2001:db8::7 - alice [10/Oct/2000:13:55:36 -0700] "GET /p?x=1 HTTP/1.1" 200 612 "https://example.com/" "UA \x22quoted\x22 /1.0" "v1.abcdef""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "2001:db8::7")
        #expect(p.text(p.record.user) == "alice")
        #expect(p.record.timestamp == t0)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/p?x=1")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 612)
        #expect(p.text(p.record.referrer) == "https://example.com/")
        #expect(p.text(p.record.userAgent) == #"UA "quoted" /1.0"#)
        #expect(p.text(p.record.cookie) == "v1.abcdef")
        #expect(
            f.compiled.capturedFields == [
                .clientAddress, .user, .timestamp, .method, .target, .protocolVersion, .status,
                .bytes, .referrer, .userAgent, .cookie,
            ])
    }

    /// The Apache format from the issue, as written in httpd.conf (with `\"`).
    @Test func apacheIssueFormat() throws {
        let format = #"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" \"%{uid}C\""#
        var f = try TextFormat(apache: format)
        #expect(f.name == "apache:" + format)
        let line =
            #"192.0.2.44 - - [10/Oct/2000:13:55:36 -0700] "GET /shop/item/42 HTTP/1.1" 200 1234 "-" "Mozilla/5.0 \"x\" \\ y" "uid=00ff""#
        let p = parse(&f, line)
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.44")
        #expect(p.record.timestamp == t0)
        #expect(p.text(p.record.target) == "/shop/item/42")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 1234)
        #expect(p.record.referrer.isEmpty)
        #expect(p.text(p.record.userAgent) == #"Mozilla/5.0 "x" \ y"#)
        #expect(p.text(p.record.cookie) == "uid=00ff")
        // The same format as a plain string compiles to the same program.
        let plain = try CompiledFormat.apache(
            #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{uid}C""#)
        #expect(plain.literals == f.compiled.literals)
        // And pasted with its httpd.conf quotes.
        let pasted = try CompiledFormat.apache("\"" + format + "\"")
        #expect(pasted.literals == f.compiled.literals)
    }

    @Test func nginxPastedFromConfig() throws {
        let conf = #"'$remote_addr - $remote_user [$time_local] "$request" ' '$status $body_bytes_sent';"#
        var f = try TextFormat(nginx: conf)
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 404 0"#)
        #expect(p.result == .record)
        #expect(p.record.status == 404)
    }

    @Test func nginxPathArgsAndISOTime() throws {
        var f = try TextFormat(
            nginx:
                #"$remote_addr [$time_iso8601] "$request_method $uri$is_args$args $server_protocol" ${status} $bytes_sent $request_time $upstream_response_time"#
        )
        let p = parse(&f, #"192.0.2.1 [2000-10-10T22:55:36+02:00] "GET /a/b?c=d HTTP/1.1" 200 99 0.004 0.003"#)
        #expect(p.result == .record)
        #expect(p.record.timestamp == t0)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/a/b?c=d")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 99)
        let noQuery = parse(&f, #"192.0.2.1 [2000-10-10T22:55:36+02:00] "GET /a/b HTTP/1.1" 200 99 0.004 -"#)
        #expect(noQuery.result == .record)
        #expect(noQuery.text(noQuery.record.target) == "/a/b")
    }

    @Test func nginxMsecAndUnbracketedTime() throws {
        var f = try TextFormat(nginx: "$msec $remote_addr $status")
        let p = parse(&f, "971211336.250 192.0.2.1 200")
        #expect(p.result == .record)
        #expect(p.record.timestamp == t0)
        #expect(p.record.milliseconds == 250)
        var g = try TextFormat(nginx: "$time_local $remote_addr $status")
        let q = parse(&g, "10/Oct/2000:13:55:36 -0700 192.0.2.1 200")
        #expect(q.result == .record)
        #expect(q.record.timestamp == t0)
        #expect(q.text(q.record.clientAddress) == "192.0.2.1")
    }

    @Test func apacheEpochAndISOTimes() throws {
        var a = try TextFormat(apache: "%{msec}t %a %>s")
        let p = parse(&a, "971211336123 192.0.2.1 200")
        #expect(p.record.timestamp == t0)
        #expect(p.record.milliseconds == 123)
        var b = try TextFormat(apache: "%{end:usec}t %a %>s")
        let q = parse(&b, "971211336123456 192.0.2.1 200")
        #expect(q.record.timestamp == t0)
        #expect(q.record.milliseconds == 123)
        var c = try TextFormat(apache: "[%{%Y-%m-%dT%H:%M:%S%z}t] %a %>s")
        let r = parse(&c, "[2000-10-10T13:55:36-0700] 192.0.2.1 200")
        #expect(r.result == .record)
        #expect(r.record.timestamp == t0)
        // strftime's `%F %T %z`: the offset after a space, bracketed or between spaces.
        for (format, line) in [
            ("[%{%Y-%m-%d %H:%M:%S %z}t] %a %>s", "[2000-10-10 13:55:36 -0700] 192.0.2.1 200"),
            ("%a %{begin:%F %T %z}t %>s", "192.0.2.1 2000-10-11 00:25:36 +0330 200"),
        ] {
            var e = try TextFormat(apache: format)
            let zoned = parse(&e, line)
            #expect(zoned.result == .record, "\(format)")
            #expect(zoned.record.timestamp == t0, "\(format)")
            #expect(zoned.record.status == 200, "\(format)")
            #expect(e.zonelessTimes == 0, "\(format)")
        }
        var d = try TextFormat(apache: "%{sec}t [%{%d/%b/%Y:%H:%M:%S %z}t] %h")
        let s = parse(&d, "1 [10/Oct/2000:13:55:36 -0700] 192.0.2.1")
        #expect(s.record.timestamp == 1)  // the first time directive wins
    }

    @Test func apacheSeparateRequestParts() throws {
        var f = try TextFormat(apache: #"%a %m "%U%q" %H %s %B %{Host}i %D"#)
        let p = parse(&f, #"192.0.2.1 GET "/x/y?z=1" HTTP/1.1 200 5 www.example.com 1234"#)
        #expect(p.result == .record)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/x/y?z=1")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.text(p.record.site) == "www.example.com")
    }

    @Test func directivePriorities() throws {
        // %a beats %h; %>s beats %s; %b beats %O; %v beats %{Host}i.
        var f = try TextFormat(apache: "%h %a %s %>s %O %b %{Host}i %v")
        let p = parse(&f, "host.example.com 192.0.2.9 302 200 900 800 a.example.com b.example.com")
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "192.0.2.9")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 800)
        #expect(p.text(p.record.site) == "b.example.com")
    }

    @Test func skippedUnknownFields() throws {
        var f = try TextFormat(nginx: #"$remote_addr "$http_x_custom" $status $upstream_addr"#)
        let p = parse(&f, #"192.0.2.1 "anything \x22 here" 200 192.0.2.200:8080"#)
        #expect(p.result == .record)
        #expect(p.record.status == 200)
        var g = try TextFormat(apache: #"%h "%{X-Custom}i" %>s %{X}e %k"#)
        #expect(parse(&g, #"192.0.2.1 "x" 200 y 0"#).result == .record)
    }

    @Test(arguments: [
        ("apache", "%h %Z", "%Z"),
        ("apache", "%h %{%Y-%m-%d}t", "%{%Y-%m-%d}t"),
        ("apache", "%h %{Referer", "%{Referer"),
        ("apache", "%h %", "%"),
        ("apache", "%h%l", "%h"),
        ("apache", "%h %i", "%i"),
        ("apache", "%h %C", "%C"),
        ("apache", "", "empty"),
        ("apache", "- - -", "no fields"),
        ("nginx", "$binary_remote_addr $status", "$binary_remote_addr"),
        ("nginx", "$remote_addr $", "invalid variable"),
        ("nginx", "$remote_addr ${status", "${status"),
        ("nginx", "$remote_addr$status", "$remote_addr"),
        ("nginx", #"'$remote_addr "' "$status'"#, "unterminated"),
    ])
    func badFormatStrings(_ dialect: String, _ format: String, _ named: String) {
        do {
            _ = dialect == "apache" ? try CompiledFormat.apache(format) : try CompiledFormat.nginx(format)
            Issue.record("\(dialect) format \(format) compiled")
        } catch {
            #expect(error.code == .badFormat)
            #expect(error.message.contains(named), "\(error.message)")
        }
    }
}

@Suite struct TextFormatLineTests {
    private static let good =
        #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA/1.0""#

    @Test func goodLineParses() throws {
        var f = try preset("combined")
        #expect(parse(&f, Self.good).result == .record)
    }

    /// Squid's `emulate_httpd_log` (common) lines of a transaction that sent no response.
    @Test("status 000 (no response sent) skips the line; 00, 0000 and 001 are bad statuses")
    func zeroStatusSkips() throws {
        for name in ["common", "combined"] {
            var f = try preset(name)
            let line =
                #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET http://www.example.com/a HTTP/1.1" 000 0"#
                + (name == "combined" ? #" "-" "-""# : " TCP_MISS:HIER_NONE")
            #expect(parse(&f, line).result == .skip, "\(name)")
            for status in ["00", "0000", "001"] {
                let bad = line.replacingOccurrences(of: "\" 000 ", with: "\" \(status) ")
                #expect(parse(&f, bad).result == .reject(.badStatus), "\(name) \(status)")
            }
        }
    }

    @Test(arguments: [
        // bad timestamps
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36] "GET / HTTP/1.1" 200 10 "-" "UA""#, RejectReason.badTimestamp),
        (#"192.0.2.1 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA""#, .badTimestamp),
        (#"192.0.2.1 - - [31/Apr/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA""#, .badTimestamp),
        (#"192.0.2.1 - - [10/Oct/2000:25:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA""#, .badTimestamp),
        (#"192.0.2.1 - - [-] "GET / HTTP/1.1" 200 10 "-" "UA""#, .badTimestamp),
        // bad status
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 099 10 "-" "UA""#, .badStatus),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 600 10 "-" "UA""#, .badStatus),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 2000 10 "-" "UA""#, .badStatus),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 2x0 10 "-" "UA""#, .badStatus),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" - 10 "-" "UA""#, .badStatus),
        // bad bytes
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1k "-" "UA""#, .badBytes),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 -5 "-" "UA""#, .badBytes),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1234567890123456789 "-" "UA""#, .badBytes),
        // unbalanced quotes (not in the last field)
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 200 10"#, .unbalancedQuote),
        (
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "https://example.com/"#,
            .unbalancedQuote
        ),
        // truncated lines
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10"#, .truncated),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200"#, .truncated),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700"#, .truncated),
        (#"192.0.2.1 - -"#, .truncated),
        (#"192.0.2.1"#, .truncated),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "#, .truncated),
        // literal mismatch
        (#"192.0.2.1 - - 10/Oct/2000:13:55:36 -0700 "GET / HTTP/1.1" 200 10 "-" "UA""#, .literalMismatch),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] GET / HTTP/1.1 200 10 "-" "UA""#, .literalMismatch),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" UA"#, .literalMismatch),
        (#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-""UA""#, .literalMismatch),
        (#"{"remote_addr": "192.0.2.1", "status": 200}"#, .literalMismatch),
        (#"192.0.2.1 - - [10/Oct/2000:13:5"#, .truncated),
    ])
    func malformed(_ line: String, _ reason: RejectReason) throws {
        var f = try preset("combined")
        #expect(parse(&f, line).result == .reject(reason), "\(line)")
    }

    @Test func binaryGarbage() throws {
        var f = try preset("combined")
        let good = Array(Self.good.utf8)
        let cases: [[UInt8]] = [
            [0, 0, 0, 0] + good,  // NULs before a line (copytruncate)
            Array(repeating: 0, count: 40),
            [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01],  // raw TLS handshake bytes
            Array("192.0.2.1 - \u{1B}[31m - [10".utf8),  // escape sequence in the user field
            Array("192.0.2.1 -\u{07}- [10".utf8),  // control byte where a literal space belongs
            good + [0x20, 0x00, 0x41],  // NUL in the extra text
        ]
        for bytes in cases {
            #expect(parse(&f, bytes).result == .reject(.binaryGarbage), "\(bytes.prefix(12))")
        }
    }

    @Test func blankLinesAreSkipped() throws {
        var f = try preset("combined")
        #expect(parse(&f, "").result == .skip)
        #expect(parse(&f, "   \t ").result == .skip)
    }

    @Test func invalidUTF8InUserAgentIsKept() throws {
        var f = try preset("combined")
        let prefix = Array(#"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "UA "#.utf8)
        let ua: [UInt8] = [0xFF, 0xFE, 0xC3, 0x28, 0x80, 0x41]
        let p = parse(&f, prefix + ua + [UInt8(ascii: "\"")])
        #expect(p.result == .record)
        #expect(p.raw(p.record.userAgent) == Array("UA ".utf8) + ua)
    }

    @Test func nginxHexEscapesBecomeBytes() throws {
        var f = try TextFormat(nginx: #"$remote_addr "$request" $status "$http_user_agent""#)
        let p = parse(&f, #"192.0.2.1 "GET /caf\xC3\xA9 HTTP/1.1" 200 "a\x5Cb\x22c \xZZ""#)
        #expect(p.result == .record)
        #expect(p.text(p.record.target) == "/café")
        #expect(p.text(p.record.userAgent) == #"a\b"c \xZZ"#)
    }

    @Test func rawQuoteInsideQuotedField() throws {
        // A `"` that is not followed by the format's next literal does not end the field.
        var f = try preset("combined")
        let p = parse(
            &f,
            #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "http://example.com/"x" "say "hi"""#)
        #expect(p.result == .record)
        #expect(p.text(p.record.referrer) == #"http://example.com/"x"#)
        #expect(p.text(p.record.userAgent) == #"say "hi""#)
    }

    // MARK: Unterminated last quoted field

    @Test func unterminatedUserAgentIsKeptAndFlagged() throws {
        var f = try preset("combined")
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "Mozilla/5.0 (cut"#)
        #expect(p.result == .record)
        #expect(p.text(p.record.userAgent) == "Mozilla/5.0 (cut")
        #expect(f.lastRecordHadUnterminatedQuote)
        #expect(f.unterminatedQuoteCount == 1)
        // The flag is per line.
        #expect(parse(&f, Self.good).result == .record)
        #expect(!f.lastRecordHadUnterminatedQuote)
        #expect(f.unterminatedQuoteCount == 1)
    }

    @Test func unterminatedUserAgentRejectedWhenStrict() throws {
        var f = try preset("combined")
        f.toleratesUnterminatedFinalQuote = false
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "Mozilla/5.0 (cut"#)
        #expect(p.result == .reject(.unbalancedQuote))
        #expect(f.unterminatedQuoteCount == 0)
    }

    @Test func unterminatedNonFinalFieldIsRejected() throws {
        // combined_cookie: the user agent is not the last field.
        var f = try preset("combined_cookie")
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 10 "-" "Mozilla/5.0 (cut"#)
        #expect(p.result == .reject(.unbalancedQuote))
    }

    // MARK: Request lines

    @Test(arguments: [
        (#""GET /a HTTP/1.1" 200"#, "GET", "/a", "HTTP/1.1"),
        (#""GET /a" 200"#, "GET", "/a", ""),  // HTTP/0.9
        (#""GET /a b HTTP/1.0" 200"#, "GET", "/a b", "HTTP/1.0"),  // space in the target
        (#""GET http://example.com/x HTTP/1.1" 200"#, "GET", "http://example.com/x", "HTTP/1.1"),
        (#""OPTIONS * HTTP/1.1" 200"#, "OPTIONS", "*", "HTTP/1.1"),
        (#""PRI * HTTP/2.0" 200"#, "PRI", "*", "HTTP/2.0"),
        (#""GET" 400"#, "GET", "", ""),
        (#""-" 408"#, "", "", ""),  // Apache's 408: no request line
        (#""" 400"#, "", "", ""),
        (#""\x16\x03\x01\x00\xa5\x01" 400"#, "", "", ""),  // TLS handshake on a plain port
        (#""/a HTTP/1.1" 400"#, "", "", ""),
        // Around the shortcuts for `GET ` and a final ` HTTP/x.y`:
        (#""GET /a HTTP/1.1 " 200"#, "GET", "/a", "HTTP/1.1"),  // trailing space
        (#""GET  /a  HTTP/1.1" 200"#, "GET", "/a", "HTTP/1.1"),
        (#""GET /a HTTP/1 1" 200"#, "GET", "/a HTTP/1 1", ""),  // a later space: no version
        (#""GET /a HTTP/ 11" 200"#, "GET", "/a HTTP/ 11", ""),
        (#""GET /a http/1.1" 200"#, "GET", "/a http/1.1", ""),
        (#""GET /HTTP/1.1" 200"#, "GET", "/HTTP/1.1", ""),  // no space before it
        (#""GET x/HTTP/1.1" 200"#, "GET", "x/HTTP/1.1", ""),
        (#""GET  HTTP/1.1" 200"#, "GET", "HTTP/1.1", ""),
        (#""GET /a/b.html HTTP/12.34" 200"#, "GET", "/a/b.html", "HTTP/12.34"),
        (#""GETS /a HTTP/1.1" 200"#, "GETS", "/a", "HTTP/1.1"),
        (#""GET\#t/a HTTP/1.1" 200"#, "", "", ""),  // a tab ends no method
        (#""GE /a HTTP/1.1" 200"#, "GE", "/a", "HTTP/1.1"),
        (#""GET " 200"#, "GET", "", ""),
    ])
    func requestLines(_ tail: String, _ method: String, _ target: String, _ proto: String) throws {
        var f = try preset("common")
        let p = parse(&f, "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] " + tail + " 0")
        #expect(p.result == .record)
        #expect(p.text(p.record.method) == method)
        #expect(p.text(p.record.target) == target)
        #expect(p.text(p.record.protocolVersion) == proto)
    }

    @Test func timestampCacheAcrossLines() throws {
        var f = try preset("common")
        var last: Int64 = 0
        for second in 0..<60 {
            let s = second < 10 ? "0\(second)" : "\(second)"
            let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:55:"# + s + #" -0700] "GET / HTTP/1.1" 200 1"#)
            #expect(p.record.timestamp == t0 - 36 + Int64(second))
            last = p.record.timestamp
        }
        let p = parse(&f, #"192.0.2.1 - - [10/Oct/2000:13:56:00 -0700] "GET / HTTP/1.1" 200 1"#)
        #expect(p.record.timestamp == last + 1)
    }
}
