import CByteScan

/// Parses text access-log lines (NCSA common, combined, vhost-combined, combined with extra
/// quoted fields, Traefik's default access log, AWS Application and Classic Load Balancer and
/// Amazon S3 server access logs, and user-given Apache
/// `LogFormat` / nginx `log_format` strings) into `LogRecord`s of byte ranges, without
/// allocating.
///
/// A `TextFormat` runs a `CompiledFormat` over each line:
/// - **Literals** of the format must match byte for byte, else `.literalMismatch` (or
///   `.truncated` when the line ends first, `.binaryGarbage` when the mismatching byte is a
///   control byte).
/// - **Unquoted fields** end at the first byte of the literal that follows them; the last
///   field of a format with nothing after it ends at a space, a tab or the end of the line.
///   A control byte (below 0x20, except tab) inside an unquoted field, NUL bytes included,
///   gives `.binaryGarbage`.
/// - **Quoted fields** (between a literal ending in `"` and one starting with `"`) end at the
///   first `"` that is not escaped and that is followed by the rest of the next literal; when
///   no `"` is followed by it, the first unescaped `"` closes the field (and the literal then
///   fails to match). Escapes are undone in place, which only shrinks the field: `\"` → `"`,
///   `\\` → `\` (Apache) and `\xHH` → the byte 0xHH (Apache for control bytes, nginx for
///   `"`, `\` and non-ASCII bytes: `\x22`, `\x5C`). Other backslash sequences (`\n`, `\t`) are
///   kept as written. Bytes that are not valid UTF-8 are kept as they are, and control bytes
///   inside quotes are allowed.
/// - `-` alone is an empty field (bytes `-` is 0; status `-` is `.badStatus`, except under the
///   AWS load balancer presets, below; time `-` is `.badTimestamp`).
/// - **Unterminated last field.** When the format ends with a quoted field and its closing
///   `"` (e.g. the user agent of `combined`), and the line ends without any unescaped `"`
///   after the field's opening quote, the field runs to the end of the line and the record
///   is kept: `lastRecordHadUnterminatedQuote` is set and `unterminatedQuoteCount` counted.
///   Such lines exist in real logs (a user agent cut short) and are otherwise valid. Set
///   `toleratesUnterminatedFinalQuote` to false to reject them as `.unbalancedQuote`
///   instead. A missing closing quote in any other field is always `.unbalancedQuote`.
///   For this last field the closing `"` must also be followed by the end of the line, a
///   space or a tab, so a bare `"` inside a user agent does not end it early.
/// - **Extra text** after the format's last literal (an Apache combined line with more fields
///   appended) is allowed and ignored, unless it contains a NUL byte (`.binaryGarbage`).
/// - **Request line** (`%r`, `$request`): `METHOD SP target [SP HTTP/x.y]`. The method is
///   the first token (RFC 9110 token bytes); the protocol is the last space-separated token
///   when it starts with `HTTP/` (else there is none: HTTP/0.9 `GET /a`), and the target is
///   everything between. A request line that is empty, `-` (Apache's 408s), or does not start
///   with a method token followed by a space or the end (TLS handshakes sent to a plain-HTTP
///   port, `\x16\x03\x01…`) keeps its record with empty method, target and protocol: the
///   server did answer it, and it counts as a request. Text parsers never return
///   `.badRequestLine`.
/// - **Status** is exactly three digits in 100...599, else `.badStatus`; `000` (no response
///   sent: Squid's common-format lines) makes the line `.skip`. **Bytes** are `-` or up to 18
///   digits, else `.badBytes`.
/// - **Times** that do not parse are `.badTimestamp` (see `Timestamp`).
/// - **Client address** has its brackets and port removed (`HostPort.address`); it is not
///   otherwise validated. Written `%a:%{remote}p` (`$remote_addr:$remote_port`), as AWS load
///   balancers write `client:port`, the port is what follows the last `:`, so an IPv6 address
///   without brackets keeps its colons (`HostPort.addressBeforePort`).
/// - **AWS load balancers** (`aws_alb`, `aws_elb`): their request lines carry absolute URLs
///   (`GET https://www.example.com:443/a HTTP/1.1`) and no host field, so the URL's host names
///   the site (`CompiledFormat.requestURLNamesSite`); a line whose status is `-` or `000` (a
///   TCP listener's connection, a client gone before any response) is `.skip`
///   (`CompiledFormat.dashStatusSkips`).
/// - **Amazon S3 server access logs** (`aws_s3`): the bucket names the site; a `-` status (a
///   lifecycle or replication operation, logged with a `"-"` request) is `.skip`, and so is a
///   line of S3's own `BATCH.` or `S3.` operations that does not parse (a multi-object
///   delete's line per key has a bare `-` request).
/// - **Squid** (`squid`): its native access log, read by `parseSquid`.
/// - **Traefik** (`traefik_clf`): the tail after the user agent is checked and cut off before
///   the rest is read as `combined` (`CompiledFormat.traefikTail`); a line without it is
///   `.truncated` (no `<digits>ms` at the end) or `.literalMismatch`; a `-` or `0` status is
///   `.skip`.
/// - An empty line, or one of only spaces and tabs, is `.skip`.
///
/// Formats of the combined family (`combined`, `combined_cookie`, `combined_xff`,
/// `combined_cookie_xff`, `combined` with more quoted fields skipped, `common`, and either of
/// `combined` and `common` after `%v:%p `, as `vhost_combined`) parse plain lines — no
/// escapes, no stray quotes, no trailing text — without running the steps, with the same
/// outcome; every other line runs them (`usesCombinedFastPath`).
///
/// Not thread-safe: use one `TextFormat` per pipeline (it holds a timestamp cache).
public struct TextFormat: LogFormat {
    /// The compiled program this parser runs.
    public let compiled: CompiledFormat
    private let presetName: String?
    /// Accept a line whose final quoted field is never closed (default true); see the type
    /// documentation.
    public var toleratesUnterminatedFinalQuote = true
    /// Whether the last `.record` returned came from a line whose final quoted field was
    /// never closed.
    public private(set) var lastRecordHadUnterminatedQuote = false
    /// How many records so far had an unterminated final quoted field.
    public private(set) var unterminatedQuoteCount = 0

    /// Parse plain lines of the combined family without running the format's steps (the same
    /// records; see `runCombined`). Off, every line runs the steps: the reference the tests
    /// and the fuzzer compare the fast path with.
    public var usesCombinedFastPath = true

    @inline(__always) public var lastRecordWasRepaired: Bool { lastRecordHadUnterminatedQuote }
    private var cache = CLFTimestampCache()

    /// What is written around each line (a container runtime's or syslog's header): the format
    /// reads what follows it.
    public var envelope = LineEnvelope.none {
        didSet { hasEnvelope = envelope != .none }
    }
    private var hasEnvelope = false

    /// The preset name (`combined`, …), or `apache:<string>` / `nginx:<string>`, or the name
    /// given at `init`.
    public var name: String { presetName ?? compiled.name }

    /// A parser for a compiled format string, named `name` (default: the compiled format's
    /// `apache:<string>` / `nginx:<string>` name).
    public init(_ compiled: CompiledFormat, name: String? = nil) {
        self.compiled = compiled
        self.presetName = name
        logsUserAgent = compiled.capturedFields.contains(.userAgent)
    }

    /// Whether the format has a User-Agent field (`LogRecord.userAgentLogged`).
    private(set) var logsUserAgent: Bool

    /// How HAProxy's lines are read (the `haproxy` preset): set with `configure(haproxy:)`.
    public private(set) var haproxy = HAProxyConfiguration()
    /// Converts times written without a zone (HAProxy's accept dates, an ISO 8601 time without
    /// an offset) from the log's zone, and counts them.
    private var clock = LocalClock(zoneIdentifier: nil)

    /// Whether this is the `haproxy` preset, which reads `HAProxyConfiguration`.
    public var readsHAProxyLog: Bool { compiled.haproxyLog }

    /// How many times parsed so far were written without a zone.
    public var zonelessTimes: Int { clock.zonelessTimes }

    /// Reads HAProxy's captured request headers and cookie by `configuration`'s names (only
    /// the `haproxy` preset reads them).
    public mutating func configure(haproxy configuration: HAProxyConfiguration) {
        guard compiled.haproxyLog else { return }
        haproxy = configuration
        logsUserAgent = configuration.capturedRequestHeaders.contains(.userAgent)
    }

