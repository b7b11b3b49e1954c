import Foundation
import Testing

/// `veil join`, `forget`, `audit verify` and `prune`, run as a user runs them, on logs and
/// identity tables from `veil-fixtures generate --accounts`.
@Suite(.serialized)
struct JoinCLITests {
    /// A generated world: a log over two days in October 2026 (old enough to shred keys for),
    /// its identity table and expected per-account activity, a key store and a state.
    struct World {
        var dir: String
        var log: GeneratedLog
        var accounts: String
        var truth: [String: Any]
        var keys: String
        var state: String

        var audit: String { dir + "/audit.log" }

        func activity(restricted: Bool = false, optedOut: Bool = true) -> Set<String> {
            rows("activity", restricted: restricted, optedOut: optedOut) { r in
                [r["account_id"], r["site"], r["date"], r["pageviews"], r["visits"], r["first_seen"], r["last_seen"]]
            }
        }

        func campaigns(restricted: Bool = false, optedOut: Bool = true) -> Set<String> {
            rows("campaigns", restricted: restricted, optedOut: optedOut) { r in
                [r["account_id"], r["site"], r["date"], r["campaign"], r["opens"], r["clicks"]]
            }
        }

        private func rows(
            _ table: String, restricted: Bool, optedOut: Bool, _ fields: ([String: Any]) -> [Any?]
        ) -> Set<String> {
            let all = truth[table] as? [[String: Any]] ?? []
            return Set(
                all.filter {
                    ($0["restricted"] as? Bool == false || restricted)
                        && ($0["marketing_opt_out"] as? Bool == false || optedOut)
                }.map { r in fields(r).map { "\($0!)" }.joined(separator: ",") })
        }
    }

    static func makeWorld(lines: Int = 12_000) throws -> World {
        let dir = try CLI.tempDir(prefix: "veil-join")
        let accounts = dir + "/accounts.csv"
        let accountsTruth = dir + "/accounts.truth.json"
        let log = try CLI.generate(
            format: "combined_cookie", lines: lines, seed: 7,
            extra: [
                "--days", "2", "--start", "2026-10-01T00:00:00Z", "--email-share", "0.1", "--accounts", accounts,
                "--accounts-truth", accountsTruth,
            ], in: dir)
        let truth = try JSONSerialization.jsonObject(with: Data(CLI.read(accountsTruth))) as! [String: Any]
        let keys = dir + "/keys"
        let initKeys = try CLI.veil(["keys", "init", "--keys", keys])
        guard initKeys.status == 0 else { throw CLITestError("keys init: \(initKeys)") }
        let state = dir + "/all.veilstate"
        let agg = try CLI.veil([
            "aggregate", log.log, "-o", state, "--keys", keys, "--site", "www.example.com", "--quiet",
        ])
        guard agg.status == 0 else { throw CLITestError("aggregate: \(agg)") }
        return World(dir: dir, log: log, accounts: accounts, truth: truth, keys: keys, state: state)
    }

    func join(_ w: World, _ extra: [String], output: String) throws -> ProcessResult {
        try CLI.veil(
            ["join", w.state, "--identities", w.accounts, "--keys", w.keys, "--audit-log", w.audit, "-o", output]
                + extra)
    }

    /// CSV rows of a personal output file, without the header, as `a,b,c` lines (no field in
    /// these files needs quoting).
    func csvRows(_ path: String) throws -> [String] {
        let text = String(decoding: try CLI.read(path), as: UTF8.self)
        return text.split(separator: "\r\n").dropFirst().map(String.init)
    }

