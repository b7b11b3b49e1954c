import Foundation
import Testing

@testable import VeilCore

/// `--format auto`: which format the first lines of an input are read as, and when they are
/// not a log veil can read at all.
@Suite("Format detection from an input's first lines")
struct FormatDetectorTests {
    static let request = #"[28/Nov/2026:10:00:00 +0000] "GET /pricing?utm_source=mail HTTP/1.1" 200 5123"#
    static let agent =
        #""https://www.example.org/" "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0""#

    static func lines(_ make: (Int) -> String, count: Int = 20) -> [[UInt8]] {
        (0..<count).map { Array(make($0).utf8) }
    }

    /// Line `i` of a log in text preset `name`.
    static func textLine(_ name: String, _ i: Int) -> String {
        let common = "192.0.2.\(i + 1) - - \(request)"
        switch name {
        case "common": return common
        case "combined": return "\(common) \(agent)"
        case "vhost_combined": return "shop.example:443 \(common) \(agent)"
        case "vhost_common": return "shop.example:443 \(common)"
        case "combined_cookie": return "\(common) \(agent) \"c\(i)f00dfeedbeef\""
        case "combined_xff": return "\(common) \(agent) \"198.51.100.\(i + 1), 10.0.0.1\""
        case "traefik_clf": return "\(common) \(agent) \(1000 + i) \"website@docker\" \"http://10.0.0.7:8080\" \(i)ms"
        case "aws_s3": return S3AccessLogFormatTests.line(client: "192.0.2.\(i + 1)", target: "/a\(i)")
        case "haproxy":
            return HAProxyFormatTests.line(client: "192.0.2.\(i + 1):4\(i)00", request: "\"GET /a\(i) HTTP/1.1\"")
        case "squid": return SquidFormatTests.line(client: "192.0.2.\(i + 1)", url: "http://www.example.com/a\(i)")
        case "aws_alb":
            return AWSLoadBalancerFormatTests.albLine(
                client: "2001:db8::\(i + 1):5\(i)000", url: "https://www.example.com:443/a\(i)")
        case "aws_elb":
            return AWSLoadBalancerFormatTests.elbLine(
                client: "192.0.2.\(i + 1):4\(i)00", request: "GET https://www.example.com:443/a\(i) HTTP/1.1")
        default: return "?"
        }
    }

    @Test(
        "each text preset is detected as itself, the more specific first",
        arguments: [
            "common", "combined", "vhost_combined", "vhost_common", "combined_cookie", "combined_xff", "traefik_clf",
            "aws_alb", "aws_elb", "aws_s3", "haproxy", "squid",
        ])
    func textPresets(_ name: String) {
        let d = FormatDetector.detect(Self.lines { Self.textLine(name, $0) })
        #expect(d.format.name == name)
        #expect(d.recognised)
        #expect(d.parsed == 20 && d.sampled == 20)
    }

    @Test("a few lines that lack the extra fields do not make the whole file the poorer format")
    func mostlySpecific() {
        // 63 combined lines and one cut short after its size: `common` parses all 64, but
        // reading them as `common` would drop 63 user agents and referrers.
        var sample = Self.lines({ Self.textLine("combined", $0) }, count: 64)
        sample[40] = Array(Self.textLine("common", 40).utf8)
        let d = FormatDetector.detect(sample)
        #expect(d.format.name == "combined" && d.parsed == 63)
        // Cookie fields on 58 of 64 lines: still the cookie format.
        var cookies = Self.lines({ Self.textLine("combined_cookie", $0) }, count: 64)
        for i in stride(from: 0, to: 60, by: 10) { cookies[i] = Array(Self.textLine("combined", i).utf8) }
        #expect(FormatDetector.detect(cookies).format.name == "combined_cookie")
        // Half of them: the format that parses them all.
        var half = Self.lines({ Self.textLine("combined", $0) }, count: 64)
        for i in stride(from: 0, to: 64, by: 2) { half[i] = Array(Self.textLine("common", i).utf8) }
        #expect(FormatDetector.detect(half).format.name == "common")
        // A short file: 8 combined lines and one without the user agent.
        var short = Self.lines({ Self.textLine("combined", $0) }, count: 9)
        short[8] = Array(Self.textLine("common", 8).utf8)
        #expect(FormatDetector.detect(short).format.name == "combined")
        // The rule itself: the first (most specific) that parsed some lines and at most a tenth
        // of the best's count fewer (at least one), ties to the first.
        #expect(FormatDetector.preferSpecific([("a", 58), ("b", 64), ("c", 64)]).name == "a")
        #expect(FormatDetector.preferSpecific([("a", 57), ("b", 64), ("c", 64)]).name == "b")
        #expect(FormatDetector.preferSpecific([("a", 9), ("b", 10), ("c", 10)]).name == "a")
        #expect(FormatDetector.preferSpecific([("a", 8), ("b", 10), ("c", 10)]).name == "b")
        #expect(FormatDetector.preferSpecific([("a", 0), ("b", 1)]).name == "b", "none parsed is never chosen")
        #expect(FormatDetector.preferSpecific([("a", 0), ("b", 0)]).name == "a")
    }

