import Foundation
import Testing

// End-to-end tests of what a cluster driver (Integrations/spark) needs from the CLI:
// - `veil keys ensure --from --until` creates every missing key of a range ahead of time, keeps
//   existing keys, and refuses a range with a shredded epoch without creating anything;
// - `veil aggregate --no-new-keys` never creates a key: a missing one is an error naming the
//   epoch and the `veil keys ensure` command that fixes it;
// - `veil aggregate - --input-name NAME` records standard input under NAME, so a state made from
//   bytes streamed by a cluster task equals, byte for byte, the state of a direct read.

@Suite("Keys ahead of time, --no-new-keys, --input-name")
struct KeysEnsureCLITests {
    @discardableResult
    private func veil(_ args: [String], stdin: [UInt8]? = nil, cwd: String? = nil) throws -> ProcessResult {
        let r = try CLI.veil(args, stdin: stdin, cwd: cwd)
        guard r.status == 0 else { throw CLITestError("veil \(args.joined(separator: " ")) failed: \(r)") }
        return r
    }

    private func keyFiles(_ keys: String) -> [String] {
        CLI.list(keys).filter { $0.hasSuffix(".key") }.sorted()
    }

    @Test("keys ensure creates every epoch of the range once, keeps existing keys, and reports JSON")
    func ensureCreatesRange() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])

        let first = try veil([
            "keys", "ensure", "--keys", keys, "--from", "2026-11-27", "--until", "2026-11-29T12:00:00Z",
        ])
        #expect(first.stdoutText.contains("d-2026-11-27 … d-2026-11-29: created 3 keys, 0 already existed"), "\(first)")
        #expect(keyFiles(keys) == ["d-2026-11-27.key", "d-2026-11-28.key", "d-2026-11-29.key"])
        for name in keyFiles(keys) { #expect(try CLI.mode(keys + "/" + name) == 0o600) }
        let before = try keyFiles(keys).map { try CLI.read(keys + "/" + $0) }

        // Again, overlapping: only the new day is created; existing keys are untouched.
        let second = try veil([
            "keys", "ensure", "--keys", keys, "--from", "2026-11-28", "--until", "2026-12-01", "--json",
        ])
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(second.stdout)) as? [String: Any], "\(second)")
        #expect(json["created"] as? Int == 1)
        #expect(json["existing"] as? Int == 2)
        let epochs = try #require(json["epochs"] as? [[String: Any]])
        #expect(epochs.map { $0["epoch"] as? String } == ["d-2026-11-28", "d-2026-11-29", "d-2026-11-30"])
        #expect(epochs.map { $0["created"] as? Bool } == [false, false, true])
        let after = try ["d-2026-11-27.key", "d-2026-11-28.key", "d-2026-11-29.key"].map {
            try CLI.read(keys + "/" + $0)
        }
        #expect(after == before, "ensure must never replace an existing key")
        #expect(keyFiles(keys).count == 4)

        // --check creates nothing and names what is missing.
        let check = try CLI.veil([
            "keys", "ensure", "--check", "--keys", keys, "--from", "2026-11-29", "--until", "2026-12-03",
        ])
        #expect(check.status == 1, "\(check)")
        #expect(
            check.stderrText.contains("no key for 2 epochs") && check.stderrText.contains("d-2026-12-01, d-2026-12-02"),
            "\(check)")
        #expect(keyFiles(keys).count == 4, "--check created a key")
        try veil(["keys", "ensure", "--check", "--keys", keys, "--from", "2026-11-27", "--until", "2026-12-01"])

        // Bad ranges are usage errors.
        let backwards = try CLI.veil([
            "keys", "ensure", "--keys", keys, "--from", "2026-11-29", "--until", "2026-11-28",
        ])
        #expect(backwards.status == 2, "\(backwards)")
        let garbage = try CLI.veil(["keys", "ensure", "--keys", keys, "--from", "yesterday", "--until", "2026-11-28"])
        #expect(garbage.status == 2, "\(garbage)")
    }

    /// `veil keys init --keys keys` (a bare relative name) used to trap in Foundation's
    /// `deletingLastPathComponent`.
    @Test("keys init accepts a one-component relative path")
    func initBareName() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        try veil(["keys", "init", "--keys", "k"], cwd: dir)
        #expect(try CLI.mode(dir + "/k") == 0o700)
        try veil(["keys", "ensure", "--keys", "k", "--from", "2026-11-28", "--until", "2026-11-29"], cwd: dir)
        #expect(keyFiles(dir + "/k") == ["d-2026-11-28.key"])
    }

    @Test("keys ensure refuses a range with a shredded epoch and creates nothing")
    func ensureRefusesShredded() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil(["keys", "ensure", "--keys", keys, "--from", "2020-01-01", "--until", "2020-01-02"])
        try veil(["keys", "shred", "--keys", keys, "--older-than", "1d"])
        #expect(keyFiles(keys).isEmpty)

        let r = try CLI.veil(["keys", "ensure", "--keys", keys, "--from", "2019-12-31", "--until", "2020-01-03"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderrText.contains("d-2020-01-01") && r.stderrText.contains("shredded"), "\(r)")
        #expect(keyFiles(keys).isEmpty, "nothing may be created when the range holds a shredded epoch")
    }

    @Test("aggregate --no-new-keys fails naming the missing epoch; after keys ensure it matches a normal aggregate")
    func noNewKeys() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "combined_cookie", lines: 3_000, seed: 7, extra: ["--days", "2"], in: dir)
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])

        let missing = try CLI.veil(["aggregate", g.log, "-o", dir + "/a.veilstate", "--keys", keys, "--no-new-keys"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderrText.contains("no key for epoch d-2026-11-28"), "\(missing)")
        #expect(
            missing.stderrText.contains("veil keys ensure"), "the error should say how to create the key: \(missing)")
        #expect(!CLI.exists(dir + "/a.veilstate"))
        #expect(keyFiles(keys).isEmpty, "--no-new-keys created a key")

        // Only the first day: the second day's key is still missing.
        try veil(["keys", "ensure", "--keys", keys, "--from", "2026-11-28", "--until", "2026-11-29"])
        let half = try CLI.veil(["aggregate", g.log, "-o", dir + "/a.veilstate", "--keys", keys, "--no-new-keys"])
        #expect(half.status == 1 && half.stderrText.contains("d-2026-11-29"), "\(half)")
        #expect(keyFiles(keys) == ["d-2026-11-28.key"])

        try veil(["keys", "ensure", "--keys", keys, "--from", "2026-11-28", "--until", "2026-11-30"])
        try veil(["aggregate", g.log, "-o", dir + "/a.veilstate", "--keys", keys, "--no-new-keys", "--quiet"])
        try veil(["aggregate", g.log, "-o", dir + "/b.veilstate", "--keys", keys, "--quiet"])
        #expect(try CLI.read(dir + "/a.veilstate") == CLI.read(dir + "/b.veilstate"))
        #expect(keyFiles(keys) == ["d-2026-11-28.key", "d-2026-11-29.key"])

        let help = try veil(["aggregate", "--help"])
        #expect(help.stdoutText.contains("--no-new-keys") && help.stdoutText.contains("--input-name"))
        let keysHelp = try veil(["keys", "--help"])
        #expect(keysHelp.stdoutText.contains("ensure"))
    }

    @Test("aggregate - --input-name gives the state of a direct read, byte for byte")
    func inputName() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "combined", lines: 3_000, seed: 11, in: dir, name: "shard")
        let keys = dir + "/keys"
        try veil(["keys", "init", "--keys", keys])
        try veil(["keys", "ensure", "--keys", keys, "--from", "2026-11-28", "--until", "2026-11-29"])

        // Relative name, as `veil run shard.log` from that directory would record it.
        try veil(["aggregate", "shard.log", "-o", "direct.veilstate", "--keys", keys, "--quiet"], cwd: dir)
        let streamed = try veil(
            [
                "aggregate", "-", "--input-name", "shard.log", "-o", dir + "/streamed.veilstate", "--keys", keys,
                "--no-new-keys", "--json", "--threads", "2",
            ],
            stdin: try CLI.read(g.log))
        #expect(try CLI.read(dir + "/direct.veilstate") == CLI.read(dir + "/streamed.veilstate"))
        #expect(streamed.stdoutText.contains("\"file\" : \"shard.log\""), "\(streamed)")

        try veil(["report", dir + "/direct.veilstate", "-o", dir + "/r1", "--quiet"])
        try veil(["report", dir + "/streamed.veilstate", "-o", dir + "/r2", "--quiet"])
        let manifest = String(decoding: try CLI.read(dir + "/r2/manifest.json"), as: UTF8.self)
        #expect(manifest.contains("\"shard.log\""))
        #expect(try CLI.csvFiles(in: dir + "/r1") == CLI.csvFiles(in: dir + "/r2"))
        #expect(try CLI.read(dir + "/r1/manifest.json") == CLI.read(dir + "/r2/manifest.json"))

        // Without --input-name, standard input is recorded as "-".
        try veil(
            ["aggregate", "-", "-o", dir + "/dash.veilstate", "--keys", keys, "--quiet"], stdin: try CLI.read(g.log))
        #expect(try CLI.read(dir + "/dash.veilstate") != CLI.read(dir + "/direct.veilstate"))

        let two = try CLI.veil([
            "aggregate", g.log, g.log, "--input-name", "x", "-o", dir + "/x.veilstate", "--keys", keys,
        ])
        #expect(two.status == 2, "\(two)")
        let empty = try CLI.veil(["aggregate", g.log, "--input-name", "", "-o", dir + "/x.veilstate", "--keys", keys])
        #expect(empty.status == 2, "\(empty)")
    }
}
