import Testing

@testable import VeilCore

/// AWS Application and Classic Load Balancer access logs (`aws_alb`, `aws_elb`), and the
/// `client:port` field they are read with (`%a:%{remote}p`).
@Suite("AWS load balancer access logs")
struct AWSLoadBalancerFormatTests {
    /// An ALB line as AWS documents it (addresses from the documentation ranges), with
    /// `client`, `url` and `status` put in.
    static func albLine(client: String, url: String, status: String = "200") -> String {
        "h2 2026-11-28T10:00:00.186641Z app/my-lb/50dc6c495c0c9188 \(client) 10.0.0.1:80 0.000 0.001 0.000 "
            + "\(status) \(status) 34 366 \"GET \(url) HTTP/2.0\" "
            + "\"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\" "
            + "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
            + "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
            + "\"Root=1-58337262-36d228ad5d99923122bbe354\" \"www.example.com\" \"-\" 1 "
            + "2026-11-28T10:00:00.181000Z \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"\(status)\" \"-\" \"-\" TID_1"
    }

    /// A Classic Load Balancer line (HTTPS listener).
    static func elbLine(client: String, request: String, status: String = "200", agent: String = "curl/8.4.0")
        -> String
    {
        "2026-11-28T10:00:01.945958Z my-loadbalancer \(client) 10.0.0.1:80 0.000086 0.001048 0.001337 "
            + "\(status) \(status) 0 57 \"\(request)\" \"\(agent)\" DHE-RSA-AES128-SHA TLSv1.2"
    }

