import Foundation
import Testing

@testable import VeilCore

/// The documented proxy and scanner rules (README "E-mail opens and clicks"), one row per case:
/// the lines of one recipient and campaign, the settings, and how veil must count them.
struct EmailClassificationCase: Sendable, CustomStringConvertible {
    enum Settings: Sendable {
        case defaults
        /// `--scanner-agent acme-guard`.
        case extraAgent
        /// `--no-default-scanner-rules`.
        case noDefaultRules
        /// `--scanner-burst-links 0 --scanner-delivery-seconds -1`.
        case timingOff
        /// `--scanner-burst-links 3`.
        case burstOfThree
    }

    var name: String
    var format = "combined"
    var lines: [String]
    var settings = Settings.defaults
    var expected: EmailTestKit.Split

    var description: String { name }
}

private typealias K = EmailTestKit
private typealias Split = EmailTestKit.Split

@Suite("E-mail: proxy and scanner classification")
struct EmailClassificationTests {
    static let cases: [EmailClassificationCase] = [
        // Opens.
        .init(name: "open by a browser is human", lines: [K.open()], expected: Split(human: 1)),
        .init(
            name: "open by GoogleImageProxy is a proxy open", lines: [K.open(ua: K.gmailProxy)],
            expected: Split(proxy: 1)),
        .init(
            name: "open by YahooMailProxy is a proxy open", lines: [K.open(ua: K.yahooProxy)], expected: Split(proxy: 1)
        ),
        .init(
            name: "open by exactly Mozilla/5.0 (Apple MPP) is a proxy open", lines: [K.open(ua: K.appleMPP)],
            expected: Split(proxy: 1)),
        .init(
            name: "open by Googlebot is a bot open", lines: [K.open(ua: StateTestKit.googlebot)],
            expected: Split(bot: 1)),
        .init(name: "open by curl is a bot open", lines: [K.open(ua: "curl/8.4.0")], expected: Split(bot: 1)),
        .init(
            name: "open by a scanner user agent is a bot open", lines: [K.open(ua: K.barracuda)],
            expected: Split(bot: 1)),
        .init(
            name: "open from an Exchange Online Protection address is a bot open", lines: [K.open(ip: "40.92.17.3")],
            expected: Split(bot: 1)),
        .init(name: "HEAD of the pixel is a bot open", lines: [K.open(method: "HEAD")], expected: Split(bot: 1)),
        .init(
            name: "a pixel answered 404 is no open",
            lines: [K.open(status: 404), K.click("c1", "x", "tok-B", at: 3600)], expected: Split(clicks: 1)),
        .init(
            name: "a POST to the pixel is no open",
            lines: [K.open(method: "POST"), K.click("c1", "x", "tok-B", at: 3600)], expected: Split(clicks: 1)),
        .init(
            name: "SendGrid sg_machine_open true is a proxy open", format: "json-sendgrid",
            lines: [K.sendgrid("open", extra: ",\"sg_machine_open\":true")], expected: Split(proxy: 1)),
        .init(
            name: "SendGrid sg_machine_open false by a browser is human", format: "json-sendgrid",
            lines: [K.sendgrid("open", extra: ",\"sg_machine_open\":false")], expected: Split(human: 1)),
        .init(
            name: "SendGrid open without a user agent is human", format: "json-sendgrid",
            lines: [K.sendgrid("open", ua: "")], expected: Split(human: 1)),
        .init(
            name: "Mailgun client-info.bot apple is a proxy open", format: "json-mailgun",
            lines: [K.mailgun("opened", ua: K.appleMPP, bot: "apple")], expected: Split(proxy: 1)),
        .init(
            name: "Mailgun client-info.bot gmail is a proxy open", format: "json-mailgun",
            lines: [K.mailgun("opened", bot: "gmail")], expected: Split(proxy: 1)),
        .init(
            name: "Mailgun client-info.bot generic is a bot open", format: "json-mailgun",
            lines: [K.mailgun("opened", bot: "generic")], expected: Split(bot: 1)),

        // Clicks by request.
        .init(name: "click by a browser is human", lines: [K.click()], expected: Split(clicks: 1)),
        .init(
            name: "click by Barracuda is a scanner click", lines: [K.click(ua: K.barracuda)],
            expected: Split(scanner: 1)),
        .init(
            name: "scanner agents match case-insensitively",
            lines: [K.click(ua: "Mozilla/5.0 (compatible) MIMECAST URL Protect")],
            expected: Split(scanner: 1)),
        .init(
            name: "click from 104.47.0.0/17 is a scanner click", lines: [K.click(ip: "104.47.3.4")],
            expected: Split(scanner: 1)),
        .init(
            name: "click from 2a01:111:f400::/48 is a scanner click", lines: [K.click(ip: "2a01:111:f400::1")],
            expected: Split(scanner: 1)),
        .init(
            name: "click from an IPv4-mapped 40.107.0.0/16 address is a scanner click",
            lines: [K.click(ip: "::ffff:40.107.1.1")],
            expected: Split(scanner: 1)),
        .init(
            name: "click from just outside 40.92.0.0/15 is human", lines: [K.click(ip: "40.94.0.1")],
            expected: Split(clicks: 1)),
        .init(
            name: "HEAD of a click link is a scanner click", lines: [K.click(method: "HEAD")],
            expected: Split(scanner: 1)),
        .init(
            name: "click by Googlebot is a scanner click", lines: [K.click(ua: StateTestKit.googlebot)],
            expected: Split(scanner: 1)),
        .init(
            name: "click by a mail proxy is a scanner click", lines: [K.click(ua: K.gmailProxy)],
            expected: Split(scanner: 1)),
        .init(
            name: "a click answered 500 is no click", lines: [K.click(status: 500), K.open("c1", "tok-B")],
            expected: Split(human: 1)),
        .init(
            name: "--scanner-agent adds a scanner", lines: [K.click(ua: "ACME-Guard/2.0")], settings: .extraAgent,
            expected: Split(scanner: 1)),
        .init(
            name: "--no-default-scanner-rules: Barracuda is a person", lines: [K.click(ua: K.barracuda)],
            settings: .noDefaultRules,
            expected: Split(clicks: 1)),
        .init(
            name: "--no-default-scanner-rules: EOP addresses are people", lines: [K.click(ip: "40.92.17.3")],
            settings: .noDefaultRules,
            expected: Split(clicks: 1)),
        .init(
            name: "Mailgun clicked with bot generic is a scanner click", format: "json-mailgun",
            lines: [K.mailgun("clicked", url: "https://www.example.com/a", bot: "generic")], expected: Split(scanner: 1)
        ),
        .init(
            name: "Mailgun clicked by a browser is human", format: "json-mailgun",
            lines: [K.mailgun("clicked", url: "https://www.example.com/a", webhook: true)], expected: Split(clicks: 1)),

        // Clicks by timing (burst: two different links within 5 s).
        .init(
            name: "two links 3 s apart are both scanner clicks",
            lines: [K.click("c1", "a"), K.click("c1", "b", at: 3)],
            expected: Split(scanner: 2)),
        .init(
            name: "two links exactly 5 s apart are scanner clicks",
            lines: [K.click("c1", "a"), K.click("c1", "b", at: 5)],
            expected: Split(scanner: 2)),
        .init(
            name: "two links 6 s apart are human", lines: [K.click("c1", "a"), K.click("c1", "b", at: 6)],
            expected: Split(clicks: 2)),
        .init(
            name: "the same link twice within 1 s is human", lines: [K.click("c1", "a"), K.click("c1", "a", at: 1)],
            expected: Split(clicks: 2)),
        .init(
            name: "a burst makes only its own clicks scanner clicks",
            lines: [K.click("c1", "a"), K.click("c1", "b", at: 2), K.click("c1", "a", at: 600)],
            expected: Split(clicks: 1, scanner: 2)),
        .init(
            name: "other recipients' clicks never make a burst",
            lines: [K.click("c1", "a"), K.click("c1", "b", "tok-B", at: 1)], expected: Split(clicks: 2)),
        .init(
            name: "other campaigns' clicks never make a burst",
            lines: [K.click("c1", "a"), K.click("c2", "b", at: 1)], expected: Split(clicks: 1)),
        .init(
            name: "--scanner-burst-links 3: two links are not a burst",
            lines: [K.click("c1", "a"), K.click("c1", "b", at: 1)],
            settings: .burstOfThree, expected: Split(clicks: 2)),
        .init(
            name: "--scanner-burst-links 3: three links are",
            lines: [K.click("c1", "a"), K.click("c1", "b", at: 1), K.click("c1", "c", at: 2)],
            settings: .burstOfThree, expected: Split(scanner: 3)),
        .init(
            name: "timing rules off: a burst is human", lines: [K.click("c1", "a"), K.click("c1", "b", at: 1)],
            settings: .timingOff,
            expected: Split(clicks: 2)),

        // Clicks by timing (delivery: at most 10 s after the first delivery).
        .init(
            name: "a click 10 s after delivery is a scanner click", format: "json-sendgrid",
            lines: [K.sendgrid("delivered"), K.sendgrid("click", at: 10, url: "https://www.example.com/a")],
            expected: Split(scanner: 1)),
        .init(
            name: "a click 11 s after delivery is human", format: "json-sendgrid",
            lines: [K.sendgrid("delivered"), K.sendgrid("click", at: 11, url: "https://www.example.com/a")],
            expected: Split(clicks: 1)),
        .init(
            name: "a click before the delivery event is human", format: "json-sendgrid",
            lines: [K.sendgrid("click", at: -5, url: "https://www.example.com/a"), K.sendgrid("delivered")],
            expected: Split(clicks: 1)),
        .init(
            name: "the delivery rule follows the address whatever its case", format: "json-sendgrid",
            lines: [
                K.sendgrid("delivered", email: " Jane@Example.COM"),
                K.sendgrid("click", at: 2, url: "https://www.example.com/a"),
            ],
            expected: Split(scanner: 1)),
        .init(
            name: "timing rules off: a click right after delivery is human", format: "json-sendgrid",
            lines: [K.sendgrid("delivered"), K.sendgrid("click", at: 1, url: "https://www.example.com/a")],
            settings: .timingOff,
            expected: Split(clicks: 1)),
    ]

