import Foundation
import Testing
import VeilCore

/// Countries from a MaxMind DB (`--geoip`): the reader against the generator's database (and
/// MaxMind's own Python reader on the same files), damaged databases, and `countries.csv`.
@Suite struct GeoIPCLITests {
    /// The country `veil-fixtures geoip` puts each address in (see `CountryDatabaseWriter`);
    /// nil: none.
    static let expected: [(String, String?)] = [
        ("192.0.2.7", "DE"), ("192.0.2.255", "DE"), ("198.51.100.1", "FR"), ("198.51.100.127", "FR"),
        ("198.51.100.128", "US"), ("198.51.100.200", "US"), ("203.0.113.5", "JP"), ("198.18.0.1", "US"),
        ("198.18.255.254", "US"), ("198.19.1.1", "BR"), ("198.19.127.255", "BR"), ("198.19.128.1", nil),
        ("198.20.0.1", nil), ("10.0.0.1", nil), ("::ffff:192.0.2.9", "DE"), ("2001:db8::1", "GB"),
        ("2001:db8:7fff:ffff::1", "GB"), ("2001:db8:8000::1", "IN"), ("2001:db8:bfff::1", "IN"),
        ("2001:db8:c000::1", nil), ("2001:db9::1", nil), ("::1", nil),
    ]

    /// `veil-fixtures geoip` with `args` into `dir`; the file's path.
    static func database(_ dir: String, _ args: [String] = [], name: String = "countries.mmdb") throws -> String {
        let path = dir + "/" + name
        let r = try CLI.fixtures(["geoip", "--output", path] + args)
        try #require(r.status == 0, "veil-fixtures geoip: \(r)")
        return path
    }

    static func address(_ text: String) throws -> IPAddress {
        try #require(Array(text.utf8).withUnsafeBytes { IPAddress($0) }, "\(text)")
    }

