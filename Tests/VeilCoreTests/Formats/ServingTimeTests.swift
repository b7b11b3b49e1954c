import Foundation
import Testing

@testable import VeilCore

/// Serving times: the numbers as logs write them, each format's field, and the histogram that
/// keeps them.
@Suite struct ServingTimeTests {
    static func microseconds(_ text: String, _ unit: ServingTime.Unit) -> Int64? {
        Array(text.utf8).withUnsafeBufferPointer { ServingTime.microseconds($0, unit: unit) }
    }

    @Test(
        "numbers in each unit, fractions and exponents, become whole microseconds; anything else is unknown",
        arguments: [
            ("0.123", ServingTime.Unit.seconds, Int64(123_000)),  // nginx $request_time
            ("0.000", .seconds, 0),
            ("12.3456789", .seconds, 12_345_678),  // truncated, not rounded
            ("1.5e-05", .seconds, 15),  // Go's float for a Caddy duration under 1e-4 s
            ("4.2E-7", .seconds, 0),
            ("1E+3", .milliseconds, 1_000_000),
            ("2e3", .microseconds, 2000),
            ("225", .milliseconds, 225_000),  // IIS time-taken, Squid, HAProxy
            ("4258487", .nanoseconds, 4258),  // Traefik Duration
            ("999", .nanoseconds, 0),
            ("3", .microseconds, 3),  // Apache %D
            ("1.", .seconds, 1_000_000),
            ("000012", .milliseconds, 12_000),
            ("999999999", .seconds, 999_999_999_000_000),
        ])
    func parses(text: String, unit: ServingTime.Unit, want: Int64) {
        #expect(Self.microseconds(text, unit) == want, "\(text)")
    }

    @Test(
        "not a serving time: a sign (ALB's -1), a dash, no digits, stray text, a bad exponent, over 31 years",
        arguments: ["-1", "-", "", ".", "+5", "abc", "12ms", "1e", "1e+", "1e5x", "1.2.3", "40000000000", "1e30"])
    func rejects(text: String) {
        #expect(Self.microseconds(text, .seconds) == nil, "\(text)")
    }

    @Test("a record keeps a serving time exactly up to 2^47 - 1 µs (4.4 years), that one after; negative is none")
    func record() {
        var r = LogRecord()
        #expect(r.duration == -1 && !r.hasDuration)
        for v: Int64 in [
            0, 1, 15, (1 << 30) - 1, 1 << 30, 2_147_483_649, (1 << 32) - 1, 1 << 32, 4_294_967_297,
            1_099_511_627_776, 2_000_000_000_000, LogRecord.longestDuration,
        ] {
            r.duration = v
            #expect(r.duration == v && r.hasDuration, "\(v)")
        }
        r.duration = LogRecord.longestDuration + 1
        #expect(r.duration == LogRecord.longestDuration)
        r.duration = 1_000_000_000_000_000
        #expect(r.duration == LogRecord.longestDuration)
        r.duration = -7
        #expect(r.duration == -1 && !r.hasDuration)
        #expect(MemoryLayout<LogRecord>.stride == 128, "the serving time fits in the record's padding")
    }

    // MARK: Histogram

    @Test("every duration lies in its bucket, whose midpoint is within 1/16 of it; buckets rise with the duration")
    func buckets() {
        var values: [Int64] = Array(0...5000)
        var x: Int64 = 5001
        while x < (1 << 41) {
            values += [x - 1, x, x + 1]
            x = x * 9 / 8 + 1
        }
        var previous = -1
        for v in values.sorted() {
            let b = DurationHistogram.bucket(v)
            #expect(b >= previous && b < DurationHistogram.bucketCount, "\(v)")
            previous = b
            let (lower, upper) = DurationHistogram.bounds(b)
            let clamped = min(v, DurationHistogram.largest)
            #expect(lower <= clamped && clamped < upper, "\(v): bucket \(b) is \(lower)..<\(upper)")
            let mid = DurationHistogram.midpoint(b)
            #expect(abs(Double(mid - clamped)) <= Double(clamped) / 16 + 0.5, "\(v) → \(mid)")
        }
        #expect(DurationHistogram.bucket(DurationHistogram.largest) == DurationHistogram.bucketCount - 1)
        #expect(DurationHistogram.bucket(Int64.max) == DurationHistogram.bucketCount - 1)
        #expect(DurationHistogram.bucket(-5) == 0)
    }

