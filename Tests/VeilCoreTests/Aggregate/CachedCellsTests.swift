import Foundation
import Testing

@testable import VeilCore

/// The aggregator remembers the cells of the last record's site and day (traffic, status codes,
/// and per user-agent class the browser, OS and device cells). Records that switch sites, days
/// and hours all the time must still land in their own cells.
@Suite("Cached cells: records switching sites, days and hours land in their own cells")
struct CachedCellsTests {
    @Test(
        "status-code, bot, browser, OS and device cells equal counts made apart, over 3 sites, 2 days and 7 user agents"
    )
    func countsPerSiteAndDay() throws {
        let ws = try StateTestWorkspace()
        var rng = StateTestRNG(seed: 0xCE11)
        let start = StateTestKit.time(2026, 11, 28, 21)
        let sites = ["a.example", "b.example", "c.example"]
        // Statuses whose low four bits collide (200 and 504; 404 and 500) share a slot of
        // the status-cell cache.
        let statuses = [200, 200, 304, 404, 500, 504, 301, 302, 206]
        let agents = StateTestKit.humanAgents + StateTestKit.botAgents
        var lines: [String] = []
        var expectedStatus: [String: Int64] = [:]  // "site day status" → requests
        var expectedPageviews: [String: Int64] = [:]  // "site day agentIndex" → pageviews
        var expectedBots: [String: Int64] = [:]  // "site day bot name" → requests
        let botNames = [BotName.googlebot, .curl]
        #expect(StateTestKit.botAgents.count == botNames.count)
        var time = start
        for n in 0..<3000 {
            // Mostly in order, with runs on one site and jumps between sites and across midnight.
            time += Int64(rng.int(0...9))
            let site = sites[n % 7 < 4 ? 0 : rng.int(sites.count)]
            let status = statuses[rng.int(statuses.count)]
            let agent = rng.int(agents.count)
            let t = time - Int64(rng.int(0...2) == 0 ? rng.int(0...4000) : 0)  // some late lines
            let ip = StateTestKit.address(rng.int(300))
            let path = "/page\(rng.int(5))"
            lines.append(
                "\(site):443 \(ip) - - [\(StateTestKit.clf(t))] \"GET \(path) HTTP/1.1\" \(status) 100 \"-\" \"\(agents[agent])\""
            )
            let day = t / 86_400
            expectedStatus["\(site) \(day) \(status)", default: 0] += 1
            let human = agent < StateTestKit.humanAgents.count
            if human && [200, 304, 206].contains(status) {
                expectedPageviews["\(site) \(day) \(agent)", default: 0] += 1
            }
            if !human {
                expectedBots[
                    "\(site) \(day) \(botNames[agent - StateTestKit.humanAgents.count].rawValue)", default: 0] +=
                    1
            }
        }
        #expect(Set(expectedStatus.keys.map { $0.split(separator: " ")[1] }).count == 2, "the log spans two days")
        let path = try ws.write(lines, name: "cells.log")
        var configuration = IngestConfiguration()
        configuration.format = .named("vhost_combined")
        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(path: path, configuration: configuration, sink: &aggregator)
        let state = aggregator.finish()

        var status: [String: Int64] = [:], bots: [String: Int64] = [:]
        var browsers: [String: Int64] = [:], systems: [String: Int64] = [:], devices: [String: Int64] = [:]
        for (i, key) in state.cellKeys.enumerated() {
            let name =
                "\(state.sites.string(UInt32(key.site))) \(key.bucket) \(state.dims.string(UInt32(key.dimension)))"
            switch key.table {
            case .statusCodes: status[name] = state.cells[i].requests
            case .bots:
                bots[name] = state.cells[i].requests
                #expect(state.cells[i].bytes == 100 * state.cells[i].requests && state.cells[i].pageviews == 0)
            case .browsers: browsers[name] = state.cells[i].pageviews
            case .operatingSystems: systems[name] = state.cells[i].pageviews
            case .devices: devices[name] = state.cells[i].pageviews
            default: break
            }
        }
        #expect(status == expectedStatus)
        #expect(bots.count == 12, "2 bots on 3 sites and 2 days")
        #expect(bots == expectedBots)

        // The expected pageviews per browser, OS and device label of each human agent.
        let classifier = UserAgentClassifier()
        var expectedBrowsers: [String: Int64] = [:], expectedSystems: [String: Int64] = [:]
        var expectedDevices: [String: Int64] = [:]
        for (key, count) in expectedPageviews {
            let parts = key.split(separator: " ")
            let cls = Array(agents[Int(parts[2])!].utf8).withUnsafeBufferPointer { classifier.classify($0) }
            let prefix = "\(parts[0]) \(parts[1]) "
            let browser = cls.browserMajor > 0 ? "\(cls.browser.label) \(cls.browserMajor)" : cls.browser.label
            expectedBrowsers[prefix + browser, default: 0] += count
            expectedSystems[prefix + cls.os.label, default: 0] += count
            expectedDevices[prefix + cls.device.label, default: 0] += count
        }
        #expect(expectedBrowsers.count > 12, "several browsers on each site and day")
        #expect(browsers == expectedBrowsers)
        #expect(systems == expectedSystems)
        #expect(devices == expectedDevices)
    }

