/// What a container runtime or a syslog daemon writes around each line of a web server's log.
///
/// Found from an input's first lines (`detect`), whatever `--format` says; the format then
/// reads what follows the envelope, and the record's ranges still point into the whole line.
public enum LineEnvelope: Sendable, Equatable {
    /// The line is the server's own.
    case none
    /// Kubernetes' container log format (CRI: containerd, CRI-O), as in
    /// `/var/log/containers/*.log`: `2026-11-28T12:14:14.123456789Z stdout F <line>`. A line the
    /// container wrote to stderr (nginx's and Caddy's error logs go there) is skipped; a part of
    /// a line the runtime split (`P`: a line over 16 KiB) is rejected as truncated, as is the
    /// rest of it.
    case cri
    /// A syslog header, as rsyslog or syslog-ng write a message to a file (nginx's
    /// `access_log syslog:server=…`, Apache's `CustomLog "|/usr/bin/logger …"`): RFC 3164
    /// `Nov 28 12:14:14 web1 nginx: <line>` (with or without `<PRI>`), rsyslog's precise
    /// `2026-11-28T12:14:14.123456+01:00 web1 nginx: <line>`, or RFC 5424 `<190>1
    /// 2026-11-28T12:14:14.123Z web1 nginx 2314 - - <line>`. Messages of other programs (a tag
    /// other than `tag`, such as `CRON[812]:` in `/var/log/syslog`) are skipped.
    case syslog(tag: [UInt8])

    /// How one line is wrapped.
    enum Unwrapped: Equatable {
        /// The server's line starts at this offset.
        case line(Int)
        /// Not a line of the server's log (stderr, another program): skipped.
        case skip
        case reject(RejectReason)
    }

    /// A name for reports: `cri`, `syslog (nginx)`; nil for `none`.
    public var label: String? {
        switch self {
        case .none: nil
        case .cri: "cri"
        case .syslog(let tag): "syslog (\(String(decoding: tag, as: UTF8.self)))"
        }
    }

    /// Where the server's line starts in `p[0..<n]`, or what to do with the whole line.
    /// - Complexity: O(header length).
    func unwrap(_ p: UnsafePointer<UInt8>, _ n: Int) -> Unwrapped {
        switch self {
        case .none: return .line(0)
        case .cri:
            guard let c = Self.criHeader(p, n) else { return .reject(.truncated) }
            if !c.stdout { return .skip }
            return c.partial ? .reject(.truncated) : .line(c.start)
        case .syslog(let tag):
            guard let h = Self.syslogHeader(p, n) else { return .reject(.truncated) }
            let same =
                h.tag.count == tag.count
                && tag.withUnsafeBufferPointer { t in
                    (0..<t.count).allSatisfy { p[h.tag.lowerBound + $0] == t[$0] }
                }
            return same ? .line(h.start) : .skip
        }
    }

    /// The envelope of a sample of an input's first lines: CRI when most of them have its
    /// header, syslog when most of them have a syslog header (the tag most of those have), else
    /// none.
    public static func detect(_ lines: [[UInt8]]) -> LineEnvelope {
        let sample = lines.filter { !$0.isEmpty }
        guard !sample.isEmpty else { return .none }
        let half = sample.count / 2 + 1
        let cri = sample.count { $0.withUnsafeBufferPointer { criHeader($0.baseAddress!, $0.count) != nil } }
        if cri >= half { return .cri }
        var tags: [[UInt8]: Int] = [:]
        var headers = 0
        for line in sample {
            line.withUnsafeBufferPointer { b in
                guard let h = syslogHeader(b.baseAddress!, b.count) else { return }
                headers += 1
                tags[Array(b[h.tag]), default: 0] += 1
            }
        }
        guard headers >= half,
            let tag = tags.max(by: {
                $0.value < $1.value || ($0.value == $1.value && $0.key.lexicographicallyPrecedes($1.key))
            })
        else { return .none }
        return .syslog(tag: tag.key)
    }

