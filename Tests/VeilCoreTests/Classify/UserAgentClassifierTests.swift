import Testing

@testable import VeilCore

/// One user agent and what it must classify as.
struct ClassifyUACase: Sendable, CustomTestStringConvertible {
    let ua: String
    let expected: UserAgentClass

    var testDescription: String { ua.isEmpty ? "(empty)" : ua }

    /// A person's browser.
    static func human(
        _ ua: String, _ browser: BrowserFamily, _ major: UInt16, _ os: OSFamily,
        _ device: DeviceClass
    ) -> ClassifyUACase {
        ClassifyUACase(
            ua: ua,
            expected: UserAgentClass(browser: browser, browserMajor: major, os: os, device: device))
    }

    static func bot(_ ua: String, _ name: BotName) -> ClassifyUACase {
        ClassifyUACase(ua: ua, expected: .bot(name))
    }

    static func proxy(_ ua: String, _ name: BotName) -> ClassifyUACase {
        ClassifyUACase(ua: ua, expected: .mailProxy(name))
    }
}

/// Real-world user agents (browsers as shipped, crawlers as documented by their operators).
private let userAgentTable: [ClassifyUACase] = [
    // MARK: Desktop browsers
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        .chrome, 120, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
        .chrome, 121, .macos, .desktop),
    .human(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
        .chrome, 119, .linux, .desktop),
    .human(
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        .chrome, 120, .chromeos, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        .edge, 120, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36 Edg/121.0.0.0",
        .edge, 121, .macos, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
        .edge, 18, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        .firefox, 121, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0",
        .firefox, 120, .macos, .desktop),
    .human(
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        .firefox, 121, .linux, .desktop),
    .human(
        "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0",
        .firefox, 115, .linux, .desktop),
    .human(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
        .safari, 17, .macos, .desktop),
    .human(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15",
        .safari, 16, .macos, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
        .opera, 105, .windows, .desktop),
    .human(
        "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
        .opera, 12, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
        .yandex, 23, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48",
        .vivaldi, 6, .windows, .desktop),
    .human(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/83.0.4103.61 Chrome/83.0.4103.61 Safari/537.36",
        .chromium, 83, .linux, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        .ie, 11, .windows, .desktop),
    .human(
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; .NET CLR 3.5.30729; .NET CLR 3.0.30729; Media Center PC 6.0; .NET4.0C; .NET4.0E; rv:11.0) like Gecko",
        .ie, 11, .windows, .desktop),
    .human(
        "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E)",
        .ie, 11, .windows, .desktop),
    .human(
        "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.2; Trident/6.0)",
        .ie, 10, .windows, .desktop),
    .human(
        "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)",
        .ie, 6, .windows, .desktop),
    // "Microsoft" contains "cros": must not be ChromeOS.
    .human(
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
        .other, 0, .windows, .desktop),

    // MARK: Apple mobile
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        .safari, 17, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
        .safari, 16, .ios, .mobile),
    // A feed reader's in-app browser is a person reading the page (only the app's own feed
    // fetcher, whose user agent starts with its name, is a bot).
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1 Reeder/5.3",
        .safari, 17, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
        .safari, 17, .ipados, .tablet),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
        .chrome, 120, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
        .chrome, 120, .ipados, .tablet),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
        .firefox, 121, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
        .firefox, 121, .ipados, .tablet),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.0.2210.126 Mobile/15E148 Safari/605.1.15",
        .edge, 120, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        .webview, 0, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 311.0.2.21.109 (iPhone14,5; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 546234567)",
        .webview, 0, .ios, .mobile),
    .human(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/296.0.595289442 Mobile/15E148 Safari/604.1",
        .webview, 0, .ios, .mobile),

    // MARK: Android
    .human(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        .chrome, 120, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
        .chrome, 120, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
        .chrome, 119, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        .chrome, 120, .android, .tablet),
    .human(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
        .chrome, 121, .android, .tablet),
    // A Cubot phone: "CUBOT" ends in "bot" but is a phone maker.
    .human(
        "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        .chrome, 120, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 10; Cubot_KingKong_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36",
        .chrome, 118, .android, .mobile),
    .human(
        "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
        .firefox, 121, .android, .mobile),
    .human(
        "Mozilla/5.0 (Android 13; Tablet; rv:120.0) Gecko/120.0 Firefox/120.0",
        .firefox, 120, .android, .tablet),
    .human(
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        .samsung, 23, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/22.0 Chrome/111.0.5563.116 Safari/537.36",
        .samsung, 22, .android, .tablet),
    .human(
        "Mozilla/5.0 (Linux; Android 10; VOG-L29) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76620",
        .opera, 79, .android, .mobile),
    .human(
        "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
        .opera, 36, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; arm_64; Android 13; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.5993.118 YaBrowser/23.11.3.118.00 SA/3 Mobile Safari/537.36",
        .yandex, 23, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2020 Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
        .ucbrowser, 13, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
        .edge, 120, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile DuckDuckGo/5 Safari/537.36",
        .duckduckgo, 5, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
        .webview, 120, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.5938.153 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/436.0.0.35.101;]",
        .webview, 117, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/119.3.1 like Chrome/119.0.6045.193 Safari/537.36",
        .silk, 119, .android, .tablet),
    // The stock browser of Android 4.3 and older (and phone makers' builds of it): Version/ and
    // Safari/ without Chrome/.
    .human(
        "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K) AppleWebkit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
        .androidBrowser, 4, .android, .mobile),
    .human(
        "Mozilla/5.0 (Linux; U; Android 4.2.2; en-us; GT-P5210 Build/JDQ39) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Safari/534.30",
        .androidBrowser, 4, .android, .tablet),

    // MARK: TVs, consoles, old phones
    .human(
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 85.0.4183.93/6.0 TV Safari/537.36",
        .other, 0, .other, .other),
    .human(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.133",
        .edge, 120, .windows, .other),
    .human(
        "Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 635) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537",
        .ie, 11, .other, .mobile),

    // MARK: Search engines
    .bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", .googlebot),
    .bot(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        .googlebot),
    .bot("Googlebot-Image/1.0", .googlebot),
    .bot("AdsBot-Google (+http://www.google.com/adsbot.html)", .googleOther),
    .bot("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", .bingbot),
    .bot(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        .bingbot),
    .bot("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", .yandexbot),
    .bot(
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        .baiduspider),
    .bot("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", .duckduckbot),
    .bot(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        .applebot),
    .bot("Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)", .sogou),
    .bot(
        "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)",
        .seznambot),
    .bot("Mozilla/5.0 (compatible; Exabot/3.0; +http://www.exabot.com/go/robot)", .exabot),
    .bot("ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)", .iaArchiver),
    .bot(
        "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot) Zeno/b2a5d8e warc/v0.8.41",
        .archiveOrg),
    .bot(
        "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        .petalbot),

    // MARK: AI crawlers
    .bot(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
        .gptbot),
    .bot(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        .claudebot),
    .bot("CCBot/2.0 (https://commoncrawl.org/faq/)", .ccbot),
    .bot(
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        .bytespider),
    .bot(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot) Chrome/119.0.6045.214 Safari/537.36",
        .amazonbot),

    // MARK: SEO tools
    .bot("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", .ahrefsbot),
    .bot("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", .semrushbot),
    .bot("Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)", .mj12bot),
    .bot(
        "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
        .dotbot),
    .bot("Mozilla/5.0 (compatible; Barkrowler/0.9; +https://babbar.tech/crawler)", .barkrowler),

    // MARK: Link previews
    .bot(
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        .facebookexternalhit),
    .bot("Twitterbot/1.0", .twitterbot),
    .bot(
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        .linkedinbot),
    .bot("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", .slackbot),
    .bot("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", .discordbot),
    .bot("TelegramBot (like TwitterBot)", .telegrambot),
    .bot("WhatsApp/2.23.24.76 A", .whatsapp),

    // MARK: Monitoring
    .bot("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", .uptimerobot),
    .bot("Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)", .pingdom),
    .bot("Mozilla/5.0 (compatible; StatusCake)", .statuscake),
    .bot("Site24x7", .site24x7),
    .bot("Datadog/Synthetics", .datadog),
    .bot("NewRelicPinger/1.0 (1234567)", .newrelic),
    .bot(
        "Better Uptime Bot Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.93 Safari/537.36",
        .betterUptime),
    .bot("ELB-HealthChecker/2.0", .healthCheck),
    .bot("kube-probe/1.28", .healthCheck),
    .bot(
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        .lighthouse),

    // MARK: HTTP libraries and tools
    .bot("curl/8.4.0", .curl),
    .bot("Wget/1.21.4", .wget),
    .bot("python-requests/2.31.0", .pythonRequests),
    .bot("Python-urllib/3.11", .pythonUrllib),
    .bot("Python/3.11 aiohttp/3.9.1", .aiohttp),
    .bot("python-httpx/0.25.2", .httpx),
    .bot("Go-http-client/1.1", .goHttpClient),
    .bot("Go-http-client/2.0", .goHttpClient),
    .bot("okhttp/4.12.0", .okhttp),
    .bot("Java/17.0.9", .java),
    .bot("Java/1.8.0_392", .java),
    .bot("Apache-HttpClient/4.5.14 (Java/17.0.9)", .apacheHttpclient),
    .bot("libwww-perl/6.72", .libwwwPerl),
    .bot("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", .nodeFetch),
    .bot("axios/1.6.2", .axios),
    .bot("aws-cli/2.15.0 Python/3.11.6 Linux/6.1.61 exe/x86_64.debian.12 prompt/off command/s3.cp", .awsCLI),
    .bot("aws-cli/1.18.69 Python/3.7.4 Linux/4.14.177 botocore/1.16.19", .awsCLI),
    .bot(
        "aws-sdk-java/1.12.500 Linux/5.10.184 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS java/17.0.8 vendor/Amazon.com_Inc.",
        .awsSDK),
    .bot("aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.40.0", .awsSDK),
    .bot("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1.61 md/arch#x86_64 lang/python#3.11.6", .awsSDK),
    .bot("S3Console/0.4", .awsConsole),
    .bot("apitools gsutil/4.13 (linux2) Cloud SDK Command Line Tool 0.9.65", .gcloudCLI),
    .bot("apitools Python/3.11.2 gsutil/5.27 (linux) analytics/disabled interactive/True command/cp", .gcloudCLI),
    .bot(
        "google-cloud-sdk gcloud/456.0.0 command/gcloud.storage.cp invocation-id/0f3c environment/None "
            + "environment-version/None client-os/LINUX client-os-ver/6.1.0 client-pltf-arch/x86_64 "
            + "interactive/True from-script/False python/3.11.6 term/xterm (Linux 6.1.0)",
        .gcloudCLI),
    .bot("gcloud-python/2.14.0 gl-python/3.11.6 grpc/1.59.0 gax/2.14.0 gccl/2.14.0", .googleCloudSDK),
    .bot("gcloud-golang-storage/20151204 gl-go/1.21.1 gccl/1.35.1", .googleCloudSDK),
    .bot("google-api-go-client/0.5 gdcl/0.150.0", .googleCloudSDK),
    .bot("google-api-python-client/2.108.0 (gzip)", .googleCloudSDK),
    .bot(
        "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217 OpenJDK_64-Bit_Server_VM/25.412-b09]",
        .awsConsole),
    .bot("Ruby", .ruby),
    .bot("GuzzleHttp/7", .php),
    .bot("Scrapy/2.11.0 (+https://scrapy.org)", .scrapy),
    .bot("HTTPie/3.2.2", .httpie),
    .bot("PostmanRuntime/7.36.0", .postman),
    .bot("insomnia/2023.5.8", .insomnia),
    .bot("Prometheus/2.45.0", .prometheus),
    .bot("Blackbox Exporter/0.24.0", .prometheus),
    .bot("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 5 subscribers)", .feedly),
    .bot("Mozilla/5.0 (compatible; Inoreader/1.0; 3 subscribers; https://www.inoreader.com)", .inoreader),
    .bot("NewsBlur Feed Fetcher - 12 subscribers - https://www.newsblur.com/site/123/example", .newsblur),
    .bot("Feedbin feed-id:1234 - 5 subscribers", .feedbin),
    .bot("WordPress/6.4.2; https://www.example.org", .wordpress),
    .bot("FeedBurner/1.0 (http://www.FeedBurner.com)", .feedburner),
    .bot("UniversalFeedParser/5.2.1 +https://code.google.com/p/feedparser/", .feedparser),
    .bot("SimplePie/1.8.0 (Feed Parser; http://simplepie.org; Allow like Gecko)", .simplepie),
    .bot("Mozilla/5.0 (compatible; theoldreader.com)", .theoldreader),
    .bot("Tiny Tiny RSS/23.04 (https://tt-rss.org/)", .ttRSS),
    .bot("Reeder/2.1.1 CFNetwork/672.0.8 Darwin/14.0.0", .reeder),
    .bot("Reeder/5040 CFNetwork/1410.0.3 Darwin/22.6.0", .reeder),
    .bot("NetNewsWire (RSS Reader; https://netnewswire.com/)", .netnewswire),
    .bot("Newsify/120 CFNetwork/672.0.8 Darwin/14.0.0", .newsify),
    .bot("ReadKit/2.6.4 CFNetwork/1335.0.3 Darwin/21.6.0", .readkit),
    .bot("Fiery%20Feeds/2.3.1 CFNetwork/1240.0.4 Darwin/20.6.0", .fieryFeeds),
    .bot("FreshRSS/1.23.1 (Linux; https://freshrss.org)", .freshrss),
    .bot("Mozilla/5.0 (compatible; Miniflux/2.0.51; +https://miniflux.app)", .miniflux),
    .bot("Liferea/1.14.5 (Linux; en_US.UTF-8; https://lzone.de/liferea/)", .liferea),
    .bot(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.11; rv:49.0) Gecko/20100101 Firefox/49.0 (FlipboardProxy/1.2; +http://flipboard.com/browserproxy)",
        .flipboard),
    .bot(
        "Mozilla/5.0 (compatible; Linux x86_64; Mail.RU_Bot/2.0; +https://help.mail.ru/webmaster/indexing/robots)",
        .mailru),
    .bot("Mozilla/5.0 (compatible; Dataprovider.com)", .dataprovider),
    .bot("Faraday v2.7.11", .faraday),
    .bot("Safari/9537.73.11 CFNetwork/673.0.3 Darwin/13.0.0 (x86_64) (MacBookPro8%2C1)", .safariFetcher),
    .bot("Safari/19618.1.15.11.14 CFNetwork/1494.0.7 Darwin/23.4.0", .safariFetcher),
    .bot("MobileSafari/9537.53 CFNetwork/672.0.8 Darwin/14.0.0", .safariFetcher),
    .bot("MobileSafari/604.1 CFNetwork/1410.0.3 Darwin/22.6.0", .safariFetcher),

    // MARK: Headless browsers
    .bot(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
        .headlessChrome),
    .bot(
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        .phantomjs),

    // MARK: Generic marks (example.com agents: names no list has)
    .bot("ExampleBot/1.0", .otherBot),
    .bot("Mozilla/5.0 (compatible; ExampleCrawler/2.1)", .otherBot),
    .bot("example-spider/0.3", .otherBot),
    .bot("Mozilla/5.0 (compatible; Example-Scanner/1.0)", .otherBot),
    .bot("Mozilla/5.0 (compatible; example-fetch/1.0; +https://example.com/about)", .otherBot),
    .bot("Mozilla/5.0 (compatible; example_bot_v2)", .otherBot),
    // Feed fetchers and other agents that carry a URL, a contact address or a subscriber count.
    .bot("ExampleFeedParser/4.2 +http://feeds.example.com/", .otherBot),
    .bot("Example Tiny Reader/1.11 (http://reader.example.org/)", .otherBot),
    .bot("ExampleFeeds/1.0 (https://www.example.net)", .otherBot),
    .bot("Mozilla/5.0 (compatible; ExampleIndex/1.0; help@example.com)", .otherBot),
    .bot("Mozilla/5.0 (compatible; reader.example.com; 12 subscribers)", .otherBot),
    .bot("ExampleReader feed-id:1234 - 5 subscribers", .otherBot),
    // Link checkers, fetchers no list names, an empty compatible comment, a bare Mozilla/4.0.
    .bot("Xenu Link Sleuth/1.3.8", .otherBot),
    .bot("Example CMS Link Validator", .otherBot),
    .bot("LinkChecker/10.2 (+example)", .otherBot),
    .bot("fetch libfetch/2.0", .otherBot),
    .bot("portscout/0.8.1", .otherBot),
    .bot("Mozilla/4.0 (compatible;)", .otherBot),
    .bot("Mozilla/4.0", .otherBot),

    // MARK: Mail image proxies
    .proxy(
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        .googleImageProxy),
    .proxy("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", .yahooMailProxy),
    .proxy("Mozilla/5.0", .appleMPP),

    // MARK: Missing user agent
    .bot("", .noUserAgent),
    .bot("-", .noUserAgent),

    // MARK: Near misses
    // Only the exact bare string is Apple's proxy.
    .human("Mozilla/5.0 ", .other, 0, .unknown, .other),
    .human("mozilla/5.0", .other, 0, .unknown, .other),
    // "Ruby" counts only at the start; "bot" followed by letters is no mark.
    .human(
        "Mozilla/5.0 (Linux; Android 12; Ruby Botswana) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        .chrome, 120, .android, .mobile),
]

