import Foundation
import Testing

// End-to-end tests of e-mail open and click tracking (README "E-mail opens and clicks"): the
// built `veil` on access logs with pixel and click URLs and on SendGrid / Mailgun event exports
// from `veil-fixtures generate`, compared with the generator's per-campaign truth.
//
// - exact counts: campaigns.csv and campaign_links.csv equal the truth (opens by kind, clicks
//   and scanner clicks, deliveries; unique counts within HyperLogLog error, in fact exact);
// - every scanner rule catches its kind of scanner, and only it;
// - shards merged equal the whole export (the timing rules see clicks from every shard);
// - a field mapping reads an export like its preset;
// - no recipient token, e-mail address (as written, lower-cased, %40-encoded), IP or user agent,
//   nor the MD5 / SHA-1 / SHA-256 of any of them, occurs in any byte veil writes;
// - `veil inspect` counts e-mail events by kind; the CSV contract holds; bad options exit 2.

// MARK: - Helpers

/// A CSV file as rows of column → value (RFC 4180 as veil writes it).
private func csvRows(_ path: String) throws -> [[String: String]] { try CSVTable(path).rows }

private func int(_ row: [String: String], _ column: String) -> Int { Int(row[column] ?? "") ?? -1 }

@discardableResult
private func veil(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
    let r = try CLI.veil(args, env: env)
    try #require(r.status == 0, "veil \(args.joined(separator: " ")) failed: \(r)")
    return r
}

/// A generated SendGrid export without malformed events (a bad one would end its batch, see
/// `EmailFormatTests.eventArrays`), and its events one per element.
private func sendgridEvents(seed: UInt64, in dir: String) throws -> (log: String, events: [String]) {
    let g = try CLI.generate(
        format: "json-sendgrid", lines: 3_000, seed: seed, extra: ["--malformed-share", "0"], in: dir)
    return (g.log, String(decoding: try CLI.read(g.log), as: UTF8.self).split(separator: "\n").map(String.init))
}

/// The first input's report of `veil inspect --json`.
private func inspectReport(_ r: ProcessResult) throws -> [String: Any] {
    try #require((try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first, "\(r)")
}

private func python(_ args: [String]) throws -> ProcessResult {
    try CLI.run(try CLI.tool("python3", package: "python3"), args, timeout: 120)
}

/// `|a - b| <= 2 % of b` (HyperLogLog's error at p = 14 is about 0.8 %).
private func close(_ a: Int, _ b: Int) -> Bool { abs(a - b) * 50 <= max(b, 1) }

/// The per-campaign truth of an export (`campaigns` of the truth file).
private struct ExportTruth {
    struct Row {
        var day: String
        var campaign: String
        var values: [String: Int]
        var scannerByRule: [String: Int]
        var links: [(label: String, clicks: Int, clickers: Int)]
    }

    var rows: [Row]
    var events: [String: Int]
    var malformed: Int
    var physicalLines: Int

    init(_ g: GeneratedLog) throws {
        let t = try g.truthJSON()
        let list = try #require(t["campaigns"] as? [[String: Any]])
        rows = try list.map { r in
            var values: [String: Int] = [:]
            for (k, v) in r { if let n = v as? Int { values[k] = n } }
            let links = try #require(r["links"] as? [[String: Any]]).map {
                ($0["label"] as? String ?? "", $0["clicks"] as? Int ?? -1, $0["unique_clickers"] as? Int ?? -1)
            }
            return Row(
                day: r["day"] as? String ?? "", campaign: r["campaign"] as? String ?? "", values: values,
                scannerByRule: r["scanner_clicks_by_rule"] as? [String: Int] ?? [:], links: links)
        }
        events = try #require(t["events"] as? [String: Int])
        let log = try #require(t["log"] as? [String: Any])
        malformed = try #require((log["malformed"] as? [String: Any])?["total"] as? Int)
        physicalLines = try #require(log["physical_lines"] as? Int)
    }

    func total(_ key: String) -> Int { rows.reduce(0) { $0 + ($1.values[key] ?? 0) } }
    func scanner(_ rules: [String]) -> Int {
        rows.reduce(0) { r, row in r + rules.reduce(0) { $0 + (row.scannerByRule[$1] ?? 0) } }
    }
}

private let scannerNetwork = "192.0.2.224/28"

// MARK: - Tests

