import Foundation
import Testing

// `veil run` without `--state` seals the summaries of past days into a temporary file and
// releases from it; with `--state` it keeps everything in memory. The rollups must not differ.

@Suite("veil run over many days: summaries of past days leave memory, rollups do not change")
struct SealingCLITests {
    @Test(
        "4 days, 2 sites, e-mail, Europe/Berlin: the same rollups with and without --state; the state is aggregate's; the temporary directory is left empty"
    )
    func sameRollups() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(
            format: "vhost_combined", lines: 40_000, seed: 77,
            extra: ["--days", "4", "--sites", "a.example.com,b.example.org"], in: dir)
        let tmp = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let env = ["VEIL_KEYS": dir + "/keys", "TMPDIR": tmp]

        let sealed = try CLI.veil(
            ["run", g.log, "--k", "3", "--tz", "Europe/Berlin", "-o", dir + "/sealed", "--json"], env: env)
        #expect(sealed.status == 0, "\(sealed)")
        let kept = try CLI.veil(
            [
                "run", g.log, "--k", "3", "--tz", "Europe/Berlin", "-o", dir + "/kept", "--state",
                dir + "/all.veilstate", "--json",
            ],
            env: env)
        #expect(kept.status == 0, "\(kept)")

        // `--state` keeps the per-visitor records a noisy release needs: its state is the one
        // `veil aggregate` writes, byte for byte (the run without it keeps none).
        let aggregated = try CLI.veil(
            [
                "aggregate", g.log, "--tz", "Europe/Berlin", "-o", dir + "/aggregated.veilstate", "--keys",
                dir + "/keys", "--quiet",
            ],
            env: env)
        #expect(aggregated.status == 0, "\(aggregated)")
        #expect(try CLI.read(dir + "/all.veilstate") == CLI.read(dir + "/aggregated.veilstate"))

        let a = try CLI.csvFiles(in: dir + "/sealed")
        let b = try CLI.csvFiles(in: dir + "/kept")
        #expect(a.count >= 10 && a.keys.sorted() == b.keys.sorted())
        for (name, bytes) in a { #expect(bytes == b[name], "\(name) differs") }
        let manifests = (try CLI.read(dir + "/sealed/manifest.json"), try CLI.read(dir + "/kept/manifest.json"))
        #expect(manifests.0 == manifests.1)
        let campaigns = try CSVTable(dir + "/sealed/campaigns.csv")
        #expect(Set(campaigns.rows.map { $0["date"] ?? "" }).count >= 3, "e-mail rows on several days")

        // The same visitor count in both summaries (the sealed run counts while releasing).
        func visitors(_ r: ProcessResult) throws -> Int? {
            let summary = try jsonObject(r.stdout, "run --json")
            return (summary["aggregate"] as? [String: Any])?["visitors"] as? Int
        }
        let n = try visitors(sealed)
        let m = try visitors(kept)
        #expect(n != nil && n == m && (n ?? 0) > 1000)
        #expect(CLI.list(tmp).isEmpty, "the temporary file is unlinked when made")
    }

    @Test("past days' summaries on a tmpfs over 8 days: a note says they took memory; not over 2 days, nor on a disk")
    func memoryFileSystemNote() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let stat = try CLI.tool("stat", package: "coreutils")
        func type(_ path: String) throws -> String {
            String(decoding: try CLI.run(stat, ["-f", "-c", "%T", path]).stdout, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        try #require(try type("/dev/shm") == "tmpfs", "this test needs /dev/shm on a tmpfs")
        let shm = "/dev/shm/veil-cli-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: shm, withIntermediateDirectories: true)
        defer { CLI.remove(shm) }
        let disk = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let long = try CLI.generate(
            format: "combined", lines: 8_000, seed: 79, extra: ["--days", "8"], in: dir, name: "long")
        let short = try CLI.generate(
            format: "combined", lines: 4_000, seed: 80, extra: ["--days", "2"], in: dir, name: "short")
        let diskIsMemory = ["tmpfs", "ramfs"].contains(try type(disk))
        for (name, log, tmp, expected) in [
            ("long-shm", long.log, shm, true), ("short-shm", short.log, shm, false),
            ("long-disk", long.log, disk, diskIsMemory),
        ] {
            let r = try CLI.veil(
                ["run", log, "-o", dir + "/" + name], env: ["VEIL_KEYS": dir + "/keys", "TMPDIR": tmp])
            #expect(r.status == 0, "\(name): \(r)")
            let stderr = String(decoding: r.stderr, as: UTF8.self)
            #expect(stderr.contains("memory file system") == expected, "\(name): \(stderr)")
            if expected { #expect(stderr.contains(tmp) && stderr.contains("TMPDIR"), "\(name): \(stderr)") }
        }
        // --quiet keeps it quiet.
        let quiet = try CLI.veil(
            ["run", long.log, "-o", dir + "/quiet", "--quiet"], env: ["VEIL_KEYS": dir + "/keys", "TMPDIR": shm])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet)")
    }

    @Test("a temporary directory that cannot be written: exit 1 naming it, earlier rollups kept")
    func unwritableTemporaryDirectory() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "combined", lines: 6_000, seed: 78, extra: ["--days", "3"], in: dir)
        let out = dir + "/out"
        let first = try CLI.veil(["run", g.log, "-o", out], env: ["VEIL_KEYS": dir + "/keys"])
        #expect(first.status == 0, "\(first)")
        let before = try CLI.csvFiles(in: out)

        let missing = dir + "/no-such-dir"
        let r = try CLI.veil(["run", g.log, "-o", out], env: ["VEIL_KEYS": dir + "/keys", "TMPDIR": missing])
        let stderr = String(decoding: r.stderr, as: UTF8.self)
        #expect(r.status == 1)
        #expect(stderr.contains(missing) && stderr.contains("TMPDIR"), "\(stderr)")
        let after = try CLI.csvFiles(in: out)
        #expect(after == before)
    }
}