    @Test(
        "every record size and IP version: the countries of the generator's networks, as MaxMind's own reader finds them",
        arguments: [24, 28, 32], [4, 6])
    func reader(recordSize: Int, ipVersion: Int) throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let path = try Self.database(
            dir, ["--record-size", String(recordSize), "--ip-version", String(ipVersion)])
        let db = try CountryDatabase(path: path)
        #expect(db.databaseType == "veil-fixtures-Country" && db.buildEpoch == 1_795_824_000)
        var veil: [String] = []
        for (text, country) in Self.expected {
            let found = db.countryCode(try Self.address(text))
            veil.append(found ?? "-")
            // An IPv4-only database has no IPv6 networks.
            let want = ipVersion == 4 && text.contains(":") && !text.hasPrefix("::ffff:") ? nil : country
            #expect(found == want, "\(text): \(found ?? "none"), expected \(want ?? "none")")
        }
        // The reference reader (pip install maxminddb) on the same file and addresses.
        let program = """
            import sys, maxminddb
            r = maxminddb.open_database(sys.argv[1])
            out = []
            for a in sys.argv[2:]:
                # veil reads an IPv4-mapped address as IPv4, as MaxMind's databases alias
                # ::ffff:0:0/96 to their IPv4 networks (this small one has no alias).
                if a.startswith("::ffff:") and "." in a:
                    a = a[7:]
                try:
                    rec = r.get(a)
                except ValueError:
                    rec = None
                c = None
                if isinstance(rec, dict):
                    c = (rec.get("country") or {}).get("iso_code") or (rec.get("registered_country") or {}).get("iso_code")
                out.append(c or "-")
            print(" ".join(out))
            """
        let r = try CLI.run(
            try CLI.tool("python3", package: "python3"), ["-c", program, path] + Self.expected.map(\.0))
        try #require(r.status == 0, "python3 with maxminddb (pip install maxminddb): \(r)")
        #expect(
            r.stdoutText.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
                == veil)
    }

    @Test("a damaged database: cut anywhere or bytes changed, it is refused or answers, never crashes")
    func damaged() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let bytes = try CLI.read(try Self.database(dir))
        let addresses = try Self.expected.map { try Self.address($0.0) }
        var refused = 0
        for cut in 0..<bytes.count {
            do {
                let db = try CountryDatabase(bytes: Array(bytes[..<cut]), path: "cut.mmdb")
                for a in addresses { _ = db.countryCode(a) }
            } catch {
                #expect(error.code == .badInput && error.file == "cut.mmdb", "\(error)")
                refused += 1
            }
        }
        // Without the metadata at its end, every cut is refused.
        #expect(refused >= bytes.count - 400)
        var rng = SplitMix(state: 0x6E0_1D)
        var answered = 0
        for _ in 0..<3000 {
            var copy = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                copy[Int.random(in: 0..<copy.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            guard let db = try? CountryDatabase(bytes: copy, path: "flipped.mmdb") else { continue }
            for a in addresses { _ = db.countryCode(a) }
            answered += 1
        }
        #expect(answered > 100)
        let notADatabase = #expect(throws: VeilError.self) {
            try CountryDatabase(
                bytes: Array("192.0.2.1 - - [28/Nov/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1\n".utf8),
                path: "a.log")
        }
        #expect(notADatabase?.message.contains("not a MaxMind DB") == true)
    }

    /// A hand-made log whose countries are known: per country, visitors and their pageviews.
    static func log() -> (lines: [String], rows: [String: (pageviews: Int, visitors: Int)]) {
        let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
        var lines: [String] = []
        var minute = 0
        func hit(_ ip: String, _ path: String, agent: String = ua) {
            lines.append(
                "\(ip) - - [28/Nov/2026:10:\(String(format: "%02d", minute / 60)):\(String(format: "%02d", minute % 60)) +0000] \"GET \(path) HTTP/1.1\" 200 512 \"-\" \"\(agent)\""
            )
            minute += 1
        }
        for i in 1...4 {
            hit("192.0.2.\(i)", "/")
            hit("192.0.2.\(i)", "/about")
            hit("192.0.2.\(i)", "/app.js")  // an asset: no pageview
        }
        hit("192.0.2.99", "/", agent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
        for ip in ["198.51.100.200", "198.18.0.9", "198.18.7.7"] { hit(ip, "/pricing") }
        for ip in ["203.0.113.5", "203.0.113.6"] { hit(ip, "/") }
        for ip in ["2001:db8::5", "2001:db8:1::5"] { hit(ip, "/") }
        for ip in ["10.0.0.1", "2001:db8:c000::1", "198.19.200.1"] { hit(ip, "/") }
        return (
            lines,
            [
                "DE": (8, 4), "US": (3, 3), "JP": (2, 2), "GB": (2, 2), "(unknown)": (3, 3),
            ]
        )
    }

    @Test(
        "countries.csv: pageviews and visitors per country, the same on 1, 2 and 3 threads and through a state; none without --geoip"
    )
    func countriesTable() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let db = try Self.database(dir)
        let log = Self.log()
        try CLI.write(Array((log.lines.joined(separator: "\n") + "\n").utf8), to: dir + "/a.log")
        let env = ["VEIL_KEYS": dir + "/keys"]
        var tables: [[UInt8]] = []
        for threads in ["1", "2", "3"] {
            let r = try CLI.veil(
                [
                    "run", dir + "/a.log", "-o", dir + "/out\(threads)", "--geoip", db, "--k", "2", "--threads",
                    threads, "--quiet",
                ],
                env: env)
            #expect(r.status == 0, "\(r)")
            tables.append(try CLI.read(dir + "/out\(threads)/countries.csv"))
        }
        #expect(tables.allSatisfy { $0 == tables[0] })
        let csv = String(decoding: tables[0], as: UTF8.self)
        var rows: [String: (pageviews: Int, visitors: Int)] = [:]
        let lines = csv.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(lines.first == "site,date,country,pageviews,visitors")
        for line in lines.dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            #expect(f[0] == "default" && f[1] == "2026-11-28", "\(line)")
            rows[f[2]] = (Int(f[3])!, Int(f[4])!)
        }
        #expect(rows.count == log.rows.count, "\(csv)")
        for (country, want) in log.rows {
            #expect(
                rows[country]?.pageviews == want.pageviews && rows[country]?.visitors == want.visitors,
                "\(country): \(csv)")
        }
        // Through a state file (format version 8) and `veil report`: the same table.
        try #require(
            try CLI.veil(["keys", "init", "--keys", dir + "/k2"]).status == 0)
        let a = try CLI.veil([
            "aggregate", dir + "/a.log", "-o", dir + "/s.veilstate", "--geoip", db, "--keys", dir + "/k2",
        ])
        #expect(a.status == 0, "\(a)")
        let state = try CLI.read(dir + "/s.veilstate")
        #expect(state[8] == 8 && state[9] == 0)
        let rep = try CLI.veil(["report", dir + "/s.veilstate", "-o", dir + "/rep", "--k", "2"])
        #expect(rep.status == 0, "\(rep)")
        #expect(try CLI.read(dir + "/rep/countries.csv") == tables[0])
        // `--json` names the database that placed the pageviews; the human summary too.
        let j = try CLI.veil(
            ["run", dir + "/a.log", "-o", dir + "/outj", "--geoip", db, "--k", "2", "--json"], env: env)
        #expect(j.status == 0, "\(j)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout)) as? [String: Any])
        let info = try #require((summary["aggregate"] as? [String: Any])?["country_database"] as? [String: Any])
        #expect(
            info["database_type"] as? String == "veil-fixtures-Country" && info["build_date"] as? String == "2026-11-28"
        )
        #expect(info["path"] as? String == db)
        let human = try CLI.veil(["run", dir + "/a.log", "-o", dir + "/outh", "--geoip", db, "--k", "2"], env: env)
        #expect(
            human.stderrText.contains("countries from \(db): veil-fixtures-Country database built 2026-11-28"),
            "\(human)")
        // Without --geoip a state is written as version 6, which the veil before countries reads.
        let b = try CLI.veil(["aggregate", dir + "/a.log", "-o", dir + "/s6.veilstate", "--keys", dir + "/k2"])
        #expect(b.status == 0, "\(b)")
        let v6 = try CLI.read(dir + "/s6.veilstate")
        #expect(v6[8] == 6 && v6[9] == 0)
        // Without --geoip: no countries table, and the directory that had one is replaced.
        let plain = try CLI.veil(["run", dir + "/a.log", "-o", dir + "/out1", "--k", "2", "--quiet"], env: env)
        #expect(plain.status == 0, "\(plain)")
        #expect(!CLI.list(dir + "/out1").contains("countries.csv"))
        // No identifier of the log in any rollup.
        var ids: [(kind: String, value: String)] = []
        for line in log.lines { ids.append((kind: "ip", value: String(line.prefix { $0 != " " }))) }
        for f in CLI.list(dir + "/out2") {
            let leaks = CLI.leakedIdentifiers(in: try CLI.read(dir + "/out2/" + f), identifiers: ids)
            #expect(leaks.isEmpty, "\(f): \(leaks)")
        }
    }

    @Test(
        "each input's country database is kept in the state and named in the manifest; a merge with inputs aggregated without one says so"
    )
    func countryDatabasePerInput() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let db = try Self.database(dir)
        let city = try Self.database(dir, ["--database-type", "GeoIP2-City"], name: "city.mmdb")
        let lines = Self.log().lines
        let third = lines.count / 3
        for (name, part) in [
            ("a", lines[..<third]), ("b", lines[third..<(2 * third)]), ("c", lines[(2 * third)...]),
        ] {
            try CLI.write(Array((part.joined(separator: "\n") + "\n").utf8), to: dir + "/\(name).log")
        }
        try #require(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        func aggregate(_ name: String, _ geoip: [String]) throws -> [UInt8] {
            let r = try CLI.veil(
                ["aggregate", dir + "/\(name).log", "-o", dir + "/\(name).veilstate", "--keys", dir + "/keys"] + geoip)
            #expect(r.status == 0, "\(r)")
            return try CLI.read(dir + "/\(name).veilstate")
        }
        #expect(try aggregate("a", ["--geoip", db])[8] == 8)
        #expect(try aggregate("b", [])[8] == 6)
        #expect(try aggregate("c", ["--geoip", city])[8] == 8)

        func manifest(_ path: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(CLI.read(path))) as? [String: Any])
        }
        func inputs(_ m: [String: Any]) throws -> [String: Any?] {
            let list = try #require(m["inputs"] as? [[String: Any]])
            var byName: [String: Any?] = [:]
            for i in list {
                let name = try #require(i["name"] as? String)
                byName[(name as NSString).lastPathComponent] = i["country_database"].map { $0 is NSNull ? nil : $0 }
            }
            return byName
        }

        // One input, one database: named with its type and build time.
        let run = try CLI.veil(
            ["run", dir + "/a.log", "-o", dir + "/ra", "--geoip", db, "--k", "2", "--keys", dir + "/keys", "--quiet"])
        #expect(run.status == 0, "\(run)")
        let ra = try manifest(dir + "/ra/manifest.json")
        let named = try #require(try inputs(ra)["a.log"] as? [String: Any])
        #expect(named["database_type"] as? String == "veil-fixtures-Country")
        #expect(named["build_date"] as? String == "2026-11-28" && named["build_epoch"] as? Int == 1_795_824_000)
        #expect(
            ((ra["tables"] as? [String: Any])?["countries"] as? [String: Any])?["inputs_without_country_database"]
                as? Int == 0)
        // Without --geoip the inputs say nothing of countries.
        let plain = try CLI.veil(
            ["run", dir + "/b.log", "-o", dir + "/rb", "--k", "2", "--keys", dir + "/keys", "--quiet"])
        #expect(plain.status == 0, "\(plain)")
        let rb = try CLI.read(dir + "/rb/manifest.json")
        #expect(!String(decoding: rb, as: UTF8.self).contains("country"))

        // Merged: three inputs, two databases, one input without.
        let merge = try CLI.veil([
            "merge", dir + "/a.veilstate", dir + "/b.veilstate", dir + "/c.veilstate", "-o", dir + "/m.veilstate",
        ])
        #expect(merge.status == 0, "\(merge)")
        #expect(
            merge.stderrText.contains(
                "countries: 1 of 3 inputs had no country database (--geoip): their pageviews are in no country row"),
            "\(merge)")
        #expect(
            merge.stderrText.contains(
                "countries from 2 databases: GeoIP2-City database built 2026-11-28; veil-fixtures-Country database built 2026-11-28"
            ), "\(merge)")
        #expect(try CLI.read(dir + "/m.veilstate")[8] == 8)
        let mj = try CLI.veil([
            "merge", dir + "/a.veilstate", dir + "/b.veilstate", dir + "/c.veilstate", "-o", dir + "/m2.veilstate",
            "--json",
        ])
        #expect(mj.status == 0, "\(mj)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(mj.stdout)) as? [String: Any])
        #expect(summary["inputs_without_country_database"] as? Int == 1)
        let types = (summary["country_databases"] as? [[String: Any]])?.compactMap { $0["database_type"] as? String }
        #expect(types.map(Set.init) == ["veil-fixtures-Country", "GeoIP2-City"], "\(summary)")
        // A merge of states that all counted countries says nothing of them.
        let whole = try CLI.veil(["merge", dir + "/a.veilstate", dir + "/c.veilstate", "-o", dir + "/ac.veilstate"])
        #expect(whole.status == 0 && !whole.stderrText.contains("no country database"), "\(whole)")

        let report = try CLI.veil(["report", dir + "/m.veilstate", "-o", dir + "/rep", "--k", "2"])
        #expect(report.status == 0, "\(report)")
        #expect(report.stderrText.contains("countries: 1 of 3 inputs had no country database"), "\(report)")
        let rep = try manifest(dir + "/rep/manifest.json")
        let byName = try inputs(rep)
        #expect(byName.count == 3 && byName.keys.contains("b.log"))
        #expect(byName["b.log"].map { $0 == nil } == true, "b.log: \(String(describing: byName["b.log"]))")
        #expect((byName["c.log"] as? [String: Any])?["database_type"] as? String == "GeoIP2-City")
        #expect((byName["a.log"] as? [String: Any])?["database_type"] as? String == "veil-fixtures-Country")
        #expect(
            ((rep["tables"] as? [String: Any])?["countries"] as? [String: Any])?["inputs_without_country_database"]
                as? Int == 1)
    }

    @Test("IPinfo's flat records (country_code) are read too")
    func ipinfoLayout() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let db = try CountryDatabase(
            path: try Self.database(dir, ["--layout", "ipinfo", "--database-type", "ipinfo country_asn.mmdb"]))
        for (text, country) in Self.expected {
            // The flat layout has JP as the country of 203.0.113.0/24 and BR's neighbour
            // without one.
            #expect(db.countryCode(try Self.address(text)) == country, "\(text)")
        }
    }

    @Test("a missing or foreign --geoip file is an error naming it (exit 1), and nothing is written")
    func badDatabase() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        try CLI.write(
            Array("192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"\n".utf8),
            to: dir + "/a.log")
        let env = ["VEIL_KEYS": dir + "/keys"]
        let missing = try CLI.veil(
            ["run", dir + "/a.log", "-o", dir + "/out", "--geoip", dir + "/none.mmdb"], env: env)
        #expect(missing.status == 1 && missing.stderrText.contains("none.mmdb"), "\(missing)")
        let foreign = try CLI.veil(["run", dir + "/a.log", "-o", dir + "/out", "--geoip", dir + "/a.log"], env: env)
        #expect(foreign.status == 1 && foreign.stderrText.contains("not a MaxMind DB"), "\(foreign)")
        // Not a regular file (a device would be read for ever), and a database of networks'
        // owners, which places nothing.
        for (path, why) in [("/dev/zero", "not a regular file"), (dir, "not a regular file")] {
            let r = try CLI.veil(["run", dir + "/a.log", "-o", dir + "/out", "--geoip", path], env: env)
            #expect(r.status == 1 && r.stderrText.contains(why) && r.stderrText.contains(path), "\(r)")
        }
        let asn = try Self.database(dir, ["--database-type", "GeoLite2-ASN"], name: "asn.mmdb")
        let r = try CLI.veil(["run", dir + "/a.log", "-o", dir + "/out", "--geoip", asn], env: env)
        #expect(r.status == 1 && r.stderrText.contains("GeoLite2-ASN database has no countries"), "\(r)")
        #expect(!CLI.list(dir).contains("out"))
    }
}

/// A seeded generator, so that a failure repeats.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
