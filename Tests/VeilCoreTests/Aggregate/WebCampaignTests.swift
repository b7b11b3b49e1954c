import Foundation
import Testing

@testable import VeilCore

/// Web campaigns: pageviews tagged `utm_source` / `utm_medium` / `utm_campaign` count in
/// `web_campaigns`, and page paths lose their campaign tags.
@Suite("Web campaigns: utm tags counted apart from pages")
struct WebCampaignTests {
    static let day = StateTestKit.time(2026, 11, 28, 9)

    /// A pageview of `target` by visitor `n` (a distinct address each), `minutes` into the day.
    static func view(_ target: String, visitor n: Int, minutes: Int64 = 0, agent: String = StateTestKit.firefox)
        -> String
    {
        StateTestRequest(ip: StateTestKit.address(n), userAgent: agent, time: day + minutes * 60, path: target).line
    }

    static func release(_ lines: [String], k: Int, aggregation: AggregationConfiguration = AggregationConfiguration())
        throws -> [StateTestTable]
    {
        let ws = try StateTestWorkspace()
        return try StateTestKit.release(try ws.aggregate(lines, name: "web.log", aggregation: aggregation).state, k: k)
    }

    /// Rows of `table` as (label columns joined by `|`) → pageviews.
    static func pageviews(_ t: StateTestTable, _ labels: [String]) -> [String: String] {
        var out: [String: String] = [:]
        for row in t.rows { out[labels.map { t.value(row, $0) }.joined(separator: "|")] = t.value(row, "pageviews") }
        return out
    }

    @Test("tags in any order, case or encoding make one campaign; pages keep the path and other allowed parameters")
    func oneCampaignManySpellings() throws {
        let lines = [
            Self.view("/post?utm_source=feed&utm_medium=rss&utm_campaign=Feed%3A+main+(Blog)", visitor: 0),
            Self.view("/post?utm_campaign=Feed:+main+(Blog)&utm_medium=rss&utm_source=feed", visitor: 1),
            Self.view("/post?UTM_Source=feed&utm%5Fmedium=rss&utm_campaign=Feed%3A%20main%20%28Blog%29", visitor: 2),
            Self.view("/post?utm_source=feed&utm_medium=rss&utm_campaign=Feed:+main+(Blog)#top", visitor: 3),
            Self.view("/post", visitor: 4),
            Self.view("/post?utm_content=footer&utm_term=x", visitor: 5),
            // Not pageviews: an asset, a bot, a redirect.
            Self.view("/app.js?utm_source=feed&utm_medium=rss", visitor: 6),
            Self.view("/post?utm_source=feed&utm_medium=rss", visitor: 7, agent: StateTestKit.googlebot),
        ]
        let tables = try Self.release(lines, k: 1)
        let campaigns = try StateTestKit.table(tables, "web_campaigns")
        #expect(
            campaigns.header == [
                "site", "date", "source", "medium", "campaign", "pageviews", "visitors", "visits", "bounces",
                "bounce_rate",
            ])
        #expect(Self.pageviews(campaigns, ["source", "medium", "campaign"]) == ["feed|rss|Feed: main (Blog)": "4"])
        #expect(campaigns.rows.map { campaigns.value($0, "visitors") } == ["4"])
        let pages = try StateTestKit.table(tables, "pages")
        #expect(Self.pageviews(pages, ["path"]) == ["/post": "6"], "\(pages)")
        let entries = try StateTestKit.table(tables, "entry_pages")
        #expect(entries.rows.map { entries.value($0, "path") } == ["/post"])