    @Test("each case is classified as documented", arguments: cases)
    func classified(_ c: EmailClassificationCase) throws {
        let ws = try StateTestWorkspace()
        let s = try K.aggregate(ws, c.lines, format: c.format) { a in
            switch c.settings {
            case .defaults: break
            case .extraAgent: a.email.scannerAgents.append("acme-guard")
            case .noDefaultRules:
                a.email.scannerAgents = []
                a.email.scannerNetworks = []
            case .timingOff: a.emailTiming = EmailTimingRules(burstSeconds: 5, burstLinks: 0, deliverySeconds: -1)
            case .burstOfThree: a.emailTiming.burstLinks = 3
            }
        }
        #expect(try K.split(s) == c.expected, "\(c.name)")
    }

    @Test("the table covers every documented rule")
    func coverage() {
        let names = Self.cases.map(\.name).joined(separator: "\n")
        for word in [
            "GoogleImageProxy", "YahooMailProxy", "Apple MPP", "Googlebot", "scanner user agent", "Exchange Online",
            "HEAD", "sg_machine_open", "client-info.bot", "burst", "after delivery", "--scanner-agent",
            "--no-default-scanner-rules", "timing rules off",
        ] {
            #expect(names.contains(word), "no case for \(word)")
        }
    }

    @Test("an open of another recipient through a proxy counts toward unique openers; bot opens do not")
    func uniqueOpeners() throws {
        let ws = try StateTestWorkspace()
        let s = try K.aggregate(
            ws,
            [
                K.open("c1", "a"), K.open("c1", "a", at: 60), K.open("c1", "b", ua: K.gmailProxy),
                K.open("c1", "c", ua: StateTestKit.googlebot), K.click("c1", "x", "d", at: 900),
            ])
        let row = try #require(try K.campaigns(s)["c1"])
        #expect(row["human_opens"] == "2" && row["proxy_opens"] == "1" && row["bot_opens"] == "1")
        #expect(row["unique_openers"] == "2", "a and b opened; c's open was a bot's")
        #expect(row["unique_clickers"] == "1" && row["click_to_open_rate"] == "0.5000")
        #expect(row["delivered"] == "", "logs know no deliveries")
    }
}
