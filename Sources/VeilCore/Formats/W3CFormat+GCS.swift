import CByteScan

/// Google Cloud Storage usage logs (`--format gcs`): the hourly CSV objects
/// (`BUCKET_usage_2026_11_28_14_00_00_…_v0`) Cloud Storage writes for a bucket with usage
/// logging on.
///
/// Each file starts with a header row naming the columns, every field quoted:
/// `"time_micros","c_ip","c_ip_type","c_ip_region","cs_method","cs_uri","sc_status","cs_bytes",`
/// `"sc_bytes","time_taken_micros","cs_host","cs_referer","cs_user_agent","s_request_id",`
/// `"cs_operation","cs_bucket","cs_object"`. Until a header is read the documented layout
/// above is assumed (a file whose header was cut off still parses); a header later in the
/// input (hourly files joined into one) sets the layout anew. Fields are separated by `,`, a
/// quoted field may hold commas (user agents do), and `""` inside one is a quote (RFC 4180);
/// `""` is an empty field. Columns veil reads, names matched without regard to case:
///
/// | column | record field |
/// |---|---|
/// | `time_micros` (when the request completed) | `timestamp`, `milliseconds` |
/// | `c_ip` (IPv6 without brackets) | `clientAddress` |
/// | `cs_method` | `method` |
/// | `cs_uri` (path and query as sent) | `target`; a path-style request's `/BUCKET` is dropped (`BucketPath`) |
/// | `sc_status` | `status` (100...599) |
/// | `sc_bytes` | `bytes` |
/// | `cs_bucket`, else `cs_host` | `site` |
/// | `cs_referer` | `referrer` |
/// | `cs_user_agent` | `userAgent`, without the `,gzip(gfe)` Google's front end appends |
///
/// The bucket names the site, as S3's bucket does for `aws_s3`: requests through
/// `storage.googleapis.com`, a bucket's own host name and a custom domain are one site. A
/// request that names the bucket in its path (`GET /BUCKET/a/b.html` to
/// `storage.googleapis.com`) counts as `/a/b.html`, as the same object requested by its own
/// host name does; JSON API requests (`/storage/v1/b/BUCKET/o/…`, `/download/storage/v1/…`)
/// keep their paths. Lines of Cloud Storage's own work (Object Lifecycle Management: no
/// client address and no URI) are skipped.
///
/// Rejects: a control byte → `.binaryGarbage`; a quote inside a quoted field that neither
/// doubles nor closes it → `.unbalancedQuote`; a line ending inside a quoted field or after a
/// comma, or with fewer fields than the layout → `.truncated`, more → `.literalMismatch`; no `time_micros` →
/// `.missingField`; `time_micros` not digits → `.badTimestamp`; `sc_status` not 100...599 →
/// `.badStatus`; `sc_bytes` not digits → `.badBytes`.
extension W3CFormat {
    /// A parser for Google Cloud Storage usage logs, with the documented layout until a header
    /// row names the columns.
    public static func gcsUsage() -> W3CFormat {
        var f = W3CFormat()
        f.dialect = .gcs
        for name in gcsHeader {
            f.columns.append(name.withUnsafeBufferPointer { column($0, in: gcsNames) })
        }
        _ = f.layoutChanged()
        return f
    }

    /// The columns of a usage log, in the order Cloud Storage writes them.
    static let gcsHeader: [[UInt8]] = [
        "time_micros", "c_ip", "c_ip_type", "c_ip_region", "cs_method", "cs_uri", "sc_status", "cs_bytes", "sc_bytes",
        "time_taken_micros", "cs_host", "cs_referer", "cs_user_agent", "s_request_id", "cs_operation", "cs_bucket",
        "cs_object",
    ].map { Array($0.utf8) }

    /// Column names veil reads, lower case (`cs_referrer` as the old `gsutil` help spells it).
    static let gcsNames: [(name: [UInt8], column: Column)] =
        ([
            ("time_micros", .epochMicros), ("c_ip", .clientIP), ("cs_method", .method), ("cs_uri", .uri),
            ("sc_status", .status), ("sc_bytes", .bytes), ("cs_host", .host), ("cs_referer", .referrer),
            ("cs_referrer", .referrer), ("cs_user_agent", .userAgent), ("cs_bucket", .bucket),
            ("time_taken_micros", .timeTakenMicros),
        ] as [(String, Column)]).map { (Array($0.0.utf8), $0.1) }

