import Foundation
import Testing

// End-to-end tests of aggregation and release ("Aggregation and release"): the built `veil`
// binary on logs from `veil-fixtures generate`, compared with the generator's exact truth.
//
// - exact counts: traffic_daily / traffic_hourly / pages / status_codes / bots / referrers /
//   devices / not_found against the truth file;
// - shards == whole: aggregating pieces of a log and merging them in any order and grouping
//   gives the same CSV bytes as aggregating the whole log; merged states are byte-identical;
//   merge refuses to count an input twice;
// - determinism: the same state gives the same release, byte for byte;
// - no leak: no identifier of the input (in any textual form, nor its unkeyed MD5/SHA-1/SHA-256)
//   occurs in any byte veil writes (rollups, manifest, stdout, stderr, --json);
// - the k-threshold and the manifest's suppression counts;
// - the CSV contract (csv_contract.py, Python's csv module and DuckDB);
// - formula injection; --tz and --from/--until.

// MARK: - Truth file (the parts these tests read)

/// The `--truth` JSON of `veil-fixtures generate` (see Sources/veil-fixtures/TruthReport.swift).
private struct Truth: Decodable {
    /// Requests by status class, `status_1xx` to `status_5xx`, beside the other members of the
    /// object that holds them.
    struct StatusClasses: Decodable {
        static let columns = ["status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
        var counts: [Int]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            counts = try Self.columns.map { try c.decode(Int.self, forKey: Key(stringValue: $0)) }
        }
    }

    struct Counters: Decodable {
        var requests: Int
        var botRequests: Int
        var pageviews: Int
        var visitors: Int
        var visits: Int
        var bounces: Int
        var bytes: Int
        var status: StatusClasses

        enum CodingKeys: String, CodingKey {
            case requests, pageviews, visitors, visits, bounces, bytes
            case botRequests = "bot_requests"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            requests = try c.decode(Int.self, forKey: .requests)
            botRequests = try c.decode(Int.self, forKey: .botRequests)
            pageviews = try c.decode(Int.self, forKey: .pageviews)
            visitors = try c.decode(Int.self, forKey: .visitors)
            visits = try c.decode(Int.self, forKey: .visits)
            bounces = try c.decode(Int.self, forKey: .bounces)
            bytes = try c.decode(Int.self, forKey: .bytes)
            status = try StatusClasses(from: decoder)
        }
    }

    struct Hour: Decodable {
        /// `2026-11-28T13:00:00Z`.
        var hour: String
        var counters: Counters

        enum CodingKeys: String, CodingKey { case hour }

        init(from decoder: any Decoder) throws {
            hour = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .hour)
            counters = try Counters(from: decoder)
        }
    }

    struct TopPath: Decodable {
        var path: String
        var template: String
        var pageviews: Int
    }

    struct NotFound: Decodable {
        var path: String
        var requests: Int
    }

    struct Referrer: Decodable {
        var host: String
        var pageviews: Int
        /// Visits whose first pageview came from this host, on the day they began.
        var visits: Int
    }

    struct WebCampaign: Decodable {
        /// Source, medium and campaign joined by tabs.
        var campaign: String
        var pageviews: Int
        /// Visits whose first pageview had this campaign, on the day they began.
        var visits: Int
    }

    struct Bot: Decodable {
        var requests: Int
        var bytes: Int
        var status: StatusClasses
        var clients: Int

        enum CodingKeys: String, CodingKey { case requests, bytes, clients }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            requests = try c.decode(Int.self, forKey: .requests)
            bytes = try c.decode(Int.self, forKey: .bytes)
            clients = try c.decode(Int.self, forKey: .clients)
            status = try StatusClasses(from: decoder)
        }
    }

    struct Day: Decodable {
        /// `2026-11-28` (UTC).
        var day: String
        /// By veil's bot name; nil for formats without a user agent.
        var bots: [String: Bot]?
        var counters: Counters
        var statusCodes: [String: Int]
        var topPaths: [TopPath]
        var templatePageviews: [String: Int]
        var notFound: [NotFound]
        var referrerHosts: [Referrer]?
        var webCampaigns: [WebCampaign]?
        /// Visits by the template of their exit page, on the day they began.
        var exitPages: [String: Int]
        /// Visits by range label, on the day they began.
        var visitDurations: [String: Int]
        var visitPageviews: [String: Int]
        var devices: [String: Int]?
        var hours: [Hour]

        enum CodingKeys: String, CodingKey {
            case day, devices, hours, bots
            case exitPages = "exit_pages"
            case visitDurations = "visit_durations"
            case visitPageviews = "visit_pageviews"
            case statusCodes = "status_codes"
            case topPaths = "top_paths"
            case templatePageviews = "template_pageviews"
            case notFound = "not_found"
            case referrerHosts = "referrer_hosts"
            case webCampaigns = "web_campaigns"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            day = try c.decode(String.self, forKey: .day)
            counters = try Counters(from: decoder)
            statusCodes = try c.decode([String: Int].self, forKey: .statusCodes)
            topPaths = try c.decode([TopPath].self, forKey: .topPaths)
            templatePageviews = try c.decode([String: Int].self, forKey: .templatePageviews)
            notFound = try c.decode([NotFound].self, forKey: .notFound)
            referrerHosts = try c.decodeIfPresent([Referrer].self, forKey: .referrerHosts)
            webCampaigns = try c.decodeIfPresent([WebCampaign].self, forKey: .webCampaigns)
            exitPages = try c.decode([String: Int].self, forKey: .exitPages)
            visitDurations = try c.decode([String: Int].self, forKey: .visitDurations)
            visitPageviews = try c.decode([String: Int].self, forKey: .visitPageviews)
            devices = try c.decodeIfPresent([String: Int].self, forKey: .devices)
            bots = try c.decodeIfPresent([String: Bot].self, forKey: .bots)
            hours = try c.decode([Hour].self, forKey: .hours)
        }
    }

    struct Site: Decodable {
        var site: String
        var days: [Day]
    }

    struct Visits: Decodable {
        var visitsCrossingMidnight: Int
        var gapsWithin60sOfTimeout: Int
        var exitTies: Int

        enum CodingKeys: String, CodingKey {
            case exitTies = "exit_ties"
            case visitsCrossingMidnight = "visits_crossing_midnight"
            case gapsWithin60sOfTimeout = "gaps_within_60s_of_timeout"
        }
    }

    var visits: Visits
    var sites: [Site]

    static func load(_ g: GeneratedLog) throws -> Truth {
        try JSONDecoder().decode(Truth.self, from: Data(contentsOf: URL(fileURLWithPath: g.truth)))
    }
}

/// An integer cell.
private func int(_ row: [String: String], _ column: String) throws -> Int {
    guard let text = row[column], let v = Int(text) else {
        throw CLITestError("column \(column) of \(row) is not an integer")
    }
    return v
}

// MARK: - Running things

/// Runs the built `veil`, requiring exit status 0.
@discardableResult
private func veil(_ args: [String], env: [String: String] = [:]) throws -> ProcessResult {
    let r = try CLI.veil(args, env: env)
    try #require(r.status == 0, "veil \(args.joined(separator: " ")) failed: \(r)")
    return r
}

/// Runs `python3` with arguments.
private func python(_ args: [String]) throws -> ProcessResult {
    try CLI.run(try CLI.tool("python3", package: "python3"), args, timeout: 120)
}

/// The contract script next to this file.
private let contractScript = CLI.packageRoot + "/Tests/VeilCLITests/csv_contract.py"

/// Runs csv_contract.py on rollup directories; requires exit 0.
private func checkContract(_ dirs: [String], k: Int? = nil) throws {
    let r = try python([contractScript] + (k.map { ["--k", String($0)] } ?? []) + dirs)
    #expect(r.status == 0, "csv_contract.py \(dirs) failed (if DuckDB is missing: pip install duckdb):\n\(r)")
}

