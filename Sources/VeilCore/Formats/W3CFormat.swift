/// W3C extended log format, as IIS writes it.
///
/// Directive lines start with `#`. `#Fields:` names the columns of the data lines that follow
/// (`#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip
/// cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken`); a later
/// `#Fields:` (IIS writes one after each restart) replaces the layout, which is why the parser
/// is stateful. `#Date:` supplies the date when a layout has `time` but no `date` column.
/// Other directives (`#Software:`, `#Version:`, `#Remark:`, …) are skipped.
///
/// Data lines: fields separated by one space or tab (trailing spaces are ignored); `-` is an
/// empty field. Times are UTC (the W3C draft says so and IIS follows it). Columns veil reads,
/// names matched without regard to case:
///
/// | column | record field |
/// |---|---|
/// | `date`, `time` (`.fff` fraction → milliseconds) | `timestamp`, `milliseconds` |
/// | `c-ip` | `clientAddress` |
/// | `cs-username` | `user` |
/// | `cs-method` | `method` |
/// | `cs-uri-stem` + `cs-uri-query`, else `cs-uri` | `target` |
/// | `cs-version` | `protocolVersion` |
/// | `sc-status` | `status` (100...599) |
/// | `sc-bytes` | `bytes` |
/// | `cs-host`, `cs(Host)` | `site` |
/// | `cs(User-Agent)` | `userAgent`, with `+` turned into spaces in place |
/// | `cs(Referer)` | `referrer`, bytes as written (`+` kept: referrers only keep their host) |
/// | `cs(Cookie)` | `cookie`: the value of the cookie named `cookieName`, if one is set |
/// | `x-forwarded-for`, `cs(X-Forwarded-For)` | `forwardedFor` |
///
/// The target is assembled in place: when `cs-uri-query` directly follows `cs-uri-stem` (as in
/// every IIS layout) and is not `-`, the space between them becomes `?`. When the query column
/// does not directly follow the stem, the query is dropped (veil drops queries except
/// `utm_*` anyway).
///
/// Rejects: a data line before any `#Fields:` → `.noFieldsHeader`; fewer fields than the
/// layout → `.truncated`, more → `.literalMismatch`; a control byte → `.binaryGarbage`; no
/// `time`, or no date from a column or `#Date:` → `.missingField`; an invalid date or time →
/// `.badTimestamp`; `sc-status` not 100...599 → `.badStatus`; `sc-bytes` not digits → `.badBytes`.
/// A `#Fields:` line naming no field clears the layout and is rejected as `.noFieldsHeader`.
public struct W3CFormat: LogFormat {
    /// A column veil reads; `other` is kept only to count fields.
    enum Column: UInt8 {
        case other, date, time, clientIP, username, method, uriStem, uriQuery, uri, version
        case status, bytes, host, userAgent, referrer, cookie, forwardedFor
    }

    public var name: String { "w3c" }
    /// The cookie in `cs(Cookie)` whose value becomes `record.cookie`; empty when the cookie
    /// column is ignored (a whole cookie header is not a visitor id).
    public let cookieName: [UInt8]
    /// The current layout, empty before the first `#Fields:`.
    private var columns: [Column] = []
    /// The date of the last `#Date:` directive (`2000-10-10`), empty when none.
    private var directiveDate: [UInt8] = []

    /// Whether a `#Fields:` header has set the column layout.
    public var hasFieldsHeader: Bool { !columns.isEmpty }

    /// A parser with no layout yet.
    /// - Parameter cookieName: the cookie whose value in `cs(Cookie)` becomes `record.cookie`;
    ///   nil ignores the cookie column.
    public init(cookieName: String? = nil) {
        self.cookieName = Array((cookieName ?? "").utf8)
    }

