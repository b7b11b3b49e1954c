import Foundation
import Testing

/// What veil does at its limits: counts past `Int64.max`, more sites than a state holds.
@Suite struct LimitsCLITests {
    /// The CSV files of a release, by name (the manifest left out: it names the run).
    static func tables(_ dir: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for f in CLI.list(dir) where f != "manifest.json" { files[f] = try CLI.read(dir + "/" + f) }
        return files
    }

    @Test("a byte count past Int64.max stops there instead of crashing, on any number of threads")
    func bytesSaturate() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        let path = dir + "/big.log"
        var text = ""
        for i in 10..<20 {
            text +=
                "192.0.2.\(i) - - [28/Nov/2026:12:14:\(i) +0000] \"GET /a HTTP/1.1\" 200 999999999999999999 \"-\" \"curl/8.4.0\"\n"
        }
        try CLI.write(Array(text.utf8), to: path)
        let env = ["VEIL_KEYS": dir + "/keys"]
        var outputs: [[String: [UInt8]]] = []
        for threads in ["1", "2", "3"] {
            let r = try CLI.veil(["run", path, "-o", dir + "/o" + threads, "--k", "2", "--threads", threads], env: env)
            #expect(r.status == 0, "\(threads) threads: \(r)")
            outputs.append(try Self.tables(dir + "/o" + threads))
        }
        #expect(outputs[0] == outputs[1] && outputs[0] == outputs[2])
        let daily = String(decoding: outputs[0]["traffic_daily.csv"] ?? [], as: UTF8.self)
        #expect(daily.contains(",9223372036854775807,"), "\(daily)")
    }

    @Test("more sites than a state holds fold into (other) alike on one thread and on blocks of lines")
    func sitesCapAnyThreads() throws {
        let dir = try CLI.tempDir()
        defer { CLI.remove(dir) }
        // A forward proxy's log: a CONNECT to a host of its own on each line.
        let path = dir + "/proxy.log"
        var text = ""
        for i in 0..<34_000 {
            text +=
                "\(1_795_864_454 + i % 3600).000      5 10.0.0.\(i % 200 + 1) TCP_TUNNEL/200 100 CONNECT h\(i).example.com:443 - HIER_DIRECT/203.0.113.5 -\n"
        }
        try CLI.write(Array(text.utf8), to: path)
        let env = ["VEIL_KEYS": dir + "/keys"]
        var outputs: [[String: [UInt8]]] = []
        for threads in ["1", "3"] {
            let r = try CLI.veil(
                ["run", path, "-o", dir + "/o" + threads, "--k", "2", "--threads", threads, "--quiet"], env: env,
                timeout: 300)
            #expect(r.status == 0, "\(threads) threads: \(r)")
            outputs.append(try Self.tables(dir + "/o" + threads))
        }
        #expect(outputs[0] == outputs[1])
        let daily = String(decoding: outputs[0]["traffic_daily.csv"] ?? [], as: UTF8.self)
        #expect(daily.contains("(other),2026-11-28,"), "the sites past the cap are one row")
    }
}