@Suite("E-mail opens and clicks: exact counts, scanner rules, shards, leaks, inspect")
struct EmailCLITests {

    /// Access logs with pixel and click URLs (one UTC day): every campaign's opens by kind and
    /// clicks equal the truth, unique openers and clickers within 2 %; the link rows add up to
    /// the clicks; `veil inspect` finds every open and click. The generator's clicks are all a
    /// person's, so there are no scanner clicks.
    @Test("logs: campaign counts equal the truth", arguments: ["combined_cookie", "json-caddy", "aws_alb"])
    func logCountsEqualTruth(format: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        var extra = ["--email-share", "0.12"]
        if format != "combined_cookie" { extra += ["--sites", "a.example.com,b.example.org"] }
        let g = try CLI.generate(format: format, lines: 12_000, seed: 61, extra: extra, in: dir)
        try veil(["run", g.log, "-o", dir + "/out", "--k", "2", "--quiet"], env: ["VEIL_KEYS": dir + "/keys"])
        let rows = try csvRows(dir + "/out/campaigns.csv")
        let links = try csvRows(dir + "/out/campaign_links.csv")
        let site = try #require((try g.truthJSON()["sites"] as? [[String: Any]])?.first)
        let campaigns = try #require(site["campaigns"] as? [[String: Any]])
        #expect(campaigns.count == 4, "the truth should have all four campaigns")
        var opens = 0, clicks = 0
        for c in campaigns {
            let name = try #require(c["campaign"] as? String)
            func truth(_ k: String) -> Int { c[k] as? Int ?? -1 }
            let got = rows.filter { $0["campaign"] == name }
            try #require(got.count == 1, "\(name): \(got)")
            let row = got[0]
            let siteName = format == "combined_cookie" ? "default" : site["site"] as? String
            #expect(row["site"] == siteName && row["date"] == "2026-11-28", "\(row)")
            #expect(
                int(row, "human_opens") == truth("human_opens") && int(row, "proxy_opens") == truth("proxy_opens"),
                "\(name): \(row)")
            #expect(int(row, "bot_opens") == 0 && row["delivered"] == "")
            #expect(close(int(row, "unique_openers"), truth("unique_openers")), "\(name): \(row)")
            #expect(int(row, "clicks") == truth("clicks") && int(row, "scanner_clicks") == 0, "\(name): \(row)")
            #expect(close(int(row, "unique_clickers"), truth("unique_clickers")), "\(name): \(row)")
            let mine = links.filter { $0["campaign"] == name }
            #expect(mine.reduce(0) { $0 + int($1, "clicks") } == truth("clicks"), "\(name): link rows do not add up")
            for l in try #require(c["links"] as? [[String: Any]]) {
                if let r = mine.first(where: { $0["link"] == (l["link"] as? String) }) {
                    #expect(int(r, "clicks") == (l["clicks"] as? Int), "\(name) \(l)")
                }
            }
            #expect(mine.contains { $0["link"] != "(other)" }, "\(name): no link published")
            opens += truth("opens")
            clicks += truth("clicks")
        }
        let inspect = try veil(["inspect", g.log, "--json"])
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout)) as? [[String: Any]])
        let email = try #require(reports.first?["email_events"] as? [String: Int])
        #expect(email == ["opens": opens, "clicks": clicks, "delivered": 0], "\(inspect.stdoutText)")
    }

    /// SendGrid and Mailgun exports over two days with every kind of scanner: each truth row's
    /// deliveries, opens by kind, clicks and scanner clicks equal veil's exactly, unique counts
    /// within 2 %; every link row equals the truth by its label; `veil inspect` counts the events
    /// and rejects exactly the damaged lines.
    @Test("exports: campaign and link rows equal the truth", arguments: ["json-sendgrid", "json-mailgun"])
    func exportCountsEqualTruth(format: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: format, lines: 9_000, seed: 62, extra: ["--days", "2"], in: dir)
        let truth = try ExportTruth(g)
        #expect(Set(truth.rows.map(\.day)) == ["2026-11-28", "2026-11-29"])
        #expect(
            truth.scanner(["agent"]) > 0 && truth.scanner(["network"]) > 0 && truth.scanner(["burst"]) > 0
                && truth.scanner(["delivery"]) > 0, "the export lacks a scanner kind")
        try veil(
            ["run", g.log, "-o", dir + "/out", "--k", "2", "--quiet", "--scanner-network", scannerNetwork],
            env: ["VEIL_KEYS": dir + "/keys"])
        let rows = try csvRows(dir + "/out/campaigns.csv")
        let links = try csvRows(dir + "/out/campaign_links.csv")
        #expect(rows.count == truth.rows.count)
        for t in truth.rows {
            let got = rows.filter { $0["date"] == t.day && $0["campaign"] == t.campaign }
            try #require(got.count == 1, "\(t.day) \(t.campaign): \(got)")
            let row = got[0]
            for column in ["delivered", "human_opens", "proxy_opens", "bot_opens", "clicks", "scanner_clicks"] {
                #expect(int(row, column) == t.values[column], "\(t.day) \(t.campaign) \(column): \(row) vs \(t.values)")
            }
            for column in ["unique_openers", "unique_clickers"] {
                #expect(close(int(row, column), t.values[column] ?? -1), "\(t.day) \(t.campaign) \(column)")
            }
            for l in t.links where l.clickers >= 2 {
                let r = links.first { $0["date"] == t.day && $0["campaign"] == t.campaign && $0["link"] == l.label }
                #expect(
                    r.map { int($0, "clicks") } == l.clicks && r.map { int($0, "unique_clickers") } == l.clickers,
                    "\(t.day) \(t.campaign) \(l.label): \(String(describing: r))")
            }
        }
        let inspect = try veil(["inspect", g.log, "--json"])
        let report = try #require(
            (try JSONSerialization.jsonObject(with: Data(inspect.stdout)) as? [[String: Any]])?.first)
        #expect(report["format"] as? String == format && report["format_detected"] as? Bool == true)
        #expect(
            report["email_events"] as? [String: Int]
                == [
                    "opens": truth.events["open"]!, "clicks": truth.events["click"]!,
                    "delivered": truth.events["delivered"]!,
                ])
        #expect(report["rejected"] as? Int == truth.malformed && report["skipped"] as? Int == truth.events["other"])
        #expect(report["lines"] as? Int == truth.physicalLines)
    }

    /// Each documented scanner rule catches its kind and only it: the generator's scanners are
    /// made so that one rule each applies (agent: a scanner user agent; network: an address in
    /// --scanner-network; burst: several links within seconds; delivery: a click right after
    /// delivery). Turning rules on and off moves exactly those clicks between the columns.
    @Test("every scanner rule catches its kind of scanner, and only it")
    func scannerRules() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "json-sendgrid", lines: 6_000, seed: 63, in: dir)
        let truth = try ExportTruth(g)
        let people = truth.total("clicks")
        let variants: [(args: [String], scanners: [String])] = [
            ([], ["agent", "burst", "delivery"]),
            (["--scanner-network", scannerNetwork], ["agent", "network", "burst", "delivery"]),
            (
                [
                    "--scanner-network", scannerNetwork, "--scanner-burst-links", "0", "--scanner-delivery-seconds",
                    "-1",
                ], ["agent", "network"]
            ),
            (["--no-default-scanner-rules", "--scanner-network", scannerNetwork], ["network", "burst", "delivery"]),
            (
                [
                    "--no-default-scanner-rules", "--scanner-agent", "barracuda", "--scanner-burst-links", "0",
                    "--scanner-delivery-seconds", "-1",
                ], ["agent"]
            ),
            (["--scanner-burst-seconds", "-1", "--scanner-delivery-seconds", "-1"], ["agent"]),
        ]
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        for (i, v) in variants.enumerated() {
            let out = "\(dir)/v\(i)"
            try veil(["run", g.log, "-o", out, "--k", "2", "--keys", keys, "--quiet"] + v.args)
            let rows = try csvRows(out + "/campaigns.csv")
            let scanner = rows.reduce(0) { $0 + int($1, "scanner_clicks") }
            let human = rows.reduce(0) { $0 + int($1, "clicks") }
            let expected = truth.scanner(v.scanners)
            #expect(scanner == expected, "\(v.args): scanner clicks \(scanner), expected \(expected) (\(v.scanners))")
            #expect(human + scanner == people + truth.scanner(["agent", "network", "burst", "delivery"]), "\(v.args)")
        }
    }

    /// An export split line by line over three files (round robin, as three webhook receivers
    /// would write it), aggregated apart and merged, gives the whole export's CSV bytes: a burst
    /// or a delivery and its click in different shards is still judged as one recipient's.
    @Test("shards merged equal the whole, bursts and deliveries split across shards included")
    func shardsEqualWhole() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "json-mailgun", lines: 6_000, seed: 64, in: dir)
        let lines = try CLI.read(g.log).split(separator: 0x0A, omittingEmptySubsequences: false)
        for s in 0..<3 {
            var part: [UInt8] = []
            for (i, l) in lines.enumerated() where i % 3 == s && !l.isEmpty { part += l + [0x0A] }
            try CLI.write(part, to: "\(dir)/part\(s).jsonl")
        }
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        let net = ["--scanner-network", scannerNetwork]
        try veil(["run", g.log, "-o", dir + "/whole", "--k", "2", "--keys", keys, "--quiet"] + net)
        for s in 0..<3 {
            try veil(
                ["aggregate", "\(dir)/part\(s).jsonl", "-o", "\(dir)/p\(s).veilstate", "--keys", keys, "--quiet"] + net)
        }
        try veil([
            "merge", dir + "/p2.veilstate", dir + "/p0.veilstate", dir + "/p1.veilstate", "-o", dir + "/m.veilstate",
            "--quiet",
        ])
        try veil(["report", dir + "/m.veilstate", "-o", dir + "/merged", "--k", "2", "--quiet"])
        try veil(["run", g.log, "-o", dir + "/threads", "--k", "2", "--keys", keys, "--quiet", "--threads", "3"] + net)
        let whole = try CLI.csvFiles(in: dir + "/whole"), merged = try CLI.csvFiles(in: dir + "/merged")
        let threads = try CLI.csvFiles(in: dir + "/threads")
        #expect(whole.keys.sorted() == merged.keys.sorted() && whole.count == 19)
        for name in ["campaigns.csv", "campaign_links.csv"] {
            #expect(whole[name] == merged[name], "\(name) differs between the whole export and its merged shards")
            #expect(whole[name] == threads[name], "\(name) differs with --threads 3")
        }
        // The shards alone would judge fewer clicks as scanners' (each sees parts of bursts).
        var alone = 0
        for s in 0..<3 {
            try veil(["report", "\(dir)/p\(s).veilstate", "-o", "\(dir)/r\(s)", "--k", "2", "--quiet"])
            alone += try csvRows("\(dir)/r\(s)/campaigns.csv").reduce(0) { $0 + int($1, "scanner_clicks") }
        }
        let together = try csvRows(dir + "/whole/campaigns.csv").reduce(0) { $0 + int($1, "scanner_clicks") }
        #expect(alone < together, "no burst or delivery was split across shards: the test proves nothing")
        // A state made with other timing rules does not merge.
        try veil([
            "aggregate", dir + "/part0.jsonl", "-o", dir + "/other.veilstate", "--keys", keys, "--quiet",
            "--scanner-burst-seconds", "2",
        ])
        let refused = try CLI.veil([
            "merge", dir + "/other.veilstate", dir + "/p1.veilstate", "-o", dir + "/x.veilstate",
        ])
        #expect(refused.status == 1 && refused.stderrText.contains("scanner timing"), "\(refused)")
    }

    /// `--email-fields` naming SendGrid's keys reads the export exactly like `--format json-sendgrid`.
    @Test("a field mapping reads an export like its preset")
    func fieldMapping() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "json-sendgrid", lines: 3_000, seed: 65, in: dir)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil([
            "run", g.log, "-o", dir + "/preset", "--k", "2", "--keys", keys, "--quiet", "--format", "json-sendgrid",
        ])
        let mapping =
            "event=event,timestamp=timestamp,recipient=email,campaign=category,url=url,ip=ip,user_agent=useragent,automation=sg_machine_open"
        let r = try veil([
            "run", g.log, "-o", dir + "/mapped", "--k", "2", "--keys", keys, "--json", "--email-fields", mapping,
        ])
        #expect(r.stdoutText.contains("\"json-email\""), "the report names the mapped format")
        let a = try CLI.csvFiles(in: dir + "/preset"), b = try CLI.csvFiles(in: dir + "/mapped")
        #expect(a["campaigns.csv"] == b["campaigns.csv"] && a["campaign_links.csv"] == b["campaign_links.csv"])
        #expect(try csvRows(dir + "/mapped/campaigns.csv").count >= 4)
    }

    /// A webhook receiver that logs each POST body as it came writes one JSON array of events
    /// per line: read element by element, on one thread or two, it gives the rollups of the
    /// same events one per line, with every event counted as a record.
    @Test("an export of one JSON array of events per line reads like the events one per line")
    func eventArraysPerLine() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let (log, events) = try sendgridEvents(seed: 66, in: dir)
        // Batches of 1 to 7 events, some with spaces around the elements.
        var batches: [String] = []
        var i = 0
        while i < events.count {
            let n = 1 + i % 7
            let part = events[i..<min(i + n, events.count)]
            batches.append(
                i % 3 == 0 ? "[ " + part.joined(separator: " , ") + " ]" : "[" + part.joined(separator: ",") + "]")
            i += n
        }
        let arrays = dir + "/batches.jsonl"
        try CLI.write(Array((batches.joined(separator: "\n") + "\n").utf8), to: arrays)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil(["run", log, "-o", dir + "/lines", "--k", "2", "--keys", keys, "--quiet"])
        let lines = try CLI.csvFiles(in: dir + "/lines")
        #expect(try csvRows(dir + "/lines/campaigns.csv").count >= 4)
        for threads in ["1", "2"] {
            let r = try veil([
                "run", arrays, "-o", dir + "/arrays-\(threads)", "--k", "2", "--keys", keys, "--json", "--threads",
                threads,
            ])
            #expect(r.status == 0, "\(r)")
            let b = try CLI.csvFiles(in: dir + "/arrays-\(threads)")
            #expect(lines["campaigns.csv"] == b["campaigns.csv"], "threads \(threads)")
            #expect(lines["campaign_links.csv"] == b["campaign_links.csv"], "threads \(threads)")
        }
        let inspect = try veil(["inspect", "--json", arrays])
        let report = try inspectReport(inspect)
        #expect(report["format"] as? String == "json-sendgrid", "\(inspect.stdoutText)")
        #expect(report["lines"] as? Int == batches.count)
        let perLine = try inspectReport(try veil(["inspect", "--json", log]))
        #expect(perLine["rejected"] as? Int == 0 && (perLine["records"] as? Int ?? 0) > 1_000)
        for key in ["records", "rejected", "skipped"] {
            #expect(report[key] as? Int == perLine[key] as? Int, "\(key): \(inspect.stdoutText)")
        }
    }

    /// SendGrid's Event Webhook posts up to about 768 KB of events at a time: as one line, that
    /// is over the 64 KiB a line may have by default, so an e-mail export format allows 1 MiB
    /// unless `--max-line-length` says otherwise.
    @Test("an e-mail export's webhook batch of 700 KB on one line is read whole under its preset")
    func largeBatchLine() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let (log, events) = try sendgridEvents(seed: 67, in: dir)
        let batch = "[" + events.joined(separator: ",") + "]"
        try #require(batch.utf8.count > 512 * 1024 && batch.utf8.count < 1 << 20, "\(batch.utf8.count) bytes")
        let one = dir + "/batch.jsonl"
        try CLI.write(Array((batch + "\n").utf8), to: one)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil(["run", log, "-o", dir + "/lines", "--k", "2", "--keys", keys, "--quiet"])
        let r = try veil(["run", one, "-o", dir + "/batch", "--k", "2", "--keys", keys, "--format", "json-sendgrid"])
        #expect(r.status == 0, "\(r)")
        let lines = try CLI.csvFiles(in: dir + "/lines"), whole = try CLI.csvFiles(in: dir + "/batch")
        #expect(try csvRows(dir + "/lines/campaigns.csv").count >= 4)
        #expect(lines["campaigns.csv"] == whole["campaigns.csv"])
        #expect(lines["campaign_links.csv"] == whole["campaign_links.csv"])
        // A limit given is the limit: the batch is one line too long.
        let limited = try veil([
            "inspect", "--json", "--format", "json-sendgrid", "--max-line-length", "65536", one,
        ])
        let report = try inspectReport(limited)
        #expect(report["records"] as? Int == 0, "\(limited.stdoutText)")
        #expect(limited.stdoutText.contains("line-too-long"), "\(limited.stdoutText)")
        // `--format auto` reads lines of 64 KiB before it knows the format: a sample of only
        // longer lines is an error that says what to do, not a run that rejects every line.
        let auto = try CLI.veil(["inspect", one])
        #expect(auto.status == 1, "\(auto)")
        #expect(auto.stderrText.contains("line 1 is longer") && auto.stderrText.contains("json-sendgrid"), "\(auto)")
    }

    /// Every byte veil writes for logs with pixel and click URLs and for both export shapes —
    /// CSVs and manifests at k = 10 and k = 2, standard output and error with and without
    /// --json, `veil inspect` — is searched for every identifier of the inputs: recipient tokens,
    /// e-mail addresses as written, lower-cased and with `%40`, IPs in every spelling, full user
    /// agents, cookies; and the MD5, SHA-1 and SHA-256 of each (of e-mail addresses also of the
    /// lower-cased address). Zero hits. A positive control finds them in the raw inputs and in
    /// digests made by coreutils.
    @Test("no recipient, token, e-mail address or their unkeyed hashes reach any output")
    func noIdentifierLeaks() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let log = try CLI.generate(
            format: "combined_cookie_xff", lines: 8_000, seed: 66, extra: ["--email-share", "0.15"], in: dir)
        let sg = try CLI.generate(format: "json-sendgrid", lines: 4_000, seed: 67, in: dir)
        let mg = try CLI.generate(format: "json-mailgun", lines: 4_000, seed: 68, in: dir)
        var ids: [UInt8] = []
        for g in [log, sg, mg] { ids += try CLI.read(g.identifiers) }
        try CLI.write(ids, to: dir + "/all.ids")
        let list = try [log, sg, mg].flatMap { try $0.identifierList() }
        let kinds = Set(list.map(\.kind))
        for kind in ["ip", "ua", "recipient", "email", "cookie"] {
            #expect(kinds.contains(kind), "no \(kind) identifiers")
        }
        #expect(list.contains { $0.kind == "email" && $0.value != $0.value.lowercased() }, "no mixed-case address")

        let env = ["VEIL_KEYS": dir + "/keys"]
        let outputs = dir + "/outputs"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        var files: [String] = []
        let inputs = [log.log, sg.log, mg.log]
        let net = ["--scanner-network", scannerNetwork]
        let runs: [(name: String, args: [String])] = [
            ("run-k10", ["run"] + inputs + ["-o", dir + "/k10"] + net),
            ("run-k2-json", ["run"] + inputs + ["-o", dir + "/k2", "--k", "2", "--json"] + net),
            ("inspect", ["inspect"] + inputs),
            ("inspect-json", ["inspect", "--json"] + inputs),
        ]
        for (name, args) in runs {
            let r = try CLI.veil(args, env: env)
            #expect(r.status == 0, "\(name): \(r)")
            try CLI.write(r.stdout, to: "\(outputs)/\(name).stdout")
            try CLI.write(r.stderr, to: "\(outputs)/\(name).stderr")
            files += ["\(outputs)/\(name).stdout", "\(outputs)/\(name).stderr"]
        }
        for rollup in ["k10", "k2"] {
            let names = CLI.list(dir + "/" + rollup)
            #expect(names.count == 20, "\(rollup): \(names)")
            files += names.map { "\(dir)/\(rollup)/\($0)" }
        }
        #expect(
            try csvRows(dir + "/k10/campaigns.csv").count == 4,
            "k=10 should publish every campaign: the search is too easy")
        #expect(try csvRows(dir + "/k10/campaign_links.csv").count >= 4)
        #expect(try csvRows(dir + "/k2/campaign_links.csv").count >= 8)

        let search = try EmailLeakSearch(identifiers: dir + "/all.ids", files: files)
        #expect(search.identifiers == Set(list.map { "\($0.kind)\t\($0.value)" }).count && search.skippedShort == 0)
        #expect(
            search.hits.isEmpty,
            "identifiers found in veil's output:\n\(search.hits.prefix(20).map { "\($0.file): \($0.identifier) as \($0.needle)" }.joined(separator: "\n"))"
        )

        // Positive control: the raw exports and independently made digests are found.
        let email = try #require(list.first { $0.kind == "email" && $0.value != $0.value.lowercased() }).value
        let token = try #require(list.first { $0.kind == "recipient" }).value
        var digests: [UInt8] = []
        for tool in ["md5sum", "sha1sum", "sha256sum"] {
            for value in [email.lowercased(), token] {
                let r = try CLI.run(try CLI.tool(tool, package: "coreutils"), [], stdin: Array(value.utf8))
                digests += Array((r.stdoutText.split(separator: " ").first ?? "").utf8) + [0x0A]
            }
        }
        try CLI.write(digests, to: dir + "/control.digests")
        let control = try EmailLeakSearch(
            identifiers: dir + "/all.ids", files: [sg.log, log.log, dir + "/control.digests"])
        let found = Set(control.hits.map { $0.identifier.split(separator: " ")[0] })
        for kind in ["email", "recipient", "ip", "ua"] {
            #expect(found.contains(Substring(kind)), "control: no \(kind) found")
        }
        let hashHits = control.hits.filter { $0.file.hasSuffix(".digests") }.map(\.identifier)
        for algo in ["md5", "sha1", "sha256"] {
            #expect(
                hashHits.contains("\(algo) of email \(email)"), "control: \(algo) of lower-cased \(email) not found")
            #expect(hashHits.contains("\(algo) of recipient \(token)"), "control: \(algo) of \(token) not found")
        }
    }

    /// csv_contract.py (Python's csv module and DuckDB) on rollups with e-mail rows.
    @Test("the CSV contract holds for the e-mail tables, countries and serving times")
    func csvContract() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let sg = try CLI.generate(format: "json-sendgrid", lines: 3_000, seed: 69, in: dir)
        let log = try CLI.generate(
            format: "combined", lines: 6_000, seed: 69, extra: ["--email-share", "0.15"], in: dir)
        let env = ["VEIL_KEYS": dir + "/keys"]
        try veil(["run", sg.log, log.log, "-o", dir + "/a", "--k", "2", "--quiet"], env: env)
        // With countries (a country database of the generator's address ranges).
        try #require(try CLI.fixtures(["geoip", "--output", dir + "/c.mmdb"]).status == 0)
        try veil(["run", log.log, "-o", dir + "/b", "--quiet", "--geoip", dir + "/c.mmdb"], env: env)
        #expect(CLI.list(dir + "/b").contains("countries.csv") && !CLI.list(dir + "/a").contains("countries.csv"))
        #expect(try csvRows(dir + "/a/campaigns.csv").contains { $0["delivered"] == "" } == false)
        #expect(try csvRows(dir + "/b/campaigns.csv").allSatisfy { $0["delivered"] == "" })
        // With serving times (Traefik logs each request's `Duration`).
        let timed = try CLI.generate(format: "json-traefik", lines: 4_000, seed: 69, in: dir)
        try veil(["run", timed.log, "-o", dir + "/c", "--k", "2", "--quiet"], env: env)
        #expect(
            CLI.list(dir + "/c").contains("response_times.csv")
                && CLI.list(dir + "/c").contains("page_response_times.csv"))
        #expect(try csvRows(dir + "/c/page_response_times.csv").count > 3)
        let r = try python([
            CLI.packageRoot + "/Tests/VeilCLITests/csv_contract.py", dir + "/a", dir + "/b", dir + "/c",
        ])
        #expect(r.status == 0, "csv_contract.py failed (if DuckDB is missing: pip install duckdb):\n\(r)")
    }

    /// Bad e-mail options are usage errors (exit 2) that say what is wrong, before any input is read.
    @Test(
        "bad e-mail options exit 2",
        arguments: [
            (["--email-open-pattern", "/o.gif?m={campaign}"], "{recipient}"),
            (["--email-click-pattern", "c/{campaign}?r={recipient}"], "start with '/'"),
            (["--scanner-network", "192.0.2.0/40"], "prefix length"),
            (["--scanner-agent", "x"], "at least two"),
            (["--scanner-burst-links", "1"], "burst links"),
            (["--scanner-delivery-seconds", "100000"], "delivery seconds"),
            (["--format", "combined", "--email-fields", "event=e,timestamp=t,recipient=r"], "--email-fields"),
            (["--email-fields", "event=e,timestamp=t"], "recipient"),
        ])
    func badOptions(args: [String], message: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        try CLI.write(Array("x\n".utf8), to: dir + "/in.log")
        let r = try CLI.veil(["run", dir + "/in.log", "-o", dir + "/out"] + args, env: ["VEIL_KEYS": dir + "/keys"])
        #expect(r.status == 2 && r.stderrText.contains(message), "\(args): \(r)")
        #expect(!CLI.exists(dir + "/out"))
    }

    /// `veil inspect` prints the e-mail events of each input by kind.
    @Test("inspect names e-mail events by kind")
    func inspectText() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "json-mailgun", lines: 1_000, seed: 70, in: dir)
        let t = try ExportTruth(g)
        let r = try veil(["inspect", g.log])
        func grouped(_ n: Int) -> String {
            let f = NumberFormatter()
            f.numberStyle = .decimal
            f.locale = Locale(identifier: "en_US")
            return f.string(from: NSNumber(value: n))!
        }
        #expect(
            r.stdoutText.contains(
                "e-mail       \(grouped(t.events["open"]!)) opens, \(grouped(t.events["click"]!)) clicks, \(grouped(t.events["delivered"]!)) delivered"
            ),
            "\(r.stdoutText)")
        // A custom pattern finds nothing in a log without such URLs, and says so.
        let log = try CLI.generate(format: "combined", lines: 500, seed: 70, in: dir)
        let none = try veil([
            "inspect", log.log, "--email-open-pattern", "/px/{campaign}/{recipient}.gif",
            "--email-click-pattern", "/go/{campaign}?r={recipient}",
        ])
        #expect(none.stdoutText.contains("e-mail       0 opens, 0 clicks, 0 delivered"), "\(none.stdoutText)")
    }
}

