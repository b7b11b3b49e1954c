import Foundation
import Testing

/// The README's quick start, checked: `veil run` on the bundled sample with the public test key
/// store gives exactly the golden rollups in `Fixtures/expected/` (regenerate them on purpose
/// with `Fixtures/generate.sh --expected`).
@Suite struct GoldenRollupTests {
    @Test func bundledSampleGivesTheGoldenRollups() throws {
        let root = CLI.packageRoot
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let keys = dir + "/keys"
        try FileManager.default.copyItem(atPath: root + "/Fixtures/keys", toPath: keys)
        chmod(keys, 0o700)
        for f in try FileManager.default.contentsOfDirectory(atPath: keys) { chmod(keys + "/" + f, 0o600) }
        let out = dir + "/rollups"
        let r = try CLI.veil(["run", "Fixtures/sample/access.log.zst", "--keys", keys, "-o", out], cwd: root)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderrText.contains("20,000 lines"), "\(r)")

        let expectedDir = root + "/Fixtures/expected"
        let expected = try FileManager.default.contentsOfDirectory(atPath: expectedDir).sorted()
        let got = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(got == expected)
        #expect(expected.contains("manifest.json") && expected.filter { $0.hasSuffix(".csv") }.count == 19)
        for name in expected {
            let a = try Data(contentsOf: URL(fileURLWithPath: expectedDir + "/" + name))
            let b = try Data(contentsOf: URL(fileURLWithPath: out + "/" + name))
            #expect(a == b, "\(name) differs from Fixtures/expected/\(name)")
        }
    }

    @Test func defaultKeyStoreIsCreatedAndAnnounced() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let r = try CLI.veil(
            ["run", CLI.packageRoot + "/Fixtures/sample/access.log.zst", "-o", dir + "/out"],
            env: ["VEIL_KEYS": dir + "/store"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stderrText.contains("created key store \(dir)/store"), "\(r)")
        var st = stat()
        #expect(stat(dir + "/store", &st) == 0 && st.st_mode & 0o777 == 0o700)
        // A second run reuses the store silently and gives the same rollups.
        let again = try CLI.veil(
            ["run", CLI.packageRoot + "/Fixtures/sample/access.log.zst", "-o", dir + "/out2"],
            env: ["VEIL_KEYS": dir + "/store"])
        #expect(again.status == 0 && !again.stderrText.contains("created key store"), "\(again)")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/out/pages.csv"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/out2/pages.csv"))
        #expect(a == b)
    }
}

/// The committed per-format fixtures (`Fixtures/formats/`, made by `Fixtures/generate.sh`) parse
/// to exactly their ground truth: every well-formed line a record, every malformed one rejected.
@Suite struct FormatFixtureTests {
    static let formats = [
        "combined", "common", "combined_cookie", "combined_cookie_xff", "vhost_combined", "json-caddy",
        "json-nginx", "json-traefik", "json-traefik-default", "json-cloudflare", "w3c", "nginx-custom", "traefik_clf",
        "aws_alb", "aws_elb", "aws_s3", "haproxy", "vhost_common", "gcs", "squid",
    ]
    /// The options a fixture is read with besides `--format auto`: the nginx format string
    /// (given, not detected) and the request headers and cookie the HAProxy fixture's frontend
    /// captures.
    static func readOptions(_ format: String) -> [String] {
        switch format {
        case "nginx-custom":
            [
                "--format",
                #"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$cookie_uid""#,
            ]
        case "haproxy": ["--haproxy-headers", "host,user-agent,referer", "--haproxy-cookie", "uid"]
        default: []
        }
    }
    /// The format `--format auto` names for a fixture, where that is not the fixture's own name
    /// (the nginx format string is given, not detected).
    static let detectedAs = ["json-traefik-default": "json-traefik"]
    /// The formats that log no user agent: NCSA `common` (also after a virtual host), and
    /// Traefik's JSON with its request headers dropped (its default).
    static let withoutUserAgent: Set = ["common", "vhost_common", "json-traefik-default", "squid"]

