import Foundation
import Testing

@testable import VeilCore

private typealias K = EmailTestKit

/// k-thresholds and `(other)` rows of `campaigns` and `campaign_links`.
@Suite("E-mail: campaign tables are k-thresholded by distinct recipients")
struct CampaignReleaseTests {
    /// Campaign A: 12 recipients; B: 3 and C: 4, one recipient (`s`) in both. A's links: x clicked
    /// by 6 recipients, y by r1 r2, z by r2 r3, w only by a scanner.
    static func lines() -> [String] {
        var l: [String] = []
        for i in 0..<12 { l.append(K.open("A", "a\(i)", at: Int64(i))) }
        for t in ["b1", "b2", "s"] { l.append(K.open("B", t, at: 100)) }
        for t in ["c1", "c2", "c3", "s"] { l.append(K.open("C", t, at: 200)) }
        for i in 0..<6 { l.append(K.click("A", "x", "a\(i)", at: 1000 + Int64(i) * 100)) }
        for (link, tokens) in [("y", ["a1", "a2"]), ("z", ["a2", "a3"])] {
            for t in tokens { l.append(K.click("A", link, t, at: 3000 + Int64(l.count) * 100)) }
        }
        l.append(K.click("A", "w", "a9", at: 9000, ua: K.barracuda))
        return l.sorted { $0.split(separator: "[")[1] < $1.split(separator: "[")[1] }
    }

    static func tables(k: Int) throws -> (campaigns: StateTestTable, links: StateTestTable) {
        let ws = try StateTestWorkspace()
        let s = try K.aggregate(ws, lines())
        let t = try StateTestKit.release(s, k: k)
        return (try StateTestKit.table(t, "campaigns"), try StateTestKit.table(t, "campaign_links"))
    }

    @Test("k = 5: A published; B and C fold into an (other) of 6 distinct recipients")
    func foldCampaigns() throws {
        let (c, _) = try Self.tables(k: 5)
        #expect(c.rows.map { c.value($0, "campaign") } == ["A", "(other)"])
        let other = try #require(c.rows.last)
        #expect(c.value(other, "human_opens") == "7" && c.value(other, "unique_openers") == "6", "s counts once")
        #expect(c.suppressed == 2 && c.folded == 2 && c.smallestPublishedCount == 6)
        #expect(c.thresholdOn == "recipients")
        let a = try #require(c.rows.first)
        #expect(
            c.value(a, "clicks") == "10" && c.value(a, "scanner_clicks") == "1" && c.value(a, "unique_clickers") == "6")
        #expect(c.value(a, "click_to_open_rate") == "0.5000" && c.value(a, "delivered") == "")
    }

    @Test("k = 7: (other) would have 6, so it is not published and nothing is folded")
    func otherBelowK() throws {
        let (c, _) = try Self.tables(k: 7)
        #expect(c.rows.map { c.value($0, "campaign") } == ["A"])
        #expect(c.suppressed == 2 && c.folded == 0)
    }

    @Test("k = 13: A is suppressed too; all three fold into an (other) of 18")
    func allFold() throws {
        let (c, _) = try Self.tables(k: 13)
        #expect(
            c.rows.count == 1 && c.value(c.rows[0], "campaign") == "(other)"
                && c.value(c.rows[0], "unique_openers") == "18")
        #expect(c.suppressed == 3 && c.folded == 3)
        let (d, l) = try Self.tables(k: 19)
        #expect(d.rows.isEmpty && d.suppressed == 3 && d.folded == 0 && l.rows.isEmpty)
    }

    @Test("links: x published at k = 3; y, z and the scanner-only w fold into an (other) of 3 clickers")
    func foldLinks() throws {
        let (_, l) = try Self.tables(k: 3)
        #expect(l.rows.map { l.value($0, "link") } == ["x", "(other)"])
        #expect(l.rows.allSatisfy { l.value($0, "campaign") == "A" })
        #expect(l.value(l.rows[0], "clicks") == "6" && l.value(l.rows[0], "unique_clickers") == "6")
        #expect(
            l.value(l.rows[1], "clicks") == "4" && l.value(l.rows[1], "unique_clickers") == "3", "r2 clicked y and z")
        #expect(l.suppressed == 3 && l.folded == 3)
        let (_, l5) = try Self.tables(k: 5)
        #expect(l5.rows.map { l5.value($0, "link") } == ["x"] && l5.suppressed == 3 && l5.folded == 0)
    }

    @Test("at k = 1 every campaign and every link with a human click is published, sorted by name and clicks")
    func everything() throws {
        let (c, l) = try Self.tables(k: 1)
        #expect(c.rows.map { c.value($0, "campaign") } == ["A", "B", "C"] && c.suppressed == 0)
        #expect(l.rows.map { l.value($0, "link") } == ["x", "y", "z"], "w has no human clicker: suppressed")
        #expect(l.suppressed == 1 && l.folded == 0)
    }

    @Test("deliveries, by day; a campaign with deliveries only is a row")
    func deliveries() throws {
        let ws = try StateTestWorkspace()
        let s = try K.aggregate(
            ws,
            [
                K.sendgrid("delivered", email: "a@example.com"), K.sendgrid("delivered", email: "b@example.com"),
                K.sendgrid("delivered", email: "A@example.com ", at: 60),
                K.sendgrid("delivered", email: "c@example.com", at: 86_400),
                K.sendgrid("open", email: "b@example.com", at: 3600),
            ], format: "json-sendgrid")
        let rows = try K.campaignRows(s)
        #expect(rows.map { $0["date"]! } == ["2026-11-28", "2026-11-29"])
        #expect(
            rows[0]["delivered"] == "3" && rows[0]["unique_openers"] == "1" && rows[0]["click_to_open_rate"] == "0.0000"
        )
        #expect(rows[1]["delivered"] == "1" && rows[1]["unique_openers"] == "0" && rows[1]["click_to_open_rate"] == "")
        // k counts distinct recipients: a (twice, in two spellings) and b on the first day.
        #expect(try K.campaignRows(s, k: 2).map { $0["date"]! } == ["2026-11-28"])
        #expect(try K.campaignRows(s, k: 3).isEmpty)
    }
}
