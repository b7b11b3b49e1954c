import Testing

@testable import VeilCore

/// Container runtimes' and syslog's headers around a web server's lines (`LineEnvelope`).
@Suite struct LineEnvelopeTests {
    static let combined =
        #"192.0.2.7 - - [28/Nov/2026:12:14:14 +0000] "GET /a?utm_source=n HTTP/1.1" 200 512 "https://ref.example/x" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0""#

    static func unwrap(_ envelope: LineEnvelope, _ line: String) -> LineEnvelope.Unwrapped {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { envelope.unwrap($0.baseAddress!, $0.count, writable: true)! }
    }

    static func detect(_ lines: [String]) -> LineEnvelope {
        LineEnvelope.detect(lines.map { Array($0.utf8) })
    }

    @Test(
        "CRI: stdout lines are read after the header (later tags ignored), stderr skipped, a partial line rejected",
        arguments: [
            ("2026-11-28T12:14:14.123456789Z stdout F GET", LineEnvelope.Unwrapped.line(40)),
            ("2026-11-28T12:14:14.123456789+01:00 stdout F GET", .line(45)),
            ("2026-11-28T12:14:14.123456789Z stdout F ", .line(40)),
            ("2026-11-28T12:14:14.123456789Z stdout F", .line(39)),
            ("2026-11-28T12:14:14.123456789Z stderr F 2026/11/28 12:14:14 [error] 7#7: …", .skip),
            ("2026-11-28T12:14:14.123456789Z stdout P GET", .reject(.truncated)),
            ("2026-11-28T12:14:14.123456789Z stdin F GET", .reject(.truncated)),
            ("2026-11-28T12:14:14Z stdout X GET", .reject(.truncated)),
            // Tags after the first, `:`-separated, are ignored.
            ("2026-11-28T12:14:14.123456789Z stdout F:x GET", .line(42)),
            ("2026-11-28T12:14:14.123456789Z stdout P:x:y GET", .reject(.truncated)),
            ("2026-11-28T12:14:14Z stdout FX GET", .reject(.truncated)),
            ("2026-11-28T12:14:14Z stdout X:F GET", .reject(.truncated)),
            ("192.0.2.7 - - [28/Nov/2026:12:14:14 +0000]", .reject(.truncated)),
        ])
    func cri(_ line: String, _ expected: LineEnvelope.Unwrapped) {
        #expect(Self.unwrap(.cri, line) == expected, "\(line)")
    }

    @Test(
        "syslog: RFC 3164 with or without a priority, rsyslog's precise time, RFC 5424; another program's line skipped",
        arguments: [
            ("Nov 28 12:14:14 web1 nginx: GET", LineEnvelope.Unwrapped.line(28)),
            ("Nov  8 12:14:14 web1 nginx: GET", .line(28)),
            ("<190>Nov 28 12:14:14 web1 nginx[2314]: GET", .line(39)),
            ("2026-11-28T12:14:14.123456+01:00 web1 nginx: GET", .line(45)),
            ("<190>1 2026-11-28T12:14:14.123Z web1 nginx 2314 - - GET", .line(52)),
            (#"<190>1 2026-11-28T12:14:14.123Z web1 nginx 2314 access [x@1 a="b\]c"][y@2] GET"#, .line(75)),
            ("Nov 28 12:14:14 web1 CRON[812]: (root) CMD (run-parts)", .skip),
            ("<190>1 2026-11-28T12:14:14.123Z web1 sshd 99 - - Accepted", .skip),
            // Two spaces after the header (rsyslog's RFC 5424 template for a 3164 message), a
            // byte order mark (RFC 5424 allows one), no host, a fraction (`journalctl -o short-precise`).
            ("<190>1 2026-11-28T12:14:14.123Z web1 nginx - - -  GET", .line(50)),
            ("<190>1 2026-11-28T12:14:14.123Z web1 nginx - - - \u{FEFF}GET", .line(52)),
            ("Nov 28 12:14:14 web1 nginx:  GET", .line(29)),
            ("<190>Nov 28 12:14:14 nginx: GET", .line(28)),
            ("Nov 28 12:14:14.123456 web1 nginx[7]: GET", .line(38)),
            // syslogd's own lines: a time and a host, no program.
            ("Nov 28 12:14:14 web1 -- MARK --", .skip),
            ("Nov 28 12:14:14 web1 last message repeated 3 times", .skip),
            ("Nov 28 12:14 web1 nginx: GET", .reject(.truncated)),
            (Self.combined, .reject(.truncated)),
        ])
    func syslog(_ line: String, _ expected: LineEnvelope.Unwrapped) {
        #expect(Self.unwrap(.syslog(tag: Array("nginx".utf8)), line) == expected, "\(line)")
    }

    @Test(
        "docker: the log string un-escaped in place, without its newline; stderr skipped, a split line rejected",
        arguments: [
            (
                #"{"log":"a \"b\" \u003c\u0026\u003e \u00e9\ud83d\ude00\n","stream":"stdout","time":"2026-11-28T12:14:14Z"}"#,
                "a \"b\" <&> é😀"
            ),
            (#"{"log":"GET /\r\n","stream":"stdout","time":"2026-11-28T12:14:14Z"}"#, "GET /"),
        ])
    func docker(_ line: String, _ decoded: String) throws {
        var bytes = Array(line.utf8)
        let result = bytes.withUnsafeMutableBufferPointer {
            LineEnvelope.docker.unwrap($0.baseAddress!, $0.count, writable: true)
        }
        guard case .decoded(let start, let end) = try #require(result) else {
            Issue.record("\(String(describing: result))")
            return
        }
        #expect(String(decoding: bytes[start..<end], as: UTF8.self) == decoded)
        // Read where it lies (a decoder's window), it must be parsed as a copy.
        var again = Array(line.utf8)
        #expect(
            again.withUnsafeMutableBufferPointer {
                LineEnvelope.docker.unwrap($0.baseAddress!, $0.count, writable: false)
            } == nil)
    }

