import CByteScan

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
/// | `x-host-header`, else `cs-host`, `cs(Host)` | `site` (CloudFront: `x-host-header` is the host the viewer asked for, `cs(Host)` the distribution's own domain) |
/// | `cs(User-Agent)` | `userAgent`, with `+` turned into spaces (IIS) and `%XX` decoded (CloudFront) in place |
/// | `cs(Referer)` | `referrer`, bytes as written (`+` kept: referrers only keep their host) |
/// | `cs(Cookie)` | `cookie`: the value of the cookie named `cookieName`, if one is set |
/// | `x-forwarded-for`, `cs(X-Forwarded-For)` | `forwardedFor` |
/// | `time-taken` | `duration`: milliseconds (IIS), or seconds when written with a fraction (CloudFront's `0.082`) |
///
/// The target is assembled in place: when `cs-uri-query` directly follows `cs-uri-stem` (as in
/// every IIS layout) and is not `-`, the space between them becomes `?`. When the query column
/// does not directly follow the stem, the query is dropped, and with it the request's web
/// campaign tags (`utm_source`, …); page paths keep no query parameter by default.
///
/// Rejects: a data line before any `#Fields:` → `.noFieldsHeader`; fewer fields than the
/// layout → `.truncated`, more → `.literalMismatch`; a control byte → `.binaryGarbage`; no
/// `time`, or no date from a column or `#Date:` → `.missingField`; an invalid date or time →
/// `.badTimestamp`; `sc-status` not 100...599 → `.badStatus`; `sc-bytes` not digits → `.badBytes`.
/// A `#Fields:` line naming no field clears the layout and is rejected as `.noFieldsHeader`.
///
/// The same type reads Google Cloud Storage usage logs (`gcs`, `W3CFormat+GCS.swift`), whose
/// header row names their columns too.
public struct W3CFormat: LogFormat {
    /// A line's columns are those of the last `#Fields` directive (or GCS header) before it.
    public static var parsesLinesAlone: Bool { false }

    /// How lines are written: W3C extended (`#Fields:`, fields between spaces) or Google Cloud
    /// Storage usage logs (a CSV header row, quoted fields between commas).
    enum Dialect { case w3c, gcs }

    /// A column veil reads; `other` is kept only to count fields.
    enum Column: UInt8, CaseIterable {
        case other, date, time, clientIP, username, method, uriStem, uriQuery, uri, version
        case status, bytes, host, userAgent, referrer, cookie, forwardedFor, hostHeader
        /// GCS: `time_micros` (microseconds since 1970) and `cs_bucket` (the site).
        case epochMicros, bucket
        /// `time-taken`: milliseconds (IIS), or seconds with a fraction (CloudFront, `0.082`).
        case timeTaken
        /// GCS: `time_taken_micros`.
        case timeTakenMicros

        /// How many kinds there are: raw values are 0..<count (cases in order, none given a
        /// value), so each kind has a slot in `dataLine`'s ranges.
        static let count = allCases.count
    }

