import Foundation
import Testing

/// What the internet writes into logs: each case ends in a clear error or a counted reject,
/// the good records of the same file are all counted, and memory stays bounded.
@Suite(.serialized)
struct HostileInputTests {
    static let memoryLimit = 256 << 20

    /// A valid combined line with documentation addresses (synthetic, no personal data).
    static func line(_ i: Int, time: String? = nil, path: String? = nil) -> [UInt8] {
        let t = time ?? String(format: "28/Nov/2026:10:%02d:%02d +0000", (i / 60) % 60, i % 60)
        return Array(
            "192.0.2.\(i % 250) - - [\(t)] \"GET \(path ?? "/page/\(i % 50)") HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\""
                .utf8)
    }

    struct Run {
        var result: ProcessResult
        var summary: [String: Any]
        var aggregate: [String: Any] { summary["aggregate"] as? [String: Any] ?? [:] }
        var lines: Int { aggregate["lines"] as? Int ?? -1 }
        var records: Int { aggregate["records"] as? Int ?? -1 }
        var rejected: Int { aggregate["rejected"] as? Int ?? -1 }
        var peakRSS: Int { summary["peak_rss_bytes"] as? Int ?? Int.max }
        var rejects: [String: Int] {
            let inputs = aggregate["inputs"] as? [[String: Any]] ?? []
            var out: [String: Int] = [:]
            for i in inputs {
                for r in i["rejects"] as? [[String: Any]] ?? [] {
                    out[r["reason"] as! String, default: 0] += r["count"] as! Int
                }
            }
            return out
        }
    }

