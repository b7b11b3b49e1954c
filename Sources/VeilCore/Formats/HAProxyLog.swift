import CByteScan
import Foundation

/// How to read HAProxy's HTTP logs (`--format haproxy`): which request headers the frontend
/// captures, in order.
///
/// HAProxy logs a request's captured headers (`capture request header Host len 64`, …) as
/// `{value|value|…}` in the order of the frontend's `capture` lines, without their names, so
/// the names come from the user (`--haproxy-headers host,user-agent,referer`). (Its accept
/// date, `[28/Nov/2026:12:14:14.655]`, is the local time of HAProxy's host without an offset:
/// its zone is the log's time zone, `TextFormat.setLogTimeZone(_:)`.)
public struct HAProxyConfiguration: Sendable, Equatable {
    /// A captured request header veil reads; any other name is a header it skips.
    public enum Header: Sendable, Equatable {
        /// `Host`: names the site.
        case host
        /// `User-Agent`.
        case userAgent
        /// `Referer` (also spelled `referrer`).
        case referer
        /// `X-Forwarded-For`: the client behind a proxy, with `--trust-forwarded-for`.
        case forwardedFor
        /// A header veil does not read (`X-Request-ID`, `Accept-Language`, …).
        case other
    }

    /// The frontend's captured request headers, in the order it logs them.
    public var capturedRequestHeaders: [Header] = []
    /// The name of the visitor cookie the frontend captures (`capture cookie uid len 64`,
    /// logged `uid=value`), or nil: a captured cookie of another name (a load balancer's
    /// `SERVERID`, which many visitors share) is not read. As HAProxy's `capture cookie`
    /// matches it, the name is a prefix of the cookie's (`ASPSESSION` reads
    /// `ASPSESSIONIDQQ=…`) unless it ends with `=` (`uid=` reads `uid=…` only).
    public var cookieName: [UInt8]?

    public init() {}

    /// Reads `--haproxy-headers`: header names separated by commas, in the order of the
    /// frontend's `capture request header` lines (`host,user-agent,referer`); names are matched
    /// without regard to case, and a name veil does not read (`x-request-id`) or `-` keeps a
    /// header's place.
    /// - Throws: `VeilError` (`.usage`) for an empty list, an empty name or a name with bytes
    ///   a header name cannot have.
    public mutating func setCapturedRequestHeaders(_ list: String) throws(VeilError) {
        var headers: [Header] = []
        for raw in list.split(separator: ",", omittingEmptySubsequences: false) {
            let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
            guard !name.isEmpty else {
                throw VeilError(.usage, "--haproxy-headers: an empty header name in '\(list)'")
            }
            switch name {
            case "host": headers.append(.host)
            case "user-agent": headers.append(.userAgent)
            case "referer", "referrer": headers.append(.referer)
            case "x-forwarded-for": headers.append(.forwardedFor)
            case "-": headers.append(.other)
            default:
                guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                    throw VeilError(.usage, "--haproxy-headers: '\(name)' is not a header name")
                }
                headers.append(.other)
            }
        }
        capturedRequestHeaders = headers
    }

    /// Reads `--haproxy-cookie`: the name of the visitor cookie the frontend captures.
    /// - Throws: `VeilError` (`.usage`) for an empty name or one with bytes a cookie name cannot
    ///   have.
    public mutating func setCookieName(_ name: String) throws(VeilError) {
        let bytes = Array(name.utf8)
        let word = bytes.last == UInt8(ascii: "=") ? bytes.dropLast() : bytes[...]
        let separators = Array("()<>@,;:\\\"/[]?={} ".utf8)
        guard !word.isEmpty, word.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !separators.contains($0) }) else {
            throw VeilError(.usage, "--haproxy-cookie: '\(name)' is not a cookie name")
        }
        cookieName = bytes
    }
}