/// Classifies a Swift string's UTF-8 bytes.
private func classifyUA(_ classifier: UserAgentClassifier, _ ua: String) -> UserAgentClass {
    var ua = ua
    return ua.withUTF8 { classifier.classify($0) }
}

/// Every label a classification can produce, from the closed enums.
private let labelVocabulary: Set<String> = Set(
    BrowserFamily.allCases.map(\.label) + OSFamily.allCases.map(\.label)
        + DeviceClass.allCases.map(\.label) + AgentKind.allCases.map(\.label)
        + BotName.allCases.map(\.label))

/// The labels of one classification (what CSV output may contain besides the major version).
private func labels(_ c: UserAgentClass) -> [String] {
    [c.browser.label, c.os.label, c.device.label, c.kind.label] + (c.botName.map { [$0.label] } ?? [])
}

@Suite("User-agent classification")
struct UserAgentClassifierTests {
    let classifier = UserAgentClassifier()

    @Test("the table has enough rows and covers every kind")
    func tableCoverage() {
        #expect(userAgentTable.count >= 70)
        let kinds = Set(userAgentTable.map(\.expected.kind))
        #expect(kinds == Set(AgentKind.allCases))
        let devices = Set(userAgentTable.map(\.expected.device))
        #expect(devices == Set(DeviceClass.allCases))
    }

