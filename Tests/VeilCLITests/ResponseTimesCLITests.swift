import Foundation
import Testing

/// Serving times end to end: `response_times.csv` and `page_response_times.csv` from a log
/// whose format logs them, the same on any number of threads and through a state file;
/// nothing of them from a log that does not.
@Suite struct ResponseTimesCLITests {
    static let format =
        #"nginx:$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time"#
    static let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

    /// Four visitors on `/`, two of them on `/about`, an asset, a bot, a page one visitor saw,
    /// and a request whose serving time was not logged (`-`).
    static func log() -> String {
        let hits: [(ip: String, path: String, time: String, agent: String)] = [
            ("192.0.2.1", "/", "0.120", firefox), ("192.0.2.2", "/", "0.080", firefox),
            ("192.0.2.3", "/", "0.100", firefox), ("192.0.2.1", "/about", "1.500", firefox),
            ("192.0.2.2", "/about", "0.900", firefox), ("192.0.2.3", "/app.js", "0.002", firefox),
            ("192.0.2.4", "/", "-", firefox),
            ("192.0.2.99", "/", "0.050", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            ("192.0.2.5", "/rare", "0.300", firefox),
        ]
        return hits.enumerated().map { i, h in
            "\(h.ip) - - [28/Nov/2026:10:00:\(String(format: "%02d", i)) +0000] \"GET \(h.path) HTTP/1.1\" 200 512 \"-\" \"\(h.agent)\" \(h.time)\n"
        }.joined()
    }

    @Test(
        "response_times.csv and page_response_times.csv: counts, means and percentiles by their buckets, the same on 1, 2 and 3 threads and through a state"
    )
    func tables() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        try CLI.write(Array(Self.log().utf8), to: dir + "/a.log")
        try #require(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        // Eight requests with a time (the bot's and the asset's too): 2, 50, 80, 100, 120, 300,
        // 900 and 1500 ms. The median is the 4th (100 ms, whose bucket's midpoint is 102.4), the
        // 90th and 99th percentiles the 8th (1500 ms: 1507.3); the mean is exact.
        let traffic = [
            ["site", "date", "requests", "mean_ms", "p50_ms", "p90_ms", "p99_ms"],
            ["default", "2026-11-28", "8", "381.5", "102.4", "1507.3", "1507.3"],
        ]
        // `/`: three timed pageviews of four (120, 80 and 100 ms); `/about`: two (1500, 900);
        // `/rare` had one visitor, below k, and so has its `(other)` row.
        let pages = [
            ["site", "date", "path", "pageviews", "mean_ms", "p50_ms", "p90_ms", "p99_ms"],
            ["default", "2026-11-28", "/", "3", "100.0", "102.4", "118.8", "118.8"],
            ["default", "2026-11-28", "/about", "2", "1200.0", "884.7", "1507.3", "1507.3"],
        ]
        var outputs: [[String: [UInt8]]] = []
        for threads in ["1", "2", "3"] {
            let r = try CLI.veil([
                "run", dir + "/a.log", "--format", Self.format, "-o", dir + "/out\(threads)", "--k", "2",
                "--keys", dir + "/keys", "--threads", threads, "--quiet",
            ])
            #expect(r.status == 0, "\(r)")
            outputs.append(try CLI.csvFiles(in: dir + "/out\(threads)"))
            #expect(CSVTable.parse(try CLI.read(dir + "/out\(threads)/response_times.csv")) == traffic)
            #expect(CSVTable.parse(try CLI.read(dir + "/out\(threads)/page_response_times.csv")) == pages)
        }
        #expect(outputs[1] == outputs[0] && outputs[2] == outputs[0])

        // Through a state (format version 9) and `veil report`: the same files.
        let a = try CLI.veil([
            "aggregate", dir + "/a.log", "--format", Self.format, "-o", dir + "/a.veilstate", "--keys", dir + "/keys",
            "--quiet",
        ])
        #expect(a.status == 0, "\(a)")
        #expect(try CLI.read(dir + "/a.veilstate")[8] == 9)
        let rep = try CLI.veil(["report", dir + "/a.veilstate", "-o", dir + "/rep", "--k", "2", "--quiet"])
        #expect(rep.status == 0, "\(rep)")
        #expect(try CLI.csvFiles(in: dir + "/rep") == outputs[0])
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(CLI.read(dir + "/rep/manifest.json"))) as? [String: Any])
        let tables = try #require(manifest["tables"] as? [String: Any])
        #expect((tables["page_response_times"] as? [String: Any])?["file"] as? String == "page_response_times.csv")
        #expect((tables["response_times"] as? [String: Any])?["threshold_on"] as? String == "clients")

        // Merged with a state of a log without serving times (another day): its traffic has
        // no serving-time row, the first day's rows stay.
        let plain = Self.log().replacingOccurrences(of: "28/Nov", with: "29/Nov")
            .replacingOccurrences(of: #"" (\d|\.|-)+\n"#, with: "\"\n", options: .regularExpression)
        try CLI.write(Array(plain.utf8), to: dir + "/b.log")
        let b = try CLI.veil([
            "aggregate", dir + "/b.log", "--format", "combined", "-o", dir + "/b.veilstate", "--keys", dir + "/keys",
            "--quiet",
        ])
        #expect(b.status == 0, "\(b)")
        #expect(try CLI.read(dir + "/b.veilstate")[8] == 6, "a state without serving times stays version 6")
        let both = try CLI.veil([
            "report", dir + "/a.veilstate", dir + "/b.veilstate", "-o", dir + "/both", "--k", "2", "--quiet",
        ])
        #expect(both.status == 0, "\(both)")
        #expect(CSVTable.parse(try CLI.read(dir + "/both/response_times.csv")) == traffic)
        #expect(CSVTable.parse(try CLI.read(dir + "/both/page_response_times.csv")) == pages)
        let days = CSVTable.parse(try CLI.read(dir + "/both/traffic_daily.csv")).dropFirst().map { $0[1] }
        #expect(days == ["2026-11-28", "2026-11-29"])

        // `veil inspect` counts the requests with a serving time; none in a log without them.
        let inspect = try CLI.veil(["inspect", dir + "/a.log", "--format", Self.format])
        #expect(inspect.stdoutText.contains("  timed        8 requests with a serving time\n"), "\(inspect)")
        for (log, format, timed) in [("a.log", Self.format, 8), ("b.log", "combined", 0)] {
            let j = try CLI.veil(["inspect", dir + "/" + log, "--format", format, "--json"])
            let reports = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout)) as? [[String: Any]])
            #expect(reports.first?["timed_requests"] as? Int == timed, "\(log): \(j)")
        }
        let plainInspect = try CLI.veil(["inspect", dir + "/b.log", "--format", "combined"])
        #expect(!plainInspect.stdoutText.contains("timed"), "\(plainInspect)")

        // Without serving times: neither table, and the directory that had them is replaced.
        let none = try CLI.veil([
            "run", dir + "/b.log", "--format", "combined", "-o", dir + "/out1", "--k", "2", "--keys", dir + "/keys",
            "--quiet",
        ])
        #expect(none.status == 0, "\(none)")
        let files = CLI.list(dir + "/out1")
        #expect(!files.contains("response_times.csv") && !files.contains("page_response_times.csv"), "\(files)")

        // Under differential privacy the two tables are named as not released.
        let dp = try CLI.veil([
            "report", dir + "/a.veilstate", "-o", dir + "/dp", "--dp-epsilon", "1", "--keys", dir + "/keys", "--quiet",
        ])
        #expect(dp.status == 0, "\(dp)")
        let dpManifest = try #require(
            try JSONSerialization.jsonObject(with: Data(CLI.read(dir + "/dp/manifest.json"))) as? [String: Any])
        let notReleased =
            (dpManifest["differential_privacy"] as? [String: Any])?["tables_not_released"] as? [String: Any]
        #expect(notReleased?["response_times"] != nil && notReleased?["page_response_times"] != nil)
        #expect(!CLI.list(dir + "/dp").contains("response_times.csv"))

        // No client address of the log in any file.
        let ids = Self.log().split(separator: "\n").map { (kind: "ip", value: String($0.prefix { $0 != " " })) }
        for out in ["out2", "rep", "both", "dp"] {
            for f in CLI.list(dir + "/" + out) {
                let leaks = CLI.leakedIdentifiers(in: try CLI.read(dir + "/\(out)/" + f), identifiers: ids)
                #expect(leaks.isEmpty, "\(out)/\(f): \(leaks)")
            }
        }
    }
}