extension TextFormat {
    /// Parses one line of HAProxy's HTTP log (`option httplog`, and `option httpslog`, whose TLS
    /// fields come after the request):
    ///
    /// `[syslog header] client:port [accept date] frontend backend/server TR/Tw/Tc/Tr/Ta status
    /// bytes captured-cookie response-cookie termination-state conns queues [{request headers}]
    /// [{response headers}] "request"`
    ///
    /// - The syslog header (`Nov 28 12:14:14 lb1 haproxy[2314]: `, an RFC 5424 header, `<134>`
    ///   of `log stdout format short`, or none with `format raw`) is whatever comes before the
    ///   client: the line is read from its accept date, the first ` [` followed by two digits and
    ///   `/`, and the client is the word before it, after a `<priority>` or `]:` glued to it.
    /// - The client is `address:port` (an IPv6 address written without brackets keeps its
    ///   colons); the accept date is `dd/Mon/yyyy:HH:MM:SS` with an optional fraction, in the
    ///   log's time zone (`clock`).
    /// - The status is three digits; `-1` (no response was sent) is `.skip`. The size may carry
    ///   `+` (`option logasap`).
    /// - The captured request cookie is the visitor's when its name is the configured one
    ///   (`uid=value`); `-` or another name is none.
    /// - The request headers' `{…|…}` are read by the configured names; without names, or on a
    ///   line without the group, the line has no user agent (`LogRecord.userAgentLogged` false).
    ///   A captured `Host` that is a host name names the site; nothing else does (an HTTP/2
    ///   request's absolute URL would name it for those requests only).
    /// - The request runs from its `"` to the next `"` (HAProxy writes a `"` inside it as
    ///   `#22`); a line cut short before that quote (HAProxy's log line length, 1024 bytes by
    ///   default) keeps its record with the request running to the end of the line, counted as
    ///   repaired. `<BADREQ>` is a request of no method and target.
    /// - A TCP log line (`option tcplog`: three timers and no request) and a connection's error
    ///   (`fe/1: SSL handshake failure`) are `.skip`, with their time read; so is HAProxy's own
    ///   message (`Proxy www started.`, `Server be/s1 is DOWN, …`, `[WARNING] …`), a line without
    ///   an accept date whose first word is not an address.
    /// - A line that ends before its last field is `.truncated`.
    @inline(never)
    static func parseHAProxy(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, configuration: HAProxyConfiguration,
        clock: inout LocalClock, record: inout LogRecord, unterminated: inout Bool
    ) -> ParseResult {
        let line = UnsafeBufferPointer(start: p, count: n)
        func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") <= 9 }
        // The accept date.
        var open = -1
        var i = 1
        while i + 3 < n {
            i = ByteWords.find(UInt8(ascii: "["), p, i, n)
            if i + 3 < n, p[i - 1] == 0x20, isDigit(p[i + 1]), isDigit(p[i + 2]), p[i + 3] == UInt8(ascii: "/") {
                open = i
                break
            }
            i += 1
        }
        guard open > 0 else { return messageOrReject(p, n) }
        if ByteWords.hasControlByte(p, n) { return .reject(.binaryGarbage) }
        // The client, the word before it, after a syslog priority or tag glued to it.
        var clientStart = open - 1
        while clientStart > 0 && p[clientStart - 1] != 0x20 { clientStart -= 1 }
        clientStart = afterGluedHeader(p, clientStart, open - 1)
        guard clientStart < open - 1 else { return .reject(.badAddress) }
        record.clientAddress = HostPort.addressBeforePort(in: line, ByteRange(clientStart, open - 1))
        // dd/Mon/yyyy:HH:MM:SS[.fff]]
        let d = open + 1
        guard d + 20 <= n else { return .reject(.truncated) }
        guard let minute = Timestamp.clfLocalMinute(line, d), let second = Timestamp.twoDigits(line, d + 18),
            second <= 60
        else { return .reject(.badTimestamp) }
        var j = d + 20
        var millis = 0
        if j < n && p[j] == UInt8(ascii: ".") {
            j += 1
            var digits = 0
            while j < n && isDigit(p[j]) {
                if digits < 3 { millis = millis * 10 + Int(p[j] &- UInt8(ascii: "0")) }
                digits += 1
                j += 1
            }
            guard digits > 0, digits <= 9 else { return .reject(j >= n ? .truncated : .badTimestamp) }
            for _ in min(digits, 3)..<3 { millis *= 10 }
        }
        guard j < n else { return .reject(.truncated) }
        guard p[j] == UInt8(ascii: "]") else { return .reject(.badTimestamp) }
        record.timestamp = clock.utc(minute + Int64(min(second, 59)))
        record.milliseconds = Int16(millis)
        j += 1

        // The space-separated words after the date: frontend, backend/server, timers, status,
        // bytes, the two captured cookies, the termination state, connections and queues.
        func nextWord() -> ByteRange? {
            guard j + 1 < n, p[j] == 0x20, p[j + 1] != 0x20 else { return nil }
            let start = j + 1
            j = start
            while j < n && p[j] != 0x20 { j += 1 }
            return ByteRange(start, j)
        }
        // A word that is missing: the line was cut short when only spaces are left.
        func malformed() -> ParseResult {
            var k = j
            while k < n && p[k] == 0x20 { k += 1 }
            return .reject(k >= n ? .truncated : .literalMismatch)
        }
        // A word that is not what it should be: cut short when it ends the line.
        func bad(_ reason: RejectReason) -> ParseResult { .reject(j >= n ? .truncated : reason) }
        guard let frontend = nextWord() else { return malformed() }
        // A connection's error (`fe/1: SSL handshake failure`, `fe/1: Timeout during SSL
        // handshake`): no request.
        if p[Int(frontend.end) - 1] == UInt8(ascii: ":") { return .skip }
        guard nextWord() != nil, let timers = nextWord() else { return malformed() }
        switch slashes(p, timers) {
        case 4: break
        // A TCP log line: three timers, then bytes, a two-letter termination state, connections
        // and queues — no status and no request.
        case 2: return isTCPLogTail(p, j, n) ? .skip : bad(.literalMismatch)
        default: return bad(.literalMismatch)
        }
        // The last timer, Ta (Tt before HAProxy 1.9): the whole request, in milliseconds; -1
        // when it was not measured, `+` before it when logged before the end (`logasap`).
        var lastTimer = Int(timers.end)
        while p[lastTimer - 1] != UInt8(ascii: "/") { lastTimer -= 1 }
        let total = UnsafeBufferPointer(start: p + lastTimer, count: Int(timers.end) - lastTimer)
        let duration = ServingTime.microseconds(total, unit: .milliseconds) ?? -1
        guard let s = nextWord() else { return malformed() }
        // Status: three digits, or -1 when no response was sent.
        if s.count == 2 && p[Int(s.start)] == UInt8(ascii: "-") && p[Int(s.start) + 1] == UInt8(ascii: "1") {
            return .skip
        }
        guard s.count == 3, let status = statusCode(p, Int(s.start)) else { return bad(.badStatus) }
        record.status = status
        record.duration = duration
        guard var b = nextWord() else { return malformed() }
        if p[Int(b.start)] == UInt8(ascii: "+") { b.start += 1 }
        guard let size = digits(p, Int(b.start), Int(b.end)) else { return bad(.badBytes) }
        record.bytes = size
        // The captured request cookie, then the response's, the termination state, connections
        // and queues.
        guard let cookie = nextWord(), nextWord() != nil, nextWord() != nil, nextWord() != nil, nextWord() != nil
        else { return malformed() }
        if let name = configuration.cookieName { record.cookie = cookieValue(p, cookie, named: name) }

        // Captured header groups, then the request.
        guard j + 1 < n, p[j] == 0x20 else { return malformed() }
        j += 1
        var requestHeaders: ByteRange? = nil
        var groups = 0
        while j < n && p[j] == UInt8(ascii: "{") {
            let close = ByteWords.find(UInt8(ascii: "}"), p, j + 1, n)
            guard close < n else { return .reject(.truncated) }
            if groups == 0 { requestHeaders = ByteRange(j + 1, close) }
            groups += 1
            guard groups <= 2, close + 1 < n, p[close + 1] == 0x20 else {
                return .reject(close + 1 >= n ? .truncated : .literalMismatch)
            }
            j = close + 2
        }
        guard j < n else { return .reject(.truncated) }
        guard p[j] == UInt8(ascii: "\"") else { return .reject(.literalMismatch) }
        let requestStart = j + 1
        let q = ByteWords.find(UInt8(ascii: "\""), p, requestStart, n)
        if q == n { unterminated = true }
        // `<BADREQ>` starts with no method: a request of nothing.
        splitRequest(p, requestStart, q, &record)

        let headers = configuration.capturedRequestHeaders
        if let group = requestHeaders, !headers.isEmpty {
            var start = Int(group.start)
            for header in headers {
                guard start <= Int(group.end) else { break }
                let end = ByteWords.find(UInt8(ascii: "|"), p, start, Int(group.end))
                let value = ByteRange(start, end)
                switch header {
                case .host: if end > start && isHost(line, start, end) { record.site = value }
                case .userAgent: record.userAgent = value
                case .referer: record.referrer = value
                case .forwardedFor: record.forwardedFor = value
                case .other: break
                }
                start = end + 1
            }
        } else {
            // (`parse` has set it false when no names were given.) A line of another frontend,
            // without the group, says nothing of its client's user agent.
            record.userAgentLogged = false
        }
        return .record
    }

