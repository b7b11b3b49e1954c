/// What an e-mail event export says about the client that made an open or click, beyond its
/// user agent: SendGrid's `sg_machine_open: true` and Mailgun's `client-info.bot` of `apple` or
/// `gmail` name a mail proxy; any other non-empty bot value (Mailgun's `generic`) names an
/// automated client (a scanner).
public enum AutomationHint: UInt8, Sendable {
    case none = 0
    /// A mail provider's proxy (Apple Mail Privacy Protection, Gmail's image proxy).
    case proxy = 1
    /// A bot or security scanner.
    case bot = 2
}

/// How e-mail opens and clicks are found in server logs and classified.
///
/// Patterns use `URLPattern` syntax. An open pattern needs the captures `{campaign}` and
/// `{recipient}`; a click pattern needs `{campaign}` and `{recipient}` and may have `{link}`
/// (the link's name in the message; without it the link is `(unknown)`). Captured values are
/// percent-decoded (`+` stays `+`).
public struct EmailConfiguration: Sendable, Equatable {
    /// Open-pixel patterns, tried in order.
    public var openPatterns: [String] = Self.defaultOpenPatterns
    /// Click-redirect patterns, tried in order (after the open patterns).
    public var clickPatterns: [String] = Self.defaultClickPatterns
    /// User-agent substrings (ASCII, case-insensitive, at least two bytes) of security scanners
    /// and link checkers.
    public var scannerAgents: [String] = ScannerRules.defaultAgents
    /// Address ranges (`192.0.2.0/24`, `2001:db8::/32`) that only scanners click from.
    public var scannerNetworks: [String] = ScannerRules.defaultNetworks
    /// Most distinct campaign names kept; later new ones count under `(other)`.
    public var maxCampaigns = 10_000
    /// Most distinct link names kept; later new ones count under `(other)`.
    public var maxLinks = 50_000

    /// `/t/open.gif?m={campaign}&r={recipient}`: the open pixel as veil's generator and many
    /// home-grown mailers write it.
    public static let defaultOpenPatterns = ["/t/open.gif?m={campaign}&r={recipient}"]
    /// `/c/{campaign}/{link}?r={recipient}`: a click redirect naming campaign and link in the
    /// path and the recipient in the query.
    public static let defaultClickPatterns = ["/c/{campaign}/{link}?r={recipient}"]

    public init() {}

    /// Compiles the patterns and scanner rules.
    /// - Throws: `VeilError(.usage)` naming the first bad pattern, agent or address range.
    public func validate() throws(VeilError) {
        _ = try EmailPatterns(configuration: self)
        _ = try ScannerRules(agents: scannerAgents, networks: scannerNetworks)
        guard maxCampaigns >= 1, maxLinks >= 1 else {
            throw VeilError(.usage, "campaign and link caps must be positive")
        }
    }
}

/// The timing rules that turn clicks into scanner clicks at release. They are part of the
/// state's configuration (states made with other rules do not merge), so a release depends on
/// the state alone.
///
/// Within one recipient's clicks of one campaign on one day (kept as time-stamped records):
/// - **burst**: a click is a scanner click when the clicks within `burstSeconds` of it
///   (before or after, itself included) name at least `burstLinks` different links — link
///   checkers fetch every link of a message within a second or two, people do not;
/// - **delivery**: a click at most `deliverySeconds` after that recipient's first delivery of
///   the campaign that day (when a delivery event is known) is a scanner click — nobody reads
///   a message and clicks in that time, but scanners fetch links as the message arrives.
///
/// `burstLinks` is 0 (the burst rule is off) or 2 to 1000; `burstSeconds` and `deliverySeconds`
/// are -1 (the rule is off) to 86400.
public struct EmailTimingRules: Sendable, Equatable {
    public var burstSeconds: Int64 = 5
    public var burstLinks: Int = 2
    public var deliverySeconds: Int64 = 10

    public init() {}

    public init(burstSeconds: Int64, burstLinks: Int, deliverySeconds: Int64) {
        self.burstSeconds = burstSeconds
        self.burstLinks = burstLinks
        self.deliverySeconds = deliverySeconds
    }

    /// Checks the ranges the state codec can hold.
    public func validate() throws(VeilError) {
        guard burstSeconds >= -1, burstSeconds <= 86_400, burstLinks == 0 || (burstLinks >= 2 && burstLinks <= 1000),
            deliverySeconds >= -1, deliverySeconds <= 86_400
        else {
            throw VeilError(
                .usage,
                "scanner timing rules: burst seconds and delivery seconds must be in -1...86400, burst links 0 (off) or 2...1000"
            )
        }
    }

    var burstEnabled: Bool { burstLinks >= 2 && burstSeconds >= 0 }
    var deliveryEnabled: Bool { deliverySeconds >= 0 }
}
