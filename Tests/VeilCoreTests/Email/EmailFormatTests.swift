import Foundation
import Testing

@testable import VeilCore

/// One parsed e-mail export line: the result and the record's fields as strings.
private struct EmailParsed {
    var result: ParseResult
    var record: LogRecord
    var bytes: [UInt8]

    func text(_ r: ByteRange) -> String { String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self) }
    var recipient: String { text(record.recipient) }
    var campaign: String { text(record.campaign) }
    var url: String { text(record.target) }
    var ip: String { text(record.clientAddress) }
    var userAgent: String { text(record.userAgent) }
}

private func parse(_ format: JSONLinesFormat, _ line: String) -> EmailParsed {
    var bytes = Array(line.utf8)
    var record = LogRecord()
    var format = format
    let result = bytes.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
    return EmailParsed(result: result, record: record, bytes: bytes)
}

@Suite("E-mail: export presets, field mappings, URL patterns and scanner ranges")
struct EmailFormatTests {
    static let sendgrid = JSONLinesFormat(emailPreset: .sendgrid)
    static let mailgun = JSONLinesFormat(emailPreset: .mailgun)

    // MARK: SendGrid

    @Test func sendgridClick() {
        let p = parse(
            Self.sendgrid,
            """
            {"email":"Jane@Example.com","timestamp":1700000000,"event":"click","ip":"192.0.2.7","useragent":"Mozilla/5.0 (X11)",\
            "url":"https://www.example.com/pricing?utm_content=cta","url_offset":{"index":0,"type":"html"},\
            "sg_event_id":"e1","sg_message_id":"m1.filter0001","category":["spring-sale","news"],"sg_machine_open":false}
            """)
        #expect(p.result == .record)
        #expect(p.record.event == .click && p.record.timestamp == 1_700_000_000)
        #expect(p.recipient == "Jane@Example.com" && p.campaign == "spring-sale" && p.ip == "192.0.2.7")
        #expect(p.url == "https://www.example.com/pricing?utm_content=cta" && p.userAgent == "Mozilla/5.0 (X11)")
        #expect(p.record.automation == .none)
    }

    /// Every result of one line: `parse`, then `parseNext` until nil; with the recipient of each
    /// record (read right after it, as the escapes of later elements are undone in place).
    static func results(_ format: JSONLinesFormat, _ line: String) -> [(ParseResult, String)] {
        var format = format
        var bytes = Array(line.utf8)
        var record = LogRecord()
        return bytes.withUnsafeMutableBufferPointer { buf in
            func recipient() -> String {
                String(decoding: buf[Int(record.recipient.start)..<Int(record.recipient.end)], as: UTF8.self)
            }
            var out = [(format.parse(buf, into: &record), "")]
            out[0].1 = recipient()
            while let next = format.parseNext(buf, into: &record) {
                out.append((next, next == .record ? recipient() : ""))
                #expect(out.count < 100, "parseNext does not end")
                if out.count >= 100 { break }
            }
            return out
        }
    }

