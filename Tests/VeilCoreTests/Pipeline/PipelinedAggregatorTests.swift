import Foundation
import Testing

@testable import VeilCore

/// `PipelinedAggregator` (visitor pseudonyms on the parsing thread, the rest of aggregation on a
/// second one) must give the state one `Aggregator` gives on its own, byte for byte.
@Suite("Two-thread pipeline: the same state as one aggregator")
struct PipelinedAggregatorTests {
    /// Records per batch in these tests: small, so that small inputs span many batches.
    static let batchSize = 1024

    /// Aggregates the file at `path` through the pipeline; the back end gets `back` as its
    /// pseudonymiser (default: one of `ws`).
    static func pipelined(
        _ ws: StateTestWorkspace, path: String, ingest: IngestConfiguration,
        aggregation: AggregationConfiguration = AggregationConfiguration(), back: Pseudonymizer? = nil,
        front: Pseudonymizer? = nil, share: PseudonymShare = PseudonymShare(),
        batchSize: Int = PipelinedAggregatorTests.batchSize
    ) throws -> AggregateState {
        try pipelinedWithReport(
            ws, path: path, ingest: ingest, aggregation: aggregation, back: back, front: front, share: share,
            batchSize: batchSize
        ).state
    }

    /// `pipelined`, and the input's report.
    static func pipelinedWithReport(
        _ ws: StateTestWorkspace, path: String, ingest: IngestConfiguration,
        aggregation: AggregationConfiguration = AggregationConfiguration(), back: Pseudonymizer? = nil,
        front: Pseudonymizer? = nil, share: PseudonymShare = PseudonymShare(),
        batchSize: Int = PipelinedAggregatorTests.batchSize
    ) throws -> (state: AggregateState, report: FileReport) {
        let aggregator = try Aggregator(configuration: aggregation, pseudonymizer: back ?? ws.pseudonymizer())
        var pipeline = PipelinedAggregator(
            aggregator: aggregator, pseudonymizer: front ?? ws.pseudonymizer(), share: share, batchSize: batchSize)
        let report = try Ingest.run(path: path, configuration: ingest, sink: &pipeline)
        var done = try pipeline.finish()
        done.addInput(report)
        return (done.finish(), report)
    }

    static func plain(
        _ ws: StateTestWorkspace, path: String, ingest: IngestConfiguration,
        aggregation: AggregationConfiguration = AggregationConfiguration()
    ) throws -> AggregateState {
        try plainWithReport(ws, path: path, ingest: ingest, aggregation: aggregation).state
    }

    /// `plain`, and the input's report.
    static func plainWithReport(
        _ ws: StateTestWorkspace, path: String, ingest: IngestConfiguration,
        aggregation: AggregationConfiguration = AggregationConfiguration()
    ) throws -> (state: AggregateState, report: FileReport) {
        var aggregator = try Aggregator(configuration: aggregation, pseudonymizer: ws.pseudonymizer())
        let report = try Ingest.run(path: path, configuration: ingest, sink: &aggregator)
        aggregator.addInput(report)
        return (aggregator.finish(), report)
    }

    /// A report without its timing (`seconds`), which differs from run to run.
    static func timeless(_ report: FileReport) -> FileReport {
        var r = report
        r.seconds = 0
        return r
    }

