/// Classifies a user-agent string into browser family, major version, OS, device and kind.
///
/// Works on bytes: case-insensitive ASCII substring search against tokens prepared once, no
/// `String`, no regular expressions, no allocation per call. Callers cache the result per
/// distinct user agent; one classification takes about a microsecond.
///
/// Rules, in order (the first that applies decides):
/// 1. **No user agent.** Empty, or exactly `-` → bot `no-user-agent`.
/// 2. **Named agents.** A list of tokens, each naming a mail proxy or a bot, searched
///    case-insensitively anywhere in the string; the earliest token in list order wins.
///    Mail image proxies come first (`GoogleImageProxy`, `YahooMailProxy`) → kind `mailProxy`.
///    Then crawlers (search, AI, SEO, link previews), monitors, headless browsers, scanners,
///    HTTP libraries and command-line tools → kind `bot`. `Ruby` counts only at the start.
/// 3. **Generic bot marks** → bot `other-bot`, case-insensitively:
///    - `crawl`, `spider`, `slurp` or `scan` anywhere (also inside words: `Crawler`,
///      `Scanner`, `WebCrawl`);
///    - `bot` ending a word, i.e. not followed by an ASCII letter (`Googlebot/`, `FooBot`,
///      `Pingdom.com_bot_`), except the word `Cubot` (a phone maker whose model names appear
///      in Android user agents). `bot` followed by letters (`Botswana`, `Bottle`) is no mark;
///    - a URL, `http://` or `https://` (the `+http://…` info link crawlers put in their user
///      agent, as do feed fetchers, monitors and HTTP libraries; browsers never do), and
///      `+http`;
///    - an e-mail address (a contact for the operator: `help@moz.com`), as paths' e-mail
///      segments are recognised (`URLRedactor.isEmail`);
///    - `subscriber` (feed fetchers report how many subscribers a feed has: `5 subscribers`);
///    - `validator`, `linkcheck`, `link check`, `sleuth` (link checkers: `Xenu Link Sleuth`,
///      `eZ Publish Link Validator`), `libfetch` and `portscout` (fetchers no list names);
///    - `compatible;)`: an empty `(compatible;)` comment, which no browser sends;
///    - the bare string `Mozilla/4.0` (nothing before or after, case-sensitive).
/// 4. **Apple Mail Privacy Protection.** A user agent that is exactly `Mozilla/5.0` (nothing
///    before or after, case-sensitive) → mail proxy `apple-mpp`. Apple's proxy fetches remote
///    images with this bare string; no browser sends it. This is a heuristic: any other client
///    sending the bare string is counted as Apple's proxy too.
/// 5. **People.** OS, browser and device are read independently:
///    - OS: `Windows Phone` → other; `iPad` → ipados; `iPhone`/`iPod` → ios; `Android` →
///      android; `CrOS` → chromeos; BSDs, SunOS, KaiOS, Tizen, webOS, consoles → other;
///      `Windows` → windows; `Macintosh`/`Mac OS X` → macos; `Linux`/`X11` → linux; else
///      unknown.
///    - Browser, first match: `Edg/` `EdgA/` `EdgiOS/` `Edge/` → edge; `OPR/` `OPiOS/`
///      `Opera Mini/` `Opera` → opera; `SamsungBrowser/`; `YaBrowser/`; `UCBrowser/` `UCWEB`;
///      `Vivaldi/`; `DuckDuckGo/` `Ddg/`; `Silk/`; Android with `; wv)` or with both
///      `Version/` and `Chrome/` → webview; `Chromium/`; `Chrome/` `CriOS/` → chrome;
///      `FxiOS/` `Firefox/` → firefox; `Version/` with `Safari/` → safari, on Android
///      android-browser (the stock browser before Chrome);
///      `Trident/n` → ie n+4, `MSIE n` → ie n; iOS/iPadOS `AppleWebKit` without the above →
///      webview; else other.
///    - Device: TV and console marks (`SMART-TV`, `CrKey`, `BRAVIA`, `AppleTV`, `HbbTV`,
///      `Web0S`, `Roku`, `Xbox`, `PlayStation`, `Nintendo`, `OculusBrowser`) → other; iPadOS →
///      tablet; iOS → mobile; `Tablet` (not on Windows, where `Tablet PC` is a desktop),
///      `Kindle`, `Silk/` → tablet; `Mobi`, `Opera Mini/` → mobile; Android without `Mobi`
///      → tablet; Windows, macOS, Linux, ChromeOS → desktop; else other.
///    - OS, browser and device tokens count only at the start of a word (the byte before is
///      not an ASCII letter): `HeadlessChrome/` is not `Chrome/`, `Microsoft` is not `CrOS`.
///
/// Bots and mail proxies get `browser == .unknown`, `browserMajor == 0`, `os == .unknown` and
/// device `.bot` (bots) or `.other` (mail proxies).
public struct UserAgentClassifier: Sendable {
    private let agents: ByteNeedleSet
    private let agentNames: [BotName]