    /// What Google's front end appends to the user agent of a client that accepts gzip.
    static let gfeSuffix = Array(",gzip(gfe)".utf8)
    /// The user agent Google's front end logs for a client that sent none.
    static let gfeAlone = Array("gzip(gfe)".utf8)

    /// Whether `line` is a usage log's header row (it starts with the `time_micros` column's
    /// name, quoted or not): how `--format auto` knows the format.
    static func isGCSHeader(_ line: [UInt8]) -> Bool {
        let name = Array("time_micros".utf8)
        return line.starts(with: [UInt8(ascii: "\"")] + name + [UInt8(ascii: "\"")])
            || line.starts(with: name + [UInt8(ascii: ",")])
    }

    /// Parses a usage log's line (`p[0..<n]`, not empty): a header row, or a data line.
    mutating func gcsLine(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, into record: inout LogRecord) -> ParseResult {
        if ByteWords.hasControlByte(p, n) { return .reject(.binaryGarbage) }
        // A header names `time_micros`; any other line is data (a line of junk is rejected
        // as one, and leaves the layout as it was). A line whose first field starts with a
        // digit (every data line of Cloud Storage's layout: its time) is not looked through.
        let first = p[0] == UInt8(ascii: "\"") && n > 1 ? p[1] : p[0]
        if first &- UInt8(ascii: "0") > 9 && Self.namesTimeMicros(p, n) { return gcsHeaderLine(p, n) }
        let result = withUnsafeTemporaryAllocation(of: ByteRange.self, capacity: Column.count) { fields in
            // Safe: the allocation holds `Column.count` ranges.
            let ranges = fields.baseAddress!
            ranges.initialize(repeating: .empty, count: Column.count)
            defer { ranges.deinitialize(count: Column.count) }
            return columns.withUnsafeBufferPointer { gcsDataLine(p, n, $0, ranges, into: &record) }
        }
        if result != .record { record.reset() }
        return result
    }

