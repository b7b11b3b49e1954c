import Foundation
import Testing

// End-to-end tests of `veil report --dp-epsilon` (differential privacy): the built `veil` binary
// on logs from `veil-fixtures generate`.
//
// - the same release twice gives byte-identical files and is charged once in the ledger;
// - a release over the budget is refused (exit 1) stating spent and remaining ε, writing nothing;
// - bad DP flags are usage errors (exit 2);
// - no identifier of the input, in any textual form or unkeyed hash, reaches any DP output.

/// A generated log aggregated into a state with its own key store.
private struct DPFixture {
    var dir: String
    var log: GeneratedLog
    var keys: String
    var state: String

    init(format: String = "combined_cookie", lines: Int = 12_000, seed: UInt64, extra: [String] = []) throws {
        dir = try CLI.tempDir(prefix: "veil-dp-test")
        log = try CLI.generate(format: format, lines: lines, seed: seed, extra: extra, in: dir)
        keys = dir + "/keys"
        state = dir + "/s.veilstate"
        try run(["keys", "init", "--keys", keys])
        try run(["aggregate", log.log, "-o", state, "--keys", keys, "--quiet"])
    }

    /// Runs veil, requiring exit 0.
    @discardableResult
    func run(_ args: [String]) throws -> ProcessResult {
        let r = try CLI.veil(args)
        try #require(r.status == 0, "veil \(args.joined(separator: " ")) failed: \(r)")
        return r
    }

    /// `veil report <state> -o <dir>/<name> --keys <keys> <args>`.
    func report(_ name: String, _ args: [String]) throws -> ProcessResult {
        try CLI.veil(["report", state, "-o", dir + "/" + name, "--keys", keys] + args)
    }

    var ledger: String { keys + "/dp-ledger.jsonl" }

    func ledgerLines() throws -> [String] {
        guard CLI.exists(ledger) else { return [] }
        return String(decoding: try CLI.read(ledger), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func remove() { CLI.remove(dir) }
}

/// Data rows of a CSV file without quoted fields, as dictionaries.
private func simpleCSV(_ path: String) throws -> [[String: String]] {
    let lines = String(decoding: try CLI.read(path), as: UTF8.self).components(separatedBy: "\r\n").filter {
        !$0.isEmpty
    }
    guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) else {
        return []
    }
    return lines.dropFirst().map {
        Dictionary(
            uniqueKeysWithValues: zip(
                header, $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)))
    }
}

@Suite("DP release from the command line")
struct DPCLITests {
    @Test("the same DP release twice: byte-identical files, one ledger entry, the second run not charged")
    func sameReleaseTwice() throws {
        let f = try DPFixture(seed: 71)
        defer { f.remove() }
        let args = ["--dp-epsilon", "4", "--dp-budget", "10", "--json"]
        let r1 = try f.report("r1", args), r2 = try f.report("r2", args)
        #expect(r1.status == 0 && r2.status == 0, "\(r1)\n\(r2)")
        let files = CLI.list(f.dir + "/r1")
        #expect(
            files == [
                "browsers.csv", "devices.csv", "entry_pages.csv", "manifest.json", "operating_systems.csv", "pages.csv",
                "referrers.csv",
                "traffic_daily.csv",
            ])
        #expect(files == CLI.list(f.dir + "/r2"))
        for name in files {
            #expect(try CLI.read(f.dir + "/r1/" + name) == (try CLI.read(f.dir + "/r2/" + name)), "\(name) differs")
        }
        let j1 = try jsonObject(r1.stdout), j2 = try jsonObject(r2.stdout)
        #expect(j1["charged"] as? Bool == true)
        #expect(j2["charged"] as? Bool == false)
        #expect(j1["release_id"] as? String == j2["release_id"] as? String)
        let epochs = try #require(j2["epochs"] as? [[String: Any]])
        #expect(epochs.map { $0["spent"] as? String } == ["4"] && epochs.map { $0["remaining"] as? String } == ["6"])
        #expect(try f.ledgerLines().count == 1)
        #expect(try CLI.mode(f.ledger) == 0o600)

        // The DP visitor count of the day is near the exact one of a k-anonymous release
        // (which also counts visitors without a pageview): noise of scale 7/4 is small here.
        let exact = try f.report("k", [])
        #expect(exact.status == 2, "--keys without --dp-epsilon must be refused: \(exact)")
        try f.run(["report", f.state, "-o", f.dir + "/k", "--k", "2", "--quiet"])
        let dpDay = try #require(try simpleCSV(f.dir + "/r1/traffic_daily.csv").first)
        let kDay = try #require(try simpleCSV(f.dir + "/k/traffic_daily.csv").first)
        let dpVisitors = try #require(Int(dpDay["visitors"] ?? ""))
        let kVisitors = try #require(Int(kDay["visitors"] ?? ""))
        #expect(abs(dpVisitors - kVisitors) <= kVisitors / 7, "DP \(dpVisitors), exact \(kVisitors)")

