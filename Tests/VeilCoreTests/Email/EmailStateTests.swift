import Foundation
import Testing

@testable import VeilCore

/// A seeded day and a half of e-mail traffic in a combined log, mixed with page traffic: opens
/// by people, proxies and bots, human clicks, scanner bursts (two or three links within two
/// seconds, which round-robin sharding splits across parts), and one recipient with far more
/// than 64 distinct clicks (so the kept records and the extra counts are exercised).
struct EmailTestLog {
    var lines: [String]

    init(seed: UInt64, recipients: Int = 60) {
        var rng = StateTestRNG(seed: seed)
        let start = StateTestKit.time(2026, 11, 28, 12)
        var out: [(Int64, String)] = []
        let campaigns = ["spring-sale", "weekly-digest", "winback"]
        let links = ["hero", "cta", "footer"]
        let agents = [
            EmailTestKit.chrome, StateTestKit.iphone, EmailTestKit.gmailProxy, EmailTestKit.appleMPP, StateTestKit.curl,
        ]
        for r in 0..<recipients {
            let token = "r\(r)-" + String(rng.next() % 1_000_000, radix: 36)
            let ip = StateTestKit.address(r)
            for c in campaigns where rng.chance(70) {
                let sent = start + Int64(rng.int(30 * 3600))
                for _ in 0..<rng.int(0...3) {
                    let t = sent + Int64(rng.int(1...20_000))
                    out.append((t, Self.line("/t/open.gif?m=\(c)&r=\(token)", t, ip, agents[rng.int(agents.count)])))
                }
                if rng.chance(15) {
                    // A scanner: every link within two seconds, from an ordinary browser.
                    var t = sent + Int64(rng.int(5...60))
                    for l in links.prefix(rng.int(2...3)) {
                        out.append(
                            (t, Self.line("/c/\(c)/\(l)?r=\(token)", t, "198.18.0.\(r % 250 + 1)", EmailTestKit.chrome))
                        )
                        t += Int64(rng.int(0...1))
                    }
                }
                for _ in 0..<rng.int(0...2) {
                    let t = sent + Int64(rng.int(600...30_000))
                    out.append(
                        (t, Self.line("/c/\(c)/\(links[rng.int(links.count)])?r=\(token)", t, ip, agents[rng.int(2)])))
                }
            }
        }
        // A heavy clicker: 100 clicks a minute apart, some by a scanner agent.
        for i in 0..<100 {
            let t = start + 7200 + Int64(i * 60)
            out.append(
                (
                    t,
                    Self.line(
                        "/c/spring-sale/\(links[i % 3])?r=heavy", t, "192.0.2.99",
                        i % 7 == 0 ? EmailTestKit.barracuda : EmailTestKit.chrome)
                ))
        }
        // Page traffic, so e-mail lines are a minority as in real logs.
        for r in StateTestLog(seed: seed ^ 0xABCD, visitors: 40).requests { out.append((r.time, r.line)) }
        lines = out.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
    }

    static func line(_ target: String, _ t: Int64, _ ip: String, _ ua: String) -> String {
        "\(ip) - - [\(StateTestKit.clf(t))] \"GET \(target) HTTP/1.1\" 200 43 \"-\" \"\(ua)\""
    }

    var roundRobinShards: [[String]] { (0..<3).map { s in lines.indices.filter { $0 % 3 == s }.map { lines[$0] } } }
    var contiguousShards: [[String]] {
        let n = lines.count
        return [Array(lines[0..<n / 3]), Array(lines[n / 3..<2 * n / 3]), Array(lines[2 * n / 3..<n])]
    }
}

