/// What a container runtime or a syslog daemon writes around each line of a web server's log.
///
/// Found from an input's first lines (`detect`), whatever `--format` says; the format then
/// reads what follows the envelope, and the record's ranges still point into the whole line.
public enum LineEnvelope: Sendable, Equatable {
    /// The line is the server's own.
    case none
    /// Kubernetes' container log format (CRI: containerd, CRI-O), as in
    /// `/var/log/containers/*.log`: `2026-11-28T12:14:14.123456789Z stdout F <line>`. A line the
    /// container wrote to stderr (nginx's and Caddy's error logs go there) is skipped; a line the
    /// runtime split (over 16 KiB) is rejected: its `P` parts as truncated, its last part as
    /// whatever the format finds wrong with it (each line is read alone).
    case cri
    /// A syslog header, as rsyslog or syslog-ng write a message to a file (nginx's
    /// `access_log syslog:server=…`, Apache's `CustomLog "|/usr/bin/logger …"`): RFC 3164
    /// `Nov 28 12:14:14 web1 nginx: <line>` (with or without `<PRI>`), rsyslog's precise
    /// `2026-11-28T12:14:14.123456+01:00 web1 nginx: <line>`, or RFC 5424 `<190>1
    /// 2026-11-28T12:14:14.123Z web1 nginx 2314 - - <line>`. Messages of other programs (a tag
    /// other than `tag`, such as `CRON[812]:` in `/var/log/syslog`) are skipped, and so are
    /// syslogd's own (`-- MARK --`: a time and a host, no program). The message starts after
    /// the spaces that follow the header and a byte order mark; the host may be left out, and
    /// RFC 3164's time may have a fraction (`journalctl -o short-precise`).
    case syslog(tag: [UInt8])
    /// Docker's `json-file` logging driver (`/var/lib/docker/containers/*/*-json.log`):
    /// `{"log":"<line>\n","stream":"stdout","time":"2026-11-28T12:14:14.123456789Z"}`, the line
    /// a JSON string (un-escaped in place, so a line read where it was decoded is parsed as a
    /// copy). stderr lines are skipped; a line the daemon split (over 16 KiB) is rejected: its
    /// parts without `\n` as truncated, its last part as whatever the format finds wrong with it.
    case docker

    /// How one line is wrapped.
    enum Unwrapped: Equatable {
        /// The server's line starts at this offset.
        case line(Int)
        /// The server's line was un-escaped in place into `start..<end`.
        case decoded(start: Int, end: Int)
        /// Not a line of the server's log (stderr, another program): skipped.
        case skip
        case reject(RejectReason)

        /// Where the server's line lies in a line of `n` bytes; nil when there is none.
        func bounds(_ n: Int) -> (start: Int, end: Int)? {
            switch self {
            case .line(let start): (start, n)
            case .decoded(let start, let end): (start, end)
            case .skip, .reject: nil
            }
        }

        /// What the whole line is when it holds none of the server's line.
        var result: ParseResult {
            switch self {
            case .line, .decoded: .record
            case .skip: .skip
            case .reject(let reason): .reject(reason)
            }
        }
    }

    /// A name for reports: `cri`, `syslog (nginx)`; nil for `none`.
    public var label: String? {
        switch self {
        case .none: nil
        case .cri: "cri"
        case .docker: "docker"
        case .syslog(let tag): "syslog (\(String(decoding: tag, as: UTF8.self)))"
        }
    }