    /// Reads times written without a zone in zone `identifier` (an IANA name checked by
    /// `LogTimeZone.identifier(_:)`), or as UTC when nil.
    public mutating func setLogTimeZone(_ identifier: String?) {
        clock = LocalClock(zoneIdentifier: identifier)
    }

    /// A parser for an Apache `LogFormat` string. See `CompiledFormat.apache(_:)`.
    public init(apache format: String) throws(VeilError) {
        self.init(try CompiledFormat.apache(format))
    }

    /// A parser for an nginx `log_format` string. See `CompiledFormat.nginx(_:)`.
    public init(nginx format: String) throws(VeilError) {
        self.init(try CompiledFormat.nginx(format))
    }

    /// The preset names and their Apache format strings: the NCSA family, most specific last,
    /// then the AWS load balancers'.
    public static let presets: [(name: String, format: String)] = [
        ("common", #"%h %l %u %t "%r" %>s %b"#),
        ("combined", #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#),
        ("vhost_combined", #"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#),
        // `common` after the virtual host and port (GoAccess's `VCOMMON`).
        ("vhost_common", #"%v:%p %h %l %u %t "%r" %>s %b"#),
        ("combined_cookie", #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{uid}C""#),
        (
            "combined_cookie_xff",
            #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{uid}C" "%{X-Forwarded-For}i""#
        ),
        (
            "combined_xff",
            #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{X-Forwarded-For}i""#
        ),
        // Traefik's default access log ("Common Log Format" in its documentation): combined,
        // then the requests Traefik has received since it started, the router's name, the
        // server's URL and the duration (`1234ms`), none of which is read: that tail is checked
        // and cut off first (`CompiledFormat.traefikTail`), and the rest read as combined.
        ("traefik_clf", #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#),
        // AWS Application Load Balancer: the fields up to the user agent; the rest of the line
        // (TLS, target group, trace id, domain, actions, …) is skipped.
        (
            "aws_alb",
            #"%{type}n %{%Y-%m-%dT%H:%M:%S%z}t %{elb}n %a:%{remote}p %{target:port}n "#
                + #"%{request_processing_time}n %{target_processing_time}n %{response_processing_time}n "#
                + #"%>s %{target_status_code}n %I %O "%r" "%{User-Agent}i""#
        ),
        // AWS Classic Load Balancer (HTTP and HTTPS listeners).
        (
            "aws_elb",
            #"%{%Y-%m-%dT%H:%M:%S%z}t %{elb}n %a:%{remote}p %{backend:port}n "#
                + #"%{request_processing_time}n %{backend_processing_time}n %{response_processing_time}n "#
                + #"%>s %{backend_status_code}n %I %O "%r" "%{User-Agent}i""#
        ),
        // Amazon S3 server access logs: the bucket names the site; the fields up to the user
        // agent (the bucket owner, requester, request id, operation, key, error code, object
        // size and times are not read), then the version id, host id, signature, TLS, host
        // header and later fields, skipped.
        (
            "aws_s3",
            #"%{owner}n %v %t %h %{requester}n %{request_id}n %{operation}n %{key}n "%r" %>s %{error}n %b "#
                + #"%{object_size}n %{total_time}n %{turnaround}n "%{Referer}i" "%{User-Agent}i""#
        ),
    ]

    /// The load balancers' presets: their request lines carry absolute URLs and no host field,
    /// so the URL's host names the site (`CompiledFormat.requestURLNamesSite`), and a `-` or
    /// `000` status is a connection without a response (`CompiledFormat.dashStatusSkips`).
    static let loadBalancerPresets: Set<String> = ["aws_alb", "aws_elb"]

    /// The presets whose `-`, `0` or `000` status is a line to skip
    /// (`CompiledFormat.dashStatusSkips`): the load balancers'; S3's, whose lifecycle and
    /// replication operations (`S3.EXPIRE.OBJECT`, `S3.TRANSITION_SIA.OBJECT`, …) are logged
    /// with a `"-"` request and a `-` status; Traefik's, which writes `-` or `0` for a request
    /// it knew no response of.
    static let dashStatusPresets: Set<String> = loadBalancerPresets.union(["aws_s3", "traefik_clf"])

    /// The presets whose serving times are AWS's fields (`CompiledFormat.apache(_:awsServingTimes:)`):
    /// the load balancers' three processing times, S3's total time.
    static let awsPresets: Set<String> = loadBalancerPresets.union(["aws_s3"])

    /// The preset names, in the order of `presets`, then `haproxy` and `squid` (HAProxy's HTTP
    /// log and Squid's native access log, read by `parseHAProxy` and `parseSquid`, not by a
    /// format string).
    public static let presetNames: [String] = (presets + ownParserPresets).map(\.name)

    /// The presets read by a parser of their own (`parseHAProxy`, `parseSquid`): their words are
    /// not separated the way a format string's are. Each string names the fields it fills.
    static let ownParserPresets: [(name: String, format: String)] = [
        ("haproxy", #"%a %t %>s %b %{uid}C "%r""#), ("squid", #"%{sec}t %a %>s %b %u "%r""#),
    ]

    private static let compiledPresets: [String: CompiledFormat] = {
        var d: [String: CompiledFormat] = [:]
        for (name, format) in presets + ownParserPresets {
            do {
                var compiled = try CompiledFormat.apache(format, awsServingTimes: awsPresets.contains(name))
                compiled.requestURLNamesSite = loadBalancerPresets.contains(name)
                compiled.dashStatusSkips = dashStatusPresets.contains(name)
                compiled.traefikTail = name == "traefik_clf"
                compiled.s3InternalOperationsSkip = name == "aws_s3"
                compiled.haproxyLog = name == "haproxy"
                compiled.squidLog = name == "squid"
                d[name] = compiled
            } catch {
                preconditionFailure("preset \(name) does not compile: \(error)")
            }
        }
        return d
    }()

    /// A parser for a preset: `common`, `combined`, `vhost_combined`, `vhost_common`, `combined_cookie`,
    /// `combined_cookie_xff`, `combined_xff`, `traefik_clf`, `aws_alb`, `aws_elb`, `aws_s3`,
    /// `haproxy`, `squid` (`-` may be written for `_`);
    /// nil for other names.
    public static func preset(_ name: String) -> TextFormat? {
        let key = String(name.map { $0 == "-" ? "_" : $0 })
        guard let compiled = compiledPresets[key] else { return nil }
        return TextFormat(compiled, name: key)
    }

    // MARK: - Parsing

    /// Parses one line (without its terminator) into `record`, un-escaping quoted fields in
    /// place.
    /// - Complexity: O(line length), no allocation.
    public mutating func parse(
        _ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord
    ) -> ParseResult {
        // Never nil: the line may be rewritten.
        parse(line.baseAddress, line.count, writable: true, into: &record)!
    }

    /// Parses one line without writing to it; nil for a line with an escaped quoted field
    /// (`\"`, `\\`, `\xHH`), which only `parse(_:into:)` un-escapes.
    public mutating func parseReadOnly(
        _ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord
    ) -> ParseResult? {
        // Safe: with `writable: false` nothing is written through the pointer.
        parse(UnsafeMutablePointer(mutating: line.baseAddress), line.count, writable: false, into: &record)
    }

    @inline(__always)
    private mutating func parse(
        _ line: UnsafeMutablePointer<UInt8>?, _ n: Int, writable: Bool, into record: inout LogRecord
    ) -> ParseResult? {
        if _slowPath(hasEnvelope), let p = line { return parseEnveloped(p, n, writable: writable, into: &record) }
        return parseLine(line, n, writable: writable, into: &record)
    }

    /// `parseLine` for the line after its envelope (`envelope`), the record's ranges moved to
    /// point into the whole line.
    @inline(never)
    private mutating func parseEnveloped(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, writable: Bool, into record: inout LogRecord
    ) -> ParseResult? {
        guard let unwrapped = envelope.unwrap(p, n, writable: writable) else { return nil }
        guard let (start, end) = unwrapped.bounds(n) else {
            record.reset()
            return unwrapped.result
        }
        guard let result = parseLineOutlined(p + start, end - start, writable: writable, into: &record) else {
            return nil
        }
        record.shift(by: start)
        return result
    }

    /// `parseLine` kept out of line for `parseEnveloped`: inlined there too, it made the plain
    /// lines' path longer (about eight instructions a line).
    @inline(never)
    private mutating func parseLineOutlined(
        _ line: UnsafeMutablePointer<UInt8>?, _ n: Int, writable: Bool, into record: inout LogRecord
    ) -> ParseResult? {
        parseLine(line, n, writable: writable, into: &record)
    }

    /// Parses a line that is the server's own (no envelope).
    @inline(__always)
    private mutating func parseLine(
        _ line: UnsafeMutablePointer<UInt8>?, _ n: Int, writable: Bool, into record: inout LogRecord
    ) -> ParseResult? {
        record.reset()
        if !logsUserAgent { record.userAgentLogged = false }
        lastRecordHadUnterminatedQuote = false
        guard let p = line, n > 0 else { return .skip }
        if p[0] == 0x20 || p[0] == 0x09 {
            var i = 0
            while i < n && (p[i] == 0x20 || p[i] == 0x09) { i += 1 }
            if i == n { return .skip }
        }
        let compiled = self.compiled
        var n = n
        if compiled.traefikTail {
            let end = Self.traefikTailStart(p, n)
            guard end > 0 else { return .reject(end == 0 ? .truncated : .literalMismatch) }
            // The serving time, from the tail cut off here (the runners below leave it).
            record.duration = Self.traefikDuration(p, n)
            n = end
        }
        var cache = self.cache
        if usesCombinedFastPath, let shape = compiled.combinedShape {
            // The combined formats (the usual case) inline a copy with the vhost and common
            // branches folded away; the others call one that keeps them.
            let done = shape.tail.withUnsafeBufferPointer {
                !shape.vhost && !shape.common
                    ? Self.runCombinedMasked(vhost: false, tail: $0, line: p, count: n, record: &record, cache: &cache)
                        || Self.runCombined(
                            vhost: false, common: false, tail: $0, line: p, count: n, record: &record, cache: &cache)
                    : Self.runCombinedVariant(
                        vhost: shape.vhost, common: shape.common, tail: $0, line: p, count: n, record: &record,
                        cache: &cache)
            }
            if done {
                self.cache = cache
                return .record
            }
        }
        // (HAProxy's and Squid's presets have no combined shape: their lines come here.)
        if compiled.squidLog { return Self.parseSquid(p, n, record: &record) }
        if compiled.haproxyLog {
            var unterminated = false
            let result = Self.parseHAProxy(
                p, n, configuration: haproxy, clock: &clock, record: &record, unterminated: &unterminated)
            if result == .record && unterminated {
                lastRecordHadUnterminatedQuote = true
                unterminatedQuoteCount += 1
            }
            return result
        }
        var unterminated = false
        let tolerate = toleratesUnterminatedFinalQuote
        let result = compiled.steps.withUnsafeBufferPointer { steps in
            compiled.literals.withUnsafeBufferPointer { lits in
                Self.run(
                    steps: steps, literals: lits, suffixStart: Int(compiled.suffixStart),
                    suffixCount: Int(compiled.suffixCount), line: p, count: n, writable: writable,
                    record: &record, cache: &cache, clock: &clock, tolerate: tolerate,
                    dashStatusSkips: compiled.dashStatusSkips,
                    lastQuoteEndsLine: compiled.traefikTail, unterminated: &unterminated)
            }
        }
        if compiled.s3InternalOperationsSkip, case .reject = result,
            let time = Self.s3InternalOperationTime(p, n, &cache)
        {
            // Read as far as its time, as `--format auto` counts a format's own skipped lines.
            record.reset()
            record.timestamp = time
            self.cache = cache
            return .skip
        }
        self.cache = cache
        if result == .record && unterminated {
            lastRecordHadUnterminatedQuote = true
            unterminatedQuoteCount += 1
        }
        // S3: a path-style request (`GET /BUCKET/key`) is the page its key names.
        if compiled.s3InternalOperationsSkip && result == .record {
            record.target = BucketPath.target(UnsafePointer(p), record.target, bucket: record.site)
        }
        // (No combined-family format names its site by the request URL.)
        if compiled.requestURLNamesSite && result == .record && record.site.isEmpty {
            record.site = Self.requestURLHost(UnsafeBufferPointer(start: p, count: n), record.target)
        }
        return result
    }

    /// `000`, the status AWS load balancers log when no response was sent, or `0`, Traefik's.
    private static func isZeroStatus(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        switch end &- start {
        case 1: p[start] == UInt8(ascii: "0")
        case 3:
            p[start] == UInt8(ascii: "0") && p[start &+ 1] == UInt8(ascii: "0") && p[start &+ 2] == UInt8(ascii: "0")
        default: false
        }
    }

    /// The time of an S3 server access log line of one of S3's own operations: a bucket owner,
    /// a bucket, a `[…]` CLF time, then the remote address, requester and request id, an
    /// operation starting `BATCH.` (a multi-object delete's line per key) or `S3.` (lifecycle,
    /// replication, inventory), a key, and a bare `-` where a client's request is quoted; nil
    /// for any other line (a damaged line of those operations with a quoted request is
    /// rejected as usual).
    static func s3InternalOperationTime(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ cache: inout CLFTimestampCache
    ) -> Int64? {
        var i = 0
        // Moves `i` past `count` space-ended fields; false at an empty field, a control byte or
        // the end of the line.
        func skipFields(_ count: Int) -> Bool {
            for _ in 0..<count {
                let space = scanUnquoted(p, i, n)
                guard space > i else { return false }
                i = space &+ 1
            }
            return true
        }
        guard skipFields(2), i &+ 29 <= n, p[i] == UInt8(ascii: "["), p[i &+ 27] == UInt8(ascii: "]"),
            p[i &+ 28] == UInt8(ascii: " "),
            let time = cache.parse(UnsafeBufferPointer(start: p + (i &+ 1), count: 26))
        else { return nil }
        i &+= 29
        guard skipFields(3) else { return nil }
        func starts(_ prefix: String) -> Bool {
            var k = i
            for b in prefix.utf8 {
                guard k < n, p[k] == b else { return false }
                k &+= 1
            }
            return true
        }
        // The operation and the key, then a bare `-` where a client's request is quoted.
        guard starts("BATCH.") || starts("S3."), skipFields(2) else { return nil }
        return i &+ 1 < n && p[i] == UInt8(ascii: "-") && p[i &+ 1] == UInt8(ascii: " ") ? time : nil
    }

    /// Reads a serving-time field of `kind` into `record.duration`. A value that is not a
    /// number (`-`) is not known; the request still counts. The parts of a load balancer's
    /// time (`durationSecondsPart`, seconds) add up, and one that was not measured (`-1`) makes
    /// the whole unknown (`LogRecord.partlyUnmeasured`, which later parts leave as it is). Out
    /// of line: the format interpreter's loop stays as small as the formats without serving
    /// times need.
    @inline(never)
    static func servingTime(_ kind: FieldKind, _ field: UnsafeBufferPointer<UInt8>, _ record: inout LogRecord) {
        switch kind {
        case .durationSecondsPart:
            guard record.servingTimeHigh != LogRecord.partlyUnmeasured else { return }
            if let v = ServingTime.microseconds(field, unit: .seconds) {
                record.duration = max(record.duration, 0) + v
            } else {
                record.servingTimeHigh = LogRecord.partlyUnmeasured
            }
        default:
            let unit: ServingTime.Unit =
                kind == .durationSeconds ? .seconds : kind == .durationMillis ? .milliseconds : .microseconds
            record.duration = ServingTime.microseconds(field, unit: unit) ?? -1
        }
    }

    /// The serving time at the end of a Traefik line (`… 1234ms`), in microseconds; the line
    /// ends with `<digits>ms` (`traefikTailStart` checked it).
    static func traefikDuration(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int64 {
        var start = n &- 2
        while start > 0, p[start &- 1] &- UInt8(ascii: "0") < 10 { start &-= 1 }
        return ServingTime.microseconds(
            UnsafeBufferPointer(start: p + start, count: n &- 2 &- start), unit: .milliseconds)
            ?? -1
    }

    /// Where Traefik's tail begins: the length of the line without
    /// ` <digits> <router> <server> <digits>ms`, each of router and server either `"…"` (no `"`
    /// inside) or a bare `-`, checked from the end of the line; the line before it must end
    /// with the `"` that closes the user agent. 0 when the line does not end with `<digits>ms`
    /// (cut short), -1 when the rest of the tail is not Traefik's.
    static func traefikTailStart(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "\"")
        func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }
        // Digits ending at `end`: where they start, or -1 when there are none.
        func digitsStart(_ end: Int) -> Int {
            var i = end
            while i > 0, isDigit(p[i &- 1]) { i &-= 1 }
            return i < end ? i : -1
        }
        // A router or server name ending at `end`, and the space before it: where that space
        // is, or -1.
        func nameStart(_ end: Int) -> Int {
            guard end > 1 else { return -1 }
            var i = end &- 1
            if p[i] == quote {
                i &-= 1
                while i >= 0, p[i] != quote { i &-= 1 }
                guard i >= 0 else { return -1 }
            } else if p[i] != UInt8(ascii: "-") {
                return -1
            }
            return i > 0 && p[i &- 1] == space ? i &- 1 : -1
        }
        guard n >= 2, p[n &- 1] == UInt8(ascii: "s"), p[n &- 2] == UInt8(ascii: "m") else { return 0 }
        let duration = digitsStart(n &- 2)
        guard duration > 0, p[duration &- 1] == space else { return duration < 0 ? 0 : -1 }
        let server = nameStart(duration &- 1)
        guard server > 0 else { return -1 }
        let router = nameStart(server)
        guard router > 0 else { return -1 }
        let count = digitsStart(router)
        guard count > 1, p[count &- 1] == space, p[count &- 2] == quote else { return -1 }
        return count &- 1
    }

    /// The host (and port) of an absolute-form request target, `www.example.com:443` of
    /// `https://www.example.com:443/a?b`, without any `user:password@` before it; empty for an
    /// origin-form target (`/a?b`), an empty host, or one that is not a host name or address
    /// literal, such as a client's malformed request line's (`- http://lb:80- `, `http://-:80/`).
    /// A host name is labels of letters, digits, `-` and `_` between dots (each starting and
    /// ending with a letter or digit; a final dot allowed), an address literal an IPv6 address in
    /// brackets, and a port 1 to 65535 without leading zeros. The authority ends at the first
    /// `/`, `?` or `#`, as URLs are parsed: a client that writes a `/` into a user name names a
    /// site of what precedes it, which, like any site, is published only with k visitors.
    static func requestURLHost(_ line: UnsafeBufferPointer<UInt8>, _ target: ByteRange) -> ByteRange {
        let start = Int(target.start), end = Int(target.end)
        let text = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: line[start..<end]))
        guard start < end, let authority = URLRedactor.schemeEnd(text) else { return .empty }
        let host = URLRedactor.hostAndPort(text, authorityStart: authority)
        let hostStart = start + host.lowerBound, hostEnd = start + host.upperBound
        return hostEnd > hostStart && isHost(line, hostStart, hostEnd) ? ByteRange(hostStart, hostEnd) : .empty
    }

    /// Whether `line[start..<end]` (not empty) is a host name or bracketed IPv6 address with an
    /// optional `:port` (see `requestURLHost`).
    static func isHost(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        func isLetterOrDigit(_ b: UInt8) -> Bool {
            (b | 0x20) &- UInt8(ascii: "a") < 26 || b &- UInt8(ascii: "0") <= 9
        }
        var i = start
        if line[i] == UInt8(ascii: "[") {
            var close = i + 1
            while close < end, line[close] != UInt8(ascii: "]") { close += 1 }
            let inside = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: line[(i + 1)..<close]))
            // (The parser also takes a zone, `%eth0`, which names no host.)
            guard close < end, !inside.contains(UInt8(ascii: "%")), IPAddress.parseIPv6(inside) != nil
            else { return false }
            i = close + 1
        } else {
            // Labels: a letter or digit first and last, `-` and `_` between.
            var labelStart = i
            while i < end, line[i] != UInt8(ascii: ":") {
                let b = line[i]
                if b == UInt8(ascii: ".") {
                    guard i > labelStart, isLetterOrDigit(line[i - 1]) else { return false }
                    labelStart = i + 1
                } else {
                    guard isLetterOrDigit(b) || (i > labelStart && (b == UInt8(ascii: "-") || b == UInt8(ascii: "_")))
                    else { return false }
                }
                i += 1
            }
            // The last label may be empty only after a final dot of a name that has one.
            if i == labelStart {
                guard i > start + 1, line[i - 1] == UInt8(ascii: ".") else { return false }
            } else {
                guard isLetterOrDigit(line[i - 1]) else { return false }
            }
        }
        if i == end { return true }
        let digits = end - (i + 1)
        guard line[i] == UInt8(ascii: ":"), (1...5).contains(digits), line[i + 1] != UInt8(ascii: "0") else {
            return false
        }
        var port = 0
        for k in (i + 1)..<end {
            let digit = line[k] &- UInt8(ascii: "0")
            guard digit <= 9 else { return false }
            port = port * 10 + Int(digit)
        }
        return port <= 65535
    }

    /// Runs the program over one line; nil when a quoted field has escapes to undo and the
    /// line is not `writable`.
    @inline(__always)
    private static func run(
        steps: UnsafeBufferPointer<FormatStep>, literals lits: UnsafeBufferPointer<UInt8>,
        suffixStart: Int, suffixCount: Int, line p: UnsafeMutablePointer<UInt8>, count n: Int,
        writable: Bool, record: inout LogRecord, cache: inout CLFTimestampCache, clock: inout LocalClock,
        tolerate: Bool, dashStatusSkips: Bool, lastQuoteEndsLine: Bool, unterminated: inout Bool
    ) -> ParseResult? {
        var pos = 0
        // A status that means "no response" (`dashStatusSkips`) skips the line once the rest of
        // it has matched the format: a line of something else is still rejected.
        var noResponse = false
        for step in steps {
            // Literal prefix.
            let pc = Int(step.prefixCount)
            if pc > 0 {
                if pos &+ 8 <= n && (ByteWords.load(p, pos) ^ step.prefixWord) & step.prefixMask == 0
                    && step.prefixMask != 0
                {
                    // The whole literal in one compare (the byte loop below reports errors).
                    pos &+= pc
                } else if let reason = matchLiteral(p, n, &pos, lits, Int(step.prefixStart), pc) {
                    return .reject(reason)
                }
            }
            // The field.
            let start = pos
            var end: Int
            switch step.scan {
            case .untilStop:
                var i = start &+ Int(step.skipBytes)
                if i > n { return .reject(.truncated) }
                // A site that is a bracketed IPv6 literal holds colons: `[2001:db8::1]:443`.
                if step.kind == .site, i < n, p[i] == UInt8(ascii: "[") {
                    let close = Self.closingBracket(p, i, n)
                    if close > 0 { i = close }
                }
                let s1 = step.stop1, s2 = step.stop2
                let w1 = ByteWords.broadcast(s1), w2 = ByteWords.broadcast(s2)
                while i < n {
                    if i &+ 8 <= n {
                        // Eight bytes at a time: a stop byte or any byte below 0x20.
                        let x = ByteWords.load(p, i)
                        let m = ByteWords.zeroBytes(x ^ w1) | ByteWords.zeroBytes(x ^ w2) | ByteWords.below0x20(x)
                        if m == 0 {
                            i &+= 8
                            continue
                        }
                        i &+= ByteWords.lowestByte(m)
                    }
                    let b = p[i]
                    if b == s1 || b == s2 { break }
                    if b < 0x20 && b != 0x09 { return .reject(.binaryGarbage) }
                    i &+= 1
                }
                // The line ended inside a field that literal text should follow.
                if i == n && step.closeCount > 0 { return .reject(.truncated) }
                // A site that is an IPv6 literal without brackets (`2001:db8::2:443`): the port
                // follows the last `:` before the next space.
                if step.kind == .site, i < n, p[i] == UInt8(ascii: ":") {
                    var k = i &+ 1
                    while k < n, p[k] > 0x20 {
                        if p[k] == UInt8(ascii: ":") { i = k }
                        k &+= 1
                    }
                }
                end = i
                pos = i
            case .quoted:
                var i = start
                var close = -1
                var firstCandidate = -1
                var escaped = false
                while i < n {
                    i = nextQuoteOrBackslash(p, i, n)
                    if i >= n { break }
                    let b = p[i]
                    if b == UInt8(ascii: "\"") {
                        if closes(step, at: i, lits, p, n, lastQuoteEndsLine: lastQuoteEndsLine) {
                            close = i
                            break
                        }
                        if firstCandidate < 0 { firstCandidate = i }
                    } else if b == UInt8(ascii: "\\") {
                        escaped = true
                        i &+= 1
                    }
                    i &+= 1
                }
                if close < 0 {
                    if firstCandidate >= 0 {
                        close = firstCandidate
                    } else if step.isFinalQuoted && tolerate {
                        close = n
                        unterminated = true
                    } else {
                        return .reject(.unbalancedQuote)
                    }
                }
                if escaped {
                    guard writable else { return nil }
                    end = unescape(p, start, min(close, n))
                } else {
                    end = close
                }
                pos = close
            case .optionalQuestionMark:
                end = pos < n && p[pos] == UInt8(ascii: "?") ? pos + 1 : pos
                pos = end
            }

            // Store it.
            let isDash = Self.isDash(p, ByteRange(start, end))
            let range = isDash ? ByteRange.empty : ByteRange(start, end)
            switch step.kind {
            case .skip:
                break
            case .address:
                record.clientAddress =
                    isDash
                    ? .empty
                    : HostPort.address(in: UnsafeBufferPointer(start: p, count: n), range)
            case .addressPort:
                record.clientAddress =
                    isDash
                    ? .empty
                    : HostPort.addressBeforePort(in: UnsafeBufferPointer(start: p, count: n), range)
            case .user: record.user = range
            case .site: record.site = range
            case .forwardedFor: record.forwardedFor = range
            case .referrer: record.referrer = range
            case .userAgent: record.userAgent = range
            case .cookie: record.cookie = range
            case .timeCLF:
                guard let t = cache.parse(UnsafeBufferPointer(start: p + start, count: end - start))
                else { return .reject(.badTimestamp) }
                record.timestamp = t
            case .timeISO:
                var zoned = false
                guard
                    let t = Timestamp.parseISO8601(
                        UnsafeBufferPointer(start: p + start, count: end - start), zoned: &zoned)
                else { return .reject(.badTimestamp) }
                // A time without a zone is in the log's (`--log-tz`; UTC by default).
                record.timestamp = zoned ? t.seconds : clock.utc(t.seconds)
                record.milliseconds = t.milliseconds
            case .epoch:
                guard
                    let t = Timestamp.parseEpoch(
                        UnsafeBufferPointer(start: p + start, count: end - start))
                else { return .reject(.badTimestamp) }
                record.timestamp = t.seconds
                record.milliseconds = t.milliseconds
            case .epochMillis, .epochMicros:
                guard let v = digits(p, start, end) else { return .reject(.badTimestamp) }
                let unit: Int64 = step.kind == .epochMillis ? 1000 : 1_000_000
                record.timestamp = v / unit
                record.milliseconds = Int16((v % unit) / (unit / 1000))
            case .request:
                if !isDash { splitRequest(p, start, end, &record) }
            case .method: record.method = range
            case .target, .path: record.target = range
            case .query, .isArgs, .args:
                // Extends the path when it directly precedes (`%U%q`, `$uri$is_args$args`).
                if !record.target.isEmpty && Int(record.target.end) == start && end > start {
                    record.target.end = Int32(truncatingIfNeeded: end)
                }
            case .protocolVersion: record.protocolVersion = range
            case .status:
                if end - start == 3, let status = statusCode(p, start) {
                    record.status = status
                } else if end - start == 3 && Self.isZeroStatus(p, start, end)
                    || dashStatusSkips && (isDash || Self.isZeroStatus(p, start, end))
                {
                    // No response was sent: `000` (Squid's `emulate_httpd_log` lines of an
                    // aborted or refused transaction, AWS load balancers), and under the AWS
                    // presets `-` and Traefik's `0`.
                    noResponse = true
                } else {
                    return .reject(.badStatus)
                }
            case .bytes:
                if !isDash {
                    guard let v = digits(p, start, end) else { return .reject(.badBytes) }
                    record.bytes = v
                }
            case .durationSeconds, .durationMillis, .durationMicros, .durationSecondsPart:
                Self.servingTime(step.kind, UnsafeBufferPointer(start: p + start, count: end - start), &record)
            }
        }

        if unterminated { return .record }
        // Literal suffix.
        if let reason = matchLiteral(p, n, &pos, lits, suffixStart, suffixCount) { return .reject(reason) }
        // Extra text: ignored unless it holds a NUL byte.
        while pos &+ 8 <= n {
            if ByteWords.zeroBytes(ByteWords.load(p, pos)) != 0 { return .reject(.binaryGarbage) }
            pos &+= 8
        }
        while pos < n {
            if p[pos] == 0 { return .reject(.binaryGarbage) }
            pos &+= 1
        }
        return noResponse ? .skip : .record
    }

    /// Matches the `count` literal bytes at `lits[start...]` at `pos`, moving `pos` past them;
    /// nil when they match, else why not (the line ended, a control byte, another byte).
    @inline(__always)
    private static func matchLiteral(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ pos: inout Int, _ lits: UnsafeBufferPointer<UInt8>,
        _ start: Int, _ count: Int
    ) -> RejectReason? {
        for k in 0..<count {
            guard pos < n else { return .truncated }
            let b = p[pos]
            if b != lits[start + k] { return b < 0x20 && b != 0x09 ? .binaryGarbage : .literalMismatch }
            pos += 1
        }
        return nil
    }

    // MARK: The combined family

    /// `runCombined` for the vhost and common shapes, kept out of `parse` so that the plain
    /// combined formats' inlined copy stays as small as it was.
    @inline(never)
    static func runCombinedVariant(
        vhost: Bool, common: Bool, tail: UnsafeBufferPointer<FieldKind>, line p: UnsafeMutablePointer<UInt8>,
        count n: Int, record: inout LogRecord, cache: inout CLFTimestampCache
    ) -> Bool {
        // NCSA common lines are short, with one quoted field: scanning them field by field
        // measured faster than their masks.
        (!common && runCombinedMasked(vhost: vhost, tail: tail, line: p, count: n, record: &record, cache: &cache))
            || runCombined(vhost: vhost, common: common, tail: tail, line: p, count: n, record: &record, cache: &cache)
    }

    /// Parses a line of a combined-family format (`CompiledFormat.combinedShape`) into
    /// `record` without running the steps, when the line is plain: every unquoted field
    /// non-empty and free of control bytes, the site free of spaces, the time 26 bytes, no
    /// backslash in a quoted field, each field's first `"` the one that closes it, and nothing
    /// after the last field. The record is then the one `run` makes. Otherwise it returns
    /// false with `record` untouched (the time cache may have learnt a time), and the caller
    /// runs the steps, which report errors, undo escapes and take the slower rules.
    /// - Parameters:
    ///   - vhost: the line starts with `%v:%p ` (`vhost_combined`).
    ///   - common: the line ends after `%b` (NCSA common); `tail` is then empty.
    ///   - tail: the kinds of the quoted fields after the user agent.
    @inline(__always)
    static func runCombined(
        vhost: Bool, common: Bool, tail: UnsafeBufferPointer<FieldKind>, line p: UnsafeMutablePointer<UInt8>,
        count n: Int, record: inout LogRecord, cache: inout CLFTimestampCache
    ) -> Bool {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "\"")
        // %v:%p then a space: the site up to its last `:` (after the `]` of an IPv6 literal;
        // `2001:db8::2:443`, a literal without brackets, ends at the last one), the port up to
        // the space.
        var a = 0
        var site = ByteRange.empty
        if vhost {
            var colon = n > 0 && p[0] == UInt8(ascii: "[") ? scanBracketedSite(p, n) : scanSite(p, n)
            guard colon > 0 else { return false }
            let port = scanUnquoted(p, colon &+ 1, n)
            var last = port &- 1
            while last > colon && p[last] != UInt8(ascii: ":") { last &-= 1 }
            colon = last
            guard port > colon &+ 1 else { return false }
            site = dashIsEmpty(p, ByteRange(0, colon))
            a = port &+ 1
        }
        // %h %l %u: up to a space.
        let (h, plainAddress) = scanAddress(p, a, n)
        guard h > a else { return false }
        let l = scanUnquoted(p, h &+ 1, n)
        guard l > h &+ 1 else { return false }
        let u = scanUnquoted(p, l &+ 1, n)
        guard u > l &+ 1 else { return false }
        // ` [` time `] "`
        let t = u &+ 2
        guard t &+ 29 <= n, p[u &+ 1] == UInt8(ascii: "["), p[t &+ 26] == UInt8(ascii: "]"),
            p[t &+ 27] == space, p[t &+ 28] == quote,
            let time = cache.parse(UnsafeBufferPointer(start: p + t, count: 26))
        else { return false }
        // "%r" followed by a space.
        let r = t &+ 29
        let rq = scanQuoted(p, r, n)
        guard rq >= 0, rq &+ 1 < n, p[rq &+ 1] == space else { return false }
        // %>s: three digits, 100...599.
        let s = rq &+ 2
        guard s &+ 4 <= n, p[s &+ 3] == space, let status = statusCode(p, s) else { return false }
        // %b: `-` or 1...18 digits, then ` "` (common: the end of the line).
        let b = s &+ 4
        let be = common ? n : scanUnquoted(p, b, n)
        guard be > b, common || (be &+ 2 <= n && p[be &+ 1] == quote) else { return false }
        guard let bytes = byteCount(p, b, be) else { return false }
        // "%{Referer}i" "%{User-Agent}i" and the tail: each closed by `" "`, the last by `"`
        // at the end of the line.
        var referrer = ByteRange.empty
        var fields = (userAgent: ByteRange.empty, cookie: ByteRange.empty, forwardedFor: ByteRange.empty)
        if !common {
            var start = be &+ 2
            var close = scanQuoted(p, start, n)
            referrer = ByteRange(start, close)
            for k in -1..<tail.count {
                guard close >= 0, close &+ 2 < n, p[close &+ 1] == space, p[close &+ 2] == quote else { return false }
                start = close &+ 3
                close = scanQuoted(p, start, n)
                guard close >= 0 else { return false }
                let range = dashIsEmpty(p, ByteRange(start, close))
                if k < 0 {
                    fields.userAgent = range
                } else if tail[k] == .cookie {
                    fields.cookie = range
                } else if tail[k] == .forwardedFor {
                    fields.forwardedFor = range
                }
            }
            guard close >= 0, close &+ 1 == n else { return false }
        }

        store(
            p, n, site: site, address: ByteRange(a, h), plainAddress: plainAddress, user: ByteRange(l &+ 1, u),
            time: time, request: ByteRange(r, rq), status: status, bytes: bytes, referrer: referrer,
            userAgent: fields.userAgent, cookie: fields.cookie, forwardedFor: fields.forwardedFor, into: &record)
        return true
    }

    /// Fills `record` from the fields of a combined-family line that `runCombined` or
    /// `runCombinedMasked` found: a `-` address, user, request or referrer is empty; an address
    /// that may hold brackets or a port goes through `HostPort`.
    @inline(__always)
    private static func store(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, site: ByteRange, address: ByteRange, plainAddress: Bool,
        user: ByteRange, time: Int64, request: ByteRange, status: UInt16, bytes: Int64, referrer: ByteRange,
        userAgent: ByteRange, cookie: ByteRange, forwardedFor: ByteRange, into record: inout LogRecord
    ) {
        record.site = site
        record.clientAddress =
            isDash(p, address)
            ? .empty
            : plainAddress
                ? address : HostPort.address(in: UnsafeBufferPointer(start: UnsafePointer(p), count: n), address)
        record.user = dashIsEmpty(p, user)
        record.timestamp = time
        if !isDash(p, request) { splitRequest(p, Int(request.start), Int(request.end), &record) }
        record.status = status
        record.bytes = bytes
        record.referrer = dashIsEmpty(p, referrer)
        record.userAgent = userAgent
        record.cookie = cookie
        record.forwardedFor = forwardedFor
    }

    /// Appends the positions of the set bits of `quotes` (a block's quote mask; bit k is byte
    /// `base + k`) to `q[count...]` in order. The first four are written whatever the block
    /// holds, without a branch (a slot past the count is overwritten later or unused); more,
    /// rarely, one by one.
    /// - Returns: false when the line has more than `limit` quotes.
    @inline(__always)
    private static func gatherQuotes(
        _ quotes: UInt64, _ base: Int, into q: UnsafeMutablePointer<Int>, count: inout Int, limit: Int
    ) -> Bool {
        var m = quotes
        var k = count
        for _ in 0..<4 {
            q[k] = base &+ m.trailingZeroBitCount
            k &+= m == 0 ? 0 : 1
            m &= m &- 1
        }
        while m != 0 {
            guard k < limit else { return false }
            q[k] = base &+ m.trailingZeroBitCount
            k &+= 1
            m &= m &- 1
        }
        count = k
        return k <= limit
    }

    /// The most quoted fields after `%b` a line may have for `runCombinedMasked` (the
    /// referrer, the user agent and six more).
    static let maskedFieldLimit = 8

    /// `runCombined` for a line of 64 to 1,024 bytes that does not end after `%b` (not NCSA
    /// common, whose short lines scan faster field by field), from masks of 64 bytes at a time instead
    /// of a scan per field: the quotes and backslashes of the whole line, and the spaces, `:`,
    /// `[` and control bytes of its first 64 bytes. It takes the lines whose quotes are exactly
    /// the fields' own (two per quoted field, the first right after the time), with no `\`
    /// anywhere, `%v:%p %h %l %u` in the first 64 bytes and no control byte before the time:
    /// every such line that `runCombined` takes, with the same record. It returns false
    /// otherwise (`record` untouched; the time cache may have learnt a time), and the caller
    /// runs `runCombined`. A field's end then costs no loop exit, so no mispredicted branch
    /// per field.
    /// - Parameters:
    ///   - vhost: the line starts with `%v:%p ` (`vhost_combined`).
    ///   - tail: the kinds of the quoted fields after the user agent.
    @inline(__always)
    static func runCombinedMasked(
        vhost: Bool, tail: UnsafeBufferPointer<FieldKind>, line p: UnsafeMutablePointer<UInt8>,
        count n: Int, record: inout LogRecord, cache: inout CLFTimestampCache
    ) -> Bool {
        // Two quotes for the request and for each field after `%b`.
        let expected = 2 &* (3 &+ tail.count)
        guard n >= 64, n <= 1024, tail.count &+ 2 <= maskedFieldLimit else { return false }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 &* maskedFieldLimit &+ 2 &+ 4) { buffer in
            // Safe: the allocation holds 2 * maskedFieldLimit + 6 slots: `expected` plus the
            // four that one block's unrolled gathering may write at and past the count.
            let q = buffer.baseAddress!
            var count = 0
            var colons: UInt64 = 0, brackets: UInt64 = 0, controls: UInt64 = 0
            var backslashes: UInt64 = 0, more: UInt64 = 0
            let spaces = veil_head_masks64(p, &colons, &brackets, &controls)
            guard gatherQuotes(veil_quotes64(p, &backslashes), 0, into: q, count: &count, limit: expected) else {
                return false
            }
            var base = 64
            while base < n {
                // The last block is the line's last 64 bytes, its quotes shifted down to start
                // at `base`: no byte after the line is read.
                let shift = base &+ 64 > n ? UInt64(base &+ 64 &- n) : 0
                let quotes = veil_quotes64(p + (base &- Int(shift)), &more) &>> shift
                backslashes |= more
                guard gatherQuotes(quotes, base, into: q, count: &count, limit: expected) else { return false }
                base &+= 64
            }
            guard backslashes == 0, count == expected else { return false }
            var s = spaces
            // %v:%p then a space: the site up to its first `:` (before any space), a port.
            var a = 0
            var site = ByteRange.empty
            if vhost {
                let colon = colons.trailingZeroBitCount, port = s.trailingZeroBitCount
                // An IPv6 literal (`[2001:db8::1]:443`, or one without brackets: a second `:`
                // before the space) takes `runCombined`'s scan.
                let second = (colons & (colons &- 1)).trailingZeroBitCount
                guard colon > 0, port > colon &+ 1, second > port, brackets & 1 == 0 else { return false }
                site = dashIsEmpty(p, ByteRange(0, colon))
                a = port &+ 1
                s &= s &- 1
            }
            // %h %l %u: the next three spaces, no control byte before the third.
            let h = s.trailingZeroBitCount
            s &= s &- 1
            let l = s.trailingZeroBitCount
            s &= s &- 1
            let u = s.trailingZeroBitCount
            guard u < 64, h > a, l > h &+ 1, u > l &+ 1 else { return false }
            guard controls & ((1 &<< UInt64(u)) &- 1) == 0 else { return false }
            let plainAddress = (colons | brackets) & ((1 &<< UInt64(h)) &- (1 &<< UInt64(a))) == 0
            // ` [` time `] "`: the first quote opens the request.
            let space = UInt8(ascii: " ")
            let t = u &+ 2
            guard q[0] == t &+ 28, p[u &+ 1] == UInt8(ascii: "["), p[t &+ 26] == UInt8(ascii: "]"),
                p[t &+ 27] == space, let time = cache.parse(UnsafeBufferPointer(start: p + t, count: 26))
            else { return false }
            // `" %>s %b "`: the status's three bytes and spaces, then `-` or digits up to the
            // space before the referrer's quote.
            let rq = q[1], s0 = rq &+ 2, b = s0 &+ 4, be = q[2] &- 1
            guard be > b, p[rq &+ 1] == space, p[s0 &+ 3] == space, p[be] == space,
                let status = statusCode(p, s0)
            else { return false }
            guard let bytes = byteCount(p, b, be) else { return false }
            // Each quoted field closed by `" "` up to the last, which ends the line.
            var fields = (userAgent: ByteRange.empty, cookie: ByteRange.empty, forwardedFor: ByteRange.empty)
            var i = 3
            while i &+ 1 < expected {
                guard p[q[i] &+ 1] == space, q[i &+ 1] == q[i] &+ 2 else { return false }
                let range = dashIsEmpty(p, ByteRange(q[i &+ 1] &+ 1, q[i &+ 2]))
                let k = (i &- 5) &>> 1
                if i == 3 {
                    fields.userAgent = range
                } else if tail[k] == .cookie {
                    fields.cookie = range
                } else if tail[k] == .forwardedFor {
                    fields.forwardedFor = range
                }
                i &+= 2
            }
            guard q[expected &- 1] == n &- 1 else { return false }
            store(
                p, n, site: site, address: ByteRange(a, h), plainAddress: plainAddress, user: ByteRange(l &+ 1, u),
                time: time, request: ByteRange(t &+ 29, rq), status: status, bytes: bytes,
                referrer: ByteRange(q[2] &+ 1, q[3]), userAgent: fields.userAgent, cookie: fields.cookie,
                forwardedFor: fields.forwardedFor, into: &record)
            return true
        }
    }