    @Test("real-world user agents", arguments: userAgentTable)
    func realWorld(_ row: ClassifyUACase) {
        let got = classifyUA(classifier, row.ua)
        #expect(got == row.expected)
        #expect(got.isBot == (row.expected.kind == .bot))
    }

    @Test("bots and mail proxies carry no browser, version or OS")
    func nonHumansAreBare() {
        for row in userAgentTable where row.expected.kind != .human {
            let got = classifyUA(classifier, row.ua)
            #expect(got.browser == .unknown && got.browserMajor == 0 && got.os == .unknown, "\(row.ua)")
            #expect(got.botName != nil, "\(row.ua)")
        }
        for row in userAgentTable where row.expected.kind == .human {
            #expect(classifyUA(classifier, row.ua).botName == nil, "\(row.ua)")
        }
    }

    @Test("matching is case-insensitive")
    func caseInsensitive() {
        #expect(classifyUA(classifier, "GOOGLEBOT/2.1").botName == .googlebot)
        #expect(classifyUA(classifier, "CURL/7.88.1").botName == .curl)
        #expect(classifyUA(classifier, "googleimageproxy").kind == .mailProxy)
        let upper = classifyUA(
            classifier,
            "MOZILLA/5.0 (WINDOWS NT 10.0; WIN64; X64) APPLEWEBKIT/537.36 (KHTML, LIKE GECKO) CHROME/120.0.0.0 SAFARI/537.36"
        )
        #expect(upper == UserAgentClass(browser: .chrome, browserMajor: 120, os: .windows, device: .desktop))
    }

