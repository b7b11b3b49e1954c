import Testing

@testable import VeilCore

/// `bots.csv`: bot requests by bot name, thresholded on distinct clients.
@Suite("Bots table")
struct BotsTableTests {
    static let gmailProxy = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    static let pythonRequests = "python-requests/2.31.0"

    /// One request of `agent` from address `n` on 2026-11-28 (or the day after), `minute`
    /// minutes after 10:00Z.
    static func hit(
        _ n: Int, _ agent: String, minute: Int64, status: Int = 200, bytes: Int, nextDay: Bool = false,
        path: String = "/"
    ) -> StateTestRequest {
        let t0 = StateTestKit.time(2026, 11, nextDay ? 29 : 28, 10)
        return StateTestRequest(
            ip: StateTestKit.address(n), userAgent: agent, time: t0 + minute * 60, path: path, status: status,
            bytes: bytes, isBot: true)
    }

    /// Day 1: Googlebot from 4 addresses (8 requests), curl from 1 (5), python-requests from 2
    /// (2), an empty user agent from 1 (1); humans and a mail proxy, which count in no bot row.
    /// Day 2: Googlebot from 2 addresses (2 requests).
    static var log: [StateTestRequest] {
        var log: [StateTestRequest] = []
        for n in 0..<4 {
            log.append(hit(n, StateTestKit.googlebot, minute: Int64(n), bytes: 1000))
            log.append(hit(n, StateTestKit.googlebot, minute: Int64(n) + 10, status: 404, bytes: 100, path: "/gone"))
        }
        for m in 0..<5 { log.append(hit(10, StateTestKit.curl, minute: 20 + Int64(m), bytes: 7)) }
        for n in 11..<13 { log.append(hit(n, Self.pythonRequests, minute: 30, status: 301, bytes: 20)) }
        log.append(hit(13, "-", minute: 40, status: 503, bytes: 3))
        for n in 20..<25 {
            var r = hit(n, StateTestKit.firefox, minute: 50, bytes: 900)
            r.isBot = false
            log.append(r)
        }
        for m in 0..<3 {
            var r = hit(30, Self.gmailProxy, minute: 55 + Int64(m), bytes: 43, path: "/logo.png")
            r.isBot = false
            log.append(r)
        }
        for n in 0..<2 { log.append(hit(n, StateTestKit.googlebot, minute: 0, bytes: 500, nextDay: true)) }
        return log.sorted { $0.time < $1.time }
    }

    @Test("a name sent by k clients has its row; the rest fold into (other); humans and mail proxies count in none")
    func threshold() throws {
        let ws = try StateTestWorkspace()
        let state = try ws.aggregate(Self.log, name: "bots.log")
        let tables = try StateTestKit.release(state, k: 3)
        let bots = try StateTestKit.table(tables, "bots")
        #expect(
            bots.header == [
                "site", "date", "bot", "requests", "bytes", "status_1xx", "status_2xx", "status_3xx", "status_4xx",
                "status_5xx",
            ])
        #expect(bots.thresholdOn == "clients")
        // Day 1: curl (1 client), python-requests (2) and no-user-agent (1) are below k = 3 and
        // fold into (other), which has 4 clients; day 2's Googlebot (2 clients) folds into an
        // (other) of 2: nothing published.
        #expect(
            bots.rows == [
                ["default", "2026-11-28", "googlebot", "8", "4400", "0", "4", "0", "4", "0"],
                ["default", "2026-11-28", "(other)", "8", "78", "0", "5", "2", "0", "1"],
            ])
        #expect(bots.suppressed == 4 && bots.folded == 3)
        // The day's rows add up to its bot requests, which count neither the people nor the
        // mail proxy.
        let daily = try StateTestKit.table(tables, "traffic_daily")
        let botColumn = try #require(daily.header.firstIndex(of: "bot_requests"))
        #expect(daily.rows.first?[botColumn] == "16")

        // k = 1: every name has its row, by requests (ties by name), day by day.
        let all = try StateTestKit.table(StateTestKit.release(state, k: 1), "bots")
        #expect(
            all.rows.map { Array($0[1...4]) } == [
                ["2026-11-28", "googlebot", "8", "4400"],
                ["2026-11-28", "curl", "5", "35"],
                ["2026-11-28", "python-requests", "2", "40"],
                ["2026-11-28", "no-user-agent", "1", "3"],
                ["2026-11-29", "googlebot", "2", "1000"],
            ])
        #expect(all.suppressed == 0)
    }

    @Test("shards merged give the whole log's bots table; a state file keeps it")
    func mergeAndCodec() throws {
        let ws = try StateTestWorkspace()
        let log = Self.log
        let whole = try ws.aggregate(log, name: "whole.log")
        // Alternate lines to two shards: every name and client is split.
        let a = try ws.aggregate(log.enumerated().filter { $0.offset % 2 == 0 }.map(\.element), name: "a.log")
        let b = try ws.aggregate(log.enumerated().filter { $0.offset % 2 == 1 }.map(\.element), name: "b.log")
        let merged = try StateTestKit.merged(b, a)
        let expected = try StateTestKit.table(StateTestKit.release(whole, k: 2), "bots")
        #expect(expected.rows.count == 4, "\(expected.rows)")
        #expect(try StateTestKit.table(StateTestKit.release(merged, k: 2), "bots").rows == expected.rows)
        let decoded = try StateCodec.decode(StateCodec.encode(merged), file: "m.veilstate")
        #expect(try StateTestKit.table(StateTestKit.release(decoded, k: 2), "bots").rows == expected.rows)
    }
}