    @Test("a line holding a JSON array of events (a webhook's batch) gives one result per element")
    func eventArrays() {
        let open = #"{"email":"a@example.com","timestamp":1700000000,"event":"open"}"#
        let click = #"{"email":"b\u0040example.com","timestamp":1700000001,"event":"click","url":"https://x.example/"}"#
        let processed = #"{"email":"c@example.com","timestamp":1700000002,"event":"processed"}"#
        let noTime = #"{"email":"d@example.com","event":"open"}"#
        func shape(_ line: String) -> [String] {
            Self.results(Self.sendgrid, line).map { r, who in
                switch r {
                case .record: "record " + who
                case .skip: "skip"
                case .reject(let reason): "reject \(reason)"
                }
            }
        }
        #expect(
            shape("[" + open + "," + click + "," + processed + "]")
                == ["record a@example.com", "record b@example.com", "skip"])
        #expect(shape(" [ " + open + " ,\t" + open + " ] ") == ["record a@example.com", "record a@example.com"])
        #expect(shape("[]") == ["skip"] && shape("[ ]") == ["skip"])
        // A bad element is rejected; one that is not an object ends the line (its end is
        // unknown), the events before it counted.
        #expect(
            shape("[" + open + "," + noTime + "," + open + "]") == [
                "record a@example.com", "reject missingField", "record a@example.com",
            ])
        #expect(shape("[" + open + ",{\"email\":}," + open + "]") == ["record a@example.com", "reject badJSON"])
        #expect(shape("[" + open + ",42]") == ["record a@example.com", "reject badJSON"])
        #expect(shape("[" + open + ";" + open + "]") == ["record a@example.com", "reject badJSON"])
        #expect(shape("[" + open + "," + open) == ["record a@example.com", "record a@example.com", "reject truncated"])
        #expect(shape("[" + open + "] x") == ["record a@example.com", "reject badJSON"])
        #expect(shape("[" + open) == ["record a@example.com", "reject truncated"])
        #expect(shape("[1]") == ["reject badJSON"] && shape("[") == ["reject truncated"])
        // A line of one object, after an array line, has no next record.
        #expect(shape(open) == ["record a@example.com"])
        // Read in place, an array line is declined: only a writable copy is read element by
        // element.
        var record = LogRecord()
        var sendgrid = Self.sendgrid
        let bytes = Array(("[" + open + "]").utf8)
        #expect(bytes.withUnsafeBufferPointer { sendgrid.parseReadOnly($0, into: &record) } == nil)
    }

    @Test("SendGrid campaign precedence: marketing_campaign_name, singlesend_name, campaign, category")
    func sendgridCampaignPrecedence() {
        let base = #"{"email":"a@example.com","timestamp":1700000000,"event":"open","#
        #expect(
            parse(
                Self.sendgrid,
                base + #""category":"cat","campaign":"arg","singlesend_name":"ss","marketing_campaign_name":"mc"}"#
            ).campaign == "mc")
        #expect(
            parse(Self.sendgrid, base + #""category":"cat","campaign":"arg","singlesend_name":"ss"}"#).campaign == "ss")
        #expect(parse(Self.sendgrid, base + #""category":["cat"],"campaign":"arg"}"#).campaign == "arg")
        #expect(parse(Self.sendgrid, base + #""category":"cat"}"#).campaign == "cat")
        #expect(parse(Self.sendgrid, base + #""category":[]}"#).campaign == "")
    }

    @Test(
        "sg_machine_open: true is a proxy hint, false none",
        arguments: [
            ("true", AutomationHint.proxy), ("false", .none), ("\"true\"", .proxy), ("null", .none), ("1", .proxy),
            ("0", .none),
        ])
    func sendgridMachineOpen(value: String, hint: AutomationHint) {
        let p = parse(
            Self.sendgrid,
            #"{"email":"a@example.com","timestamp":1700000000,"event":"open","sg_machine_open":"# + value + "}")
        #expect(p.result == .record && p.record.automation == hint, "\(value)")
    }

    @Test("events veil does not count are skipped; delivered counts")
    func sendgridEvents() {
        for event in ["processed", "deferred", "bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"] {
            #expect(
                parse(Self.sendgrid, #"{"email":"a@example.com","timestamp":1700000000,"event":"\#(event)"}"#).result
                    == .skip, "\(event)")
        }
        let d = parse(
            Self.sendgrid, #"{"email":"a@example.com","timestamp":1700000000,"event":"delivered","response":"250 OK"}"#)
        #expect(d.result == .record && d.record.event == .delivered)
    }

    @Test("an e-mail event without recipient, without event or without time is rejected as missing-field")
    func missingFields() {
        #expect(parse(Self.sendgrid, #"{"timestamp":1700000000,"event":"open"}"#).result == .reject(.missingField))
        #expect(
            parse(Self.sendgrid, #"{"email":"  ","timestamp":1700000000,"event":"open"}"#).result == .record,
            "blank but present: the aggregator ignores it")
        #expect(
            parse(Self.sendgrid, #"{"email":"a@example.com","timestamp":1700000000}"#).result == .reject(.missingField))
        #expect(parse(Self.sendgrid, #"{"email":"a@example.com","event":"open"}"#).result == .reject(.missingField))
        #expect(parse(Self.mailgun, #"{"event":"opened","timestamp":1700000000.5}"#).result == .reject(.missingField))
        // Cut off, or not JSON: the usual reasons.
        #expect(parse(Self.sendgrid, #"{"email":"a@example.com","timestamp":17000"#).result == .reject(.truncated))
    }

    // MARK: Mailgun

    @Test("Mailgun events: Events API items and webhook payloads give the same record", arguments: [false, true])
    func mailgunShapes(webhook: Bool) {
        let line = EmailTestKit.mailgun(
            "clicked", recipient: "Bob@Example.org", url: "https://www.example.com/a?utm_content=x",
            bot: "generic", campaign: "weekly", webhook: webhook)
        let p = parse(Self.mailgun, line)
        #expect(p.result == .record)
        #expect(p.record.event == .click && p.record.timestamp == EmailTestKit.t0 && p.record.milliseconds == 250)
        #expect(p.recipient == "Bob@Example.org" && p.campaign == "weekly" && p.ip == "192.0.2.7")
        #expect(p.url == "https://www.example.com/a?utm_content=x" && p.userAgent == EmailTestKit.chrome)
        #expect(p.record.automation == .bot)
    }

    @Test("Mailgun campaign: user-variables.campaign before the first tag")
    func mailgunCampaign() {
        let tagsOnly = #"{"event":"opened","timestamp":1700000000,"recipient":"a@example.com","tags":["t1","t2"]}"#
        #expect(parse(Self.mailgun, tagsOnly).campaign == "t1")
        let both =
            #"{"event":"opened","timestamp":1700000000,"recipient":"a@example.com","tags":["t1"],"user-variables":{"campaign":"uv"}}"#
        #expect(parse(Self.mailgun, both).campaign == "uv")
    }

    @Test(
        "client-info.bot values",
        arguments: [
            ("apple", AutomationHint.proxy), ("gmail", .proxy), ("generic", .bot), ("", .none), ("Apple", .proxy),
            ("scanner-x", .bot),
        ])
    func mailgunBot(value: String, hint: AutomationHint) {
        let p = parse(Self.mailgun, EmailTestKit.mailgun("opened", bot: value))
        #expect(p.result == .record && p.record.automation == hint, "\(value)")
    }

    @Test func mailgunSkipsOtherEvents() {
        for event in ["accepted", "failed", "rejected", "unsubscribed", "complained", "stored"] {
            #expect(
                parse(Self.mailgun, #"{"event":"\#(event)","timestamp":1700000000,"recipient":"a@example.com"}"#).result
                    == .skip)
        }
    }

    // MARK: Detection and names

    @Test("--format auto detects SendGrid and Mailgun exports; access logs stay access logs")
    func detection() {
        let sg = (0..<10).map { Array(EmailTestKit.sendgrid($0 % 2 == 0 ? "open" : "processed", at: Int64($0)).utf8) }
        #expect(FormatDetector.detect(sg).format.name == "json-sendgrid")
        let mg = (0..<10).map { Array(EmailTestKit.mailgun("opened", at: Int64($0), webhook: $0 % 3 == 0).utf8) }
        #expect(FormatDetector.detect(mg).format.name == "json-mailgun")
        let caddy = [
            Array(
                #"{"ts":1700000000.5,"request":{"client_ip":"192.0.2.1","method":"GET","uri":"/","host":"a.example"},"status":200,"size":5}"#
                    .utf8)
        ]
        #expect(FormatDetector.detect(caddy).format.name == "json-caddy")
    }

    @Test func formatNames() throws {
        #expect(FormatChoice.names.contains("json-sendgrid") && FormatChoice.names.contains("json-mailgun"))
        #expect(try FormatChoice(parsing: "json-sendgrid").makeFormat().name == "json-sendgrid")
        #expect(try FormatChoice(parsing: "json-mailgun").makeFormat().name == "json-mailgun")
    }

    // MARK: --email-fields

    @Test("a field mapping reads any export; nested keys and aliases work")
    func emailFields() throws {
        let f = try JSONLinesFormat(
            emailFields:
                "event=type, time=ts ,email=to.address,campaign=meta.name,url=link,ip=client.ip,useragent=client.ua,automation=machine"
        )
        let p = parse(
            f,
            #"{"type":"Clicked","ts":"2023-11-14T22:13:20Z","to":{"address":"x@example.com"},"meta":{"name":"m"},"link":"https://e.example/a","client":{"ip":"192.0.2.9","ua":"UA"},"machine":"proxy"}"#
        )
        #expect(p.result == .record)
        #expect(p.record.event == .click && p.record.timestamp == 1_700_000_000 && p.recipient == "x@example.com")
        #expect(p.campaign == "m" && p.url == "https://e.example/a" && p.ip == "192.0.2.9" && p.userAgent == "UA")
        #expect(p.record.automation == .proxy)
        #expect(f.name == "json-email")
        #expect(parse(f, #"{"ts":1700000000,"to":{"address":"x@example.com"}}"#).result == .reject(.missingField))
    }

    @Test("a mapping on top of a preset overrides the preset's keys for the fields it names")
    func emailFieldsOverPreset() throws {
        let f = try JSONLinesFormat(emailFields: "campaign=my_campaign,recipient=rcpt", base: .sendgrid)
        let p = parse(
            f,
            #"{"email":"ignored@example.com","rcpt":"r@example.com","timestamp":1700000000,"event":"open","category":"cat","my_campaign":"mine"}"#
        )
        #expect(p.result == .record && p.campaign == "mine" && p.recipient == "r@example.com")
        let q = parse(f, #"{"email":"e@example.com","timestamp":1700000000,"event":"open","category":"cat"}"#)
        #expect(
            q.result == .record && q.campaign == "cat" && q.recipient == "e@example.com",
            "the preset's keys still apply")
    }

    @Test(
        "bad mappings are usage errors",
        arguments: [
            "event=type,timestamp=ts", "event=type,timestamp=ts,recipient=",
            "colour=red,event=e,timestamp=t,recipient=r",
            "event=a,timestamp=a,recipient=r", "event=type,timestamp=ts,recipient=a..b", "nonsense",
        ])
    func badMappings(spec: String) {
        let e = #expect(throws: VeilError.self) { try JSONLinesFormat(emailFields: spec) }
        #expect(e?.code == .usage, "\(spec): \(e?.message ?? "")")
        #expect(e?.message.contains("--email-fields") == true)
    }

    // MARK: URL patterns

    @Test("the prefix check passes pattern paths and stops everything else")
    func mayMatch() throws {
        let p = try EmailPatterns(configuration: EmailConfiguration())
        func may(_ t: String) -> Bool { Array(t.utf8).withUnsafeBufferPointer { p.mayMatch($0) } }
        #expect(
            may("/t/open.gif?m=a&r=b") && may("/c/a/b?r=c") && may("/c/") && may("https://mail.example.com/c/a/b?r=x"))
        #expect(!may("/") && !may("/blog/post") && !may("/t/open.png") && !may("/cart") && !may("") && !may("*"))
        func match(_ t: String) -> EmailPatterns.Match? {
            Array(t.utf8).withUnsafeBufferPointer { p.match($0, offset: 0) }
        }
        #expect(match("/t/open.gif?r=tok&m=spring&x=1")?.kind == .open, "query parameters in any order")
        #expect(match("/t/open.gif?m=spring") == nil, "no recipient")
        #expect(match("/c/spring/hero?r=tok")?.kind == .click)
        #expect(match("/c/spring/hero/extra?r=tok") == nil, "segments must match")
        #expect(match("/c/spring/hero") == nil)
    }

    @Test(
        "the prefix check equals comparing every pattern's literal start, for every second byte",
        arguments: [
            (["/t/open.gif?m={campaign}&r={recipient}"], ["/c/{campaign}/{link}?r={recipient}"]),
            (["/~o/{campaign}?r={recipient}", "/0/{campaign}?r={recipient}"], ["/T{campaign}/{link}?r={recipient}"]),
            (["/{campaign}/o.gif?r={recipient}"], ["/c/{campaign}/{link}?r={recipient}"]),  // a one-byte start
        ])
    func mayMatchEqualsPrefixCompare(open: [String], click: [String]) throws {
        var c = EmailConfiguration()
        c.openPatterns = open
        c.clickPatterns = click
        let p = try EmailPatterns(configuration: c)
        let starts = (open + click).map { source in
            Array(source.utf8.prefix { $0 != UInt8(ascii: "{") && $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "?") })
        }
        var checked = 0, passed = 0
        for second in 0...255 {
            for third in [UInt8(ascii: "/"), UInt8(ascii: "o"), UInt8(ascii: "x")] {
                for target in [
                    [UInt8(ascii: "/"), UInt8(second)], [UInt8(ascii: "/"), UInt8(second), third, UInt8(ascii: "o")],
                ] {
                    let expected = starts.contains { target.starts(with: $0) }
                    let got = target.withUnsafeBufferPointer { p.mayMatch($0) }
                    #expect(
                        got == expected, "\(target) with starts \(starts.map { String(decoding: $0, as: UTF8.self) })")
                    checked += 1
                    if got { passed += 1 }
                }
            }
        }
        #expect(checked == 256 * 6 && passed > 0)
        #expect(
            [UInt8(ascii: "/")].withUnsafeBufferPointer { p.mayMatch($0) }
                == starts.contains { $0 == [UInt8(ascii: "/")] })
    }

    @Test(
        "patterns must name campaign and recipient; only clicks name a link",
        arguments: [
            (["/o/{campaign}.gif"], [String]()), (["/o.gif?r={recipient}"], []),
            (["/o/{campaign}/{link}?r={recipient}"], []),
            ([], ["/c/{link}?r={recipient}"]), (["no-slash?m={campaign}&r={recipient}"], []),
        ])
    func badPatterns(open: [String], click: [String]) {
        var c = EmailConfiguration()
        if !open.isEmpty { c.openPatterns = open }
        if !click.isEmpty { c.clickPatterns = click }
        let e = #expect(throws: VeilError.self) { try c.validate() }
        #expect(e?.code == .usage)
    }

    @Test("custom patterns: a recipient in the path, a suffix, several patterns")
    func customPatterns() throws {
        var c = EmailConfiguration()
        c.openPatterns = ["/px/{campaign}/{recipient}.gif", "/t/open.gif?m={campaign}&r={recipient}"]
        c.clickPatterns = ["/go/{campaign}?u={recipient}&l={link}"]
        let ws = try StateTestWorkspace()
        let s = try EmailTestKit.aggregate(
            ws,
            [
                EmailTestKit.line("/px/news/abc123.gif"), EmailTestKit.line("/t/open.gif?m=news&r=def"),
                EmailTestKit.line("/go/news?l=pricing&u=abc123", at: 900),
                EmailTestKit.line("/c/news/x?r=abc123", at: 950),
            ]
        ) { $0.email = c }
        let row = try #require(try EmailTestKit.campaigns(s)["news"])
        #expect(row["human_opens"] == "2" && row["unique_openers"] == "2" && row["clicks"] == "1")
        #expect(try EmailTestKit.links(s)["news pricing"]?["clicks"] == "1")
    }

    @Test("percent-decoding: %XX becomes a byte, + and broken escapes stay")
    func percentDecode() {
        func decode(_ s: String) -> String {
            var out: [UInt8] = []
            Array(s.utf8).withUnsafeBufferPointer { EmailPatterns.percentDecode($0, into: &out) }
            return String(decoding: out, as: UTF8.self)
        }
        #expect(decode("jane%40Example.com") == "jane@Example.com")
        #expect(decode("a+b%2Bc") == "a+b+c")
        #expect(decode("50%") == "50%" && decode("%zz") == "%zz" && decode("%4") == "%4" && decode("%41%42") == "AB")
    }

    @Test(
        "campaign and link names are redacted like path segments; URLs keep host and allowed query",
        arguments: [
            ("spring-sale", true, "spring-sale"), ("jane.doe@example.com", true, ":email"),
            ("0f3a9b7c2d1e4f5a6b7c8d9e0f1a2b3c", true, ":token"),
            ("123e4567-e89b-12d3-a456-426614174000", true, ":uuid"),
            ("2026-11-28", true, ":id"),
            (
                "https://www.Example.com/pricing?r=tok1234567890abcdef&utm_content=cta", false,
                "www.example.com/pricing?utm_content=cta"
            ), ("https://shop.example.org", false, "shop.example.org"),
            (
                "https://www.example.com/users/jane@example.com/orders/12345678", false,
                "www.example.com/users/:email/orders/:id"
            ),
            ("hero", false, "hero"), ("  ", true, "(none)"),
        ])
    func labels(raw: String, isName: Bool, label: String) {
        let got = Array(raw.utf8).withUnsafeBufferPointer {
            Aggregator.redactedLabel($0, isName: isName, URLRedactor())
        }
        #expect(got == label, "\(raw)")
    }

    // MARK: Scanner ranges

    @Test("scanner networks: IPv4 and IPv6 prefixes, bare addresses, embedded IPv4 forms")
    func networks() throws {
        let rules = try ScannerRules(agents: [], networks: ["192.0.2.224/28", "2001:db8:5::/48", "198.51.100.7"])
        func hit(_ a: String) -> Bool { rules.isScannerAddress(IPAddress(a)!) }
        #expect(hit("192.0.2.224") && hit("192.0.2.239") && !hit("192.0.2.240") && !hit("192.0.2.223"))
        #expect(hit("::ffff:192.0.2.230") && hit("64:ff9b::c000:2e1") && hit("2002:c000:02e5::1"))
        #expect(hit("2001:db8:5:ffff::1") && !hit("2001:db8:6::1"))
        #expect(hit("198.51.100.7") && !hit("198.51.100.8"))
        for bad in ["192.0.2.0/33", "2001:db8::/129", "not-an-address/8", "192.0.2.0/x", "1/2/3"] {
            let e = #expect(throws: VeilError.self, "\(bad)") { _ = try ScannerRules(agents: [], networks: [bad]) }
            #expect(e?.code == .usage)
        }
        for bad in ["x", "", "caf\u{e9}"] {
            #expect(throws: VeilError.self, "\(bad)") { _ = try ScannerRules(agents: [bad], networks: []) }
        }
    }

    @Test(
        "timing rules outside their ranges are usage errors",
        arguments: [
            EmailTimingRules(burstSeconds: -2, burstLinks: 2, deliverySeconds: 10),
            EmailTimingRules(burstSeconds: 5, burstLinks: 1, deliverySeconds: 10),
            EmailTimingRules(burstSeconds: 5, burstLinks: 2, deliverySeconds: 90_000),
            EmailTimingRules(burstSeconds: 5, burstLinks: 1001, deliverySeconds: 10),
        ])
    func badTiming(rules: EmailTimingRules) {
        #expect(throws: VeilError.self) { try rules.validate() }
    }
}