    static func write(_ ws: StateTestWorkspace, _ lines: [[UInt8]], name: String) throws -> String {
        let path = ws.directory + "/" + name
        let bytes: [UInt8] = lines.flatMap { $0 + [0x0A] }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes as [UInt8])) else {
            throw VeilError(.io, "cannot write \(path)")
        }
        return path
    }

    @Test(
        "a synthetic day (visits across midnight and two key epochs, bots, assets, 404s, e-mail pixels) in many batches"
    )
    func syntheticDay() throws {
        let ws = try StateTestWorkspace()
        var lines = StateTestLog(seed: 0x9A1E, visitors: 700).lines
        // E-mail opens and clicks in the access log: recipient pseudonyms on the aggregating side.
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 21))
        for i in 0..<300 {
            lines.insert(
                "198.51.100.\(i % 200) - - [\(stamp)] \"GET /t/open.gif?m=spring&r=tok\(i % 70) HTTP/1.1\" 200 43 \"-\" \"\(StateTestKit.chrome)\"",
                at: (i * 37) % lines.count)
        }
        #expect(lines.count > 3 * Self.batchSize, "the input spans several batches")
        #expect(lines.count > 2 * PipelinedAggregator.batchSize, "the input spans several batches of the default size")
        let path = try ws.write(lines, name: "day.log")
        let plain = try Self.plain(ws, path: path, ingest: StateTestKit.combined)
        let piped = try Self.pipelined(ws, path: path, ingest: StateTestKit.combined)
        #expect(plain.visitorCount > 100 && plain.recipientCount > 10)
        #expect(StateCodec.encode(piped) == StateCodec.encode(plain))
        let pipedByDefault = try Self.pipelined(
            ws, path: path, ingest: StateTestKit.combined, batchSize: PipelinedAggregator.batchSize)
        #expect(StateCodec.encode(pipedByDefault) == StateCodec.encode(plain))
    }

    @Test(
        "visitor pseudonyms split between the two threads, pinned at 0, 1, 100, 255 and 256 of 256 parts: the same state"
    )
    func pinnedShares() throws {
        let ws = try StateTestWorkspace()
        // Cookie ids on a third of the lines: the split follows the cookie when there is one.
        let lines = StateTestLog(seed: 0x5A4E, visitors: 500).lines.enumerated().map { i, line in
            line + (i % 3 == 0 ? " \"uid\(i % 97)x\"" : " \"-\"")
        }
        let path = try ws.write(lines, name: "cookies.log")
        var ingest = IngestConfiguration()
        ingest.format = .named("combined_cookie")
        let plain = try Self.plain(ws, path: path, ingest: ingest)
        #expect(plain.visitorCount > 300)
        for parts in [0, 1, 100, 255, 256] {
            let front = ws.pseudonymizer(), back = ws.pseudonymizer()
            let piped = try Self.pipelined(
                ws, path: path, ingest: ingest, back: back, front: front,
                share: PseudonymShare(frontParts: parts, adapts: false))
            #expect(StateCodec.encode(piped) == StateCodec.encode(plain), "front parts \(parts)")
            // Each side computed the HMACs of its own visitors, and no visitor's twice.
            #expect((front.hmacCount == 0) == (parts == 0), "front parts \(parts): \(front.hmacCount) HMACs")
            #expect((back.hmacCount == 0) == (parts == 256), "front parts \(parts): \(back.hmacCount) HMACs")
            let one = ws.pseudonymizer()
            _ = try Self.pipelined(
                ws, path: path, ingest: ingest, back: ws.pseudonymizer(), front: one,
                share: PseudonymShare(frontParts: 256, adapts: false))
            #expect(front.hmacCount + back.hmacCount == one.hmacCount, "front parts \(parts)")
        }
    }

    @Test(
        "lines parsed on the aggregating thread, pinned at 1, 7, 16 and 32 of 32: the same state and report, rejects, repairs and the time window included"
    )
    func linesParsedAside() throws {
        let ws = try StateTestWorkspace()
        let good = StateTestLog(seed: 0xA51D, visitors: 600).lines
        #expect(good.count > 3 * Self.batchSize, "the input spans several batches")
        // Every kind of line the parsers count apart, spread through the file: rejects (their
        // first line numbers are reported), a final quote left open (kept, reported as
        // repaired), blank lines (skipped), and records outside the window.
        var lines: [String] = []
        for (i, line) in good.enumerated() {
            lines.append(line)
            switch i % 53 {
            case 5: lines.append("not a log line \(i)")
            case 11: lines.append(String(line.prefix(line.count / 2)))
            case 17: lines.append(String(line.dropLast()))
            case 23: lines.append("   ")
            case 29: lines.append(line.replacingOccurrences(of: "HTTP/1.1\" 200", with: "HTTP/1.1\" 999"))
            default: break
            }
        }
        let path = try Self.write(ws, lines.map { Array($0.utf8) }, name: "aside.log")
        var ingest = StateTestKit.combined
        ingest.from = StateTestKit.time(2026, 11, 28, 19)
        ingest.until = StateTestKit.time(2026, 11, 29, 2)
        let plain = try Self.plainWithReport(ws, path: path, ingest: ingest)
        #expect(plain.report.rejected > 100 && plain.report.rejects.count >= 2)
        #expect(plain.report.repaired.first?.count ?? 0 > 50)
        #expect(plain.report.skipped > 50 && plain.report.outsideWindow > 100)
        for aside in [1, 7, 16, 32] {
            let piped = try Self.pipelinedWithReport(
                ws, path: path, ingest: ingest, share: PseudonymShare(frontParts: 0, asideLines: aside, adapts: false))
            #expect(StateCodec.encode(piped.state) == StateCodec.encode(plain.state), "aside \(aside)")
            #expect(Self.timeless(piped.report) == Self.timeless(plain.report), "aside \(aside)")
        }
    }

    @Test("W3C lines are never parsed on the aggregating thread: their columns come from the #Fields before them")
    func w3cLinesStayOnTheReadingThread() throws {
        let ws = try StateTestWorkspace()
        // Two layouts that put the status and the path in each other's column: a line parsed by
        // a parser that missed the second #Fields would be rejected or misread.
        var lines = ["#Software: Microsoft Internet Information Services 10.0"]
        for block in 0..<8 {
            let swapped = block % 2 == 1
            lines.append(
                swapped
                    ? "#Fields: date time c-ip cs(User-Agent) sc-status cs-method cs-uri-stem"
                    : "#Fields: date time cs-uri-stem cs-method sc-status c-ip cs(User-Agent)")
            for i in 0..<1_500 {
                let ip = StateTestKit.address(i % 700), page = "/p/\(i % 40)", agent = "Mozilla/5.0+(X11;+Linux+x86_64)"
                let time = "2026-11-28 \(10 + block):\(i % 60 < 10 ? "0" : "")\(i % 60):00"
                lines.append(
                    swapped ? "\(time) \(ip) \(agent) 200 GET \(page)" : "\(time) \(page) GET 200 \(ip) \(agent)")
            }
        }
        let path = try Self.write(ws, lines.map { Array($0.utf8) }, name: "fields.log")
        var ingest = IngestConfiguration()
        ingest.format = .named("w3c")
        let plain = try Self.plainWithReport(ws, path: path, ingest: ingest)
        #expect(plain.report.rejected == 0 && plain.report.records == 8 * 1_500)
        let piped = try Self.pipelinedWithReport(
            ws, path: path, ingest: ingest, share: PseudonymShare(frontParts: 0, asideLines: 32, adapts: false))
        #expect(StateCodec.encode(piped.state) == StateCodec.encode(plain.state))
        #expect(Self.timeless(piped.report) == Self.timeless(plain.report))
    }

    @Test("the split follows the queue: moved only by a run of signals one way, a step at a time, within 0...256")
    func shareSteering() {
        var share = PseudonymShare()
        #expect(share.frontParts == 256)
        // Wavering moves nothing; one batch waiting is neither signal (it breaks no run either).
        for waiting in [0, 2, 0, 3, 1, 0, 0, 2, 0, 1, 0, 0, 4, 0, 1, 1, 2] { share.handedOver(waiting: waiting) }
        #expect(share.frontParts == 256)
        // The reading thread is the slower one: the aggregating thread gets visitors, a step per run.
        for _ in 0..<PseudonymShare.run { share.handedOver(waiting: 0) }
        #expect(share.frontParts == 256 - PseudonymShare.step)
        for _ in 0..<(PseudonymShare.run * 1_000) { share.handedOver(waiting: 0) }
        #expect(share.frontParts == 0)
        // And back when the aggregating thread falls behind; never past all parts.
        for _ in 0..<(PseudonymShare.run * 3) { share.handedOver(waiting: 2) }
        #expect(share.frontParts == 3 * PseudonymShare.step)
        for _ in 0..<(PseudonymShare.run * 1_000) { share.handedOver(waiting: 4) }
        #expect(share.frontParts == 256)
        // Lines go over unparsed only when the format allows it, and only once every visitor is
        // over; they come back first.
        #expect(share.asideLines == 0)
        for _ in 0..<(PseudonymShare.run * 1_000) { share.handedOver(waiting: 0) }
        #expect(share.frontParts == 0 && share.asideLines == 0, "the format's lines do not parse alone")
        share.parsesAside = true
        for _ in 0..<(PseudonymShare.run * 3) { share.handedOver(waiting: 0) }
        #expect(share.frontParts == 0 && share.asideLines == 3)
        for _ in 0..<(PseudonymShare.run * 1_000) { share.handedOver(waiting: 0) }
        #expect(share.asideLines == PseudonymShare.lineParts)
        for _ in 0..<(PseudonymShare.run * (PseudonymShare.lineParts - 1)) { share.handedOver(waiting: 2) }
        #expect(share.frontParts == 0 && share.asideLines == 1)
        for _ in 0..<(PseudonymShare.run * 2) { share.handedOver(waiting: 3) }
        #expect(share.frontParts == PseudonymShare.step && share.asideLines == 0)
        // Pinned: nothing moves it.
        var pinned = PseudonymShare(frontParts: 40, adapts: false)
        for _ in 0..<100 { pinned.handedOver(waiting: 0) }
        #expect(pinned.frontParts == 40)
    }

    @Test("a visitor's part comes from its cookie, else its address; addresses spread over the parts")
    func shareParts() throws {
        var format = try #require(TextFormat.preset("combined_cookie"))
        func part(_ line: String) throws -> Int {
            var bytes = Array(line.utf8)
            var record = LogRecord()
            return try bytes.withUnsafeMutableBufferPointer { buffer in
                try #require(format.parse(buffer, into: &record) == .record)
                return PseudonymShare.part(record, UnsafeBufferPointer(buffer))
            }
        }
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 9))
        func line(_ ip: String, _ path: String, _ agent: String, _ cookie: String) -> String {
            "\(ip) - - [\(stamp)] \"GET \(path) HTTP/1.1\" 200 5 \"-\" \"\(agent)\" \"\(cookie)\""
        }
        // The same cookie from other addresses and agents, the same address with other paths.
        let cookie = try part(line("192.0.2.1", "/a", StateTestKit.firefox, "c0ffee42"))
        #expect(try part(line("198.51.100.7", "/b", StateTestKit.chrome, "c0ffee42")) == cookie)
        let address = try part(line("203.0.113.9", "/a", StateTestKit.firefox, "-"))
        #expect(try part(line("203.0.113.9", "/zz", StateTestKit.chrome, "-")) == address)
        #expect(try part(line("203.0.113.9", "/a", StateTestKit.firefox, "-")) == address)
        // 4096 addresses of 16 /24 networks: every quarter of the parts gets between 15% and 35%.
        var quarters = [0, 0, 0, 0]
        for i in 0..<4096 {
            quarters[try part(line("10.\(i / 256).\(i % 16).\(i % 256)", "/", StateTestKit.firefox, "-")) / 64] += 1
        }
        #expect(quarters.allSatisfy { (614...1434).contains($0) }, "\(quarters)")
        // Short fields: one or two bytes still give a part.
        #expect((0..<256).contains(try part(line("1", "/", StateTestKit.firefox, "-"))))
        #expect((0..<256).contains(try part(line("::", "/", StateTestKit.firefox, "-"))))
    }

    @Test("a configured site (`--site`) keys the reading thread's pseudonyms by its canonical name, as one thread does")
    func configuredSiteOnTheReadingThread() throws {
        let ws = try StateTestWorkspace()
        let path = try ws.write(StateTestLog(seed: 0x517E, visitors: 200).lines, name: "site.log")
        var plainSite = AggregationConfiguration()
        plainSite.defaultSite = "www.example.com"
        let plain = try Self.plain(ws, path: path, ingest: StateTestKit.combined, aggregation: plainSite)
        var typed = AggregationConfiguration()
        typed.defaultSite = "WWW.Example.com.:443"
        // Every visitor's pseudonym computed on the reading thread.
        let piped = try Self.pipelined(
            ws, path: path, ingest: StateTestKit.combined, aggregation: typed,
            share: PseudonymShare(frontParts: 256, adapts: false))
        #expect(StateCodec.encode(piped) == StateCodec.encode(plain))
    }

    @Test("batches of long lines (more bytes than a batch reserves) keep every line whole")
    func longLines() throws {
        let ws = try StateTestWorkspace()
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 12))
        // ~3 KB lines: a full batch holds six times the 512 bytes per line it starts with.
        let lines = (0..<(2 * Self.batchSize + 100)).map { i in
            let agent = "Mozilla/5.0 (X11; Linux x86_64) " + String(repeating: "Extension/\(i % 50) ", count: 250)
            return "192.0.2.\(i % 250) - - [\(stamp)] \"GET /page/\(i % 300) HTTP/1.1\" 200 \(i) \"-\" \"\(agent)\""
        }
        #expect(lines.allSatisfy { $0.utf8.count > 2_000 })
        let path = try ws.write(lines, name: "long.log")
        let plain = try Self.plain(ws, path: path, ingest: StateTestKit.combined)
        let piped = try Self.pipelined(ws, path: path, ingest: StateTestKit.combined)
        #expect(plain.visitorCount > 100)
        let same = StateCodec.encode(piped) == StateCodec.encode(plain)
        #expect(same, "the pipeline's state differs from one aggregator's")
    }

    @Test(
        "a host field as a site name",
        arguments: [
            ("WWW.Example.COM", "www.example.com"), ("www.example.com:8080", "www.example.com"),
            ("www.example.com.", "www.example.com"), ("www.example.com.:443", "www.example.com"),
            ("[2001:DB8::1]:8080", "[2001:db8::1]"), ("[2001:db8::1]", "[2001:db8::1]"),
            ("2001:db8::1", "2001:db8::1"), ("192.0.2.7:80", "192.0.2.7"), ("example.com:", "example.com"),
            ("example.com:8o", "example.com:8o"), (".", "."),
        ])
    func canonicalSiteName(_ host: String, _ expected: String) {
        let name = Array(host.utf8).withUnsafeBufferPointer { VisitorPseudonyms.canonicalSiteName($0) }
        #expect(String(decoding: name, as: UTF8.self) == expected)
    }

    @Test("host names as the state spells them: case, ports, IPv6 literals, invalid UTF-8, no host")
    func siteNames() throws {
        let ws = try StateTestWorkspace()
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 10))
        let hosts: [[UInt8]] = [
            Array("WWW.Example.COM:443".utf8), Array("www.example.com:80".utf8), Array("[2001:db8::1]:8080".utf8),
            Array("shop.example.net:8080".utf8), [0x73, 0xFF, 0xFE, 0x2E, 0x6E, 0x65, 0x74, 0x3A, 0x38, 0x30],
            Array("-:80".utf8), Array("WWW.EXAMPLE.COM.:443".utf8),
        ]
        var lines: [[UInt8]] = []
        for i in 0..<600 {
            let rest =
                " 192.0.2.\(i % 50) - - [\(stamp)] \"GET /p\(i % 7) HTTP/1.1\" 200 10 \"-\" \"\(StateTestKit.firefox)\""
            lines.append(hosts[i % hosts.count] + Array(rest.utf8))
        }
        let path = try Self.write(ws, lines, name: "hosts.log")
        var ingest = IngestConfiguration()
        ingest.format = .named("vhost_combined")
        let plain = try Self.plain(ws, path: path, ingest: ingest)
        let piped = try Self.pipelined(ws, path: path, ingest: ingest)
        let names = Set((0..<plain.sites.count).map { plain.sites.string(UInt32($0)) })
        let expected: Set<String> = [
            "www.example.com", "[2001:db8::1]", "shop.example.net", "s\u{FFFD}\u{FFFD}.net",
            AggregationConfiguration().defaultSite,
        ]
        #expect(names == expected, "a port, the case and a fully qualified name's last dot are not part of a site")
        #expect(StateCodec.encode(piped) == StateCodec.encode(plain))
    }

    /// Run in a child process, as `AggregateStateTests.manySites` is: 32k sites take memory
    /// that would otherwise stay with the test process (and count in the peak RSS that the
    /// command-line tests read from the `veil` processes it starts).
    @Test("hosts past the site limit: folded into (other) with the pseudonyms one aggregator gives them")
    func foldedSites() async {
        await #expect(processExitsWith: .success) {
            exit(PipelinedAggregatorTests.foldedSitesCheck())
        }
    }

    /// 0 when the pipeline's state equals one aggregator's; otherwise which check failed.
    static func foldedSitesCheck() -> Int32 {
        do {
            let ws = try StateTestWorkspace()
            let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 12))
            let n = CellKey.maxSites + 40
            let lines = (0..<n).map { i in
                Array(
                    "s\(i).example.com:443 192.0.2.\(i % 7) - - [\(stamp)] \"GET /p HTTP/1.1\" 200 10 \"-\" \"\(StateTestKit.firefox)\""
                        .utf8)
            }
            let path = try Self.write(ws, lines, name: "vhosts.log")
            var ingest = IngestConfiguration()
            ingest.format = .named("vhost_combined")
            let plain = try Self.plain(ws, path: path, ingest: ingest)
            let piped = try Self.pipelined(ws, path: path, ingest: ingest)
            guard plain.sites.intern(otherLabel, readOnly: true) != nil else { return 10 }  // some hosts were folded
            guard StateCodec.encode(piped) == StateCodec.encode(plain) else { return 11 }
            return 0
        } catch {
            return 12
        }
    }

    @Test("a pipeline dropped unfinished stops its aggregating thread and waits for it")
    func abandoned() throws {
        let ws = try StateTestWorkspace()
        // E-mail hits all through: the aggregating thread computes recipient pseudonyms with `back`.
        var lines = StateTestLog(seed: 0xAB, visitors: 300).lines
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 21))
        for i in stride(from: 0, to: lines.count, by: 3) {
            lines[i] =
                "198.51.100.\(i % 200) - - [\(stamp)] \"GET /t/open.gif?m=spring&r=tok\(i) HTTP/1.1\" 200 43 \"-\" \"\(StateTestKit.chrome)\""
        }
        let path = try ws.write(lines, name: "part.log")
        let back = ws.pseudonymizer()
        for _ in 0..<3 {
            // As an input that fails half way: records go in, `finish` is never called.
            var pipeline = PipelinedAggregator(
                aggregator: try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: back),
                pseudonymizer: ws.pseudonymizer())
            _ = try Ingest.run(path: path, configuration: StateTestKit.combined, sink: &pipeline)
        }
        // The aggregating threads are gone: nothing uses the back end's pseudonymiser any more.
        let settled = back.hmacCount
        Thread.sleep(forTimeInterval: 0.2)
        #expect(back.hmacCount == settled)
        let before = back.hmacCount
        _ = try back.recipient(epoch: EpochID("d-2026-11-28")!, site: "example.com", token: "someone@example.org")
        #expect(back.hmacCount == before + 1)
        // And a finished pipeline over the same file still gives one aggregator's state.
        let plain = try Self.plain(ws, path: path, ingest: StateTestKit.combined)
        let piped = try Self.pipelined(ws, path: path, ingest: StateTestKit.combined)
        #expect(StateCodec.encode(piped) == StateCodec.encode(plain))
    }

    @Test("an error on the aggregating thread reaches the caller, naming its cause")
    func backError() throws {
        let ws = try StateTestWorkspace()
        // The aggregating side's pseudonymiser has no keys: the first e-mail hit fails there.
        let empty = try StateTestWorkspace()
        let keyless = Pseudonymizer(
            keyStore: try KeyStore(path: empty.directory + "/other-keys", now: StateTestKit.time(2026, 11, 1)),
            createKeys: false)
        var lines = StateTestLog(seed: 0xE44, visitors: 200).lines
        let stamp = StateTestKit.clf(StateTestKit.time(2026, 11, 28, 22))
        lines.insert(
            "198.51.100.9 - - [\(stamp)] \"GET /t/open.gif?m=spring&r=tok9 HTTP/1.1\" 200 43 \"-\" \"\(StateTestKit.chrome)\"",
            at: lines.count / 2)
        let path = try ws.write(lines, name: "mail.log")
        #expect {
            _ = try Self.pipelined(ws, path: path, ingest: StateTestKit.combined, back: keyless)
        } throws: { error in
            (error as? VeilError)?.code == .key
        }
    }
}
