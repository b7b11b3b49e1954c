import Testing

@testable import VeilCore

/// Google Cloud Storage usage logs (`gcs`).
@Suite struct GCSFormatTests {
    static let header =
        #""time_micros","c_ip","c_ip_type","c_ip_region","cs_method","cs_uri","sc_status","cs_bytes","sc_bytes","#
        + #""time_taken_micros","cs_host","cs_referer","cs_user_agent","s_request_id","cs_operation","cs_bucket","#
        + #""cs_object""#

    /// A data line of the documented layout; 2026-11-28T11:14:14.108Z.
    static func line(
        micros: String = "1795864454108447", client: String = "192.0.2.10", uri: String = "/blog/post-one",
        status: String = "200", bytes: String = "13654", host: String = "www.example.com",
        referrer: String = "https://news.example.net/a",
        agent: String = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0,gzip(gfe)",
        bucket: String = "www.example.com"
    ) -> String {
        [
            micros, client, client.contains(":") ? "2" : "1", "", "GET", uri, status, "0", bytes, "179000", host,
            referrer, agent, "AEnB2Uo6_oFt6zlbUf", "GET_Object", bucket, "blog/post-one",
        ].map { "\"\($0)\"" }.joined(separator: ",")
    }

    @Test("the header sets the layout; a data line's fields, the bucket as the site, the user agent without gzip(gfe)")
    func fields() {
        var f = W3CFormat.gcsUsage()
        #expect(f.name == "gcs")
        #expect(parseW3C(&f, Self.header).result == .skip)
        let p = parseW3C(&f, Self.line())
        #expect(p.result == .record)
        #expect(p.record.timestamp == 1_795_864_454)
        #expect(p.record.milliseconds == 108)
        #expect(p.text(p.record.clientAddress) == "192.0.2.10")
        #expect(p.text(p.record.method) == "GET")
        #expect(p.text(p.record.target) == "/blog/post-one")
        #expect(p.record.status == 200)
        #expect(p.record.bytes == 13654)
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(p.text(p.record.referrer) == "https://news.example.net/a")
        #expect(p.text(p.record.userAgent) == "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
        #expect(p.record.userAgentLogged)
        #expect(p.record.cookie.isEmpty && p.record.user.isEmpty && p.record.protocolVersion.isEmpty)

        let v6 = parseW3C(&f, Self.line(client: "2001:db8::7", referrer: "", agent: "curl/8.4.0", bucket: ""))
        #expect(v6.result == .record)
        #expect(v6.text(v6.record.clientAddress) == "2001:db8::7")
        #expect(v6.record.referrer.isEmpty)
        #expect(v6.text(v6.record.userAgent) == "curl/8.4.0")
        // No bucket: the host names the site.
        #expect(v6.text(v6.record.site) == "www.example.com")
    }

    @Test(
        "a path-style request's /BUCKET is dropped when another host was asked",
        arguments: [
            ("/www.example.com/a/b.html?x=1", "storage.googleapis.com", "/a/b.html?x=1"),
            ("/www.example.com", "storage.googleapis.com", "/"),
            ("/www.example.com?prefix=a/", "storage.googleapis.com", "/"),
            ("/www.example.com/", "storage.googleapis.com", "/"),
            ("/www.example.comx/a", "storage.googleapis.com", "/www.example.comx/a"),
            (
                "/storage/v1/b/www.example.com/o/a%2Fb?alt=media", "www.googleapis.com",
                "/storage/v1/b/www.example.com/o/a%2Fb?alt=media"
            ),
            // The bucket's own host: a path that starts with its name is the site's own page.
            ("/www.example.com/a", "www.example.com", "/www.example.com/a"),
            ("/www.example.com/a", "www.example.com.storage.googleapis.com", "/www.example.com/a"),
            ("/www.example.com/a", "www.example.org", "/a"),
        ])
    func pathStyle(_ uri: String, _ host: String, _ target: String) {
        var f = W3CFormat.gcsUsage()
        let p = parseW3C(&f, Self.line(uri: uri, host: host))
        #expect(p.result == .record)
        #expect(p.text(p.record.target) == target)
        #expect(p.text(p.record.site) == "www.example.com")
    }