    @Test func joinFindsExactlyTheGeneratedAccountsActivity() throws {
        let w = try Self.makeWorld()
        defer { CLI.remove(w.dir) }
        #expect((w.truth["activity"] as? [Any])?.count ?? 0 > 50, "the fixture should have account activity")
        #expect((w.truth["campaigns"] as? [Any])?.count ?? 0 > 50, "the fixture should have campaign activity")

        let out = w.dir + "/service"
        let r = try join(w, ["--purpose", "support tickets", "--purpose-kind", "service", "--json"], output: out)
        #expect(r.status == 0, "\(r)")
        #expect(Set(try csvRows(out + "/activity.csv")) == w.activity())
        #expect(Set(try csvRows(out + "/campaigns.csv")) == w.campaigns())

        // Personal data: a new directory 0700, files 0600, manifest says so and names the audit record.
        #expect(try CLI.mode(out) == 0o700)
        for f in ["activity.csv", "campaigns.csv", "manifest.json"] { #expect(try CLI.mode(out + "/" + f) == 0o600) }
        let manifest = try JSONSerialization.jsonObject(with: Data(CLI.read(out + "/manifest.json"))) as! [String: Any]
        #expect(manifest["classification"] as? String == "personal")
        #expect(manifest["purpose"] as? String == "support tickets")
        let audit = manifest["audit"] as? [String: Any]
        #expect(audit?["record"] as? Int == 1)

        // The summary counts exclusions without naming anyone.
        let summary = try JSONSerialization.jsonObject(with: Data(r.stdout)) as! [String: Any]
        #expect(summary["excluded_restricted"] as? Int == w.truth["restricted"] as? Int)
        #expect(summary["excluded_marketing_opt_out"] as? Int == 0)
        #expect(!r.stdoutText.contains("acct-") && !r.stderrText.contains("acct-"))
    }

    @Test func marketingLeavesOutOptOutsAndRestrictedAccountsAreNeverJoined() throws {
        let w = try Self.makeWorld()
        defer { CLI.remove(w.dir) }
        let out = w.dir + "/marketing"
        let r = try join(w, ["--purpose", "winter newsletter", "--purpose-kind", "marketing"], output: out)
        #expect(r.status == 0, "\(r)")
        #expect(Set(try csvRows(out + "/activity.csv")) == w.activity(optedOut: false))
        #expect(Set(try csvRows(out + "/campaigns.csv")) == w.campaigns(optedOut: false))
        #expect(r.stderrText.contains("opted out of marketing") && r.stderrText.contains("restricted"), "\(r)")

        // The default purpose kind without --account is marketing: the same rows.
        let byDefault = w.dir + "/default-kind"
        #expect(try join(w, ["--purpose", "winter newsletter"], output: byDefault).status == 0)
        #expect(try CLI.read(byDefault + "/activity.csv") == CLI.read(out + "/activity.csv"))

        // A restricted account is not joined even for its own access request.
        let restricted = (w.truth["activity"] as! [[String: Any]]).first { $0["restricted"] as? Bool == true }
        let id = try #require(restricted?["account_id"] as? String)
        let sar = w.dir + "/sar-restricted"
        let s = try join(w, ["--purpose", "access request", "--account", id], output: sar)
        #expect(s.status == 0, "\(s)")
        #expect(try csvRows(sar + "/activity.csv").isEmpty)
        #expect(s.stderrText.contains("1 restricted"), "\(s)")
    }

    @Test func noJoinWithoutAPurpose() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        for extra in [[String](), ["--purpose", "   "]] {
            let out = w.dir + "/nopurpose"
            let r = try join(w, extra, output: out)
            #expect(r.status == 2, "\(r)")
            #expect(!CLI.exists(out))
            #expect(!CLI.exists(w.audit), "no audit record for a refused join")
        }
    }

