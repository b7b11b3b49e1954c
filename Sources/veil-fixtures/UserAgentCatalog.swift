/// The user agents of the synthetic world: current browsers, well-known bots, mail proxies.
enum UserAgentCatalog {
    /// Human browsers, built from browser × platform × version.
    static func humans() -> [UserAgent] {
        var list: [UserAgent] = []
        let chromium: [(Int, Int)] = [(154, 5), (155, 15), (156, 35), (157, 45)]
        for (v, vw) in chromium {
            let tail = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/\(v).0.0.0 Safari/537.36"
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) \(tail)", kind: .human,
                    family: "Chrome", major: v, os: "Windows", device: "desktop", weight: 30 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \(tail)", kind: .human,
                    family: "Chrome", major: v, os: "macOS", device: "desktop", weight: 10 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (X11; Linux x86_64) \(tail)", kind: .human,
                    family: "Chrome", major: v, os: "Linux", device: "desktop", weight: 3 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                        + "Chrome/\(v).0.0.0 Mobile Safari/537.36", kind: .human,
                    family: "Chrome", major: v, os: "Android", device: "mobile", weight: 25 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) \(tail) Edg/\(v).0.0.0",
                    kind: .human, family: "Edge", major: v, os: "Windows", device: "desktop", weight: 8 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \(tail) Edg/\(v).0.0.0",
                    kind: .human, family: "Edge", major: v, os: "macOS", device: "desktop", weight: 1 * vw))
        }
        let firefox: [(Int, Int)] = [(156, 5), (157, 15), (158, 35), (159, 45)]
        for (v, vw) in firefox {
            let gecko = "Gecko/20100101 Firefox/\(v).0"
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:\(v).0) \(gecko)",
                    kind: .human, family: "Firefox", major: v, os: "Windows", device: "desktop", weight: 6 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:\(v).0) \(gecko)",
                    kind: .human, family: "Firefox", major: v, os: "macOS", device: "desktop", weight: 2 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (X11; Linux x86_64; rv:\(v).0) \(gecko)",
                    kind: .human, family: "Firefox", major: v, os: "Linux", device: "desktop", weight: 2 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:\(v).0) \(gecko)",
                    kind: .human, family: "Firefox", major: v, os: "Linux", device: "desktop", weight: 1 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Android 15; Mobile; rv:\(v).0) Gecko/\(v).0 Firefox/\(v).0",
                    kind: .human, family: "Firefox", major: v, os: "Android", device: "mobile", weight: 1 * vw))
        }
        let safari: [(String, Int, Int)] = [("26.4", 26, 20), ("27.0", 27, 35), ("27.1", 27, 45)]
        for (version, major, vw) in safari {
            let webkit = "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/\(version)"
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \(webkit) Safari/605.1.15",
                    kind: .human, family: "Safari", major: major, os: "macOS", device: "desktop", weight: 8 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) \(webkit) Mobile/15E148 Safari/604.1",
                    kind: .human, family: "Safari", major: major, os: "iOS", device: "mobile", weight: 25 * vw))
            list.append(
                UserAgent(
                    text: "Mozilla/5.0 (iPad; CPU OS 18_7 like Mac OS X) \(webkit) Mobile/15E148 Safari/604.1",
                    kind: .human, family: "Safari", major: major, os: "iOS", device: "tablet", weight: 4 * vw))
        }
        return list
    }

    /// Well-known crawlers, libraries and monitors; every one is on common bot lists.
    static func bots() -> [UserAgent] {
        func bot(
            _ text: String, _ family: String, _ major: Int, _ weight: Int, _ style: BotStyle,
            v4: Int, v6: Int = 0
        ) -> UserAgent {
            UserAgent(
                text: text, kind: .bot, family: family, major: major, os: "", device: "bot",
                weight: weight, botStyle: style, botAddresses: (v4, v6))
        }
        return [
            bot(
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot", 2, 30, .crawler, v4: 4, v6: 2),
            bot(
                "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
                    + "Chrome/156.0.7710.94 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                "Googlebot", 2, 20, .crawler, v4: 3, v6: 1),
            bot(
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
                "bingbot", 2, 15, .crawler, v4: 3),
            bot(
                "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
                "AhrefsBot", 7, 10, .crawler, v4: 2),
            bot(
                "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
                "SemrushBot", 7, 6, .crawler, v4: 2),
            bot(
                "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
                "YandexBot", 3, 4, .crawler, v4: 2),
            bot(
                "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
                "DuckDuckBot", 1, 2, .crawler, v4: 1),
            bot(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    + "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
                "Applebot", 0, 3, .crawler, v4: 1, v6: 1),
            bot(
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
                "GPTBot", 1, 5, .crawler, v4: 2),
            bot(
                "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
                "facebookexternalhit", 1, 2, .crawler, v4: 1, v6: 1),
            bot("curl/8.5.0", "curl", 8, 4, .script, v4: 2),
            bot("python-requests/2.32.3", "python-requests", 2, 4, .script, v4: 2),
            bot("Wget/1.21.4", "Wget", 1, 1, .script, v4: 1),
            bot(
                "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
                "UptimeRobot", 2, 3, .monitor, v4: 1),
        ]
    }

    /// Mail image proxies that fetch tracking pixels on behalf of recipients.
    static func mailProxies() -> [UserAgent] {
        [
            UserAgent(
                text: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
                kind: .mailProxy, family: "GoogleImageProxy", major: 0, os: "", device: "bot", weight: 1,
                botAddresses: (6, 0)),
            UserAgent(
                text: "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
                kind: .mailProxy, family: "YahooMailProxy", major: 0, os: "", device: "bot", weight: 1,
                botAddresses: (3, 0)),
        ]
    }
}