/// The `tables` member of a rollup's manifest.json.
private func manifestTables(_ dir: String) throws -> [String: [String: Any]] {
    let m = try jsonObject(try CLI.read(dir + "/manifest.json"), dir + "/manifest.json")
    guard let t = m["tables"] as? [String: [String: Any]] else { throw CLITestError("\(dir): manifest has no tables") }
    return t
}

/// Splits a file into its lines, each with its `\n` (the last one may lack it).
private func lines(of bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var out: [ArraySlice<UInt8>] = []
    var start = 0
    for i in bytes.indices where bytes[i] == 0x0A {
        out.append(bytes[start...i])
        start = i + 1
    }
    if start < bytes.count { out.append(bytes[start...]) }
    return out
}

/// `2026-11-28T13:00:00Z` → seconds since 1970.
private func utcSeconds(_ iso: String) throws -> Int {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    guard let d = f.date(from: iso) else { throw CLITestError("bad time \(iso)") }
    return Int(d.timeIntervalSince1970)
}

/// Seconds since 1970 → `2026-11-28` (after adding `offset` seconds).
private func dateString(_ seconds: Int, offset: Int = 0) -> String {
    let days = Int((Double(seconds + offset) / 86_400).rounded(.down))
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd"
    return f.string(from: Date(timeIntervalSince1970: Double(days) * 86_400))
}

/// Seconds since 1970 of an hour start → its local label `2026-11-28T14:00:00+01:00`.
private func localHourLabel(_ seconds: Int, offset: Int) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "UTC")
    f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
    let sign = offset < 0 ? "-" : "+"
    let a = abs(offset)
    let zone = offset == 0 ? "Z" : String(format: "%@%02d:%02d", sign, a / 3600, a / 60 % 60)
    return f.string(from: Date(timeIntervalSince1970: Double(seconds + offset))) + zone
}

/// The dimension tables (thresholded on distinct visitors) and the column that holds the value.
private let visitorTables: [(name: String, valueColumn: String)] = [
    ("pages", "path"), ("entry_pages", "path"), ("referrers", "referrer_host"), ("browsers", "browser"),
    ("operating_systems", "os"), ("devices", "device"),
]

/// Every table veil publishes and the column that can hold `(other)` (nil for traffic tables).
private let allTables: [(name: String, valueColumn: String?)] =
    [
        ("traffic_hourly", nil), ("traffic_daily", nil), ("traffic_weekly", nil), ("traffic_monthly", nil),
        ("not_found", "path"), ("status_codes", "status"),
    ] + visitorTables.map { ($0.name, $0.valueColumn) }

// MARK: - Leak search

/// Python program: reads the identifier list (`kind<TAB>value`) and searches files for every
/// identifier in every textual form, and for the unkeyed MD5 / SHA-1 / SHA-256 (lowercase hex) of
/// each. Prints `needles N skipped_short S`, then `HIT<TAB>file<TAB>identifier<TAB>needle` per
/// hit. Needles shorter than 6 bytes are skipped (they would match ordinary numbers and words);
/// no identifier the generator writes is that short (IPs ≥ 9, cookies 32, tokens ≥ 20, users ≥ 10
/// characters), and the count of skipped ones is printed so the test can require it to be 0.
private let leakSearchProgram = #"""
    import hashlib, ipaddress, sys
    MIN = 6
    ids_path, files = sys.argv[1], sys.argv[2:]
    needles = {}
    skipped = 0
    def add(label, text):
        global skipped
        b = text.encode("utf-8")
        if len(b) < MIN:
            skipped += 1
        elif b not in needles:
            needles[b] = label
    def add_hashes(label, text):
        for algo in ("md5", "sha1", "sha256"):
            add(algo + " of " + label, hashlib.new(algo, text.encode("utf-8")).hexdigest())
    count = 0
    for line in open(ids_path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
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
                if a.ipv4_mapped is not None:
                    forms |= {str(a.ipv4_mapped), "::ffff:" + str(a.ipv4_mapped)}
            forms |= {f.upper() for f in forms} | {f.lower() for f in forms}
            hashed = set(forms)
        elif kind == "email":
            low = value.lower()
            forms |= {low, value.replace("@", "%40"), low.replace("@", "%40")}
            hashed = {value, low}
        for f in forms:
            add(label, f)
        for h in hashed:
            add_hashes(label, h)
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

/// The result of searching files for identifiers.
private struct LeakSearch {
    var needles = 0
    var identifiers = 0
    var skippedShort = -1
    /// `(file, identifier, needle)`.
    var hits: [(file: String, identifier: String, needle: String)] = []

    init(identifiers: String, files: [String]) throws {
        let r = try python(["-c", leakSearchProgram, identifiers] + files)
        guard r.status == 0 else { throw CLITestError("leak search failed: \(r)") }
        for line in r.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if parts.first == "HIT", parts.count == 4 {
                hits.append((parts[1], parts[2], parts[3]))
            } else if line.hasPrefix("needles ") {
                let w = line.split(separator: " ")
                needles = Int(w[1]) ?? 0
                self.identifiers = Int(w[3]) ?? 0
                skippedShort = Int(w[5]) ?? -1
            }
        }
    }
}

// MARK: - Tests

@Suite("Rollups: exact counts, merge, release, leaks, CSV contract")
struct RollupCLITests {

    // MARK: 1. Exact counts

