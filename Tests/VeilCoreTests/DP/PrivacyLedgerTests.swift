import Foundation
import Testing

@testable import VeilCore

@Suite("DP: privacy budget ledger and written releases")
struct PrivacyLedgerTests {
    static func parameters(_ epsilon: String, tables: [DPTable] = [.trafficDaily, .pages]) -> DPParameters {
        var p = DPParameters(epsilon: PrivacyAmount(epsilon)!)
        p.tables = tables
        return p
    }

    static func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// A one-day state (epoch d-2026-11-28) and a two-day one (…-28 and …-29).
    static func states(_ ws: StateTestWorkspace) throws -> (oneDay: AggregateState, twoDays: AggregateState) {
        let log = StateTestLog(seed: 0x1ED6, visitors: 150)
        let day28 = log.lines.filter { $0.contains("[28/Nov/2026:") }
        let one = try ws.aggregate(day28, name: "28.log").state
        let two = try ws.aggregate(log.lines, name: "both.log").state
        return (one, two)
    }

    @Test("the same release twice: byte-identical files, one ledger entry, the second run not charged")
    func sameReleaseTwice() throws {
        let ws = try StateTestWorkspace()
        let (_, s) = try Self.states(ws)
        let budget = PrivacyAmount("1")!
        let a = try RollupWriter.writeDifferentiallyPrivate(
            s, to: ws.directory + "/r1", parameters: Self.parameters("0.6"), keyStore: ws.store, budget: budget,
            now: 1_800_000_000)
        let b = try RollupWriter.writeDifferentiallyPrivate(
            s, to: ws.directory + "/r2", parameters: Self.parameters("0.6"), keyStore: ws.store, budget: budget,
            now: 1_800_000_100)
        #expect(a.charged && !b.charged)
        #expect(a.releaseID == b.releaseID)
        let f1 = try Self.files(ws.directory + "/r1"), f2 = try Self.files(ws.directory + "/r2")
        #expect(f1.keys.sorted() == ["manifest.json", "pages.csv", "traffic_daily.csv"])
        #expect(f1 == f2)
        let ledger = PrivacyLedger(keyStore: ws.store)
        #expect(try ledger.entries().count == 1)
        #expect(try Self.mode(ledger.path) == 0o600)
        #expect(
            try ledger.spentPerEpoch() == [
                "d-2026-11-28": PrivacyAmount("0.6")!, "d-2026-11-29": PrivacyAmount("0.6")!,
            ])
        #expect(b.epochs.map(\.remaining) == [PrivacyAmount("0.4")!, PrivacyAmount("0.4")!])