    public var name: String { dialect == .gcs ? "gcs" : "w3c" }
    var dialect = Dialect.w3c
    /// What is written around each line (a container runtime's or syslog's header): the line
    /// is read after it.
    public var envelope = LineEnvelope.none
    /// The cookie in `cs(Cookie)` whose value becomes `record.cookie`; empty when the cookie
    /// column is ignored (a whole cookie header is not a visitor id).
    public let cookieName: [UInt8]
    /// The current layout, empty before the first `#Fields:`.
    var columns: [Column] = []
    /// The date of the last `#Date:` directive (`2000-10-10`), empty when none.
    private var directiveDate: [UInt8] = []
    /// Whether the layout has an `sc-status` column (a `-` there is a bad status, not none).
    var hasStatusColumn = false
    var hasUserAgentColumn = false
    /// Whether a `#Fields:` layout without `cs(User-Agent)` was read (`FileReport.userAgentsLogged`).
    var sawLayoutWithoutUserAgent = false
    /// The last `date` column parsed: the lines of a file share a few dates.
    private var dates = DateCache()

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
        guard envelope != .none, let base = line.baseAddress else { return parseLine(line, into: &record) }
        // Safe: the line is writable, so the envelope never asks for a copy.
        let unwrapped = envelope.unwrap(base, line.count, writable: true)!
        guard let (start, end) = unwrapped.bounds(line.count) else {
            record.reset()
            return unwrapped.result
        }
        let result = parseLine(UnsafeMutableBufferPointer(rebasing: line[start..<end]), into: &record)
        record.shift(by: start)
        return result
    }

    /// Parses a line that is the log's own (no envelope).
    private mutating func parseLine(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult
    {
        record.reset()
        guard let p = line.baseAddress else { return .skip }
        var n = line.count
        while n > 0, p[n - 1] == UInt8(ascii: " ") || p[n - 1] == UInt8(ascii: "\t") { n -= 1 }
        if n == 0 { return .skip }
        if dialect == .gcs { return gcsLine(p, n, into: &record) }
        if p[0] == UInt8(ascii: "#") {
            return directive(UnsafeBufferPointer(start: p, count: n))
        }
        if columns.isEmpty { return .reject(.noFieldsHeader) }
        var dates = self.dates
        let result = columns.withUnsafeBufferPointer { cols in
            dataLine(p, n, cols, into: &record, dates: &dates)
        }
        self.dates = dates
        if result != .record { record.reset() }
        return result
    }

    /// Splits a data line into the layout's columns and fills the record.
    private func dataLine(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ cols: UnsafeBufferPointer<Column>,
        into record: inout LogRecord, dates: inout DateCache
    ) -> ParseResult {
        withUnsafeTemporaryAllocation(of: ByteRange.self, capacity: Column.count) { fields in
            // Safe: the allocation holds `Column.count` ranges.
            let ranges = fields.baseAddress!
            ranges.initialize(repeating: .empty, count: Column.count)
            defer { ranges.deinitialize(count: Column.count) }
            return dataLine(p, n, cols, ranges, into: &record, dates: &dates)
        }
    }

    /// `dataLine` with room for each column kind's range at `ranges[kind.rawValue]`.
    @inline(__always)
    private func dataLine(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ cols: UnsafeBufferPointer<Column>,
        _ ranges: UnsafeMutablePointer<ByteRange>, into record: inout LogRecord, dates: inout DateCache
    ) -> ParseResult {
        var field = 0
        var start = 0
        // The field ends (spaces, tabs, control bytes, DEL) of 64 bytes at a time, as a mask
        // taken in order: a field ends at the next set bit.
        var block = 0
        var stops = veil_field_stops64(p, n)
        while true {
            var j = n
            while true {
                if stops != 0 {
                    j = block &+ stops.trailingZeroBitCount
                    stops &= stops &- 1
                    break
                }
                block &+= 64
                if block >= n { break }
                stops = veil_field_stops64(p + block, n &- block)
            }
            if j < n && p[j] != UInt8(ascii: " ") && p[j] != UInt8(ascii: "\t") { return .reject(.binaryGarbage) }
            guard field < cols.count else { return .reject(.literalMismatch) }
            let r =
                j - start == 1 && p[start] == UInt8(ascii: "-") ? ByteRange.empty : ByteRange(start, j)
            // Each column kind's range in its slot (the last column of a kind wins): a store
            // per field, no branch on the kind.
            ranges[Int(cols[field].rawValue)] = r
            field += 1
            if j >= n { break }
            start = j &+ 1
        }
        if field < cols.count { return .reject(.truncated) }
        func range(_ c: Column) -> ByteRange { ranges[Int(c.rawValue)] }
        let date = range(.date), time = range(.time), stem = range(.uriStem), query = range(.uriQuery)
        let uri = range(.uri), bytes = range(.bytes), cookie = range(.cookie)
        let status: ByteRange? = hasStatusColumn ? range(.status) : nil
        record.clientAddress = range(.clientIP)
        record.user = range(.username)
        record.method = range(.method)
        record.protocolVersion = range(.version)
        let hostHeader = range(.hostHeader)
        record.site = hostHeader.isEmpty ? range(.host) : hostHeader
        record.userAgent = range(.userAgent)
        record.userAgentLogged = hasUserAgentColumn
        record.referrer = range(.referrer)
        record.forwardedFor = range(.forwardedFor)

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
        let days: Int64?
        if !date.isEmpty {
            days = dates.days(date.slice(line))
        } else if !directiveDate.isEmpty {
            days = directiveDate.withUnsafeBufferPointer { Timestamp.parseW3CDate($0) }
        } else {
            return .reject(.missingField)
        }
        guard let days, let seconds = Timestamp.parseW3CTime(timeBytes) else { return .reject(.badTimestamp) }
        record.timestamp = days * Timestamp.secondsPerDay + seconds

        if let status {
            guard let s = JSONLinesFormat.status(status.slice(line)) else { return .reject(.badStatus) }
            record.status = s
        }
        if !bytes.isEmpty {
            guard let b = JSONLinesFormat.integer(bytes.slice(line)) else { return .reject(.badBytes) }
            record.bytes = b
        }
        let taken = range(.timeTaken)
        if !taken.isEmpty {
            let text = taken.slice(line)
            record.duration =
                ServingTime.microseconds(text, unit: text.contains(UInt8(ascii: ".")) ? .seconds : .milliseconds) ?? -1
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
        Self.plusToSpace(p, Int(record.userAgent.start), Int(record.userAgent.end))
        // CloudFront percent-encodes the user agent (`%20` for a space).
        let agentEnd = Self.percentDecode(p, Int(record.userAgent.start), Int(record.userAgent.end))
        if agentEnd < Int(record.userAgent.end) { record.userAgent = ByteRange(Int(record.userAgent.start), agentEnd) }
        if !cookie.isEmpty && !cookieName.isEmpty {
            record.cookie = cookieName.withUnsafeBufferPointer {
                CookieHeader.value(named: $0, in: line, cookie, plusIsSpace: true)
            }
        }
        return .record
    }

    /// Turns every `+` in `p[start..<end]` into a space: eight bytes at a time (an exact
    /// mask of the `+` bytes, each flipped to a space by xor), then one.
    @inline(__always)
    static func plusToSpace(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) {
        let plus = ByteWords.broadcast(UInt8(ascii: "+"))
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        var k = start
        while k &+ 8 <= end {
            let t = ByteWords.load(p, k) ^ plus
            // The high bit of each byte of `t` that is zero, with no borrow between bytes.
            let isPlus = ~(((t & low7) &+ low7) | t) & ~low7
            if isPlus != 0 {
                let x = ByteWords.load(p, k) ^ ((isPlus &>> 7) &* UInt64(UInt8(ascii: "+") ^ UInt8(ascii: " ")))
                UnsafeMutableRawPointer(p + k).storeBytes(of: x.littleEndian, as: UInt64.self)
            }
            k &+= 8
        }
        while k < end {
            if p[k] == UInt8(ascii: "+") { p[k] = UInt8(ascii: " ") }
            k &+= 1
        }
    }

    /// Decodes `%XX` escapes (two hex digits) in `p[start..<end]` in place, moving the rest of
    /// the range down, and returns the new end; a `%` without two hex digits after it stays.
    /// Eight bytes at a time until the first `%` (an IIS user agent has none).
    @inline(__always)
    static func percentDecode(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        let percent = UInt8(ascii: "%")
        let first = ByteWords.firstOf(percent, percent, in: p, from: start, to: end)
        return first < end ? percentDecodeSlow(p, first, end) : end
    }

    /// `percentDecode` from the first `%`, at `first`.
    @inline(never)
    private static func percentDecodeSlow(_ p: UnsafeMutablePointer<UInt8>, _ first: Int, _ end: Int) -> Int {
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- UInt8(ascii: "A") &+ 10
            default: nil
            }
        }
        var read = first
        var write = first
        while read < end {
            let c = p[read]
            if c == UInt8(ascii: "%"), read &+ 2 < end, let high = hex(p[read &+ 1]), let low = hex(p[read &+ 2]) {
                p[write] = high &<< 4 | low
                read &+= 3
            } else {
                p[write] = c
                read &+= 1
            }
            write &+= 1
        }
        return write
    }

    /// The day count of the last `date` column parsed (its ten bytes in two words), so that
    /// the lines of one day parse their date once.
    struct DateCache {
        private var head: UInt64 = 0
        private var tail: UInt16 = 0
        private var cached: Int64? = nil

        /// `Timestamp.parseW3CDate(date)`, from the cache when `date` is the last one parsed.
        @inline(__always)
        mutating func days(_ date: UnsafeBufferPointer<UInt8>) -> Int64? {
            guard date.count == 10, let base = date.baseAddress else { return nil }
            let h = ByteWords.load(base, 0)
            let t = UInt16(truncatingIfNeeded: ByteWords.load32(base, 6) >> 16)
            if let cached, h == head, t == tail { return cached }
            let days = Timestamp.parseW3CDate(date)
            if let days {
                head = h
                tail = t
                cached = days
            }
            return days
        }
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
            return layoutChanged()
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

    /// Notes what the new `columns` hold; `.skip`, or `.noFieldsHeader` when they are none.
    mutating func layoutChanged() -> ParseResult {
        hasStatusColumn = columns.contains(.status)
        hasUserAgentColumn = columns.contains(.userAgent)
        if !hasUserAgentColumn && !columns.isEmpty { sawLayoutWithoutUserAgent = true }
        return columns.isEmpty ? .reject(.noFieldsHeader) : .skip
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
    static func lower(_ c: UInt8) -> UInt8 {
        c &- UInt8(ascii: "A") < 26 ? c | 0x20 : c
    }

    /// Column names veil reads, lower case.
    static let names: [(name: [UInt8], column: Column)] =
        ([
            ("date", .date), ("time", .time), ("c-ip", .clientIP), ("cs-username", .username),
            ("cs-method", .method), ("cs-uri-stem", .uriStem), ("cs-uri-query", .uriQuery),
            ("cs-uri", .uri), ("cs-version", .version), ("sc-status", .status), ("sc-bytes", .bytes),
            ("cs-host", .host), ("cs(host)", .host), ("cs(user-agent)", .userAgent),
            ("cs(referer)", .referrer), ("cs(cookie)", .cookie), ("x-forwarded-for", .forwardedFor),
            ("cs(x-forwarded-for)", .forwardedFor), ("x-host-header", .hostHeader), ("time-taken", .timeTaken),
        ] as [(String, Column)]).map { (Array($0.0.utf8), $0.1) }

    /// The column a `#Fields:` name (or a name of `table`) stands for.
    static func column(
        _ name: UnsafeBufferPointer<UInt8>, in table: [(name: [UInt8], column: Column)] = names
    ) -> Column {
        outer: for entry in table where entry.name.count == name.count {
            for k in 0..<name.count where lower(name[k]) != entry.name[k] { continue outer }
            return entry.column
        }
        return .other
    }
}