    /// Where the server's line lies in `p[0..<n]`, or what to do with the whole line; nil when
    /// the line must be un-escaped (`docker`) and `writable` is false.
    /// - Complexity: O(header length); O(line length) for `docker`.
    func unwrap(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, writable: Bool) -> Unwrapped? {
        switch self {
        case .none: return .line(0)
        case .docker: return Self.dockerLine(p, n, writable: writable)
        case .cri:
            guard let c = Self.criHeader(p, n) else { return .reject(.truncated) }
            if !c.stdout { return .skip }
            return c.partial ? .reject(.truncated) : .line(c.start)
        case .syslog(let tag):
            guard let h = Self.syslogHeader(p, n) else {
                // syslogd's own lines (`-- MARK --`, `last message repeated 3 times`): a time
                // and a host, no program.
                return Self.syslogTimeEnd(p, n) != nil ? .skip : .reject(.truncated)
            }
            let same =
                h.tag.count == tag.count
                && tag.withUnsafeBufferPointer { t in
                    (0..<t.count).allSatisfy { p[h.tag.lowerBound + $0] == t[$0] }
                }
            return same ? .line(h.start) : .skip
        }
    }

    /// The envelope of a sample of an input's first lines: the first of `candidates`.
    public static func detect(_ lines: [[UInt8]]) -> LineEnvelope {
        candidates(lines).first ?? .none
    }