    /// Where the client's word starts after a syslog priority (`<134>`, `log stdout format
    /// short`) or a program tag (`haproxy[2314]:`) written without a space before it.
    private static func afterGluedHeader(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        var s = start
        var k = start
        var open = -1
        while k + 1 < end {
            if p[k] == UInt8(ascii: "[") { open = k }
            // `tag[pid]:`, not a bracketed address's `[2001:db8::1]:443`.
            if p[k] == UInt8(ascii: "]") && p[k + 1] == UInt8(ascii: ":") && open > start
                && (p[open - 1] | 0x20) &- UInt8(ascii: "a") < 26
            {
                s = k + 2
            }
            k += 1
        }
        if s == start && s < end && p[s] == UInt8(ascii: "<") {
            var k = s + 1
            while k < end && p[k] &- UInt8(ascii: "0") <= 9 { k += 1 }
            if k > s + 1 && k < end && p[k] == UInt8(ascii: ">") { s = k + 1 }
        }
        return s
    }

    /// The value of a captured cookie word `name=value` when its name starts with `name` (is
    /// `name` when that ends with `=`, see `HAProxyConfiguration.cookieName`); empty for `-` or
    /// another name.
    private static func cookieValue(_ p: UnsafeMutablePointer<UInt8>, _ word: ByteRange, named name: [UInt8])
        -> ByteRange
    {
        let start = Int(word.start), end = Int(word.end)
        guard end - start > name.count else { return .empty }
        for k in 0..<name.count where p[start + k] != name[k] { return .empty }
        let equals = ByteWords.find(
            UInt8(ascii: "="), p, start + name.count - (name.last == UInt8(ascii: "=") ? 1 : 0), end)
        return equals + 1 < end ? ByteRange(equals + 1, end) : .empty
    }