    /// The agent tokens' tables and names, built once per process: every aggregator has a
    /// classifier (building the tables costs about a millisecond).
    private static let shared: (agents: ByteNeedleSet, names: [BotName]) = {
        let rules = agentRules
        return (
            ByteNeedleSet(rules.map { (text: $0.token, anchor: $0.anchored ? .start : .anywhere) }), rules.map(\.name)
        )
    }()

    public init() {
        (agents, agentNames) = Self.shared
    }

    /// Classifies one user-agent string as written in the log.
    ///
    /// - Parameter ua: the user agent's bytes (any bytes; non-ASCII bytes never match a token).
    /// - Returns: the classification; it never contains bytes of `ua`.
    /// - Complexity: O(`ua.count` × the few tokens sharing each byte), no allocation.
    public func classify(_ ua: UnsafeBufferPointer<UInt8>) -> UserAgentClass {
        if ua.isEmpty || (ua.count == 1 && ua[0] == UInt8(ascii: "-")) {
            return .noUserAgent
        }
        if let index = agents.firstMatch(in: ua) {
            let name = agentNames[index]
            switch name {
            case .googleImageProxy, .yahooMailProxy, .appleMPP: return .mailProxy(name)
            default: return .bot(name)
            }
        }
        if Self.hasBotWord(ua) || Self.hasEmailAddress(ua) || Self.isExactly(ua, "Mozilla/4.0") {
            return .bot(.otherBot)
        }
        if Self.isBareMozilla(ua) { return .mailProxy(.appleMPP) }

        return Self.person(ua)
    }

    // MARK: - Named agents

    /// One token naming a bot or mail proxy.
    private struct AgentRule {
        let token: String
        let name: BotName
        let anchored: Bool

        init(_ token: String, _ name: BotName, anchored: Bool = false) {
            self.token = token
            self.name = name
            self.anchored = anchored
        }
    }