    /// The envelopes a sample of an input's first lines may have, the likeliest first: Docker's
    /// or CRI when most of them have its header; syslog when most of them have a syslog header,
    /// one per program tag, the tag most of those lines have first (`FormatDetector` takes the
    /// first whose messages parse: in `/var/log/syslog` the cron lines may lead the file);
    /// none of them (an empty list) otherwise.
    public static func candidates(_ lines: [[UInt8]]) -> [LineEnvelope] {
        let sample = lines.filter { !$0.isEmpty }
        guard !sample.isEmpty else { return [] }
        let half = sample.count / 2 + 1
        let docker = Array(#"{"log":""#.utf8)
        if sample.count(where: { $0.starts(with: docker) }) >= half { return [.docker] }
        let cri = sample.count { $0.withUnsafeBufferPointer { criHeader($0.baseAddress!, $0.count) != nil } }
        if cri >= half { return [.cri] }
        var tags: [[UInt8]: Int] = [:]
        var headers = 0
        for line in sample {
            line.withUnsafeBufferPointer { b in
                guard let h = syslogHeader(b.baseAddress!, b.count) else { return }
                headers += 1
                tags[Array(b[h.tag]), default: 0] += 1
            }
        }
        guard headers >= half else { return [] }
        return tags.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key.lexicographicallyPrecedes($1.key)) }
            .map { .syslog(tag: $0.key) }
    }

    /// The server's lines of `lines` (with this envelope's header removed; others dropped), for
    /// detecting their format.
    func unwrapped(_ lines: [[UInt8]]) -> [[UInt8]] {
        lines.compactMap { line in
            var copy = line
            return copy.withUnsafeMutableBufferPointer { b -> [UInt8]? in
                guard let p = b.baseAddress else { return line }
                guard let bounds = unwrap(p, b.count, writable: true)?.bounds(b.count) else { return nil }
                return Array(b[bounds.start..<bounds.end])
            }
        }
    }

    // MARK: - Docker

    /// `{"log":"…","stream":"stdout"…}`: the `log` string un-escaped in place, without its
    /// `\n`.
    static func dockerLine(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, writable: Bool) -> Unwrapped? {
        let head = #"{"log":""#.utf8
        guard n > head.count, zip(UnsafeBufferPointer(start: p, count: head.count), head).allSatisfy({ $0 == $1 })
        else { return .reject(.badJSON) }
        let start = head.count
        // The string's end, and whether it has escapes to undo.
        var i = start
        var escaped = false
        while i < n && p[i] != UInt8(ascii: "\"") {
            if p[i] == UInt8(ascii: "\\") {
                escaped = true
                i += 1
            }
            i += 1
        }
        guard i < n else { return .reject(.truncated) }
        let close = i
        let stream = #","stream":""#.utf8
        guard n - close - 1 >= stream.count + 6,
            zip(UnsafeBufferPointer(start: p + close + 1, count: stream.count), stream).allSatisfy({ $0 == $1 })
        else { return .reject(.badJSON) }
        let name = UnsafeBufferPointer(start: p + close + 1 + stream.count, count: 6)
        if name.elementsEqual("stderr".utf8) { return .skip }
        guard name.elementsEqual("stdout".utf8) else { return .reject(.badJSON) }
        guard escaped else {
            // No escape: no `\n` either, a part of a split line.
            return .reject(.truncated)
        }
        guard writable else { return nil }
        guard let end = unescapeJSON(p, start, close) else { return .reject(.badJSON) }
        // The line's own newline ends it; a part of a split line has none.
        guard end > start, p[end - 1] == 0x0A else { return .reject(.truncated) }
        var last = end - 1
        if last > start && p[last - 1] == 0x0D { last -= 1 }
        return .decoded(start: start, end: last)
    }

    /// Undoes a JSON string's escapes in `p[start..<end]` (between its quotes) in place;
    /// returns the new end, or nil for an escape JSON does not have.
    static func unescapeJSON(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
        var r = start, w = start
        while r < end {
            guard p[r] == UInt8(ascii: "\\") else {
                p[w] = p[r]
                w += 1
                r += 1
                continue
            }
            guard let next = try? JSONEscape.undo(p, at: r, end: end, to: w) else { return nil }
            (r, w) = next
        }
        return w
    }

    // MARK: - Headers

    /// `TIMESTAMP STREAM TAGS `: an RFC 3339 time, `stdout` or `stderr`, and the tags, a
    /// `:`-separated list whose first is `F` (full) or `P` (partial); later tags (`F:x`) are
    /// ignored, as the kubelet ignores them.
    static func criHeader(_ p: UnsafePointer<UInt8>, _ n: Int) -> (start: Int, stdout: Bool, partial: Bool)? {
        var i = 0
        guard let time = word(p, n, &i), time.count >= 20, isDigit(p[0]), p[4] == UInt8(ascii: "-"),
            p[10] == UInt8(ascii: "T")
        else { return nil }
        guard let stream = nextWord(p, n, &i), let tag = nextWord(p, n, &i),
            tag.count == 1 || p[tag.lowerBound + 1] == UInt8(ascii: ":")
        else { return nil }
        let stdout = matches(p, stream, "stdout")
        guard stdout || matches(p, stream, "stderr") else { return nil }
        guard p[tag.lowerBound] == UInt8(ascii: "F") || p[tag.lowerBound] == UInt8(ascii: "P") else { return nil }
        // One space after the tag (an empty line ends there).
        return (min(i + 1, n), stdout, p[tag.lowerBound] == UInt8(ascii: "P"))
    }

    /// A syslog header's end and the program's tag (`nginx` of `nginx[2314]:`). The message
    /// starts after the spaces that follow the header and a UTF-8 byte order mark (RFC 5424
    /// allows one).
    static func syslogHeader(_ p: UnsafePointer<UInt8>, _ n: Int) -> (start: Int, tag: Range<Int>)? {
        guard case (var i, let rfc5424)? = syslogTimeEnd(p, n) else { return nil }
        let tag: Range<Int>
        if rfc5424 {
            // RFC 5424: … HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG.
            guard nextWord(p, n, &i) != nil, let app = nextWord(p, n, &i), nextWord(p, n, &i) != nil,
                nextWord(p, n, &i) != nil, i + 1 < n, p[i] == 0x20
            else { return nil }
            i += 1
            if p[i] == UInt8(ascii: "-") {
                i += 1
            } else {
                // `[id param="value" …]` elements, `\]` escaped inside values.
                guard p[i] == UInt8(ascii: "[") else { return nil }
                while i < n && p[i] == UInt8(ascii: "[") {
                    i += 1
                    while i < n && p[i] != UInt8(ascii: "]") { i += p[i] == UInt8(ascii: "\\") ? 2 : 1 }
                    guard i < n else { return nil }
                    i += 1
                }
            }
            guard i == n || p[i] == 0x20 else { return nil }
            tag = app
        } else {
            // HOSTNAME TAG, where the tag is `name:` or `name[pid]:`; a sender may leave the
            // host out (no host name ends with `:`).
            guard let first = nextWord(p, n, &i) else { return nil }
            var tagWord = first
            if p[first.upperBound - 1] != UInt8(ascii: ":") {
                guard let second = nextWord(p, n, &i) else { return nil }
                tagWord = second
            }
            guard tagWord.count >= 2, p[tagWord.upperBound - 1] == UInt8(ascii: ":") else { return nil }
            var end = tagWord.lowerBound
            while end < tagWord.upperBound - 1 && p[end] != UInt8(ascii: "[") { end += 1 }
            guard end > tagWord.lowerBound else { return nil }
            tag = tagWord.lowerBound..<end
        }
        while i < n && p[i] == 0x20 { i += 1 }
        if i + 2 < n && p[i] == 0xEF && p[i + 1] == 0xBB && p[i + 2] == 0xBF { i += 3 }
        return (i, tag)
    }

    /// Where a syslog line's time ends (after a `<PRI>`, and RFC 5424's version): RFC 3164's
    /// `Mmm dd HH:MM:SS` (the day padded with a space; a fraction, as `journalctl -o
    /// short-precise` writes, allowed) or an RFC 3339 time; and whether the line is RFC 5424's.
    static func syslogTimeEnd(_ p: UnsafePointer<UInt8>, _ n: Int) -> (end: Int, rfc5424: Bool)? {
        var i = 0
        if n > 0 && p[0] == UInt8(ascii: "<") {
            i = 1
            while i < n && i <= 4 && isDigit(p[i]) { i += 1 }
            guard i > 1, i < n, p[i] == UInt8(ascii: ">") else { return nil }
            i += 1
        }
        let rfc5424 = i + 1 < n && p[i] == UInt8(ascii: "1") && p[i + 1] == 0x20
        if rfc5424 { i += 2 }
        if !rfc5424, i + 15 <= n, isLetter(p[i]), isLetter(p[i + 1]), isLetter(p[i + 2]), p[i + 3] == 0x20,
            p[i + 4] == 0x20 || isDigit(p[i + 4]), isDigit(p[i + 5]), p[i + 6] == 0x20, isDigit(p[i + 7]),
            isDigit(p[i + 8]), p[i + 9] == UInt8(ascii: ":"), p[i + 12] == UInt8(ascii: ":"), isDigit(p[i + 13]),
            isDigit(p[i + 14])
        {
            i += 15
            if i < n && p[i] == UInt8(ascii: ".") {
                i += 1
                while i < n && isDigit(p[i]) { i += 1 }
            }
            return (i, false)
        }
        let s = i
        guard let time = word(p, n, &i), time.count >= 19, isDigit(p[s]), p[s + 4] == UInt8(ascii: "-"),
            p[s + 10] == UInt8(ascii: "T")
        else { return nil }
        return (i, rfc5424)
    }

    /// The word after the one space at `i`, `i` moved to the space after it; nil when no space
    /// is there or the word is empty.
    private static func nextWord(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> Range<Int>? {
        guard i < n, p[i] == 0x20 else { return nil }
        i += 1
        return word(p, n, &i)
    }

    /// The word at `i`, `i` moved to the space after it; nil when it is empty.
    private static func word(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> Range<Int>? {
        let start = i
        while i < n && p[i] != 0x20 && p[i] >= 0x20 { i += 1 }
        return i > start ? start..<i : nil
    }

    private static func matches(_ p: UnsafePointer<UInt8>, _ r: Range<Int>, _ text: StaticString) -> Bool {
        r.count == text.utf8CodeUnitCount && (0..<r.count).allSatisfy { p[r.lowerBound + $0] == text.utf8Start[$0] }
    }

    private static func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") <= 9 }
    private static func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- UInt8(ascii: "a") < 26 }
}
