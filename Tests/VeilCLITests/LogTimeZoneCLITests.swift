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
        // Kolkata is UTC+05:30 all year; Los Angeles is UTC-08:00 in November.
        let kolkata = try Self.report(path, format + ["--log-tz", "Asia/Kolkata"])
        #expect(kolkata["first_timestamp"] as? String == "2026-11-28T06:44:14Z")
        #expect(kolkata["log_time_zone"] as? String == "Asia/Kolkata")
        let la = try Self.report(path, format + ["--log-tz", "America/Los_Angeles"])
        #expect(la["first_timestamp"] as? String == "2026-11-28T20:14:14Z")
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