    @Test func aShreddedKeyMakesTheJoinFailNamingTheEpochAndWriteNothing() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        // The data is from October 2026: every key older than 7 days goes.
        let shred = try CLI.veil(["keys", "shred", "--keys", w.keys, "--older-than", "7d"])
        #expect(shred.status == 0, "\(shred)")
        let out = w.dir + "/after-shred"
        let r = try join(w, ["--purpose", "support", "--purpose-kind", "service"], output: out)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderrText.contains("d-2026-10-01"), "the error names the epoch: \(r)")
        #expect(!CLI.exists(out))
        #expect(!CLI.exists(w.audit), "nothing is recorded for a join that cannot run")
    }

    @Test func theAuditChainVerifiesAndEditsOrDeletionsAreFoundWithTheirPosition() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        for i in 1...4 {
            let r = try join(
                w, ["--purpose", "audit test \(i)", "--purpose-kind", "service"], output: w.dir + "/j\(i)")
            #expect(r.status == 0, "\(r)")
        }
        let verify = { try CLI.veil(["audit", "verify", "--audit-log", w.audit]) }
        let ok = try verify()
        #expect(ok.status == 0 && ok.stdoutText.contains("4 records, chain intact"), "\(ok)")

        let original = try CLI.read(w.audit)
        var lines = String(decoding: original, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        #expect(lines.count == 5 && lines[4].isEmpty)

        // Edit record 2's purpose.
        var edited = lines
        edited[1] = edited[1].replacingOccurrences(of: "audit test 2", with: "audit test X")
        try CLI.write(Array(edited.joined(separator: "\n").utf8), to: w.audit)
        let e = try verify()
        #expect(e.status == 1 && e.stderrText.contains("record 2"), "\(e)")
        #expect(e.stderrText.contains("changed"), "\(e)")
        // A broken chain takes no new records: the join fails and writes nothing.
        let refused = try join(w, ["--purpose", "after tampering", "--purpose-kind", "service"], output: w.dir + "/j5")
        #expect(refused.status != 0 && !CLI.exists(w.dir + "/j5"), "\(refused)")

        // Delete record 3.
        var deleted = lines
        deleted.remove(at: 2)
        try CLI.write(Array(deleted.joined(separator: "\n").utf8), to: w.audit)
        let d = try verify()
        #expect(d.status == 1 && d.stderrText.contains("record 3"), "\(d)")

        // Delete the last record: the head file gives it away.
        lines.remove(at: 3)
        try CLI.write(Array(lines.joined(separator: "\n").utf8), to: w.audit)
        let t = try verify()
        #expect(t.status == 1 && t.stderrText.contains("record 4"), "\(t)")

        try CLI.write(original, to: w.audit)
        #expect(try verify().status == 0)
    }

    @Test func aJoinNeverChangesAnonymousOutputAndNeverWritesIntoIt() throws {
        let w = try Self.makeWorld(lines: 6000)
        defer { CLI.remove(w.dir) }
        let stateBefore = try CLI.read(w.state)
        let before = w.dir + "/rollups-before"
        #expect(try CLI.veil(["report", w.state, "-o", before, "--quiet"]).status == 0)
        let j = try join(w, ["--purpose", "support", "--purpose-kind", "service"], output: w.dir + "/personal")
        #expect(j.status == 0, "\(j)")
        let after = w.dir + "/rollups-after"
        #expect(try CLI.veil(["report", w.state, "-o", after, "--quiet"]).status == 0)
        #expect(try CLI.read(w.state) == stateBefore, "the state is read, never written, by a join")
        #expect(try CLI.csvFiles(in: before) == CLI.csvFiles(in: after))
        #expect(try CLI.read(before + "/manifest.json") == CLI.read(after + "/manifest.json"))

        // Into or inside an anonymous rollup directory: refused, nothing written there.
        let listing = CLI.list(before)
        for target in [before, before + "/personal"] {
            let r = try join(w, ["--purpose", "support", "--purpose-kind", "service"], output: target)
            #expect(r.status == 2, "\(r)")
            #expect(r.stderrText.contains("anonymous rollup directory"), "\(r)")
        }
        #expect(CLI.list(before) == listing)

        // Nothing in the anonymous rollups names an account or a raw identifier of the join's table.
        let ids = (w.truth["activity"] as! [[String: Any]]).compactMap { $0["account_id"] as? String }
        for (_, bytes) in try CLI.csvFiles(in: before) {
            for id in Set(ids) { #expect(!CLI.contains(bytes, Array(id.utf8))) }
        }
    }

    @Test func forgetRemovesOneAccountAndLeavesTheOthers() throws {
        let w = try Self.makeWorld()
        defer { CLI.remove(w.dir) }
        let full = w.dir + "/before"
        #expect(try join(w, ["--purpose", "support", "--purpose-kind", "service"], output: full).status == 0)
        let rowsBefore = try csvRows(full + "/activity.csv")
        let campaignsBefore = try csvRows(full + "/campaigns.csv")
        // An account with both web and mail activity.
        let webAccounts = Set(rowsBefore.map { String($0.split(separator: ",")[0]) })
        let target = try #require(
            campaignsBefore.map { String($0.split(separator: ",")[0]) }.first { webAccounts.contains($0) })

        let f = try CLI.veil([
            "forget", w.state, "--identities", w.accounts, "--account", target, "--keys", w.keys, "--audit-log",
            w.audit,
            "--reason", "erasure request 88",
        ])
        #expect(f.status == 0, "\(f)")
        #expect(f.stderrText.contains("removed"), "\(f)")
        #expect(try CLI.veil(["audit", "verify", "--audit-log", w.audit]).status == 0)
        let auditText = String(decoding: try CLI.read(w.audit), as: UTF8.self)
        #expect(auditText.contains("\"action\":\"forget\"") && auditText.contains("erasure request 88"))

        let sar = w.dir + "/sar"
        let s = try join(w, ["--purpose", "access request", "--account", target], output: sar)
        #expect(s.status == 0, "\(s)")
        #expect(try csvRows(sar + "/activity.csv").isEmpty)
        #expect(try csvRows(sar + "/campaigns.csv").isEmpty)

        let rest = w.dir + "/after"
        #expect(try join(w, ["--purpose", "support", "--purpose-kind", "service"], output: rest).status == 0)
        #expect(try csvRows(rest + "/activity.csv") == rowsBefore.filter { !$0.hasPrefix(target + ",") })
        #expect(try csvRows(rest + "/campaigns.csv") == campaignsBefore.filter { !$0.hasPrefix(target + ",") })

        // The state still reports (anonymous totals keep the account's share).
        #expect(try CLI.veil(["report", w.state, "-o", w.dir + "/rollups", "--quiet"]).status == 0)
    }

    @Test func anUnwritableAuditLogMeansNoPersonalFile() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        // A path below a regular file cannot be created, even by root.
        try CLI.write(Array("not a directory".utf8), to: w.dir + "/plainfile")
        let out = w.dir + "/personal"
        let r = try CLI.veil([
            "join", w.state, "--identities", w.accounts, "--keys", w.keys, "--audit-log",
            w.dir + "/plainfile/audit.log",
            "--purpose", "support", "--purpose-kind", "service", "-o", out,
        ])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderrText.contains("audit log"), "\(r)")
        #expect(!CLI.exists(out))
        #expect(!CLI.list(w.dir).contains { $0.hasPrefix(".personal") }, "no temporary output left behind")

        // A directory where the log should be: refused the same way.
        try FileManager.default.createDirectory(atPath: w.dir + "/logdir", withIntermediateDirectories: true)
        let d = try CLI.veil([
            "join", w.state, "--identities", w.accounts, "--keys", w.keys, "--audit-log", w.dir + "/logdir",
            "--purpose", "support", "--purpose-kind", "service", "-o", out,
        ])
        #expect(d.status == 1, "\(d)")
        #expect(!CLI.exists(out))
    }

    @Test func aBrokenIdentityTableIsRejectedWithLineAndOffsetButNoContent() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        let secret = "cookie-SECRET-1234"
        let bad = "account_id,cookie_id\r\nA1,ok1\r\nA2,\"\(secret)\r\nA3,ok3\r\n"
        let path = w.dir + "/bad.csv"
        try CLI.write(Array(bad.utf8), to: path)
        let out = w.dir + "/personal"
        let r = try CLI.veil([
            "join", w.state, "--identities", path, "--keys", w.keys, "--audit-log", w.audit, "--purpose", "x",
            "--purpose-kind", "service", "-o", out,
        ])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderrText.contains("bad.csv:line 3: byte offset 33"), "\(r)")
        #expect(!r.stderrText.contains("SECRET"))
        #expect(!CLI.exists(out) && !CLI.exists(w.audit))
    }

    @Test func pruneDeletesOnlyExpiredStateFiles() throws {
        let w = try Self.makeWorld(lines: 3000)
        defer { CLI.remove(w.dir) }
        let states = w.dir + "/states"
        try FileManager.default.createDirectory(atPath: states, withIntermediateDirectories: true)
        // An old state (October 2026), a fresh one (today), a rollup directory and a stray file.
        try FileManager.default.copyItem(atPath: w.state, toPath: states + "/old.veilstate")
        let fresh = try CLI.generate(
            format: "combined", lines: 500, seed: 3,
            extra: ["--start", ISO8601DateFormatter().string(from: Date()).prefix(10) + "T00:00:00Z"], in: w.dir,
            name: "fresh")
        #expect(
            try CLI.veil(["aggregate", fresh.log, "-o", states + "/fresh.veilstate", "--keys", w.keys, "--quiet"])
                .status == 0)
        #expect(try CLI.veil(["report", states + "/old.veilstate", "-o", states + "/rollups", "--quiet"]).status == 0)
        try CLI.write(Array("notes".utf8), to: states + "/notes.veilstate")

        let dry = try CLI.veil(["prune", states, "--older-than", "30d", "--dry-run"])
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdoutText.contains("would delete \(states)/old.veilstate"), "\(dry)")
        #expect(!dry.stdoutText.contains("fresh.veilstate"))
        #expect(CLI.exists(states + "/old.veilstate"))

        let real = try CLI.veil(["prune", states, "--older-than", "30d"])
        #expect(real.status == 0, "\(real)")
        #expect(!CLI.exists(states + "/old.veilstate"))
        #expect(CLI.exists(states + "/fresh.veilstate"))
        #expect(CLI.exists(states + "/notes.veilstate"), "a file that is not a state is never deleted")
        #expect(CLI.exists(states + "/rollups/manifest.json") && CLI.exists(states + "/rollups/pages.csv"))
    }
}
