/// A text log format string (Apache `LogFormat` or nginx `log_format`) compiled into a flat
/// program that `TextFormat` runs over each line without allocating.
///
/// The program is a list of steps. Each step matches a literal prefix byte for byte, then
/// reads one field and stores it in a `LogRecord` slot (or skips it). Text after the last
/// field is a literal suffix. How a field ends is decided here, once:
/// - a field between a literal ending in `"` and a literal starting with `"` is *quoted*: it
///   ends at the closing unescaped `"` (see `TextFormat` for escapes);
/// - any other field ends at the first byte of the literal that follows it;
/// - the last field of a format with no literal after it ends at a space, a tab or the end
///   of the line (so lines with extra fields appended still parse);
/// - a path directly followed by a query (`%U%q`, `$uri$is_args$args`) ends at `?`.
///
/// When a format names the same record slot twice, the more specific directive wins and the
/// others are read and skipped: client address `%a` > `%h` > `%{c}a`/`%{c}h`
/// (`$remote_addr` > `$realip_remote_addr`); site `%v` > `%V` > `%{Host}i` (`$host` >
/// `$server_name` > `$http_host`); status `%>s` > `%s`; bytes `%b`/`%B` > `%O`
/// (`$body_bytes_sent` > `$bytes_sent`); the request line `%r` / `$request` over
/// `%m` `%U` `%q` `%H` / `$request_method` `$request_uri` `$uri` `$args` `$server_protocol`,
/// and `$request_uri` over `$uri$is_args$args`. Otherwise the first occurrence wins (for
/// example the first cookie directive).
public struct CompiledFormat: Sendable {
    /// `apache:<string>` or `nginx:<string>`, the string as given.
    public let name: String
    let steps: [FormatStep]
    /// Every literal's bytes, back to back; steps refer to them by offset.
    let literals: [UInt8]
    let suffixStart: Int32
    let suffixCount: Int32
    /// The record slots this format fills (not the skipped fields), for detection and
    /// `veil inspect`.
    public let capturedFields: Set<CapturedField>
    /// The host of an absolute-form request target (`GET https://www.example.com:443/a
    /// HTTP/1.1`) names the site when no field does: AWS load balancers log requests this way
    /// and have no host field. Off for format strings, whose servers may receive proxy
    /// requests for other hosts.
    public internal(set) var requestURLNamesSite = false
    /// A status written `-`, `0` or `000` means no HTTP response was sent (a load balancer's
    /// line for a TCP connection, a client gone before any response, a request Traefik knew no
    /// status of): the line is skipped, not rejected, when the rest of it matches the format.
    public internal(set) var dashStatusSkips = false
    /// Each line ends with Traefik's tail, ` <requests> "<router>" "<server URL>" <duration>ms`
    /// (router and server may be a bare `-`), which is checked from the end of the line and cut
    /// off before the format runs on the rest (`TextFormat.traefikTailStart`): the user agent
    /// before it is then the line's last field, closed only by the line's last `"`, whatever
    /// quotes it holds (Traefik writes header values as they came, without escapes).
    public internal(set) var traefikTail = false
    /// A line that does not parse but is an S3 server access log line of one of S3's own
    /// operations (`BATCH.DELETE.OBJECT`, written with a bare `-` request, or `S3.…`:
    /// lifecycle, replication) is skipped, not rejected (`TextFormat.s3InternalOperationTime`).
    public internal(set) var s3InternalOperationsSkip = false
    /// Lines are HAProxy's HTTP log, read by `TextFormat.parseHAProxy` instead of the steps
    /// (the `haproxy` preset: its words are not separated the way a format string's are, and
    /// its accept date has no zone).
    public internal(set) var haproxyLog = false
    /// Lines are Squid's native access log, read by `TextFormat.parseSquid` (the `squid`
    /// preset: fields between runs of spaces, the status inside the result code).
    public internal(set) var squidLog = false

    /// A record slot a format string can fill.
    public enum CapturedField: String, Sendable, Hashable, CaseIterable {
        case site, clientAddress, forwardedFor, user, timestamp, method, target
        case protocolVersion, status, bytes, referrer, userAgent, cookie
        /// How long the request took to serve.
        case duration
    }