    @Test(arguments: formats)
    func fixtureMatchesItsTruth(format: String) throws {
        let base = CLI.packageRoot + "/Fixtures/formats/" + format
        let truthData = try Data(contentsOf: URL(fileURLWithPath: base + ".truth.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: truthData) as? [String: Any])
        let log = try #require(root["log"] as? [String: Any])
        let requests = try #require(log["requests"] as? Int)
        let malformed = try #require((log["malformed"] as? [String: Any])?["total"] as? Int)
        let physical = try #require(log["physical_lines"] as? Int)

        let args = ["inspect", "--json", base + ".log"] + Self.readOptions(format)
        let r = try CLI.veil(args)
        #expect(r.status == 0, "\(r)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])
        let report = try #require(reports.first)
        #expect(report["records"] as? Int == requests, "\(format): \(r.stdoutText)")
        #expect(report["rejected"] as? Int == malformed, "\(format): \(r.stdoutText)")
        #expect(report["lines"] as? Int == physical)
        // The right reader, not just one that parses every line: Traefik's own lines parse as
        // `combined_cookie` too (with its server URL read as every request's cookie).
        if format == "nginx-custom" {
            #expect(report["format_detected"] as? Bool == false)
        } else {
            #expect(report["format"] as? String == Self.detectedAs[format] ?? format, "\(format)")
        }
        #expect(report["user_agents_logged"] as? Bool == !Self.withoutUserAgent.contains(format), "\(format)")
        let skipped = report["skipped"] as? Int ?? -1
        #expect(requests + malformed + skipped == physical)
    }

    /// A W3C log reports its user agents as not logged when any `#Fields:` layout lacks
    /// `cs(User-Agent)`, and says so in `veil inspect`'s text.
    @Test func w3cLayoutWithoutUserAgentIsReported() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let withAgent =
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status cs(User-Agent)\n"
            + "2026-11-28 10:00:00 192.0.2.1 GET / 200 Mozilla/5.0+(X11;+Linux+x86_64)+Firefox/120.0\n"
        let without =
            "#Fields: date time c-ip cs-method cs-uri-stem sc-status\n2026-11-28 10:00:01 192.0.2.2 GET /a 200\n"
        for (name, text, logged) in [("one", withAgent, true), ("two", withAgent + without, false)] {
            let path = dir + "/\(name).log"
            try CLI.write(Array(text.utf8), to: path)
            let r = try CLI.veil(["inspect", "--json", path])
            let report = try #require(
                (try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first)
            #expect(report["records"] as? Int == (logged ? 1 : 2))
            #expect(report["user_agents_logged"] as? Bool == logged, "\(name): \(r.stdoutText)")
            let text = try CLI.veil(["inspect", path]).stdoutText
            #expect(text.contains("user agents  not logged") == !logged, "\(name): \(text)")
        }
    }

    /// Each format's traffic and bots: the daily requests, bot requests, pageviews and visitors
    /// of the truth (a format without a User-Agent, `common` or Traefik's default JSON, has
    /// people and no bots);
    /// every bot name of the truth that k = 2 clients sent has its `bots.csv` row with the
    /// truth's requests, bytes and status classes (the user agent is read right from every
    /// format, the W3C `+` included).
    @Test(arguments: formats)
    func trafficAndBotsMatchTheTruth(format: String) throws {
        let base = CLI.packageRoot + "/Fixtures/formats/" + format
        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + ".truth.json")))
                as? [String: Any])
        let sites = try #require(root["sites"] as? [[String: Any]])
        let siteNames = try #require((root["options"] as? [String: Any])?["sites"] as? [String])
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        var args = ["run", base + ".log", "--k", "2", "-o", dir + "/out", "--quiet"]
        if siteNames.count == 1 { args += ["--site", siteNames[0]] }
        args += Self.readOptions(format)
        let r = try CLI.veil(args, env: ["VEIL_KEYS": dir + "/keys"])
        #expect(r.status == 0, "\(r)")
        let bots = try CSVTable(dir + "/out/bots.csv")
        let daily = try CSVTable(dir + "/out/traffic_daily.csv")
        var compared = 0
        for site in sites {
            let name = try #require(site["site"] as? String)
            for day in try #require(site["days"] as? [[String: Any]]) {
                let date = try #require(day["day"] as? String)
                let traffic = try #require(daily.rows.first { $0["site"] == name && $0["date"] == date })
                for column in ["requests", "bot_requests", "pageviews", "visitors"] {
                    #expect(
                        traffic[column].flatMap { Int($0) } == day[column] as? Int,
                        "\(format) \(name) \(date) \(column): \(traffic)")
                }
                let rows = bots.rows.filter { $0["site"] == name && $0["date"] == date }
                guard let truth = day["bots"] as? [String: [String: Int]] else {
                    #expect(
                        Self.withoutUserAgent.contains(format) && rows.isEmpty, "\(format) \(name) \(date): \(rows)")
                    continue
                }
                for (bot, t) in truth where (t["clients"] ?? 0) >= 2 {
                    let row = rows.first { $0["bot"] == bot }
                    let columns = [
                        "requests", "bytes", "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx",
                    ]
                    #expect(
                        columns.map { row?[$0].flatMap { Int($0) } } == columns.map { t[$0] },
                        "\(format) \(name) \(date) \(bot): \(row ?? [:]) vs \(t)")
                    compared += 1
                }
            }
        }
        #expect(Self.withoutUserAgent.contains(format) || compared >= 2, "\(format): \(compared) bot rows compared")
    }
}