    /// Tokens in priority order (case-insensitive; matched anywhere unless anchored).
    private static let agentRules: [AgentRule] = [
        // Mail image proxies.
        AgentRule("googleimageproxy", .googleImageProxy),
        AgentRule("yahoomailproxy", .yahooMailProxy),
        // Search engines.
        AgentRule("googlebot", .googlebot),
        AgentRule("adsbot-google", .googleOther),
        AgentRule("mediapartners-google", .googleOther),
        AgentRule("googleother", .googleOther),
        AgentRule("google-inspectiontool", .googleOther),
        AgentRule("storebot-google", .googleOther),
        AgentRule("apis-google", .googleOther),
        AgentRule("feedfetcher-google", .googleOther),
        AgentRule("google-read-aloud", .googleOther),
        AgentRule("google-site-verification", .googleOther),
        AgentRule("google-safety", .googleOther),
        AgentRule("google favicon", .googleOther),
        AgentRule("bingbot", .bingbot),
        AgentRule("msnbot", .bingbot),
        AgentRule("bingpreview", .bingbot),
        AgentRule("adidxbot", .bingbot),
        AgentRule("yandexbot", .yandexbot),
        AgentRule("yandexmobilebot", .yandexbot),
        AgentRule("yandeximages", .yandexbot),
        AgentRule("yandexmetrika", .yandexbot),
        AgentRule("yandexaccessibilitybot", .yandexbot),
        AgentRule("yandexrenderresourcesbot", .yandexbot),
        AgentRule("yandexfavicons", .yandexbot),
        AgentRule("yandexwebmaster", .yandexbot),
        AgentRule("mail.ru_bot", .mailru),
        AgentRule("baiduspider", .baiduspider),
        AgentRule("duckduckbot", .duckduckbot),
        AgentRule("duckduckgo-favicons-bot", .duckduckbot),
        AgentRule("applebot", .applebot),
        AgentRule("yahoo! slurp", .yahooSlurp),
        AgentRule("sogou web spider", .sogou),
        AgentRule("sogou inst spider", .sogou),
        AgentRule("sogou pic spider", .sogou),
        AgentRule("exabot", .exabot),
        AgentRule("seznambot", .seznambot),
        AgentRule("naverbot", .naver),
        AgentRule("yeti/", .naver),
        AgentRule("petalbot", .petalbot),
        AgentRule("aspiegelbot", .petalbot),
        AgentRule("qwantbot", .qwant),
        AgentRule("qwantify", .qwant),
        AgentRule("mojeekbot", .mojeek),
        AgentRule("coccocbot", .coccoc),
        AgentRule("daumoa", .daum),
        AgentRule("daum/", .daum),
        AgentRule("ia_archiver", .iaArchiver),
        AgentRule("archive.org_bot", .archiveOrg),
        AgentRule("heritrix", .archiveOrg),
        // AI crawlers and assistants.
        AgentRule("gptbot", .gptbot),
        AgentRule("chatgpt-user", .chatgptUser),
        AgentRule("oai-searchbot", .oaiSearchbot),
        AgentRule("claudebot", .claudebot),
        AgentRule("claude-web", .claudebot),
        AgentRule("claude-user", .claudebot),
        AgentRule("claude-searchbot", .claudebot),
        AgentRule("anthropic-ai", .claudebot),
        AgentRule("ccbot", .ccbot),
        AgentRule("perplexitybot", .perplexitybot),
        AgentRule("perplexity-user", .perplexitybot),
        AgentRule("bytespider", .bytespider),
        AgentRule("amazonbot", .amazonbot),
        AgentRule("meta-externalagent", .metaExternalAgent),
        AgentRule("meta-externalfetcher", .metaExternalAgent),
        AgentRule("facebookbot", .metaExternalAgent),
        AgentRule("diffbot", .diffbot),
        AgentRule("cohere-ai", .cohere),
        // SEO tools.
        AgentRule("ahrefsbot", .ahrefsbot),
        AgentRule("ahrefssiteaudit", .ahrefsbot),
        AgentRule("semrushbot", .semrushbot),
        AgentRule("siteauditbot", .semrushbot),
        AgentRule("mj12bot", .mj12bot),
        AgentRule("dotbot", .dotbot),
        AgentRule("blexbot", .blexbot),
        AgentRule("serpstatbot", .serpstatbot),
        AgentRule("dataforseobot", .dataforseobot),
        AgentRule("barkrowler", .barkrowler),
        AgentRule("screaming frog", .screamingFrog),
        AgentRule("rogerbot", .rogerbot),
        AgentRule("seekportbot", .seekport),
        AgentRule("dataprovider.com", .dataprovider),
        // Link previews and social networks.
        AgentRule("facebookexternalhit", .facebookexternalhit),
        AgentRule("facebookcatalog", .facebookexternalhit),
        AgentRule("linkedinbot", .linkedinbot),
        AgentRule("slackbot", .slackbot),
        AgentRule("slack-imgproxy", .slackbot),
        AgentRule("discordbot", .discordbot),
        AgentRule("telegrambot", .telegrambot),  // says "like TwitterBot"
        AgentRule("twitterbot", .twitterbot),
        AgentRule("whatsapp/", .whatsapp),
        AgentRule("pinterestbot", .pinterestbot),
        AgentRule("pinterest/0.", .pinterestbot),
        AgentRule("redditbot", .redditbot),
        AgentRule("embedly", .embedly),
        AgentRule("iframely", .iframely),
        AgentRule("skypeuripreview", .skypePreview),
        AgentRule("mastodon/", .mastodon),
        AgentRule("vkshare", .vkshare),
        // Monitoring.
        AgentRule("uptimerobot", .uptimerobot),
        AgentRule("pingdom", .pingdom),
        AgentRule("statuscake", .statuscake),
        AgentRule("site24x7", .site24x7),
        AgentRule("datadog", .datadog),
        AgentRule("newrelicpinger", .newrelic),
        AgentRule("better uptime", .betterUptime),
        AgentRule("betteruptime", .betterUptime),
        AgentRule("better stack", .betterUptime),
        AgentRule("uptime-kuma", .uptimeKuma),
        AgentRule("checkly", .checkly),
        AgentRule("freshping", .freshping),
        AgentRule("hetrixtools", .hetrixtools),
        AgentRule("zabbix", .zabbix),
        AgentRule("check_http", .nagios),
        AgentRule("nagios", .nagios),
        AgentRule("chrome-lighthouse", .lighthouse),
        AgentRule("ptst/", .webpagetest),
        AgentRule("gtmetrix", .gtmetrix),
        AgentRule("healthcheck", .healthCheck),
        AgentRule("health-check", .healthCheck),
        AgentRule("googlehc/", .healthCheck),
        AgentRule("kube-probe/", .healthCheck),
        AgentRule("prometheus/", .prometheus),
        AgentRule("blackbox exporter/", .prometheus),
        // Feed readers and site software.
        AgentRule("feedly", .feedly),
        AgentRule("inoreader", .inoreader),
        AgentRule("newsblur", .newsblur),
        AgentRule("feedbin", .feedbin),
        AgentRule("feedburner", .feedburner),
        AgentRule("universalfeedparser", .feedparser),
        AgentRule("simplepie", .simplepie),
        AgentRule("theoldreader", .theoldreader),
        AgentRule("tiny tiny rss", .ttRSS),
        AgentRule("liferea/", .liferea),
        AgentRule("flipboardproxy", .flipboard),
        AgentRule("flipboardrss", .flipboard),
        AgentRule("reeder/", .reeder, anchored: true),
        AgentRule("netnewswire", .netnewswire, anchored: true),
        AgentRule("newsify/", .newsify, anchored: true),
        AgentRule("readkit/", .readkit, anchored: true),
        AgentRule("fiery%20feeds/", .fieryFeeds, anchored: true),
        AgentRule("fiery feeds/", .fieryFeeds, anchored: true),
        AgentRule("freshrss/", .freshrss, anchored: true),
        AgentRule("miniflux/", .miniflux),
        AgentRule("wordpress/", .wordpress),
        // Browsers' background fetches (a page load's user agent starts with `Mozilla/5.0 (`).
        AgentRule("safari/", .safariFetcher, anchored: true),
        AgentRule("mobilesafari/", .safariFetcher, anchored: true),
        // Headless and automated browsers.
        AgentRule("headlesschrome", .headlessChrome),
        AgentRule("phantomjs", .phantomjs),
        AgentRule("puppeteer", .puppeteer),
        AgentRule("selenium", .selenium),
        AgentRule("playwright", .playwright),
        AgentRule("cypress/", .cypress),
        // Scanners.
        AgentRule("zgrab", .zgrab),
        AgentRule("nmap scripting engine", .nmap),
        AgentRule("nikto", .nikto),
        AgentRule("sqlmap", .sqlmap),
        AgentRule("masscan", .masscan),
        // AWS clients (S3 server access logs), before the libraries their user agents name
        // (`java/`, `python/`); the console and the CLI name the SDKs they run on
        // (`[S3Console/0.4, aws-internal/3 aws-sdk-java/…]`, `… botocore/…`), so they come first.
        AgentRule("s3console/", .awsConsole),
        AgentRule("aws-cli/", .awsCLI),
        AgentRule("aws-sdk-", .awsSDK),
        AgentRule("boto3/", .awsSDK),
        AgentRule("botocore/", .awsSDK),
        // Google Cloud's clients (Cloud Storage usage logs), before the libraries theirs name
        // (`gcloud-python/3.1.0 gl-python/3.11.6 grpc/…`, `apitools Python/3.8 gsutil/5.27`).
        AgentRule("gsutil/", .gcloudCLI),
        AgentRule("google-cloud-sdk", .gcloudCLI),
        AgentRule("gcloud-", .googleCloudSDK),
        AgentRule("gccl/", .googleCloudSDK),
        AgentRule("google-api-", .googleCloudSDK),
        // HTTP libraries and command-line tools.
        AgentRule("curl/", .curl),
        AgentRule("libcurl", .curl),
        AgentRule("wget/", .wget),
        AgentRule("python-requests/", .pythonRequests),
        AgentRule("python-urllib/", .pythonUrllib),
        AgentRule("aiohttp/", .aiohttp),
        AgentRule("python-httpx/", .httpx),
        AgentRule("go-http-client/", .goHttpClient),
        AgentRule("apache-httpclient/", .apacheHttpclient),
        AgentRule("okhttp/", .okhttp),
        AgentRule("java-http-client", .java),
        AgentRule("java/", .java),
        AgentRule("libwww-perl/", .libwwwPerl),
        AgentRule("lwp-trivial", .libwwwPerl),
        AgentRule("node-fetch", .nodeFetch),
        AgentRule("undici", .nodeFetch),
        AgentRule("axios/", .axios),
        AgentRule("ruby", .ruby, anchored: true),
        AgentRule("php/", .php),
        AgentRule("guzzlehttp/", .php),
        AgentRule("scrapy/", .scrapy),
        AgentRule("httpie/", .httpie),
        AgentRule("postmanruntime/", .postman),
        AgentRule("insomnia/", .insomnia),
        AgentRule("faraday v", .faraday),
        AgentRule("powershell/", .powershell),
        AgentRule("(dart:io)", .dart),
        AgentRule("reqwest/", .reqwest),
        AgentRule("nutch", .nutch),
        AgentRule("mechanize", .mechanize),
        // Rule 3, generic marks found anywhere (after every named token).
        AgentRule("crawl", .otherBot),
        AgentRule("spider", .otherBot),
        AgentRule("slurp", .otherBot),
        AgentRule("scan", .otherBot),
        AgentRule("+http", .otherBot),
        AgentRule("http://", .otherBot),
        AgentRule("https://", .otherBot),
        AgentRule("subscriber", .otherBot),
        AgentRule("validator", .otherBot),
        AgentRule("linkcheck", .otherBot),
        AgentRule("link check", .otherBot),
        AgentRule("sleuth", .otherBot),
        AgentRule("libfetch", .otherBot),
        AgentRule("portscout", .otherBot),
        AgentRule("compatible;)", .otherBot),
    ]