        let manifest = try jsonObject(try CLI.read(f.dir + "/r1/manifest.json"))
        #expect(manifest["k"] is NSNull)
        let dp = try #require(manifest["differential_privacy"] as? [String: Any])
        #expect(dp["mechanism"] as? String == "discrete_laplace")
        #expect(dp["ledger_entry"] as? String == j1["release_id"] as? String)
        let pages = try #require((dp["tables"] as? [String: [String: Any]])?["pages"])
        #expect(pages["threshold"] is Int && pages["noise_scale"] as? Double == 8.75)
        // Every published row clears its table's threshold.
        for name in files where name.hasSuffix(".csv") {
            let table = String(name.dropLast(4))
            let threshold = try #require((dp["tables"] as? [String: [String: Any]])?[table]?["threshold"] as? Int)
            for row in try simpleCSV(f.dir + "/r1/" + name) {
                let value = try #require(Int(row["visitors"] ?? ""), "\(name): \(row)")
                #expect(value >= threshold, "\(name): \(row) below \(threshold)")
            }
        }
    }

    @Test(
        "exit pages, visit lengths and web campaigns are released on request: their files and columns, the manifest lists what was not selected"
    )
    func tablesOfVisitsOnRequest() throws {
        let f = try DPFixture(seed: 75)
        defer { f.remove() }
        let r = try f.report(
            "v",
            [
                "--dp-epsilon", "20", "--dp-tables", "visit_pageviews,exit_pages,web_campaigns,visit_durations",
                "--dp-budget", "50",
            ])
        #expect(r.status == 0, "\(r)")
        #expect(
            CLI.list(f.dir + "/v") == [
                "exit_pages.csv", "manifest.json", "visit_durations.csv", "visit_pageviews.csv", "web_campaigns.csv",
            ])
        // The generator tags a share of visits' first pageviews with `utm_` campaigns.
        let campaigns = try simpleCSV(f.dir + "/v/web_campaigns.csv")
        #expect(!campaigns.isEmpty)
        for row in campaigns {
            #expect(Set(row.keys) == ["site", "date", "source", "medium", "campaign", "visitors"], "\(row)")
            #expect(Int(row["visitors"] ?? "") != nil && row["source"]?.isEmpty == false, "\(row)")
        }
        let durations = try simpleCSV(f.dir + "/v/visit_durations.csv")
        #expect(!durations.isEmpty)
        for row in durations {
            #expect(Set(row.keys) == ["site", "date", "min_seconds", "max_seconds", "visitors"], "\(row)")
            #expect(
                Int(row["min_seconds"] ?? "") != nil && (row["max_seconds"] == "" || Int(row["max_seconds"]!) != nil))
        }
        #expect(
            try simpleCSV(f.dir + "/v/visit_pageviews.csv").allSatisfy {
                Int($0["min_pageviews"] ?? "")! >= 1 && Int($0["visitors"] ?? "") != nil
            })
        #expect(try simpleCSV(f.dir + "/v/exit_pages.csv").allSatisfy { $0["path"]?.hasPrefix("/") == true })
        let manifest = try jsonObject(try CLI.read(f.dir + "/v/manifest.json"))
        let dp = try #require(manifest["differential_privacy"] as? [String: Any])
        let released = try #require(dp["tables"] as? [String: Any])
        #expect(Set(released.keys) == ["exit_pages", "visit_durations", "visit_pageviews", "web_campaigns"])
        let notReleased = try #require(dp["tables_not_released"] as? [String: String])
        #expect(notReleased["pages"] == "not selected (--dp-tables)")
        #expect(notReleased["exit_pages"] == nil && notReleased["bots"] != nil)

        // Without --dp-tables: the seven default tables; these four are named as not selected.
        let d = try f.report("d", ["--dp-epsilon", "20", "--dp-budget", "50"])
        #expect(d.status == 0, "\(d)")
        #expect(!CLI.list(f.dir + "/d").contains("exit_pages.csv"))
        let dm = try jsonObject(try CLI.read(f.dir + "/d/manifest.json"))
        let dnr = try #require(
            (dm["differential_privacy"] as? [String: Any])?["tables_not_released"] as? [String: String])
        for name in ["exit_pages", "visit_durations", "visit_pageviews", "web_campaigns"] {
            #expect(dnr[name] == "not selected (--dp-tables)", "\(name): \(dnr)")
        }
    }

    @Test("a release over the budget is refused (exit 1) with spent and remaining ε, and writes nothing")
    func budgetExhaustion() throws {
        let f = try DPFixture(lines: 4000, seed: 72)
        defer { f.remove() }
        let first = try f.report("a", ["--dp-epsilon", "0.6", "--dp-budget", "1"])
        #expect(first.status == 0, "\(first)")
        let before = try CLI.read(f.ledger)

        let over = try f.report("b", ["--dp-epsilon", "0.6", "--dp-l0", "3", "--dp-budget", "1"])
        #expect(over.status == 1, "\(over)")
        #expect(over.stderrText.contains("spent 0.6"), "\(over)")
        #expect(over.stderrText.contains("remaining 0.4"), "\(over)")
        #expect(over.stderrText.contains("nothing was written"), "\(over)")
        #expect(!CLI.exists(f.dir + "/b"), "an output directory was created")
        #expect(try CLI.read(f.ledger) == before, "the ledger changed")

        // The identical release again is not charged, so it still works.
        let again = try f.report("c", ["--dp-epsilon", "0.6", "--dp-budget", "1"])
        #expect(again.status == 0, "\(again)")
        #expect(again.stderrText.contains("not charged again"), "\(again)")
        #expect(try CLI.read(f.ledger) == before)
        // And the rest of the budget can be spent.
        let rest = try f.report(
            "d", ["--dp-epsilon", "0.4", "--dp-tables", "traffic_daily", "--dp-budget", "1", "--json"])
        #expect(rest.status == 0, "\(rest)")
        #expect(((try jsonObject(rest.stdout))["epochs"] as? [[String: Any]])?.first?["remaining"] as? String == "0")
        #expect(try f.ledgerLines().count == 2)
    }

    @Test(
        "bad differential privacy flags are usage errors (exit 2) and write nothing",
        arguments: [
            ["--dp-epsilon", "0"], ["--dp-epsilon", "-1"], ["--dp-epsilon", "abc"], ["--dp-epsilon", "1e-3"],
            ["--dp-epsilon", "1", "--dp-delta", "0"], ["--dp-epsilon", "1", "--dp-delta", "1"],
            ["--dp-epsilon", "1", "--dp-delta", "2"],
            ["--dp-epsilon", "1", "--dp-l0", "0"], ["--dp-epsilon", "1", "--dp-l0", "9"],
            ["--dp-epsilon", "1", "--dp-linf", "0"],
            ["--dp-epsilon", "1", "--dp-linf", "256"], ["--dp-epsilon", "1", "--dp-budget", "0"],
            ["--dp-epsilon", "1", "--dp-tables", "pages,nope"],
            ["--dp-epsilon", "1", "--dp-tables", "pages,pages"], ["--dp-epsilon", "1", "--k", "5"],
            ["--dp-epsilon", "1", "NO-KEYS"],
            ["--dp-delta", "1e-6"], ["--dp-budget", "2"],
        ])
    func badUsage(_ flags: [String]) throws {
        let dir = try CLI.tempDir(prefix: "veil-dp-usage")
        defer { CLI.remove(dir) }
        let r1 = try CLI.veil(["keys", "init", "--keys", dir + "/keys"])
        try #require(r1.status == 0, "\(r1)")
        let g = try CLI.generate(format: "combined", lines: 300, seed: 5, in: dir)
        let r2 = try CLI.veil(["aggregate", g.log, "-o", dir + "/s.veilstate", "--keys", dir + "/keys", "--quiet"])
        try #require(r2.status == 0, "\(r2)")
        var args = ["report", dir + "/s.veilstate", "-o", dir + "/out"]
        let flagsOnly = flags.filter { $0 != "NO-KEYS" }
        if !flags.contains("NO-KEYS") && flags.contains("--dp-epsilon") { args += ["--keys", dir + "/keys"] }
        let r = try CLI.veil(args + flagsOnly)
        #expect(r.status == 2, "\(flags): \(r)")
        #expect(r.stderrText.contains("--"), "\(flags): the message should name the flag: \(r)")
        #expect(!CLI.exists(dir + "/out"))
        #expect(!CLI.exists(dir + "/keys/dp-ledger.jsonl"))
    }

    /// Every byte of DP releases (CSV files, manifest.json, standard output and error, with and
    /// without --json) and the ledger is searched for every identifier of the input in every
    /// textual form and as unkeyed MD5 / SHA-1 / SHA-256: zero hits. A positive control finds
    /// identifiers in the raw log.
    @Test("no identifier, in any form or unkeyed hash, reaches a DP release or the ledger")
    func noIdentifierLeaks() throws {
        let f = try DPFixture(
            format: "combined_cookie_xff", seed: 73,
            extra: ["--ipv6-share", "0.3", "--email-share", "0.08", "--malformed-share", "0.02"])
        defer { f.remove() }
        let ids = try f.log.identifierList()
        #expect(Set(ids.map(\.kind)).isSuperset(of: ["ip", "ua", "cookie", "recipient", "email"]))
        var files: [String] = []
        let runs: [(String, [String])] = [
            ("loose", ["--dp-epsilon", "50", "--dp-delta", "0.001", "--dp-l0", "8", "--dp-budget", "100"]),
            ("json", ["--dp-epsilon", "20", "--dp-linf", "5", "--dp-budget", "100", "--json"]),
            (
                "visits",
                [
                    "--dp-epsilon", "20", "--dp-tables", "exit_pages,visit_durations,visit_pageviews,web_campaigns",
                    "--dp-l0", "8",
                    "--dp-budget", "100",
                ]
            ),
        ]
        for (name, args) in runs {
            let r = try f.report(name, args)
            #expect(r.status == 0, "\(name): \(r)")
            try CLI.write(r.stdout, to: "\(f.dir)/\(name).stdout")
            try CLI.write(r.stderr, to: "\(f.dir)/\(name).stderr")
            files +=
                ["\(f.dir)/\(name).stdout", "\(f.dir)/\(name).stderr"]
                + CLI.list(f.dir + "/" + name).map { "\(f.dir)/\(name)/\($0)" }
        }
        files.append(f.ledger)
        let pages = try simpleCSV(f.dir + "/loose/pages.csv")
        #expect(pages.count >= 5, "too few published rows for the search to mean much: \(pages.count)")

        let hits = try leakSearch(identifiers: f.log.identifiers, files: files)
        #expect(hits.needles > 8 * ids.count, "too few search strings: \(hits.needles)")
        #expect(hits.found.isEmpty, "identifiers found in DP output:\n\(hits.found.prefix(20).joined(separator: "\n"))")

        let head = Array(try CLI.read(f.log.log).prefix(200_000))
        try CLI.write(head, to: f.dir + "/control.log")
        let control = try leakSearch(identifiers: f.log.identifiers, files: [f.dir + "/control.log"])
        for kind in ["ip ", "ua ", "cookie "] {
            #expect(control.found.contains { $0.contains("\t" + kind) }, "control: no \(kind)found in the raw log")
        }
    }
}

