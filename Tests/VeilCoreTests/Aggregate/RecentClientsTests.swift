import Foundation
import Testing

@testable import VeilCore

/// The aggregator skips a sketch insert for a client the same cell's sketch took moments ago.
/// Whatever it skips, every traffic, status-code, not-found and bot cell's sketches must equal
/// the sketches of the exact sets of clients the cell saw.
@Suite("Recently counted clients: a skipped sketch insert never loses a client")
struct RecentClientsTests {
    @Test(
        "clients interleaved over hours, days and status codes: every cell's sketches are those of its exact client sets"
    )
    func exactSketches() throws {
        let ws = try StateTestWorkspace()
        var rng = StateTestRNG(seed: 0x4EC3)
        // 5000 clients, more than the memory has entries, so entries are replaced all the time;
        // each with requests across an hour, a midnight and several status codes, interleaved.
        let start = StateTestKit.time(2026, 11, 28, 22)
        var requests: [StateTestRequest] = []
        for n in 0..<5000 {
            let bot = n % 7 == 3
            let agent =
                bot ? StateTestKit.botAgents[n % 2] : StateTestKit.humanAgents[n % StateTestKit.humanAgents.count]
            // Addresses of 0..<750 are distinct; the agent keeps the others apart (IP+UA).
            let ip = StateTestKit.address(n % 750)
            for _ in 0..<rng.int(1...6) {
                let status = [200, 200, 304, 404, 500][rng.int(5)]
                var r = StateTestRequest(
                    ip: ip, userAgent: agent, time: start + Int64(rng.int(3 * 3600)),
                    kind: status == 404 ? .notFound : .page, path: status == 404 ? "/gone\(rng.int(3))" : "/p",
                    status: status, isBot: bot)
                r.bytes = 100
                requests.append(r)
            }
        }
        requests.sort { $0.time < $1.time }
        let path = try ws.write(requests.map(\.line), name: "clients.log")

        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(path: path, configuration: StateTestKit.combined, sink: &aggregator)
        var state = aggregator.finish()

        // The expected sets: each request's pseudonym, computed apart, in the cells it counts in.
        let keys = ws.pseudonymizer()
        var expected: [CellKey: (people: Set<UInt64>, others: Set<UInt64>)] = [:]
        let site = try #require(state.sites.intern("default", readOnly: true))
        for r in requests {
            let epoch = EpochID(granularity: .day, containing: r.time)
            let p = try keys.visitor(epoch: epoch, site: "default", cookie: nil, ip: r.ip, userAgent: r.userAgent)
            let day = r.time / 86_400
            var cells = [
                CellKey(table: .trafficHour, site: Int(site), bucket: r.time / 3600, dimension: 0),
                CellKey(table: .trafficDay, site: Int(site), bucket: day, dimension: 0),
                CellKey(
                    table: .statusCodes, site: Int(site), bucket: day,
                    dimension: Int(try #require(state.dims.intern(String(r.status), readOnly: true)))),
            ]
            if r.isBot {
                let name = r.userAgent == StateTestKit.googlebot ? BotName.googlebot : .curl
                cells.append(
                    CellKey(
                        table: .bots, site: Int(site), bucket: day,
                        dimension: Int(try #require(state.dims.intern(name.rawValue, readOnly: true)))))
            }
            if r.status == 404 {
                cells.append(
                    CellKey(
                        table: .notFound, site: Int(site), bucket: day,
                        dimension: Int(try #require(state.dims.intern(r.path, readOnly: true)))))
            }
            for key in cells {
                if r.isBot {
                    expected[key, default: ([], [])].others.insert(p.lo)
                } else {
                    expected[key, default: ([], [])].people.insert(p.lo)
                }
            }
        }
        #expect(expected.count == 23, "3 hours, 2 days, 4 status codes, 3 not-found pages and 2 bots on each day")
        let counted = state.cellKeys.filter {
            [.trafficHour, .trafficDay, .statusCodes, .notFound, .bots].contains($0.table)
        }
        #expect(
            Set(counted) == Set(expected.keys), "the traffic, status, not-found and bot cells are the expected ones")
        for (key, sets) in expected {
            let i = state.cell(key)
            let people = StateTestKit.sketch(sets.people), others = StateTestKit.sketch(sets.others)
            #expect(state.cells[i].visitors == people, "\(key): \(sets.people.count) people")
            #expect(state.cells[i].clients == others, "\(key): \(sets.others.count) other clients")
        }
    }
}