    /// Parses a directive or a data line (see the type's documentation).
    /// - Parameters:
    ///   - line: the line without its terminator; `cs(User-Agent)` and the stem/query
    ///     separator are rewritten in place.
    ///   - record: reset, then filled with ranges into `line`.
    /// - Complexity: O(line length); no allocation for data lines.
    public mutating func parse(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult
    {
        record.reset()
        guard let p = line.baseAddress else { return .skip }
        var n = line.count
        while n > 0, p[n - 1] == UInt8(ascii: " ") || p[n - 1] == UInt8(ascii: "\t") { n -= 1 }
        if n == 0 { return .skip }
        if p[0] == UInt8(ascii: "#") {
            return directive(UnsafeBufferPointer(start: p, count: n))
        }
        if columns.isEmpty { return .reject(.noFieldsHeader) }
        let result = columns.withUnsafeBufferPointer { cols in
            dataLine(p, n, cols, into: &record)
        }
        if result != .record { record.reset() }
        return result
    }

    /// Splits a data line into the layout's columns and fills the record.
    private func dataLine(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ cols: UnsafeBufferPointer<Column>,
        into record: inout LogRecord
    ) -> ParseResult {
        var date = ByteRange.empty, time = ByteRange.empty
        var stem = ByteRange.empty, query = ByteRange.empty, uri = ByteRange.empty
        var status: ByteRange? = nil, bytes = ByteRange.empty, cookie = ByteRange.empty
        var field = 0
        var start = 0
        var j = 0
        while true {
            while j < n {
                let c = p[j]
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { break }
                if c < 0x20 || c == 0x7F { return .reject(.binaryGarbage) }
                j += 1
            }
            guard field < cols.count else { return .reject(.literalMismatch) }
            let r =
                j - start == 1 && p[start] == UInt8(ascii: "-") ? ByteRange.empty : ByteRange(start, j)
            switch cols[field] {
            case .other: break
            case .date: date = r
            case .time: time = r
            case .clientIP: record.clientAddress = r
            case .username: record.user = r
            case .method: record.method = r
            case .uriStem: stem = r
            case .uriQuery: query = r
            case .uri: uri = r
            case .version: record.protocolVersion = r
            case .status: status = r
            case .bytes: bytes = r
            case .host: record.site = r
            case .userAgent: record.userAgent = r
            case .referrer: record.referrer = r
            case .cookie: cookie = r
            case .forwardedFor: record.forwardedFor = r
            }
            field += 1
            if j >= n { break }
            j += 1
            start = j
        }
        if field < cols.count { return .reject(.truncated) }

        let line = UnsafeBufferPointer(start: UnsafePointer(p), count: n)
        // Time, with an optional fraction giving milliseconds.
        guard !time.isEmpty else { return .reject(.missingField) }
        var timeEnd = Int(time.start)
        while timeEnd < Int(time.end), p[timeEnd] != UInt8(ascii: ".") { timeEnd += 1 }
        if timeEnd < Int(time.end) {
            var ms = 0, digits = 0
            for k in (timeEnd + 1)..<Int(time.end) {
                let d = p[k] &- UInt8(ascii: "0")
                guard d <= 9 else { return .reject(.badTimestamp) }
                if digits < 3 { ms = ms * 10 + Int(d) }
                digits += 1
            }
            guard digits > 0 else { return .reject(.badTimestamp) }
            if digits == 1 { ms *= 100 } else if digits == 2 { ms *= 10 }
            record.milliseconds = Int16(ms)
        }
        let timeBytes = UnsafeBufferPointer(rebasing: line[Int(time.start)..<timeEnd])
        let seconds: Int64?
        if !date.isEmpty {
            seconds = Timestamp.parseDateAndTime(date: date.slice(line), time: timeBytes)
        } else if !directiveDate.isEmpty {
            seconds = directiveDate.withUnsafeBufferPointer {
                Timestamp.parseDateAndTime(date: $0, time: timeBytes)
            }
        } else {
            return .reject(.missingField)
        }
        guard let seconds else { return .reject(.badTimestamp) }
        record.timestamp = seconds

        if let status {
            guard let s = JSONLinesFormat.status(status.slice(line)) else { return .reject(.badStatus) }
            record.status = s
        }
        if !bytes.isEmpty {
            guard let b = JSONLinesFormat.integer(bytes.slice(line)) else { return .reject(.badBytes) }
            record.bytes = b
        }

        if !stem.isEmpty {
            if !query.isEmpty && query.start == stem.end + 1 {
                p[Int(stem.end)] = UInt8(ascii: "?")
                record.target = ByteRange(start: stem.start, end: query.end)
            } else {
                record.target = stem
            }
        } else {
            record.target = uri
        }
        for k in Int(record.userAgent.start)..<Int(record.userAgent.end)
        where p[k] == UInt8(ascii: "+") {
            p[k] = UInt8(ascii: " ")
        }
        if !cookie.isEmpty && !cookieName.isEmpty {
            record.cookie = cookieName.withUnsafeBufferPointer {
                CookieHeader.value(named: $0, in: line, cookie, plusIsSpace: true)
            }
        }
        return .record
    }

    // MARK: - Directives

    /// Handles a `#` line: `#Fields:` sets the layout, `#Date:` the fallback date.
    private mutating func directive(_ line: UnsafeBufferPointer<UInt8>) -> ParseResult {
        if let rest = Self.afterPrefix("#fields:", line) {
            columns.removeAll(keepingCapacity: true)
            var i = rest
            while i < line.count {
                while i < line.count, line[i] == UInt8(ascii: " ") || line[i] == UInt8(ascii: "\t") {
                    i += 1
                }
                let s = i
                while i < line.count, line[i] != UInt8(ascii: " "), line[i] != UInt8(ascii: "\t") {
                    i += 1
                }
                if i > s { columns.append(Self.column(UnsafeBufferPointer(rebasing: line[s..<i]))) }
            }
            return columns.isEmpty ? .reject(.noFieldsHeader) : .skip
        }
        if let rest = Self.afterPrefix("#date:", line) {
            var i = rest
            while i < line.count, line[i] == UInt8(ascii: " ") { i += 1 }
            let s = i
            while i < line.count, line[i] != UInt8(ascii: " "), line[i] != UInt8(ascii: "\t") { i += 1 }
            directiveDate.removeAll(keepingCapacity: true)
            directiveDate.append(contentsOf: line[s..<i])
        }
        return .skip
    }

    /// The index after `prefix` (lower-case ASCII) when `line` starts with it in any case.
    private static func afterPrefix(_ prefix: StaticString, _ line: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = prefix.utf8CodeUnitCount
        guard line.count >= n else { return nil }
        let q = prefix.utf8Start
        for k in 0..<n where Self.lower(line[k]) != q[k] { return nil }
        return n
    }

    @inline(__always)
    private static func lower(_ c: UInt8) -> UInt8 {
        c &- UInt8(ascii: "A") < 26 ? c | 0x20 : c
    }

    /// Column names veil reads, lower case.
    private static let names: [(name: [UInt8], column: Column)] =
        ([
            ("date", .date), ("time", .time), ("c-ip", .clientIP), ("cs-username", .username),
            ("cs-method", .method), ("cs-uri-stem", .uriStem), ("cs-uri-query", .uriQuery),
            ("cs-uri", .uri), ("cs-version", .version), ("sc-status", .status), ("sc-bytes", .bytes),
            ("cs-host", .host), ("cs(host)", .host), ("cs(user-agent)", .userAgent),
            ("cs(referer)", .referrer), ("cs(cookie)", .cookie), ("x-forwarded-for", .forwardedFor),
            ("cs(x-forwarded-for)", .forwardedFor),
        ] as [(String, Column)]).map { (Array($0.0.utf8), $0.1) }

    /// The column a `#Fields:` name stands for.
    static func column(_ name: UnsafeBufferPointer<UInt8>) -> Column {
        outer: for entry in names where entry.name.count == name.count {
            for k in 0..<name.count where lower(name[k]) != entry.name[k] { continue outer }
            return entry.column
        }
        return .other
    }
}
