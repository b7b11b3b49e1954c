/// Who sends a user agent, as any reasonable classifier would see it.
enum ClientKind: Sendable {
    case human
    case bot
    case mailProxy
}

/// How a bot behaves: what it requests.
enum BotStyle: Sendable {
    /// Search and AI crawlers: robots.txt, sitemap, pages.
    case crawler
    /// Libraries and command-line tools: `/`, health checks, vulnerability probes.
    case script
    /// Uptime monitors: `HEAD /`.
    case monitor
}

/// One user-agent string and what the generator knows about it (its ground truth).
struct UserAgent: Sendable {
    var text: String
    var kind: ClientKind
    /// Browser, bot or proxy family (`Chrome`, `Googlebot`, `GoogleImageProxy`).
    var family: String
    var major: Int
    /// Operating system family (`Windows`, `macOS`, `Linux`, `Android`, `iOS`); empty for bots.
    var os: String
    /// `desktop`, `mobile`, `tablet`; `bot` for bots and proxies.
    var device: String
    /// Relative popularity among agents of its kind.
    var weight: Int
    var botStyle: BotStyle = .crawler
    /// How many distinct addresses a bot of this agent uses (IPv4, IPv6).
    var botAddresses: (v4: Int, v6: Int) = (0, 0)
}
