import Testing

@testable import VeilCore

/// Amazon S3 server access logs (`aws_s3`).
@Suite("Amazon S3 server access logs")
struct S3AccessLogFormatTests {
    static let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"

    /// A line as S3 documents it (owner and ids made up, addresses from the documentation
    /// ranges), with the requester, client, request and status put in.
    static func line(
        bucket: String = "www.example.com", client: String = "192.0.2.3", requester: String = "-",
        operation: String = "WEBSITE.GET.OBJECT", request: String? = nil, target: String = "/index.html",
        status: String = "200", bytes: String = "2662", referrer: String = "https://www.example.org/",
        agent: String = agent
    ) -> String {
        "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 \(bucket) [06/Feb/2026:00:00:38 +0000] "
            + "\(client) \(requester) 3E57427F3EXAMPLE \(operation) index.html \"\(request ?? "GET \(target) HTTP/1.1")\" "
            + "\(status) - \(bytes) 2662 70 10 \"\(referrer)\" \"\(agent)\" - "
            + "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 "
            + "ECDHE-RSA-AES128-GCM-SHA256 AuthHeader \(bucket).s3.us-west-1.amazonaws.com TLSV1.2 - Yes us-east-1"
    }

    static func parse(_ line: String) throws -> AWSLoadBalancerFormatTests.Parsed {
        try AWSLoadBalancerFormatTests.parse("aws_s3", line)
    }

    @Test("the bucket names the site; the client, request, status, size, referrer and user agent are read")
    func fields() throws {
        let p = try Self.parse(Self.line(target: "/docs/a?utm_source=mail"))
        #expect(p.result == .record)
        #expect(p.text(p.record.site) == "www.example.com")
        #expect(p.text(p.record.clientAddress) == "192.0.2.3")
        #expect(p.record.timestamp == 1_770_336_038)  // 2026-02-06T00:00:38Z
        #expect(p.text(p.record.method) == "GET" && p.text(p.record.target) == "/docs/a?utm_source=mail")
        #expect(p.record.status == 200 && p.record.bytes == 2662)
        #expect(p.text(p.record.referrer) == "https://www.example.org/")
        #expect(p.text(p.record.userAgent) == Self.agent)
    }

    @Test(
        "a path-style request's /BUCKET is dropped: the page the object is read as by the bucket's own host",
        arguments: [
            ("/www.example.com/docs/a?utm_source=mail", "/docs/a?utm_source=mail"),
            ("/www.example.com/", "/"),
            ("/www.example.com", "/"),
            ("/www.example.com?list-type=2&prefix=docs/", "/"),
            ("/www.example.comx/a", "/www.example.comx/a"),
            ("/docs/www.example.com/a", "/docs/www.example.com/a"),
            ("/www.example.org/a", "/www.example.org/a"),
        ])
    func pathStyle(_ target: String, _ page: String) throws {
        let p = try Self.parse(Self.line(target: target))
        #expect(p.result == .record)
        #expect(p.text(p.record.target) == page)
        #expect(p.text(p.record.site) == "www.example.com")
    }

    @Test("the requester (a canonical user id or an IAM ARN) is never read: it is not a web user name")
    func requesterNotRead() throws {
        let p = try Self.parse(Self.line(requester: "arn:aws:iam::123456789012:user/alice"))
        #expect(p.result == .record)
        #expect(p.record.user.isEmpty && p.record.cookie.isEmpty)
    }

    @Test("S3's `-` for no bytes sent and an error's status")
    func errors() throws {
        let p = try Self.parse(Self.line(status: "404", bytes: "-"))
        #expect(p.result == .record && p.record.status == 404 && p.record.bytes == 0)
    }

    @Test("a lifecycle operation (`\"-\"` request, `-` status, no client) is skipped, not rejected")
    func lifecycleSkipped() throws {
        let p = try Self.parse(
            Self.line(
                client: "-", requester: "AmazonS3", operation: "S3.EXPIRE.OBJECT", request: "-", status: "-",
                bytes: "-", referrer: "-", agent: "-"))
        #expect(p.result == .skip)
        // A bad status is still a reject.
        #expect(try Self.parse(Self.line(status: "2x0")).result == .reject(.badStatus))
    }

    @Test("an AWS client is a bot, not a visitor")
    func awsClients() {
        let c = UserAgentClassifier()
        for (agent, name) in [
            ("aws-cli/2.15.0 Python/3.11.6 Linux/6.1.61 exe/x86_64.debian.12", BotName.awsCLI),
            ("S3Console/0.4", .awsConsole),
        ] {
            var text = agent
            let k = text.withUTF8 { c.classify($0) }
            #expect(k.kind == .bot && k.botName == name, "\(agent)")
        }
    }
}

extension S3AccessLogFormatTests {
    /// A multi-object delete's line per key, as S3 writes it: a bare `-` request, Referer and
    /// user agent.
    static let batchDelete =
        "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592 www.example.com "
        + "[06/Feb/2026:00:00:38 +0000] 192.0.2.3 arn:aws:iam::123456789012:user/alice 3E57427F3EXAMPLE "
        + "BATCH.DELETE.OBJECT old/a.html - 204 - - - - - - - - s9lzHYrFp76ZVxRcpX9= SigV4 - AuthHeader "
        + "s3.us-west-1.amazonaws.com - - - -"

    @Test("S3's own operations that do not parse (a batch delete's bare `-` request) are skipped; others reject")
    func internalOperations() throws {
        #expect(try Self.parse(Self.batchDelete).result == .skip)
        let lifecycle = Self.batchDelete.replacingOccurrences(of: "BATCH.DELETE.OBJECT", with: "S3.EXPIRE.OBJECT")
        #expect(try Self.parse(lifecycle).result == .skip)
        // The same damage on a client's request is a reject, and so is a line without S3's time.
        let rest = Self.batchDelete.replacingOccurrences(of: "BATCH.DELETE.OBJECT", with: "REST.DELETE.OBJECT")
        #expect(try Self.parse(rest).result != .skip)
        let noTime = Self.batchDelete.replacingOccurrences(of: "[06/Feb/2026:00:00:38 +0000]", with: "[06/Feb/2026]")
        #expect(try Self.parse(noTime).result != .skip)
        // A damaged line of S3's own operations whose request is quoted is a reject too.
        let damaged = Self.line(operation: "S3.EXPIRE.OBJECT", status: "abc")
        #expect(try Self.parse(damaged).result == .reject(.badStatus))
    }

    @Test("a file whose first lines are all S3's own operations is still detected as S3's")
    func detectedFromSkippedLines() {
        let lifecycle = Self.line(
            client: "-", requester: "AmazonS3", operation: "S3.EXPIRE.OBJECT", request: "-", status: "-",
            bytes: "-", referrer: "-", agent: "-")
        let sample = (0..<64).map { Array(($0 % 2 == 0 ? Self.batchDelete : lifecycle).utf8) }
        let d = FormatDetector.detect(sample)
        #expect(d.format.name == "aws_s3" && d.recognised, "\(d.format.name)")
        // Blank lines are nobody's: a sample of them is not recognised as S3's.
        #expect(FormatDetector.detect([Array("   ".utf8), Array("\t".utf8)]).format.name != "aws_s3")
    }
}