    // MARK: - Generic bot marks

    private static let botWord = ByteNeedle("bot")

    /// Rule 3, the e-mail part: a word of the user agent (between spaces, `;`, `,`, brackets
    /// or parentheses) that is an e-mail address by the test paths are redacted with
    /// (`URLRedactor.isEmail`: `help@moz.com`).
    static func hasEmailAddress(_ ua: UnsafeBufferPointer<UInt8>) -> Bool {
        func ends(_ b: UInt8) -> Bool {
            b <= 0x20 || b == UInt8(ascii: ";") || b == UInt8(ascii: ",") || b == UInt8(ascii: "(")
                || b == UInt8(ascii: ")") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">")
        }
        var wordStart = 0
        var hasAt = false
        for i in 0...ua.count {
            if i < ua.count && !ends(ua[i]) {
                hasAt = hasAt || ua[i] == UInt8(ascii: "@")
                continue
            }
            if hasAt, URLRedactor.isEmail(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: ua[wordStart..<i]))) {
                return true
            }
            wordStart = i + 1
            hasAt = false
        }
        return false
    }

    /// Rule 3, the `bot` part: `bot` ending a word (not followed by an ASCII letter), unless
    /// the word is `Cubot`. (`crawl`, `spider`, `slurp`, `scan`, the URL marks and
    /// `subscriber` are the last entries of the named-agent list.)
    static func hasBotWord(_ ua: UnsafeBufferPointer<UInt8>) -> Bool {
        var from = 0
        while let i = botWord.firstIndex(in: ua, from: from) {
            from = i + 1
            let end = i + 3
            if end < ua.count && ClassifyBytes.isLetter(ua[end]) { continue }
            let isCubot =
                i >= 2 && ClassifyBytes.lowercased(ua[i - 2]) == UInt8(ascii: "c")
                && ClassifyBytes.lowercased(ua[i - 1]) == UInt8(ascii: "u")
                && (i == 2 || !ClassifyBytes.isLetter(ua[i - 3]))
            if isCubot { continue }
            return true
        }
        return false
    }

    /// Rule 4: the user agent is exactly `Mozilla/5.0`.
    static func isBareMozilla(_ ua: UnsafeBufferPointer<UInt8>) -> Bool {
        isExactly(ua, "Mozilla/5.0")
    }

    /// Whether `ua` is `text`, byte for byte.
    static func isExactly(_ ua: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        guard ua.count == text.utf8CodeUnitCount else { return false }
        return text.withUTF8Buffer { text in
            for k in 0..<text.count where ua[k] != text[k] { return false }
            return true
        }
    }

    // MARK: - People

    /// OS, browser and device of a person's user agent, from one scan of its tokens.
    static func person(_ ua: UnsafeBufferPointer<UInt8>) -> UserAgentClass {
        UserAgentTokens.scan(ua) { tokens in
            let os = operatingSystem(tokens)
            let (browser, major) = browser(tokens, os: os)
            return UserAgentClass(
                browser: browser, browserMajor: major, os: os, device: device(tokens, os: os))
        }
    }

    /// The OS family from the first matching OS token (see the type's rules).
    static func operatingSystem(_ t: UserAgentTokens) -> OSFamily {
        if t.has(.windowsPhone) { return .other }
        if t.has(.iPad) { return .ipados }
        if t.has(.iPhone) || t.has(.iPod) { return .ios }
        if t.has(.android) { return .android }
        if t.has(.crOS) { return .chromeos }
        if t.has(.freeBSD) || t.has(.openBSD) || t.has(.netBSD) || t.has(.sunOS) || t.has(.kaiOS)
            || t.has(.tizen) || t.has(.web0S) || t.has(.webOS) || t.has(.playStation)
            || t.has(.nintendo) || t.has(.openHarmony) || t.has(.harmonyOS)
        {
            return .other
        }
        if t.has(.windows) { return .windows }
        if t.has(.macintosh) || t.has(.macOSX) || t.has(.macPowerPC) { return .macos }
        if t.has(.linux) || t.has(.x11) { return .linux }
        return .unknown
    }

    /// Browser family and major version from the first matching browser token.
    static func browser(_ t: UserAgentTokens, os: OSFamily) -> (BrowserFamily, UInt16) {
        let ua = t.ua
        if let v = t.version(.edg) ?? t.version(.edgA) ?? t.version(.edgiOS) ?? t.version(.edgeLegacy) {
            return (.edge, v)
        }
        if let v = t.version(.opr) ?? t.version(.opiOS) ?? t.version(.operaMini) { return (.opera, v) }
        if let end = t.end(.opera) {
            // Presto Opera: `Opera/9.80 (...) Presto/2.12 Version/12.16`; the real version
            // follows `Version/` when present.
            if let v = t.version(.version) { return (.opera, v) }
            let digits = end < ua.count && ua[end] == UInt8(ascii: "/") ? end + 1 : end
            return (.opera, major(ua, at: digits))
        }
        if let v = t.version(.samsungBrowser) { return (.samsung, v) }
        if let v = t.version(.yaBrowser) { return (.yandex, v) }
        if let v = t.version(.ucBrowser) { return (.ucbrowser, v) }
        if t.has(.ucWeb) { return (.ucbrowser, 0) }
        if let v = t.version(.vivaldi) { return (.vivaldi, v) }
        if let v = t.version(.duckDuckGo) ?? t.version(.ddg) { return (.duckduckgo, v) }
        if let v = t.version(.silk) { return (.silk, v) }
        if os == .android && (t.has(.androidWebView) || (t.has(.chrome) && t.has(.version))) {
            return (.webview, t.version(.chrome) ?? 0)
        }
        if let v = t.version(.chromium) { return (.chromium, v) }
        if let v = t.version(.chrome) ?? t.version(.criOS) { return (.chrome, v) }
        if let v = t.version(.fxiOS) ?? t.version(.firefox) { return (.firefox, v) }
        if let v = t.version(.version), t.has(.safari) { return (os == .android ? .androidBrowser : .safari, v) }
        if let engine = t.version(.trident) {
            // Trident 4...7 are IE 8...11; a bogus engine number gives version 0.
            return (.ie, engine > 0 && engine < 100 ? engine + 4 : 0)
        }
        if let v = t.version(.msie) { return (.ie, v) }
        if (os == .ios || os == .ipados) && t.has(.appleWebKit) { return (.webview, 0) }
        return (.other, 0)
    }

    /// The decimal number starting at `index` (up to the first non-digit); 0 when there is no
    /// digit or the number does not fit `UInt16`.
    static func major(_ ua: UnsafeBufferPointer<UInt8>, at index: Int) -> UInt16 {
        var value = 0
        var i = index
        while i < ua.count, ClassifyBytes.isDigit(ua[i]) {
            value = value * 10 + Int(ua[i] &- UInt8(ascii: "0"))
            if value > Int(UInt16.max) { return 0 }
            i += 1
        }
        return UInt16(value)
    }

    // MARK: - Device

    /// Device class from TV/console marks, the OS and the `Mobi`/`Tablet` marks.
    static func device(_ t: UserAgentTokens, os: OSFamily) -> DeviceClass {
        if t.has(.smartTVDash) || t.has(.smartTV) || t.has(.smartSpaceTV) || t.has(.googleTV)
            || t.has(.androidTV) || t.has(.crKey) || t.has(.bravia) || t.has(.appleTV)
            || t.has(.appleSpaceTV) || t.has(.hbbTV) || t.has(.web0S) || t.has(.netCast)
            || t.has(.roku) || t.has(.xbox) || t.has(.playStation) || t.has(.nintendo)
            || t.has(.oculusBrowser)
        {
            return .other
        }
        switch os {
        case .ipados: return .tablet
        case .ios: return .mobile
        default: break
        }
        if (os != .windows && t.has(.tablet)) || t.has(.kindle) || t.has(.silk) { return .tablet }
        if t.has(.mobi) || t.has(.operaMini) { return .mobile }
        switch os {
        case .android: return .tablet
        case .windows, .macos, .linux, .chromeos: return .desktop
        default: return .other
        }
    }
}
