import Testing

@testable import VeilCore

/// The outcome of parsing one line, with the line's bytes after parsing (escapes undone in
/// place) so ranges can be read back.
private struct JSONParsed {
    var result: ParseResult
    var record: LogRecord
    var bytes: [UInt8]

    func text(_ r: ByteRange) -> String {
        String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self)
    }
    func raw(_ r: ByteRange) -> [UInt8] { Array(bytes[Int(r.start)..<Int(r.end)]) }

    var site: String { text(record.site) }
    var client: String { text(record.clientAddress) }
    var forwardedFor: String { text(record.forwardedFor) }
    var user: String { text(record.user) }
    var method: String { text(record.method) }
    var target: String { text(record.target) }
    var proto: String { text(record.protocolVersion) }
    var referrer: String { text(record.referrer) }
    var userAgent: String { text(record.userAgent) }
    var cookie: String { text(record.cookie) }
    var recipient: String { text(record.recipient) }
    var campaign: String { text(record.campaign) }
}

private func parseJSON(_ format: JSONLinesFormat, _ line: String) -> JSONParsed {
    parseJSON(format, Array(line.utf8))
}

private func parseJSON(_ format: JSONLinesFormat, _ bytes: [UInt8]) -> JSONParsed {
    var bytes = bytes
    var record = LogRecord()
    record.status = 999  // proves the parser resets the record
    var format = format
    let result = bytes.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
    return JSONParsed(result: result, record: record, bytes: bytes)
}

/// 2023-11-14T22:13:20Z.
private let jsonT0: Int64 = 1_700_000_000

@Suite struct JSONLinesFormatTests {
    // MARK: - Caddy

    static let caddyLine = """
        {"level":"info","ts":1700000000.1234567,"logger":"http.log.access.log0","msg":"handled request",\
        "request":{"remote_ip":"198.51.100.7","remote_port":"41342","client_ip":"203.0.113.9",\
        "proto":"HTTP/2.0","method":"GET","host":"www.example.com","uri":"/blog/post?utm_source=news",\
        "headers":{"Accept":["*/*"],"User-Agent":["Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"],\
        "Referer":["https://search.example.com/?q=x"],"X-Forwarded-For":["203.0.113.9, 198.51.100.7"],\
        "Cookie":["theme=dark; uid=abc123"]},"tls":{"resumed":false,"version":772,"cipher_suite":4865,\
        "proto":"h2","server_name":"www.example.com"}},"bytes_read":0,"user_id":"","duration":0.000929675,\
        "size":10900,"status":200,"resp_headers":{"Server":["Caddy"],"Content-Type":["text/html; charset=utf-8"]}}
        """