    @Test(
        "docker: other streams, split and broken lines",
        arguments: [
            (
                #"{"log":"2026/11/28 [error] x\n","stream":"stderr","time":"2026-11-28T12:14:14Z"}"#,
                LineEnvelope.Unwrapped.skip
            ),
            (
                #"{"log":"the first 16 KiB of a line","stream":"stdout","time":"2026-11-28T12:14:14Z"}"#,
                .reject(.truncated)
            ),
            (#"{"log":"a part \"quoted\"","stream":"stdout","time":"2026-11-28T12:14:14Z"}"#, .reject(.truncated)),
            (#"{"log":"GET /\n","stream":"stdin","time":"2026-11-28T12:14:14Z"}"#, .reject(.badJSON)),
            (#"{"log":"GET /\x\n","stream":"stdout","time":"2026-11-28T12:14:14Z"}"#, .reject(.badJSON)),
            (#"{"log":"GET /\n""#, .reject(.badJSON)),
            (#"{"log":"GET /"#, .reject(.truncated)),
            (#"{"stream":"stdout","log":"GET /\n"}"#, .reject(.badJSON)),
        ])
    func dockerOther(_ line: String, _ expected: LineEnvelope.Unwrapped) {
        #expect(Self.unwrap(.docker, line) == expected, "\(line)")
    }

    @Test("detection picks the syslog tag whose messages parse, not the one with the most lines")
    func tagWhoseMessagesParse() {
        let cron = (0..<5).map { "Nov 28 00:00:0\($0) web1 CRON[81\($0)]: (root) CMD (run-parts /etc/cron.hourly)" }
        let nginx = (0..<3).map { _ in "Nov 28 00:00:05 web1 nginx: " + Self.combined }
        let d = FormatDetector.detectEnveloped((cron + nginx).map { Array($0.utf8) })
        #expect(d.format.name == "combined" && d.recognised && d.parsed == 3)
        #expect(d.format.envelope == .syslog(tag: Array("nginx".utf8)))
        // Named, the format picks the tag too.
        let named = FormatDetector.envelope(
            for: .text(TextFormat.preset("combined")!), (cron + nginx).map { Array($0.utf8) })
        #expect(named == .syslog(tag: Array("nginx".utf8)))
        // W3C lines in a container's log.
        let iis = [
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)",
            "2026-11-28 12:14:14 192.0.2.7 GET /a 200 curl/8.4.0",
        ].map { Array(("2026-11-28T12:14:14.1Z stdout F " + $0).utf8) }
        let w = FormatDetector.detectEnveloped(iis)
        #expect(w.format.name == "w3c" && w.parsed == 1 && w.format.envelope == .cri)
    }

    @Test("detection: most sample lines decide; the syslog tag most lines have; plain logs have none")
    func detection() {
        let plain = (0..<10).map { _ in Self.combined }
        #expect(Self.detect(plain) == .none)
        #expect(Self.detect([]) == .none)
        let cri = plain.map { "2026-11-28T12:14:14.123456789Z stdout F " + $0 }
        #expect(Self.detect(cri) == .cri)
        let docker = plain.map { _ in #"{"log":"GET /\n","stream":"stdout","time":"2026-11-28T12:14:14Z"}"# }
        #expect(Self.detect(docker) == .docker)
        #expect(Self.detect([#"{"level":"info","msg":"handled request"}"#]) == .none)
        // Error lines on stderr count for the envelope too.
        #expect(Self.detect(cri + ["2026-11-28T12:14:15Z stderr F 2026/11/28 [error] x"]) == .cri)
        var mixed = plain.map { "Nov 28 12:14:14 web1 nginx: " + $0 }
        mixed += ["Nov 28 12:14:14 web1 CRON[1]: x", "Nov 28 12:14:14 web1 CRON[2]: y"]
        #expect(Self.detect(mixed) == .syslog(tag: Array("nginx".utf8)))
        // A few headers among plain lines are not an envelope.
        #expect(Self.detect(plain + ["Nov 28 12:14:14 web1 nginx: x"]) == .none)
        // Load balancers' and W3C lines start with times too.
        let elb =
            #"2026-11-28T12:14:14.123456Z my-elb 192.0.2.7:4100 10.0.0.1:80 0.000 0.001 0.000 200 200 0 512 "GET https://www.example.com:443/ HTTP/1.1" "curl/8.4.0" - -"#
        #expect(Self.detect([elb, elb]) == .none)
        #expect(
            Self.detect(["2026-11-28 12:14:14 192.0.2.7 GET /a - 443 - 198.51.100.2 curl/8.4.0 - 200 0 0 512"]) == .none
        )
    }

    @Test("a text format reads the line after the envelope, its ranges pointing into the whole line")
    func textRanges() throws {
        var f = try #require(TextFormat.preset("combined"))
        f.envelope = .cri
        let header = "2026-11-28T12:14:14.123456789Z stdout F "
        for line in [
            header + Self.combined, header + Self.combined.replacingOccurrences(of: "Firefox", with: #"Fire\"fox"#),
        ] {
            var bytes = Array(line.utf8)
            var record = LogRecord()
            let result = bytes.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
            #expect(result == .record)
            func text(_ r: ByteRange) -> String { String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self) }
            #expect(text(record.clientAddress) == "192.0.2.7")
            #expect(text(record.target) == "/a?utm_source=n")
            #expect(text(record.referrer) == "https://ref.example/x")
            #expect(text(record.userAgent).hasPrefix("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Fire"))
            #expect(record.timestamp == 1_795_868_054)
        }
        // Read-only (a line in the decoder's window): the same record, or nil for an escape.
        let plain = Array((header + Self.combined).utf8)
        var record = LogRecord()
        #expect(plain.withUnsafeBufferPointer { f.parseReadOnly($0, into: &record) } == .record)
        #expect(
            String(decoding: plain[Int(record.target.start)..<Int(record.target.end)], as: UTF8.self)
                == "/a?utm_source=n")
        var stderr = Array("2026-11-28T12:14:14Z stderr F 2026/11/28 [error] open() failed".utf8)
        #expect(stderr.withUnsafeMutableBufferPointer { f.parse($0, into: &record) } == .skip)
        #expect(record == LogRecord())
    }

    @Test("a JSON format reads the object after the envelope")
    func jsonRanges() {
        var f = JSONLinesFormat(preset: .nginx)
        f.envelope = .syslog(tag: Array("nginx".utf8))
        let line =
            #"<190>Nov 28 12:14:14 web1 nginx: {"time":"2026-11-28T12:14:14+00:00","remote_addr":"192.0.2.7","request":"GET /a HTTP/1.1","status":"200"}"#
        var bytes = Array(line.utf8)
        var record = LogRecord()
        #expect(bytes.withUnsafeMutableBufferPointer { f.parse($0, into: &record) } == .record)
        #expect(
            String(decoding: bytes[Int(record.clientAddress.start)..<Int(record.clientAddress.end)], as: UTF8.self)
                == "192.0.2.7")
        #expect(record.status == 200 && record.timestamp == 1_795_868_054)
        var other = Array("<190>Nov 28 12:14:14 web1 sshd[9]: Accepted publickey".utf8)
        #expect(other.withUnsafeMutableBufferPointer { f.parse($0, into: &record) } == .skip)
    }
}
