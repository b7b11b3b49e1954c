/// Picks a log format from the first lines of a file.
///
/// A first line that is a W3C directive (`#Software:`, `#Version:`, `#Date:`, `#Fields:`, …)
/// means W3C extended; one that is a CSV header row naming `time_micros`, or a quoted first line
/// when the sample reads as one, Google Cloud Storage usage logs; a first line starting with `{` (after blanks) means JSON lines
/// (access-log presets first, then the SendGrid and Mailgun e-mail presets: the one that reads
/// the most fields from the lines it parses wins, of those that read as many the one that
/// parses the most lines, then the first); otherwise every text preset is tried on the sample and the most
/// specific one that parses about 90% as many lines as the best wins (a combined line with a
/// cookie field also parses as plain combined, and a combined line as common, since text after
/// the last field is allowed: see `preferSpecific`). One extra quoted field is a cookie unless
/// it holds addresses or is empty on every line (`extraFieldHoldsAddresses`).
///
/// A sample of which no format parses a single line is not recognised
/// (`Detection.recognised`): reading it as the least bad guess would reject every line and
/// publish empty tables as if the input had no traffic.
public enum FormatDetector {
    /// The directives of W3C extended log files (the W3C draft's and those IIS writes).
    static let w3cDirectives = ["Software", "Version", "Date", "Fields", "Remark", "Start-Date", "End-Date"]
        .map { Array("#\($0):".utf8) }

    /// What the detector tries, for messages.
    static let triedFormats =
        "W3C extended, Google Cloud Storage usage logs, JSON lines (Caddy, Traefik, nginx, Cloudflare, SendGrid, Mailgun) or any of the text "
        + "formats "
        + textCandidates.joined(separator: ", ")

    /// Text presets: the AWS load balancers' (an ISO time in the first or second field, which
    /// no other preset parses), S3's (a CLF time in the third), HAProxy's (a CLF time with
    /// a fraction and no zone after `address:port`) and Squid's (an epoch time first), then the others from the most to the least
    /// specific.
    /// `traefik_clf` comes before the combined family's extra quoted fields: its lines also
    /// parse as `combined_cookie` (the user agent's field runs on to the quote that closes the
    /// router's name, and the server's URL is read as a cookie: every request one visitor).
    static let textCandidates = [
        "aws_alb", "aws_elb", "aws_s3", "haproxy", "squid", "traefik_clf", "vhost_combined", "vhost_common",
        "combined_cookie_xff", "combined_cookie", "combined_xff", "combined", "common",
    ]

    /// The detected format and how many of the sample lines it parsed (into a record, or, for
    /// an e-mail export, as an event of a kind veil does not count).
    public struct Detection {
        public var format: AnyLogFormat
        public var parsed: Int
        public var sampled: Int
        /// False when the sample has lines, none of them parses in any format and they are
        /// not W3C (whose directives name the format even before a data line).
        public var recognised: Bool
    }

    /// Whether `line` starts with a W3C directive's name and colon.
    static func isW3CDirective(_ line: [UInt8]) -> Bool {
        w3cDirectives.contains { line.starts(with: $0) }
    }

    /// `detect` on the lines after their envelope (`LineEnvelope.detect`: a container runtime's
    /// or syslog's header), the format set to read after it. HAProxy's lines keep their syslog
    /// header: `haproxy` reads it.
    ///
    /// Of several syslog tags (`LineEnvelope.candidates`), the one whose messages parse best
    /// (the most lines, ties to the tag more lines have): cron's lines may lead a syslog file.
    public static func detectEnveloped(_ lines: [[UInt8]]) -> Detection {
        var best: Detection? = nil
        for envelope in LineEnvelope.candidates(lines) {
            var detection = detect(envelope.unwrapped(lines))
            if case .text(let f) = detection.format, f.readsHAProxyLog { return detect(lines) }
            detection.format.envelope = envelope
            if best == nil || detection.recognised && detection.parsed > best!.parsed { best = detection }
        }
        return best ?? detect(lines)
    }