        // Another allowed parameter stays in the path; campaign tags never do.
        var c = AggregationConfiguration()
        c.queryAllowList = ["utm_*", "lang"]
        let withLang = try Self.release(
            [
                Self.view("/post?lang=de&utm_source=feed", visitor: 0),
                Self.view("/post?utm_source=feed&lang=de", visitor: 1),
            ],
            k: 1, aggregation: c)
        #expect(Self.pageviews(try StateTestKit.table(withLang, "pages"), ["path"]) == ["/post?lang=de": "2"])
        #expect(
            Self.pageviews(try StateTestKit.table(withLang, "web_campaigns"), ["source", "medium", "campaign"])
                == ["feed|(none)|(none)": "2"])
    }

    @Test("identifiers in campaign tags become placeholders and reach no output")
    func identifiersRedacted() throws {
        let email = "jane.doe@example.com"
        let token = "a8f3b2c19d7e4f60a1b2c3d4e5f60718"
        let uuid = "123e4567-e89b-12d3-a456-426614174000"
        let lines = (0..<3).flatMap { n in
            [
                Self.view(
                    "/a?utm_source=\(email.replacingOccurrences(of: "@", with: "%40"))&utm_medium=email", visitor: n),
                Self.view("/a?utm_source=news&utm_medium=email&utm_campaign=\(token)", visitor: n),
                Self.view("/a?utm_source=news&utm_medium=\(uuid)&utm_campaign=spring/\(email)", visitor: n),
            ]
        }
        let tables = try Self.release(lines, k: 1)
        let campaigns = try StateTestKit.table(tables, "web_campaigns")
        #expect(
            Self.pageviews(campaigns, ["source", "medium", "campaign"]) == [
                ":email|email|(none)": "3", "news|email|:token": "3", "news|:uuid|spring/:email": "3",
            ])
        let everything = tables.flatMap { $0.rows.flatMap { $0 } }.joined(separator: "\n")
        for identifier in [email, token, uuid, "jane.doe%40example.com", "jane.doe"] {
            #expect(!everything.contains(identifier), "\(identifier) reached a table")
        }
    }

    @Test("rows below k fold into (other) in every label column; past the cap, new campaigns are (other)")
    func foldingAndCap() throws {
        // Campaign a: 3 visitors, b: 1, c: 1.
        let lines = [
            Self.view("/x?utm_source=a", visitor: 0), Self.view("/x?utm_source=a", visitor: 1),
            Self.view("/x?utm_source=a", visitor: 2), Self.view("/x?utm_source=b", visitor: 3),
            Self.view("/x?utm_source=c", visitor: 4),
        ]
        let folded = try StateTestKit.table(try Self.release(lines, k: 2), "web_campaigns")
        #expect(
            Self.pageviews(folded, ["source", "medium", "campaign"]) == [
                "a|(none)|(none)": "3", "(other)|(other)|(other)": "2",
            ], "\(folded)")
        #expect(folded.suppressed == 2 && folded.folded == 2)

        var c = AggregationConfiguration()
        c.maxWebCampaigns = 1
        let capped = try StateTestKit.table(try Self.release(lines, k: 1, aggregation: c), "web_campaigns")
        #expect(
            Self.pageviews(capped, ["source", "medium", "campaign"]) == [
                "a|(none)|(none)": "3", "(other)|(other)|(other)": "2",
            ], "\(capped)")
    }

    static func visitColumns(_ t: StateTestTable) -> [String: [String]] {
        StateTestKit.visitColumns(t, key: "source")
    }

    @Test("a visit counts under the campaign of its first pageview: later tagged pageviews bring none")
    func visitsByEntryCampaign() throws {
        let lines = [
            // Enters through campaign a, goes on untagged: one visit of a, not a bounce.
            Self.view("/landing?utm_source=a", visitor: 0), Self.view("/more", visitor: 0, minutes: 2),
            // Enters untagged, then a tagged page: a pageview of b, no visit of b.
            Self.view("/home", visitor: 1), Self.view("/landing?utm_source=b", visitor: 1, minutes: 1),
            // A bounce through a; and, past the session timeout, a new visit through b.
            Self.view("/landing?utm_source=a", visitor: 2),
            Self.view("/landing?utm_source=b", visitor: 2, minutes: 45),
            // Its first pageview logged after its second: the earlier one (through a) still enters.
            Self.view("/more", visitor: 3, minutes: 3), Self.view("/landing?utm_source=a", visitor: 3, minutes: 1),
            // A bounce through c.
            Self.view("/landing?utm_source=c", visitor: 4),
        ]
        let campaigns = try StateTestKit.table(try Self.release(lines, k: 1), "web_campaigns")
        #expect(
            Self.visitColumns(campaigns) == [
                "a": ["3", "3", "3", "1", "0.3333"],
                "b": ["2", "2", "1", "1", "1.0000"],
                "c": ["1", "1", "1", "1", "1.0000"],
            ], "\(campaigns)")
        // Visits in the traffic table are all visits, tagged or not.
        let daily = try StateTestKit.table(try Self.release(lines, k: 1), "traffic_daily")
        #expect(daily.rows.map { daily.value($0, "visits") } == ["6"])

        // Folded rows bring their visits to (other).
        let folded = try StateTestKit.table(try Self.release(lines, k: 3), "web_campaigns")
        #expect(
            Self.visitColumns(folded) == [
                "a": ["3", "3", "3", "1", "0.3333"], "(other)": ["3", "3", "2", "2", "1.0000"],
            ], "\(folded)")
    }

    @Test("two tagged first pageviews in one second: the same campaign enters whatever the line order or shards")
    func entryCampaignTies() throws {
        let a = Self.view("/landing?utm_source=a", visitor: 0)
        let b = Self.view("/landing?utm_source=b", visitor: 0)
        let plain = Self.view("/landing", visitor: 0)
        for lines in [[a, b], [b, a], [plain, b, a], [a, plain, b]] {
            let campaigns = try StateTestKit.table(try Self.release(lines, k: 1), "web_campaigns")
            #expect(
                Self.visitColumns(campaigns).mapValues { $0[2] } == ["a": "1", "b": "0"],
                "\(lines.map { $0.contains("utm_source=a") ? "a" : $0.contains("utm") ? "b" : "-" })")
        }
        // Shards merged in either order.
        let ws = try StateTestWorkspace()
        let sa = try ws.aggregate([b], name: "1.log").state
        let sb = try ws.aggregate([a], name: "2.log").state
        for (x, y) in [(sa, sb), (sb, sa)] {
            var merged = x
            try merged.merge(y)
            #expect(merged.visitors.count == 1)
            let campaigns = try StateTestKit.table(StateTestKit.release(merged, k: 1), "web_campaigns")
            #expect(Self.visitColumns(campaigns).mapValues { $0[2] } == ["a": "1", "b": "0"])
        }
    }

    @Test("campaign tag ranges: the first of each, names decoded and case-insensitive, none without the three")
    func tagRanges() {
        func tags(_ target: String) -> [String?]? {
            let bytes = Array(target.utf8)
            return bytes.withUnsafeBytes { raw -> [String?]? in
                guard let t = URLRedactor.campaignTags(raw) else { return nil }
                return [t.source, t.medium, t.campaign].map { r in r.map { String(decoding: bytes[$0], as: UTF8.self) }
                }
            }
        }
        #expect(tags("/a?utm_source=x&utm_medium=y&utm_campaign=z") == ["x", "y", "z"])
        #expect(tags("/a?utm_source=x&utm_source=w") == ["x", nil, nil])
        #expect(tags("/a?UTM_MEDIUM=y&utm%5fcampaign=z%20z") == [nil, "y", "z%20z"])
        #expect(tags("/a?utm_source") == ["", nil, nil])
        #expect(tags("https://example.com/a?utm_campaign=z#utm_source=f") == [nil, nil, "z"])
        #expect(tags("/a?utm_content=x&utm_term=y") == nil)
        #expect(tags("/a?utm_sourcex=1&xutm_source=2&utm_sourc=3") == nil)
        #expect(tags("/utm_source=x") == nil)
        #expect(tags("/a#?utm_source=x") == nil)
    }
}