    /// The server's lines of `lines` (with this envelope's header removed; others dropped), for
    /// detecting their format.
    func unwrapped(_ lines: [[UInt8]]) -> [[UInt8]] {
        lines.compactMap { line in
            line.withUnsafeBufferPointer { b -> [UInt8]? in
                guard let p = b.baseAddress else { return line }
                if case .line(let start) = unwrap(p, b.count) { return Array(b[start...]) }
                return nil
            }
        }
    }

    // MARK: - Headers

    /// `TIMESTAMP STREAM TAG `: an RFC 3339 time, `stdout` or `stderr`, `F` (full) or `P`
    /// (partial).
    static func criHeader(_ p: UnsafePointer<UInt8>, _ n: Int) -> (start: Int, stdout: Bool, partial: Bool)? {
        var i = 0
        guard let time = word(p, n, &i), time.count >= 20, isDigit(p[0]), p[4] == UInt8(ascii: "-"),
            p[10] == UInt8(ascii: "T")
        else { return nil }
        guard let stream = nextWord(p, n, &i), let tag = nextWord(p, n, &i), tag.count == 1 else { return nil }
        let stdout = matches(p, stream, "stdout")
        guard stdout || matches(p, stream, "stderr") else { return nil }
        guard p[tag.lowerBound] == UInt8(ascii: "F") || p[tag.lowerBound] == UInt8(ascii: "P") else { return nil }
        // One space after the tag (an empty line ends there).
        return (min(i + 1, n), stdout, p[tag.lowerBound] == UInt8(ascii: "P"))
    }

    /// A syslog header's end and the program's tag (`nginx` of `nginx[2314]:`).
    static func syslogHeader(_ p: UnsafePointer<UInt8>, _ n: Int) -> (start: Int, tag: Range<Int>)? {
        var i = 0
        if n > 0 && p[0] == UInt8(ascii: "<") {
            i = 1
            while i < n && i <= 4 && isDigit(p[i]) { i += 1 }
            guard i > 1, i < n, p[i] == UInt8(ascii: ">") else { return nil }
            i += 1
        }
        if i + 1 < n && p[i] == UInt8(ascii: "1") && p[i + 1] == 0x20 {
            // RFC 5424: VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG.
            i += 2
            guard word(p, n, &i) != nil, nextWord(p, n, &i) != nil, let app = nextWord(p, n, &i),
                nextWord(p, n, &i) != nil, nextWord(p, n, &i) != nil, i + 1 < n, p[i] == 0x20
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
            guard i < n, p[i] == 0x20 else { return nil }
            return (i + 1, app)
        }
        // RFC 3164's `Mmm dd HH:MM:SS` (the day padded with a space), or an RFC 3339 time.
        if i + 15 < n, isLetter(p[i]), isLetter(p[i + 1]), isLetter(p[i + 2]), p[i + 3] == 0x20,
            p[i + 4] == 0x20 || isDigit(p[i + 4]), isDigit(p[i + 5]), p[i + 6] == 0x20, isDigit(p[i + 7]),
            p[i + 9] == UInt8(ascii: ":"), p[i + 12] == UInt8(ascii: ":"), isDigit(p[i + 14]), p[i + 15] == 0x20
        {
            i += 15
        } else {
            let s = i
            guard let time = word(p, n, &i), time.count >= 19, isDigit(p[s]), p[s + 4] == UInt8(ascii: "-"),
                p[s + 10] == UInt8(ascii: "T")
            else { return nil }
        }
        // HOSTNAME TAG: where the tag is `name:` or `name[pid]:`.
        guard nextWord(p, n, &i) != nil, let tagWord = nextWord(p, n, &i), tagWord.count >= 2,
            p[tagWord.upperBound - 1] == UInt8(ascii: ":"), i < n
        else { return nil }
        var end = tagWord.lowerBound
        while end < tagWord.upperBound - 1 && p[end] != UInt8(ascii: "[") { end += 1 }
        guard end > tagWord.lowerBound else { return nil }
        return (i + 1, tagWord.lowerBound..<end)
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
