import Testing

@testable import VeilCore

/// `referrers.csv` counts visits by the referrer host of their first pageview, beside the
/// pageviews of every referred request.
@Suite("Referrers: visits by the host that brought them")
struct ReferrerVisitTests {
    static let day = StateTestKit.time(2026, 11, 28, 9)

    /// A pageview of `path` by visitor `n` (a distinct address each), `minutes` into the day,
    /// with `referrer` as its Referer (nil: `-`).
    static func view(_ path: String, visitor n: Int, minutes: Int64 = 0, from referrer: String? = nil) -> String {
        var r = StateTestRequest(
            ip: StateTestKit.address(n), userAgent: StateTestKit.firefox, time: day + minutes * 60, path: path)
        r.referrer = referrer
        return r.line
    }

    static func referrers(_ lines: [String], k: Int) throws -> StateTestTable {
        let ws = try StateTestWorkspace()
        return try StateTestKit.table(
            StateTestKit.release(try ws.aggregate(lines, name: "ref.log").state, k: k), "referrers")
    }

    static func rows(_ t: StateTestTable) -> [String: [String]] {
        StateTestKit.visitColumns(t, key: "referrer_host")
    }

    @Test("a visit counts under its first pageview's referrer host; internal links bring pageviews, not visits")
    func visitsByEntryReferrer() throws {
        let lines = [
            // From a search engine, then a link of the site: one visit from the engine.
            Self.view("/a", visitor: 0, from: "https://www.google.com/search?q=x"),
            Self.view("/b", visitor: 0, minutes: 1, from: "https://www.example.com/a"),
            // Typed in, then a link of the site: a visit with no referrer.
            Self.view("/a", visitor: 1), Self.view("/b", visitor: 1, minutes: 1, from: "https://www.example.com/a"),
            // A bounce from a forum; back from the engine after the session timeout.
            Self.view("/a", visitor: 2, from: "https://news.ycombinator.com/item?id=1"),
            Self.view("/c", visitor: 2, minutes: 50, from: "https://www.google.com/"),
            // Its first pageview logged second: the earlier one (from the engine) enters.
            Self.view("/b", visitor: 3, minutes: 4, from: "https://www.example.com/a"),
            Self.view("/a", visitor: 3, minutes: 2, from: "https://WWW.Google.com:443/"),
        ]
        let t = try Self.referrers(lines, k: 1)
        #expect(
            t.header == [
                "site", "date", "referrer_host", "pageviews", "visitors", "visits", "bounces", "bounce_rate",
            ])
        #expect(
            Self.rows(t) == [
                "www.google.com": ["3", "3", "3", "1", "0.3333"],
                "www.example.com": ["3", "3", "0", "0", ""],
                "news.ycombinator.com": ["1", "1", "1", "1", "1.0000"],
            ], "\(t)")
        // Below k: the folded row sums its rows' visits.
        let folded = try Self.referrers(lines, k: 2)
        #expect(
            Self.rows(folded) == [
                "www.google.com": ["3", "3", "3", "1", "0.3333"],
                "www.example.com": ["3", "3", "0", "0", ""],
            ], "\(folded)")
        let other = try Self.referrers(lines, k: 3)
        #expect(Self.rows(other)["(other)"] == nil, "one visitor alone does not make an (other) row")
        let all = try Self.referrers(lines + [Self.view("/z", visitor: 9, from: "https://lobste.rs/")], k: 2)
        #expect(Self.rows(all)["(other)"] == ["2", "2", "2", "2", "1.0000"], "\(all)")
    }

    @Test("first pageviews in one second: a referred one enters before one without, then the smaller host")
    func entryReferrerTies() throws {
        let google = Self.view("/a", visitor: 0, from: "https://www.google.com/")
        let bing = Self.view("/a", visitor: 0, from: "https://www.bing.com/")
        let direct = Self.view("/a", visitor: 0)
        for lines in [[google, bing], [bing, google], [direct, google, bing], [google, direct, bing]] {
            let visits = Self.rows(try Self.referrers(lines, k: 1)).mapValues { $0[2] }
            #expect(visits == ["www.bing.com": "1", "www.google.com": "0"], "\(lines)")
        }
        let ws = try StateTestWorkspace()
        let a = try ws.aggregate([direct, google], name: "1.log").state
        let b = try ws.aggregate([bing], name: "2.log").state
        for (x, y) in [(a, b), (b, a)] {
            var merged = x
            try merged.merge(y)
            let t = try StateTestKit.table(StateTestKit.release(merged, k: 1), "referrers")
            #expect(Self.rows(t).mapValues { $0[2] } == ["www.bing.com": "1", "www.google.com": "0"])
        }
    }
}