    /// `veil run --k 2` on a generated log (2 UTC days, ~20k lines, malformed lines included):
    /// every traffic_daily count equals the truth exactly; visitors are HyperLogLog estimates
    /// within 2 % (in practice exact at these sizes); visits and bounces differ only by the visits
    /// that cross midnight (veil's pseudonyms change with the daily key, so such a visit becomes
    /// two: exactly `visits_crossing_midnight` more visits in all, and at most two bounces more
    /// per crossing visit; timestamps are whole seconds in these formats, so gaps near the
    /// timeout cannot differ).
    @Test(
        "traffic and dimension tables equal the generator's truth",
        arguments: ["combined_cookie", "vhost_combined", "traefik_clf", "json-cloudflare", "aws_s3", "haproxy", "gcs"])
    func countsEqualTruth(format: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let sites =
            ["vhost_combined", "json-cloudflare", "aws_s3", "haproxy", "gcs"].contains(format)
            ? ["a.example.com", "b.example.org"] : ["www.example.com"]
        let g = try CLI.generate(
            format: format, lines: 20_000, seed: 41,
            extra: ["--days", "2", "--sites", sites.joined(separator: ","), "--malformed-share", "0.01"], in: dir)
        let truth = try Truth.load(g)
        let logTruth = try g.logTruth()
        let env = ["VEIL_KEYS": dir + "/keys"]

        // Every malformed line of the truth is rejected, every other line is a record (the
        // generator makes no line that veil's tolerance rule would repair).
        let out = dir + "/out"
        let run = try veil(
            ["run", g.log, "--k", "2", "-o", out, "--json", "--site", sites[0]]
                + FormatFixtureTests.readOptions(format),
            env: env)
        let summary = try jsonObject(run.stdout, "run --json")
        let aggregate = try #require(summary["aggregate"] as? [String: Any])
        #expect(aggregate["records"] as? Int == logTruth.requests)
        #expect(aggregate["rejected"] as? Int == logTruth.malformed["total"])
        #expect((logTruth.malformed["total"] ?? 0) > 100, "the log should hold malformed lines")
        let input = try #require((aggregate["inputs"] as? [[String: Any]])?.first)
        #expect((input["repaired"] as? [Any])?.isEmpty == true, "veil repaired lines the truth counts as malformed")

        let daily = try CSVTable(out + "/traffic_daily.csv")
        let hourly = try CSVTable(out + "/traffic_hourly.csv")
        let pages = try CSVTable(out + "/pages.csv")
        let statusCodes = try CSVTable(out + "/status_codes.csv")
        let bots = try CSVTable(out + "/bots.csv")
        var comparedBots = 0
        let referrers = try CSVTable(out + "/referrers.csv")
        let webCampaigns = try CSVTable(out + "/web_campaigns.csv")
        let devices = try CSVTable(out + "/devices.csv")
        let notFound = try CSVTable(out + "/not_found.csv")
        let exitPages = try CSVTable(out + "/exit_pages.csv")
        var exitDifference = 0
        var comparedExits = 0
        let visitTables = [
            ("visit_durations", "seconds", \Truth.Day.visitDurations),
            ("visit_pageviews", "pageviews", \Truth.Day.visitPageviews),
        ].map { (name: $0.0, unit: $0.1, truth: $0.2, csv: try? CSVTable(out + "/" + $0.0 + ".csv")) }
        var visitLengthDifference = [0, 0]
        var comparedVisitLengths = 0

        #expect(try daily.rows.reduce(0) { try $0 + int($1, "requests") } == logTruth.requests)
        #expect(daily.rows.count == sites.count * 2, "one row per site and day: \(daily.rows)")

        var extraVisits = 0
        var extraBounces = 0
        var comparedPaths = 0
        var comparedNotFound = 0
        var comparedWebCampaigns = 0
        var comparedWebCampaignVisits = 0
        var comparedReferrerVisits = 0
        var referrerVisitDifference = 0
        var webCampaignVisitDifference = 0
        for site in truth.sites {
            for day in site.days {
                let where_ = "\(site.site) \(day.day)"
                let rows = daily.rows(site: site.site, "date", day.day)
                guard let row = rows.first, rows.count == 1 else {
                    Issue.record("\(where_): expected one traffic_daily row, got \(rows)")
                    continue
                }
                let t = day.counters
                #expect(try int(row, "requests") == t.requests, "\(where_) requests")
                #expect(try int(row, "bot_requests") == t.botRequests, "\(where_) bot_requests")
                #expect(try int(row, "pageviews") == t.pageviews, "\(where_) pageviews")
                #expect(try int(row, "bytes") == t.bytes, "\(where_) bytes")
                #expect(
                    try Truth.StatusClasses.columns.map { try int(row, $0) } == t.status.counts,
                    "\(where_) status classes")
                let visitors = try int(row, "visitors")
                #expect(
                    abs(visitors - t.visitors) <= max(2, t.visitors / 50),
                    "\(where_) visitors \(visitors) vs truth \(t.visitors) (HyperLogLog, 2 %)")
                let visits = try int(row, "visits")
                let bounces = try int(row, "bounces")
                #expect(visits >= t.visits, "\(where_) visits \(visits) < truth \(t.visits)")
                #expect(bounces >= t.bounces, "\(where_) bounces \(bounces) < truth \(t.bounces)")
                extraVisits += visits - t.visits
                extraBounces += bounces - t.bounces

                // Hours: exact too (a row exists whenever the hour had two distinct visitors).
                for h in day.hours {
                    let hr = hourly.rows(site: site.site, "hour", h.hour)
                    if let r = hr.first {
                        #expect(try int(r, "requests") == h.counters.requests, "\(site.site) \(h.hour) requests")
                        #expect(try int(r, "pageviews") == h.counters.pageviews, "\(site.site) \(h.hour) pageviews")
                        #expect(try int(r, "bytes") == h.counters.bytes, "\(site.site) \(h.hour) bytes")
                    } else {
                        #expect(h.counters.visitors < 2, "\(site.site) \(h.hour): no traffic_hourly row")
                    }
                }

                // Pages: veil's rows split a path by its kept utm_* query; the truth's don't. The
                // rows of a path add up to the truth, less what was folded into (other).
                var byPath: [String: Int] = [:]
                var other = 0
                var pageviewSum = 0
                for r in pages.rows(site: site.site, "date", day.day) {
                    let pv = try int(r, "pageviews")
                    pageviewSum += pv
                    let path = r["path"] ?? ""
                    if path == "(other)" {
                        other += pv
                    } else {
                        byPath[
                            String(path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]),
                            default: 0] += pv
                    }
                }
                if other > 0 {
                    #expect(pageviewSum == t.pageviews, "\(where_): pages (with (other)) sum to the day's pageviews")
                } else {
                    #expect(pageviewSum <= t.pageviews, "\(where_): pages sum above the day's pageviews")
                }
                var expected = day.templatePageviews
                for p in day.topPaths where p.path == p.template { expected[p.path] = p.pageviews }
                for (path, pv) in expected {
                    let got = byPath[path] ?? 0
                    #expect(
                        got <= pv && pv <= got + other,
                        "\(where_) \(path): veil \(got) (+\(other) in (other)), truth \(pv)")
                    comparedPaths += 1
                }
                if let top = day.topPaths.first {
                    #expect(byPath[top.template] != nil, "\(where_): the most viewed page \(top.template) is published")
                }

                // Status codes: every published code equals the truth; 200 is always published.
                var published = 0
                for r in statusCodes.rows(site: site.site, "date", day.day) where r["status"] != "(other)" {
                    let code = r["status"] ?? ""
                    #expect(try int(r, "requests") == day.statusCodes[code], "\(where_) status \(code)")
                    published += 1
                }
                #expect(
                    published >= 1
                        && statusCodes.rows(site: site.site, "date", day.day).contains { $0["status"] == "200" })

                // Bots: a name sent by at least k = 2 clients has its own row, with the truth's
                // requests; the others are in (other); all rows add up to the day's bot requests
                // when (other) is published.
                let botRows = bots.rows(site: site.site, "date", day.day)
                let truthBots = try #require(day.bots, "\(where_): the truth has bots")
                #expect(truthBots.values.reduce(0) { $0 + $1.requests } == t.botRequests, "\(where_) bot truth")
                var botSum = 0
                for r in botRows {
                    let name = r["bot"] ?? ""
                    let requests = try int(r, "requests")
                    botSum += requests
                    let statusSum = try Truth.StatusClasses.columns.reduce(0) { try $0 + int(r, $1) }
                    #expect(statusSum == requests, "\(where_) bot \(name): status classes sum to requests")
                    #expect(try int(r, "bytes") > 0, "\(where_) bot \(name) bytes")
                    guard name != "(other)" else { continue }
                    let truthBot = try #require(truthBots[name], "\(where_): bot \(name) is not in the truth")
                    #expect(requests == truthBot.requests, "\(where_) bot \(name) requests")
                    #expect(try int(r, "bytes") == truthBot.bytes, "\(where_) bot \(name) bytes")
                    #expect(
                        try Truth.StatusClasses.columns.map { try int(r, $0) } == truthBot.status.counts,
                        "\(where_) bot \(name) status classes")
                    #expect(truthBot.clients >= 2, "\(where_) bot \(name) published with one client")
                    comparedBots += 1
                }
                for (name, b) in truthBots where b.clients >= 2 {
                    #expect(botRows.contains { $0["bot"] == name }, "\(where_): bot \(name) (\(b.clients) clients)")
                }
                if botRows.contains(where: { $0["bot"] == "(other)" }) {
                    #expect(botSum == t.botRequests, "\(where_): bot rows sum to bot_requests")
                } else {
                    #expect(botSum <= t.botRequests, "\(where_): bot rows above bot_requests")
                }

                // Referrer hosts and devices: published rows equal the truth.
                if let hosts = day.referrerHosts {
                    let truthHosts = Dictionary(uniqueKeysWithValues: hosts.map { ($0.host, $0) })
                    let rows = referrers.rows(site: site.site, "date", day.day).filter {
                        $0["referrer_host"] != "(other)"
                    }
                    #expect(!rows.isEmpty, "\(where_): no referrer published")
                    // The site's own links are internal navigation, not referrals: the truth
                    // has them, veil does not list them.
                    #expect((truthHosts[site.site]?.pageviews ?? 0) > 0, "\(where_): no internal links in the truth")
                    #expect(
                        !rows.contains {
                            $0["referrer_host"] == site.site || $0["referrer_host"] == "www." + site.site
                        },
                        "\(where_): the site's own host listed as a referrer")
                    for r in rows {
                        let host = r["referrer_host"] ?? ""
                        #expect(try int(r, "pageviews") == truthHosts[host]?.pageviews, "\(where_) referrer \(host)")
                        // As for web campaigns: a visit crossing midnight may enter again.
                        let visits = try int(r, "visits")
                        referrerVisitDifference += abs(visits - (truthHosts[host]?.visits ?? 0))
                        comparedReferrerVisits += visits
                    }
                }
                // Web campaigns: published rows equal the truth; page paths keep no campaign tag.
                if let campaigns = day.webCampaigns {
                    let truthCampaigns = Dictionary(uniqueKeysWithValues: campaigns.map { ($0.campaign, $0) })
                    for r in webCampaigns.rows(site: site.site, "date", day.day) where r["source"] != "(other)" {
                        let label = [r["source"] ?? "", r["medium"] ?? "", r["campaign"] ?? ""].joined(separator: "\t")
                        #expect(
                            try int(r, "pageviews") == truthCampaigns[label]?.pageviews,
                            "\(where_) web campaign \(label)")
                        // Visits by their first pageview's campaign: a visit crossing midnight is
                        // two in veil, whose second may enter through a tagged page.
                        let visits = try int(r, "visits")
                        webCampaignVisitDifference += abs(visits - (truthCampaigns[label]?.visits ?? 0))
                        comparedWebCampaignVisits += visits
                        comparedWebCampaigns += 1
                    }
                }
                // Exit pages: a published path's exits equal the truth's, but for the visits that
                // cross midnight (veil splits them: the first part ends elsewhere, up to 3 counts)
                // and those with two last pageviews in one second (veil takes the larger path,
                // the truth the first: 2 counts).
                var exitsByPath: [String: Int] = [:]
                for r in exitPages.rows(site: site.site, "date", day.day) where r["path"] != "(other)" {
                    let path = String((r["path"] ?? "").split(separator: "?", omittingEmptySubsequences: false)[0])
                    exitsByPath[path, default: 0] += try int(r, "exits")
                }
                for (path, exits) in exitsByPath {
                    exitDifference += abs(exits - (day.exitPages[path] ?? 0))
                    comparedExits += 1
                }
                // Visits by duration and by pageviews: each row's visits equal the truth's in its
                // ranges (keyed by their lowest value), but for the visits crossing midnight,
                // which veil splits (each moves at most 3 counts).
                for (i, table) in visitTables.enumerated() {
                    let csv = try #require(table.csv, "\(table.name).csv")
                    for r in csv.rows(site: site.site, "date", day.day) {
                        let low = try int(r, "min_" + table.unit)
                        let high = Int(r["max_" + table.unit] ?? "") ?? .max
                        let truthVisits = day[keyPath: table.truth].filter { (low...high).contains(Int($0.key) ?? -1) }
                            .values.reduce(0, +)
                        visitLengthDifference[i] += abs(try int(r, "visits") - truthVisits)
                        comparedVisitLengths += 1
                    }
                }
                if let truthDevices = day.devices {
                    let rows = devices.rows(site: site.site, "date", day.day).filter { $0["device"] != "(other)" }
                    #expect(!rows.isEmpty, "\(where_): no device published")
                    for r in rows {
                        let device = r["device"] ?? ""
                        #expect(try int(r, "pageviews") == truthDevices[device], "\(where_) device \(device)")
                    }
                }

                // Not-found pages: veil counts bots too (bot_requests); the truth only humans.
                let nf = notFound.rows(site: site.site, "date", day.day)
                for entry in day.notFound {
                    guard let r = nf.first(where: { $0["path"] == entry.path }) else { continue }
                    #expect(
                        try int(r, "requests") - int(r, "bot_requests") == entry.requests,
                        "\(where_) not_found \(entry.path)")
                    comparedNotFound += 1
                }
            }
        }
        let crossing = truth.visits.visitsCrossingMidnight
        #expect(
            extraVisits == crossing,
            "veil has \(extraVisits) more visits than the truth; \(crossing) visits cross midnight and each is split in two"
        )
        #expect(
            extraBounces >= 0 && extraBounces <= 2 * crossing,
            "veil has \(extraBounces) more bounces; at most 2 per visit crossing midnight (\(crossing))")
        #expect(comparedPaths >= 10, "too few pages compared with the truth (\(comparedPaths))")
        #expect(comparedNotFound >= 1, "no not_found row compared with the truth")
        #expect(comparedBots >= 4, "too few bots rows compared with the truth")
        #expect(comparedWebCampaigns >= 2, "too few web campaigns compared with the truth (\(comparedWebCampaigns))")
        #expect(comparedWebCampaignVisits > 0, "no published web campaign has visits")
        #expect(comparedReferrerVisits > 0, "no published referrer has visits")
        #expect(
            referrerVisitDifference <= crossing,
            "referrers: \(referrerVisitDifference) visits differ from the truth (\(crossing) cross midnight)")
        #expect(
            webCampaignVisitDifference <= crossing,
            "web_campaigns: \(webCampaignVisitDifference) visits differ from the truth (\(crossing) cross midnight)")
        #expect(comparedExits >= 10, "too few exit pages compared with the truth (\(comparedExits))")
        #expect(
            exitDifference <= 3 * crossing + 2 * truth.visits.exitTies,
            "exit_pages: \(exitDifference) exits differ from the truth (\(crossing) visits cross midnight, \(truth.visits.exitTies) exit ties)"
        )
        #expect(comparedVisitLengths >= 16, "too few visit ranges compared with the truth (\(comparedVisitLengths))")
        for (i, table) in visitTables.enumerated() {
            #expect(
                visitLengthDifference[i] <= 3 * crossing,
                "\(table.name): \(visitLengthDifference[i]) visits differ from the truth (\(crossing) cross midnight)")
        }
        for table in ["pages", "entry_pages", "exit_pages"] {
            let csv = try CLI.read(out + "/" + table + ".csv")
            #expect(!CLI.contains(csv, Array("utm_".utf8)), "a path in \(table).csv kept a campaign tag")
        }

        // "A day's traffic row sums to the records parsed that day": veil inspect, per UTC day.
        for day in truth.sites[0].days.map(\.day) {
            let next = dateString(try utcSeconds(day + "T00:00:00Z") + 86_400)
            let r = try veil(["inspect", g.log, "--from", day, "--until", next, "--json"])
            let reports = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])
            let records = try #require(reports.first?["records"] as? Int)
            let sum = try daily.rows.filter { $0["date"] == day }.reduce(0) { try $0 + int($1, "requests") }
            #expect(sum == records, "\(day): traffic_daily requests \(sum), records parsed that day \(records)")
        }

        let manifest = try jsonObject(try CLI.read(out + "/manifest.json"), "manifest")
        #expect(manifest["key_epochs"] as? [String] == ["d-2026-11-28", "d-2026-11-29"])
        #expect(manifest["k"] as? Int == 2)
    }

    // MARK: 2. Shards == whole

    /// A log split into three files by lines, and separately dealt round-robin into two files (two
    /// servers behind a load balancer: every visit is split across the files), aggregated with
    /// the same keys and merged in different orders and groupings: the merged states are
    /// byte-identical and report exactly the CSV bytes of the whole log's state.
    /// A JSON access log whose keys no preset knows is read with `--json-fields`: the
    /// Cloudflare fixture with every key renamed gives the same rollups as the original read
    /// by its preset, and without the mapping it is not recognised.
    @Test("--json-fields reads a JSON access log by its own keys: the same rollups as the preset")
    func jsonFieldsMapping() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "json-cloudflare", lines: 6000, seed: 44,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org", "--malformed-share", "0.01"], in: dir)
        let renames = [
            ("EdgeStartTimestamp", "at", "timestamp"), ("ClientIP", "peer", "ip"),
            ("ClientRequestHost", "vhost", "host"),
            ("ClientRequestMethod", "verb", "method"), ("ClientRequestURI", "path", "uri"),
            ("ClientRequestProtocol", "proto", "protocol"), ("EdgeResponseStatus", "code", "status"),
            ("EdgeResponseBytes", "sent", "bytes"), ("ClientRequestReferer", "from", "referrer"),
            ("ClientRequestUserAgent", "agent", "user_agent"),
        ]
        var text = String(decoding: try CLI.read(g.log), as: UTF8.self)
        for (key, renamed, _) in renames {
            text = text.replacingOccurrences(of: "\"\(key)\":", with: "\"\(renamed)\":")
        }
        let renamed = dir + "/renamed.log"
        try Data(text.utf8).write(to: URL(fileURLWithPath: renamed))
        let mapping = renames.map { "\($0.2)=\($0.1)" }.joined(separator: ",")
        let env = ["VEIL_KEYS": dir + "/keys"]

        let preset = try veil(["run", g.log, "--k", "2", "-o", dir + "/preset", "--quiet"], env: env)
        #expect(preset.status == 0, "\(preset)")
        let mapped = try veil(
            ["run", renamed, "--json-fields", mapping, "--k", "2", "-o", dir + "/mapped", "--json"], env: env)
        #expect(mapped.status == 0, "\(mapped)")
        let aggregate = try #require(try jsonObject(mapped.stdout, "run --json")["aggregate"] as? [String: Any])
        #expect(aggregate["records"] as? Int == (try g.logTruth()).requests)
        let a = try CLI.csvFiles(in: dir + "/preset")
        let b = try CLI.csvFiles(in: dir + "/mapped")
        #expect(a.count >= 10 && a == b, "\(a.keys.sorted()) \(b.keys.sorted())")
        #expect(try CSVTable(dir + "/mapped/traffic_daily.csv").rows.count == 4, "2 sites × 2 days")

        let unmapped = try CLI.veil(["inspect", renamed], env: env)
        #expect(unmapped.status == 1 && unmapped.stderrText.contains("--json-fields"), "\(unmapped)")
        let both = try CLI.veil(["inspect", renamed, "--json-fields", mapping, "--email-fields", "event=e"], env: env)
        #expect(both.status == 2, "\(both)")
        let text1 = try CLI.veil(["inspect", renamed, "--json-fields", mapping, "--format", "combined"], env: env)
        #expect(text1.status == 2 && text1.stderrText.contains("--json-fields works with"), "\(text1)")
    }

    @Test("aggregating shards and merging them equals aggregating the whole log")
    func shardsMergeToWhole() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "vhost_combined", lines: 12_000, seed: 42,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org"], in: dir)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])

        let all = lines(of: try CLI.read(g.log))
        let third = all.count / 3
        let pieces: [(String, [ArraySlice<UInt8>])] = [
            ("a", Array(all[..<third])), ("b", Array(all[third..<(2 * third)])), ("c", Array(all[(2 * third)...])),
            ("r0", all.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)),
            ("r1", all.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)),
        ]
        var visitorSummaries: [String: Int] = [:]
        for (name, part) in pieces {
            try CLI.write(part.flatMap { $0 }, to: "\(dir)/\(name).log")
            let r = try veil([
                "aggregate", "\(dir)/\(name).log", "-o", "\(dir)/\(name).veilstate", "--keys", keys, "--json",
            ])
            visitorSummaries[name] = try jsonObject(r.stdout, "aggregate --json")["visitors"] as? Int
        }
        let w = try veil(["aggregate", g.log, "-o", dir + "/whole.veilstate", "--keys", keys, "--json"])
        let wholeVisitors = try #require(try jsonObject(w.stdout, "aggregate --json")["visitors"] as? Int)
        // The round-robin shards really split visitors: together they hold more summaries.
        #expect((visitorSummaries["r0"] ?? 0) + (visitorSummaries["r1"] ?? 0) > wholeVisitors + wholeVisitors / 4)

        func merge(_ inputs: [String], _ output: String) throws {
            try veil(
                ["merge"] + inputs.map { "\(dir)/\($0).veilstate" } + ["-o", "\(dir)/\(output).veilstate", "--quiet"])
        }
        try merge(["a", "b"], "ab")
        try merge(["ab", "c"], "ab_c")
        try merge(["b", "c"], "bc")
        try merge(["a", "bc"], "a_bc")
        try merge(["c", "b", "a"], "cba")
        try merge(["r0", "r1"], "r01")
        try merge(["r1", "r0"], "r10")
        let abc = try CLI.read(dir + "/ab_c.veilstate")
        #expect(abc == (try CLI.read(dir + "/a_bc.veilstate")), "(a+b)+c and a+(b+c) differ")
        #expect(abc == (try CLI.read(dir + "/cba.veilstate")), "(a+b)+c and c+b+a differ")
        #expect(
            try CLI.read(dir + "/r01.veilstate") == (try CLI.read(dir + "/r10.veilstate")), "r0+r1 and r1+r0 differ")

        func report(_ states: [String], _ output: String) throws -> [String: [UInt8]] {
            try veil(
                ["report"] + states.map { "\(dir)/\($0).veilstate" } + [
                    "-o", "\(dir)/\(output)", "--k", "2", "--quiet",
                ])
            return try CLI.csvFiles(in: "\(dir)/\(output)")
        }
        let whole = try report(["whole"], "rep-whole")
        #expect(whole.count == 19)
        #expect((try CSVTable(dir + "/rep-whole/traffic_daily.csv")).rows.count == 4)
        for (states, name) in [
            (["ab_c"], "rep-ab_c"), (["a_bc"], "rep-a_bc"), (["cba"], "rep-cba"),
            (["r01"], "rep-r01"), (["a", "b", "c"], "rep-report-merges"),
        ] {
            let got = try report(states, name)
            #expect(got.keys.sorted() == whole.keys.sorted())
            for (file, bytes) in whole {
                #expect(got[file] == bytes, "\(name)/\(file) differs from the whole log's \(file)")
            }
        }
    }

    /// Merging a state with itself, or two states made from the same input (even under another
    /// file name), fails with exit status 1 and says the input would be counted twice; no output
    /// is written.
    @Test("merge refuses to count an input twice")
    func mergeRefusesDuplicates() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "combined", lines: 2_000, seed: 43, in: dir)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try CLI.write(try CLI.read(g.log), to: dir + "/copy.log")
        let other = try CLI.generate(format: "combined", lines: 2_000, seed: 44, in: dir, name: "other")
        try veil(["aggregate", g.log, "-o", dir + "/a.veilstate", "--keys", keys, "--quiet"])
        try veil(["aggregate", dir + "/copy.log", "-o", dir + "/copy.veilstate", "--keys", keys, "--quiet"])
        try veil(["aggregate", other.log, "-o", dir + "/o.veilstate", "--keys", keys, "--quiet"])
        try veil(["merge", dir + "/a.veilstate", dir + "/o.veilstate", "-o", dir + "/ao.veilstate", "--quiet"])

        let cases: [[String]] = [
            ["merge", dir + "/a.veilstate", dir + "/a.veilstate", "-o", dir + "/x1.veilstate"],
            ["merge", dir + "/a.veilstate", dir + "/copy.veilstate", "-o", dir + "/x2.veilstate"],
            ["merge", dir + "/ao.veilstate", dir + "/copy.veilstate", "-o", dir + "/x3.veilstate"],
            ["report", dir + "/a.veilstate", dir + "/copy.veilstate", "-o", dir + "/x4"],
        ]
        for args in cases {
            let r = try CLI.veil(args)
            #expect(r.status == 1, "\(args): \(r)")
            #expect(r.stderrText.contains("twice"), "\(args): the message should say it would count twice: \(r)")
            #expect(!CLI.exists(args[args.count - 1]), "\(args): an output was written")
        }
    }

    // MARK: 3. Determinism

    /// `veil report` twice on the same state, and `veil run` twice with the same key store, give
    /// byte-identical directories (CSV files and manifest.json).
    @Test("the same state gives byte-identical releases")
    func reportIsDeterministic() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "json-caddy", lines: 8_000, seed: 45, extra: ["--sites", "a.example.com,b.example.org"], in: dir)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil(["aggregate", g.log, "-o", dir + "/s.veilstate", "--keys", keys, "--quiet"])
        for name in ["r1", "r2"] {
            try veil(["report", dir + "/s.veilstate", "-o", dir + "/" + name, "--k", "2", "--quiet"])
        }
        for name in ["run1", "run2"] {
            try veil(["run", g.log, "-o", dir + "/" + name, "--k", "2", "--keys", keys, "--quiet"])
        }
        for (a, b) in [("r1", "r2"), ("run1", "run2")] {
            let files = CLI.list(dir + "/" + a)
            // 19 tables (Caddy's serving times add two) and the manifest.
            #expect(files.count == 22 && files.contains("manifest.json"), "\(files)")
            #expect(files == CLI.list(dir + "/" + b))
            for f in files {
                #expect(
                    try CLI.read("\(dir)/\(a)/\(f)") == (try CLI.read("\(dir)/\(b)/\(f)")), "\(a)/\(f) != \(b)/\(f)")
            }
        }
        // The run's state is the aggregate's state: the CSVs agree too.
        #expect(try CLI.csvFiles(in: dir + "/r1") == (try CLI.csvFiles(in: dir + "/run1")))
    }

    // MARK: 4. Leaks

    /// Every byte veil writes — all CSVs and manifest.json at k = 10 and k = 2, standard output
    /// and standard error, with and without --json, and `veil inspect` — is searched for every
    /// identifier of the input: each IP as written, IPv4 also as `::ffff:a.b.c.d`, IPv6 expanded
    /// and compressed, in lower and upper case; cookie ids, session tokens, recipient tokens,
    /// user names, e-mail addresses (as written, lower-cased, with `%40`), full user agents; and
    /// the lowercase hex MD5, SHA-1 and SHA-256 of each of these. Zero hits. A positive control
    /// proves the search finds identifiers in the raw log and hashes computed by coreutils.
    @Test(
        "no identifier, in any form or unkeyed hash, reaches any output",
        arguments: ["combined_cookie_xff", "json-caddy", "aws_alb"])
    func noIdentifierLeaks(format: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        // Two days: `veil run` seals the first day's summaries to its temporary file and reads
        // them back for the release, so the sealed path's output is searched too.
        var extra = ["--ipv6-share", "0.3", "--email-share", "0.08", "--malformed-share", "0.02", "--days", "2"]
        if format != "combined_cookie_xff" { extra += ["--sites", "a.example.com,b.example.org"] }
        let g = try CLI.generate(format: format, lines: 12_000, seed: 46, extra: extra, in: dir)
        let ids = try g.identifierList()
        let kinds = Set(ids.map(\.kind))
        for kind in ["ip", "ua", "recipient", "email", "token"] {
            #expect(kinds.contains(kind), "the generated log has no \(kind) identifiers")
        }
        if format == "combined_cookie_xff" { #expect(kinds.contains("cookie")) }
        #expect(ids.contains { $0.kind == "ip" && $0.value.contains(":") }, "no IPv6 address in the log")

        let env = ["VEIL_KEYS": dir + "/keys"]
        let outputs = dir + "/outputs"
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        var files: [String] = []
        var runs: [(name: String, args: [String])] = [
            ("run-k10", ["run", g.log, "-o", dir + "/k10"]),
            ("run-k2-json", ["run", g.log, "-o", dir + "/k2", "--k", "2", "--json"]),
            ("inspect", ["inspect", g.log]),
            ("inspect-json", ["inspect", g.log, "--json"]),
        ]
        if format == "combined_cookie_xff" {
            runs.append(("run-xff", ["run", g.log, "-o", dir + "/xff", "--k", "2", "--trust-forwarded-for", "--json"]))
        }
        for (name, args) in runs {
            let r = try CLI.veil(args, env: env)
            #expect(r.status == 0, "\(name): \(r)")
            try CLI.write(r.stdout, to: "\(outputs)/\(name).stdout")
            try CLI.write(r.stderr, to: "\(outputs)/\(name).stderr")
            files += ["\(outputs)/\(name).stdout", "\(outputs)/\(name).stderr"]
        }
        for rollup in ["k10", "k2"] + (format == "combined_cookie_xff" ? ["xff"] : []) {
            let names = CLI.list(dir + "/" + rollup)
            // Caddy and the ALB log serving times: two more tables.
            #expect(names.count == (format == "combined_cookie_xff" ? 20 : 22), "\(rollup): \(names)")
            files += names.map { "\(dir)/\(rollup)/\($0)" }
        }
        #expect((try CSVTable(dir + "/k10/pages.csv")).rows.count > 0, "k=10 published no page: the search is too easy")

        let search = try LeakSearch(identifiers: g.identifiers, files: files)
        #expect(search.identifiers == ids.count)
        #expect(search.skippedShort == 0, "some identifiers are shorter than 6 bytes and were not searched")
        #expect(search.needles > 8 * ids.count, "too few search strings: \(search.needles)")
        #expect(
            search.hits.isEmpty,
            "identifiers found in veil's output:\n\(search.hits.prefix(20).map { "\($0.file): \($0.identifier) as \($0.needle)" }.joined(separator: "\n"))"
        )

        // Positive control: the same search finds identifiers in the raw log, and finds hashes
        // computed independently by coreutils.
        let head = Array(try CLI.read(g.log).prefix(400_000))
        try CLI.write(head, to: dir + "/control.log")
        let ip = try #require(ids.first { $0.kind == "ip" && $0.value.contains(":") }).value
        let token = try #require(ids.first { $0.kind == "recipient" }).value
        var digests: [UInt8] = []
        for tool in ["md5sum", "sha1sum", "sha256sum"] {
            for value in [ip, token] {
                let r = try CLI.run(try CLI.tool(tool, package: "coreutils"), [], stdin: Array(value.utf8))
                digests += Array((r.stdoutText.split(separator: " ").first ?? "").utf8) + [0x0A]
            }
        }
        try CLI.write(digests, to: dir + "/control.digests")
        let control = try LeakSearch(
            identifiers: g.identifiers, files: [dir + "/control.log", dir + "/control.digests"])
        let found = Set(
            control.hits.filter { $0.file.hasSuffix(".log") }.map { $0.identifier.split(separator: " ")[0] })
        for kind in ["ip", "ua"] + (format == "combined_cookie_xff" ? ["cookie"] : []) {
            #expect(found.contains(Substring(kind)), "control: no \(kind) found in the raw log")
        }
        let hashHits = control.hits.filter { $0.file.hasSuffix(".digests") }.map(\.identifier)
        for algo in ["md5", "sha1", "sha256"] {
            #expect(hashHits.contains("\(algo) of ip \(ip)"), "control: \(algo) of \(ip) not found")
            #expect(hashHits.contains("\(algo) of recipient \(token)"), "control: \(algo) of \(token) not found")
        }
    }

    // MARK: 5. k-threshold

    /// At k = 10 every row of every visitor-thresholded table has at least 10 visitors; at
    /// k = 1000 nothing is published and every table reports suppressed rows (so the traffic,
    /// status and not-found tables, thresholded on clients, do threshold). The manifest's counts
    /// obey the invariant that for each table, published rows other than `(other)` plus
    /// `rows_suppressed` is the number of cells, whatever k; `(other)` rows never outnumber the
    /// folded rows, and folded rows never outnumber suppressed ones.
    @Test("k-threshold: no small row is published, and suppression is counted")
    func kThreshold() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "vhost_combined", lines: 20_000, seed: 47,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org"], in: dir)
        let state = dir + "/s.veilstate"
        try veil(["run", g.log, "-o", dir + "/k10", "--state", state, "--quiet"], env: ["VEIL_KEYS": dir + "/keys"])
        for k in [2, 1000] {
            try veil(["report", state, "-o", "\(dir)/k\(k)", "--k", String(k), "--quiet"])
        }

        // k = 10: every visitors column of the dimension tables ≥ 10, (other) rows included.
        for (table, _) in visitorTables {
            let t = try CSVTable("\(dir)/k10/\(table).csv")
            #expect(!t.rows.isEmpty, "k=10 published nothing in \(table): the check is empty")
            for row in t.rows {
                #expect(try int(row, "visitors") >= 10, "\(table) row below k=10: \(row)")
            }
        }
        // k = 2 publishes rows that k = 10 holds back (so the check above has something to catch).
        let smallPages = try CSVTable(dir + "/k2/pages.csv").rows.filter { try int($0, "visitors") < 10 }
        #expect(!smallPages.isEmpty, "k=2 published no page with fewer than 10 visitors")

        var cells: [String: Int] = [:]
        var lastPublished: [String: Int] = [:]
        for k in [2, 10, 1000] {
            let tables = try manifestTables("\(dir)/k\(k)")
            for (table, valueColumn) in allTables {
                let info = try #require(tables[table], "k=\(k): \(table) missing in the manifest")
                let rows = try #require(info["rows"] as? Int)
                let suppressed = try #require(info["rows_suppressed"] as? Int)
                let folded = try #require(info["rows_folded_into_other"] as? Int)
                let csv = try CSVTable("\(dir)/k\(k)/\(table).csv")
                #expect(csv.rows.count == rows, "k=\(k) \(table): manifest rows \(rows), file \(csv.rows.count)")
                let otherRows = valueColumn.map { c in csv.rows.filter { $0[c] == "(other)" }.count } ?? 0
                #expect(
                    otherRows <= folded && folded <= suppressed,
                    "k=\(k) \(table): (other) rows \(otherRows), folded \(folded), suppressed \(suppressed)")
                let published = rows - otherRows
                if let n = cells[table] {
                    #expect(
                        published + suppressed == n,
                        "k=\(k) \(table): published \(published) + suppressed \(suppressed) != \(n) cells (as at k=2)")
                } else {
                    cells[table] = published + suppressed
                }
                if let before = lastPublished[table] {
                    #expect(published <= before, "k=\(k) \(table): more rows than at a smaller k")
                }
                lastPublished[table] = published
                if k == 10, table.hasPrefix("traffic") || table == "status_codes" || table == "not_found" {
                    #expect(rows > 0, "k=10 \(table) is empty")
                }
                if k == 1000 {
                    #expect(rows == 0, "k=1000 \(table) published \(rows) rows")
                    #expect(suppressed > 0, "k=1000 \(table) suppressed nothing")
                    #expect(try CLI.read("\(dir)/k1000/\(table).csv").count > 0, "\(table).csv has no header")
                }
            }
            #expect((tables["pages"]?["rows_suppressed"] as? Int ?? 0) > 0 || k == 2, "k=\(k): no page suppressed")
        }
    }

    // MARK: 6. CSV contract

    /// csv_contract.py (Python's csv module and DuckDB; the documented columns live there) accepts
    /// veil's rollups — UTC with two sites, Europe/Berlin hours, an all-suppressed release — and
    /// rejects broken copies of them, one defect each (so the script can fail).
    @Test("rollups meet the CSV contract (Python csv, DuckDB)")
    func csvContract() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "vhost_combined", lines: 8_000, seed: 48,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org"], in: dir)
        let env = ["VEIL_KEYS": dir + "/keys"]
        try veil(["run", g.log, "-o", dir + "/k2", "--k", "2", "--state", dir + "/s.veilstate", "--quiet"], env: env)
        try veil(["report", dir + "/s.veilstate", "-o", dir + "/k1000", "--k", "1000", "--quiet"])
        try veil(["run", g.log, "-o", dir + "/berlin", "--k", "2", "--tz", "Europe/Berlin", "--quiet"], env: env)
        try checkContract([dir + "/k2"], k: 2)
        try checkContract([dir + "/k1000"], k: 1000)
        try checkContract([dir + "/berlin"], k: 2)

        // Broken copies: each must be rejected, naming the file.
        func brokenCopy(_ name: String, _ file: String, _ change: (String) -> String) throws -> String {
            let target = dir + "/" + name
            try FileManager.default.copyItem(atPath: dir + "/k2", toPath: target)
            let path = target + "/" + file
            let text = String(decoding: try CLI.read(path), as: UTF8.self)
            let changed = change(text)
            try #require(changed != text, "\(name): the defect was not introduced")
            try CLI.write(Array(changed.utf8), to: path)
            return target
        }
        func firstDataRow(_ text: String) -> Range<String.Index>? {
            guard let start = text.range(of: "\r\n")?.upperBound,
                let end = text[start...].range(of: "\r\n")?.lowerBound
            else { return nil }
            return start..<end
        }
        let broken: [(String, String, (String) -> String)] = [
            (
                "renamed-column", "pages.csv",
                { $0.replacingOccurrences(of: "pageviews,visitors", with: "views,visitors") }
            ),
            (
                "not-an-integer", "traffic_daily.csv",
                { t in
                    guard let r = firstDataRow(t) else { return t }
                    var fields = t[r].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    fields[2] = "12a"
                    return t.replacingCharacters(in: r, with: fields.joined(separator: ","))
                }
            ),
            (
                "formula-cell", "devices.csv",
                { t in
                    guard let r = firstDataRow(t) else { return t }
                    var fields = t[r].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                    fields[2] = "=1+1"
                    return t.replacingCharacters(in: r, with: fields.joined(separator: ","))
                }
            ),
            ("bare-lf", "status_codes.csv", { $0.replacingOccurrences(of: "\r\n", with: "\n") }),
            ("personal", "manifest.json", { $0.replacingOccurrences(of: "\"anonymous\"", with: "\"personal\"") }),
            ("epoch-id", "manifest.json", { $0.replacingOccurrences(of: "\"d-2026-11-28\"", with: "\"2026-11-28\"") }),
            ("bad-date", "referrers.csv", { $0.replacingOccurrences(of: ",2026-11-28,", with: ",28/11/2026,") }),
        ]
        for (name, file, change) in broken {
            let target = try brokenCopy(name, file, change)
            let r = try python([contractScript, target])
            #expect(r.status == 1, "csv_contract.py accepted a copy with defect '\(name)': \(r)")
            #expect(r.stdoutText.contains(file), "\(name): the report should name \(file): \(r)")
        }
    }

    // MARK: 7. Formula injection

    /// Paths and a referrer host starting with `=`, `+`, `-`, `@` (and a site name starting with
    /// `-`) reach the CSV with a leading `'`; no cell starts with a formula character.
    @Test("cells that a spreadsheet would run as formulas are neutralised")
    func formulaInjection() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
        let paths = ["=SUM(1+1)", "+cmd", "-cmd", "@cmd", "=1,2"]
        var log = ""
        for visitor in 0..<4 {
            let ip = "192.0.2.\(10 + visitor)"  // documentation range (RFC 5737)
            for (j, p) in paths.enumerated() {
                log +=
                    "\(ip) - - [28/Nov/2026:10:0\(visitor):0\(j) +0000] \"GET \(p) HTTP/1.1\" 200 100 \"-\" \"\(ua)\"\n"
            }
            log +=
                "\(ip) - - [28/Nov/2026:11:0\(visitor):00 +0000] \"GET /landing HTTP/1.1\" 200 100 \"http://-evil.example.com/x\" \"\(ua)\"\n"
        }
        try CLI.write(Array(log.utf8), to: dir + "/inject.log")
        let out = dir + "/out"
        try veil(
            [
                "run", dir + "/inject.log", "--format", "combined", "--k", "2", "-o", out, "--site=-site.example",
                "--quiet",
            ],
            env: ["VEIL_KEYS": dir + "/keys"])

        let pages = try CSVTable(out + "/pages.csv")
        let pagePaths = Set(pages.rows.compactMap { $0["path"] })
        for p in paths {
            #expect(pagePaths.contains("'" + p), "pages.csv has no neutralised '\(p): \(pagePaths)")
        }
        #expect(
            pages.rows.allSatisfy { $0["site"] == "'-site.example" },
            "site cells: \(pages.rows.map { $0["site"] ?? "" })")
        let referrers = try CSVTable(out + "/referrers.csv")
        #expect(referrers.rows.contains { $0["referrer_host"] == "'-evil.example.com" }, "\(referrers.rows)")
        // The cell with a comma is quoted around the neutralised text.
        #expect(CLI.contains(try CLI.read(out + "/pages.csv"), Array("\"'=1,2\"".utf8)))

        for (name, _) in try CLI.csvFiles(in: out) {
            let t = try CSVTable(out + "/" + name)
            for row in t.rows {
                for (column, value) in row {
                    let first = value.utf8.first ?? 0
                    #expect(
                        ![UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]
                            .contains(first),
                        "\(name) \(column) starts with a formula character: \(value)")
                }
            }
        }
        try checkContract([out], k: 2)
    }

    // MARK: 8. Time zone and window

    /// `--tz Europe/Berlin`: days are Berlin calendar days (a record at 2026-11-28T23:30Z is on
    /// 2026-11-29), hours are written with the offset (`+01:00` in November, `+02:00` in July).
    /// On a generated log, each Berlin day and hour has exactly the truth's requests of the
    /// matching UTC hours.
    @Test("--tz moves records into local days and writes local hours")
    func timeZone() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let env = ["VEIL_KEYS": dir + "/keys"]
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
        var log = ""
        for i in 0..<3 {
            log += "198.51.100.\(i + 1) - - [28/Nov/2026:23:30:0\(i) +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"\(ua)\"\n"
        }
        for i in 0..<3 {
            log += "198.51.100.\(i + 1) - - [01/Jul/2026:12:10:0\(i) +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"\(ua)\"\n"
        }
        try CLI.write(Array(log.utf8), to: dir + "/late.log")
        try veil(
            [
                "run", dir + "/late.log", "--format", "combined", "--k", "2", "--tz", "Europe/Berlin", "-o",
                dir + "/berlin", "--quiet",
            ], env: env)
        try veil(
            ["run", dir + "/late.log", "--format", "combined", "--k", "2", "-o", dir + "/utc", "--quiet"], env: env)
        let berlinDaily = try CSVTable(dir + "/berlin/traffic_daily.csv").rows.map {
            [$0["date"] ?? "", $0["requests"] ?? ""]
        }
        #expect(berlinDaily == [["2026-07-01", "3"], ["2026-11-29", "3"]])
        let berlinHours = try CSVTable(dir + "/berlin/traffic_hourly.csv").rows.map { $0["hour"] ?? "" }
        #expect(berlinHours == ["2026-07-01T14:00:00+02:00", "2026-11-29T00:00:00+01:00"])
        let utcDaily = try CSVTable(dir + "/utc/traffic_daily.csv").rows.map { $0["date"] ?? "" }
        #expect(utcDaily == ["2026-07-01", "2026-11-28"])
        let utcHours = try CSVTable(dir + "/utc/traffic_hourly.csv").rows.map { $0["hour"] ?? "" }
        #expect(utcHours == ["2026-07-01T12:00:00Z", "2026-11-28T23:00:00Z"])
        let manifest = try jsonObject(try CLI.read(dir + "/berlin/manifest.json"), "manifest")
        #expect(manifest["time_zone"] as? String == "Europe/Berlin")

        // A generated log: Berlin = UTC+1 all through these November days.
        let g = try CLI.generate(
            format: "vhost_combined", lines: 10_000, seed: 49,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org"], in: dir)
        let truth = try Truth.load(g)
        let out = dir + "/gen"
        try veil(["run", g.log, "--k", "2", "--tz", "Europe/Berlin", "-o", out, "--quiet"], env: env)
        let daily = try CSVTable(out + "/traffic_daily.csv")
        let hourly = try CSVTable(out + "/traffic_hourly.csv")
        for site in truth.sites {
            var expected: [String: Int] = [:]
            var busiestHour: [String: Int] = [:]  // most visitors in one hour of the local day
            for day in site.days {
                for h in day.hours where h.counters.requests > 0 {
                    let t = try utcSeconds(h.hour)
                    let local = dateString(t, offset: 3600)
                    expected[local, default: 0] += h.counters.requests
                    busiestHour[local] = max(busiestHour[local] ?? 0, h.counters.visitors)
                    let label = localHourLabel(t, offset: 3600)
                    if let r = hourly.rows(site: site.site, "hour", label).first {
                        #expect(try int(r, "requests") == h.counters.requests, "\(site.site) \(label)")
                    } else {
                        #expect(h.counters.visitors < 2, "\(site.site): no traffic_hourly row \(label)")
                    }
                }
            }
            #expect(expected.keys.sorted() == ["2026-11-28", "2026-11-29", "2026-11-30"])
            for (date, requests) in expected {
                let rows = daily.rows(site: site.site, "date", date)
                // A day with an hour of two visitors has at least two clients: it is published.
                #expect(
                    rows.count == 1 || (rows.isEmpty && (busiestHour[date] ?? 0) < 2), "\(site.site) \(date): \(rows)")
                if let r = rows.first {
                    #expect(try int(r, "requests") == requests, "\(site.site) Berlin day \(date)")
                }
            }
        }
        #expect(hourly.rows.allSatisfy { ($0["hour"] ?? "").hasSuffix("+01:00") })
    }

    /// `--from` / `--until` keep only records in [from, until): traffic equals the truth's hours
    /// inside the window, no row lies outside it, and the records left out are counted.
    @Test("--from and --until restrict the records")
    func window() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let env = ["VEIL_KEYS": dir + "/keys"]
        let g = try CLI.generate(
            format: "vhost_combined", lines: 10_000, seed: 50,
            extra: ["--days", "2", "--sites", "a.example.com,b.example.org"], in: dir)
        let truth = try Truth.load(g)

        for (from, until) in [("2026-11-28T06:00:00Z", "2026-11-29T18:00:00Z"), ("2026-11-29", "2026-11-30")] {
            let lower = try utcSeconds(from.count == 10 ? from + "T00:00:00Z" : from)
            let upper = try utcSeconds(until.count == 10 ? until + "T00:00:00Z" : until)
            let out = dir + "/w-" + from.prefix(10)
            let r = try veil(
                ["run", g.log, "--k", "2", "--from", from, "--until", until, "-o", out, "--json"], env: env)
            let aggregate = try #require(try jsonObject(r.stdout, "run --json")["aggregate"] as? [String: Any])
            let input = try #require((aggregate["inputs"] as? [[String: Any]])?.first)
            let daily = try CSVTable(out + "/traffic_daily.csv")
            let hourly = try CSVTable(out + "/traffic_hourly.csv")
            var inside = 0
            var outside = 0
            for site in truth.sites {
                var expected: [String: Int] = [:]
                for day in site.days {
                    for h in day.hours where h.counters.requests > 0 {
                        let t = try utcSeconds(h.hour)
                        if t >= lower && t < upper {
                            expected[day.day, default: 0] += h.counters.requests
                            inside += h.counters.requests
                        } else {
                            outside += h.counters.requests
                        }
                    }
                }
                for (date, requests) in expected {
                    let rows = daily.rows(site: site.site, "date", date)
                    #expect(
                        try rows.map { try int($0, "requests") } == [requests], "\(from)…\(until) \(site.site) \(date)")
                }
                #expect(daily.rows.filter { $0["site"] == site.site }.count == expected.count)
            }
            #expect(aggregate["records"] as? Int == inside)
            #expect(input["outside_window"] as? Int == outside)
            for row in hourly.rows {
                let t = try utcSeconds(row["hour"] ?? "")
                #expect(t >= lower && t < upper, "hour \(row["hour"] ?? "") outside \(from)…\(until)")
            }
        }
    }
}
