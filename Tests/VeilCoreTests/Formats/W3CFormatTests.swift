import CByteScan
import Testing

@testable import VeilCore

/// One parsed W3C (or GCS usage-log) line and its bytes after parsing (rewritten in place).
struct W3CParsed {
    var result: ParseResult
    var record: LogRecord
    var bytes: [UInt8]

    func text(_ r: ByteRange) -> String {
        String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self)
    }
}

func parseW3C(_ format: inout W3CFormat, _ line: String) -> W3CParsed {
    parseW3C(&format, Array(line.utf8))
}

func parseW3C(_ format: inout W3CFormat, _ bytes: [UInt8]) -> W3CParsed {
    var bytes = bytes
    var record = LogRecord()
    record.status = 999  // proves the parser resets the record
    let result = bytes.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
    return W3CParsed(result: result, record: record, bytes: bytes)
}

/// Feeds header lines and checks each is skipped.
private func feedHeader(_ format: inout W3CFormat, _ lines: [String]) {
    for line in lines {
        #expect(parseW3C(&format, line).result == .skip, "\(line)")
    }
}

/// 2023-11-14T22:13:20Z.
private let w3cT0: Int64 = 1_700_000_000

@Suite struct W3CFormatTests {
    static let iisHeader = [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        "#Date: 2023-11-14 22:00:00",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) "
            + "cs(Referer) sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken cs-host cs(Cookie) "
            + "x-forwarded-for",
    ]

    static let iisLine =
        "2023-11-14 22:13:20 192.0.2.1 GET /default.aspx utm_source=news&x=1 443 - 198.51.100.23 "
        + "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) https://www.example.com/search?q=a+b 200 0 0 5120 420 31 "
        + "www.example.com uid=abc;+ASP.NET_SessionId=xyz 203.0.113.5"

    @Test func headerThenLineFieldByField() {
        var f = W3CFormat()
        #expect(f.name == "w3c")
        #expect(!f.hasFieldsHeader)
        feedHeader(&f, Self.iisHeader)
        #expect(f.hasFieldsHeader)
        let p = parseW3C(&f, Self.iisLine)
        #expect(p.result == .record)
        #expect(p.record.timestamp == w3cT0)
        #expect(p.record.milliseconds == 0)
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/default.aspx?utm_source=news&x=1")
        #expect(p.text(p.record.user) == "")
        #expect(p.text(p.record.clientAddress) == "198.51.100.23")
        #expect(p.text(p.record.userAgent) == "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
        #expect(p.text(p.record.referrer) == "https://www.example.com/search?q=a+b")  // kept as written
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 5120)
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(p.text(p.record.forwardedFor) == "203.0.113.5")
        #expect(p.record.cookie.isEmpty)  // no cookie name configured
        #expect(p.record.protocolVersion.isEmpty)
    }

    @Test func cookieNameReadsOneCookie() {
        var f = W3CFormat(cookieName: "uid")
        feedHeader(&f, Self.iisHeader)
        #expect(parseW3C(&f, Self.iisLine).text(parseW3C(&f, Self.iisLine).record.cookie) == "abc")
        var g = W3CFormat(cookieName: "ASP.NET_SessionId")
        feedHeader(&g, Self.iisHeader)
        let p = parseW3C(&g, Self.iisLine)
        #expect(p.text(p.record.cookie) == "xyz")  // after ";+"
    }

    @Test func queryDashGivesStemOnly() {
        var f = W3CFormat()
        feedHeader(&f, Self.iisHeader)
        let p = parseW3C(
            &f,
            "2023-11-14 22:13:20 192.0.2.1 GET /img/logo.png - 443 alice 2001:db8::7 - - 304 0 0 0 300 2 - - -")
        #expect(p.result == .record)
        #expect(p.text(p.record.target) == "/img/logo.png")
        #expect(p.text(p.record.user) == "alice")
        #expect(p.text(p.record.clientAddress) == "2001:db8::7")
        #expect(p.record.userAgent.isEmpty && p.record.referrer.isEmpty && p.record.site.isEmpty)
        #expect(p.record.forwardedFor.isEmpty)
        #expect(p.record.status == 304)
        #expect(p.record.bytes == 0)
    }

    @Test func newFieldsHeaderMidStreamReplacesLayout() {
        var f = W3CFormat()
        feedHeader(&f, Self.iisHeader)
        let first = parseW3C(&f, Self.iisLine)
        #expect(first.result == .record && first.record.userAgentLogged)
        // After a restart: new directives, different columns in a different order.
        feedHeader(
            &f,
            [
                "#Software: Microsoft Internet Information Services 10.0",
                "#Fields: time c-ip cs-version sc-status cs-method cs-uri-stem date sc-bytes",
            ])
        let p = parseW3C(&f, "22:13:20.250 203.0.113.8 HTTP/1.1 404 POST /api 2023-11-14 99")
        #expect(p.result == .record)
        #expect(!p.record.userAgentLogged, "no cs(User-Agent) column in this layout")
        #expect(p.record.timestamp == w3cT0)
        #expect(p.record.milliseconds == 250)
        #expect(p.text(p.record.clientAddress) == "203.0.113.8")
        #expect(p.text(p.record.protocolVersion) == "HTTP/1.1")
        #expect(p.record.status == 404)
        #expect(p.text(p.record.method) == "POST")
        #expect(p.text(p.record.target) == "/api")
        #expect(p.record.bytes == 99)
        // The old layout no longer applies.
        #expect(parseW3C(&f, Self.iisLine).result == .reject(.literalMismatch))
    }

    @Test func dataBeforeHeader() {
        var f = W3CFormat()
        #expect(parseW3C(&f, Self.iisLine).result == .reject(.noFieldsHeader))
        feedHeader(&f, ["#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0"])
        #expect(parseW3C(&f, Self.iisLine).result == .reject(.noFieldsHeader))
        #expect(parseW3C(&f, "#Fields:").result == .reject(.noFieldsHeader))
        #expect(parseW3C(&f, Self.iisLine).result == .reject(.noFieldsHeader))
    }

    @Test func dateFromDirectiveWhenNoDateColumn() {
        var f = W3CFormat()
        feedHeader(&f, ["#Date: 2023-11-14 00:00:00", "#Fields: time c-ip cs-method cs-uri-stem sc-status"])
        let p = parseW3C(&f, "22:13:20 192.0.2.9 GET / 200")
        #expect(p.result == .record)
        #expect(p.record.timestamp == w3cT0)
        var g = W3CFormat()
        feedHeader(&g, ["#Fields: time c-ip cs-method cs-uri-stem sc-status"])
        #expect(parseW3C(&g, "22:13:20 192.0.2.9 GET / 200").result == .reject(.missingField))
        var h = W3CFormat()
        feedHeader(&h, ["#Fields: date c-ip"])
        #expect(parseW3C(&h, "2023-11-14 192.0.2.9").result == .reject(.missingField))
    }

    @Test(arguments: [("22:13:20.5", Int16(500)), ("22:13:20.05", 50), ("22:13:20.0071234", 7), ("22:13:20", 0)])
    func fractionOfASecond(time: String, milliseconds: Int16) {
        var f = W3CFormat()
        feedHeader(&f, ["#Fields: date time"])
        let p = parseW3C(&f, "2023-11-14 \(time)")
        #expect(p.result == .record)
        #expect(p.record.timestamp == w3cT0)
        #expect(p.record.milliseconds == milliseconds)
    }

    @Test func fullURIColumnAndQueryNotAfterStem() {
        var f = W3CFormat()
        feedHeader(&f, ["#Fields: date time cs-uri"])
        let p = parseW3C(&f, "2023-11-14 22:13:20 /a/b?c=d")
        #expect(p.text(p.record.target) == "/a/b?c=d")
        var g = W3CFormat()
        feedHeader(&g, ["#Fields: date time cs-uri-query cs-uri-stem"])
        let q = parseW3C(&g, "2023-11-14 22:13:20 utm_source=x /page")
        #expect(q.result == .record)
        #expect(q.text(q.record.target) == "/page")  // query dropped: not right after the stem
    }

    @Test func lenientSpellingAndSeparators() {
        var f = W3CFormat()
        feedHeader(&f, ["#fields:\tDATE Time C-IP cs(user-agent)  SC-STATUS cs(Host)"])
        let p = parseW3C(&f, "2023-11-14\t22:13:20 192.0.2.1 curl/8.4.0 200 example.com  ")
        #expect(p.result == .record)
        #expect(p.text(p.record.userAgent) == "curl/8.4.0")
        #expect(p.text(p.record.site) == "example.com")
        #expect(p.record.status == 200)
        #expect(parseW3C(&f, "").result == .skip)
        #expect(parseW3C(&f, "#Remark: anything").result == .skip)
    }

    /// CloudFront's standard logs: `cs(Host)` is the distribution's own domain, `x-host-header`
    /// the host the viewer asked for, which names the site (and makes its own links internal).
    @Test func cloudFrontSiteIsTheHostHeader() {
        var f = W3CFormat()
        feedHeader(
            &f,
            [
                "#Version: 1.0",
                "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol",
            ])
        let p = parseW3C(
            &f,
            "2026-11-28\t10:00:01\tSFO5-C1\t1045\t192.0.2.1\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\thttps://www.example.com/\tMozilla/5.0%20(X11)\tutm_source=x\t-\tHit\tSOX4xwn4XV6Q==\twww.example.com\thttps"
        )
        #expect(p.result == .record)
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(p.text(p.record.target) == "/index.html")
        // Without the viewer's host (`-`), the distribution's domain names the site.
        let q = parseW3C(
            &f,
            "2026-11-28\t10:00:02\tSFO5-C1\t1045\t192.0.2.1\tGET\td111111abcdef8.cloudfront.net\t/\t200\t-\t-\t-\t-\tHit\tSOX4xwn4XV6Q==\t-\thttps"
        )
        #expect(q.result == .record)
        #expect(q.text(q.record.site) == "d111111abcdef8.cloudfront.net")
        // CloudFront percent-encodes the user agent: decoded in place, after IIS's `+` → space
        // (so `%2B` stays a plus); a `%` without two hex digits stays as written.
        #expect(p.text(p.record.userAgent) == "Mozilla/5.0 (X11)")
        for (agent, decoded) in [
            (
                "Mozilla/5.0%20(iPhone;%20CPU%20iPhone%20OS%2017_1%20like%20Mac%20OS%20X)",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)"
            ),
            ("a+b%2Bc", "a b+c"), ("100%25", "100%"), ("%zz%2", "%zz%2"), ("x%4", "x%4"), ("%41%42%43", "ABC"),
            ("Mozilla/5.0+(Windows+NT+10.0)", "Mozilla/5.0 (Windows NT 10.0)"),
        ] {
            let r = parseW3C(
                &f,
                "2026-11-28\t10:00:02\tSFO5-C1\t1045\t192.0.2.1\tGET\th.cloudfront.net\t/\t200\t-\t\(agent)\t-\t-\tHit\tSOX4==\t-\thttps"
            )
            #expect(r.result == .record && r.text(r.record.userAgent) == decoded, "\(agent)")
        }
    }

    static let shortLayout = "#Fields: date time c-ip cs-method cs-uri-stem sc-status sc-bytes"

    @Test(arguments: [
        ("2023-11-14 22:13:20 192.0.2.1 GET /", RejectReason.truncated, "fewer fields"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / 200", .truncated, "one field short"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / 200 5 extra", .literalMismatch, "one field too many"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / abc 5", .badStatus, "status text"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / - 5", .badStatus, "status dash"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / 700 5", .badStatus, "status above 599"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / 2000 5", .badStatus, "four digits"),
        ("2023-11-14 22:13:20 192.0.2.1 GET / 200 5k", .badBytes, "bytes with a unit"),
        ("2023-13-14 22:13:20 192.0.2.1 GET / 200 5", .badTimestamp, "month 13"),
        ("2023-11-14 25:13:20 192.0.2.1 GET / 200 5", .badTimestamp, "hour 25"),
        ("2023-11-14 22:13:20.x 192.0.2.1 GET / 200 5", .badTimestamp, "bad fraction"),
        ("14/Nov/2023 22:13:20 192.0.2.1 GET / 200 5", .badTimestamp, "not a W3C date"),
        ("- 22:13:20 192.0.2.1 GET / 200 5", .missingField, "date dash, no #Date"),
        ("2023-11-14 - 192.0.2.1 GET / 200 5", .missingField, "time dash"),
        ("2023-11-14 22:13:20 192.0.2.1 GET /\u{1}x 200 5", .binaryGarbage, "control byte"),
        ("\u{0}\u{0}\u{0}\u{0}", .binaryGarbage, "NUL run"),
    ])
    func malformedLines(line: String, reason: RejectReason, why: String) {
        var f = W3CFormat()
        feedHeader(&f, [Self.shortLayout])
        let p = parseW3C(&f, line)
        #expect(p.result == .reject(reason), "\(why)")
        #expect(p.record == LogRecord(), "\(why): record is reset on reject")
    }

    @Test func shortLayoutGoodLine() {
        var f = W3CFormat()
        feedHeader(&f, [Self.shortLayout])
        let p = parseW3C(&f, "2023-11-14 22:13:20 192.0.2.1 GET / 599 -")
        #expect(p.result == .record)
        #expect(p.record.status == 599)
        #expect(p.record.bytes == 0)
    }

    /// `+` becomes a space in the user agent wherever it lies (eight bytes at a time, then
    /// one), and no other byte changes, inside or outside the range.
    @Test func plusToSpaceMatchesAByteLoop() {
        let alphabet: [UInt8] = [
            UInt8(ascii: "+"), UInt8(ascii: "*"), UInt8(ascii: ","), 0xAB, 0x2B | 0x80, 0x00, 0xFF, UInt8(ascii: "a"),
        ]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for length in 0...40 {
            for start in 0..<9 {
                for _ in 0..<4 {
                    var bytes = (0..<(start + length + 9)).map { _ -> UInt8 in
                        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                        return alphabet[Int(seed >> 61)]
                    }
                    var expected = bytes
                    for k in start..<(start + length) where expected[k] == UInt8(ascii: "+") {
                        expected[k] = UInt8(ascii: " ")
                    }
                    bytes.withUnsafeMutableBufferPointer {
                        W3CFormat.plusToSpace($0.baseAddress!, start, start + length)
                    }
                    #expect(bytes == expected, "start \(start) length \(length)")
                }
            }
        }
    }

    /// Every control byte and DEL in a field rejects the line wherever it lies (the field scan
    /// takes eight bytes at a time); bytes above 0x7F do not; a tab separates as a space does.
    @Test func controlBytesAreFoundAtEveryOffset() {
        var f = W3CFormat()
        feedHeader(&f, ["#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)"])
        // Longer than two 64-byte blocks, with fields across both block ends.
        let line = Array(
            ("2023-11-14 22:13:20 198.51.100.23 GET /a/long/path/to/scan/page.html 200 "
                + "Mozilla/5.0+(X11;+Linux+x86_64;+rv:121.0)+Gecko/20100101+Firefox/121.0+and+some+more+bytes").utf8)
        #expect(line.count > 128)
        let good = parseW3C(&f, line)
        #expect(good.result == .record)
        #expect(good.record.timestamp == w3cT0)
        for k in line.indices where line[k] != UInt8(ascii: " ") {
            for byte: UInt8 in [0x00, 0x01, 0x0A, 0x1F, 0x7F] {
                var bad = line
                bad[k] = byte
                #expect(parseW3C(&f, bad).result == .reject(.binaryGarbage), "byte \(byte) at \(k)")
            }
            var high = line
            high[k] = 0xC3
            #expect(parseW3C(&f, high).result != .reject(.binaryGarbage), "0xC3 at \(k)")
        }
        var tabs = line
        for k in tabs.indices where tabs[k] == UInt8(ascii: " ") { tabs[k] = UInt8(ascii: "\t") }
        let t = parseW3C(&f, tabs)
        #expect(t.result == .record)
        #expect(t.record.timestamp == w3cT0)
        #expect(t.text(t.record.target) == "/a/long/path/to/scan/page.html")
        #expect(
            t.text(t.record.userAgent)
                == "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 and some more bytes")
    }

    /// The parsed date is remembered between lines: each line still gets its own date, a bad
    /// date after a good one is rejected, and the good one serves again after it.
    @Test func datesFollowEachLine() {
        var f = W3CFormat()
        feedHeader(&f, ["#Fields: date time c-ip cs-method cs-uri-stem sc-status"])
        let cases: [(date: String, days: Int64?)] = [
            ("2023-11-14", 19675), ("2023-11-14", 19675), ("2023-11-15", 19676), ("2023-12-14", 19705),
            ("2023-11-14", 19675), ("2023-02-30", nil), ("2023-11-14", 19675), ("2024-02-29", 19782),
            ("2023-02-29", nil), ("2023-11-1x", nil), ("2023-11-14", 19675),
        ]
        for (date, days) in cases {
            let p = parseW3C(&f, "\(date) 22:13:20 198.51.100.23 GET / 200")
            if let days {
                #expect(p.result == .record, "\(date)")
                #expect(p.record.timestamp == days * 86_400 + 80_000, "\(date)")
            } else {
                #expect(p.result == .reject(.badTimestamp), "\(date)")
            }
        }
        #expect(Int64(19675) * 86_400 + 80_000 == w3cT0)
    }

    /// The field-stop mask, SSE2 and portable, against a byte loop: every byte value near the
    /// edges (NUL, tab, 0x1F, space, `!`, `~`, DEL, 0x80, 0xA0, 0xFF) in every lane, and every
    /// block length from 0 to 64 (bytes past the length never count).
    @Test func fieldStopMasksMatchAByteLoop() {
        let alphabet: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x21, 0x41, 0x7E, 0x7F, 0x80, 0xA0, 0xFF]
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        for round in 0..<600 {
            var block = (0..<64).map { _ -> UInt8 in
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return alphabet[Int((seed >> 33) % UInt64(alphabet.count))]
            }
            if round < alphabet.count { block = Array(repeating: alphabet[round], count: 64) }
            func reference(_ count: Int) -> UInt64 {
                var m: UInt64 = 0
                for k in 0..<min(count, 64) where block[k] <= 0x20 || block[k] == 0x7F { m |= 1 << UInt64(k) }
                return m
            }
            block.withUnsafeBufferPointer { b in
                #expect(veil_field_stops64_words(b.baseAddress!) == reference(64), "round \(round)")
                for count in [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, round % 65] {
                    #expect(
                        veil_field_stops64(b.baseAddress!, count) == reference(count), "round \(round), \(count) bytes")
                }
            }
        }
    }

    /// Whether a status is required follows the current layout: without `sc-status` a line
    /// has none (0); with it, `-` is a bad status; the last column of a kind wins.
    @Test func statusAndRepeatedColumnsFollowTheLayout() {
        // Each column kind has its own slot: raw values are exactly 0..<count.
        #expect(W3CFormat.Column.allCases.map(\.rawValue) == Array(0..<UInt8(W3CFormat.Column.count)))
        var f = W3CFormat()
        feedHeader(&f, ["#Fields: date time c-ip cs-uri-stem"])
        let none = parseW3C(&f, "2023-11-14 22:13:20 192.0.2.1 /a")
        #expect(none.result == .record)
        #expect(none.record.status == 0)
        feedHeader(&f, ["#Fields: date time c-ip cs-uri-stem sc-status"])
        #expect(parseW3C(&f, "2023-11-14 22:13:20 192.0.2.1 /a -").result == .reject(.badStatus))
        #expect(parseW3C(&f, "2023-11-14 22:13:20 192.0.2.1 /a 404").record.status == 404)
        feedHeader(&f, ["#Fields: date time c-ip cs-uri-stem c-ip"])
        let twice = parseW3C(&f, "2023-11-14 22:13:20 192.0.2.1 /a 198.51.100.2")
        #expect(twice.result == .record)
        #expect(twice.record.status == 0)
        #expect(twice.text(twice.record.clientAddress) == "198.51.100.2")
        #expect(twice.text(twice.record.target) == "/a")
    }
}
