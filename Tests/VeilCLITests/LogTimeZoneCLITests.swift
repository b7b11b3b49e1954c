import Foundation
import Testing

/// `--log-tz`: times a log writes without a zone are read in the zone it names (UTC without
/// it), in every format that can write such times, and `veil inspect` says so.
@Suite struct LogTimeZoneCLITests {
    /// `veil inspect --json` of `path` with `extra` options: the report's first object.
    static func report(_ path: String, _ extra: [String] = []) throws -> [String: Any] {
        let r = try CLI.veil(["inspect", "--json", path] + extra)
        #expect(r.status == 0, "\(r)")
        return try #require((try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first)
    }

    @Test(
        "zoneless times in JSON lines and in an Apache format string are read in --log-tz's zone",
        arguments: [
            (
                #"{"time":"2026-11-28 12:14:14","remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1","status":200}"#,
                [String]()
            ),
            (
                #"{"time":"2026-11-28T12:14:14.250","remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1","status":200}"#,
                []
            ),
            (
                #"192.0.2.1 [2026-11-28 12:14:14] "GET /a HTTP/1.1" 200"#,
                ["--format", #"apache:%h [%{%Y-%m-%d %H:%M:%S}t] "%r" %>s"#]
            ),
            (
                #"192.0.2.1 2026-11-28 12:14:14 "GET /a HTTP/1.1" 200"#,
                ["--format", #"apache:%h %{%Y-%m-%d %H:%M:%S}t "%r" %>s"#]
            ),
            (
                #"192.0.2.1 2026-11-28T12:14:14 "GET /a HTTP/1.1" 200"#,
                ["--format", #"apache:%h %{%FT%T}t "%r" %>s"#]
            ),
        ])
    func zonelessTimes(line: String, format: [String]) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let path = dir + "/log"
        try CLI.write(Array((line + "\n" + line + "\n").utf8), to: path)
        let utc = try Self.report(path, format)
        #expect(utc["records"] as? Int == 2, "\(utc)")
        #expect(utc["first_timestamp"] as? String == "2026-11-28T12:14:14Z")
        #expect(utc["log_time_zone"] as? String == "UTC")
        let text = try CLI.veil(["inspect", path] + format)
        #expect(text.stdoutText.contains("times        written without a zone, read as UTC (--log-tz names theirs)"))
        let named = try CLI.veil(["inspect", path, "--log-tz", "UTC"] + format)
        #expect(named.stdoutText.contains("times        written without a zone, read as UTC\n"), "\(named)")
        // Kolkata is UTC+05:30 all year; Los Angeles is UTC-08:00 in November.
        let kolkata = try Self.report(path, format + ["--log-tz", "Asia/Kolkata"])
        #expect(kolkata["first_timestamp"] as? String == "2026-11-28T06:44:14Z")
        #expect(kolkata["log_time_zone"] as? String == "Asia/Kolkata")
        let la = try Self.report(path, format + ["--log-tz", "America/Los_Angeles"])
        #expect(la["first_timestamp"] as? String == "2026-11-28T20:14:14Z")
    }

    @Test("an input's zoneless times are named wherever they are, on one thread or two")
    func zonelessAfterTheFirstLines() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let path = dir + "/mixed.log"
        var text = ""
        for i in 0..<3000 {
            let zone = i < 2000 ? "Z" : ""
            text +=
                #"{"time":"2026-11-28T10:\#(String(format: "%02d", i / 60 % 60)):\#(String(format: "%02d", i % 60))\#(zone)","remote_addr":"192.0.2.\#(i % 200)","request":"GET /a\#(i % 7) HTTP/1.1","status":200,"http_user_agent":"Mozilla/5.0"}"#
                + "\n"
        }
        try CLI.write(Array(text.utf8), to: path)
        let report = try Self.report(path)
        #expect(report["log_time_zone"] as? String == "UTC", "\(report)")
        let env = ["VEIL_KEYS": dir + "/keys"]
        for threads in ["1", "2"] {
            let r = try CLI.veil(
                [
                    "run", path, "--threads", threads, "-o", dir + "/out" + threads, "--k", "2", "--log-tz",
                    "Asia/Kolkata",
                ],
                env: env)
            #expect(r.status == 0, "\(r)")
            let plain = try CLI.veil(
                ["run", path, "--threads", threads, "-o", dir + "/plain" + threads, "--k", "2"], env: env)
            #expect(plain.stderrText.contains("times written without a zone, read as UTC"), "\(threads): \(plain)")
        }
        #expect(try CLI.read(dir + "/out1/traffic_hourly.csv") == CLI.read(dir + "/out2/traffic_hourly.csv"))
        // The zoneless third (10:33-10:49 in Kolkata) moved to 05:03-05:19Z; the rest stayed at 10:xxZ.
        let hourly = String(decoding: try CLI.read(dir + "/out1/traffic_hourly.csv"), as: UTF8.self)
        #expect(
            hourly.contains("default,2026-11-28T05:00:00Z,1000,")
                && hourly.contains("default,2026-11-28T10:00:00Z,2000,"),
            "\(hourly)")
    }

    @Test("--log-tz takes IANA names only, as --tz does: an abbreviation names a zone of Foundation's choosing")
    func zoneNames() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let path = dir + "/log"
        try CLI.write(Array("192.0.2.1 - - [28/Nov/2026:12:14:14 +0100] \"GET /a HTTP/1.1\" 200 5\n".utf8), to: path)
        for name in ["BST", "IST", "GMT+5"] {
            let r = try CLI.veil(["inspect", path, "--log-tz", name])
            #expect(r.status == 2 && r.stderrText.contains("--log-tz: unknown time zone '\(name)'"), "\(r)")
            let tz = try CLI.veil(["run", path, "--tz", name, "-o", dir + "/o", "--keys", dir + "/keys"])
            #expect(tz.status == 2 && tz.stderrText.contains("--tz: unknown time zone '\(name)'"), "\(tz)")
        }
        for name in ["Etc/GMT-1", "Asia/Kolkata", "utc"] {
            #expect(try CLI.veil(["inspect", path, "--log-tz", name]).status == 0, "\(name)")
        }
    }

    @Test("times that say their zone, and epochs, are not moved by --log-tz and name no zone")
    func zonedTimes() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        for (name, line) in [
            (
                "iso",
                #"{"time":"2026-11-28T12:14:14+01:00","remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1","status":200}"#
            ),
            (
                "utc",
                #"{"time":"2026-11-28T11:14:14Z","remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1","status":200}"#
            ),
            ("epoch", #"{"time":1795864454,"remote_addr":"192.0.2.1","request":"GET /a HTTP/1.1","status":200}"#),
            ("clf", #"192.0.2.1 - - [28/Nov/2026:12:14:14 +0100] "GET /a HTTP/1.1" 200 5"#),
        ] {
            let path = dir + "/" + name
            try CLI.write(Array((line + "\n").utf8), to: path)
            for extra in [[], ["--log-tz", "Asia/Kolkata"]] {
                let r = try Self.report(path, extra)
                #expect(r["first_timestamp"] as? String == "2026-11-28T11:14:14Z", "\(name) \(extra)")
                #expect(r["log_time_zone"] == nil, "\(name) \(extra)")
            }
        }
    }
}