    @Test("percentiles by nearest rank within 1/16 of the exact ones, an exact mean, and merge = adding everything")
    func percentiles() throws {
        var rng = StateTestRNG(seed: 7)
        var all = DurationHistogram()
        var parts = [DurationHistogram(), DurationHistogram(), DurationHistogram()]
        var values: [Int64] = []
        for i in 0..<20_000 {
            // Log-uniform from 1 µs to about 100 s.
            let v = Int64(exp(Double(rng.next() % 1_000_000) / 1_000_000 * log(1e8)))
            values.append(v)
            all.add(microseconds: v)
            parts[i % 3].add(microseconds: v)
        }
        values.sort()
        for q in [0.5, 0.9, 0.99, 0.999, 1.0, 0.00001] {
            let exact = values[max(0, Int((Double(values.count) * q).rounded(.up)) - 1)]
            let estimate = try #require(all.percentile(q))
            #expect(abs(Double(estimate - exact)) <= Double(exact) / 16 + 0.5, "q \(q): \(estimate) vs \(exact)")
        }
        #expect(all.count == 20_000 && all.sum == values.reduce(0, +))
        #expect(all.mean == Double(values.reduce(0, +)) / 20_000)
        var merged = parts[2]
        merged.merge(parts[0])
        merged.merge(parts[1])
        #expect(merged == all)
        var other = parts[0]
        other.merge(parts[1])
        other.merge(parts[2])
        #expect(other == all)
        #expect(DurationHistogram().percentile(0.5) == nil && DurationHistogram().mean == nil)
        #expect(DurationHistogram.milliseconds(77_824) == "77.8" && DurationHistogram.milliseconds(50) == "0.1")
        #expect(DurationHistogram.milliseconds(1_949) == "1.9" && DurationHistogram.milliseconds(0) == "0.0")
    }