@Suite("E-mail: recipient summaries merge, encode and release deterministically")
struct EmailStateTests {
    @Test(
        "merge is commutative and associative, and shards merged equal the whole",
        arguments: ["contiguous", "round-robin"])
    func mergeProperties(sharding: String) throws {
        let ws = try StateTestWorkspace()
        let log = EmailTestLog(seed: 0xE3A1)
        let whole = try EmailTestKit.aggregate(ws, log.lines, name: "whole.log")
        let shards = sharding == "contiguous" ? log.contiguousShards : log.roundRobinShards
        let parts = try shards.enumerated().map { i, l in try EmailTestKit.aggregate(ws, l, name: "part\(i).log") }
        let (a, b, c) = (parts[0], parts[1], parts[2])

        // Sanity: the log has what the test is about.
        #expect(whole.recipientCount > 100)
        let heavy = try #require(whole.recipients.first { $0.clickCount == 100 })
        #expect(heavy.clicks.count == RecipientSummary.maxClickRecords && !heavy.extraClicks.isEmpty)
        let wholeScanners = try EmailTestKit.total(whole, "scanner_clicks")
        #expect(wholeScanners > 40, "too few scanner clicks: \(wholeScanners)")
        #expect(try EmailTestKit.total(whole, "clicks") > 100)

        let ab = try StateTestKit.merged(a, b), ba = try StateTestKit.merged(b, a)
        #expect(StateCodec.encode(ab) == StateCodec.encode(ba), "merge(a, b) != merge(b, a)")
        let abc = try StateTestKit.merged(ab, c)
        let abc2 = try StateTestKit.merged(a, StateTestKit.merged(b, c))
        #expect(StateCodec.encode(abc) == StateCodec.encode(abc2), "merge(merge(a, b), c) != merge(a, merge(b, c))")
        for order in [[c, b, a], [b, c, a], [c, a, b]] {
            #expect(StateCodec.encode(try AggregateState.merged(order)) == StateCodec.encode(abc))
        }
        #expect(
            StateTestKit.encodeIgnoringInputs(whole) == StateTestKit.encodeIgnoringInputs(abc),
            "whole != merged \(sharding) shards")
        for k in [1, 2, 5] {
            #expect(try StateTestKit.release(whole, k: k) == StateTestKit.release(abc, k: k), "k = \(k)")
        }
        if sharding == "round-robin" {
            // Each shard alone sees bursts broken up; only the merge sees them whole.
            let partScanners = try parts.map { try EmailTestKit.total($0, "scanner_clicks") }
            #expect(
                partScanners.reduce(0, +) < wholeScanners,
                "sharding did not split any burst: \(partScanners) vs \(wholeScanners)")
        }
    }

    @Test("kept click records are the 64 smallest whatever the merge order; every click is counted")
    func clickRecordCap() throws {
        var s = AggregateState(configuration: StateConfiguration())
        let site = s.sites.intern("example.com")
        let campaign = s.dims.intern("c")
        let links = ["b", "a", "c"].map { s.dims.intern($0) }
        let key = RecipientKey(site: site, campaign: campaign, day: 20_000, pseudonym: Pseudonym(hi: 1, lo: 2))
        var rng = StateTestRNG(seed: 99)
        var clicks: [(Int64, UInt32, Bool)] = []
        for _ in 0..<300 {
            clicks.append((Int64(20_000 * 86_400 + rng.int(200)), links[rng.int(3)], rng.chance(20)))
        }
        func summary(_ list: ArraySlice<(Int64, UInt32, Bool)>) -> RecipientSummary {
            var t = s
            let i = t.recipient(key)
            for (time, link, automated) in list { t.addClick(i, time: time, link: link, automated: automated) }
            return t.recipients[i]
        }
        let whole = summary(clicks[...])
        #expect(whole.clickCount == 300)
        #expect(whole.clicks.count == 64)
        let isLess = { (x: UInt32, y: UInt32) in s.dims.isLess(x, y) }
        for split in [1, 64, 150, 299] {
            var x = summary(clicks[..<split])
            x.merge(summary(clicks[split...]), isLess: isLess)
            var y = summary(clicks[split...])
            y.merge(summary(clicks[..<split]), isLess: isLess)
            #expect(x == whole && y == whole, "split at \(split)")
        }
        // Kept records: sorted, the smallest keys of all.
        let sortedKeys = Set(clicks.map { "\($0.0) \(s.dims.string($0.1)) \($0.2)" }).sorted {
            let a = $0.split(separator: " "), b = $1.split(separator: " ")
            return (Int(a[0])!, a[1], a[2]) < (Int(b[0])!, b[1], b[2])
        }
        #expect(
            whole.clicks.map { "\($0.time) \(s.dims.string($0.link)) \($0.automated)" } == Array(sortedKeys.prefix(64)))
    }

    @Test("decode(encode(s)) re-encodes to the same bytes; the timing rules travel with the state")
    func codecRoundTrip() throws {
        let ws = try StateTestWorkspace()
        let s = try EmailTestKit.aggregate(ws, EmailTestLog(seed: 5).lines) { a in
            a.emailTiming = EmailTimingRules(burstSeconds: 7, burstLinks: 3, deliverySeconds: -1)
        }
        let bytes = StateCodec.encode(s)
        let d = try StateCodec.decode(bytes, file: "s")
        #expect(StateCodec.encode(d) == bytes)
        #expect(d.configuration.emailTiming == EmailTimingRules(burstSeconds: 7, burstLinks: 3, deliverySeconds: -1))
        #expect(d.recipientCount == s.recipientCount && d.recipientCount > 0)
        #expect(try StateTestKit.release(d, k: 1) == StateTestKit.release(s, k: 1))
    }

    @Test("states with other scanner timing rules do not merge")
    func otherTimingRulesDoNotMerge() throws {
        let ws = try StateTestWorkspace()
        let lines = [EmailTestKit.click()]
        let a = try EmailTestKit.aggregate(ws, lines, name: "a.log")
        let b = try EmailTestKit.aggregate(ws, lines + [EmailTestKit.open()], name: "b.log") {
            $0.emailTiming.burstSeconds = 3
        }
        var m = a
        let e = #expect(throws: VeilError.self) { try m.merge(b) }
        #expect(e?.code == .state && e?.message.contains("scanner timing") == true, "\(e?.message ?? "")")
    }

    @Test("a delivery in an export and a click in a log, merged, meet the delivery rule")
    func deliveryAcrossSources() throws {
        let ws = try StateTestWorkspace()
        let export = try EmailTestKit.aggregate(
            ws, [EmailTestKit.sendgrid("delivered", email: "Jane@Example.com")], format: "json-sendgrid", name: "x.json"
        )
        // The log's recipient is the same address, percent-encoded and in another case.
        let log = try EmailTestKit.aggregate(
            ws, [EmailTestKit.click("c1", "hero", "JANE%40example.com", at: 4)], name: "a.log")
        #expect(try EmailTestKit.split(log) == EmailTestKit.Split(clicks: 1), "alone, the click is a person's")
        let merged = try StateTestKit.merged(log, export)
        #expect(try EmailTestKit.split(merged) == EmailTestKit.Split(scanner: 1))
        #expect(try EmailTestKit.campaigns(merged)["c1"]?["delivered"] == "1")
    }

    @Test("every single-bit flip of a small e-mail state is rejected")
    func bitFlips() throws {
        let bytes = StateCodec.encode(Self.smallState())
        #expect(AggregateStateTests.bitFlipsNotRejected(bytes, positions: Array(0..<bytes.count * 8)).isEmpty)
    }

    /// Corruption behind a valid checksum: decoding, releasing and merging never trap.
    @Test("checksummed but inconsistent recipient sections are errors, never a crash")
    func checksummedGarbage() async throws {
        let sane = try StateCodec.decode(StateCodec.encode(Self.smallState()), file: "small")
        #expect(sane.recipientCount == 2)
        await #expect(processExitsWith: .success) {
            let bytes = StateCodec.encode(EmailStateTests.smallState())
            let body = bytes.count - 4
            for bit in 0..<body * 8 {
                var copy = Array(bytes[..<body])
                copy[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
                var w = BinaryWriter(capacity: 4)
                w.writeUInt32(CRC32C.checksum(copy))
                copy += w.bytes
                guard var s = try? StateCodec.decode(copy, file: "fuzz") else { continue }
                _ = StateCodec.encode(s)
                var c = ReleaseConfiguration()
                c.k = 1
                if var r = try? Release(state: s, configuration: c) { _ = try? r.tables() }
                try? s.merge(EmailStateTests.smallState(otherInput: true))
            }
        }
    }

    /// Two recipients of one campaign: deliveries, opens of every kind, click records and extra
    /// clicks; built without a key store.
    static func smallState(otherInput: Bool = false) -> AggregateState {
        var s = AggregateState(configuration: StateConfiguration())
        let site = s.sites.intern("example.com")
        let campaign = s.dims.intern("spring")
        let links = [s.dims.intern("a"), s.dims.intern("b")]
        let day: Int32 = 20_785
        let t = Int64(day) * 86_400 + 3600
        s.epochs = ["d-2026-11-28"]
        s.inputs = [
            InputRecord(
                fingerprint: "sha256:" + String(repeating: otherInput ? "cd" : "ab", count: 32), name: "x.log",
                bytes: 100, lines: 2, records: 2, rejected: 0)
        ]
        for n in 0..<2 {
            let i = s.recipient(
                RecipientKey(site: site, campaign: campaign, day: day, pseudonym: Pseudonym(hi: UInt64(n), lo: 7)))
            s.recipients[i].addDelivered(time: t)
            s.recipients[i].addOpen(time: t + 5, kind: .proxy)
            s.recipients[i].addOpen(time: t + 900, kind: .human)
            for c in 0..<(n == 0 ? 3 : 70) {
                s.addClick(i, time: t + Int64(c * 2), link: links[c % 2], automated: c % 5 == 0)
            }
        }
        return s
    }
}