// MARK: - Leak search

/// Python program: reads `kind<TAB>value` identifiers and searches files for every identifier in
/// every textual form (IPs in all spellings and cases; e-mail addresses as written, lower-cased,
/// with `%40`) and for the lowercase hex MD5 / SHA-1 / SHA-256 of each (e-mail addresses: of the
/// address as written and lower-cased). Prints `needles N identifiers M skipped_short S`, then
/// `HIT<TAB>file<TAB>identifier<TAB>needle` per hit. Needles under 6 bytes are not searched and
/// counted (none of the generator's identifiers is that short).
private let emailLeakSearchProgram = #"""
    import hashlib, ipaddress, sys
    MIN = 6
    ids_path, files = sys.argv[1], sys.argv[2:]
    needles = {}
    skipped = 0
    count = 0
    def add(label, text):
        global skipped
        b = text.encode("utf-8")
        if len(b) < MIN:
            skipped += 1
        elif b not in needles:
            needles[b] = label
    seen = set()
    for line in open(ids_path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line in seen:
            continue
        seen.add(line)
        count += 1
        kind, value = line.split("\t", 1)
        label = kind + " " + value
        forms = {value}
        hashed = {value}
        if kind == "ip":
            a = ipaddress.ip_address(value)
            if a.version == 4:
                mapped = ipaddress.IPv6Address("::ffff:" + str(a))
                forms |= {str(a), "::ffff:" + str(a), mapped.compressed, mapped.exploded}
            else:
                forms |= {a.compressed, a.exploded}
            forms |= {f.upper() for f in forms} | {f.lower() for f in forms}
            hashed = set(forms)
        elif kind == "email":
            low = value.strip().lower()
            forms |= {low, value.replace("@", "%40"), low.replace("@", "%40"), low.replace("@", "%40").upper()}
            hashed = {value, low}
        for f in forms:
            add(label, f)
        for h in hashed:
            for algo in ("md5", "sha1", "sha256"):
                add(algo + " of " + label, hashlib.new(algo, h.encode("utf-8")).hexdigest())
    print("needles", len(needles), "identifiers", count, "skipped_short", skipped)
    by_prefix = {}
    for n, label in needles.items():
        by_prefix.setdefault(n[:MIN], []).append((n, label))
    for path in files:
        data = open(path, "rb").read()
        for i in range(len(data) - MIN + 1):
            candidates = by_prefix.get(data[i:i + MIN])
            if candidates:
                for n, label in candidates:
                    if data.startswith(n, i):
                        print("HIT\t" + path + "\t" + label + "\t" + n.decode("utf-8", "replace"))
    """#

private struct EmailLeakSearch {
    var identifiers = 0
    var skippedShort = -1
    var hits: [(file: String, identifier: String, needle: String)] = []

    init(identifiers path: String, files: [String]) throws {
        let r = try python(["-c", emailLeakSearchProgram, path] + files)
        guard r.status == 0 else { throw CLITestError("leak search failed: \(r)") }
        for line in r.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if parts.first == "HIT", parts.count == 4 {
                hits.append((parts[1], parts[2], parts[3]))
            } else if line.hasPrefix("needles ") {
                let w = line.split(separator: " ")
                identifiers = Int(w[3]) ?? 0
                skippedShort = Int(w[5]) ?? -1
            }
        }
    }
}