    @Test("major versions: missing, huge and odd numbers")
    func majorVersions() {
        let rows: [(String, UInt16, String)] = [
            ("Mozilla/5.0 (X11; Linux x86_64) Chrome/ Safari/537.36", 0, "no digits after the token"),
            ("Mozilla/5.0 (X11; Linux x86_64) Chrome/99999999.0 Safari/537.36", 0, "does not fit UInt16"),
            ("Mozilla/5.0 (X11; Linux x86_64) Chrome/65535.1 Safari/537.36", 65535, "largest UInt16"),
            ("Mozilla/5.0 (X11; Linux x86_64) Chrome/7 Safari/537.36", 7, "number at the end of the token"),
            ("Mozilla/5.0 (X11; Linux x86_64) Chrome/120", 120, "number at the end of the string"),
        ]
        for (ua, major, reason) in rows {
            let got = classifyUA(classifier, ua)
            #expect(got.browser == .chrome, "\(reason)")
            #expect(got.browserMajor == major, "\(reason)")
        }
        let trident: [(String, UInt16, String)] = [
            ("Mozilla/5.0 (Windows NT 6.1; Trident/65535.0; rv:11.0) like Gecko", 0, "bogus engine"),
            ("Mozilla/5.0 (Windows NT 6.1; Trident/; rv:11.0) like Gecko", 0, "engine without digits"),
            ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)", 8, "Trident 4 is IE 8"),
        ]
        for (ua, major, reason) in trident {
            let got = classifyUA(classifier, ua)
            #expect(got.browser == .ie, "\(reason)")
            #expect(got.browserMajor == major, "\(reason)")
        }
    }

    @Test("labels form a fixed vocabulary that never echoes the input")
    func labelVocabularyIsClosed() {
        // Every label is short lower-case ASCII that a spreadsheet will not read as a formula.
        for label in labelVocabulary {
            #expect(!label.isEmpty && label.count <= 24, "\(label)")
            #expect(
                label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D },
                "\(label)")
            #expect(!label.hasPrefix("-"), "\(label)")
        }
        // Labels are unique within each enum.
        #expect(Set(BrowserFamily.allCases.map(\.label)).count == BrowserFamily.allCases.count)
        #expect(Set(OSFamily.allCases.map(\.label)).count == OSFamily.allCases.count)
        #expect(Set(DeviceClass.allCases.map(\.label)).count == DeviceClass.allCases.count)
        #expect(Set(AgentKind.allCases.map(\.label)).count == AgentKind.allCases.count)
        #expect(Set(BotName.allCases.map(\.label)).count == BotName.allCases.count)

        // Inputs: the table, plus agents with a unique marker in every position a token can
        // take, plus pseudo-random bytes.
        let marker = "zq8xw3kv"
        var inputs = userAgentTable.map(\.ua)
        inputs += [
            "\(marker)bot/1.0", "Mozilla/5.0 (compatible; \(marker)Crawler/1.0)",
            "Mozilla/5.0 (X11; \(marker) x86_64) \(marker)/1.0 Chrome/120.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 14; \(marker)) Chrome/120.0 Mobile Safari/537.36",
            "\(marker)/9.9 (\(marker); \(marker))", "Mozilla/5.0 (\(marker)) Version/17.0 Safari/1",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<300 {
            var bytes: [UInt8] = []
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(state >> 58)  // 0...63
            for _ in 0..<length {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(UInt8(truncatingIfNeeded: state >> 33))
            }
            inputs.append(String(decoding: bytes, as: UTF8.self))
        }
        var seen: Set<String> = []
        for ua in inputs {
            let got = classifyUA(classifier, ua)
            for label in labels(got) {
                #expect(labelVocabulary.contains(label), "\(label) from \(ua)")
                #expect(!label.contains(marker))
                seen.insert(label)
            }
        }
        #expect(seen.isSubset(of: labelVocabulary))
        // Random bytes never crash and non-ASCII bytes match no token.
        let binary: [UInt8] = [0xFF, 0xC3, 0x28, 0x00, 0x80, 0x47, 0x6F]
        let got = binary.withUnsafeBufferPointer { classifier.classify($0) }
        #expect(got == UserAgentClass(browser: .other, os: .unknown, device: .other))
    }

    @Test("generic bot rule: 'bot' must end a word and 'Cubot' is a phone")
    func genericBotRule() {
        let rows: [(String, Bool, String)] = [
            ("SomeBot", true, "bot ending the string"),
            ("somebot/1.0", true, "bot before '/'"),
            ("x_bot_y", true, "bot between underscores"),
            ("bot", true, "the bare word"),
            ("Bot2", true, "bot followed by a digit"),
            ("Botswana", false, "bot followed by letters"),
            ("Cubot P40", false, "Cubot phone"),
            ("CUBOT_NOTE_20", false, "Cubot phone, upper case, underscore"),
            ("XCubot", true, "a longer word ending in cubot is not the phone maker"),
            ("WebCrawl", true, "crawl inside a word"),
            ("MegaSpider", true, "spider inside a word"),
            ("Example Slurp", true, "slurp"),
            ("Scanner", true, "scan inside a word"),
            ("x (+https://example.com)", true, "+http info link"),
            ("x (http://example.com/about)", true, "a URL"),
            ("x/1.0 (HTTPS://EXAMPLE.COM)", true, "a URL, upper case"),
            ("x/1.0; ops@example.org", true, "an e-mail address"),
            ("x/1.0; ops@ex-ample.org)", true, "an e-mail address, a hyphen in the domain"),
            ("x/1.0 (1 subscriber)", true, "a subscriber count"),
            ("W3C_Validator/1.3", true, "a validator"),
            ("Example Link Checker", true, "a link checker"),
            ("Mozilla/5.0 (compatible;)", true, "an empty compatible comment"),
            ("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", false, "Internet Explorer 6"),
            ("Mozilla/4.0 ", false, "not the bare string"),
            ("mozilla/4.0", false, "the bare string is case-sensitive"),
            ("x/1.0 (a @ b.c)", false, "an @ between spaces is no address"),
            ("x/1.0 (a@b)", false, "an @ without a domain's dot"),
            ("x/1.0 (a@b.)", false, "a dot ending the agent"),
            ("x/1.0 (@example.com)", false, "nothing before the @"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) http/2 Chrome/120.0", false, "http without ://"),
            ("Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0", false, "a browser"),
        ]
        for (ua, isBot, reason) in rows {
            let got = classifyUA(classifier, ua)
            #expect(got.isBot == isBot, "\(reason)")
            #expect((got.botName == .otherBot) == isBot, "\(reason)")
        }
    }
}
