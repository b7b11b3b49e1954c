import Foundation
import Testing

/// Logs wrapped in a container runtime's or syslog's headers (`LineEnvelope`): read after the
/// headers, with the rollups of the same log unwrapped.
@Suite struct LineEnvelopeCLITests {
    /// `log`'s lines each after `header(i)`, with `extra(i)` (a line of another stream or
    /// program) before every 50th.
    static func wrap(_ log: [UInt8], header: (Int) -> String, extra: (Int) -> String) -> [UInt8] {
        var out: [UInt8] = []
        for (i, line) in log.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
            .enumerated()
        {
            if i % 50 == 0 { out += Array((extra(i) + "\n").utf8) }
            out += Array(header(i).utf8) + line + [UInt8(ascii: "\n")]
        }
        return out
    }

    @Test(
        "CRI and syslog lines give the rollups of the log they wrap, detected or named, on one and two threads",
        arguments: ["combined_cookie", "json-caddy"])
    func sameRollups(format: String) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: format, lines: 6_000, seed: 17, extra: ["--malformed-share", "0.01", "--sites", "a.example.com"],
            in: dir)
        let log = try CLI.read(g.log)
        let wrapped = [
            (
                "cri",
                Self.wrap(
                    log, header: { "2026-11-28T12:14:\(String(format: "%02d", $0 % 60)).123456789Z stdout F " },
                    extra: { "2026-11-28T12:14:14.5Z stderr F 2026/11/28 12:14:14 [error] 7#7: *\($0) open() failed" })
            ),
            (
                "syslog",
                Self.wrap(
                    log, header: { "<190>Nov 28 12:14:14 web1 app[\($0 % 7)]: " },
                    extra: { "<86>Nov 28 12:14:14 web1 CRON[\($0)]: (root) CMD (run-parts)" })
            ),
        ]
        let keys = dir + "/keys"
        let env = ["VEIL_KEYS": keys]
        var outputs: [String: [String: [UInt8]]] = [:]
        func run(_ name: String, _ path: String, _ extra: [String]) throws {
            let r = try CLI.veil(["run", path, "-o", dir + "/" + name, "--k", "2", "--quiet"] + extra, env: env)
            #expect(r.status == 0, "\(name): \(r)")
            var files: [String: [UInt8]] = [:]
            for f in CLI.list(dir + "/" + name) where f != "manifest.json" {
                files[f] = try CLI.read(dir + "/\(name)/\(f)")
            }
            outputs[name] = files
        }
        try run("plain", g.log, [])
        let plain = try #require(outputs["plain"])
        #expect(plain.count == 19)
        let base = try CLI.veil(["inspect", "--json", g.log])
        let baseReport = try #require(
            (try JSONSerialization.jsonObject(with: Data(base.stdout)) as? [[String: Any]])?.first)
        for (kind, bytes) in wrapped {
            let path = dir + "/\(kind).log"
            try CLI.write(bytes, to: path)
            for threads in ["1", "2"] {
                try run("\(kind)-\(threads)", path, ["--threads", threads])
                #expect(outputs["\(kind)-\(threads)"] == plain, "\(kind) on \(threads) threads")
            }
            // Named, the format still reads after the envelope.
            try run("\(kind)-named", path, ["--format", format])
            #expect(outputs["\(kind)-named"] == plain, "\(kind) with --format \(format)")
            let r = try CLI.veil(["inspect", "--json", path])
            let report = try #require(
                (try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first)
            #expect(report["envelope"] as? String == (kind == "cri" ? "cri" : "syslog (app)"), "\(report)")
            #expect(report["format"] as? String == format)
            #expect(report["records"] as? Int == baseReport["records"] as? Int)
            #expect(report["rejected"] as? Int == baseReport["rejected"] as? Int)
            // The other stream's or program's lines: skipped, not rejected.
            #expect(report["skipped"] as? Int == (baseReport["skipped"] as? Int ?? 0) + 120, "\(report)")
            let text = try CLI.veil(["inspect", path])
            #expect(
                text.stdoutText.contains(
                    "  envelope     \(kind == "cri" ? "cri: container log lines" : "syslog (app)")"))
        }
        #expect(baseReport["envelope"] == nil)
    }

    @Test("HAProxy's syslog lines stay HAProxy's, read with their header")
    func haproxyKeepsItsHeader() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "haproxy", lines: 300, seed: 3, extra: ["--malformed-share", "0"], in: dir)
        let r = try CLI.veil(["inspect", "--json", g.log])
        let report = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first)
        #expect(report["format"] as? String == "haproxy")
        #expect(report["envelope"] == nil)
        #expect(report["rejected"] as? Int == 0, "\(report)")
    }
}