    /// The index of the first space from `i`; -1 when a byte below 0x20 (tab included) or the
    /// end of the line comes first.
    @inline(__always)
    private static func scanUnquoted(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var i = i
        while i &+ 8 <= n {
            let x = ByteWords.load(p, i)
            let m = ByteWords.zeroBytes(x ^ 0x2020_2020_2020_2020) | ByteWords.below0x20(x)
            if m != 0 {
                let at = i &+ ByteWords.lowestByte(m)
                return p[at] == 0x20 ? at : -1
            }
            i &+= 8
        }
        while i < n {
            if p[i] == 0x20 { return i }
            if p[i] < 0x20 { return -1 }
            i &+= 1
        }
        return -1
    }

    /// The index of the first `:` from the start of the line (the end of a `vhost_combined`
    /// site); -1 when a space, a byte below 0x20 or the end of the line comes first.
    @inline(__always)
    private static func scanSite(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int {
        let colons = ByteWords.broadcast(UInt8(ascii: ":"))
        var i = 0
        while i &+ 8 <= n {
            let x = ByteWords.load(p, i)
            let m =
                ByteWords.zeroBytes(x ^ colons) | ByteWords.zeroBytes(x ^ 0x2020_2020_2020_2020)
                | ByteWords.below0x20(x)
            if m != 0 {
                let at = i &+ ByteWords.lowestByte(m)
                return p[at] == UInt8(ascii: ":") ? at : -1
            }
            i &+= 8
        }
        while i < n {
            if p[i] == UInt8(ascii: ":") { return i }
            if p[i] <= 0x20 { return -1 }
            i &+= 1
        }
        return -1
    }

    /// The index of the `:` right after the `]` of a site that is a bracketed IPv6 literal
    /// (`[2001:db8::1]:443`, `p[0]` is `[`); -1 when there is no `]` (see `closingBracket`)
    /// or no `:` follows it.
    @inline(never)
    private static func scanBracketedSite(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Int {
        let i = closingBracket(p, 0, n)
        return i >= 0 && i &+ 1 < n && p[i &+ 1] == UInt8(ascii: ":") ? i &+ 1 : -1
    }

    /// The index of the `]` that closes the `[` at `open`; -1 when a space, a byte below 0x20
    /// or the end of the line comes first.
    private static func closingBracket(_ p: UnsafeMutablePointer<UInt8>, _ open: Int, _ n: Int) -> Int {
        var i = open &+ 1
        while i < n, p[i] != UInt8(ascii: "]") {
            if p[i] <= 0x20 { return -1 }
            i &+= 1
        }
        return i < n ? i : -1
    }

    /// `scanUnquoted` from `from`, and whether the bytes before the space are
    /// free of `:` and `[` (an address without brackets or port, which `HostPort` would
    /// return unchanged).
    @inline(__always)
    private static func scanAddress(_ p: UnsafeMutablePointer<UInt8>, _ from: Int, _ n: Int) -> (end: Int, plain: Bool)
    {
        let colons = ByteWords.broadcast(UInt8(ascii: ":")), brackets = ByteWords.broadcast(UInt8(ascii: "["))
        var i = from
        while i &+ 8 <= n {
            let x = ByteWords.load(p, i)
            let special = ByteWords.zeroBytes(x ^ colons) | ByteWords.zeroBytes(x ^ brackets)
            let m = ByteWords.zeroBytes(x ^ 0x2020_2020_2020_2020) | ByteWords.below0x20(x)
            if m != 0 {
                let at = i &+ ByteWords.lowestByte(m)
                // Only the bytes before the stop count (a flag above a true one changes nothing).
                let before = special & ((1 &<< UInt64(m.trailingZeroBitCount & ~7)) &- 1)
                return (p[at] == 0x20 ? at : -1, before == 0)
            }
            if special != 0 { return (scanUnquoted(p, i &+ 8, n), false) }
            i &+= 8
        }
        return (scanUnquoted(p, i, n), false)
    }

    /// The index of the first `"` from `i`; -1 when a `\` or the end of the line comes first.
    @inline(__always)
    private static func scanQuoted(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let at = nextQuoteOrBackslash(p, i, n)
        return at < n && p[at] == UInt8(ascii: "\"") ? at : -1
    }

    /// The index of the first `"` or `\` from `i`, or `n`: sixteen bytes at a time while they
    /// last (quoted fields are the long ones), then eight, then one.
    @inline(__always)
    private static func nextQuoteOrBackslash(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let i = veil_scan16_either(p, i, n, UInt8(ascii: "\""), UInt8(ascii: "\\"))
        if i &+ 16 <= n { return i }
        return ByteWords.firstOf(UInt8(ascii: "\""), UInt8(ascii: "\\"), in: p, from: i, to: n)
    }

    @inline(__always)
    private static func isDash(_ p: UnsafeMutablePointer<UInt8>, _ r: ByteRange) -> Bool {
        r.end &- r.start == 1 && p[Int(r.start)] == UInt8(ascii: "-")
    }

    /// `r`, or empty when it is `-`; `r.start` must lie in the line (a byte follows every
    /// field of the fast paths). Arithmetic, no branch: fields such as the referrer and the
    /// cookie are `-` on some lines and not on others.
    @inline(__always)
    private static func dashIsEmpty(_ p: UnsafeMutablePointer<UInt8>, _ r: ByteRange) -> ByteRange {
        let other = (r.end &- r.start) ^ 1 | Int32(p[Int(r.start)] ^ UInt8(ascii: "-"))
        // All ones unless `other` is zero (it is never negative: a length and a byte).
        let keep = (other | (0 &- other)) &>> 31
        return ByteRange(start: r.start & keep, end: r.end & keep)
    }

    // MARK: Quoted fields

    /// Whether the `"` at `i` closes a quoted field: the whole literal after the field follows
    /// it. For the format's last field, the `"` must be followed by the end, a space or a tab.
    /// (When no `"` qualifies, the caller falls back to the first one, and matching the
    /// literal then reports the truncation or mismatch.)
    @inline(__always)
    private static func closes(
        _ step: FormatStep, at i: Int, _ lits: UnsafeBufferPointer<UInt8>,
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, lastQuoteEndsLine: Bool
    ) -> Bool {
        if step.isFinalQuoted {
            return i + 1 == n || (!lastQuoteEndsLine && (p[i + 1] == 0x20 || p[i + 1] == 0x09))
        }
        let cs = Int(step.closeStart), cc = Int(step.closeCount)
        if step.closeMask != 0 && i &+ 9 <= n {
            return (ByteWords.load(p, i &+ 1) ^ step.closeWord) & step.closeMask == 0
        }
        var k = 1
        while k < cc {
            if i + k >= n { return false }
            if p[i + k] != lits[cs + k] { return false }
            k += 1
        }
        return true
    }

    /// Undoes `\"`, `\\` and `\xHH` in `[start, end)` in place; returns the new end.
    @inline(never)
    private static func unescape(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int)
        -> Int
    {
        var r = start, w = start
        while r < end {
            let b = p[r]
            if b == UInt8(ascii: "\\") && r + 1 < end {
                let c = p[r + 1]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                    p[w] = c
                    w += 1
                    r += 2
                    continue
                }
                if c == UInt8(ascii: "x") && r + 3 < end, let hi = hex(p[r + 2]),
                    let lo = hex(p[r + 3])
                {
                    p[w] = hi << 4 | lo
                    w += 1
                    r += 4
                    continue
                }
            }
            p[w] = b
            w += 1
            r += 1
        }
        return w
    }

    @inline(__always)
    private static func hex(_ b: UInt8) -> UInt8? {
        if b &- UInt8(ascii: "0") <= 9 { return b &- UInt8(ascii: "0") }
        let l = b | 0x20
        if l &- UInt8(ascii: "a") < 6 { return l &- UInt8(ascii: "a") + 10 }
        return nil
    }

    /// The status code of the three bytes at `start`: 100...599, else nil.
    @inline(__always)
    static func statusCode(_ p: UnsafeMutablePointer<UInt8>, _ start: Int) -> UInt16? {
        let a = p[start] &- UInt8(ascii: "0"), b = p[start + 1] &- UInt8(ascii: "0")
        let c = p[start + 2] &- UInt8(ascii: "0")
        guard a >= 1, a <= 5, b <= 9, c <= 9 else { return nil }
        return UInt16(a) * 100 + UInt16(b) * 10 + UInt16(c)
    }

    /// A `%b` field of the fast paths, `[start, end)` with `end >= 8`: `-` is 0, 1...18 ASCII
    /// digits their number, anything else nil. Up to eight digits are checked and converted
    /// in one 64-bit word (the eight bytes that end at `end`, the field's in the high ones)
    /// without a branch on the digits or on the dash, as sizes and dashes vary line by line.
    @inline(__always)
    private static func byteCount(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        let count = end &- start
        guard count >= 1, count <= 8, end >= 8 else {
            return isDash(p, ByteRange(start, end)) ? 0 : digits(p, start, end)
        }
        let field = ~UInt64(0) &<< (UInt64(8 &- count) &* 8)
        // Digit values where the bytes are digits; the bytes before the field are zeros,
        // which stand for leading zeros below.
        let d = (ByteWords.load(p, end &- 8) ^ 0x3030_3030_3030_3030) & field
        let bad = ByteWords.nonDigits(d)
        // The digits pairwise, then by fours, then all eight (the first digit is the highest).
        var v = (d &* 10 &+ (d &>> 8)) & 0x00FF_00FF_00FF_00FF
        v = (v &* 100 &+ (v &>> 16)) & 0x0000_FFFF_0000_FFFF
        v = (v &* 10_000 &+ (v &>> 32)) & 0xFFFF_FFFF
        let dash = (count ^ 1) | Int(p[start] ^ UInt8(ascii: "-")) == 0
        let ok = bad == 0 || dash
        return ok ? (dash ? 0 : Int64(v)) : nil
    }

    /// 1...18 ASCII digits as a number.
    @inline(__always)
    static func digits(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int)
        -> Int64?
    {
        guard end > start, end - start <= 18 else { return nil }
        // 18 digits stay below Int64.max, so the arithmetic cannot overflow: wrapping
        // operators, no overflow checks in the loop.
        var v: Int64 = 0
        var i = start
        while i < end {
            let d = p[i] &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            v = v &* 10 &+ Int64(d)
            i &+= 1
        }
        return v
    }

    /// Splits `METHOD SP target [SP HTTP/x.y]` in `[s, e)` into the record; leaves all three
    /// empty when the line does not start with a method token.
    @inline(__always)
    static func splitRequest(
        _ p: UnsafeMutablePointer<UInt8>, _ s: Int, _ e: Int, _ record: inout LogRecord
    ) {
        var e = e
        while e > s && p[e - 1] == 0x20 { e -= 1 }
        var i = s
        // `GET ` (most requests) is a token and its end in one compare.
        if e &- s >= 4 && ByteWords.load32(p, s) == Self.getSpace {
            i = s &+ 3
        } else {
            while i < e && isTokenByte(p[i]) { i += 1 }
        }
        guard i > s, i == e || p[i] == 0x20 else { return }
        record.method = ByteRange(s, i)
        while i < e && p[i] == 0x20 { i += 1 }
        guard i < e else { return }
        let t = i
        // ` HTTP/x.y` at the end: its space is the last one (the eight bytes after it hold none:
        // `HTTP/` compared, the last byte is not a space after the strip above), so the rule
        // below holds without the search.
        if e &- t >= 10 && p[e &- 9] == 0x20
            && ByteWords.load(p, e &- 8) & 0xFF_FFFF_FFFF == Self.httpSlash
            && p[e &- 3] != 0x20 && p[e &- 2] != 0x20
        {
            record.protocolVersion = ByteRange(e &- 8, e)
            var te = e &- 9
            while te > t && p[te &- 1] == 0x20 { te &-= 1 }
            record.target = ByteRange(t, te)
            return
        }
        var j = e - 1
        while j > t && p[j] != 0x20 { j -= 1 }
        if j > t && e - j > 5 && p[j + 1] == UInt8(ascii: "H") && p[j + 2] == UInt8(ascii: "T")
            && p[j + 3] == UInt8(ascii: "T") && p[j + 4] == UInt8(ascii: "P")
            && p[j + 5] == UInt8(ascii: "/")
        {
            record.protocolVersion = ByteRange(j + 1, e)
            var te = j
            while te > t && p[te - 1] == 0x20 { te -= 1 }
            record.target = ByteRange(t, te)
        } else {
            record.target = ByteRange(t, e)
        }
    }

    /// `GET ` and `HTTP/` as `ByteWords` loads them (first byte lowest).
    private static var getSpace: UInt32 { 0x2054_4547 }
    private static var httpSlash: UInt64 { 0x2F_5054_5448 }

    /// RFC 9110 `tchar`: visible ASCII except the separators `"(),/:;<=>?@[\]{}`.
    @inline(__always)
    private static func isTokenByte(_ b: UInt8) -> Bool {
        guard b > 0x20 && b < 0x7F else { return false }
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","),
            UInt8(ascii: "/"), UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "<"),
            UInt8(ascii: "="), UInt8(ascii: ">"), UInt8(ascii: "?"), UInt8(ascii: "@"),
            UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "{"),
            UInt8(ascii: "}"):
            return false
        default:
            return true
        }
    }
}