    @Test("the state file form round-trips; out-of-order or repeated buckets, zero counts, long lists are refused")
    func encoding() throws {
        var h = DurationHistogram()
        for v: Int64 in [0, 3, 3, 900, 120_000, 120_001, 5_000_000_000] { h.add(microseconds: v) }
        var w = BinaryWriter(capacity: 64)
        h.encode(into: &w)
        var r = BinaryReader(w.bytes, file: "h")
        #expect(try DurationHistogram.decode(from: &r) == h)
        #expect(r.remaining == 0)
        var empty = BinaryWriter(capacity: 4)
        DurationHistogram().encode(into: &empty)
        #expect(empty.bytes == [0])

        let bad: [(String, [UInt8])] = [
            ("buckets out of order", [2, 5, 1, 4, 1, 9]),
            ("a bucket twice", [2, 5, 1, 5, 1, 9]),
            ("a zero count", [1, 5, 0, 9]),
            ("a bucket past the last", [1, 0xB0, 0x02, 1, 9]),
            ("longer than there are buckets", [0xC1, 0x02]),
            ("a sum past Int64.max", [1, 5, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ]
        for (why, bytes) in bad {
            var reader = BinaryReader(bytes, file: "h")
            #expect(throws: VeilError.self, "\(why)") { try DurationHistogram.decode(from: &reader) }
        }
    }

    // MARK: Each format's field

    /// The serving time veil reads from the last of `lines` (the ones before: headers).
    static func duration(_ format: String, _ lines: [String]) throws -> Int64 {
        var f = try FormatChoice(parsing: format).makeFormat()
        var record = LogRecord()
        var result = ParseResult.skip
        for line in lines {
            var bytes = Array(line.utf8)
            result = bytes.withUnsafeMutableBufferPointer { b in
                switch f {
                case .text(var t):
                    defer { f = .text(t) }
                    return t.parse(b, into: &record)
                case .json(var j):
                    defer { f = .json(j) }
                    return j.parse(b, into: &record)
                case .w3c(var w):
                    defer { f = .w3c(w) }
                    return w.parse(b, into: &record)
                }
            }
        }
        try #require(result == .record, "\(format): \(result)")
        return record.duration
    }

    static let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
    static let clf = "192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 512 \"-\" \"\(agent)\""
    static let iisFields =
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-status sc-bytes time-taken"
    static let albHead =
        "https 2026-11-28T00:10:08.241042Z app/veil-web/50dc6c495c0c9188 198.19.233.7:36340 192.0.2.10:80"
    static let albTail =
        "200 200 411 37481 \"GET https://www.example.com:443/p HTTP/1.1\" \"\(agent)\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2"
    static let s3Head =
        "5d41402abc4b2a76b9719d911017c592 www.example.com [28/Nov/2026:00:10:08 +0000] 198.19.233.7 - ed093aab94889274 WEBSITE.GET.OBJECT p \"GET /p HTTP/1.1\" 200 - 37481 37481"
    static let s3Tail = "\"-\" \"\(agent)\" - d209ab= - - - www.example.com - - -"
    static let haproxy =
        "Nov 28 00:10:08 lb1 haproxy[2314]: 198.19.233.7:60757 [28/Nov/2026:00:10:08.241] www-https~ web/web1 TIMERS 200 37481 - - ---- 2/2/1/1/0 0/0 \"GET /p HTTP/1.1\""

    @Test(
        "each format's serving-time field, in its unit; - or -1 (not measured) is unknown, and the request still counts",
        arguments: [
            (
                "nginx:$remote_addr [$time_local] \"$request\" $status $body_bytes_sent $request_time",
                "192.0.2.1 [28/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 0.120", Int64(120_000)
            ),
            (
                "nginx:$remote_addr [$time_local] \"$request\" $status $body_bytes_sent $request_time",
                "192.0.2.1 [28/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 -", -1
            ),
            ("apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D", clf + " 2417", 2417),
            // Over 2^31 µs (35 minutes) and over 12.7 days: kept to the microsecond.
            (
                "apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D", clf + " 2147483649",
                2_147_483_649
            ),
            (
                "apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D", clf + " 2000000000001",
                2_000_000_000_001
            ),
            ("apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %{ms}T", clf + " 31", 31_000),
            ("apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %T", clf + " 2", 2_000_000),
            // The finest of several: %D over %T.
            ("apache:%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %T %D", clf + " 0 2417", 2417),
            ("combined", clf, -1),
            ("traefik_clf", clf + " 2 \"website@docker\" \"http://192.0.2.10:8080\" 225ms", 225_000),
            ("aws_alb", albHead + " 0.001 0.306 0.002 " + albTail, 309_000),
            ("aws_alb", albHead + " -1 -1 -1 " + albTail.replacingOccurrences(of: "200 200", with: "502 -"), -1),
            // The AWS presets' note names are theirs: a user's format string skips such notes.
            (
                "apache:%{type}n %{%Y-%m-%dT%H:%M:%S%z}t %{elb}n %a:%{remote}p %{target:port}n %{request_processing_time}n %{target_processing_time}n %{response_processing_time}n %>s %{target_status_code}n %I %O \"%r\" \"%{User-Agent}i\"",
                albHead + " 0.001 0.306 0.002 " + albTail, -1
            ),
            ("aws_s3", s3Head + " 8 6 " + s3Tail, 8000),
            ("aws_s3", s3Head + " - 6 " + s3Tail, -1),
            ("haproxy", haproxy.replacingOccurrences(of: "TIMERS", with: "0/0/1/263/264"), 264_000),
            ("haproxy", haproxy.replacingOccurrences(of: "TIMERS", with: "0/0/1/263/+264"), -1),
            ("haproxy", haproxy.replacingOccurrences(of: "TIMERS", with: "0/0/1/-1/-1"), -1),
            (
                "squid",
                "1795824608.241    225 198.19.233.7 TCP_MISS/200 37481 GET https://www.example.com/p - HIER_DIRECT/192.0.2.10 text/html",
                225_000
            ),
            (
                "json-caddy",
                #"{"ts":1795824608.241,"request":{"client_ip":"198.19.233.7","method":"GET","host":"www.example.com","uri":"/p","headers":{"User-Agent":["x"]}},"status":200,"size":5,"duration":0.110656}"#,
                110_656
            ),
            (
                "json-caddy",
                #"{"ts":1795824608.241,"request":{"client_ip":"198.19.233.7","method":"GET","host":"h","uri":"/p"},"status":200,"size":5,"duration":2.5e-05}"#,
                25
            ),
            (
                "json-traefik",
                #"{"ClientHost":"198.19.233.7","DownstreamContentSize":5,"DownstreamStatus":200,"Duration":296592011,"RequestHost":"h","RequestMethod":"GET","RequestPath":"/p","RequestProtocol":"HTTP/1.1","StartUTC":"2026-11-28T00:10:08.241Z"}"#,
                296_592
            ),
            (
                "json-nginx",
                #"{"time_iso8601":"2026-11-28T00:10:08+00:00","remote_addr":"198.19.233.7","request":"GET /p HTTP/1.1","status":"200","body_bytes_sent":"5","request_time":"0.120"}"#,
                120_000
            ),
            (
                "json-nginx",
                #"{"time_iso8601":"2026-11-28T00:10:08+00:00","remote_addr":"198.19.233.7","request":"GET /p HTTP/1.1","status":"200","body_bytes_sent":"5"}"#,
                -1
            ),
        ])
    func formats(format: String, line: String, want: Int64) throws {
        #expect(try Self.duration(format, [line]) == want, "\(format): \(line)")
    }

    @Test("W3C time-taken: milliseconds (IIS), seconds when written with a fraction (CloudFront); GCS microseconds")
    func w3c() throws {
        let line = "2026-11-28 00:10:08 192.0.2.10 GET /p - 443 - 198.19.233.7 Mozilla/5.0+(X11) 200 37481 "
        #expect(try Self.duration("w3c", [Self.iisFields, line + "225"]) == 225_000)
        #expect(try Self.duration("w3c", [Self.iisFields, line + "0.082"]) == 82_000)
        #expect(try Self.duration("w3c", [Self.iisFields, line + "-"]) == -1)
        let gcsHeader =
            #""time_micros","c_ip","c_ip_type","c_ip_region","cs_method","cs_uri","sc_status","cs_bytes","sc_bytes","time_taken_micros","cs_host","cs_referer","cs_user_agent","s_request_id","cs_operation","cs_bucket","cs_object""#
        let gcsLine =
            #""1795824302464530","192.0.2.1","1","","GET","/blog","200","0","231","3000","www.example.com","","Mozilla/5.0 (X11),gzip(gfe)","ed09","GET_Object","www.example.com","blog""#
        #expect(try Self.duration("gcs", [gcsHeader, gcsLine]) == 3000)
        #expect(try Self.duration("gcs", [gcsLine]) == 3000)
    }

    @Test("--json-fields maps serving times in each unit")
    func jsonFields() throws {
        let line = #"{"t":"2026-11-28T00:10:08Z","ip":"192.0.2.1","u":"/p","s":200,"took":"412"}"#
        for (name, want) in [
            ("duration_ms", Int64(412_000)), ("duration_us", 412), ("duration_ns", 0), ("duration", 412_000_000),
            ("duration_s", 412_000_000),
        ] {
            let f = try JSONLinesFormat(accessFields: "timestamp=t,ip=ip,target=u,status=s,\(name)=took")
            var record = LogRecord()
            var bytes = Array(line.utf8)
            var parser = f
            let r = bytes.withUnsafeMutableBufferPointer { parser.parse($0, into: &record) }
            #expect(r == .record && record.duration == want, "\(name): \(record.duration)")
        }
    }
}
