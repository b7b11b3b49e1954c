/// How a line is damaged on purpose (the generator's malformed-line kinds that the renderer
/// itself produces; truncation, quote removal and garbage are applied by the caller).
enum Corruption {
    case none
    /// Month written `Xyz` (CLF) or `1X` (ISO dates); Caddy's `ts` becomes such a string.
    case badTimestamp
    /// Status written `2x0`.
    case badStatus
}

/// Offsets (into `ByteSink.buffer`) of the request target of the line just rendered.
struct TargetSpan {
    var start: Int
    var end: Int
}

/// Writes requests as log lines of one format, straight into a `ByteSink`.
///
/// Every piece is prebuilt bytes (addresses, user agents and their JSON / W3C spellings);
/// timestamps are formatted by hand and cached per second.
struct LineRenderer {
    let format: OutputFormat
    private let addresses: [[UInt8]]
    private let userAgents: [[UInt8]]
    /// User agents as JSON string contents (escaped).
    private let userAgentsJSON: [[UInt8]]
    /// User agents as IIS writes them: spaces as `+`.
    private let userAgentsW3C: [[UInt8]]
    private let sites: [[UInt8]]
    private let serverAddress: [UInt8]
    private let offsetMinutes: Int
    /// Traefik's count of the requests it has received (`traefik_clf`).
    private var traefikRequests = 0
    private var cachedSecond = Int64.min
    /// The current second in this format's main timestamp spelling.
    private var cachedStamp: [UInt8] = []
    /// The current second as a syslog header writes it (`Nov  8 12:14:14`; `haproxy`).
    private var cachedSyslogStamp: [UInt8] = []

    init(format: OutputFormat, population: Population, sites: [String], utcOffsetMinutes: Int) {
        self.format = format
        addresses = population.addresses.texts
        userAgents = population.userAgents.map { Array($0.text.utf8) }
        userAgentsJSON = userAgents.map(Self.jsonEscaped)
        userAgentsW3C = userAgents.map { $0.map { $0 == UInt8(ascii: " ") ? UInt8(ascii: "+") : $0 } }
        self.sites = sites.map { Array($0.utf8) }
        serverAddress = population.addresses.texts[population.serverAddress]
        // Formats that write UTC only ignore the offset.
        switch format {
        case .jsonCaddy, .jsonTraefik, .jsonTraefikDefault, .jsonCloudflare, .w3c, .awsALB, .awsELB, .awsS3, .gcs,
            .squid:
            offsetMinutes = 0
        default: offsetMinutes = utcOffsetMinutes
        }
    }

