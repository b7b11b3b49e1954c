/// The tokens that tell a person's OS, browser and device, found in one pass over a user agent.
///
/// All match case-insensitively at the start of a word (offset 0 or after a byte that is not an
/// ASCII letter), so `HeadlessChrome/` holds no `Chrome/` and `Microsoft` no `CrOS`; only the
/// Android WebView mark `; wv)` matches anywhere.
enum UserAgentToken: Int, CaseIterable {
    // MARK: Operating systems
    case windowsPhone, iPad, iPhone, iPod, android, crOS
    case freeBSD, openBSD, netBSD, sunOS, kaiOS, tizen, web0S, webOS, playStation, nintendo
    case openHarmony, harmonyOS
    case windows, macintosh, macOSX, macPowerPC, linux, x11

    // MARK: Browsers
    case edg, edgA, edgiOS, edgeLegacy
    case opr, opiOS, operaMini, opera
    case samsungBrowser, yaBrowser, ucBrowser, ucWeb, vivaldi, duckDuckGo, ddg, silk
    case androidWebView, version, chromium, chrome, criOS, fxiOS, firefox, safari
    case trident, msie, appleWebKit

    // MARK: Devices
    case smartTVDash, smartTV, smartSpaceTV, googleTV, androidTV, crKey, bravia, appleTV
    case appleSpaceTV, hbbTV, netCast, roku, xbox, oculusBrowser
    case tablet, kindle, mobi

    /// The token's text (matched case-insensitively).
    var text: String {
        switch self {
        case .windowsPhone: "windows phone"
        case .iPad: "ipad"
        case .iPhone: "iphone"
        case .iPod: "ipod"
        case .android: "android"
        case .crOS: "cros "
        case .freeBSD: "freebsd"
        case .openBSD: "openbsd"
        case .netBSD: "netbsd"
        case .sunOS: "sunos"
        case .kaiOS: "kaios"
        case .tizen: "tizen"
        case .web0S: "web0s"
        case .webOS: "webos"
        case .playStation: "playstation"
        case .nintendo: "nintendo"
        case .openHarmony: "openharmony"
        case .harmonyOS: "harmonyos"
        case .windows: "windows"
        case .macintosh: "macintosh"
        case .macOSX: "mac os x"
        case .macPowerPC: "mac_powerpc"
        case .linux: "linux"
        case .x11: "x11"
        case .edg: "edg/"
        case .edgA: "edga/"
        case .edgiOS: "edgios/"
        case .edgeLegacy: "edge/"
        case .opr: "opr/"
        case .opiOS: "opios/"
        case .operaMini: "opera mini/"
        case .opera: "opera"
        case .samsungBrowser: "samsungbrowser/"
        case .yaBrowser: "yabrowser/"
        case .ucBrowser: "ucbrowser/"
        case .ucWeb: "ucweb"
        case .vivaldi: "vivaldi/"
        case .duckDuckGo: "duckduckgo/"
        case .ddg: "ddg/"
        case .silk: "silk/"
        case .androidWebView: "; wv)"
        case .version: "version/"
        case .chromium: "chromium/"
        case .chrome: "chrome/"
        case .criOS: "crios/"
        case .fxiOS: "fxios/"
        case .firefox: "firefox/"
        case .safari: "safari/"
        case .trident: "trident/"
        case .msie: "msie "
        case .appleWebKit: "applewebkit"
        case .smartTVDash: "smart-tv"
        case .smartTV: "smarttv"
        case .smartSpaceTV: "smart tv"
        case .googleTV: "googletv"
        case .androidTV: "android tv"
        case .crKey: "crkey"
        case .bravia: "bravia"
        case .appleTV: "appletv"
        case .appleSpaceTV: "apple tv"
        case .hbbTV: "hbbtv"
        case .netCast: "netcast"
        case .roku: "roku"
        case .xbox: "xbox"
        case .oculusBrowser: "oculusbrowser"
        case .tablet: "tablet"
        case .kindle: "kindle"
        case .mobi: "mobi"
        }
    }

    /// Where the token may match.
    var anchor: TokenAnchor { self == .androidWebView ? .anywhere : .wordStart }

    /// How many tokens there are (`allCases` builds an array on every use).
    static let count = allCases.count

    /// All tokens in one set, indexed by `rawValue`.
    static let set = ByteNeedleSet(allCases.map { (text: $0.text, anchor: $0.anchor) })
}

/// Where each `UserAgentToken` first occurs in one user agent.
struct UserAgentTokens {
    /// The user agent.
    let ua: UnsafeBufferPointer<UInt8>
    /// Per token (by `rawValue`), the offset just past its first occurrence, or -1.
    let ends: UnsafeMutableBufferPointer<Int32>

    /// Whether `token` occurs.
    @inline(__always) func has(_ token: UserAgentToken) -> Bool { ends[token.rawValue] >= 0 }

    /// The offset just past the first occurrence of `token`, or `nil`.
    @inline(__always) func end(_ token: UserAgentToken) -> Int? {
        let end = ends[token.rawValue]
        return end >= 0 ? Int(end) : nil
    }

    /// The major version after `token`, or `nil` when the token does not occur.
    @inline(__always) func version(_ token: UserAgentToken) -> UInt16? {
        end(token).map { UserAgentClassifier.major(ua, at: $0) }
    }

    /// Scans `ua` once and calls `body` with the token positions; no heap allocation.
    static func scan<R>(_ ua: UnsafeBufferPointer<UInt8>, _ body: (UserAgentTokens) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: UserAgentToken.count) { ends in
            UserAgentToken.set.scan(ua, ends: ends)
            return body(UserAgentTokens(ua: ua, ends: ends))
        }
    }
}