    /// Whether one of the line's CSV fields is `time_micros` (in any case): a header row. A
    /// line that is not CSV is not one.
    private static func namesTimeMicros(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> Bool {
        let name = "time_micros".utf8
        var start = 0
        while start <= n {
            let field = csvField(p, start, n, undoing: false)
            if field.reject != nil { return false }
            if field.range.count == name.count
                && zip(UnsafeBufferPointer(start: p + Int(field.range.start), count: name.count), name).allSatisfy({
                    lower($0) == $1
                })
            {
                return true
            }
            start = field.next
        }
        return false
    }

    /// A header row (`namesTimeMicros`): its names become the layout.
    private mutating func gcsHeaderLine(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> ParseResult {
        columns.removeAll(keepingCapacity: true)
        var start = 0
        while start <= n {
            let field = Self.csvField(p, start, n)
            let name = UnsafeBufferPointer(start: UnsafePointer(p) + Int(field.range.start), count: field.range.count)
            columns.append(Self.column(name, in: Self.gcsNames))
            start = field.next
        }
        return layoutChanged()
    }

    /// Splits a data line into the layout's columns and fills the record.
    @inline(__always)
    private func gcsDataLine(
        _ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ cols: UnsafeBufferPointer<Column>,
        _ ranges: UnsafeMutablePointer<ByteRange>, into record: inout LogRecord
    ) -> ParseResult {
        if cols.isEmpty { return .reject(.noFieldsHeader) }
        // Cloud Storage quotes every field (an empty one is `""`): a quoted line that ends after
        // a comma was cut there. (Unquoted CSV, as a BigQuery export writes it, may end with an
        // empty field.)
        if p[n - 1] == UInt8(ascii: ","), n > 1, p[n - 2] == UInt8(ascii: "\"") { return .reject(.truncated) }
        var field = 0
        var start = 0
        while start <= n {
            let f = Self.csvField(p, start, n)
            if let reject = f.reject { return .reject(reject) }
            guard field < cols.count else { return .reject(.literalMismatch) }
            ranges[Int(cols[field].rawValue)] = f.range
            field += 1
            start = f.next
        }
        if field < cols.count { return .reject(.truncated) }
        func range(_ c: Column) -> ByteRange { ranges[Int(c.rawValue)] }
        let line = UnsafeBufferPointer(start: UnsafePointer(p), count: n)
        let uri = range(.uri), client = range(.clientIP)
        // Object Lifecycle Management's deletions and class changes: no client, no URI.
        if uri.isEmpty && client.isEmpty { return .skip }
        let micros = range(.epochMicros)
        guard !micros.isEmpty else { return .reject(.missingField) }
        // Sixteen digits: microseconds from 2001-09-09 to 2286 (ten would be seconds).
        guard micros.count == 16, let v = JSONLinesFormat.integer(micros.slice(line)) else {
            return .reject(.badTimestamp)
        }
        record.timestamp = v / 1_000_000
        record.milliseconds = Int16(v / 1000 % 1000)
        if hasStatusColumn {
            guard let s = JSONLinesFormat.status(range(.status).slice(line)) else { return .reject(.badStatus) }
            record.status = s
        }
        let bytes = range(.bytes)
        if !bytes.isEmpty {
            guard let b = JSONLinesFormat.integer(bytes.slice(line)) else { return .reject(.badBytes) }
            record.bytes = b
        }
        let taken = range(.timeTakenMicros)
        if !taken.isEmpty { record.duration = ServingTime.microseconds(taken.slice(line), unit: .microseconds) ?? -1 }
        record.clientAddress = client
        record.method = range(.method)
        record.referrer = range(.referrer)
        let bucket = range(.bucket), host = range(.host)
        record.site = bucket.isEmpty ? host : bucket
        // A path-style request (`/BUCKET/a.html` to `storage.googleapis.com`), unless the
        // bucket's own host name (`BUCKET`, `BUCKET.storage.googleapis.com`) was asked: a path
        // that starts with its name is then its page.
        let ownHost =
            host.count >= bucket.count
            && veil_same_bytes(p + Int(host.start), p + Int(bucket.start), bucket.count) != 0
            && (host.count == bucket.count || p[Int(host.start) + bucket.count] == UInt8(ascii: "."))
        record.target = ownHost ? uri : BucketPath.target(p, uri, bucket: bucket)
        // `…,gzip(gfe)`; a client that sent none is logged `gzip(gfe)`.
        var agent = range(.userAgent)
        let gfe = Self.gfeSuffix.count
        if agent.count >= gfe, veil_same_bytes(p + Int(agent.end) - gfe, Self.gfeSuffix, gfe) != 0 {
            agent.end -= Int32(gfe)
        } else if agent.count == gfe - 1, veil_same_bytes(p + Int(agent.start), Self.gfeAlone, gfe - 1) != 0 {
            agent = .empty
        }
        record.userAgent = agent
        record.userAgentLogged = hasUserAgentColumn
        return .record
    }

    /// The CSV field at `start` (`start <= n`): a quoted field, whose `""` are undone in place,
    /// or an unquoted one up to the next `,`. `next` is where the following field starts, past
    /// `n` after the last field of the line.
    @inline(__always)
    static func csvField(_ p: UnsafeMutablePointer<UInt8>, _ start: Int, _ n: Int, undoing: Bool = true)
        -> (range: ByteRange, next: Int, reject: RejectReason?)
    {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        guard start < n, p[start] == quote else {
            let end = ByteWords.find(comma, p, start, n)
            return (ByteRange(start, end), end + 1, nil)
        }
        var i = start + 1
        var doubled = false
        while true {
            let q = ByteWords.find(quote, p, i, n)
            // The line ended inside the field.
            if q >= n { return (.empty, n + 1, .truncated) }
            if q + 1 < n && p[q + 1] == quote {
                doubled = true
                i = q + 2
                continue
            }
            guard q + 1 == n || p[q + 1] == comma else { return (.empty, n + 1, .unbalancedQuote) }
            var end = q
            if doubled && undoing {
                // Each `""` becomes `"`: bytes move down over the second quote of each pair.
                var read = start + 1, write = start + 1
                while read < q {
                    p[write] = p[read]
                    read += p[read] == quote ? 2 : 1
                    write += 1
                }
                end = write
            }
            return (ByteRange(start + 1, end), q + 2, nil)
        }
    }
}