    /// Compiles an Apache `LogFormat` string such as `%h %l %u %t \"%r\" %>s %b`.
    ///
    /// Accepted: `%h %a %{c}a %{c}h %A %l %u %t %{…}t %r %m %U %q %H %s %>s %<s %b %B %O %I %S
    /// %D %T %{…}T %k %L %P %R %X %f %v %V %p %{…}p %{Name}i %{Name}C %{…}e %{…}n %{…}o
    /// %{…}^ti %{…}^to %%`, status conditions (`%400,501{User-Agent}i`, `%!200…`), and
    /// literal text. `%{Referer}i`, `%{User-Agent}i`, `%{X-Forwarded-For}i` and `%{Host}i`
    /// (any case) are captured; other headers are skipped. `%t` is the bracketed CLF time;
    /// `%{…}t` accepts `%d/%b/%Y:%H:%M:%S %z` (CLF without brackets), ISO 8601 forms
    /// `%Y-%m-%dT%H:%M:%S%z` / `%FT%T%z`, the same without `%z` or with a space for `T`
    /// (`%Y-%m-%d %H:%M:%S`, `%F %T`: local time, read in the log's zone; `%Y-%m-%d %H:%M:%S %z`,
    /// `%F %T %z` with the offset after a space), and `sec`, `msec`,
    /// `usec` (optionally prefixed
    /// `begin:` or `end:`). `%D` (microseconds), `%T` / `%{s}T` (seconds), `%{ms}T` and
    /// `%{us}T` are the request's serving time (the finest one when several). In the string, `\"` is a literal quote, `\\` a backslash, `\t` a
    /// tab. A string pasted from `httpd.conf` with its surrounding quotes (`"%h … \"%r\" …"`)
    /// is unwrapped.
    /// - Throws: `VeilError` `.badFormat` naming the first unsupported directive.
    public static func apache(_ s: String) throws(VeilError) -> CompiledFormat {
        try apache(s, awsServingTimes: false)
    }

    /// `apache(_:)` for veil's presets: with `awsServingTimes`, the notes the AWS presets name
    /// their serving-time fields with (`%{request_processing_time}n`, `%{target_processing_time}n`,
    /// `%{backend_processing_time}n`, `%{response_processing_time}n`: seconds that add up;
    /// `%{total_time}n`: milliseconds) are read as the serving time, where a user's format
    /// string skips notes of any name.
    static func apache(_ s: String, awsServingTimes: Bool) throws(VeilError) -> CompiledFormat {
        var parser = FormatStringParser(name: "apache:" + s)
        parser.awsServingTimes = awsServingTimes
        try parser.parseApache(Array(s.utf8))
        return try parser.compile()
    }

    /// Compiles an nginx `log_format` string such as
    /// `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent`.
    ///
    /// Variables are `$name` (letters, digits, `_`) or `${name}`. Known variables fill the
    /// record (`$remote_addr`, `$remote_user`, `$time_local`, `$time_iso8601`, `$msec`,
    /// `$request`, `$request_method`, `$request_uri`, `$uri`, `$document_uri`, `$is_args`,
    /// `$args`, `$query_string`, `$server_protocol`, `$status`, `$body_bytes_sent`,
    /// `$bytes_sent`, `$http_referer`, `$http_user_agent`, `$http_x_forwarded_for`,
    /// `$proxy_add_x_forwarded_for`, `$host`, `$server_name`, `$http_host`, `$cookie_NAME`,
    /// and `$request_time`, the serving time in seconds); any other variable
    /// (`$upstream_response_time`, `$upstream_*`, …) is a skipped field. A string
    /// pasted from `nginx.conf` as one or more quoted segments (`'…' '…';`) is unwrapped and
    /// its `\"`, `\'`, `\\` escapes undone.
    /// - Throws: `VeilError` `.badFormat` for an empty or unterminated variable name or
    ///   `$binary_remote_addr`.
    public static func nginx(_ s: String) throws(VeilError) -> CompiledFormat {
        var parser = FormatStringParser(name: "nginx:" + s)
        try parser.parseNginx(Array(s.utf8))
        return try parser.compile()
    }

    init(
        name: String, steps: [FormatStep], literals: [UInt8], suffixStart: Int32,
        suffixCount: Int32, capturedFields: Set<CapturedField>
    ) {
        self.name = name
        self.steps = steps
        self.literals = literals
        self.suffixStart = suffixStart
        self.suffixCount = suffixCount
        self.capturedFields = capturedFields
        combinedShape = Self.combinedShape(
            steps, literals, suffixStart: Int(suffixStart), suffixCount: Int(suffixCount))
    }

    /// For a format of the combined family — `%h %l %u %t "%r" %>s %b "%{Referer}i"
    /// "%{User-Agent}i"` followed by zero or more `"…"` fields that are skipped, a cookie or
    /// X-Forwarded-For, or NCSA common (`%h %l %u %t "%r" %>s %b`), either of them optionally
    /// after `%v:%p ` (Apache's `vhost_combined`) — its shape; nil for any other format.
    /// `TextFormat` parses such lines without running the steps.
    let combinedShape: CombinedShape?