        // A third identical run still works after the budget was used up by another release...
        var other = Self.parameters("0.4")
        other.l0 = 3
        _ = try RollupWriter.writeDifferentiallyPrivate(
            s, to: ws.directory + "/r3", parameters: other, keyStore: ws.store, budget: budget)
        let again = try RollupWriter.writeDifferentiallyPrivate(
            s, to: ws.directory + "/r4", parameters: Self.parameters("0.6"), keyStore: ws.store, budget: budget)
        #expect(!again.charged)
        #expect(try Self.files(ws.directory + "/r4") == f1)
        // ...while anything new is refused.
        #expect(throws: VeilError.self) {
            try RollupWriter.writeDifferentiallyPrivate(
                s, to: ws.directory + "/r5", parameters: Self.parameters("0.000000001"), keyStore: ws.store,
                budget: budget)
        }
    }

    @Test("a release that would exceed an epoch's budget is refused with spent and remaining ε, and writes nothing")
    func budgetExhaustion() throws {
        let ws = try StateTestWorkspace()
        let (one, two) = try Self.states(ws)
        let budget = PrivacyAmount("1")!
        let ledger = PrivacyLedger(keyStore: ws.store)
        // 0.4 on the 28th; then 0.4 on the 28th and 29th: the 28th has spent 0.8.
        _ = try RollupWriter.writeDifferentiallyPrivate(
            one, to: ws.directory + "/a", parameters: Self.parameters("0.4"), keyStore: ws.store, budget: budget)
        _ = try RollupWriter.writeDifferentiallyPrivate(
            two, to: ws.directory + "/b", parameters: Self.parameters("0.4"), keyStore: ws.store, budget: budget)
        let before = try Data(contentsOf: URL(fileURLWithPath: ledger.path))

        let e = #expect(throws: VeilError.self) {
            try RollupWriter.writeDifferentiallyPrivate(
                two, to: ws.directory + "/c", parameters: Self.parameters("0.3"), keyStore: ws.store, budget: budget)
        }
        #expect(e?.code == .privacyBudget)
        let message = e?.message ?? ""
        #expect(message.contains("d-2026-11-28: ε spent 0.8 of the budget 1, remaining 0.2"), "\(message)")
        #expect(message.contains("needs ε = 0.3"), "\(message)")
        #expect(!message.contains("d-2026-11-29"), "the 29th has room: \(message)")
        #expect(!FileManager.default.fileExists(atPath: ws.directory + "/c"), "an output was written")
        #expect(try Data(contentsOf: URL(fileURLWithPath: ledger.path)) == before, "the ledger changed")

        // What fits is accepted: 0.2 on the 28th (exactly the rest), 0.6 on the 29th.
        let fits = try RollupWriter.writeDifferentiallyPrivate(
            one, to: ws.directory + "/d", parameters: Self.parameters("0.2", tables: [.devices]), keyStore: ws.store,
            budget: budget)
        #expect(fits.epochs.map(\.remaining) == [PrivacyAmount(units: 0)])
        #expect(try ledger.spentPerEpoch()["d-2026-11-28"] == budget)
        // A larger budget lets more through.
        #expect(throws: Never.self) {
            _ = try RollupWriter.writeDifferentiallyPrivate(
                two, to: ws.directory + "/e", parameters: Self.parameters("0.3"), keyStore: ws.store,
                budget: PrivacyAmount("2")!)
        }
    }

    @Test("a damaged ledger stops every release, naming its line")
    func damagedLedger() throws {
        let ws = try StateTestWorkspace()
        let (one, _) = try Self.states(ws)
        _ = try RollupWriter.writeDifferentiallyPrivate(
            one, to: ws.directory + "/a", parameters: Self.parameters("0.1"), keyStore: ws.store,
            budget: PrivacyAmount("1")!)
        let ledger = PrivacyLedger(keyStore: ws.store)
        let good = try String(contentsOfFile: ledger.path, encoding: .utf8)
        for (label, text) in [
            ("truncated", String(good.dropLast(20))), ("garbage", good + "not json\n"),
            ("bad epsilon", good.replacingOccurrences(of: "\"0.1\"", with: "\"-1\"")),
        ] {
            try AtomicFile.write(text, to: ledger.path, mode: 0o600)
            let e = #expect(throws: VeilError.self, "\(label)") {
                try RollupWriter.writeDifferentiallyPrivate(
                    one, to: ws.directory + "/b", parameters: Self.parameters("0.2"), keyStore: ws.store,
                    budget: PrivacyAmount("1")!)
            }
            #expect(e?.code == .key, "\(label)")
            #expect(e?.line != nil && e?.message.contains("damaged") == true, "\(label): \(e?.description ?? "")")
        }
    }

    @Test("charging is exact and per release id")
    func ledgerArithmetic() throws {
        let ws = try StateTestWorkspace()
        let ledger = PrivacyLedger(keyStore: ws.store)
        let budget = PrivacyAmount("1")!
        for i in 0..<10 {
            let entry = PrivacyLedger.Entry(
                releaseID: "id\(i)", time: 1_800_000_000, epochs: ["d-2026-11-28"], epsilon: PrivacyAmount("0.1")!,
                delta: 1e-6, l0: 5,
                lInf: 1, tables: ["pages"])
            #expect(try ledger.charge(entry, budget: budget).charged)
            #expect(try !ledger.charge(entry, budget: budget).charged)
        }
        #expect(try ledger.spentPerEpoch()["d-2026-11-28"] == budget, "ten tenths are exactly 1")
        let more = PrivacyLedger.Entry(
            releaseID: "id10", time: 0, epochs: ["d-2026-11-28"], epsilon: PrivacyAmount("0.000000001")!, delta: 1e-6,
            l0: 5, lInf: 1,
            tables: ["pages"])
        let e = #expect(throws: VeilError.self) { try ledger.charge(more, budget: budget) }
        #expect(e?.message.contains("remaining 0") == true, "\(e?.message ?? "")")
        let entries = try ledger.entries()
        #expect(entries.count == 10)
        #expect(
            entries[3].releaseID == "id3" && entries[3].epsilon == PrivacyAmount("0.1")!
                && entries[3].tables == ["pages"])
    }

    @Test("the noise key needs every epoch's key: a shredded epoch cannot be released with DP")
    func shreddedEpoch() throws {
        let ws = try StateTestWorkspace()
        let (one, _) = try Self.states(ws)
        let k1 = try DPKeys.noiseKey(epochs: one.epochs, keyStore: ws.store)
        let k2 = try DPKeys.noiseKey(epochs: one.epochs, keyStore: ws.store)
        #expect(k1.bytes == k2.bytes && k1.bytes.count == 32)
        #expect(try DPKeys.noiseKey(epochs: ["d-2026-11-29"], keyStore: ws.store).bytes != k1.bytes)
        #expect("\(k1)" == "DPNoiseKey(…)")

        try ws.store.shred(olderThan: 0, now: StateTestKit.time(2026, 12, 20))
        let e = #expect(throws: VeilError.self) {
            try RollupWriter.writeDifferentiallyPrivate(
                one, to: ws.directory + "/x", parameters: Self.parameters("0.1"), keyStore: ws.store,
                budget: PrivacyAmount("1")!)
        }
        #expect(e?.code == .key)
        #expect(e?.message.contains("shredded") == true, "\(e?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: ws.directory + "/x"))
    }

    @Test("the manifest states the mechanism and its parameters, and holds no exact count of the input")
    func manifest() throws {
        let ws = try StateTestWorkspace()
        let (_, s) = try Self.states(ws)
        var p = Self.parameters("2", tables: [.pages, .trafficDaily, .browsers])
        p.delta = 1e-5
        p.l0 = 4
        let summary = try RollupWriter.writeDifferentiallyPrivate(
            s, to: ws.directory + "/m", parameters: p, keyStore: ws.store, budget: PrivacyAmount("5")!)
        let data = try Data(contentsOf: URL(fileURLWithPath: ws.directory + "/m/manifest.json"))
        let m = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(m["k"] is NSNull)
        #expect(m["inputs"] is NSNull)
        #expect(m["records_out_of_range"] is NSNull)
        #expect(m["classification"] as? String == "anonymous")
        let dp = try #require(m["differential_privacy"] as? [String: Any])
        #expect(dp["mechanism"] as? String == "discrete_laplace")
        #expect(dp["epsilon"] as? Double == 2)
        #expect(dp["epsilon_exact"] as? String == "2")
        #expect(dp["delta"] as? Double == 1e-5)
        #expect(dp["l0"] as? Int == 4 && dp["linf"] as? Int == 1)
        #expect(dp["release_id"] as? String == summary.releaseID && dp["ledger_entry"] as? String == summary.releaseID)
        let notReleased = try #require(dp["tables_not_released"] as? [String: String])
        #expect(
            Set(notReleased.keys) == [
                "traffic_hourly", "traffic_weekly", "traffic_monthly", "not_found", "status_codes", "campaigns",
                "campaign_links", "entry_pages", "referrers", "operating_systems", "devices", "web_campaigns",
                "visit_durations", "visit_pageviews", "exit_pages", "bots", "countries", "response_times",
                "page_response_times",
            ])
        let mechanisms = try #require(dp["tables"] as? [String: [String: Any]])
        #expect(mechanisms.keys.sorted() == ["browsers", "pages", "traffic_daily"])
        let release = try DPRelease(state: s, parameters: p)
        for mech in release.mechanisms {
            let e = try #require(mechanisms[mech.table.rawValue])
            #expect(e["threshold"] as? Int == Int(mech.threshold))
            #expect(e["noise_scale"] as? Double == mech.scale)
            #expect(e["epsilon"] as? Double == 2.0 / 3)
            #expect(e["noise_standard_deviation"] as? Double == mech.noiseVariance.squareRoot())
        }
        #expect((mechanisms["traffic_daily"]?["l0"] as? Int) == 1, "daily keys in UTC: one day per visitor")
        let tables = try #require(m["tables"] as? [String: [String: Any]])
        #expect(tables["pages"]?["rows_suppressed"] is NSNull)
        let text = String(decoding: data, as: UTF8.self)
        for input in s.inputs {
            #expect(!text.contains(input.fingerprint.dropFirst(7)), "the input fingerprint is in the manifest")
        }
    }

    @Test(
        "a DP release replaces an earlier release's directory whole; a directory with other files is refused before any charge"
    )
    func outputDirectory() throws {
        let ws = try StateTestWorkspace()
        let (one, _) = try Self.states(ws)
        var c = ReleaseConfiguration()
        c.k = 2
        _ = try RollupWriter.write(one, to: ws.directory + "/k", configuration: c)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.directory + "/k").count == 20)
        _ = try RollupWriter.writeDifferentiallyPrivate(
            one, to: ws.directory + "/k", parameters: Self.parameters("0.1"), keyStore: ws.store,
            budget: PrivacyAmount("1")!)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: ws.directory + "/k").sorted() == [
                "manifest.json", "pages.csv", "traffic_daily.csv",
            ])
        // And back: a k-anonymous release replaces the DP one.
        _ = try RollupWriter.write(one, to: ws.directory + "/k", configuration: c)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.directory + "/k").count == 20)

        try FileManager.default.createDirectory(atPath: ws.directory + "/mixed", withIntermediateDirectories: true)
        try AtomicFile.write("notes", to: ws.directory + "/mixed/notes.txt")
        try FileManager.default.createSymbolicLink(
            atPath: ws.directory + "/link", withDestinationPath: ws.directory + "/k")
        for (dir, needle) in [("mixed", "notes.txt"), ("link", "symbolic link")] {
            let e = #expect(throws: VeilError.self, "\(dir)") {
                try RollupWriter.writeDifferentiallyPrivate(
                    one, to: ws.directory + "/" + dir, parameters: Self.parameters("0.2"), keyStore: ws.store,
                    budget: PrivacyAmount("1")!)
            }
            #expect(e?.code == .usage && e?.message.contains(needle) == true, "\(dir): \(e?.message ?? "")")
        }
        #expect(try PrivacyLedger(keyStore: ws.store).entries().count == 1, "a refused release was charged")
        #expect(try FileManager.default.contentsOfDirectory(atPath: ws.directory + "/mixed") == ["notes.txt"])
    }
}