    @Test(
        "traffic day cells (counts and sketches) equal those of each local day's records, in zones with whole-hour, DST and half-hour offsets",
        arguments: ["UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"])
    func dayCellsPerZone(zone: String) throws {
        let ws = try StateTestWorkspace()
        var rng = StateTestRNG(seed: 0xDA75)
        // 30 hours across New York's fall-back (2026-11-01T06:00Z), some lines late.
        let start = StateTestKit.time(2026, 10, 31, 20)
        let tz = try #require(TimeZone(identifier: zone))
        // The workspace has keys from 2026-11-20 on: keys for the days of this log.
        for day in 30...32 {
            let epoch = EpochID(granularity: .day, containing: StateTestKit.time(2026, 10, 1) + Int64(day) * 86_400)
            let file = ws.store.path + "/" + epoch.description + ".key"
            let bytes = (0..<KeyStore.keyByteCount).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            #expect(
                FileManager.default.createFile(
                    atPath: file, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
        }
        var requests: [StateTestRequest] = []
        for n in 0..<4000 {
            let bot = n % 9 == 4
            var r = StateTestRequest(
                ip: StateTestKit.address(rng.int(400)),
                userAgent: bot
                    ? StateTestKit.googlebot : StateTestKit.humanAgents[rng.int(StateTestKit.humanAgents.count)],
                time: start + Int64(n) * 27 - Int64(rng.chance(10) ? rng.int(0...5000) : 0),
                path: "/p\(rng.int(6))", status: [200, 200, 304, 404, 500, 302][rng.int(6)], isBot: bot)
            r.bytes = rng.int(1...9000)
            requests.append(r)
        }
        var aggregation = AggregationConfiguration()
        aggregation.timeZone = zone
        var aggregator = try Aggregator(configuration: aggregation, pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(
            path: try ws.write(requests.map(\.line), name: "days.log"), configuration: StateTestKit.combined,
            sink: &aggregator)
        var state = aggregator.finish()

        struct Day {
            var requests: Int64 = 0, bytes: Int64 = 0, bots: Int64 = 0, errors: Int64 = 0;
            var people = Set<UInt64>(), others = Set<UInt64>()
        }
        var expected: [Int64: Day] = [:]
        let keys = ws.pseudonymizer()
        for r in requests {
            let local = r.time + Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(r.time))))
            let day = ISOTime.floorDiv(local, 86_400)
            let p = try keys.visitor(
                epoch: EpochID(granularity: .day, containing: r.time), site: "default", cookie: nil, ip: r.ip,
                userAgent: r.userAgent)
            expected[day, default: Day()].requests += 1
            expected[day, default: Day()].bytes += Int64(r.bytes)
            if r.isBot { expected[day, default: Day()].bots += 1 }
            if r.status >= 400 { expected[day, default: Day()].errors += 1 }
            if r.isBot {
                expected[day, default: Day()].others.insert(p.lo)
            } else {
                expected[day, default: Day()].people.insert(p.lo)
            }
        }
        #expect(expected.count >= 2, "the log spans local days")
        let site = try #require(state.sites.intern("default", readOnly: true))
        let days = state.cellKeys.filter { $0.table == .trafficDay }.map(\.bucket)
        #expect(Set(days) == Set(expected.keys))
        for (day, e) in expected {
            let c = state.cells[state.cell(CellKey(table: .trafficDay, site: Int(site), bucket: day, dimension: 0))]
            #expect(c.requests == e.requests, "\(zone) day \(day)")
            #expect(c.bytes == e.bytes)
            #expect(c.botRequests == e.bots)
            #expect(c.statusClasses.3 + c.statusClasses.4 == e.errors)
            let people = StateTestKit.sketch(e.people), others = StateTestKit.sketch(e.others)
            #expect(c.visitors == people, "\(zone) day \(day): \(e.people.count) people")
            #expect(c.clients == others, "\(zone) day \(day): \(e.others.count) other clients")
        }
    }
}