    /// The shape of a combined-family format (see `combinedShape`).
    struct CombinedShape: Equatable, Sendable {
        /// The line starts with `%v:%p ` (site, `:`, port): `vhost_combined`.
        var vhost = false
        /// The line ends after `%b`: no referrer, user agent or extra fields (NCSA common).
        var common = false
        /// The kinds of the quoted fields after the user agent.
        var tail: [FieldKind] = []
    }

    private static func combinedShape(
        _ steps: [FormatStep], _ literals: [UInt8], suffixStart: Int, suffixCount: Int
    ) -> CombinedShape? {
        func prefix(_ s: FormatStep) -> [UInt8] {
            Array(literals[Int(s.prefixStart)..<Int(s.prefixStart + s.prefixCount)])
        }
        func matches(_ step: FormatStep, _ want: (prefix: String, kind: FieldKind, scan: ScanMode)) -> Bool {
            prefix(step) == Array(want.prefix.utf8) && step.kind == want.kind && step.scan == want.scan
                && step.skipBytes == 0
        }
        var shape = CombinedShape()
        var rest = steps[...]
        if rest.count > 2, matches(rest[0], ("", .site, .untilStop)), matches(rest[1], (":", .skip, .untilStop)),
            rest[0].stop1 == UInt8(ascii: ":"), rest[0].stop2 == UInt8(ascii: ":"),
            rest[1].stop1 == 0x20, rest[1].stop2 == 0x20
        {
            shape.vhost = true
            rest = rest.dropFirst(2)
        }
        let head: [(prefix: String, kind: FieldKind, scan: ScanMode)] = [
            (shape.vhost ? " " : "", .address, .untilStop), (" ", .skip, .untilStop), (" ", .user, .untilStop),
            (" [", .timeCLF, .untilStop), ("] \"", .request, .quoted), ("\" ", .status, .untilStop),
            (" ", .bytes, .untilStop),
        ]
        guard rest.count >= head.count, zip(rest, head).allSatisfy({ matches($0, $1) }) else { return nil }
        rest = rest.dropFirst(head.count)
        let suffix = Array(literals[suffixStart..<suffixStart + suffixCount])
        if rest.isEmpty {
            // `%b` last, ending at a space, a tab or the end of the line.
            guard suffix.isEmpty, let last = steps.last, last.stop1 == 0x20, last.stop2 == 0x09 else { return nil }
            shape.common = true
            return shape
        }
        guard suffix == [UInt8(ascii: "\"")], rest.count >= 2,
            matches(rest[rest.startIndex], (" \"", .referrer, .quoted)),
            matches(rest[rest.startIndex + 1], ("\" \"", .userAgent, .quoted))
        else { return nil }
        for step in rest.dropFirst(2) {
            guard prefix(step) == Array("\" \"".utf8), step.scan == .quoted,
                [.skip, .cookie, .forwardedFor].contains(step.kind)
            else { return nil }
            shape.tail.append(step.kind)
        }
        return steps.last?.isFinalQuoted == true ? shape : nil
    }
}

/// What a field's bytes become in the record.
enum FieldKind: UInt8, Sendable {
    case skip
    case address, user, site, forwardedFor
    /// A client address with its port always after the last `:` (`%a:%{remote}p`,
    /// `$remote_addr:$remote_port`): an IPv6 address may be written without brackets.
    case addressPort
    case timeCLF, timeISO, epoch, epochMillis, epochMicros
    case request, method, target, path, query, isArgs, args, protocolVersion
    case status, bytes, referrer, userAgent, cookie
    /// How long the request took, in seconds (a decimal: nginx `$request_time`, Apache `%T`),
    /// milliseconds (Apache `%{ms}T`) or microseconds (Apache `%D`, `%{us}T`).
    case durationSeconds, durationMillis, durationMicros
    /// One of the parts of a serving time that add up (seconds: the AWS load balancers'
    /// request, target or backend, and response processing times).
    case durationSecondsPart
}

/// How a field's end is found.
enum ScanMode: UInt8, Sendable {
    /// Up to the first `stop1` or `stop2` byte, or the end of the line.
    case untilStop
    /// Up to the closing unescaped `"`.
    case quoted
    /// One `?` if present (nginx `$is_args`), else nothing.
    case optionalQuestionMark
}