/// `--threads` changes how a file is split across cores, never what comes out.
@Suite struct ThreadsTests {
    @Test func anyThreadCountGivesTheSameRollupsAndReports() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        // ~20k lines (several 1 MiB blocks), malformed lines and one over-long line.
        let log = try CLI.generate(
            format: "combined_cookie", lines: 20_000,
            extra: ["--days", "2", "--malformed-share", "0.02", "--long-line"],
            in: dir)
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        var reports: [String] = []
        for threads in [1, 2, 3, 8] {
            let out = dir + "/out\(threads)"
            let r = try CLI.veil([
                "run", log.log, "--keys", keys, "-o", out, "--threads", String(threads), "--json", "--state",
                dir + "/s\(threads).veilstate",
            ])
            #expect(r.status == 0, "\(r)")
            // The per-file report without its timing.
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any])
            var input = try #require(((json["aggregate"] as? [String: Any])?["inputs"] as? [[String: Any]])?.first)
            input["seconds"] = nil
            let data = try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys])
            reports.append(String(decoding: data, as: UTF8.self))
        }
        #expect(Set(reports).count == 1, "\(reports)")
        #expect(reports[0].contains("line-too-long"))
        try Self.expectSameOutputs(in: dir, threads: [2, 3, 8])
    }

    /// Expects `out<N>/` and `s<N>.veilstate` in `dir` to equal `out1/` and `s1.veilstate`,
    /// byte for byte, for each N of `threads`.
    static func expectSameOutputs(
        in dir: String, threads: [Int], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for n in threads {
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/out1") {
                let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/out1/" + name))
                let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/out\(n)/" + name))
                #expect(a == b, "\(name) differs with --threads \(n)", sourceLocation: sourceLocation)
            }
            let s1 = try Data(contentsOf: URL(fileURLWithPath: dir + "/s1.veilstate"))
            let sn = try Data(contentsOf: URL(fileURLWithPath: dir + "/s\(n).veilstate"))
            #expect(s1 == sn, "state differs with --threads \(n)", sourceLocation: sourceLocation)
        }
    }

    /// Several inputs are read side by side when that is estimated to be faster (each with its
    /// share of the threads); the rollups, the state and the per-input reports stay the same.
    @Test func severalInputsGiveTheSameRollupsWithAnyThreadCount() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        var logs: [String] = []
        for i in 0..<5 {
            let g = try CLI.generate(
                format: "combined_cookie", lines: 4_000, seed: UInt64(10 + i),
                extra: ["--start", "2026-11-2\(i + 1)T00:00:00Z", "--malformed-share", "0.02"], in: dir, name: "day\(i)"
            )
            logs.append(g.log)
        }
        // Two of them gzip-compressed (the plan weighs compressed inputs by 10).
        for i in [1, 3] {
            #expect(try CLI.run("/usr/bin/env", ["gzip", "-f", logs[i]]).status == 0)
            logs[i] += ".gz"
        }
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        var reports: [String] = []
        for threads in [1, 2, 3, 8] {
            let r = try CLI.veil(
                ["run"] + logs + [
                    "--keys", keys, "-o", dir + "/out\(threads)", "--threads", String(threads), "--json", "--state",
                    dir + "/s\(threads).veilstate",
                ])
            #expect(r.status == 0, "\(r)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any])
            var inputs = try #require((json["aggregate"] as? [String: Any])?["inputs"] as? [[String: Any]])
            for j in inputs.indices { inputs[j]["seconds"] = nil }
            let data = try JSONSerialization.data(withJSONObject: inputs, options: [.sortedKeys])
            reports.append(String(decoding: data, as: UTF8.self))
        }
        #expect(Set(reports).count == 1, "\(reports)")
        #expect(reports[0].contains("day4.log"), "the reports name every input")
        try Self.expectSameOutputs(in: dir, threads: [2, 3, 8])
    }

    /// Which values pass a cap is decided in input order: two threads are one pipeline with one
    /// state; with 3 or more, an input whose blocks reached a cap is read again that way, and
    /// standard input (which cannot be read twice) is read that way from the start.
    @Test func anyThreadCountAppliesTheCapsAsOneDoes() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let log = try CLI.generate(format: "combined_cookie", lines: 20_000, extra: ["--days", "2"], in: dir)
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        let runs: [(String, Int, [String])] = [
            ("uncapped", 1, []), ("out1", 1, ["--max-paths", "20"]), ("out2", 2, ["--max-paths", "20"]),
            ("out3", 3, ["--max-paths", "20"]), ("out8", 8, ["--max-paths", "20"]),
        ]
        for (name, threads, cap) in runs {
            let r = try CLI.veil(
                [
                    "run", log.log, "--keys", keys, "-o", dir + "/" + name, "--threads", String(threads), "--quiet",
                    "--k", "2",
                ] + cap)
            #expect(r.status == 0, "\(r)")
        }
        // Standard input, 3 threads: named `-` in the manifest, so only the tables are compared.
        let stdin = try CLI.veil(
            [
                "run", "-", "--keys", keys, "-o", dir + "/stdin3", "--threads", "3", "--quiet", "--k", "2",
                "--max-paths", "20",
            ],
            stdin: Array(try Data(contentsOf: URL(fileURLWithPath: log.log))))
        #expect(stdin.status == 0, "\(stdin)")
        // The cap was reached: more than 20 paths are published without it, at most 20 with it.
        func paths(_ name: String) throws -> Set<Substring> {
            let rows = try String(contentsOfFile: dir + "/" + name + "/pages.csv", encoding: .utf8).split(
                whereSeparator: \.isNewline
            ).dropFirst()
            return Set(rows.map { $0.split(separator: ",")[2] }).subtracting(["(other)"])
        }
        #expect(try paths("uncapped").count > 20)
        #expect(try paths("out1").count <= 20)
        for other in ["out2", "out3", "out8", "stdin3"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/out1")
            where other != "stdin3" || name.hasSuffix(".csv") {
                let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/out1/" + name))
                let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + other + "/" + name))
                #expect(a == b, "\(name) differs in \(other)")
            }
        }
    }
}
