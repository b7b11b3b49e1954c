import Foundation
import Testing

/// Logs wrapped in a container runtime's or syslog's headers (`LineEnvelope`): read after the
/// headers, with the rollups of the same log unwrapped.
@Suite struct LineEnvelopeCLITests {
    /// `log`'s lines each made a line of the envelope by `wrap(i, line)`, with `extra(i)` (a line
    /// of another stream or program) before every 50th.
    static func wrap(_ log: [UInt8], _ wrap: (Int, ArraySlice<UInt8>) -> [UInt8], extra: (Int) -> String) -> [UInt8] {
        var out: [UInt8] = []
        for (i, line) in log.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
            .enumerated()
        {
            if i % 50 == 0 { out += Array((extra(i) + "\n").utf8) }
            out += wrap(i, line) + [UInt8(ascii: "\n")]
        }
        return out
    }

    /// `line` as Docker's `json-file` driver writes it: a JSON string as Go escapes one (`<`,
    /// `>` and `&` too), its newline inside.
    static func docker(_ line: ArraySlice<UInt8>, stream: String = "stdout") -> [UInt8] {
        var out = Array(#"{"log":""#.utf8)
        let hex = Array("0123456789abcdef".utf8)
        for b in line + [0x0A] {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0x0A: out += Array(#"\n"#.utf8)
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), 0..<0x20:
                out += Array(#"\u00"#.utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: out.append(b)
            }
        }
        return out + Array(#"","stream":"\#(stream)","time":"2026-11-28T12:14:14.123456789Z"}"#.utf8)
    }

    @Test(
        "CRI, syslog and Docker lines give the rollups of the log they wrap, detected or named, on one and two threads",
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
                    log,
                    { Array("2026-11-28T12:14:\(String(format: "%02d", $0 % 60)).123456789Z stdout F ".utf8) + $1 },
                    extra: { "2026-11-28T12:14:14.5Z stderr F 2026/11/28 12:14:14 [error] 7#7: *\($0) open() failed" })
            ),
            (
                "syslog",
                Self.wrap(
                    log, { Array("<190>Nov 28 12:14:14 web1 app[\($0 % 7)]: ".utf8) + $1 },
                    extra: { "<86>Nov 28 12:14:14 web1 CRON[\($0)]: (root) CMD (run-parts)" })
            ),
            (
                "docker",
                Self.wrap(
                    log, { Self.docker($1) },
                    extra: {
                        String(
                            decoding: Self.docker(
                                Array("2026/11/28 [error] 7#7: *\($0) open() failed".utf8)[...], stream: "stderr"),
                            as: UTF8.self)
                    })
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
        // 18 tables, and Caddy's serving times (response_times, page_response_times).
        #expect(plain.count == (format == "json-caddy" ? 21 : 19), "\(plain.keys.sorted())")
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
            #expect(report["envelope"] as? String == (kind == "syslog" ? "syslog (app)" : kind), "\(report)")
            #expect(report["format"] as? String == format)
            #expect(report["records"] as? Int == baseReport["records"] as? Int)
            #expect(report["rejected"] as? Int == baseReport["rejected"] as? Int)
            // The other stream's or program's lines: skipped, not rejected.
            #expect(report["skipped"] as? Int == (baseReport["skipped"] as? Int ?? 0) + 120, "\(report)")
            let text = try CLI.veil(["inspect", path])
            #expect(
                text.stdoutText.contains(
                    "  envelope     \(kind == "syslog" ? "syslog (app)" : kind + ":")"), "\(text)")
        }
        #expect(baseReport["envelope"] == nil)
    }

    @Test("veil prints no identifier of a wrapped log: inspect, run, strict runs and a damaged copy")
    func wrappedOutputLeaksNothing() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let keys = dir + "/keys"
        try #require(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        let g = try CLI.generate(
            format: "combined_cookie", lines: 1_500, seed: 23,
            extra: ["--malformed-share", "0.05", "--email-share", "0.2", "--cookie-share", "0.9"], in: dir)
        let ids = try g.identifierList()
        let log = try CLI.read(g.log)
        // Positive control: every long enough identifier is in the log, and in its wrapped copies.
        let findable = ids.filter { $0.value.utf8.count >= 4 }
        #expect(CLI.leakedIdentifiers(in: log, identifiers: ids).count == findable.count)
        let wrapped = [
            ("cri", Self.wrap(log, { Array("2026-11-28T12:14:14.5Z stdout F ".utf8) + $1 }, extra: { _ in "" })),
            (
                "syslog",
                Self.wrap(log, { Array("<190>Nov 28 12:14:14 web1 app[\($0 % 7)]: ".utf8) + $1 }, extra: { _ in "" })
            ),
            ("docker", Self.wrap(log, { Self.docker($1) }, extra: { _ in "" })),
        ]
        var checked = 0
        for (kind, bytes) in wrapped {
            let path = dir + "/\(kind).log"
            try CLI.write(bytes, to: path)
            let gz = dir + "/\(kind).log.gz"
            let zipped = try CLI.run(try CLI.tool("gzip"), ["-c", "-n"], stdin: bytes)
            try #require(zipped.status == 0, "gzip: \(zipped)")
            try CLI.write(Array(zipped.stdout[..<(zipped.stdout.count * 2 / 3)]), to: gz)
            #expect(
                CLI.leakedIdentifiers(in: bytes, identifiers: ids).count >= findable.count * 9 / 10,
                "\(kind): the wrapped log lost its identifiers")
            for args in [
                ["inspect", path], ["inspect", "--json", path], ["inspect", gz],
                ["run", path, "--keys", keys, "-o", dir + "/out-\(kind)"],
                ["run", path, "--keys", keys, "-o", dir + "/json-\(kind)", "--json", "--threads", "2"],
                ["run", path, "--strict", "--keys", keys, "-o", dir + "/strict-\(kind)"],
                ["run", path, gz, "--skip-bad-files", "--keys", keys, "-o", dir + "/skip-\(kind)"],
            ] {
                let r = try CLI.veil(args)
                #expect(!r.stdout.isEmpty || !r.stderr.isEmpty, "\(kind) \(args[0]): no output at all")
                let leaks = CLI.leakedIdentifiers(in: r.stdout + r.stderr, identifiers: ids)
                #expect(leaks.isEmpty, "\(kind): veil \(args.joined(separator: " ")) printed \(leaks.prefix(5))")
                checked += 1
            }
            // The rejects were reported (by line number) and the envelope named.
            let text = try CLI.veil(["inspect", path])
            #expect(text.stdoutText.contains("(lines ") && text.stdoutText.contains("envelope"), "\(text)")
        }
        #expect(checked == 21)
    }

    @Test("a container log that starts with many stderr lines (a pod starting) is read on until its own lines decide")
    func stderrFirst() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let g = try CLI.generate(format: "combined_cookie", lines: 500, seed: 5, in: dir)
        var bytes: [UInt8] = []
        for i in 0..<200 {
            bytes += Array("2026-11-28T00:00:00.\(i)Z stderr F I1128 00:00:00.0 7 main.go:205] \"starting\"\n".utf8)
        }
        bytes += Self.wrap(
            try CLI.read(g.log), { Array("2026-11-28T12:14:14.1Z stdout F ".utf8) + $1 },
            extra: { _ in "2026-11-28T12:14:14.5Z stderr F x" })
        let path = dir + "/pod.log"
        try CLI.write(bytes, to: path)
        let r = try CLI.veil(["inspect", "--json", path])
        let report = try #require((try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]])?.first)
        let plain = try #require(
            (try JSONSerialization.jsonObject(with: Data(try CLI.veil(["inspect", "--json", g.log]).stdout))
                as? [[String: Any]])?.first)
        #expect(report["format"] as? String == "combined_cookie" && report["envelope"] as? String == "cri", "\(report)")
        #expect(report["records"] as? Int == plain["records"] as? Int)
        #expect(report["skipped"] as? Int == 210)
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