/// One step of a compiled format: a literal prefix, then a field.
struct FormatStep: Sendable {
    var prefixStart: Int32
    var prefixCount: Int32
    /// The literal after the field (the next step's prefix or the suffix); quoted fields
    /// check a closing-quote candidate against it.
    var closeStart: Int32
    var closeCount: Int32
    var kind: FieldKind
    var scan: ScanMode
    var stop1: UInt8
    var stop2: UInt8
    /// Bytes to take before looking for a stop byte (a CLF time not in brackets has a space
    /// at offset 20).
    var skipBytes: Int32
    /// The field is the last one and the suffix is exactly `"`: the tolerant unterminated-
    /// quote rule and the end-of-field rule (closing `"` followed by end, space or tab) apply.
    var isFinalQuoted: Bool
    /// The prefix literal as one little-endian word and the mask of its bytes, when it is 1–8
    /// bytes long (else mask 0): matched with one load and compare where 8 bytes remain.
    var prefixWord: UInt64 = 0
    var prefixMask: UInt64 = 0
    /// The close literal after its first byte (the `"` a quoted field's scan stops at), the
    /// same way: 1–8 bytes, else mask 0.
    var closeWord: UInt64 = 0
    var closeMask: UInt64 = 0

    /// `bytes` (1–8 of them) as a little-endian word and its byte mask; (0, 0) otherwise.
    static func word(_ bytes: ArraySlice<UInt8>) -> (word: UInt64, mask: UInt64) {
        guard (1...8).contains(bytes.count) else { return (0, 0) }
        var w: UInt64 = 0
        for (k, b) in bytes.enumerated() { w |= UInt64(b) << (8 * UInt64(k)) }
        let mask: UInt64 = bytes.count == 8 ? ~0 : (1 << (8 * UInt64(bytes.count))) - 1
        return (w, mask)
    }
}

/// Builds a `CompiledFormat` from the tokens of a format string.
struct FormatStringParser {
    enum Item {
        case literal([UInt8])
        case field(FieldKind, priority: Int, directive: String)
    }

    let name: String
    var items: [Item] = []
    private var pendingLiteral: [UInt8] = []
    /// Whether the AWS presets' serving-time notes are read (`CompiledFormat.apache(_:awsServingTimes:)`).
    var awsServingTimes = false

    init(name: String) { self.name = name }

    static func error(_ message: String) -> VeilError { VeilError(.badFormat, message) }

    mutating func literal(_ b: UInt8) { pendingLiteral.append(b) }

    mutating func field(_ kind: FieldKind, _ priority: Int = 1, _ directive: String) {
        if !pendingLiteral.isEmpty {
            items.append(.literal(pendingLiteral))
            pendingLiteral = []
        }
        items.append(.field(kind, priority: priority, directive: directive))
    }

    // MARK: Apache