// MARK: - Leak search

/// Searches files for every identifier (`kind<TAB>value` lines) in its textual forms (IP
/// addresses also mapped, expanded, compressed, upper and lower case; e-mail addresses lower
/// case and with `%40`) and as lowercase hex MD5 / SHA-1 / SHA-256. Prints `needles N`, then
/// `HIT<TAB>file<TAB>label` per hit.
private let leakProgram = #"""
    import hashlib, ipaddress, sys
    ids_path, files = sys.argv[1], sys.argv[2:]
    needles = {}
    def add(label, text):
        b = text.encode("utf-8")
        if len(b) >= 6:
            needles.setdefault(b, label)
    for line in open(ids_path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        kind, value = line.split("\t", 1)
        label = kind + " " + value
        forms = {value}
        if kind == "ip":
            a = ipaddress.ip_address(value)
            if a.version == 4:
                m = ipaddress.IPv6Address("::ffff:" + str(a))
                forms |= {str(a), "::ffff:" + str(a), m.compressed, m.exploded}
            else:
                forms |= {a.compressed, a.exploded}
            forms |= {x.upper() for x in forms} | {x.lower() for x in forms}
        elif kind == "email":
            forms |= {value.lower(), value.replace("@", "%40"), value.lower().replace("@", "%40")}
        for x in set(forms):
            add(label, x)
            for algo in ("md5", "sha1", "sha256"):
                add(algo + " of " + label, hashlib.new(algo, x.encode("utf-8")).hexdigest())
    print("needles", len(needles))
    by_prefix = {}
    for n, label in needles.items():
        by_prefix.setdefault(n[:6], []).append((n, label))
    for path in files:
        data = open(path, "rb").read()
        for i in range(len(data) - 5):
            for n, label in by_prefix.get(data[i:i + 6], ()):
                if data.startswith(n, i):
                    print("HIT\t" + path + "\t" + label)
    """#

private func leakSearch(identifiers: String, files: [String]) throws -> (needles: Int, found: [String]) {
    let r = try CLI.run(
        try CLI.tool("python3", package: "python3"), ["-c", leakProgram, identifiers] + files, timeout: 300)
    guard r.status == 0 else { throw CLITestError("leak search failed: \(r)") }
    var needles = 0
    var found: [String] = []
    for line in r.stdoutText.split(separator: "\n") {
        if line.hasPrefix("needles ") { needles = Int(line.split(separator: " ")[1]) ?? 0 }
        if line.hasPrefix("HIT\t") { found.append(String(line)) }
    }
    return (needles, found)
}