    struct Parsed {
        var result: ParseResult
        var record: LogRecord
        var bytes: [UInt8]
        func text(_ r: ByteRange) -> String { String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self) }
    }

    static func parse(_ preset: String, _ line: String) throws -> Parsed {
        parse(try #require(TextFormat.preset(preset)), line)
    }

    static func parse(_ format: TextFormat, _ line: String) -> Parsed {
        var format = format
        var bytes = Array(line.utf8)
        var record = LogRecord()
        let result = bytes.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
        return Parsed(result: result, record: record, bytes: bytes)
    }

    @Test(
        "the client's port follows its last colon: IPv6 without brackets keeps its own colons",
        arguments: [
            ("192.0.2.7:2817", "192.0.2.7"),
            ("2001:db8:4538:1:bcf4:5264:e01c:f215:50718", "2001:db8:4538:1:bcf4:5264:e01c:f215"),
            ("2001:db8::7:50719", "2001:db8::7"),
            ("2001:db8:::50720", "2001:db8::"),
            ("[2001:db8::9]:443", "2001:db8::9"),
            // No port after the last colon: the field as written.
            ("192.0.2.8", "192.0.2.8"),
            ("192.0.2.8:", "192.0.2.8:"),
        ])
    func clientAddress(_ written: String, _ address: String) throws {
        let p = try Self.parse("aws_alb", Self.albLine(client: written, url: "https://www.example.com:443/"))
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == address)
    }

    @Test("an ALB line: time, site from the URL, request, status, bytes sent, user agent")
    func albFields() throws {
        let p = try Self.parse(
            "aws_alb",
            Self.albLine(client: "192.0.2.7:2817", url: "https://WWW.Example.com:443/pricing?utm_source=x"))
        #expect(p.result == .record)
        #expect(p.record.timestamp == 1_795_860_000)  // 2026-11-28T10:00:00Z
        #expect(p.record.milliseconds == 186)
        #expect(p.text(p.record.site) == "WWW.Example.com:443")
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "https://WWW.Example.com:443/pricing?utm_source=x")
        #expect(p.text(p.record.protocolVersion) == "HTTP/2.0")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 366)
        #expect(p.text(p.record.userAgent).hasPrefix("Mozilla/5.0 (X11; Linux x86_64"))
        #expect(p.record.referrer.isEmpty && p.record.cookie.isEmpty && p.record.user.isEmpty)
    }

    @Test(
        "the site is the URL's host, never its user name or password; none for an origin-form target",
        arguments: [
            ("https://user:secret@www.example.com:443/a", "www.example.com:443"),
            ("http://www.example.com/a?b=c", "www.example.com"),
            ("https://shop.example.org", "shop.example.org"),
            ("http://[2001:db8::1]:80/", "[2001:db8::1]:80"),
            ("/relative/path", ""),
            ("https:///nohost", ""),
            // Not a host: a malformed request's URL, a user name past a `/`, a bad literal.
            ("http://my-lb-123.us-east-1.elb.amazonaws.com:80-", ""),
            ("https://alice:p/w@www.example.com/", ""),
            ("http://[2001:db8::zz]/", ""),
            ("http://www.example.com:/", ""),
            ("http://www.ex%41mple.com/", ""),
            ("http://-:80/", ""),
            ("http://.:80/", ""),
            ("http://[:]/", ""),
            ("http://[]:80/", ""),
            ("http://www.example.com:99999999/", ""),
            ("http://www.example.com:65536/", ""),
            ("http://www.example.com:0/", ""),
            ("http://www.example.com:00080/", ""),
            ("http://[:::]/", ""),
            ("http://[.::.]/", ""),
            ("http://[1.2.3.4::]/", ""),
            ("http://[1.2.3.4]/", ""),
            ("http://[fe80::1%25eth0]/", ""),
            ("http://a..b:80/", ""),
            ("http://a..-:80/", ""),
            ("http://www-.example.com/", ""),
            ("http://_acme.example.com:1/", ""),
            ("http://./", ""),
            // Host names and literals at their edges.
            ("http://[::1]:8080/", "[::1]:8080"),
            ("http://[::]/", "[::]"),
            ("http://[::ffff:192.0.2.1]/", "[::ffff:192.0.2.1]"),
            ("http://192.0.2.1:65535/", "192.0.2.1:65535"),
            ("http://www.example.com:1/", "www.example.com:1"),
            ("http://9.example.com/", "9.example.com"),
            ("http://my_host.internal:8080/", "my_host.internal:8080"),
            ("http://www.example.com./", "www.example.com."),
            ("http://x/", "x"),
        ])
    func siteFromURL(_ url: String, _ site: String) throws {
        let p = try Self.parse("aws_alb", Self.albLine(client: "192.0.2.7:2817", url: url))
        #expect(p.result == .record)
        #expect(p.text(p.record.site) == site)
    }

    @Test("a Classic Load Balancer line, and its TCP listener's line without a response")
    func elbFields() throws {
        let p = try Self.parse(
            "aws_elb",
            Self.elbLine(client: "2001:db8::5:51000", request: "GET https://www.example.com:443/a HTTP/1.1"))
        #expect(p.result == .record)
        #expect(p.text(p.record.clientAddress) == "2001:db8::5")
        #expect(p.text(p.record.site) == "www.example.com:443")
        #expect(p.text(p.record.target) == "https://www.example.com:443/a")
        #expect(p.record.bytes == 57 && p.record.status == 200)
        #expect(p.text(p.record.userAgent) == "curl/8.4.0")
        // A TCP listener logs `-` for the statuses and `"- - - "` for the request: no HTTP
        // response, skipped (not a reject, which `--strict` would fail on).
        let tcp = try Self.parse(
            "aws_elb", Self.elbLine(client: "192.0.2.9:2819", request: "- - - ", status: "-", agent: "-"))
        #expect(tcp.result == .skip)
        // `000`: no response either (a client gone first); an ALB line the same.
        let zero = try Self.parse(
            "aws_elb", Self.elbLine(client: "192.0.2.9:2820", request: "GET / HTTP/1.1", status: "000"))
        #expect(zero.result == .skip)
        let albZero = try Self.parse(
            "aws_alb", Self.albLine(client: "192.0.2.7:2817", url: "https://www.example.com:443/", status: "000"))
        #expect(albZero.result == .skip)
        // A status that is not `-` and not three digits is still a bad status.
        let bad = try Self.parse(
            "aws_elb", Self.elbLine(client: "192.0.2.9:2819", request: "GET / HTTP/1.1", status: "2x0"))
        #expect(bad.result == .reject(.badStatus))
    }

    @Test("a format string names no site by the request URL, and keeps `-` statuses bad")
    func onlyThePresets() throws {
        let f = TextFormat(try CompiledFormat.apache(#"%a:%{remote}p %t "%r" %>s %b"#))
        #expect(!f.compiled.requestURLNamesSite && !f.compiled.dashStatusSkips)
        let p = Self.parse(
            f, #"2001:db8::7:50719 [28/Nov/2026:10:00:00 +0000] "GET http://evil.example/ HTTP/1.1" 200 5"#)
        #expect(p.result == .record)
        #expect(p.record.site.isEmpty)
        #expect(p.text(p.record.clientAddress) == "2001:db8::7")
        let line = #"192.0.2.1:5 [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" - 5"#
        #expect(Self.parse(f, line).result == .reject(.badStatus))
        // `000` (no response sent) is skipped by every text format.
        let zero = #"192.0.2.1:5 [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 000 5"#
        #expect(Self.parse(f, zero).result == .skip)
    }

    @Test(
        "`%a:%{remote}p` and `$remote_addr:$remote_port` are one field; other ports stay fields of their own",
        arguments: [
            (#"%a:%{remote}p %t"#, true),
            (#"%h:%{remote}p %t"#, true),
            (#"%a:%{Remote}p %t"#, true),
            (#"nginx:$remote_addr:$remote_port [$time_local]"#, true),
            (#"nginx:${remote_addr}:${remote_port} [$time_local]"#, true),
            (#"%a:%p %t"#, false),
            (#"%a %{remote}p %t"#, false),
        ])
    func addressPortDirective(_ format: String, _ merged: Bool) throws {
        let compiled =
            format.hasPrefix("nginx:")
            ? try CompiledFormat.nginx(String(format.dropFirst(6))) : try CompiledFormat.apache(format)
        #expect(compiled.steps.contains { $0.kind == .addressPort } == merged)
        #expect(compiled.steps.count == (merged ? 2 : 3))
        #expect(compiled.capturedFields.contains(.clientAddress))
    }

    @Test("a Classic Load Balancer file whose first lines are all a TCP listener's is still detected as one")
    func tcpListenerSample() {
        let sample = (0..<64).map { i in
            Array(
                Self.elbLine(client: "192.0.2.\(i % 200 + 1):40\(i)", request: "- - - ", status: "-", agent: "-").utf8)
        }
        let d = FormatDetector.detect(sample)
        #expect(d.format.name == "aws_elb" && d.recognised && d.parsed == 64, "\(d.format.name) \(d.parsed)")
    }

    @Test("records decide detection; skipped lines count only when no format reads a record")
    func skippedLinesDoNotOutvoteRecords() {
        let tcp = (0..<60).map { i in
            Array(Self.elbLine(client: "192.0.2.\(i + 1):40\(i)", request: "- - - ", status: "-", agent: "-").utf8)
        }
        let combined = (0..<10).map { i in
            Array(
                "192.0.2.\(i + 1) - - [28/Nov/2026:10:00:00 +0000] \"GET /a\(i) HTTP/1.1\" 200 5 \"-\" \"curl/8.4.0\""
                    .utf8)
        }
        #expect(FormatDetector.detect(tcp + combined).format.name == "combined")
        // A line that has a `-` where the status would be but is not the format's past it is not
        // skipped as that format's: it is rejected, and such a file is not recognised.
        let other = (0..<60).map { i in
            Array("2026-11-28T00:00:02.123Z web1 10.0.0.\(i):5555 10.0.0.1:80 a b c - x y z".utf8)
        }
        var elb = TextFormat.preset("aws_elb")!
        var record = LogRecord()
        var line = other[0]
        let r = line.withUnsafeMutableBufferPointer { elb.parse($0, into: &record) }
        #expect(r != .skip && r != .record)
        #expect(!FormatDetector.detect(other).recognised)
    }
}
