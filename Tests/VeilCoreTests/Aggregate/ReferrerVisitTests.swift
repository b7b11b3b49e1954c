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

    @Test("a site's own host is internal navigation: not listed, not folded, its visits under no referrer")
    func ownHostIsNotAReferrer() throws {
        let lines = [
            // From the engine, then the site's own links (with and without `www.`, any case).
            Self.view("/a", visitor: 0, from: "https://www.google.com/"),
            Self.view("/b", visitor: 0, minutes: 1, from: "https://www.example.com/a"),
            Self.view("/c", visitor: 0, minutes: 2, from: "https://Example.COM:443/b"),
            // Back through an own link after the session timeout: a visit under no referrer.
            Self.view("/d", visitor: 1), Self.view("/e", visitor: 1, minutes: 45, from: "https://example.com/d"),
            // Another host of the same domain is a referrer like any other.
            Self.view("/a", visitor: 2, from: "https://blog.example.com/post"),
        ]
        func referrers(site: String, k: Int) throws -> StateTestTable {
            var aggregation = AggregationConfiguration()
            aggregation.defaultSite = site
            let ws = try StateTestWorkspace()
            let s = try ws.aggregate(lines, name: "own.log", aggregation: aggregation).state
            return try StateTestKit.table(StateTestKit.release(s, k: k), "referrers")
        }
        for site in ["www.example.com", "example.com", "WWW.Example.com"] {
            let t = try referrers(site: site, k: 1)
            #expect(
                Self.rows(t) == [
                    "www.google.com": ["1", "1", "1", "0", "0.0000"],
                    "blog.example.com": ["1", "1", "1", "1", "1.0000"],
                ], "\(site): \(t)")
            #expect(t.suppressed == 0 && t.folded == 0, "\(site): \(t)")
            // Below k, the own rows are not folded into `(other)` either, nor counted as
            // suppressed: only the two referrers' visitors, too few for k = 3.
            let few = try referrers(site: site, k: 3)
            #expect(Self.rows(few).isEmpty && few.suppressed == 2 && few.folded == 0, "\(site): \(few)")
        }
        // A site named otherwise (the default `default`) has no own host: every host is listed.
        let named = Self.rows(try referrers(site: "default", k: 1))
        #expect(named["www.example.com"] == ["1", "1", "0", "0", ""])
        #expect(named["example.com"] == ["2", "2", "1", "1", "1.0000"])
        #expect(OwnReferrers.ownHosts("www.example.com") == ["www.example.com", "example.com"])
        #expect(OwnReferrers.ownHosts("Example.com") == ["example.com", "www.example.com"])
        #expect(OwnReferrers.ownHosts("(other)").isEmpty)
        // As a host field is read: a port and a final dot dropped, ASCII letters lower-cased only.
        #expect(OwnReferrers.ownHosts("WWW.Example.com.:8080") == ["www.example.com", "example.com"])
        #expect(OwnReferrers.ownHosts("BÜCHER.de") == ["bÜcher.de", "www.bÜcher.de"])
        for site in ["Example.COM.", "www.example.com:443"] {
            #expect(Self.rows(try referrers(site: site, k: 1))["www.example.com"] == nil, "\(site)")
        }
    }

    @Test("a site named by configuration (`--site`) is read as host fields are: one site, one set of pseudonyms")
    func configuredSiteIsCanonical() throws {
        let lines = [
            Self.view("/a", visitor: 0), Self.view("/b", visitor: 1, minutes: 3, from: "https://www.google.com/"),
        ]
        let ws = try StateTestWorkspace()
        func state(_ site: String) throws -> AggregateState {
            var aggregation = AggregationConfiguration()
            aggregation.defaultSite = site
            return try ws.aggregate(lines, name: "site.log", aggregation: aggregation).state
        }
        let plain = try state("www.example.com")
        #expect(plain.sites.strings.contains("www.example.com"))
        for typed in ["WWW.Example.COM", "www.example.com.", "www.example.com:8080"] {
            let s = try state(typed)
            #expect(s.sites.strings == plain.sites.strings, "\(typed)")
            // The same bytes: the visitors' pseudonyms, keyed by the site's name, are the same.
            #expect(StateCodec.encode(s) == StateCodec.encode(plain), "\(typed)")
        }
        #expect(try state("www.example.org").sites.strings != plain.sites.strings)
    }

    @Test("the differentially private referrers table has no partition of a site's own host")
    func ownHostIsNotADPReferrer() throws {
        var aggregation = AggregationConfiguration()
        aggregation.defaultSite = "www.example.com"
        var lines: [String] = []
        for n in 0..<6 {
            lines.append(Self.view("/a", visitor: n, from: "https://www.google.com/"))
            lines.append(Self.view("/b", visitor: n, minutes: 1, from: "https://www.example.com/a"))
        }
        let ws = try StateTestWorkspace()
        let s = try ws.aggregate(lines, name: "own.log", aggregation: aggregation).state
        var p = DPParameters(epsilon: PrivacyAmount("1")!)
        p.l0 = 1
        p.tables = [.referrers]
        var r = try DPRelease(state: s, parameters: p)
        let bounded = try #require(r.boundedCountsByLabel()[.referrers])
        // With l0 = 1 the own host would take some visitors' one partition from the engine.
        #expect(
            bounded == [DPPartitionLabel(site: "www.example.com", date: "2026-11-28", value: "www.google.com"): 6],
            "\(bounded)")
    }
}