    @Test("one extra quoted field: a cookie when it has ids, X-Forwarded-For when it has addresses or nothing")
    func extraField() {
        let cookies = Self.lines { Self.textLine("combined_cookie", $0) }
        #expect(FormatDetector.detect(cookies).format.name == "combined_cookie")
        let forwarded = Self.lines { Self.textLine("combined_xff", $0) }
        #expect(FormatDetector.detect(forwarded).format.name == "combined_xff")
        // nginx's default `main` format: "$http_x_forwarded_for" last, "-" without a proxy.
        let nginxMain = Self.lines { "\(Self.textLine("combined", $0)) \"-\"" }
        #expect(FormatDetector.detect(nginxMain).format.name == "combined_xff")
    }

    @Test("an e-mail export whose sample holds only events veil skips is still told apart")
    func emailExportsOfSkippedEvents() {
        // SendGrid and Mailgun both skip events of other kinds; only the line's recipient key
        // (`email` or `recipient`) says whose export it is.
        let sendgrid = (0..<70).map {
            Array(EmailTestKit.sendgrid($0 % 2 == 0 ? "processed" : "deferred", at: Int64($0)).utf8)
        }
        let d1 = FormatDetector.detect(sendgrid)
        #expect(d1.format.name == "json-sendgrid" && d1.recognised && d1.parsed == 70)
        for webhook in [false, true] {
            let mailgun = (0..<70).map { Array(EmailTestKit.mailgun("accepted", at: Int64($0), webhook: webhook).utf8) }
            let d2 = FormatDetector.detect(mailgun)
            #expect(d2.format.name == "json-mailgun" && d2.recognised && d2.parsed == 70, "webhook: \(webhook)")
        }
        // Events of other kinds without a recipient key are no evidence for either.
        let bare = (0..<10).map { Array(#"{"event":"processed","timestamp":\#(1795860000 + $0)}"#.utf8) }
        #expect(!FormatDetector.detect(bare).recognised)
    }

    @Test("JSON lines are detected with blanks before the first brace")
    func jsonWithBlanks() {
        let line =
            #"{"ts":1795860001.5,"request":{"client_ip":"192.0.2.1","method":"GET","uri":"/","host":"a.example"},"status":200,"size":5}"#
        for prefix in ["", " ", "\t  "] {
            let d = FormatDetector.detect([Array((prefix + line).utf8)])
            #expect(d.format.name == "json-caddy" && d.parsed == 1, "prefix \(prefix.utf8.count) blanks")
        }
    }

    /// A line needs only a timestamp to parse, so a custom nginx format whose time key is
    /// Traefik's (`time`) parses as Traefik's too — with nothing else read. The preset that
    /// reads the most fields wins.
    @Test(
        "custom nginx JSON keyed `time` or `@timestamp` is nginx's, not Traefik's: the preset that reads the most fields wins"
    )
    func jsonByFieldsRead() throws {
        for key in ["time", "@timestamp", "time_iso8601"] {
            let lines = (0..<5).map { n in
                Array(
                    #"{"\#(key)":"2026-11-28T10:00:0\#(n)+00:00","remote_addr":"192.0.2.\#(n)","request":"GET /p\#(n) HTTP/1.1","status":200,"body_bytes_sent":10,"http_referer":"","http_user_agent":"curl/8.4.0"}"#
                        .utf8)
            }
            let d = FormatDetector.detect(lines)
            #expect(d.format.name == "json-nginx" && d.parsed == 5, "\(key): \(d.format.name)")
            var f = JSONLinesFormat(preset: .nginx)
            var record = LogRecord()
            var line = lines[0]
            let r = line.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
            #expect(r == .record && record.timestamp == 1_795_860_000 && record.status == 200, "\(key)")
            #expect(FormatDetector.recordFields(record) == 5, "address, method, target, status, user agent")
        }
        // Traefik's own lines stay Traefik's (their `time` is nginx's too now).
        let traefik = (0..<5).map { n in
            Array(
                #"{"ClientHost":"192.0.2.\#(n)","DownstreamStatus":200,"RequestMethod":"GET","RequestPath":"/","time":"2026-11-28T10:00:00Z"}"#
                    .utf8)
        }
        #expect(FormatDetector.detect(traefik).format.name == "json-traefik")
        // A bad status in the sample: Traefik's preset rejects that line, nginx's (which reads
        // no `DownstreamStatus`) parses it, with its time and nothing else. Still Traefik's.
        var damaged = traefik
        damaged[2] = Array(
            #"{"ClientHost":"192.0.2.9","DownstreamStatus":"2x0","RequestMethod":"GET","RequestPath":"/","time":"2026-11-28T10:00:00Z"}"#
                .utf8)
        let d = FormatDetector.detect(damaged)
        #expect(d.format.name == "json-traefik" && d.parsed == 4, "\(d.format.name) \(d.parsed)")
    }

    @Test("Cloudflare Logpush lines are Cloudflare's, in each of its timestamp formats")
    func cloudflare() {
        for time in ["1795860000123456789", "1795860000", #""2026-11-28T10:00:00Z""#] {
            let lines = (0..<8).map { n in
                Array(
                    #"{"ClientIP":"192.0.2.\#(n)","ClientRequestHost":"www.example.com","ClientRequestMethod":"GET","ClientRequestURI":"/p\#(n)","ClientRequestUserAgent":"curl/8.4.0","EdgeResponseBytes":10,"EdgeResponseStatus":200,"EdgeStartTimestamp":\#(time)}"#
                        .utf8)
            }
            let d = FormatDetector.detect(lines)
            #expect(d.format.name == "json-cloudflare" && d.parsed == 8, "\(time): \(d.format.name)")
        }
    }

    @Test("a W3C extended log is detected by its directives, even before its first data line")
    func w3c() {
        let header = [
            "#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0", "#Date: 2026-11-28 10:00:00",
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
        ].map { Array($0.utf8) }
        let data = Self.lines({ i in
            "2026-11-28 10:00:\(10 + i) 203.0.113.5 GET /index.html - 443 - 192.0.2.\(i + 1) Mozilla/5.0+(X11;+Linux+x86_64) - 200 0 0 12"
        })
        let full = FormatDetector.detect(header + data)
        #expect(full.format.name.hasPrefix("w3c") && full.recognised && full.parsed == 20)
        let only = FormatDetector.detect(header)
        #expect(only.format.name.hasPrefix("w3c"))
        #expect(only.recognised, "directives alone name the format")
        #expect(only.parsed == 0)
        // IIS starts with #Software; a file may also start with #Fields.
        #expect(FormatDetector.detect([header[3]] + data).recognised)
    }

    @Test("text that is not a log is not recognised, whichever format comes closest")
    func notALog() {
        let markdown = ["# Release notes", "", "Version 2 reads logs faster.", "## Fixes", "- a bug"].map {
            Array($0.utf8)
        }
        let passwd = Self.lines({ i in "user\(i):x:\(1000 + i):\(1000 + i):User \(i):/home/user\(i):/bin/sh" })
        let otherJSON = Self.lines({ i in #"{"level":"info","msg":"job \#(i) done","worker":\#(i)}"# })
        let csv = Self.lines({ i in "2026-11-28T10:00:\(10 + i)Z,192.0.2.\(i + 1),GET,/,200" })
        for (what, sample) in [
            ("markdown", markdown), ("passwd", passwd), ("other JSON lines", otherJSON), ("CSV", csv),
        ] {
            let d = FormatDetector.detect(sample)
            #expect(!d.recognised, "\(what) detected as \(d.format.name)")
            #expect(d.parsed == 0, "\(what)")
        }
        // A '#' heading is not a W3C directive.
        #expect(!FormatDetector.detect(markdown).format.name.hasPrefix("w3c"))
    }

    @Test("one parsed line makes a sample recognised (the rest are rejected line by line); no lines, nothing to detect")
    func recognisedThresholds() {
        var sample = Self.lines({ i in "junk line \(i)" })
        #expect(!FormatDetector.detect(sample).recognised)
        sample[7] = Array("192.0.2.9 - - \(Self.request) \(Self.agent)".utf8)
        let d = FormatDetector.detect(sample)
        #expect(d.recognised && d.parsed == 1 && d.format.name == "combined")
        #expect(FormatDetector.detect([]).recognised)
        #expect(FormatDetector.detect([[], []]).recognised, "blank lines only")
    }

    @Test("a UTF-8 byte order mark before the first line does not hide the format (IIS writes one)")
    func byteOrderMark() throws {
        let ws = try StateTestWorkspace()
        let w3c = [
            "#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0",
            "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
            "2026-11-28 10:00:01 203.0.113.5 GET /index.html - 443 - 192.0.2.1 Mozilla/5.0+(X11;+Linux+x86_64) - 200 0 0 12",
        ]
        let json = [
            #"{"ts":1795860001.5,"request":{"client_ip":"192.0.2.1","method":"GET","uri":"/","host":"a.example"},"status":200,"size":5}"#
        ]
        for (name, lines, format) in [("iis.log", w3c, "w3c"), ("caddy.log", json, "json-caddy")] {
            let path = try ws.write(lines, name: name)
            let body = try Data(contentsOf: URL(fileURLWithPath: path))
            try (Data([0xEF, 0xBB, 0xBF]) + body).write(to: URL(fileURLWithPath: path))
            var sink = DiscardingSink()
            var auto = IngestConfiguration()
            auto.format = .auto
            let report = try Ingest.run(path: path, configuration: auto, sink: &sink)
            #expect(report.format.hasPrefix(format), "\(name): \(report.format)")
            #expect(report.records == 1 && report.rejected == 0, "\(name): \(report)")
        }
    }

    @Test("an unrecognised input is an error naming the file, its first line and byte offset, never a line's content")
    func ingestError() throws {
        let ws = try StateTestWorkspace()
        // Lines holding identifiers (an address, a cookie-like token, an e-mail address).
        let lines = (0..<30).map { i in "session 5f3c9a\(i)e7d1 from 192.0.2.\(i + 1) for someone\(i)@example.com" }
        let path = try ws.write(lines, name: "notes.txt")
        var sink = DiscardingSink()
        var auto = IngestConfiguration()
        auto.format = .auto
        do {
            _ = try Ingest.run(path: path, configuration: auto, sink: &sink)
            Issue.record("an unrecognised input was read")
        } catch {
            #expect(error.code == .unrecognisedFormat)
            #expect(error.file == path && error.line == 1 && error.byteOffset == 0)
            #expect(error.description.contains("format not recognised"), "\(error)")
            #expect(error.description.contains("lines 1–30"), "\(error)")
            #expect(error.description.contains("--format"), "\(error)")
            for identifier in ["192.0.2.", "5f3c9a", "@example.com", "session"] {
                #expect(!error.description.contains(identifier), "the message holds '\(identifier)': \(error)")
            }
            #expect(AggregateJob.isSkippable(error), "--skip-bad-files goes on past it")
        }
        // Named explicitly, the same input is read and every line rejected, as asked.
        var combined = IngestConfiguration()
        combined.format = .named("combined")
        let report = try Ingest.run(path: path, configuration: combined, sink: &sink)
        #expect(report.lines == 30 && report.records == 0 && report.rejected == 30)
    }
}