    @Test func caddyLineFieldByField() {
        let p = parseJSON(JSONLinesFormat(preset: .caddy), Self.caddyLine)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)
        #expect(p.record.milliseconds == 123)
        #expect(p.client == "203.0.113.9")  // client_ip preferred over remote_ip, listed before it
        #expect(p.method == "GET")
        #expect(p.target == "/blog/post?utm_source=news")
        #expect(p.proto == "HTTP/2.0")
        #expect(p.site == "www.example.com")
        #expect(p.userAgent == "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
        #expect(p.referrer == "https://search.example.com/?q=x")
        #expect(p.forwardedFor == "203.0.113.9, 198.51.100.7")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 10900)
        #expect(p.user == "")
        #expect(p.cookie == "")  // whole cookie header ignored without a cookie name
        #expect(p.record.event == .request)
    }

    @Test("numbers of 1 to 20 digits, whole or with a fraction, end at the first byte that is not a digit")
    func numberEnds() {
        for count in 1...20 {
            let digits = String((0..<count).map { Character(String(($0 % 9) + 1)) })
            for fraction in ["", ".5", "." + digits] {
                let number = digits + fraction
                // Skipped numbers (duration), then one read as a value (size), before a separator.
                for end in [",", "}", " ,", "\t,"] {
                    let size = String(digits.prefix(18))
                    let line =
                        #"{"ts":1700000000.25,"duration":\#(number)\#(end == "}" ? "}" : end + #""size":\#(size),"status":200}"#)"#
                    let p = parseJSON(JSONLinesFormat(preset: .caddy), line)
                    #expect(p.result == .record, "\(line)")
                    if end != "}" { #expect(p.record.bytes == Int64(size)!, "\(line)") }
                }
                // A byte right after the digits that cannot follow a number.
                for stray in ["a", "/", ":", "-", "\"", "\u{7F}", "\u{FF}"] {
                    let line = #"{"ts":1700000000.25,"duration":\#(number)\#(stray),"status":200}"#
                    #expect(
                        parseJSON(JSONLinesFormat(preset: .caddy), line).result != .record, "\(line.debugDescription)")
                }
            }
        }
    }

    @Test func caddyCookieNameExtractsOneCookie() {
        let p = parseJSON(JSONLinesFormat(preset: .caddy, cookieName: "uid"), Self.caddyLine)
        #expect(p.result == .record)
        #expect(p.cookie == "abc123")
        let none = parseJSON(JSONLinesFormat(preset: .caddy, cookieName: "session"), Self.caddyLine)
        #expect(none.result == .record)
        #expect(none.record.cookie.isEmpty)
    }

    @Test func caddyOlderRemoteAddrAndISOTimestamp() {
        let line = """
            {"ts":"2023-11-14T22:13:20.250Z","request":{"remote_addr":"[2001:db8::1]:443","method":"HEAD",\
            "uri":"/","proto":"HTTP/1.1","host":"example.com","headers":{"User-Agent":["curl/8.4.0","second"]}},\
            "status":304,"size":0}
            """
        let p = parseJSON(JSONLinesFormat(preset: .caddy), line)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)
        #expect(p.record.milliseconds == 250)
        #expect(p.client == "2001:db8::1")
        #expect(p.userAgent == "curl/8.4.0")  // first element of the header array
        #expect(p.record.status == 304)
        #expect(p.record.bytes == 0)

        let v4 = parseJSON(
            JSONLinesFormat(preset: .caddy),
            #"{"ts":1700000000,"request":{"remote_addr":"192.0.2.1:5678"},"status":200}"#)
        #expect(v4.client == "192.0.2.1")
    }

    @Test func caddyRemoteIPWhenNoClientIP() {
        let p = parseJSON(
            JSONLinesFormat(preset: .caddy),
            #"{"request":{"remote_addr":"192.0.2.1:5678","remote_ip":"192.0.2.2"},"ts":1700000000}"#)
        #expect(p.result == .record)
        #expect(p.client == "192.0.2.2")  // remote_ip ranks above remote_addr
    }

    // MARK: - nginx

    @Test func nginxLineFieldByField() {
        let line = """
            {"time_local":"14/Nov/2023:23:13:20 +0100","remote_addr":"192.0.2.10","remote_user":"-",\
            "request":"GET /index.html?a=1 HTTP/1.1","status":"404","body_bytes_sent":"512","bytes_sent":"800",\
            "http_referer":"https://example.com/","http_user_agent":"curl/8.4.0","http_x_forwarded_for":"-",\
            "host":"example.com","server_name":"_","cookie_uid":"uid-42","http_cookie":"uid=other"}
            """
        let p = parseJSON(JSONLinesFormat(preset: .nginx, cookieName: "uid"), line)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)
        #expect(p.record.milliseconds == 0)
        #expect(p.client == "192.0.2.10")
        #expect(p.user == "")  // "-" is empty
        #expect(p.method == "GET")
        #expect(p.target == "/index.html?a=1")
        #expect(p.proto == "HTTP/1.1")
        #expect(p.record.status == 404)
        #expect(p.record.bytes == 512)  // body_bytes_sent before bytes_sent
        #expect(p.referrer == "https://example.com/")
        #expect(p.userAgent == "curl/8.4.0")
        #expect(p.forwardedFor == "")
        #expect(p.site == "example.com")  // host before server_name
        #expect(p.cookie == "uid-42")  // cookie_uid before the cookie header
    }

    @Test func nginxPrecedenceAndNumbers() {
        let line = """
            {"time_local":"14/Nov/2023:22:13:25 +0000","time_iso8601":"2023-11-14T22:13:24+00:00",\
            "msec":"1700000000.042","request_uri":"/explicit","request":"POST /from-line HTTP/2.0",\
            "server_protocol":"HTTP/1.0","status":201,"bytes_sent":77,"server_name":"example.com","uid":"u1"}
            """
        let p = parseJSON(JSONLinesFormat(preset: .nginx), line)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)  // msec wins over the other two
        #expect(p.record.milliseconds == 42)
        #expect(p.method == "POST")  // from the request line: no request_method key
        #expect(p.target == "/explicit")  // request_uri wins over the request line
        #expect(p.proto == "HTTP/1.0")
        #expect(p.record.status == 201)
        #expect(p.record.bytes == 77)
        #expect(p.site == "example.com")
        #expect(p.cookie == "u1")
    }

    @Test func nginxRequestLineForms() {
        let f = JSONLinesFormat(preset: .nginx)
        let p09 = parseJSON(f, #"{"msec":"1700000000","request":"GET /old"}"#)
        #expect(p09.result == .record)
        #expect(p09.method == "GET")
        #expect(p09.target == "/old")
        #expect(p09.proto == "")
        let spaces = parseJSON(f, #"{"msec":"1700000000","request":"GET /a b HTTP/1.1"}"#)
        #expect(spaces.target == "/a b")
        #expect(spaces.proto == "HTTP/1.1")
        let dash = parseJSON(f, #"{"msec":"1700000000","request":"-"}"#)
        #expect(dash.result == .record)
        #expect(dash.record.method.isEmpty)
    }

    // MARK: - Traefik

    static let traefikLine = """
        {"ClientAddr":"192.0.2.44:54321","ClientHost":"192.0.2.44","ClientPort":"54321","ClientUsername":"-",\
        "DownstreamContentSize":1234,"DownstreamStatus":301,"Duration":1500000,"OriginContentSize":1234,\
        "OriginStatus":502,"RequestAddr":"app.example.com","RequestHost":"app.example.com",\
        "RequestMethod":"POST","RequestPath":"/api/login?next=%2F","RequestProtocol":"HTTP/1.1",\
        "RequestScheme":"https","RouterName":"app@docker","StartLocal":"2023-11-14T23:13:20.5+01:00",\
        "StartUTC":"2023-11-14T22:13:20.123456789Z","entryPointName":"websecure","level":"info","msg":"",\
        "request_User-Agent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",\
        "request_Referer":"https://example.com/a","request_X-Forwarded-For":"203.0.113.1",\
        "time":"2023-11-14T22:13:21Z"}
        """

    @Test func traefikLineFieldByField() {
        let p = parseJSON(JSONLinesFormat(preset: .traefik), Self.traefikLine)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)  // StartUTC wins over time
        #expect(p.record.milliseconds == 123)
        #expect(p.client == "192.0.2.44")
        #expect(p.user == "")
        #expect(p.method == "POST")
        #expect(p.target == "/api/login?next=%2F")
        #expect(p.proto == "HTTP/1.1")
        #expect(p.site == "app.example.com")
        #expect(p.record.status == 301)  // downstream, not origin
        #expect(p.record.bytes == 1234)
        #expect(p.userAgent == "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)")
        #expect(p.referrer == "https://example.com/a")
        #expect(p.forwardedFor == "203.0.113.1")
    }

    // MARK: - Cloudflare

    static let cloudflareLine = """
        {"CacheCacheStatus":"hit","ClientIP":"2001:db8::7","ClientRequestHost":"www.example.com",\
        "ClientRequestMethod":"GET","ClientRequestProtocol":"HTTP/2","ClientRequestReferer":"https://search.example/",\
        "ClientRequestURI":"/docs/a?utm_source=x","ClientRequestUserAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",\
        "EdgeResponseBytes":4521,"EdgeResponseStatus":200,"EdgeStartTimestamp":1700000000123456789,\
        "OriginResponseStatus":304,"RayID":"7c5b7c8d9e0f1a2b"}
        """

    @Test func cloudflareLineFieldByField() {
        let f = JSONLinesFormat(preset: .cloudflare)
        #expect(f.name == "json-cloudflare")
        let p = parseJSON(f, Self.cloudflareLine)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0 && p.record.milliseconds == 123)
        #expect(p.client == "2001:db8::7" && p.site == "www.example.com")
        #expect(p.method == "GET" && p.target == "/docs/a?utm_source=x" && p.proto == "HTTP/2")
        #expect(p.record.status == 200, "the edge's status, not the origin's")
        #expect(p.record.bytes == 4521)
        #expect(p.referrer == "https://search.example/")
        #expect(p.userAgent == "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
        #expect(p.cookie == "" && p.user == "")
    }

    @Test(
        "Cloudflare's three timestamp formats: unixnano, unix, rfc3339",
        arguments: ["1700000000123456789", "1700000000", #""2023-11-14T22:13:20Z""#])
    func cloudflareTimestampFormats(_ value: String) {
        let p = parseJSON(
            JSONLinesFormat(preset: .cloudflare),
            #"{"ClientIP":"192.0.2.1","EdgeResponseStatus":404,"EdgeStartTimestamp":\#(value)}"#)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)
        #expect(p.record.status == 404)
    }

    @Test("Cloudflare's own requests (purges, health checks, Workers' subrequests) are skipped; eyeball requests kept")
    func cloudflareRequestSource() {
        let f = JSONLinesFormat(preset: .cloudflare)
        func line(_ source: String) -> String {
            #"{"ClientIP":"192.0.2.1","ClientRequestSource":\#(source),"EdgeResponseStatus":200,"EdgeStartTimestamp":1700000000}"#
        }
        for source in [#""eyeball""#, "1"] { #expect(parseJSON(f, line(source)).result == .record, "\(source)") }
        for source in [#""purge""#, #""healthcheck""#, #""edgeWorkerFetch""#, #""alwaysOnline""#, "4"] {
            #expect(parseJSON(f, line(source)).result == .skip, "\(source)")
        }
        // Without the field (a job that does not log it), every line counts.
        #expect(parseJSON(f, #"{"ClientIP":"192.0.2.1","EdgeStartTimestamp":1700000000}"#).result == .record)
    }

    @Test("a status of 0 (no response: the client went away) is skipped in every preset; other bad statuses reject")
    func zeroStatus() {
        for preset in JSONLinesFormat.Preset.allCases {
            let f = JSONLinesFormat(preset: preset)
            for key in ["status", "DownstreamStatus", "EdgeResponseStatus"]
            where JSONLinesFormat.keyPaths(of: preset)
                .contains(where: { $0.path == key })
            {
                for zero in ["0", #""0""#] {
                    let p = parseJSON(
                        f,
                        #"{"\#(key)":\#(zero),"time":"2023-11-14T22:13:20Z","ts":1700000000,"EdgeStartTimestamp":1700000000,"msec":"1700000000"}"#
                    )
                    #expect(p.result == .skip, "\(preset) \(key) \(zero)")
                }
                let bad = parseJSON(
                    f,
                    #"{"\#(key)":600,"time":"2023-11-14T22:13:20Z","ts":1700000000,"EdgeStartTimestamp":1700000000,"msec":"1700000000"}"#
                )
                #expect(bad.result == .reject(.badStatus), "\(preset) \(key)")
            }
        }
    }

    // MARK: - --json-fields

    @Test("a field mapping reads any access log in JSON: nested keys, aliases, spaces around names")
    func accessFields() throws {
        let f = try JSONLinesFormat(
            accessFields:
                "timestamp=start, client=peer.address ,host=http.host,method=http.method,uri=http.path,protocol=http.version,"
                + "status=http.status,size=http.size,referer=http.referer,useragent=http.ua,cookie=visitor,xff=http.xff,user=who"
        )
        #expect(f.name == "json-fields")
        let p = parseJSON(
            f,
            #"{"start":1700000000123456,"peer":{"address":"192.0.2.9"},"http":{"host":"shop.example","method":"POST","path":"/cart","version":"HTTP/1.1","status":"201","size":77,"referer":"https://a.example/","ua":"UA/1.0","xff":"203.0.113.1"},"visitor":"v-42","who":"alice"}"#
        )
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0 && p.record.milliseconds == 123)
        #expect(p.client == "192.0.2.9" && p.site == "shop.example" && p.method == "POST" && p.target == "/cart")
        #expect(p.proto == "HTTP/1.1" && p.record.status == 201 && p.record.bytes == 77)
        #expect(p.referrer == "https://a.example/" && p.userAgent == "UA/1.0" && p.forwardedFor == "203.0.113.1")
        #expect(p.cookie == "v-42" && p.user == "alice")
        // A whole request line, and an address with its port.
        let g = try JSONLinesFormat(accessFields: "time=t,request=r,ip_port=c")
        let q = parseJSON(g, #"{"t":"2023-11-14T22:13:20Z","r":"GET /a?b=1 HTTP/2.0","c":"[2001:db8::1]:443"}"#)
        #expect(q.result == .record && q.method == "GET" && q.target == "/a?b=1" && q.client == "2001:db8::1")
        #expect(parseJSON(g, #"{"r":"GET / HTTP/1.1"}"#).result == .reject(.missingField), "no time")
    }

    @Test("a mapping on top of a preset comes first, and the preset's keys still apply")
    func accessFieldsOverPreset() throws {
        let f = try JSONLinesFormat(accessFields: "host=x_site,ip=real_ip", base: .nginx)
        #expect(f.name == "json-nginx")
        let p = parseJSON(
            f,
            #"{"time_iso8601":"2023-11-14T22:13:20+00:00","remote_addr":"10.0.0.1","real_ip":"192.0.2.5","host":"lb.internal","x_site":"www.example.com","request":"GET / HTTP/1.1","status":200}"#
        )
        #expect(p.result == .record && p.client == "192.0.2.5" && p.site == "www.example.com")
        #expect(p.method == "GET" && p.record.status == 200, "the preset's keys")
        let q = parseJSON(f, #"{"time_iso8601":"2023-11-14T22:13:20+00:00","remote_addr":"10.0.0.1","status":200}"#)
        #expect(q.result == .record && q.client == "10.0.0.1", "the preset's key where the mapped one is absent")
        #expect(try JSONLinesFormat(accessFields: "ip=a", base: .auto).name == "json")
    }

    @Test(
        "bad access-field mappings are usage errors",
        arguments: [
            ("no timestamp", "ip=a,status=s"), ("empty path", "timestamp=t,ip="),
            ("unknown field", "timestamp=t,colour=red"), ("path twice", "timestamp=t,status=t"),
            ("empty component", "timestamp=a..b"), ("not a pair", "nonsense"),
            ("an e-mail field", "timestamp=t,recipient=r"),
        ])
    func badAccessMappings(_ why: String, _ spec: String) {
        let e = #expect(throws: VeilError.self, "\(why)") { try JSONLinesFormat(accessFields: spec) }
        #expect(e?.code == .usage, "\(why): \(e?.message ?? "")")
        #expect(e?.message.contains("--json-fields") == true, "\(why)")
    }

    @Test func traefikClientAddrWithoutClientHost() {
        let p = parseJSON(
            JSONLinesFormat(preset: .traefik),
            #"{"ClientAddr":"[2001:db8::5]:443","DownstreamStatus":200,"time":"2023-11-14T22:13:20Z"}"#)
        #expect(p.result == .record)
        #expect(p.client == "2001:db8::5")
        #expect(p.record.timestamp == jsonT0)
    }

    @Test(
        "fields sharing a slot (address or ip:port, cookie or Cookie header): the key that wins decides how the value is read, in either order"
    )
    func sharedSlotsFollowTheWinningKey() {
        // Slots: one per record field, two shared; the scanner keeps `slotCount`.
        let slots = JSONLinesFormat.Field.allCases.map(\.slot)
        #expect(Set(slots) == Set(0..<JSONLinesFormat.slotCount))
        let shared = Dictionary(grouping: JSONLinesFormat.Field.allCases, by: \.slot).values.filter { $0.count > 1 }
        #expect(Set(shared.map { Set($0) }) == [[.clientAddress, .clientAddressAndPort], [.cookie, .cookieHeader]])
        let traefik = JSONLinesFormat(preset: .traefik, cookieName: "uid")
        let tail = #""DownstreamStatus":200,"time":"2023-11-14T22:13:20Z""#
        // ClientHost (an address) wins over ClientAddr (ip:port) before or after it.
        for line in [
            #"{"ClientAddr":"[2001:db8::5]:443","ClientHost":"2001:db8::7","# + tail + "}",
            #"{"ClientHost":"2001:db8::7","ClientAddr":"[2001:db8::5]:443","# + tail + "}",
        ] {
            let p = parseJSON(traefik, line)
            #expect(p.result == .record)
            #expect(p.client == "2001:db8::7", "\(line)")
        }
        // ClientAddr alone: its port is dropped.
        #expect(parseJSON(traefik, #"{"ClientAddr":"192.0.2.9:8443","# + tail + "}").client == "192.0.2.9")
        // nginx: cookie_uid (a value) wins over http_cookie (a header) in either order; the
        // header alone gives its uid cookie.
        let nginx = JSONLinesFormat(preset: .nginx, cookieName: "uid")
        let head = #""msec":"1700000000.000","status":200,"#
        for line in [
            "{" + head + #""http_cookie":"a=1; uid=fromheader","cookie_uid":"direct"}"#,
            "{" + head + #""cookie_uid":"direct","http_cookie":"a=1; uid=fromheader"}"#,
        ] {
            #expect(parseJSON(nginx, line).cookie == "direct", "\(line)")
        }
        #expect(parseJSON(nginx, "{" + head + #""http_cookie":"a=1; uid=fromheader"}"#).cookie == "fromheader")
    }

    // MARK: - Inputs that log no user agent

    @Test(
        "an input none of whose first lines has a user-agent key logs none: a line without the key is unknown software, not a bot's empty agent"
    )
    func userAgentLoggingIsLearnedFromTheFirstLines() {
        let tail = #""DownstreamStatus":200,"RequestPath":"/","time":"2023-11-14T22:13:20Z"}"#
        let bare = #"{"ClientHost":"192.0.2.44","# + tail
        let withAgent = #"{"ClientHost":"192.0.2.45","request_User-Agent":"curl/8.4.0","# + tail
        let emptyAgent = #"{"ClientHost":"192.0.2.46","request_User-Agent":"","# + tail
        let dashAgent = #"{"ClientHost":"192.0.2.47","request_User-Agent":"-","# + tail
        func learned(_ lines: [String?]) -> JSONLinesFormat {
            var f = JSONLinesFormat(preset: .traefik)
            f.learnUserAgentLogging(from: lines.map { $0.map { Array($0.utf8) } })
            return f
        }

        // Traefik's default fields (request headers dropped): no line has the key.
        let dropped = learned([bare, bare, nil, "not json", bare])
        #expect(!dropped.logsUserAgent)
        let p = parseJSON(dropped, bare)
        #expect(p.result == .record && !p.record.userAgentLogged && p.record.userAgent.isEmpty)
        // A later line that has the key is read as usual, an empty or `-` value included.
        #expect(parseJSON(dropped, withAgent).record.userAgentLogged)
        #expect(parseJSON(dropped, withAgent).userAgent == "curl/8.4.0")
        #expect(parseJSON(dropped, emptyAgent).record.userAgentLogged)
        #expect(parseJSON(dropped, dashAgent).record.userAgentLogged)

        // Headers kept: a request that sent no User-Agent has no key, and its line is a bot's
        // empty agent. One line with the key decides, wherever it is and whatever its value.
        for sample in [[bare, withAgent, bare], [emptyAgent, bare], [bare, bare, dashAgent]] {
            let kept = learned(sample)
            #expect(kept.logsUserAgent, "\(sample)")
            let q = parseJSON(kept, bare)
            #expect(q.result == .record && q.record.userAgentLogged && q.record.userAgent.isEmpty)
        }

        // Nothing that parses says nothing: the default (user agents logged) stays.
        #expect(learned([]).logsUserAgent)
        #expect(learned([nil, "{", #"{"ClientHost":"192.0.2.44"}"#]).logsUserAgent)

        // nginx with a log_format without $http_user_agent; Caddy, whose lines carry their
        // request headers.
        var nginx = JSONLinesFormat(preset: .nginx)
        let nginxLine = #"{"msec":"1700000000","remote_addr":"192.0.2.10","request":"GET / HTTP/1.1","status":"200"}"#
        nginx.learnUserAgentLogging(from: [Array(nginxLine.utf8)])
        #expect(!nginx.logsUserAgent && !parseJSON(nginx, nginxLine).record.userAgentLogged)
        var caddy = JSONLinesFormat(preset: .caddy)
        let noHeader = #"{"ts":1700000000,"request":{"client_ip":"192.0.2.9","uri":"/","headers":{}},"status":200}"#
        caddy.learnUserAgentLogging(from: [Array(noHeader.utf8), Array(Self.caddyLine.utf8)])
        #expect(caddy.logsUserAgent && parseJSON(caddy, noHeader).record.userAgentLogged)
        // Caddy logs every request's headers: a file that starts with requests that sent no
        // User-Agent (a scanner's burst) still counts them as bots'.
        caddy.learnUserAgentLogging(from: Array(repeating: Array(noHeader.utf8), count: 64))
        #expect(caddy.logsUserAgent && parseJSON(caddy, noHeader).record.userAgentLogged)
        // The union of the presets may omit them, as Traefik and nginx may.
        var union = JSONLinesFormat(preset: .auto)
        union.learnUserAgentLogging(from: [Array(nginxLine.utf8)])
        #expect(!union.logsUserAgent)
    }

    // MARK: - auto

    @Test func autoParsesEveryPresetLikeThePreset() {
        let auto = JSONLinesFormat(preset: .auto)
        #expect(auto.name == "json")
        #expect(JSONLinesFormat(preset: .caddy).name == "json-caddy")
        let nginxLine = """
            {"time_iso8601":"2023-11-14T22:13:20+00:00","remote_addr":"192.0.2.10","request":"GET / HTTP/1.1",\
            "status":"200","body_bytes_sent":"5","http_user_agent":"curl/8.4.0","host":"example.com"}
            """
        for (preset, line) in [
            (JSONLinesFormat.Preset.caddy, Self.caddyLine), (.traefik, Self.traefikLine), (.nginx, nginxLine),
            (.cloudflare, Self.cloudflareLine),
        ] {
            let a = parseJSON(auto, line)
            let b = parseJSON(JSONLinesFormat(preset: preset), line)
            #expect(a.result == .record)
            #expect(a.record == b.record, "preset \(preset)")
        }
        let count = JSONLinesFormat.Preset.allCases.filter { $0 != .auto }
            .map { JSONLinesFormat.keyPaths(of: $0).count }.reduce(0, +)
        #expect(JSONLinesFormat.keyPaths(of: .auto).count == count)
    }

    @Test func autoPrecedenceCaddyThenNginxThenTraefik() {
        let line = """
            {"time":"2023-11-14T22:13:30Z","msec":"1700000010","ts":1700000000,"ClientHost":"192.0.2.3",\
            "remote_addr":"192.0.2.2","request":{"client_ip":"192.0.2.1"},"RequestMethod":"PUT","request_method":"GET"}
            """
        let p = parseJSON(JSONLinesFormat(preset: .auto), line)
        #expect(p.result == .record)
        #expect(p.record.timestamp == jsonT0)
        #expect(p.client == "192.0.2.1")
        #expect(p.method == "GET")
    }

    // MARK: - Strings, numbers, structure

    @Test func escapesAreDecodedInPlace() {
        let line = #"""
            {"ts":1700000000,"request":{"uri":"/a\"b\\c\/d","headers":{"User-Agent":["caf\u00e9 \ud83d\ude00 \u20AC\t\n"],"Referer":["\ud800x \udc00"]},"me\u0074hod":"GET"}}
            """#
        let p = parseJSON(JSONLinesFormat(preset: .caddy), line)
        #expect(p.result == .record)
        #expect(p.target == #"/a"b\c/d"#)
        #expect(p.userAgent == "café 😀 €\t\n")
        #expect(p.raw(p.record.userAgent).count == "café 😀 €\t\n".utf8.count)
        #expect(p.referrer == "\u{FFFD}x \u{FFFD}")  // lone surrogates
        #expect(p.method == "GET")  // the key itself was escaped
    }

    /// A string's end, escape or bad byte is found wherever it lies: the scan takes sixteen
    /// bytes, then eight, then one at a time, and a stop in any lane of a block must win.
    @Test func stringStopsAreFoundAtEveryOffset() {
        let f = JSONLinesFormat(preset: .nginx)
        let head = Array(#"{"time_iso8601":"2023-11-14T22:13:20Z","http_user_agent":""#.utf8)
        for length in 0...48 {
            let plain = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            // Near the end of the line too: the short tail takes the eight- and one-byte paths.
            for tail in [Array(#""}"#.utf8), Array(#"","status":200,"body_bytes_sent":"10900"}"#.utf8)] {
                let ok = parseJSON(f, head + plain + tail)
                #expect(ok.result == .record, "length \(length)")
                #expect(ok.raw(ok.record.userAgent) == plain, "length \(length)")
                for k in 0..<length {
                    // An escaped quote at k is decoded in place.
                    var escaped = plain
                    escaped.replaceSubrange(k..<(k + 1), with: Array(#"\""#.utf8))
                    let e = parseJSON(f, head + escaped + tail)
                    var decoded = plain
                    decoded[k] = UInt8(ascii: "\"")
                    #expect(e.result == .record, "escape at \(k) of \(length)")
                    #expect(e.raw(e.record.userAgent) == decoded, "escape at \(k) of \(length)")
                    // A raw control byte is bad JSON; a NUL is binary garbage.
                    for (byte, reason) in [
                        (UInt8(0x01), RejectReason.badJSON), (0x1F, .badJSON), (0x09, .badJSON), (0x00, .binaryGarbage),
                    ] {
                        var bad = plain
                        bad[k] = byte
                        #expect(
                            parseJSON(f, head + bad + tail).result == .reject(reason),
                            "byte \(byte) at \(k) of \(length)")
                    }
                    // Bytes above 0x7F and DEL are string content.
                    var high = plain
                    high[k] = k % 2 == 0 ? 0xFF : 0x7F
                    let h = parseJSON(f, head + high + tail)
                    #expect(h.result == .record)
                    #expect(h.raw(h.record.userAgent) == high)
                }
                // Cut off inside the string.
                #expect(parseJSON(f, head + plain).result == .reject(.truncated), "length \(length)")
            }
        }
    }

    /// Keys are told apart by their first eight bytes and length, then the rest: Traefik's
    /// `request_*` keys share their first eight bytes, and a key near the end of the line has
    /// fewer than eight bytes after its start.
    @Test func keysSharingTheirFirstBytesAndKeysAtTheEnd() {
        let f = JSONLinesFormat(preset: .traefik)
        let p = parseJSON(
            f,
            #"{"request_User-Agenx":"no","request_Referer":"https://a.example/","request_User-Agent":"ua","#
                + #""request_X-Forwarded-Fox":"no","request_X-Forwarded-For":"203.0.113.1","DownstreamStatus":200,"#
                + #""StartUTC":"2023-11-14T22:13:20Z"}"#)
        #expect(p.result == .record)
        #expect(p.userAgent == "ua")
        #expect(p.referrer == "https://a.example/")
        #expect(p.forwardedFor == "203.0.113.1")
        #expect(p.record.status == 200)
        #expect(p.record.timestamp == jsonT0)
        // The last key of the line, with a short value: fewer than eight bytes from its start.
        let caddy = JSONLinesFormat(preset: .caddy)
        let end = parseJSON(caddy, #"{"status":204,"ts":7}"#)
        #expect(end.result == .record)
        #expect(end.record.timestamp == 7)
        #expect(end.record.status == 204)
        let short = parseJSON(caddy, #"{"ts":7,"status":204}"#)
        #expect(short.result == .record)
        #expect(short.record.status == 204)
        // Same first bytes and length as a mapped key, one byte different further on.
        let other = parseJSON(caddy, #"{"ts":7,"statut":204}"#)
        #expect(other.result == .record)
        #expect(other.record.status == 0)
    }

    @Test func invalidUTF8IsKeptAsBytes() {
        var bytes = Array(#"{"ts":1700000000,"request":{"headers":{"User-Agent":[""#.utf8)
        bytes += [0x41, 0xFF, 0xFE, 0xC3]
        bytes += Array(#""]}}}"#.utf8)
        let p = parseJSON(JSONLinesFormat(preset: .caddy), bytes)
        #expect(p.result == .record)
        #expect(p.raw(p.record.userAgent) == [0x41, 0xFF, 0xFE, 0xC3])
    }

    @Test func numbersAndStringsAreBothAccepted() {
        let f = JSONLinesFormat(preset: .caddy)
        for line in [
            #"{"ts":1700000000.5,"status":200,"size":10900}"#,
            #"{"ts":"1700000000.5","status":"200","size":"10900"}"#,
            #"{"ts":1700000000500,"status":200,"size":"10900"}"#,
        ] {
            let p = parseJSON(f, line)
            #expect(p.result == .record, "\(line)")
            #expect(p.record.timestamp == jsonT0)
            #expect(p.record.milliseconds == 500)
            #expect(p.record.status == 200)
            #expect(p.record.bytes == 10900)
        }
        let noStatus = parseJSON(f, #"{"ts":1700000000,"status":null,"size":"-"}"#)
        #expect(noStatus.result == .record)
        #expect(noStatus.record.status == 0)
        #expect(noStatus.record.bytes == 0)
    }

    @Test func keyOrderDoesNotMatter() {
        let parts = [
            #""ts":1700000000.25"#,
            #""status":418"#,
            #""request":{"client_ip":"198.51.100.1","remote_ip":"198.51.100.2","uri":"/x","headers":{"Referer":["r"],"User-Agent":["ua"]}}"#,
            #""size":7"#,
            #""extra":{"request":{"uri":"/wrong"}}"#,
        ]
        let f = JSONLinesFormat(preset: .caddy)
        var count = 0
        for perm in jsonPermutations(parts) {
            let p = parseJSON(f, "{" + perm.joined(separator: ",") + "}")
            #expect(p.result == .record)
            #expect(p.record.timestamp == jsonT0 && p.record.milliseconds == 250)
            #expect(p.record.status == 418 && p.record.bytes == 7)
            #expect(p.client == "198.51.100.1")
            #expect(p.target == "/x")
            #expect(p.userAgent == "ua" && p.referrer == "r")
            count += 1
        }
        #expect(count == 120)
    }

    @Test func unknownKeysWithNestedValuesAreSkipped() {
        let line = """
            { "x" : { "request" : { "method" : "POST" } } , "arr":[{"a":[1,2,{"b":null}]},true,false,null,-1.5e-3,[]],\
            "e":{},"n":0,"m":-0.0e+10, "ts" : 1700000000 , "request":{"method":["GET"],"headers":{"User-Agent":[{"no":1},"ua"]}},\
            "status":{"code":500}, "deep":[[[[{"u":"\\u0041"}]]]] }
            """
        let p = parseJSON(JSONLinesFormat(preset: .caddy), line)
        #expect(p.result == .record)
        #expect(p.method == "GET")  // the nested "x.request.method" is not mapped
        #expect(p.record.userAgent.isEmpty)  // first array element is not a string
        #expect(p.record.status == 0)  // an object is not a status
    }

    @Test func blankLinesAreSkipped() {
        let f = JSONLinesFormat(preset: .auto)
        #expect(parseJSON(f, "").result == .skip)
        #expect(parseJSON(f, "   \t \r").result == .skip)
    }

    // MARK: - Rejects

    @Test(arguments: [
        (#"{"ts":1700000000,"status":200"#, RejectReason.truncated, "missing closing brace"),
        (#"{"ts":1700000000,"request":{"uri":"/a"#, .truncated, "cut inside a string"),
        (#"{"ts":1700000000,"request":{"uri":"/a"}"#, .truncated, "cut after an inner object"),
        (#"{"ts":1700000000,"status":20"#, .truncated, "cut inside a number"),
        (#"{"ts":1700000000,"#, .truncated, "cut after a comma"),
        (#"{"ts":tru"#, .truncated, "cut inside a literal"),
        (#"{"ts":1700000000,"a":"\u00"#, .truncated, "cut inside a \\u escape"),
        (#"{"ts":1700000000,"a":"x\"#, .truncated, "cut after a backslash"),
        ("{", .truncated, "only an opening brace"),
        (#"{"ts":1700000000,"a":"\q"}"#, .badJSON, "bad string escape"),
        (#"{"ts":1700000000,"a":"\u12G4"}"#, .badJSON, "bad hex digit"),
        (#"{"ts":1700000000,}"#, .badJSON, "trailing comma"),
        (#"{"ts" 1700000000}"#, .badJSON, "missing colon"),
        (#"{"ts":1700000000 "status":200}"#, .badJSON, "missing comma"),
        (#"{'ts':1700000000}"#, .badJSON, "single quotes"),
        (#"{ts:1700000000}"#, .badJSON, "unquoted key"),
        (#"{"ts":01}"#, .badJSON, "leading zero"),
        (#"{"ts":1.}"#, .badJSON, "no fraction digits"),
        (#"{"ts":1e}"#, .badJSON, "no exponent digits"),
        (#"{"ts":+1}"#, .badJSON, "plus sign"),
        (#"{"ts":tru}"#, .badJSON, "misspelt literal"),
        (#"{"ts":1700000000,"a":[1,2}"#, .badJSON, "array closed by a brace"),
        (#"[1,2,3]"#, .badJSON, "an array, not an object"),
        (#""ts""#, .badJSON, "a string, not an object"),
        ("hello world", .badJSON, "not JSON"),
        (#"{"ts":1700000000} {"ts":1}"#, .badJSON, "two objects on one line"),
        (#"{"ts":1700000000}x"#, .badJSON, "trailing text"),
        ("{\"ts\":1700000000,\"a\":\"tab\there\"}", .badJSON, "raw tab inside a string"),
        ("{\"ts\":1700000000,\"a\":\"x\u{1}\"}", .badJSON, "raw control byte inside a string"),
        (#"{"status":200,"size":5}"#, .missingField, "no timestamp"),
        (#"{"ts":null,"status":200}"#, .missingField, "null timestamp"),
        (#"{"ts":"yesterday"}"#, .badTimestamp, "timestamp text"),
        (#"{"ts":"2023-13-40T00:00:00Z"}"#, .badTimestamp, "impossible date"),
        (#"{"ts":-5}"#, .badTimestamp, "negative epoch"),
        (#"{"ts":1.7e9}"#, .badTimestamp, "epoch with exponent"),
        (#"{"ts":1700000000,"status":"abc"}"#, .badStatus, "status text"),
        (#"{"ts":1700000000,"status":700}"#, .badStatus, "status above 599"),
        (#"{"ts":1700000000,"status":99}"#, .badStatus, "status below 100"),
        (#"{"ts":1700000000,"status":200.5}"#, .badStatus, "fractional status"),
        (#"{"ts":1700000000,"size":-5}"#, .badBytes, "negative size"),
        (#"{"ts":1700000000,"size":"12kB"}"#, .badBytes, "size with a unit"),
    ])
    func malformedLines(line: String, reason: RejectReason, why: String) {
        let p = parseJSON(JSONLinesFormat(preset: .caddy), line)
        #expect(p.result == .reject(reason), "\(why)")
        #expect(p.record == LogRecord(), "\(why): record is reset on reject")
    }

    @Test func badRequestLine() {
        let p = parseJSON(JSONLinesFormat(preset: .nginx), #"{"msec":"1700000000","request":"GARBAGE"}"#)
        #expect(p.result == .reject(.badRequestLine))
        let q = parseJSON(JSONLinesFormat(preset: .nginx), #"{"msec":"1700000000","request":"GET "}"#)
        #expect(q.result == .reject(.badRequestLine))
    }

    @Test(
        arguments: [
            ([0x7B, 0x01, 0x7D], "control byte between tokens"),
            ([0x00, 0x00, 0x00, 0x00], "a run of NUL bytes"),
            (Array(#"{"ts":1700000000,"a":""#.utf8) + [0x00] + Array(#""}"#.utf8), "NUL inside a string"),
            (Array(#"{"ts":1700000000"#.utf8) + [0x7F] + Array("}".utf8), "DEL outside a string"),
            (Array(#"{"ts":1700000000}"#.utf8) + [0x1B, 0x5B], "escape sequence after the object"),
        ] as [([UInt8], String)])
    func binaryGarbage(bytes: [UInt8], why: String) {
        let p = parseJSON(JSONLinesFormat(preset: .caddy), bytes)
        #expect(p.result == .reject(.binaryGarbage), "\(why)")
    }

    @Test func nestingDepthIsLimited() {
        let deep =
            #"{"ts":1700000000,"a":"# + String(repeating: "[", count: 100)
            + String(repeating: "]", count: 100) + "}"
        #expect(parseJSON(JSONLinesFormat(preset: .caddy), deep).result == .reject(.badJSON))
        let ok =
            #"{"ts":1700000000,"a":"# + String(repeating: "[", count: 50)
            + String(repeating: "]", count: 50) + "}"
        #expect(parseJSON(JSONLinesFormat(preset: .caddy), ok).result == .record)
    }

    // MARK: - User mappings

    static let emailMap: [String: JSONLinesFormat.Field] = [
        "event": .event, "recipient": .recipient, "campaign_id": .campaign, "url": .target,
        "ip": .clientAddress, "user_agent": .userAgent, "timestamp": .timestamp,
    ]

    @Test func emailEventsWithAFieldMap() throws {
        let f = try JSONLinesFormat(fieldMap: Self.emailMap)
        #expect(f.name == "json")
        let click = parseJSON(
            f,
            """
            {"event":"click","timestamp":"2023-11-14T22:13:20.5Z","recipient":"someone@example.com",\
            "campaign_id":"spring-24","url":"https://www.example.com/offer?utm_source=mail&utm_campaign=spring",\
            "ip":"198.51.100.77","user_agent":"Mozilla/5.0 (Windows NT 10.0)","extra":{"tags":["a","b"]}}
            """)
        #expect(click.result == .record)
        #expect(click.record.event == .click)
        #expect(click.record.timestamp == jsonT0 && click.record.milliseconds == 500)
        #expect(click.recipient == "someone@example.com")
        #expect(click.campaign == "spring-24")
        #expect(click.target == "https://www.example.com/offer?utm_source=mail&utm_campaign=spring")
        #expect(click.client == "198.51.100.77")
        #expect(click.userAgent == "Mozilla/5.0 (Windows NT 10.0)")
        #expect(click.record.status == 0)

        for (name, kind) in [
            ("open", EventKind.open), ("Opened", .open), ("CLICKED", .click), ("delivered", .delivered),
            ("Delivery", .delivered),
        ] {
            let p = parseJSON(f, #"{"event":"\#(name)","timestamp":1700000000,"recipient":"r1"}"#)
            #expect(p.result == .record)
            #expect(p.record.event == kind, "\(name)")
        }
        for other in ["bounce", "unsubscribed", "spam", "sent"] {
            #expect(parseJSON(f, #"{"event":"\#(other)","timestamp":1700000000}"#).result == .skip)
        }
    }

    @Test func nestedUserPathsAndEscapedDots() throws {
        let f = try JSONLinesFormat(fieldMap: [
            "event": .event, "timestamp": .timestamp, "message.headers.message-id": .campaign,
            "client-info.user-agent": .userAgent, "a\\.b": .recipient,
        ])
        let p = parseJSON(
            f,
            """
            {"event":"opened","timestamp":1700000000.042,"client-info":{"client-os":"Linux","user-agent":"Mozilla/5.0"},\
            "message":{"headers":{"message-id":"20231114.1@example.com"}},"a.b":"token-9","a":{"b":"wrong"}}
            """)
        #expect(p.result == .record)
        #expect(p.record.event == .open)
        #expect(p.record.milliseconds == 42)
        #expect(p.userAgent == "Mozilla/5.0")
        #expect(p.campaign == "20231114.1@example.com")
        #expect(p.recipient == "token-9")
    }

    @Test func mappingOrderIsPrecedence() throws {
        let ordered = try JSONLinesFormat(mappings: ["t": .timestamp, "a": .userAgent, "b": .userAgent])
        let p = parseJSON(ordered, #"{"b":"B","a":"A","t":1700000000}"#)
        #expect(p.userAgent == "A")
        let flat = try JSONLinesFormat(fieldMap: ["t": .timestamp, "a": .userAgent, "b": .userAgent])
        #expect(parseJSON(flat, #"{"b":"B","a":"A","t":1700000000}"#).userAgent == "B")
        #expect(parseJSON(flat, #"{"a":"A","b":"B","t":1700000000}"#).userAgent == "A")
        #expect(parseJSON(flat, #"{"a":"","b":"B","t":1700000000}"#).userAgent == "B")  // "" is absent
    }

    @Test func badKeyPathsThrow() {
        #expect(throws: VeilError.self) { try JSONLinesFormat(fieldMap: ["": .site]) }
        #expect(throws: VeilError.self) { try JSONLinesFormat(fieldMap: ["a..b": .site]) }
        #expect(throws: VeilError.self) { try JSONLinesFormat(fieldMap: ["a.": .site]) }
        #expect(throws: VeilError.self) { try JSONLinesFormat(fieldMap: ["a\\": .site]) }
        #expect(throws: VeilError.self) { try JSONLinesFormat(mappings: ["a": .site, "a": .user]) }
        #expect(throws: Never.self) { try JSONLinesFormat(mappings: ["a": .site, "a": .site]) }
    }

    @Test func timestampForms() {
        let f = try! JSONLinesFormat(fieldMap: ["t": .timestamp])
        for (value, seconds, ms) in [
            ("1700000000", jsonT0, 0), ("\"1700000000123\"", jsonT0, 123), ("1700000000123", jsonT0, 123),
            ("\"14/Nov/2023:22:13:20 +0000\"", jsonT0, 0), ("\"[14/Nov/2023:22:13:20 +0000]\"", jsonT0, 0),
            ("\"2023-11-14 23:13:20.9+01:00\"", jsonT0, 900), ("\"2023-11-14T22:13:20Z\"", jsonT0, 0),
        ] as [(String, Int64, Int16)] {
            let p = parseJSON(f, #"{"t":\#(value)}"#)
            #expect(p.result == .record, "\(value)")
            #expect(p.record.timestamp == seconds && p.record.milliseconds == ms, "\(value)")
        }
    }

    @Test func recordIsReusedAcrossLines() {
        var f = JSONLinesFormat(preset: .caddy)
        var record = LogRecord()
        var a = Array(Self.caddyLine.utf8)
        _ = a.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
        var b = Array(#"{"ts":1700000000}"#.utf8)
        let r = b.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
        #expect(r == .record)
        #expect(record.userAgent.isEmpty && record.status == 0 && record.clientAddress.isEmpty)
    }
}

/// All orderings of `items` (Heap's algorithm).
private func jsonPermutations<T>(_ items: [T]) -> [[T]] {
    var a = items
    var out: [[T]] = []
    func generate(_ k: Int) {
        if k <= 1 {
            out.append(a)
            return
        }
        generate(k - 1)
        for i in 0..<(k - 1) {
            a.swapAt(k % 2 == 0 ? i : 0, k - 1)
            generate(k - 1)
        }
    }
    generate(a.count)
    return out
}