    /// The envelope `format` (named with `--format`) reads `lines` after: of
    /// `LineEnvelope.candidates`, the one whose lines it parses the most of (ties to the first);
    /// none when the lines have no envelope.
    public static func envelope(for format: AnyLogFormat, _ lines: [[UInt8]]) -> LineEnvelope {
        let candidates = LineEnvelope.candidates(lines)
        guard candidates.count > 1 else { return candidates.first ?? .none }
        var best = (envelope: candidates[0], parsed: -1)
        for envelope in candidates {
            var f = format
            f.envelope = envelope
            let parsed: Int
            switch f {
            case .text(var t): parsed = count(&t, lines)
            case .json(var j): parsed = count(&j, lines)
            case .w3c(var w): parsed = count(&w, lines)
            }
            if parsed > best.parsed { best = (envelope, parsed) }
        }
        return best.envelope
    }

    /// Detects a format from sample lines (each without its terminator).
    public static func detect(_ lines: [[UInt8]]) -> Detection {
        let sample = lines.filter { !$0.isEmpty }
        let first = sample.first ?? []
        if isW3CDirective(first) {
            var f = W3CFormat()
            let n = count(&f, sample)
            return Detection(format: .w3c(f), parsed: n, sampled: sample.count, recognised: true)
        }
        if first.first == UInt8(ascii: "\"") || W3CFormat.isGCSHeader(first) {
            var f = W3CFormat.gcsUsage()
            let n = count(&f, sample)
            // (A first line that is the end of a cut line may start with a quote too: when no
            // line reads as a usage log, the other formats are tried.)
            if n > 0 || W3CFormat.isGCSHeader(first) {
                return Detection(format: .w3c(W3CFormat.gcsUsage()), parsed: n, sampled: sample.count, recognised: true)
            }
        }
        // JSON lines: one object per line, or an array of objects (a webhook's batch of
        // events), judged by its first element; a text line may start with `[` too.
        let opening = first.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }.prefix(2)
        if opening.first == UInt8(ascii: "{") || opening.elementsEqual(Array("[{".utf8)) {
            // The preset that reads the most fields from the lines it parses, then the one that
            // parses the most lines; ties go to the first (a server's own keys before the
            // union). A line needs only a timestamp to parse: a custom nginx format keyed `time`
            // parses as Traefik's (whose timestamp key that is) with nothing else read, and a
            // preset that reads no status parses a line whose status is bad, which the right
            // one rejects — so lines parsed alone cannot decide.
            var best: (format: AnyLogFormat, parsed: Int, fields: Int)? = nil
            let candidates =
                [JSONLinesFormat.Preset.caddy, .traefik, .nginx, .cloudflare, .auto].map { JSONLinesFormat(preset: $0) }
                + JSONLinesFormat.EmailPreset.allCases.map { JSONLinesFormat(emailPreset: $0) }
            for candidate in candidates {
                var f = candidate
                var fields = 0
                let n = count(&f, sample, fields: &fields) { !$0.recipient.isEmpty }
                if best == nil || fields > best!.fields || (fields == best!.fields && n > best!.parsed) {
                    best = (.json(candidate), n, fields)
                }
            }
            return Detection(
                format: best!.format, parsed: best!.parsed, sampled: sample.count, recognised: best!.parsed > 0)
        }
        // Records decide. Only when no preset reads a single record do the lines a preset skips
        // after matching them count for it (a load balancer's TCP connections, S3's lifecycle
        // operations, Traefik's requests without a response): a file may hold nothing else.
        func parsedCounts(withSkipped: Bool) -> [(name: String, parsed: Int)] {
            textCandidates.map { name in
                guard var f = TextFormat.preset(name) else { return (name, 0) }
                return (name, count(&f, sample) { withSkipped && $0.timestamp != 0 })
            }
        }
        var counts = parsedCounts(withSkipped: false)
        if counts.allSatisfy({ $0.parsed == 0 }) { counts = parsedCounts(withSkipped: true) }
        let chosen = preferSpecific(counts)
        var name = chosen.name
        // One extra quoted field parses the same as a cookie or as X-Forwarded-For: look at it.
        if name == "combined_cookie" && extraFieldHoldsAddresses(sample) { name = "combined_xff" }
        return Detection(
            format: .text(TextFormat.preset(name)!), parsed: chosen.parsed, sampled: sample.count,
            recognised: chosen.parsed > 0 || sample.isEmpty)
    }

    /// Of candidates in order from the most to the least specific, with the sample lines each
    /// parsed: the most specific that parsed some, and at least as many as the best one did
    /// less a tenth of them (at least one line less: a short sample counts too).
    ///
    /// A less specific format parses every line a more specific one does (text after its last
    /// field is allowed), plus lines that lack the extra fields: a combined log with one line
    /// cut short after its size field parses one line more as `common`. Reading the whole file
    /// as `common` would drop every line's user agent and referrer (and count every request as
    /// a bot's, for want of a user agent); reading it as `combined` rejects that one line.
    static func preferSpecific(_ counts: [(name: String, parsed: Int)]) -> (name: String, parsed: Int) {
        let best = counts.map(\.parsed).max() ?? 0
        let least = best - max(1, best / 10)
        return counts.first { $0.parsed > 0 && $0.parsed >= least } ?? counts[0]
    }

    /// True when most sample lines' extra quoted field is an address list (X-Forwarded-For),
    /// or when no line has a value there (`"-"` everywhere): nginx's default `main` format
    /// ends with `"$http_x_forwarded_for"`, and a cookie field read as one is left alone
    /// (no address), where a forwarded-for list read as cookies would make visitors of
    /// proxy chains.
    static func extraFieldHoldsAddresses(_ lines: [[UInt8]]) -> Bool {
        guard var f = TextFormat.preset("combined_cookie") else { return false }
        var record = LogRecord()
        var present = 0
        var addresses = 0
        for line in lines {
            var copy = line
            copy.withUnsafeMutableBufferPointer { buf in
                guard f.parse(buf, into: &record) == .record, !record.cookie.isEmpty else { return }
                present += 1
                if IPAddress.firstClientRange(inForwardedFor: record.cookie.slice(UnsafeBufferPointer(buf))) != nil {
                    addresses += 1
                }
            }
        }
        return present == 0 || addresses * 2 > present
    }

    /// The lines `format` parses into records, and the lines it skips when `ownSkip` says the
    /// skipped line is the format's own (an e-mail export's `processed` or `accepted` events,
    /// which can fill a whole sample before the first open).
    private static func count<F: LogFormat>(
        _ format: inout F, _ lines: [[UInt8]], ownSkip: (LogRecord) -> Bool = { _ in false }
    ) -> Int {
        var fields = 0
        return count(&format, lines, fields: &fields, ownSkip: ownSkip)
    }

    /// `count`, adding to `fields` the fields each parsed record has (`recordFields`).
    private static func count<F: LogFormat>(
        _ format: inout F, _ lines: [[UInt8]], fields: inout Int, ownSkip: (LogRecord) -> Bool = { _ in false }
    ) -> Int {
        var record = LogRecord()
        var n = 0
        // One scratch copy for every line (a parser may rewrite its line): the sample is parsed
        // once per candidate format, and a copy per line would allocate that many times.
        var scratch: [UInt8] = []
        scratch.reserveCapacity(lines.reduce(0) { max($0, $1.count) })
        for line in lines {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: line)
            let r = scratch.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
            if r == .record || (r == .skip && ownSkip(record)) {
                n += 1
                fields += recordFields(record)
            }
        }
        return n
    }

    /// How many of a record's fields a format read, of those that identify a request or an
    /// e-mail event: client address, method, target, status, referrer, user agent, site, cookie,
    /// forwarded-for list, recipient, campaign.
    static func recordFields(_ r: LogRecord) -> Int {
        func one(_ range: ByteRange) -> Int { range.isEmpty ? 0 : 1 }
        return (r.status != 0 ? 1 : 0) + one(r.clientAddress) + one(r.method) + one(r.target) + one(r.referrer)
            + one(r.userAgent) + one(r.site) + one(r.cookie) + one(r.forwardedFor) + one(r.recipient)
            + one(r.campaign)
    }
}
