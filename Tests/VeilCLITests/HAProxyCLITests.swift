import Foundation
import Testing

/// `--format haproxy` through the CLI: the zone of its accept dates (`--log-tz`), the captured
/// headers it reads (`--haproxy-headers`), and what `inspect` says about both.
@Suite struct HAProxyCLITests {
    static let headers = ["--haproxy-headers", "host,user-agent,referer", "--haproxy-cookie", "uid"]

    @Test("an HAProxy log written in local time gives the UTC log's rollups when --log-tz names its zone")
    func localTimeLogs() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let traffic = ["--days", "2", "--sites", "www.example.com,shop.example.org", "--malformed-share", "0.01"]
        // The same traffic, its accept dates in UTC and in UTC+01:00 (Etc/GMT-1 in POSIX's sign).
        let utc = try CLI.generate(format: "haproxy", lines: 6000, seed: 5, extra: traffic, in: dir, name: "utc")
        let local = try CLI.generate(
            format: "haproxy", lines: 6000, seed: 5, extra: traffic + ["--utc-offset", "+0100"], in: dir, name: "local")
        let env = ["VEIL_KEYS": dir + "/keys"]
        func run(_ log: String, _ out: String, _ extra: [String]) throws {
            let r = try CLI.veil(
                ["run", log, "--k", "2", "-o", dir + "/" + out, "--quiet"] + Self.headers + extra, env: env)
            #expect(r.status == 0, "\(r)")
        }
        try run(utc.log, "utc", [])
        try run(local.log, "zoned", ["--log-tz", "Etc/GMT-1"])
        try run(local.log, "unzoned", [])
        var compared = 0
        for table in ["traffic_daily", "traffic_hourly", "pages", "browsers", "bots", "referrers", "status_codes"] {
            let a = try CLI.read(dir + "/utc/\(table).csv")
            #expect(a.count > 40, "\(table) has rows")
            #expect(try CLI.read(dir + "/zoned/\(table).csv") == a, "\(table)")
            compared += 1
        }
        // Read as UTC, the local times are an hour late: the hourly table moves.
        #expect(try CLI.read(dir + "/unzoned/traffic_hourly.csv") != CLI.read(dir + "/utc/traffic_hourly.csv"))
        #expect(compared == 7)

        // run says when zoneless times were read as UTC for want of --log-tz, and only then.
        let noted = try CLI.veil(["run", local.log, "-o", dir + "/noted"] + Self.headers, env: env)
        #expect(noted.stderrText.contains("times written without a zone, read as UTC (--log-tz names theirs)"))
        let named = try CLI.veil(["run", local.log, "-o", dir + "/named", "--log-tz", "UTC"] + Self.headers, env: env)
        #expect(named.status == 0 && !named.stderrText.contains("without a zone"), "\(named)")
        // inspect says which zone the times were read in.
        let plain = try CLI.veil(["inspect", local.log] + Self.headers)
        #expect(plain.stdoutText.contains("times        written without a zone, read as UTC (--log-tz names theirs)"))
        let zoned = try CLI.veil(["inspect", "--json", local.log, "--log-tz", "Etc/GMT-1"] + Self.headers)
        let report = try #require(
            (try JSONSerialization.jsonObject(with: Data(zoned.stdout)) as? [[String: Any]])?.first)
        #expect(report["log_time_zone"] as? String == "Etc/GMT-1")
        #expect(report["user_agents_logged"] as? Bool == true)
        let combined = try CLI.generate(format: "combined", lines: 50, in: dir)
        let other = try CLI.veil(["inspect", "--json", combined.log])
        let otherReport = try #require(
            (try JSONSerialization.jsonObject(with: Data(other.stdout)) as? [[String: Any]])?.first)
        #expect(otherReport["log_time_zone"] == nil, "a format whose times have a zone names none")
    }

    @Test("without captured header names an HAProxy log has no user agents, and inspect says so")
    func withoutHeaderNames() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "haproxy", lines: 300, in: dir)
        let r = try CLI.veil(["inspect", g.log])
        #expect(r.status == 0 && r.stdoutText.contains("format       haproxy (detected)"), "\(r)")
        #expect(r.stdoutText.contains("user agents  not logged"), "\(r)")
        let named = try CLI.veil(["inspect", g.log] + Self.headers)
        #expect(!named.stdoutText.contains("user agents  not logged"), "\(named)")
        #expect(!named.stdoutText.contains("not HAProxy's log"), "\(named)")
        // Given for a log of another format, HAProxy's options are said to be unused.
        let combined = try CLI.generate(format: "combined", lines: 100, in: dir)
        let other = try CLI.veil(["inspect", combined.log] + Self.headers)
        #expect(other.stdoutText.contains("note         not HAProxy's log: --haproxy-headers not used"), "\(other)")
        let run = try CLI.veil(
            ["run", combined.log, "-o", dir + "/out", "--haproxy-cookie", "uid"], env: ["VEIL_KEYS": dir + "/keys"])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stderrText.contains("\(combined.log): read as combined, not HAProxy's log: --haproxy-cookie not used"),
            "\(run)")
    }

    @Test(
        "bad HAProxy options are usage errors (exit 2) that name the option",
        arguments: [
            (
                ["--format", "combined", "--haproxy-headers", "host"],
                "--haproxy-headers works with --format auto or haproxy"
            ),
            (["--format", "json", "--haproxy-cookie", "uid"], "--haproxy-cookie works with --format auto or haproxy"),
            (["--log-tz", "Mars/Olympus_Mons"], "--log-tz: unknown time zone 'Mars/Olympus_Mons'"),
            (["--haproxy-cookie", "uid=1"], "--haproxy-cookie: 'uid=1' is not a cookie name"),
            (["--haproxy-headers", "host,,referer"], "--haproxy-headers: an empty header name"),
            (["--format", "haproxy", "--haproxy-headers", "user agent"], "'user agent' is not a header name"),
        ])
    func badOptions(arguments: [String], message: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "haproxy", lines: 20, in: dir)
        let r = try CLI.veil(["inspect", g.log] + arguments)
        #expect(r.status == 2, "\(r)")
        #expect(r.stderrText.contains(message), "\(r)")
    }
}