    /// Escapes `"`, `\` and control bytes for a JSON string.
    static func jsonEscaped(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let hex = hexDigits
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            default: out.append(b)
            }
        }
        return out
    }

    /// Writes the W3C directive lines or the GCS header row (other formats have none); returns
    /// how many.
    func writeHeader(_ sink: inout ByteSink, startSeconds: Int64) -> Int {
        if format == .gcs {
            sink.append("\"time_micros\",\"c_ip\",\"c_ip_type\",\"c_ip_region\",\"cs_method\",\"cs_uri\",")
            sink.append("\"sc_status\",\"cs_bytes\",\"sc_bytes\",\"time_taken_micros\",\"cs_host\",\"cs_referer\",")
            sink.append("\"cs_user_agent\",\"s_request_id\",\"cs_operation\",\"cs_bucket\",\"cs_object\"\n")
            return 1
        }
        guard format == .w3c else { return 0 }
        let f = UTCCalendar.Fields(seconds: startSeconds)
        sink.append("#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: ")
        writeW3CDateTime(&sink, f)
        sink.append("\n#Fields: date time s-sitename s-ip cs-method cs-uri-stem cs-uri-query s-port ")
        sink.append("cs-username c-ip cs(User-Agent) cs(Referer) cs-host sc-status sc-substatus ")
        sink.append("sc-win32-status sc-bytes time-taken\n")
        return 4
    }

    /// Appends `r` as one line, without the newline. `rng` supplies format-only details
    /// (client ports, durations) so that the traffic itself is the same in every format.
    mutating func render(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    )
        -> TargetSpan
    {
        switch format {
        case .common, .combined, .combinedCookie, .combinedCookieXFF, .vhostCombined, .vhostCommon, .nginxCustom,
            .traefikCLF:
            return renderText(r, corruption, &rng, &sink)
        case .jsonCaddy: return renderCaddy(r, corruption, &rng, &sink)
        case .jsonNginx: return renderNginx(r, corruption, &sink)
        case .jsonTraefik, .jsonTraefikDefault: return renderTraefik(r, corruption, &rng, &sink)
        case .jsonCloudflare: return renderCloudflare(r, corruption, &rng, &sink)
        case .w3c: return renderW3C(r, corruption, &rng, &sink)
        case .awsALB, .awsELB: return renderAWS(r, corruption, &rng, &sink)
        case .awsS3: return renderS3(r, corruption, &rng, &sink)
        case .haproxy: return renderHAProxy(r, corruption, &rng, &sink)
        case .gcs: return renderGCS(r, corruption, &rng, &sink)
        case .squid: return renderSquid(r, corruption, &rng, &sink)
        }
    }

    // MARK: - Pieces

    @inline(__always) private func method(_ r: Request, _ sink: inout ByteSink) {
        sink.append(r.method.bytes)
    }

    @inline(__always) private func target(_ r: Request, _ sink: inout ByteSink) -> TargetSpan {
        let start = sink.count
        sink.append(r.path)
        if !r.query.isEmpty {
            sink.append(UInt8(ascii: "?"))
            sink.append(r.query)
        }
        return TargetSpan(start: start, end: sink.count)
    }

    @inline(__always) private func proto(_ r: Request, _ sink: inout ByteSink) {
        sink.append(r.http2 ? "HTTP/2.0" : "HTTP/1.1")
    }

    @inline(__always) private func status(_ r: Request, _ corruption: Corruption, _ sink: inout ByteSink) {
        if corruption == .badStatus { sink.append("2x0") } else { sink.appendDecimal(r.status) }
    }

    private func durationMicros(_ r: Request, _ rng: inout Xoshiro256StarStar) -> Int {
        r.page >= 0 ? rng.inRange(4_000, 320_000) : rng.inRange(150, 6_000)
    }

    private func port(_ rng: inout Xoshiro256StarStar) -> Int { rng.inRange(1024, 65535) }

    /// Seconds as `sss.fff` with trailing zeros dropped, the way Go prints a float64.
    private func decimalSeconds(whole: Int64, fraction: Int, digits: Int, _ sink: inout ByteSink) {
        sink.appendDecimal(Int(whole))
        guard fraction > 0 else { return }
        var f = fraction
        var width = digits
        while f % 10 == 0 {
            f /= 10
            width -= 1
        }
        sink.append(UInt8(ascii: "."))
        sink.appendPadded(f, width: width)
    }

    private mutating func refreshStamp(_ seconds: Int64) {
        guard seconds != cachedSecond else { return }
        cachedSecond = seconds
        let local = seconds + Int64(offsetMinutes * 60)
        let f = UTCCalendar.Fields(seconds: local)
        var s = ""
        switch format {
        case .common, .combined, .combinedCookie, .combinedCookieXFF, .vhostCombined, .vhostCommon, .nginxCustom,
            .traefikCLF, .awsS3:
            let month = String(decoding: UTCCalendar.monthNames[f.month - 1], as: UTF8.self)
            s =
                "\(UTCCalendar.pad(f.day, 2))/\(month)/\(UTCCalendar.pad(f.year, 4)):\(UTCCalendar.pad(f.hour, 2)):"
                + "\(UTCCalendar.pad(f.minute, 2)):\(UTCCalendar.pad(f.second, 2)) \(offsetText(colon: false))"
        case .haproxy:
            let month = String(decoding: UTCCalendar.monthNames[f.month - 1], as: UTF8.self)
            let time = "\(UTCCalendar.pad(f.hour, 2)):\(UTCCalendar.pad(f.minute, 2)):\(UTCCalendar.pad(f.second, 2))"
            s = "\(UTCCalendar.pad(f.day, 2))/\(month)/\(UTCCalendar.pad(f.year, 4)):\(time)"
            cachedSyslogStamp = Array("\(month) \(f.day < 10 ? " " : "")\(f.day) \(time)".utf8)
        case .jsonNginx:
            s = isoText(f) + offsetText(colon: true)
        case .jsonTraefik, .jsonTraefikDefault, .jsonCaddy, .jsonCloudflare, .awsALB, .awsELB, .gcs, .squid:
            s = isoText(f)
        case .w3c:
            s =
                "\(UTCCalendar.pad(f.year, 4))-\(UTCCalendar.pad(f.month, 2))-\(UTCCalendar.pad(f.day, 2)) "
                + "\(UTCCalendar.pad(f.hour, 2)):\(UTCCalendar.pad(f.minute, 2)):\(UTCCalendar.pad(f.second, 2))"
        }
        cachedStamp = Array(s.utf8)
    }

    private func isoText(_ f: UTCCalendar.Fields) -> String {
        "\(UTCCalendar.pad(f.year, 4))-\(UTCCalendar.pad(f.month, 2))-\(UTCCalendar.pad(f.day, 2))T"
            + "\(UTCCalendar.pad(f.hour, 2)):\(UTCCalendar.pad(f.minute, 2)):\(UTCCalendar.pad(f.second, 2))"
    }

    private func offsetText(colon: Bool) -> String {
        let sign = offsetMinutes < 0 ? "-" : "+"
        let m = abs(offsetMinutes)
        return sign + UTCCalendar.pad(m / 60, 2) + (colon ? ":" : "") + UTCCalendar.pad(m % 60, 2)
    }

    /// Appends the cached stamp for the request's second, damaged when asked: CLF month
    /// (offset 3...5) becomes `Xyz`; ISO / W3C month digit (offset 6) becomes `X`.
    private mutating func stamp(_ r: Request, _ corruption: Corruption, _ sink: inout ByteSink) {
        refreshStamp(r.milliseconds / 1000)
        let start = sink.count
        sink.append(cachedStamp)
        guard corruption == .badTimestamp else { return }
        switch format {
        case .common, .combined, .combinedCookie, .combinedCookieXFF, .vhostCombined, .vhostCommon, .nginxCustom,
            .traefikCLF, .awsS3, .haproxy:
            sink.buffer[start + 3] = UInt8(ascii: "X")
            sink.buffer[start + 4] = UInt8(ascii: "y")
            sink.buffer[start + 5] = UInt8(ascii: "z")
        default:
            sink.buffer[start + 6] = UInt8(ascii: "X")
        }
    }

    private func writeW3CDateTime(_ sink: inout ByteSink, _ f: UTCCalendar.Fields) {
        sink.appendPadded(f.year, width: 4)
        sink.append(UInt8(ascii: "-"))
        sink.appendPadded(f.month, width: 2)
        sink.append(UInt8(ascii: "-"))
        sink.appendPadded(f.day, width: 2)
        sink.append(UInt8(ascii: " "))
        sink.appendPadded(f.hour, width: 2)
        sink.append(UInt8(ascii: ":"))
        sink.appendPadded(f.minute, width: 2)
        sink.append(UInt8(ascii: ":"))
        sink.appendPadded(f.second, width: 2)
    }

    // MARK: - Formats

    /// NCSA common / combined and their extended forms, vhost_combined, nginx-custom.
    private mutating func renderText(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        if format == .vhostCombined || format == .vhostCommon {
            sink.append(sites[r.site])
            sink.append(":443 ")
        }
        let bracketAllowed =
            format == .common || format == .combined || format == .combinedCookie || format == .combinedCookieXFF
        if r.bracketed && bracketAllowed {
            sink.append(UInt8(ascii: "["))
            sink.append(addresses[r.address])
            sink.append("]:")
            sink.appendDecimal(port(&rng))
        } else {
            sink.append(addresses[r.address])
        }
        sink.append(" - ")
        if r.user.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.user) }
        sink.append(" [")
        stamp(r, corruption, &sink)
        sink.append("] \"")
        method(r, &sink)
        sink.append(UInt8(ascii: " "))
        let span = target(r, &sink)
        sink.append(UInt8(ascii: " "))
        proto(r, &sink)
        sink.append("\" ")
        status(r, corruption, &sink)
        sink.append(UInt8(ascii: " "))
        if r.bytes == 0 && format != .nginxCustom && format != .vhostCombined && format != .traefikCLF {
            sink.append(UInt8(ascii: "-"))
        } else {
            sink.appendDecimal(r.bytes)
        }
        if format == .common || format == .vhostCommon { return span }
        sink.append(" \"")
        if r.referrer.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.referrer) }
        sink.append("\" \"")
        sink.append(userAgents[r.userAgent])
        sink.append(UInt8(ascii: "\""))
        if format.hasCookie {
            sink.append(" \"")
            if r.cookie.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.cookie) }
            sink.append(UInt8(ascii: "\""))
        }
        if format == .traefikCLF {
            // Traefik counts every request it receives, this one included.
            traefikRequests += 1
            sink.append(UInt8(ascii: " "))
            sink.appendDecimal(traefikRequests)
            sink.append(" \"website@docker\" \"http://")
            sink.append(serverAddress)
            sink.append(":8080\" ")
            sink.appendDecimal(durationMicros(r, &rng) / 1000)
            sink.append("ms")
        }
        if format == .combinedCookieXFF {
            sink.append(" \"")
            if r.forwardedVia < 0 {
                sink.append(UInt8(ascii: "-"))
            } else {
                sink.append(addresses[r.address])
                sink.append(", ")
                sink.append(addresses[r.forwardedVia])
            }
            sink.append(UInt8(ascii: "\""))
        }
        return span
    }

    /// Caddy `http.log.access` JSON.
    private mutating func renderCaddy(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        sink.append("{\"level\":\"info\",\"ts\":")
        if corruption == .badTimestamp {
            sink.append(UInt8(ascii: "\""))
            stamp(r, corruption, &sink)
            sink.append("Z\"")
        } else {
            decimalSeconds(whole: r.milliseconds / 1000, fraction: Int(r.milliseconds % 1000), digits: 3, &sink)
        }
        sink.append(",\"logger\":\"http.log.access\",\"msg\":\"handled request\",\"request\":{\"remote_ip\":\"")
        sink.append(addresses[r.address])
        sink.append("\",\"remote_port\":\"")
        sink.appendDecimal(port(&rng))
        sink.append("\",\"client_ip\":\"")
        sink.append(addresses[r.address])
        sink.append("\",\"proto\":\"")
        proto(r, &sink)
        sink.append("\",\"method\":\"")
        method(r, &sink)
        sink.append("\",\"host\":\"")
        sink.append(sites[r.site])
        sink.append("\",\"uri\":\"")
        let span = target(r, &sink)
        sink.append("\",\"headers\":{\"User-Agent\":[\"")
        sink.append(userAgentsJSON[r.userAgent])
        if !r.referrer.isEmpty {
            sink.append("\"],\"Referer\":[\"")
            sink.append(r.referrer)
        }
        sink.append("\"],\"Accept-Encoding\":[\"gzip, deflate, br\"]}},\"bytes_read\":")
        sink.appendDecimal(r.method == .post ? 64 : 0)
        sink.append(",\"user_id\":\"")
        sink.append(r.user)
        sink.append("\",\"duration\":")
        decimalSeconds(whole: 0, fraction: durationMicros(r, &rng), digits: 6, &sink)
        sink.append(",\"size\":")
        sink.appendDecimal(r.bytes)
        sink.append(",\"status\":")
        if corruption == .badStatus { sink.append("\"2x0\"") } else { sink.appendDecimal(r.status) }
        sink.append(",\"resp_headers\":{\"Server\":[\"Caddy\"]}}")
        return span
    }

    /// nginx `escape=json` log with string values.
    private mutating func renderNginx(_ r: Request, _ corruption: Corruption, _ sink: inout ByteSink) -> TargetSpan {
        sink.append("{\"time_iso8601\":\"")
        stamp(r, corruption, &sink)
        sink.append("\",\"remote_addr\":\"")
        sink.append(addresses[r.address])
        sink.append("\",\"request\":\"")
        method(r, &sink)
        sink.append(UInt8(ascii: " "))
        let span = target(r, &sink)
        sink.append(UInt8(ascii: " "))
        proto(r, &sink)
        sink.append("\",\"status\":\"")
        status(r, corruption, &sink)
        sink.append("\",\"body_bytes_sent\":\"")
        sink.appendDecimal(r.bytes)
        sink.append("\",\"http_referer\":\"")
        sink.append(r.referrer)
        sink.append("\",\"http_user_agent\":\"")
        sink.append(userAgentsJSON[r.userAgent])
        sink.append("\",\"host\":\"")
        sink.append(sites[r.site])
        sink.append("\"}")
        return span
    }

    /// Traefik JSON access log; keys in the sorted order Traefik writes. `json-traefik-default`
    /// has no `request_*` header keys.
    private mutating func renderTraefik(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        let clientPort = port(&rng)
        let v6 = addresses[r.address].contains(UInt8(ascii: ":"))
        sink.append("{\"ClientAddr\":\"")
        if v6 { sink.append(UInt8(ascii: "[")) }
        sink.append(addresses[r.address])
        if v6 { sink.append(UInt8(ascii: "]")) }
        sink.append(UInt8(ascii: ":"))
        sink.appendDecimal(clientPort)
        sink.append("\",\"ClientHost\":\"")
        sink.append(addresses[r.address])
        sink.append("\",\"ClientPort\":\"")
        sink.appendDecimal(clientPort)
        sink.append("\",\"ClientUsername\":\"")
        if r.user.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.user) }
        sink.append("\",\"DownstreamContentSize\":")
        sink.appendDecimal(r.bytes)
        sink.append(",\"DownstreamStatus\":")
        if corruption == .badStatus { sink.append("\"2x0\"") } else { sink.appendDecimal(r.status) }
        sink.append(",\"Duration\":")
        sink.appendDecimal(durationMicros(r, &rng) * 1000 + rng.below(1000))
        sink.append(",\"RequestAddr\":\"")
        sink.append(sites[r.site])
        sink.append("\",\"RequestHost\":\"")
        sink.append(sites[r.site])
        sink.append("\",\"RequestMethod\":\"")
        method(r, &sink)
        sink.append("\",\"RequestPath\":\"")
        let span = target(r, &sink)
        sink.append("\",\"RequestPort\":\"-\",\"RequestProtocol\":\"")
        proto(r, &sink)
        sink.append("\",\"RequestScheme\":\"https\",\"RetryAttempts\":0,\"RouterName\":\"web@docker\",\"StartUTC\":\"")
        stamp(r, corruption, &sink)
        let ms = Int(r.milliseconds % 1000)
        if ms > 0 {
            var f = ms
            var width = 3
            while f % 10 == 0 {
                f /= 10
                width -= 1
            }
            sink.append(UInt8(ascii: "."))
            sink.appendPadded(f, width: width)
        }
        sink.append("Z\",\"entryPointName\":\"websecure\",\"level\":\"info\",\"msg\":\"\",")
        if format == .jsonTraefik {
            if !r.referrer.isEmpty {
                sink.append("\"request_Referer\":\"")
                sink.append(r.referrer)
                sink.append("\",")
            }
            sink.append("\"request_User-Agent\":\"")
            sink.append(userAgentsJSON[r.userAgent])
            sink.append("\",")
        }
        sink.append("\"time\":\"")
        stamp(r, corruption, &sink)
        sink.append("Z\"}")
        return span
    }

    /// Cloudflare Logpush `http_requests`, keys sorted as Cloudflare's dashboard lists them.
    private mutating func renderCloudflare(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        sink.append("{\"ClientIP\":\"")
        sink.append(addresses[r.address])
        sink.append("\",\"ClientRequestHost\":\"")
        sink.append(sites[r.site])
        sink.append("\",\"ClientRequestMethod\":\"")
        method(r, &sink)
        sink.append("\",\"ClientRequestProtocol\":\"")
        proto(r, &sink)
        sink.append("\",\"ClientRequestReferer\":\"")
        sink.append(r.referrer)
        sink.append("\",\"ClientRequestURI\":\"")
        let span = target(r, &sink)
        sink.append("\",\"ClientRequestUserAgent\":\"")
        sink.append(userAgentsJSON[r.userAgent])
        sink.append("\",\"EdgeResponseBytes\":")
        sink.appendDecimal(r.bytes)
        sink.append(",\"EdgeResponseStatus\":")
        if corruption == .badStatus { sink.append("\"2x0\"") } else { sink.appendDecimal(r.status) }
        sink.append(",\"EdgeStartTimestamp\":")
        if corruption == .badTimestamp {
            sink.append(UInt8(ascii: "\""))
            stamp(r, corruption, &sink)
            sink.append("Z\"")
        } else {
            // Nanoseconds: the request's millisecond and a sub-millisecond part.
            sink.appendDecimal(Int(r.milliseconds) * 1_000_000 + rng.below(1_000_000))
        }
        sink.append(",\"RayID\":\"")
        hex(rng.next(), digits: 16, &sink)
        sink.append("\"}")
        return span
    }

    /// Amazon S3 server access log line of a website bucket (anonymous requests).
    private mutating func renderS3(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        sink.append("5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 ")
        sink.append(sites[r.site])
        sink.append(" [")
        stamp(r, corruption, &sink)
        sink.append("] ")
        sink.append(addresses[r.address])
        sink.append(" - ")
        hex(rng.next(), digits: 16, &sink)
        sink.append(" WEBSITE.")
        method(r, &sink)
        sink.append(".OBJECT ")
        if r.path.count > 1 { sink.append(Array(r.path[1...])) } else { sink.append(UInt8(ascii: "-")) }
        sink.append(" \"")
        method(r, &sink)
        sink.append(UInt8(ascii: " "))
        let span = target(r, &sink)
        sink.append(" HTTP/1.1\" ")
        status(r, corruption, &sink)
        switch r.status {
        case 404: sink.append(" NoSuchKey ")
        case 403: sink.append(" AccessDenied ")
        default: sink.append(" - ")
        }
        if r.bytes == 0 {
            sink.append("- -")
        } else {
            sink.appendDecimal(r.bytes)
            sink.append(UInt8(ascii: " "))
            sink.appendDecimal(r.bytes)
        }
        let total = durationMicros(r, &rng) / 1000 + 1
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(total)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(total - total / 4)
        sink.append(" \"")
        if r.referrer.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.referrer) }
        sink.append("\" \"")
        sink.append(userAgents[r.userAgent])
        sink.append("\" - ")
        hex(rng.next(), digits: 16, &sink)
        hex(rng.next(), digits: 16, &sink)
        sink.append("= - - - ")
        sink.append(sites[r.site])
        sink.append(".s3-website-us-east-1.amazonaws.com - - -")
        return span
    }

    /// Google Cloud Storage usage log line (columns as in `writeHeader`). A bad timestamp has
    /// an `X` for its fifth digit.
    private mutating func renderGCS(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        let micros = r.milliseconds * 1000 + Int64(rng.below(1000))
        sink.append(UInt8(ascii: "\""))
        let stampStart = sink.count
        sink.appendDecimal(Int(micros))
        if corruption == .badTimestamp { sink.buffer[stampStart + 4] = UInt8(ascii: "X") }
        let address = addresses[r.address]
        sink.append("\",\"")
        sink.append(address)
        sink.append(address.contains(UInt8(ascii: ":")) ? "\",\"2\",\"\",\"" : "\",\"1\",\"\",\"")
        method(r, &sink)
        sink.append("\",\"")
        let pathStyle = rng.below(8) == 0
        let uriStart = sink.count
        if pathStyle {
            sink.append(UInt8(ascii: "/"))
            sink.append(sites[r.site])
        }
        let span = target(r, &sink)
        sink.append("\",\"")
        status(r, corruption, &sink)
        sink.append("\",\"0\",\"")
        sink.appendDecimal(r.bytes)
        sink.append("\",\"")
        sink.appendDecimal(durationMicros(r, &rng) / 1000 * 1000)
        sink.append("\",\"")
        if pathStyle { sink.append("storage.googleapis.com") } else { sink.append(sites[r.site]) }
        sink.append("\",\"")
        sink.append(r.referrer)
        sink.append("\",\"")
        sink.append(userAgents[r.userAgent])
        if rng.below(4) != 0 { sink.append(",gzip(gfe)") }
        sink.append("\",\"")
        hex(rng.next(), digits: 16, &sink)
        hex(rng.next(), digits: 16, &sink)
        sink.append("\",\"")
        sink.append(r.method.bytes)
        sink.append("_Object\",\"")
        sink.append(sites[r.site])
        sink.append("\",\"")
        if r.path.count > 1 { sink.append(Array(r.path[1...])) }
        sink.append(UInt8(ascii: "\""))
        return TargetSpan(start: uriStart, end: span.end)
    }

    /// Squid native access log line. A bad timestamp has an `X` for its fifth digit.
    private mutating func renderSquid(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        let stampStart = sink.count
        sink.appendDecimal(Int(r.milliseconds / 1000))
        sink.append(UInt8(ascii: "."))
        sink.appendPadded(Int(r.milliseconds % 1000), width: 3)
        if corruption == .badTimestamp { sink.buffer[stampStart + 4] = UInt8(ascii: "X") }
        // The elapsed milliseconds, right-aligned in six columns.
        let elapsed = Array(String(durationMicros(r, &rng) / 1000).utf8)
        sink.append(UInt8(ascii: " "))
        for _ in elapsed.count..<max(6, elapsed.count) { sink.append(UInt8(ascii: " ")) }
        sink.append(elapsed)
        sink.append(UInt8(ascii: " "))
        sink.append(addresses[r.address])
        sink.append(r.status == 304 ? " TCP_REFRESH_UNMODIFIED/" : r.page >= 0 ? " TCP_MISS/" : " TCP_MEM_HIT/")
        status(r, corruption, &sink)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(r.bytes)
        sink.append(UInt8(ascii: " "))
        method(r, &sink)
        sink.append(" https://")
        sink.append(sites[r.site])
        let span = target(r, &sink)
        sink.append(UInt8(ascii: " "))
        if r.user.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.user) }
        sink.append(" HIER_DIRECT/")
        sink.append(serverAddress)
        sink.append(r.page >= 0 ? " text/html" : " -")
        return span
    }

    /// IIS W3C extended line (fields as in `writeHeader`).
    private mutating func renderW3C(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        stamp(r, corruption, &sink)
        sink.append(" W3SVC")
        sink.appendDecimal(r.site + 1)
        sink.append(UInt8(ascii: " "))
        sink.append(serverAddress)
        sink.append(UInt8(ascii: " "))
        method(r, &sink)
        sink.append(UInt8(ascii: " "))
        let start = sink.count
        sink.append(r.path)
        let span = TargetSpan(start: start, end: sink.count)
        sink.append(UInt8(ascii: " "))
        if r.query.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.query) }
        sink.append(" 443 ")
        if r.user.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.user) }
        sink.append(UInt8(ascii: " "))
        sink.append(addresses[r.address])
        sink.append(UInt8(ascii: " "))
        sink.append(userAgentsW3C[r.userAgent])
        sink.append(UInt8(ascii: " "))
        if r.referrer.isEmpty { sink.append(UInt8(ascii: "-")) } else { sink.append(r.referrer) }
        sink.append(UInt8(ascii: " "))
        sink.append(sites[r.site])
        sink.append(UInt8(ascii: " "))
        status(r, corruption, &sink)
        sink.append(" 0 0 ")
        sink.appendDecimal(r.bytes)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(durationMicros(r, &rng) / 1000)
        return span
    }

    /// An AWS load balancer's line: Application (`aws_alb`, all of its fields) or Classic
    /// (`aws_elb`, an HTTPS listener's). The time is UTC with microseconds; the client is
    /// `address:port`, an IPv6 address without brackets; the request line holds the absolute
    /// URL (`https://site:443/path`); the target is the generator's server address.
    private mutating func renderAWS(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        let alb = format == .awsALB
        if alb { sink.append(r.http2 ? "h2 " : "https ") }
        stamp(r, corruption, &sink)
        sink.append(UInt8(ascii: "."))
        sink.appendPadded(Int(r.milliseconds % 1000) * 1000 + rng.below(1000), width: 6)
        sink.append(alb ? "Z app/veil-web/50dc6c495c0c9188 " : "Z veil-web ")
        sink.append(addresses[r.address])
        sink.append(UInt8(ascii: ":"))
        sink.appendDecimal(port(&rng))
        sink.append(UInt8(ascii: " "))
        sink.append(serverAddress)
        sink.append(alb ? ":80 0.000 " : ":80 0.000041 ")
        let micros = durationMicros(r, &rng)
        if alb {
            decimalFixed(micros / 1000, digits: 3, &sink)
            sink.append(" 0.000 ")
        } else {
            decimalFixed(micros, digits: 6, &sink)
            sink.append(" 0.000027 ")
        }
        status(r, corruption, &sink)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(r.status)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(rng.inRange(180, 900) + (r.method == .post ? 640 : 0))
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(r.bytes)
        sink.append(" \"")
        method(r, &sink)
        sink.append(" https://")
        sink.append(sites[r.site])
        sink.append(":443")
        let span = target(r, &sink)
        sink.append(UInt8(ascii: " "))
        proto(r, &sink)
        sink.append("\" \"")
        sink.append(userAgents[r.userAgent])
        sink.append("\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2")
        guard alb else { return span }
        sink.append(
            " arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/veil-web/73e2d6bc24d8a067 \"Root=1-")
        hex(rng.next(), digits: 8, &sink)
        sink.append(UInt8(ascii: "-"))
        hex(rng.next(), digits: 16, &sink)
        hex(rng.next(), digits: 8, &sink)
        sink.append("\" \"")
        sink.append(sites[r.site])
        sink.append("\" \"arn:aws:acm:us-east-1:123456789012:certificate/0f3c8e2a-5b1d-4c7e-9a6f-2d4b8c1e7f30\" 0 ")
        sink.append(cachedStamp)
        sink.append(".000000Z \"forward\" \"-\" \"-\" \"")
        sink.append(serverAddress)
        sink.append(":80\" \"")
        sink.appendDecimal(r.status)
        sink.append("\" \"-\" \"-\"")
        return span
    }

    /// HAProxy's HTTP log line, as rsyslog writes it: `Nov 28 12:14:14 lb1 haproxy[2314]:
    /// client:port [28/Nov/2026:12:14:14.655] www-https~ web/web2 0/0/1/12/13 200 5120 uid=… -
    /// ---- 3/3/1/1/0 0/0 {host|user agent|referer} "GET /a HTTP/1.1"`.
    private mutating func renderHAProxy(
        _ r: Request, _ corruption: Corruption, _ rng: inout Xoshiro256StarStar, _ sink: inout ByteSink
    ) -> TargetSpan {
        refreshStamp(r.milliseconds / 1000)
        sink.append(cachedSyslogStamp)
        sink.append(" lb1 haproxy[2314]: ")
        sink.append(addresses[r.address])
        sink.append(UInt8(ascii: ":"))
        sink.appendDecimal(port(&rng))
        sink.append(" [")
        stamp(r, corruption, &sink)
        sink.append(UInt8(ascii: "."))
        sink.appendPadded(Int(r.milliseconds % 1000), width: 3)
        sink.append("] www-https~ web/web")
        sink.appendDecimal(1 + rng.below(3))
        sink.append(" 0/0/")
        let millis = durationMicros(r, &rng) / 1000
        sink.appendDecimal(min(millis, 1))
        sink.append(UInt8(ascii: "/"))
        sink.appendDecimal(millis)
        sink.append(UInt8(ascii: "/"))
        sink.appendDecimal(millis + 1)
        sink.append(UInt8(ascii: " "))
        status(r, corruption, &sink)
        sink.append(UInt8(ascii: " "))
        sink.appendDecimal(r.bytes)
        if r.cookie.isEmpty {
            sink.append(" - ")
        } else {
            sink.append(" uid=")
            sink.append(r.cookie)
            sink.append(UInt8(ascii: " "))
        }
        let active = 1 + rng.below(40)
        sink.append("- ---- ")
        sink.appendDecimal(active)
        sink.append(UInt8(ascii: "/"))
        sink.appendDecimal(active)
        sink.append("/1/1/0 0/0 {")
        sink.append(sites[r.site])
        sink.append(UInt8(ascii: "|"))
        sink.append(userAgents[r.userAgent])
        sink.append(UInt8(ascii: "|"))
        sink.append(r.referrer)
        sink.append("} \"")
        method(r, &sink)
        sink.append(UInt8(ascii: " "))
        if r.http2 {
            sink.append("https://")
            sink.append(sites[r.site])
        }
        let span = target(r, &sink)
        sink.append(UInt8(ascii: " "))
        proto(r, &sink)
        sink.append(UInt8(ascii: "\""))
        return span
    }

    /// `value / 10^digits` with exactly `digits` decimals (`0.012`).
    private func decimalFixed(_ value: Int, digits: Int, _ sink: inout ByteSink) {
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        sink.appendDecimal(value / scale)
        sink.append(UInt8(ascii: "."))
        sink.appendPadded(value % scale, width: digits)
    }

    /// The low `digits` hexadecimal digits of `value`, lower case.
    private func hex(_ value: UInt64, digits: Int, _ sink: inout ByteSink) {
        for k in stride(from: digits - 1, through: 0, by: -1) {
            sink.append(Self.hexDigits[Int((value >> (4 * UInt64(k))) & 0xF)])
        }
    }

    /// Lower-case hexadecimal digits, for JSON escapes and ALB trace ids.
    private static let hexDigits = Array("0123456789abcdef".utf8)
}