    mutating func parseApache(_ input: [UInt8]) throws(VeilError) {
        var bytes = input
        // A string pasted with its httpd.conf quotes: "…\"%r\"…".
        if bytes.count >= 2, bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""),
            bytes[bytes.count - 2] != UInt8(ascii: "\\")
        {
            let inner = Array(bytes[1..<(bytes.count - 1)])
            var sawEscapedQuote = false
            var sawBareQuote = false
            var i = 0
            while i < inner.count {
                if inner[i] == UInt8(ascii: "\\") {
                    if i + 1 < inner.count && inner[i + 1] == UInt8(ascii: "\"") {
                        sawEscapedQuote = true
                    }
                    i += 2
                    continue
                }
                if inner[i] == UInt8(ascii: "\"") { sawBareQuote = true }
                i += 1
            }
            if sawEscapedQuote && !sawBareQuote { bytes = inner }
        }
        guard !bytes.isEmpty else { throw Self.error("empty Apache LogFormat string") }
        let n = bytes.count
        var i = 0
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "\\") && i + 1 < n {
                switch bytes[i + 1] {
                case UInt8(ascii: "\""): literal(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): literal(UInt8(ascii: "\\"))
                case UInt8(ascii: "t"): literal(0x09)
                case UInt8(ascii: "n"), UInt8(ascii: "r"):
                    throw Self.error("a line break (\\n, \\r) cannot appear inside a log line format")
                default:
                    literal(b)
                    i += 1
                    continue
                }
                i += 2
                continue
            }
            if b != UInt8(ascii: "%") {
                try checkLiteralByte(b)
                literal(b)
                i += 1
                continue
            }
            // A directive: % [modifiers] [{param}] letter
            let start = i
            i += 1
            if i < n && bytes[i] == UInt8(ascii: "%") {
                literal(UInt8(ascii: "%"))
                i += 1
                continue
            }
            var finalStatus = false
            while i < n {
                let m = bytes[i]
                if m == UInt8(ascii: ">") {
                    finalStatus = true
                } else if !(m == UInt8(ascii: "<") || m == UInt8(ascii: "!")
                    || m == UInt8(ascii: ",") || m &- UInt8(ascii: "0") <= 9)
                {
                    break
                }
                i += 1
            }
            var param: String? = nil
            if i < n && bytes[i] == UInt8(ascii: "{") {
                guard let close = bytes[(i + 1)...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw Self.error(
                        "unterminated {…} in directive \(Self.text(bytes[start..<n]))")
                }
                param = String(decoding: bytes[(i + 1)..<close], as: UTF8.self)
                i = close + 1
            }
            guard i < n else {
                throw Self.error("incomplete directive \(Self.text(bytes[start..<n]))")
            }
            var letterEnd = i + 1
            if bytes[i] == UInt8(ascii: "^") { letterEnd = min(i + 3, n) }
            let directive = Self.text(bytes[start..<letterEnd])
            let letter = Self.text(bytes[i..<letterEnd])
            i = letterEnd
            try apacheDirective(letter, param: param, finalStatus: finalStatus, directive: directive)
        }
        flushLiteral()
    }

    private mutating func apacheDirective(
        _ letter: String, param: String?, finalStatus: Bool, directive: String
    ) throws(VeilError) {
        switch letter {
        case "h": field(.address, param == "c" ? 1 : 2, directive)
        case "a": field(.address, param == "c" ? 1 : 3, directive)
        case "D": field(.durationMicros, 3, directive)
        case "T":
            switch param {
            case nil, "s": field(.durationSeconds, 1, directive)
            case "ms": field(.durationMillis, 2, directive)
            case "us": field(.durationMicros, 3, directive)
            default: throw Self.error("unsupported unit in \(directive): use %T, %{s}T, %{ms}T or %{us}T")
            }
        case "l", "A", "I", "S", "k", "L", "P", "R", "X", "f", "p", "^ti", "^to":
            field(.skip, 0, directive)
        case "e", "n", "o":
            guard let param else {
                throw Self.error("directive \(directive) needs a {name}")
            }
            switch (letter, param) {
            case ("n", "request_processing_time"), ("n", "target_processing_time"), ("n", "backend_processing_time"),
                ("n", "response_processing_time"):
                field(awsServingTimes ? .durationSecondsPart : .skip, 0, directive)
            case ("n", "total_time"): field(awsServingTimes ? .durationMillis : .skip, 2, directive)
            default: field(.skip, 0, directive)
            }
        case "u": field(.user, 1, directive)
        case "t": try apacheTime(param, directive: directive)
        case "r": field(.request, 1, directive)
        case "m": field(.method, 1, directive)
        case "U": field(.path, 1, directive)
        case "q": field(.query, 1, directive)
        case "H": field(.protocolVersion, 1, directive)
        case "s": field(.status, finalStatus ? 2 : 1, directive)
        case "b", "B": field(.bytes, 2, directive)
        case "O": field(.bytes, 1, directive)
        case "v": field(.site, 3, directive)
        case "V": field(.site, 2, directive)
        case "i":
            guard let param, !param.isEmpty else {
                throw Self.error("directive \(directive) needs a {header name}")
            }
            switch param.lowercased() {
            case "referer", "referrer": field(.referrer, 1, directive)
            case "user-agent": field(.userAgent, 1, directive)
            case "x-forwarded-for": field(.forwardedFor, 1, directive)
            case "host": field(.site, 1, directive)
            default: field(.skip, 0, directive)
            }
        case "C":
            guard let param, !param.isEmpty else {
                throw Self.error("directive \(directive) needs a {cookie name}")
            }
            field(.cookie, 1, directive)
        default:
            throw Self.error("unsupported directive \(directive) in Apache LogFormat")
        }
    }

    private mutating func apacheTime(_ param: String?, directive: String) throws(VeilError) {
        guard var format = param else {
            // %t writes its own brackets.
            literal(UInt8(ascii: "["))
            field(.timeCLF, 1, directive)
            literal(UInt8(ascii: "]"))
            return
        }
        if format.hasPrefix("begin:") {
            format.removeFirst(6)
        } else if format.hasPrefix("end:") {
            format.removeFirst(4)
        }
        switch format {
        case "%d/%b/%Y:%H:%M:%S %z": field(.timeCLF, 1, directive)
        case "%Y-%m-%dT%H:%M:%S%z", "%FT%T%z", "%Y-%m-%dT%H:%M:%S", "%FT%T", "%Y-%m-%d %H:%M:%S", "%F %T",
            "%Y-%m-%d %H:%M:%S %z", "%F %T %z":
            // Without `%z`: the server's local time, read in the log's zone (`--log-tz`).
            field(.timeISO, 1, directive)
        case "sec": field(.epoch, 1, directive)
        case "msec": field(.epochMillis, 1, directive)
        case "usec": field(.epochMicros, 1, directive)
        case "msec_frac", "usec_frac": field(.skip, 0, directive)
        default:
            throw Self.error(
                "unsupported time directive \(directive): use %t, %{sec}t, %{msec}t, %{usec}t, "
                    + "%{%Y-%m-%dT%H:%M:%S%z}t, %{%Y-%m-%d %H:%M:%S %z}t or %{%Y-%m-%d %H:%M:%S}t")
        }
    }

    // MARK: nginx

    mutating func parseNginx(_ input: [UInt8]) throws(VeilError) {
        let bytes = try Self.unwrapNginxConfigString(input)
        guard !bytes.isEmpty else { throw Self.error("empty nginx log_format string") }
        let n = bytes.count
        var i = 0
        while i < n {
            let b = bytes[i]
            guard b == UInt8(ascii: "$") else {
                try checkLiteralByte(b)
                literal(b)
                i += 1
                continue
            }
            let start = i
            i += 1
            var nameStart = i
            var nameEnd: Int
            if i < n && bytes[i] == UInt8(ascii: "{") {
                nameStart = i + 1
                guard let close = bytes[nameStart...].firstIndex(of: UInt8(ascii: "}")) else {
                    throw Self.error(
                        "unterminated ${…} in variable \(Self.text(bytes[start..<n]))")
                }
                nameEnd = close
                i = close + 1
            } else {
                while i < n && Self.isNameByte(bytes[i]) { i += 1 }
                nameEnd = i
            }
            let name = Self.text(bytes[nameStart..<nameEnd])
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
                throw Self.error("invalid variable name after $ in nginx log_format")
            }
            try nginxVariable(name.lowercased(), directive: "$" + name)
        }
        flushLiteral()
    }

    private mutating func nginxVariable(_ name: String, directive: String) throws(VeilError) {
        switch name {
        case "remote_addr": field(.address, 3, directive)
        case "realip_remote_addr": field(.address, 1, directive)
        case "binary_remote_addr":
            throw Self.error("variable \(directive) is binary and cannot be parsed from text")
        case "remote_user": field(.user, 1, directive)
        case "time_local": field(.timeCLF, 1, directive)
        case "time_iso8601": field(.timeISO, 1, directive)
        case "msec": field(.epoch, 1, directive)
        case "request": field(.request, 1, directive)
        case "request_method": field(.method, 1, directive)
        case "request_uri": field(.target, 1, directive)
        case "uri", "document_uri": field(.path, 1, directive)
        case "is_args": field(.isArgs, 1, directive)
        case "args", "query_string": field(.args, 1, directive)
        case "server_protocol": field(.protocolVersion, 1, directive)
        case "status": field(.status, 1, directive)
        case "body_bytes_sent": field(.bytes, 2, directive)
        case "bytes_sent": field(.bytes, 1, directive)
        case "request_time": field(.durationSeconds, 1, directive)
        case "http_referer": field(.referrer, 1, directive)
        case "http_user_agent": field(.userAgent, 1, directive)
        case "http_x_forwarded_for", "proxy_add_x_forwarded_for":
            field(.forwardedFor, 1, directive)
        case "host": field(.site, 3, directive)
        case "server_name": field(.site, 2, directive)
        case "http_host": field(.site, 1, directive)
        default:
            if name.hasPrefix("cookie_") && name.count > 7 {
                field(.cookie, 1, directive)
            } else {
                field(.skip, 0, directive)
            }
        }
    }

    /// Undoes nginx.conf quoting when the string is one or more quoted segments
    /// (`'…' "…"`, optionally ending in `;`); returns other strings unchanged.
    static func unwrapNginxConfigString(_ input: [UInt8]) throws(VeilError) -> [UInt8] {
        var bytes = input[...]
        while let f = bytes.first, f == 0x20 || f == 0x09 { bytes.removeFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x09 || l == 0x0A || l == 0x0D {
            bytes.removeLast()
        }
        if bytes.last == UInt8(ascii: ";") {
            bytes.removeLast()
            while let l = bytes.last, l == 0x20 || l == 0x09 { bytes.removeLast() }
        }
        guard let first = bytes.first, first == UInt8(ascii: "'") || first == UInt8(ascii: "\""),
            let last = bytes.last, last == first, bytes.count >= 2
        else { return Array(input) }
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
                i += 1
                continue
            }
            guard b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") else {
                throw error("text outside quotes in a quoted nginx log_format string")
            }
            let quote = b
            i += 1
            var closed = false
            while i < bytes.endIndex {
                let c = bytes[i]
                if c == UInt8(ascii: "\\"), i + 1 < bytes.endIndex {
                    let e = bytes[i + 1]
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"):
                        out.append(e)
                    case UInt8(ascii: "t"): out.append(0x09)
                    default:
                        out.append(c)
                        out.append(e)
                    }
                    i += 2
                    continue
                }
                if c == quote {
                    closed = true
                    i += 1
                    break
                }
                out.append(c)
                i += 1
            }
            guard closed else { throw error("unterminated quote in nginx log_format string") }
        }
        return out
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b | 0x20) &- UInt8(ascii: "a") < 26 || b &- UInt8(ascii: "0") <= 9
            || b == UInt8(ascii: "_")
    }

    // MARK: Shared

    private func checkLiteralByte(_ b: UInt8) throws(VeilError) {
        if b < 0x20 && b != 0x09 {
            throw Self.error("control character in format string literal text")
        }
    }

    private mutating func flushLiteral() {
        if !pendingLiteral.isEmpty {
            items.append(.literal(pendingLiteral))
            pendingLiteral = []
        }
    }

    static func text(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    /// Whether a directive is the client's port: Apache `%{remote}p`, nginx `$remote_port`.
    static func isClientPort(_ directive: String) -> Bool {
        let d = directive.lowercased()
        return d == "%{remote}p" || d == "$remote_port"
    }

    /// The record slot a kind fills; kinds sharing a slot compete by priority.
    private static func slot(_ kind: FieldKind) -> Int? {
        switch kind {
        case .skip: nil
        case .address, .addressPort: 0
        case .user: 1
        case .site: 2
        case .forwardedFor: 3
        case .timeCLF, .timeISO, .epoch, .epochMillis, .epochMicros: 4
        case .request: 5
        case .method: 6
        case .target: 7
        case .path: 8
        case .query: 9
        case .isArgs: 10
        case .args: 11
        case .protocolVersion: 12
        case .status: 13
        case .bytes: 14
        case .referrer: 15
        case .userAgent: 16
        case .cookie: 17
        case .durationSeconds, .durationMillis, .durationMicros: 18
        case .durationSecondsPart: nil
        }
    }

    /// Resolves competing directives, decides how each field ends, and lays out the program.
    func compile() throws(VeilError) -> CompiledFormat {
        // Fields in order, with the literal before each and the final literal.
        var prefixes: [[UInt8]] = []
        var kinds: [FieldKind] = []
        var priorities: [Int] = []
        var directives: [String] = []
        var pending: [UInt8] = []
        for item in items {
            switch item {
            case .literal(let l): pending += l
            case .field(let k, let p, let d):
                prefixes.append(pending)
                pending = []
                kinds.append(k)
                priorities.append(p)
                directives.append(d)
            }
        }
        let suffix = pending
        guard !kinds.isEmpty else { throw Self.error("format string has no fields") }

        // `%a:%{remote}p`: one field whose port follows the last `:`, so that an IPv6 address
        // written without brackets (as AWS load balancers write it) is not cut at its first
        // colon.
        var i = 0
        while i + 1 < kinds.count {
            if kinds[i] == .address && prefixes[i + 1] == [UInt8(ascii: ":")]
                && Self.isClientPort(directives[i + 1])
            {
                kinds[i] = .addressPort
                directives[i] += ":" + directives[i + 1]
                prefixes.remove(at: i + 1)
                kinds.remove(at: i + 1)
                priorities.remove(at: i + 1)
                directives.remove(at: i + 1)
            }
            i += 1
        }

        // Winner per slot: highest priority, first occurrence on ties.
        var best: [Int: Int] = [:]
        for (i, k) in kinds.enumerated() {
            guard let s = Self.slot(k) else { continue }
            if let j = best[s], priorities[j] >= priorities[i] { continue }
            best[s] = i
        }
        var assigned = kinds
        for (i, k) in kinds.enumerated() {
            guard let s = Self.slot(k) else { continue }
            if best[s] != i { assigned[i] = .skip }
        }
        let has = Set(assigned)
        let requestParts: Set<FieldKind> = [
            .method, .target, .path, .query, .isArgs, .args, .protocolVersion,
        ]
        let targetParts: Set<FieldKind> = [.path, .query, .isArgs, .args]
        for i in assigned.indices {
            if has.contains(.request) && requestParts.contains(assigned[i]) {
                assigned[i] = .skip
            } else if has.contains(.target) && targetParts.contains(assigned[i]) {
                assigned[i] = .skip
            }
        }

        var literals: [UInt8] = []
        var prefixOffsets: [Int32] = []
        for p in prefixes {
            prefixOffsets.append(Int32(literals.count))
            literals += p
        }
        let suffixStart = Int32(literals.count)
        literals += suffix

        var steps: [FormatStep] = []
        let count = kinds.count
        for i in 0..<count {
            let prefix = prefixes[i]
            let isLast = i == count - 1
            let next = isLast ? suffix : prefixes[i + 1]
            let nextStart = isLast ? suffixStart : prefixOffsets[i + 1]
            var step = FormatStep(
                prefixStart: prefixOffsets[i], prefixCount: Int32(prefix.count),
                closeStart: nextStart, closeCount: Int32(next.count), kind: assigned[i],
                scan: .untilStop, stop1: 0x20, stop2: 0x09, skipBytes: 0, isFinalQuoted: false)
            if let f = next.first {
                step.stop1 = f
                step.stop2 = f
                if prefix.last == UInt8(ascii: "\"") && f == UInt8(ascii: "\"") {
                    step.scan = .quoted
                    step.isFinalQuoted = isLast && next == [UInt8(ascii: "\"")]
                }
            } else if !isLast {
                // Two fields with no text between them: only a path then its query.
                let (a, b) = (kinds[i], kinds[i + 1])
                switch (a, b) {
                case (.path, .query), (.path, .isArgs), (.path, .args):
                    step.stop1 = UInt8(ascii: "?")
                    // The path also ends where the text after the query begins.
                    var j = i + 1
                    while j < count - 1 && prefixes[j + 1].isEmpty { j += 1 }
                    let after = j == count - 1 ? suffix : prefixes[j + 1]
                    step.stop2 = after.first ?? 0x20
                case (.isArgs, .args):
                    step.scan = .optionalQuestionMark
                default:
                    throw Self.error(
                        "directives \(directives[i]) and \(directives[i + 1]) must be separated "
                            + "by literal text")
                }
            }
            if kinds[i] == .isArgs && step.scan != .optionalQuestionMark {
                step.scan = .optionalQuestionMark
            }
            if kinds[i] == .timeCLF && step.scan == .untilStop
                && (step.stop1 == 0x20 || step.stop2 == 0x20)
            {
                // `10/Oct/2000:13:55:36 -0700` contains a space at offset 20.
                step.skipBytes = 21
            }
            if kinds[i] == .timeISO && step.scan == .untilStop && (step.stop1 == 0x20 || step.stop2 == 0x20)
                && directives[i].contains(" ")
            {
                // `2000-10-10 13:55:36` contains a space at offset 10, `2000-10-10 13:55:36
                // -0700` (`%F %T %z`) another at offset 19.
                step.skipBytes = directives[i].hasSuffix(" %z}t") ? 20 : 11
            }
            (step.prefixWord, step.prefixMask) = FormatStep.word(prefix[...])
            (step.closeWord, step.closeMask) = FormatStep.word(next.dropFirst())
            steps.append(step)
        }

        var captured: Set<CompiledFormat.CapturedField> = []
        for k in assigned {
            switch k {
            case .skip: break
            case .address, .addressPort: captured.insert(.clientAddress)
            case .user: captured.insert(.user)
            case .site: captured.insert(.site)
            case .forwardedFor: captured.insert(.forwardedFor)
            case .timeCLF, .timeISO, .epoch, .epochMillis, .epochMicros:
                captured.insert(.timestamp)
            case .request:
                captured.formUnion([.method, .target, .protocolVersion])
            case .method: captured.insert(.method)
            case .target, .path, .query, .isArgs, .args: captured.insert(.target)
            case .protocolVersion: captured.insert(.protocolVersion)
            case .status: captured.insert(.status)
            case .bytes: captured.insert(.bytes)
            case .referrer: captured.insert(.referrer)
            case .userAgent: captured.insert(.userAgent)
            case .cookie: captured.insert(.cookie)
            case .durationSeconds, .durationMillis, .durationMicros, .durationSecondsPart: captured.insert(.duration)
            }
        }
        return CompiledFormat(
            name: name, steps: steps, literals: literals, suffixStart: suffixStart,
            suffixCount: Int32(suffix.count), capturedFields: captured)
    }
}