    func run(_ input: String, in dir: String, _ extra: [String] = []) throws -> Run {
        if !CLI.exists(dir + "/keys") { #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0) }
        let out = dir + "/rollups-\(UInt32.random(in: 0...UInt32.max))"
        let r = try CLI.veil(
            ["run", input, "-o", out, "--keys", dir + "/keys", "--json", "--threads", "2"] + extra, timeout: 300)
        let summary = (try? JSONSerialization.jsonObject(with: Data(r.stdout))) as? [String: Any] ?? [:]
        return Run(result: r, summary: summary)
    }

    func shell(_ script: String) throws {
        let r = try CLI.run("/bin/sh", ["-c", script], timeout: 300)
        guard r.status == 0 else { throw CLITestError("shell failed: \(script)\n\(r)") }
    }

    /// The memory bounds below read `peak_rss_bytes`: it must be veil's own peak, not that of
    /// whatever started it. Here veil is exec'd by a process that touched 300 MiB first (on
    /// Linux, `ru_maxrss` carries that over across `exec`; a test runner holding a lot of
    /// memory, spawning veil, did the same).
    @Test func peakRSSIsVeilsOwnNotThatOfTheProcessThatStartedIt() throws {
        let dir = try CLI.tempDir(prefix: "veil-peak")
        defer { CLI.remove(dir) }
        try CLI.write((0..<100).flatMap { Self.line($0) + [0x0A] }, to: dir + "/small.log")
        #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        let script = """
            import os, sys
            held = bytearray(300 << 20)
            for i in range(0, len(held), 4096): held[i] = 1
            os.execv(sys.argv[1], sys.argv[1:])
            """
        let r = try CLI.run(
            try CLI.tool("python3"),
            [
                "-c", script, try CLI.binary("veil"), "run", dir + "/small.log", "-o", dir + "/out", "--keys",
                dir + "/keys", "--json",
            ])
        #expect(r.status == 0, "\(r)")
        let summary = try #require((try? JSONSerialization.jsonObject(with: Data(r.stdout))) as? [String: Any])
        let peak = try #require(summary["peak_rss_bytes"] as? Int)
        #expect(peak > 1 << 20 && peak < 200 << 20, "peak RSS \(peak >> 20) MiB")
    }

    @Test func aOneGiBLineWithoutANewlineIsRejectedInBoundedMemory() throws {
        let dir = try CLI.tempDir(prefix: "veil-hostile")
        defer { CLI.remove(dir) }
        var good: [UInt8] = []
        for i in 0..<500 { good += Self.line(i) + [0x0A] }
        try CLI.write(good, to: dir + "/good.part")
        try shell(
            "cd \(dir) && (cat good.part; head -c 1073741824 /dev/zero | tr '\\000' x) | zstd -q -3 > huge.log.zst")
        let r = try run(dir + "/huge.log.zst", in: dir)
        #expect(r.result.status == 0, "\(r.result)")
        #expect(r.lines == 501 && r.records == 500 && r.rejected == 1, "\(r.result)")
        #expect(r.rejects == ["line-too-long": 1])
        #expect(r.peakRSS < Self.memoryLimit, "peak RSS \(r.peakRSS >> 20) MiB")
    }

    @Test(arguments: ["gzip", "zstd"])
    func aThousandfoldExpansionStaysInBoundedMemory(_ tool: String) throws {
        let dir = try CLI.tempDir(prefix: "veil-bomb")
        defer { CLI.remove(dir) }
        // 500 good lines, then 6,000 lines of 100 KiB: ~600 MB from a file of a few hundred KB.
        var chunk: [UInt8] = []
        for i in 0..<500 { chunk += Self.line(i) + [0x0A] }
        try CLI.write(chunk, to: dir + "/good.part")
        let ext = tool == "gzip" ? "gz" : "zst"
        try shell(
            "cd \(dir) && (cat good.part; yes \"$(head -c 102400 /dev/zero | tr '\\000' y)\" | head -n 6000) | \(tool) -9 -c > bomb.log.\(ext)"
        )
        let compressed = try CLI.read(dir + "/bomb.log.\(ext)").count
        #expect(compressed * 1000 < 6000 * 102_401, "the input expands more than 1000x (\(compressed) bytes)")
        let r = try run(dir + "/bomb.log.\(ext)", in: dir)
        #expect(r.result.status == 0, "\(r.result)")
        #expect(r.records == 500 && r.rejects == ["line-too-long": 6000], "\(r.result)")
        #expect(r.peakRSS < Self.memoryLimit, "peak RSS \(r.peakRSS >> 20) MiB")
    }

    @Test func hostileLinesAreCountedAndEveryGoodRecordIsKept() throws {
        let dir = try CLI.tempDir(prefix: "veil-hostile-lines")
        defer { CLI.remove(dir) }
        var lines: [[UInt8]] = (0..<100).map { Self.line($0) }
        let cases: [(bytes: [UInt8], why: String)] = [
            (Self.line(1, path: "/pa\u{0}th"), "NUL byte inside a field: a record (bytes, never C strings)"),
            ([0, 1, 2] + Array("garbage".utf8) + [0xFF, 0xFE], "binary garbage: rejected"),
            (
                Array("192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /caf".utf8) + [0xC3, 0x28]
                    + Array(" HTTP/1.1\" 200 5 \"http://bad".utf8) + [0xFF] + Array(".example/\" \"Mozilla/5.0 ".utf8)
                    + [0xFE, 0xFF] + [0x22], "invalid UTF-8 in path, referrer and agent: a record"
            ),
            (Self.line(2, time: "28/Nov/2300:10:00:00 +0000"), "far future: out of range"),
            (Self.line(3, time: "28/Nov/1900:10:00:00 +0000"), "far past: out of range"),
            (Self.line(4, time: "27/Nov/2026:23:59:59 +0000"), "out of order: a record"),
        ]
        lines += cases.map(\.bytes)
        try CLI.write(lines.flatMap { $0 + [0x0A] }, to: dir + "/hostile.log")
        let r = try run(dir + "/hostile.log", in: dir)
        #expect(r.result.status == 0, "\(r.result)")
        #expect(r.lines == 106 && r.records == 105 && r.rejects == ["binary-garbage": 1], "\(r.result)")
        let out = try #require((r.summary["release"] as? [String: Any])?["directory"] as? String)
        let manifest = try JSONSerialization.jsonObject(with: Data(CLI.read(out + "/manifest.json"))) as! [String: Any]
        #expect(manifest["records_out_of_range"] as? Int == 2)
        for (name, bytes) in try CLI.csvFiles(in: out) {
            #expect(String(validating: bytes, as: UTF8.self) != nil, "\(name) is valid UTF-8")
            #expect(!bytes.contains(0), "\(name) holds no NUL byte")
        }
        // The day's traffic counts every in-range record of 2026-11-28.
        let daily = String(decoding: try CLI.read(out + "/traffic_daily.csv"), as: UTF8.self)
        #expect(daily.contains(",2026-11-28,102,"), "\(daily)")

        // --strict turns the reject into exit 3 and writes nothing.
        let strict = try CLI.veil([
            "run", dir + "/hostile.log", "-o", dir + "/strict", "--keys", dir + "/keys", "--strict",
        ])
        #expect(strict.status == 3 && !CLI.exists(dir + "/strict"), "\(strict)")
    }

    @Test func manyDistinctPathsAndReferrersAreCappedInBoundedMemory() throws {
        let dir = try CLI.tempDir(prefix: "veil-cardinality")
        defer { CLI.remove(dir) }
        var bytes: [UInt8] = []
        let n = 120_000
        bytes.reserveCapacity(n * 190)
        for i in 0..<n {
            bytes += Array(
                "192.0.2.\(i % 250) - - [28/Nov/2026:\(10 + i / 36000):\(String(format: "%02d:%02d", (i / 600) % 60, (i / 10) % 60)) +0000] \"GET /a/b\(i)c HTTP/1.1\" 200 512 \"https://ref\(i).example.net/x\" \"Mozilla/5.0 Firefox/120.0\"\n"
                    .utf8)
        }
        try CLI.write(bytes, to: dir + "/wide.log")
        let r = try run(dir + "/wide.log", in: dir, ["--max-paths", "1000", "--k", "2"])
        #expect(r.result.status == 0, "\(r.result)")
        #expect(r.records == n)
        #expect(r.peakRSS < Self.memoryLimit, "peak RSS \(r.peakRSS >> 20) MiB")
        let out = try #require((r.summary["release"] as? [String: Any])?["directory"] as? String)
        let pages = String(decoding: try CLI.read(out + "/pages.csv"), as: UTF8.self)
        #expect(pages.contains("(other)"), "paths past --max-paths count as (other)")
        let state = dir + "/wide.veilstate"
        #expect(
            try CLI.veil([
                "aggregate", dir + "/wide.log", "-o", state, "--keys", dir + "/keys", "--max-paths", "1000", "--quiet",
            ]).status == 0)
        // The state keeps at most the capped number of distinct paths and referrers, not one per line.
        let size = try CLI.read(state).count
        #expect(size < 8 << 20, "state size \(size)")
    }
}