    /// A line without an accept date: HAProxy's own message when its message (after a syslog
    /// header's `]: ` or first `: `, if any) does not start with an address; a line cut short
    /// (`truncated`) or damaged (`bad-timestamp`) after its client otherwise.
    private static func messageOrReject(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> ParseResult {
        if ByteWords.hasControlByte(p, n) { return .reject(.binaryGarbage) }
        var start = 0
        var tag = -1
        var colon = -1
        var i = 0
        while i + 2 < n {
            if p[i + 1] == UInt8(ascii: ":") && p[i + 2] == 0x20 {
                if p[i] == UInt8(ascii: "]") {
                    tag = i + 3
                    break
                }
                if colon < 0 { colon = i + 3 }
            }
            i += 1
        }
        start = tag >= 0 ? tag : max(colon, 0)
        // The first word: an address (`10.0.0.1:4242`, `2001:db8::1:4242`) has a digit and only
        // hexadecimal digits, dots and colons.
        var end = start
        var digit = false
        var addressBytes = true
        while end < n && p[end] != 0x20 {
            let b = p[end]
            if b &- UInt8(ascii: "0") <= 9 {
                digit = true
            } else if !(b == UInt8(ascii: ":") || b == UInt8(ascii: ".") || (b | 0x20) &- UInt8(ascii: "a") < 6) {
                addressBytes = false
            }
            end += 1
        }
        guard end > start, digit, addressBytes else { return .skip }
        // ` [28/No`: cut short inside the date.
        return .reject(n - end <= 4 ? .truncated : .badTimestamp)
    }

    /// The `/` in a word.
    private static func slashes(_ p: UnsafeMutablePointer<UInt8>, _ w: ByteRange) -> Int {
        var k = 0
        for i in Int(w.start)..<Int(w.end) where p[i] == UInt8(ascii: "/") { k += 1 }
        return k
    }

    /// After a TCP log line's timers: ` bytes state conns queues` and the end of the line.
    private static func isTCPLogTail(_ p: UnsafeMutablePointer<UInt8>, _ j: Int, _ n: Int) -> Bool {
        var words = 0
        var i = j
        while i < n {
            guard p[i] == 0x20, i + 1 < n, p[i + 1] != 0x20 else { return false }
            i += 1
            let start = i
            while i < n && p[i] != 0x20 { i += 1 }
            words += 1
            if words == 2 && i - start != 2 { return false }
        }
        return words == 4
    }
}