    @Test("doubled quotes are undone, commas inside quotes kept, unquoted fields read")
    func quoting() {
        var f = W3CFormat.gcsUsage()
        let p = parseW3C(&f, Self.line(agent: #"apitools ""quoted"", gsutil/4.13,gzip(gfe)"#))
        #expect(p.result == .record)
        #expect(p.text(p.record.userAgent) == #"apitools "quoted", gsutil/4.13"#)
        #expect(p.text(p.record.target) == "/blog/post-one")
        let unquoted = parseW3C(
            &f,
            "1795864454108447,192.0.2.10,1,,GET,/a,404,0,,0,www.example.com,,curl/8.4.0,id,GET_Object,www.example.com,a"
        )
        #expect(unquoted.result == .record)
        #expect(unquoted.record.status == 404)
        #expect(unquoted.record.bytes == 0)
        #expect(unquoted.text(unquoted.record.target) == "/a")
        // Unquoted, an empty last field (a bucket's listing has no object) ends the line with a comma.
        let listing = parseW3C(
            &f,
            "1795864454108447,192.0.2.10,1,,GET,/,200,0,97,0,www.example.com,,curl/8.4.0,id,GET_Bucket,www.example.com,"
        )
        #expect(listing.result == .record)
    }

    @Test("a user agent of only gzip(gfe) is a client that sent none")
    func gfeAlone() {
        var f = W3CFormat.gcsUsage()
        for agent in ["gzip(gfe)", ",gzip(gfe)", ""] {
            let p = parseW3C(&f, Self.line(agent: agent))
            #expect(p.result == .record && p.record.userAgent.isEmpty && p.record.userAgentLogged, "\(agent)")
        }
        let kept = parseW3C(&f, Self.line(agent: "curl/8.4.0 gzip(gfe)"))
        #expect(kept.text(kept.record.userAgent) == "curl/8.4.0 gzip(gfe)")
    }

    @Test("only a row naming time_micros is a header: any other line is data, rejected or read, and keeps the layout")
    func junkKeepsTheLayout() {
        var f = W3CFormat.gcsUsage()
        #expect(parseW3C(&f, Self.header).result == .skip)
        for (junk, reason) in [
            (Self.line(micros: "x1795824302464530"), RejectReason.badTimestamp),
            (#""a"b"#, .unbalancedQuote),
            ("Connection reset by peer", .truncated),
            // A storage log's header and row (the same log bucket holds both kinds).
            (#""bucket","storage_byte_hours""#, .truncated),
            (#""www.example.com","1234567""#, .truncated),
        ] {
            #expect(parseW3C(&f, junk).result == .reject(reason), "\(junk)")
            #expect(parseW3C(&f, Self.line()).result == .record, "after \(junk)")
        }
        // A header whose first column holds text.
        var reordered = W3CFormat.gcsUsage()
        #expect(
            parseW3C(&reordered, #""cs_bucket","time_micros","c_ip","cs_method","cs_uri","sc_status""#).result == .skip)
        let p = parseW3C(&reordered, #""www.example.com","1795864454108447","fe80::1","GET","/a","200""#)
        #expect(
            p.result == .record && p.text(p.record.site) == "www.example.com"
                && p.text(p.record.clientAddress) == "fe80::1")
    }

    @Test("without a header the documented layout is read; a header of other columns sets theirs")
    func layouts() {
        var plain = W3CFormat.gcsUsage()
        #expect(parseW3C(&plain, Self.line()).result == .record)
        var other = W3CFormat.gcsUsage()
        #expect(parseW3C(&other, #""cs_uri","TIME_MICROS","c_ip","extra","sc_status""#).result == .skip)
        let p = parseW3C(&other, #""/x","1795864454108447","192.0.2.1","?","204""#)
        #expect(p.result == .record)
        #expect(p.text(p.record.target) == "/x" && p.record.status == 204 && p.record.timestamp == 1_795_864_454)
        #expect(!p.record.userAgentLogged)
        #expect(other.sawLayoutWithoutUserAgent)
        // The documented line now has more fields than the layout.
        #expect(parseW3C(&other, Self.line()).result == .reject(.literalMismatch))
        // A later header (hourly files joined) sets the layout again.
        #expect(parseW3C(&other, Self.header).result == .skip)
        #expect(parseW3C(&other, Self.line()).result == .record)
    }

    @Test("Object Lifecycle Management's lines (no client, no URI) are skipped")
    func lifecycle() {
        var f = W3CFormat.gcsUsage()
        let line =
            #""1591062496651000","","","","PUT","","200","","","","","","GCS Lifecycle Management","02478f5f","#
            + #""PUT_Object","www.example.com","a.txt""#
        #expect(parseW3C(&f, line).result == .skip)
    }

    @Test(
        "rejects, each with its reason",
        arguments: [
            (line(micros: "17958X4454108447"), RejectReason.badTimestamp),
            (line(micros: "1795864454"), .badTimestamp),  // seconds, not microseconds
            (line(micros: "17958644541084470"), .badTimestamp),
            (line(micros: ""), .missingField),
            (line(status: "2x0"), .badStatus),
            (line(status: ""), .badStatus),
            (line(status: "600"), .badStatus),
            (line(bytes: "12a"), .badBytes),
            (line() + #","extra""#, .literalMismatch),
            (line().replacingOccurrences(of: #"1795864454108447","#, with: "1795864454108447,"), .unbalancedQuote),
            (line().replacingOccurrences(of: #""GET""#, with: #""G"ET""#), .unbalancedQuote),
            (line().replacingOccurrences(of: "Firefox", with: "Fire\u{1}fox"), .binaryGarbage),
            (String(line().dropLast(2)), .truncated),
            (#""1795864454108447","192.0.2.10""#, .truncated),
        ])
    func rejects(_ text: String, _ reason: RejectReason) {
        var f = W3CFormat.gcsUsage()
        let p = parseW3C(&f, text)
        #expect(p.result == .reject(reason), "\(text)")
        #expect(p.record == LogRecord(), "a rejected line leaves an empty record")
    }

    @Test("a line cut anywhere is truncated, never a record")
    func everyCut() {
        var f = W3CFormat.gcsUsage()
        let bytes = Array(Self.line().utf8)
        for cut in 1..<bytes.count {
            let p = parseW3C(&f, Array(bytes[..<cut]))
            #expect(p.result == .reject(.truncated), "cut at \(cut)")
        }
    }

    @Test("--format auto: a header row or a quoted first line means gcs; `--format gcs` names it")
    func detection() throws {
        let lines = [Self.header] + (0..<10).map { Self.line(client: "192.0.2.\($0 + 1)") }
        let d = FormatDetector.detect(lines.map { Array($0.utf8) })
        #expect(d.format.name == "gcs" && d.recognised && d.parsed == 10)
        let headerless = FormatDetector.detect(lines.dropFirst().map { Array($0.utf8) })
        #expect(headerless.format.name == "gcs" && headerless.parsed == 10)
        let headerOnly = FormatDetector.detect([Array(Self.header.utf8)])
        #expect(headerOnly.format.name == "gcs" && headerOnly.recognised)
        // A quoted first line of something else is not recognised as a usage log.
        let csv = FormatDetector.detect([Array(#""name","value""#.utf8), Array(#""a","1""#.utf8)])
        #expect(!csv.recognised)
        // A combined log whose first line is the end of a cut line (it starts with a quote).
        let combined =
            [#""Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0""#]
            + (0..<5).map {
                #"192.0.2.\#($0 + 1) - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11) Firefox/120.0""#
            }
        let cut = FormatDetector.detect(combined.map { Array($0.utf8) })
        #expect(cut.format.name == "combined" && cut.recognised && cut.parsed == 5)
        #expect(try FormatChoice(parsing: "gcs").makeFormat().name == "gcs")
    }
}
