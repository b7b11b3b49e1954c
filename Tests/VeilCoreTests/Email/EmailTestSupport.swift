import Foundation
import Testing

@testable import VeilCore

/// Lines of e-mail traffic for the e-mail tests: pixel and click requests as NCSA combined log
/// lines, and SendGrid / Mailgun export events, all on 2026-11-28 (documentation addresses).
enum EmailTestKit {
    static let t0 = StateTestKit.time(2026, 11, 28, 12)
    static let chrome = StateTestKit.chrome
    static let gmailProxy = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
    static let yahooProxy = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
    static let appleMPP = "Mozilla/5.0"
    static let barracuda = "Barracuda Sentinel (EE)"

    /// A combined log line for `target` at `t0 + offset`.
    static func line(
        _ target: String, at offset: Int64 = 0, ip: String = "192.0.2.7", ua: String = chrome, method: String = "GET",
        status: Int = 200
    ) -> String {
        "\(ip) - - [\(StateTestKit.clf(t0 + offset))] \"\(method) \(target) HTTP/1.1\" \(status) 43 \"-\" \"\(ua)\""
    }

    static func open(
        _ campaign: String = "c1", _ token: String = "tok-A", at offset: Int64 = 0, ip: String = "192.0.2.7",
        ua: String = chrome, method: String = "GET", status: Int = 200
    ) -> String {
        line("/t/open.gif?m=\(campaign)&r=\(token)", at: offset, ip: ip, ua: ua, method: method, status: status)
    }

    static func click(
        _ campaign: String = "c1", _ link: String = "hero", _ token: String = "tok-A", at offset: Int64 = 0,
        ip: String = "192.0.2.7", ua: String = chrome, method: String = "GET", status: Int = 302
    ) -> String {
        line("/c/\(campaign)/\(link)?r=\(token)", at: offset, ip: ip, ua: ua, method: method, status: status)
    }

    /// A SendGrid event line.
    static func sendgrid(
        _ event: String, email: String = "jane@example.com", at offset: Int64 = 0, url: String? = nil,
        ua: String = chrome, ip: String = "192.0.2.7", category: String = "\"c1\"", extra: String = ""
    ) -> String {
        var s = "{\"email\":\"\(email)\",\"timestamp\":\(t0 + offset),\"event\":\"\(event)\",\"category\":\(category)"
        if event == "open" || event == "click" { s += ",\"ip\":\"\(ip)\",\"useragent\":\"\(ua)\"" }
        if let url { s += ",\"url\":\"\(url)\"" }
        return s + extra + ",\"sg_message_id\":\"abc.filter0001.1.0\"}"
    }

    /// A Mailgun event line (Events API shape), optionally wrapped as a webhook payload.
    static func mailgun(
        _ event: String, recipient: String = "jane@example.com", at offset: Int64 = 0, url: String? = nil,
        ua: String = chrome, bot: String = "", campaign: String = "c1", webhook: Bool = false
    ) -> String {
        var d = "{\"event\":\"\(event)\",\"timestamp\":\(t0 + offset).250000,\"recipient\":\"\(recipient)\""
        d +=
            ",\"ip\":\"192.0.2.7\",\"client-info\":{\"client-type\":\"browser\",\"user-agent\":\"\(ua)\",\"bot\":\"\(bot)\"}"
        d += ",\"tags\":[\"\(campaign)\",\"newsletter\"],\"user-variables\":{\"campaign\":\"\(campaign)\"}"
        if let url { d += ",\"url\":\"\(url)\"" }
        d += ",\"message\":{\"headers\":{\"message-id\":\"1.abc@mg.example.net\"}}}"
        return webhook
            ? "{\"signature\":{\"timestamp\":\"\(t0)\",\"token\":\"abc\",\"signature\":\"00ff\"},\"event-data\":\(d)}"
            : d
    }

    static func ingest(_ format: String) -> IngestConfiguration {
        var c = IngestConfiguration()
        c.format = .named(format)
        return c
    }

    /// Aggregates lines of one format into a state.
    static func aggregate(
        _ ws: StateTestWorkspace, _ lines: [String], format: String = "combined", name: String = "e.log",
        configure: (inout AggregationConfiguration) -> Void = { _ in }
    ) throws -> AggregateState {
        var a = AggregationConfiguration()
        configure(&a)
        return try ws.aggregate(lines, name: name, aggregation: a, ingest: ingest(format)).state
    }

    /// The `campaigns` rows of a release at k, by campaign name (one day, one site).
    static func campaigns(_ s: AggregateState, k: Int = 1) throws -> [String: [String: String]] {
        let t = try StateTestKit.table(try StateTestKit.release(s, k: k), "campaigns")
        var out: [String: [String: String]] = [:]
        for row in t.rows {
            out[t.value(row, "campaign")] = Dictionary(uniqueKeysWithValues: zip(t.header, row))
        }
        return out
    }

    /// Every `campaigns` row of a release at k.
    static func campaignRows(_ s: AggregateState, k: Int = 1) throws -> [[String: String]] {
        let t = try StateTestKit.table(try StateTestKit.release(s, k: k), "campaigns")
        return t.rows.map { Dictionary(uniqueKeysWithValues: zip(t.header, $0)) }
    }

    /// The sum of a count column over every `campaigns` row.
    static func total(_ s: AggregateState, _ column: String) throws -> Int {
        try campaignRows(s).reduce(0) { $0 + (Int($1[column] ?? "") ?? 0) }
    }

    /// The `campaign_links` rows of a release at k, by "campaign link".
    static func links(_ s: AggregateState, k: Int = 1) throws -> [String: [String: String]] {
        let t = try StateTestKit.table(try StateTestKit.release(s, k: k), "campaign_links")
        var out: [String: [String: String]] = [:]
        for row in t.rows {
            out[t.value(row, "campaign") + " " + t.value(row, "link")] = Dictionary(
                uniqueKeysWithValues: zip(t.header, row))
        }
        return out
    }

    /// Human opens, proxy opens, bot opens, human clicks and scanner clicks of one campaign.
    struct Split: Equatable, CustomStringConvertible, Sendable {
        var human = 0, proxy = 0, bot = 0, clicks = 0, scanner = 0
        var description: String {
            "opens human \(human) proxy \(proxy) bot \(bot), clicks human \(clicks) scanner \(scanner)"
        }
    }

    static func split(_ s: AggregateState, campaign: String = "c1") throws -> Split {
        guard let r = try campaigns(s)[campaign] else { return Split() }
        func n(_ c: String) -> Int { Int(r[c] ?? "") ?? -1 }
        return Split(
            human: n("human_opens"), proxy: n("proxy_opens"), bot: n("bot_opens"), clicks: n("clicks"),
            scanner: n("scanner_clicks"))
    }
}
