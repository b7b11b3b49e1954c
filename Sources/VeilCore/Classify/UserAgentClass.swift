/// What a user-agent string says about the client, reduced to a fixed vocabulary.
///
/// A classification never holds bytes of the user-agent string: every field is a case of a
/// closed enum (whose `label` is the value written to CSV) or the browser's major version
/// number. Two different user agents that classify the same are indistinguishable afterwards,
/// which is the point: rollups may show browsers and devices, never full user agents.
///
/// Bots and mail proxies carry no browser, version or OS (`browser == .unknown`,
/// `browserMajor == 0`, `os == .unknown`): a crawler that claims to be Chrome on Android is not
/// a Chrome user, and these tables count people.
public struct UserAgentClass: Sendable, Hashable {
    /// Browser family; `.unknown` for bots and mail proxies.
    public var browser: BrowserFamily
    /// Major version of the browser (`120` for `Chrome/120.0.6099.71`); 0 when unknown.
    public var browserMajor: UInt16
    /// Operating system family; `.unknown` for bots and mail proxies.
    public var os: OSFamily
    /// Device class; `.bot` for bots, `.other` for mail proxies.
    public var device: DeviceClass
    /// Whether a person, a bot or a mail image proxy sent the request.
    public var kind: AgentKind
    /// Which bot or mail proxy it was; `nil` for people.
    public var botName: BotName?

    public init(
        browser: BrowserFamily, browserMajor: UInt16 = 0, os: OSFamily, device: DeviceClass,
        kind: AgentKind = .human, botName: BotName? = nil
    ) {
        self.browser = browser
        self.browserMajor = browserMajor
        self.os = os
        self.device = device
        self.kind = kind
        self.botName = botName
    }

    /// The class of a request whose log format has no User-Agent field (NCSA `common`): nothing
    /// is known about the client's software, and it counts as a person (an empty or `-` user
    /// agent *logged* is a bot's).
    public static let unlogged = UserAgentClass(browser: .unknown, os: .unknown, device: .other)

    /// True when a bot sent the request (crawler, monitor, HTTP library, headless browser,
    /// missing user agent). Mail proxies are not bots.
    @inlinable public var isBot: Bool { kind == .bot }

    /// A bot with the given name: no browser, version or OS.
    public static func bot(_ name: BotName) -> UserAgentClass {
        UserAgentClass(browser: .unknown, os: .unknown, device: .bot, kind: .bot, botName: name)
    }

    /// A mail image proxy with the given name: no browser, version or OS.
    public static func mailProxy(_ name: BotName) -> UserAgentClass {
        UserAgentClass(
            browser: .unknown, os: .unknown, device: .other, kind: .mailProxy, botName: name)
    }

    /// The classification of an empty or `-` user agent.
    public static let noUserAgent = UserAgentClass.bot(.noUserAgent)
}

/// Browser family, as far as the user-agent string tells it.
///
/// Brave, Arc and most other Chromium rebrands send Chrome's user agent unchanged and are
/// counted as `.chrome`; iPadOS Safari in its default desktop mode sends the macOS user agent
/// and is counted as Safari on macOS.
public enum BrowserFamily: UInt8, Sendable, Hashable, CaseIterable {
    case chrome
    /// Builds that name themselves `Chromium/` (some Linux distributions).
    case chromium
    /// Chromium Edge (`Edg/`, `EdgA/`, `EdgiOS/`) and legacy EdgeHTML Edge (`Edge/`).
    case edge
    case firefox
    case safari
    case opera
    /// Samsung Internet (`SamsungBrowser/`).
    case samsung
    case ucbrowser
    /// Yandex Browser (`YaBrowser/`).
    case yandex
    case vivaldi
    case duckduckgo
    /// Amazon Silk (Fire tablets).
    case silk
    /// Internet Explorer (`MSIE n`, or `Trident/7.0` for 11).
    case ie
    /// The Android Open Source Project's stock browser (Android 4.3 and older, and phone makers'
    /// builds of it): `Version/` and `Safari/` on Android without `Chrome/` (the WebViews of
    /// those Android versions send the same user agent and count here too).
    case androidBrowser
    /// An app's embedded browser: Android WebView (`; wv)`), iOS WKWebView (WebKit without
    /// `Version/`), in-app browsers of social and search apps.
    case webview
    /// A browser or app not in this list.
    case other
    /// Not a browser at all (bots, mail proxies), or not logged (`UserAgentClass.unlogged`).
    case unknown

    /// Stable lower-case label used in CSV output.
    public var label: String {
        switch self {
        case .chrome: "chrome"
        case .chromium: "chromium"
        case .edge: "edge"
        case .firefox: "firefox"
        case .safari: "safari"
        case .opera: "opera"
        case .samsung: "samsung"
        case .ucbrowser: "ucbrowser"
        case .yandex: "yandex"
        case .vivaldi: "vivaldi"
        case .duckduckgo: "duckduckgo"
        case .silk: "silk"
        case .ie: "ie"
        case .androidBrowser: "android-browser"
        case .webview: "webview"
        case .other: "other"
        case .unknown: "unknown"
        }
    }
}

/// Operating system family.
public enum OSFamily: UInt8, Sendable, Hashable, CaseIterable {
    case windows
    case macos
    /// iPhone and iPod touch.
    case ios
    /// iPad user agents that say `iPad` (iPadOS Safari's default desktop mode says `Macintosh`
    /// and is counted as `.macos`).
    case ipados
    case android
    case linux
    case chromeos
    /// A named system not in this list: BSDs, Windows Phone, KaiOS, Tizen, webOS, consoles.
    case other
    /// No operating system could be told (also bots and mail proxies).
    case unknown

    /// Stable lower-case label used in CSV output.
    public var label: String {
        switch self {
        case .windows: "windows"
        case .macos: "macos"
        case .ios: "ios"
        case .ipados: "ipados"
        case .android: "android"
        case .linux: "linux"
        case .chromeos: "chromeos"
        case .other: "other"
        case .unknown: "unknown"
        }
    }
}

/// Device class.
public enum DeviceClass: UInt8, Sendable, Hashable, CaseIterable {
    /// Windows, macOS, Linux and ChromeOS without a mobile or tablet mark.
    case desktop
    /// iPhone, iPod, Android with `Mobi`, anything else that says `Mobi`.
    case mobile
    /// iPad, Android without `Mobi`, `Tablet`, Kindle / Silk.
    case tablet
    /// Any bot.
    case bot
    /// TVs, consoles, VR headsets, mail proxies, and whatever could not be told.
    case other

    /// Stable lower-case label used in CSV output.
    public var label: String {
        switch self {
        case .desktop: "desktop"
        case .mobile: "mobile"
        case .tablet: "tablet"
        case .bot: "bot"
        case .other: "other"
        }
    }
}

/// Who sent a request, for counting purposes.
public enum AgentKind: UInt8, Sendable, Hashable, CaseIterable {
    /// A person's browser or app. Counted as visitors, pageviews, human opens.
    case human
    /// A crawler, monitor, script or headless browser. Counted only as bot requests.
    case bot
    /// A mail provider's image proxy fetching a message's images on the recipient's behalf.
    /// Counted as proxy opens, neither human nor bot.
    case mailProxy

    /// Stable lower-case label used in CSV output.
    public var label: String {
        switch self {
        case .human: "human"
        case .bot: "bot"
        case .mailProxy: "mail-proxy"
        }
    }
}
