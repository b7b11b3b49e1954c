import Foundation
import Testing

@testable import VeilCore

/// The aggregator keys its pseudonym cache by a number per distinct user agent (the user
/// agent's entry in its user-agent table) instead of the user agent itself. A number must
/// never stand for two user agents, also after the table was emptied and its entries numbered
/// again from zero.
@Suite("Numbered user agents: visitor pseudonyms as if the user agent were written out")
struct NumberedAgentsTests {
    @Test(
        "visitors equal the PRF of (address, user agent), with the user-agent table emptied every few agents",
        arguments: [3, 8, 200_000])
    func visitorsAcrossEmptiedTables(limit: Int) throws {
        let ws = try StateTestWorkspace()
        var rng = StateTestRNG(seed: 0xA6E7)
        let agents = (0..<24).map {
            "Mozilla/5.0 (X11; Linux x86_64; rv:\(100 + $0).0) Gecko/20100101 Firefox/\(100 + $0).0"
        }
        let addresses = (0..<4).map { StateTestKit.address($0) }
        var time = StateTestKit.time(2026, 11, 28, 9)
        var lines: [String] = []
        var pairs = Set<[String]>()
        for _ in 0..<600 {
            time += Int64(rng.int(0...20))
            // Agents come back in a new order after the table was emptied.
            let agent = agents[rng.int(agents.count)], ip = addresses[rng.int(addresses.count)]
            pairs.insert([ip, agent])
            lines.append(
                "\(ip) - - [\(StateTestKit.clf(time))] \"GET /page\(rng.int(3)) HTTP/1.1\" 200 100 \"-\" \"\(agent)\"")
        }
        let path = try ws.write(lines, name: "agents.log")
        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        aggregator.uaCacheLimit = limit
        _ = try Ingest.run(path: path, configuration: StateTestKit.combined, sink: &aggregator)
        let state = aggregator.finish()

        let reference = ws.pseudonymizer()
        let epoch = reference.epochID(forTimestamp: time)
        let expected = Set(
            try pairs.map { pair in
                try reference.visitor(epoch: epoch, site: "default", cookie: nil, ip: pair[0], userAgent: pair[1])
            })
        #expect(state.visitorCount == pairs.count)
        #expect(Set(state.visitorKeys.map(\.pseudonym)) == expected)
    }
}
