/// The e-mail event exports the generator can write (`--format json-sendgrid|json-mailgun`).
enum EmailExportShape: String, CaseIterable, Sendable {
    /// SendGrid Event Webhook events, one JSON object per line.
    case sendgrid = "json-sendgrid"
    /// Mailgun events, one per line: Events API items, a third of them wrapped as webhook
    /// payloads (`{"signature":{…},"event-data":{…}}`).
    case mailgun = "json-mailgun"
}

/// Writes an e-mail service's event export for the newsletter campaigns of the synthetic world,
/// with exact per-campaign, per-day ground truth.
///
/// Every day, each campaign is sent at its hour (08, 10, 14, 18 UTC, plus up to 30 minutes) to
/// a share of the subscribers (90, 75, 60, 40 %). A message gives, all on the day it was sent:
/// - `processed` (SendGrid) or `accepted` (Mailgun) when sent, and `delivered` 1-20 s later;
/// - Apple Mail users (35 % of those without a Gmail or Yahoo mailbox): one proxy open by
///   `Mozilla/5.0` 5-300 s after delivery (`sg_machine_open: true`, `client-info.bot: apple`);
/// - half the recipients read it 15 min to 8 h after delivery: through Gmail's or Yahoo's image
///   proxy (proxy opens) or their own browser (human opens), sometimes twice; then 40 % click
///   a link 30-600 s later and a quarter of those click again (any link) 1-15 min after that
///   (Apple Mail users click without a visible open, 20 %, 20 min to 6 h after delivery);
/// - 12 % of the subscribers (`--scanner-share`) sit behind a security gateway of one of four
///   kinds, each caught by exactly one of veil's documented rules:
///   - `agent`: user agent `Barracuda Sentinel (EE)`, fetches the pixel (a bot open) and every
///     link 2-5 min after delivery, 20-40 s apart;
///   - `network`: a browser user agent from 192.0.2.224/28 (the test passes it as
///     `--scanner-network`), fetches the pixel and every link 5-10 min after delivery, 20-40 s
///     apart;
///   - `burst`: a browser user agent from an ordinary address, fetches every link 60-90 s after
///     delivery, 0-2 s apart (the burst rule: several links within 5 s);
///   - `delivery`: a browser user agent from an ordinary address, fetches one link 1-8 s after
///     delivery (the delivery rule: within 10 s).
///
/// Human clicks come at least 15 minutes after delivery and a minute apart, so no timing rule
/// touches them. Events are written in time order. `--lines` caps the export: messages are
/// added (day by day, campaign by campaign) until their events reach it. Damaged lines are
/// extra copies of event lines (cut short) and binary garbage, so the events' truth does not
/// depend on them.
struct EmailExportGenerator {
    let options: GeneratorOptions
    let shape: EmailExportShape

    /// The address range of the `network` scanners.
    static let scannerNetwork = "192.0.2.224/28"
    static let scannerAgent = "Barracuda Sentinel (EE)"
    static let sendHours = [8, 10, 14, 18]
    static let sendShare = [900_000, 750_000, 600_000, 400_000]

    enum Scanner: Int, CaseIterable {
        case none, agent, network, burst, delivery
        var label: String {
            switch self {
            case .none: "none"
            case .agent: "agent"
            case .network: "network"
            case .burst: "burst"
            case .delivery: "delivery"
            }
        }
    }

    enum Mailbox { case direct, gmail, yahoo, apple }

    /// Per subscriber: how mail reaches them.
    struct Recipient {
        var subscriber: Int
        var mailbox: Mailbox
        var scanner: Scanner
        /// Address and user agent of the scanner (when there is one).
        var scannerAddress: Int
        var scannerAgent: Int
        /// The address as the message was sent (may differ in case from the tracked one).
        var sentAddress: [UInt8]
        var trackedAddress: [UInt8]
    }

    enum Kind: Int { case processed, delivered, open, click }

    /// Who made an open or click, as the truth counts it.
    enum Actor { case none, human, proxy, bot, scanner(Scanner) }

    struct Event {
        var micros: Int64
        var sequence: Int
        var kind: Kind
        var recipient: Int
        var campaign: Int
        var day: Int
        var message: Int
        var address: Int
        var userAgent: Int
        var link: Int
        var actor: Actor
        var machine: String
    }

    func run() throws(GeneratorError) {
        var rng = Xoshiro256StarStar(seed: options.seed, stream: 0)
        var world = Xoshiro256StarStar(seed: options.seed, stream: 2)
        var formatRng = Xoshiro256StarStar(seed: options.seed, stream: 3)
        var population = Population(options: options, rng: &rng)
        let humans = population.userAgents.indices.filter { population.userAgents[$0].kind == .human }
        let gmailProxy = population.mailProxies[0]
        let yahooProxy = population.mailProxies[1]

        // Extra user agents and addresses of the e-mail world.
        var agents = population.userAgents.map { Array($0.text.utf8) }
        agents.append(Array("Mozilla/5.0".utf8))
        let appleAgent = agents.count - 1
        agents.append(Array(Self.scannerAgent.utf8))
        let scannerAgentIndex = agents.count - 1
        let appleAddresses = (65...78).compactMap { population.addresses.addIPv4(0xC000_0200 + UInt32($0)) }
        let networkAddresses = (225...238).compactMap { population.addresses.addIPv4(0xC000_0200 + UInt32($0)) }

        var recipients: [Recipient] = []
        for (s, sub) in population.subscribers.enumerated() {
            var mailbox: Mailbox = sub.mailProxy == 0 ? .gmail : (sub.mailProxy == 1 ? .yahoo : .direct)
            if mailbox == .direct && world.chance(perMillion: 350_000) { mailbox = .apple }
            var scanner = Scanner.none
            if world.chance(perMillion: options.scannerPPM) { scanner = Scanner(rawValue: world.inRange(1, 4))! }
            var scannerAddress = -1
            var scannerAgent = humans[world.below(humans.count)]
            switch scanner {
            case .agent:
                scannerAgent = scannerAgentIndex
                scannerAddress = Self.newAddress(&population, &world)
            case .network: scannerAddress = networkAddresses[world.below(networkAddresses.count)]
            case .burst, .delivery: scannerAddress = Self.newAddress(&population, &world)
            case .none: break
            }
            let tracked = sub.email
            var sent = tracked
            if world.chance(perMillion: 150_000) {
                // Capitalised as the list holds it: "Jane.Doe12@Example.com".
                var up = true
                for i in sent.indices {
                    if up, sent[i] >= UInt8(ascii: "a"), sent[i] <= UInt8(ascii: "z") { sent[i] -= 32 }
                    up = sent[i] == UInt8(ascii: ".") || sent[i] == UInt8(ascii: "@")
                }
            }
            recipients.append(
                Recipient(
                    subscriber: s, mailbox: mailbox, scanner: scanner, scannerAddress: scannerAddress,
                    scannerAgent: scannerAgent, sentAddress: sent, trackedAddress: tracked))
        }

        // Messages, in send order, until the events reach --lines.
        var events: [Event] = []
        var sequence = 0
        var message = 0
        let campaigns = Vocabulary.campaigns
        outer: for day in 0..<options.days {
            let dayStart = (options.start / 86_400 + Int64(day)) * 86_400
            let dayEnd = dayStart + 86_400 - 60
            for c in campaigns.indices {
                for (ri, rcp) in recipients.enumerated() {
                    guard world.chance(perMillion: Self.sendShare[c]) else { continue }
                    if events.count >= options.lines { break outer }
                    message += 1
                    let visitor = population.visitors[population.subscribers[rcp.subscriber].visitor]
                    var list: [Event] = []
                    func add(
                        _ t: Int64, _ kind: Kind, address: Int = -1, agent: Int = -1, link: Int = -1,
                        actor: Actor = .none, machine: String = ""
                    ) {
                        guard t < dayEnd else { return }
                        list.append(
                            Event(
                                micros: t * 1_000_000 + Int64(world.below(1_000_000)), sequence: 0, kind: kind,
                                recipient: ri, campaign: c, day: day, message: message, address: address,
                                userAgent: agent, link: link, actor: actor, machine: machine))
                    }
                    let sent = dayStart + Int64(Self.sendHours[c] * 3600 + world.below(1800))
                    let delivered = sent + Int64(world.inRange(1, 20))
                    add(sent, .processed)
                    add(delivered, .delivered)
                    let links = campaigns[c].links.count
                    switch rcp.scanner {
                    case .agent, .network:
                        var t =
                            delivered + Int64(rcp.scanner == .agent ? world.inRange(120, 300) : world.inRange(300, 600))
                        // Mailgun names the gateway that says who it is (`generic`), not the other.
                        let hint = rcp.scanner == .agent ? "generic" : ""
                        add(t, .open, address: rcp.scannerAddress, agent: rcp.scannerAgent, actor: .bot, machine: hint)
                        for l in 0..<links {
                            t += Int64(world.inRange(20, 40))
                            add(
                                t, .click, address: rcp.scannerAddress, agent: rcp.scannerAgent, link: l,
                                actor: .scanner(rcp.scanner), machine: hint)
                        }
                    case .burst:
                        var t = delivered + Int64(world.inRange(60, 90))
                        for l in 0..<links {
                            add(
                                t, .click, address: rcp.scannerAddress, agent: rcp.scannerAgent, link: l,
                                actor: .scanner(.burst))
                            t += Int64(world.inRange(0, 2))
                        }
                    case .delivery:
                        add(
                            delivered + Int64(world.inRange(1, 8)), .click, address: rcp.scannerAddress,
                            agent: rcp.scannerAgent, link: world.below(links), actor: .scanner(.delivery))
                    case .none: break
                    }
                    if rcp.mailbox == .apple {
                        add(
                            delivered + Int64(world.inRange(5, 300)), .open,
                            address: appleAddresses[world.below(appleAddresses.count)], agent: appleAgent,
                            actor: .proxy, machine: "apple")
                    }
                    var clickFrom: Int64? = nil
                    if rcp.mailbox == .apple {
                        if world.chance(perMillion: 200_000) {
                            clickFrom = delivered + Int64(world.inRange(1200, 21_600))
                        }
                    } else if world.chance(perMillion: 500_000) {
                        let read = delivered + Int64(world.inRange(900, 28_800))
                        let again = world.chance(perMillion: 300_000) ? read + Int64(world.inRange(3600, 10_800)) : nil
                        for t in [read] + (again.map { [$0] } ?? []) {
                            switch rcp.mailbox {
                            case .gmail:
                                add(
                                    t, .open, address: gmailProxy.addresses[world.below(gmailProxy.addresses.count)],
                                    agent: gmailProxy.userAgent, actor: .proxy, machine: "gmail")
                            case .yahoo:
                                add(
                                    t, .open, address: yahooProxy.addresses[world.below(yahooProxy.addresses.count)],
                                    agent: yahooProxy.userAgent, actor: .proxy)
                            default:
                                add(t, .open, address: visitor.address, agent: visitor.userAgent, actor: .human)
                            }
                        }
                        if world.chance(perMillion: 400_000) { clickFrom = read + Int64(world.inRange(30, 600)) }
                    }
                    if let first = clickFrom {
                        add(
                            first, .click, address: visitor.address, agent: visitor.userAgent, link: world.below(links),
                            actor: .human)
                        if world.chance(perMillion: 250_000) {
                            add(
                                first + Int64(world.inRange(60, 900)), .click, address: visitor.address,
                                agent: visitor.userAgent, link: world.below(links), actor: .human)
                        }
                    }
                    for var e in list {
                        e.sequence = sequence
                        sequence += 1
                        events.append(e)
                    }
                }
            }
        }
        events.sort { $0.micros != $1.micros ? $0.micros < $1.micros : $0.sequence < $1.sequence }

        // Write, with damaged extra lines, and count the truth.
        var sink = try ByteSink(path: options.output)
        var renderer = EmailLineRenderer(
            shape: shape, site: options.sites[0], agents: agents, addresses: population.addresses.texts,
            recipients: recipients, subscribers: population.subscribers)
        var truth = EmailTruth(days: options.days)
        var ids = Set<[UInt8]>()
        var physical = 0
        var malformed = (truncated: 0, garbage: 0)
        var malformedLines: [(Int, String)] = []
        var line: [UInt8] = []
        for e in events {
            line.removeAll(keepingCapacity: true)
            renderer.render(e, &formatRng, into: &line, ids: &ids)
            if formatRng.chance(perMillion: options.malformedPPM) {
                physical += 1
                if formatRng.chance(perMillion: 500_000) {
                    sink.append(Array(line[0..<(1 + formatRng.below(line.count - 2))]))
                    malformed.truncated += 1
                    malformedLines.append((physical, "truncated"))
                } else {
                    let length = formatRng.inRange(24, 200)
                    sink.append(0)
                    for _ in 1..<length {
                        var b = UInt8(truncatingIfNeeded: formatRng.next())
                        if formatRng.below(8) == 0 || b == 0x0A || b == 0x0D { b = 0 }
                        sink.append(b)
                    }
                    malformed.garbage += 1
                    malformedLines.append((physical, "binary-garbage"))
                }
                sink.append(UInt8(ascii: "\n"))
            }
            physical += 1
            sink.append(line)
            sink.append(UInt8(ascii: "\n"))
            truth.count(e, recipients[e.recipient], renderer.linkURL(e.campaign, e.link, recipient: e.recipient))
            try sink.flushIfNeeded()
        }
        try sink.finish()

        if let path = options.truthPath {
            let json = truth.json(
                options: options, shape: shape, physicalLines: physical, events: events.count,
                malformed: malformed, malformedLines: malformedLines, renderer: renderer)
            try FixtureGenerator.writeFile(path, Array(json.rendered().utf8))
        }
        if let path = options.identifiersPath {
            var out: [UInt8] = []
            for row in ids.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                out += row
                out.append(UInt8(ascii: "\n"))
            }
            try FixtureGenerator.writeFile(path, out)
        }
    }

    /// A new, unused address in 198.18.0.0/15.
    static func newAddress(_ population: inout Population, _ rng: inout Xoshiro256StarStar) -> Int {
        while true {
            let value = 0xC612_0000 + UInt32(rng.below(131_072))
            if value & 0xFF == 0 || value & 0xFF == 255 { continue }
            if let a = population.addresses.addIPv4(value) { return a }
        }
    }
}

/// Renders export lines of one shape and notes the identifiers each line carries.
struct EmailLineRenderer {
    let shape: EmailExportShape
    let site: String
    let agents: [[UInt8]]
    let addresses: [[UInt8]]
    let recipients: [EmailExportGenerator.Recipient]
    let subscribers: [Subscriber]

    /// Landing path per link name.
    static func landing(_ link: String) -> String {
        switch link {
        case "hero": "/products/featured"
        case "cta", "pricing": "/pricing"
        case "top-story": "/blog/top-story"
        case "read-more": "/blog"
        case "docs": "/docs"
        case "unsubscribe": "/account/unsubscribe"
        default: "/"
        }
    }

    /// The clicked URL; the unsubscribe link carries the recipient token (which veil's
    /// redaction must drop).
    func linkURL(_ campaign: Int, _ link: Int, recipient: Int) -> String {
        guard link >= 0 else { return "" }
        let name = Vocabulary.campaigns[campaign].links[link]
        var query = "utm_campaign=\(Vocabulary.campaigns[campaign].name)&utm_content=\(name)"
        if name == "unsubscribe" {
            let token = String(decoding: subscribers[recipients[recipient].subscriber].recipient, as: UTF8.self)
            query = "r=\(token)&" + query
        }
        return "https://\(site)\(Self.landing(name))?\(query)"
    }

    /// The link as veil shows it with the default query allow-list (`utm_*`): host, path and
    /// the `utm_` parameters.
    func linkLabel(_ campaign: Int, _ link: Int) -> String {
        let name = Vocabulary.campaigns[campaign].links[link]
        return "\(site)\(Self.landing(name))?utm_campaign=\(Vocabulary.campaigns[campaign].name)&utm_content=\(name)"
    }

    mutating func render(
        _ e: EmailExportGenerator.Event, _ rng: inout Xoshiro256StarStar, into out: inout [UInt8],
        ids: inout Set<[UInt8]>
    ) {
        let r = recipients[e.recipient]
        let campaign = Vocabulary.campaigns[e.campaign].name
        let address = e.kind == .delivered || e.kind == .processed ? r.sentAddress : r.trackedAddress
        ids.insert(Array("email\t".utf8) + address)
        if e.address >= 0 { ids.insert(Array("ip\t".utf8) + addresses[e.address]) }
        if e.userAgent >= 0 { ids.insert(Array("ua\t".utf8) + agents[e.userAgent]) }
        let url = e.kind == .click ? linkURL(e.campaign, e.link, recipient: e.recipient) : ""
        if url.contains("r=") {
            ids.insert(Array("recipient\t".utf8) + subscribers[r.subscriber].recipient)
        }
        let seconds = e.micros / 1_000_000
        let messageID =
            "\(String(e.message, radix: 16)).\(String(UInt64(bitPattern: Int64(e.recipient) &* 0x9E37_79B9), radix: 16))"
        var j = JSONLine()
        switch shape {
        case .sendgrid:
            j.string("email", address)
            j.raw("timestamp", String(seconds))
            j.string("smtp-id", "<\(messageID)@ismtpd-01.example.net>")
            j.string("event", ["processed", "delivered", "open", "click"][e.kind.rawValue])
            if e.kind == .open || e.kind == .click {
                j.string("ip", addresses[e.address])
                j.string("useragent", agents[e.userAgent])
            }
            if e.kind == .click {
                j.string("url", url)
                j.raw("url_offset", "{\"index\":\(e.link),\"type\":\"html\"}")
            }
            // SendGrid flags Apple only.
            if e.kind == .open { j.raw("sg_machine_open", e.machine == "apple" ? "true" : "false") }
            if e.kind == .delivered { j.string("response", "250 OK") }
            j.string("sg_event_id", Self.token(&rng, 22))
            j.string("sg_message_id", "\(messageID).filter0001.\(e.message).0")
            if e.kind == .open || e.kind == .click {
                j.raw("category", "[\"\(campaign)\"]")
            } else {
                j.string("category", campaign)
            }
        case .mailgun:
            var d = JSONLine()
            d.string("event", ["accepted", "delivered", "opened", "clicked"][e.kind.rawValue])
            let micros = e.micros % 1_000_000
            d.raw("timestamp", "\(seconds).\(String(repeating: "0", count: 6 - String(micros).count))\(micros)")
            d.string("id", Self.token(&rng, 22))
            d.string("recipient", address)
            d.string(
                "recipient-domain",
                String(decoding: address.split(separator: UInt8(ascii: "@")).last ?? [], as: UTF8.self).lowercased())
            if e.kind == .open || e.kind == .click {
                d.string("ip", addresses[e.address])
                var ci = JSONLine()
                ci.string("client-type", e.actor.isProxy ? "unknown" : "browser")
                ci.string("user-agent", agents[e.userAgent])
                ci.string("bot", e.machine)
                d.raw("client-info", ci.text)
            }
            if e.kind == .click { d.string("url", url) }
            d.raw("tags", "[\"\(campaign)\"]")
            d.raw("user-variables", "{\"campaign\":\"\(campaign)\"}")
            d.raw("message", "{\"headers\":{\"message-id\":\"\(messageID)@mg.example.net\"}}")
            if e.kind == .delivered { d.raw("delivery-status", "{\"code\":250,\"message\":\"OK\"}") }
            if rng.below(3) == 0 {
                var s = JSONLine()
                s.string("timestamp", String(seconds))
                s.string("token", Self.token(&rng, 50))
                s.string("signature", Self.hex(&rng, 64))
                j.raw("signature", s.text)
                j.raw("event-data", d.text)
            } else {
                j = d
            }
        }
        out += Array(j.text.utf8)
    }

    static func token(_ rng: inout Xoshiro256StarStar, _ n: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        return String(decoding: (0..<n).map { _ in alphabet[rng.below(64)] }, as: UTF8.self)
    }

    static func hex(_ rng: inout Xoshiro256StarStar, _ n: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: (0..<n).map { _ in digits[rng.below(16)] }, as: UTF8.self)
    }
}

extension EmailExportGenerator.Actor {
    var isProxy: Bool {
        if case .proxy = self { return true }
        return false
    }
}

/// A JSON object written member by member, compactly.
struct JSONLine {
    private(set) var body = ""

    var text: String { "{" + body + "}" }

    mutating func raw(_ key: String, _ value: String) {
        if !body.isEmpty { body += "," }
        body += "\"\(key)\":" + value
    }

    mutating func string(_ key: String, _ value: String) {
        raw(key, Self.quoted(Array(value.utf8)))
    }

    mutating func string(_ key: String, _ value: [UInt8]) {
        raw(key, Self.quoted(value))
    }

    static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + String(decoding: LineRenderer.jsonEscaped(bytes), as: UTF8.self) + "\""
    }
}

/// Exact counts of an e-mail export, per UTC day and campaign, as veil's `campaigns` and
/// `campaign_links` tables define them.
struct EmailTruth {
    struct Link {
        var clicks = 0
        var scannerClicks = 0
        var clickers = Set<Int>()
    }

    struct Cell {
        var delivered = 0
        var humanOpens = 0
        var proxyOpens = 0
        var botOpens = 0
        var clicks = 0
        var scanner: [String: Int] = [:]
        var recipients = Set<Int>()
        var openers = Set<Int>()
        var clickers = Set<Int>()
        var links: [Int: Link] = [:]
    }

    var cells: [[Cell]]
    var kinds = [0, 0, 0, 0]

    init(days: Int) {
        cells = Array(repeating: Array(repeating: Cell(), count: Vocabulary.campaigns.count), count: days)
    }

    mutating func count(_ e: EmailExportGenerator.Event, _ r: EmailExportGenerator.Recipient, _ url: String) {
        kinds[e.kind.rawValue] += 1
        guard e.kind != .processed else { return }
        var c = cells[e.day][e.campaign]
        c.recipients.insert(e.recipient)
        switch e.kind {
        case .processed: break
        case .delivered: c.delivered += 1
        case .open:
            switch e.actor {
            case .proxy:
                c.proxyOpens += 1
                c.openers.insert(e.recipient)
            case .human:
                c.humanOpens += 1
                c.openers.insert(e.recipient)
            default: c.botOpens += 1
            }
        case .click:
            var l = c.links[e.link] ?? Link()
            if case .scanner(let kind) = e.actor {
                c.scanner[kind.label, default: 0] += 1
                l.scannerClicks += 1
            } else {
                c.clicks += 1
                c.clickers.insert(e.recipient)
                l.clicks += 1
                l.clickers.insert(e.recipient)
            }
            c.links[e.link] = l
        }
        cells[e.day][e.campaign] = c
    }

    func json(
        options: GeneratorOptions, shape: EmailExportShape, physicalLines: Int, events: Int,
        malformed: (truncated: Int, garbage: Int), malformedLines: [(Int, String)], renderer: EmailLineRenderer
    ) -> JSONValue {
        var rows: [JSONValue] = []
        for (d, day) in cells.enumerated() {
            let key = UTCCalendar.dayKey((options.start / 86_400 + Int64(d)) * 86_400)
            for c in Vocabulary.campaigns.indices.sorted(by: {
                Vocabulary.campaigns[$0].name < Vocabulary.campaigns[$1].name
            }) {
                let t = day[c]
                guard !t.recipients.isEmpty else { continue }
                let links = Vocabulary.campaigns[c].links
                rows.append(
                    .object([
                        ("day", .string(key)),
                        ("campaign", .string(Vocabulary.campaigns[c].name)),
                        ("recipients", .int(t.recipients.count)),
                        ("delivered", .int(t.delivered)),
                        ("human_opens", .int(t.humanOpens)),
                        ("proxy_opens", .int(t.proxyOpens)),
                        ("bot_opens", .int(t.botOpens)),
                        ("unique_openers", .int(t.openers.count)),
                        ("clicks", .int(t.clicks)),
                        ("scanner_clicks", .int(t.scanner.values.reduce(0, +))),
                        (
                            "scanner_clicks_by_rule",
                            .object(
                                EmailExportGenerator.Scanner.allCases.dropFirst().map {
                                    ($0.label, .int(t.scanner[$0.label] ?? 0))
                                })
                        ),
                        ("unique_clickers", .int(t.clickers.count)),
                        (
                            "links",
                            .array(
                                links.indices.filter { t.links[$0] != nil }.sorted { links[$0] < links[$1] }.map { l in
                                    let x = t.links[l]!
                                    return .object([
                                        ("link", .string(links[l])),
                                        ("label", .string(renderer.linkLabel(c, l))),
                                        ("clicks", .int(x.clicks)),
                                        ("scanner_clicks", .int(x.scannerClicks)),
                                        ("unique_clickers", .int(x.clickers.count)),
                                    ])
                                })
                        ),
                    ]))
            }
        }
        func share(_ ppm: Int) -> JSONValue {
            var frac = String(ppm % 1_000_000)
            frac = String(repeating: "0", count: 6 - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            return .string(frac.isEmpty ? "\(ppm / 1_000_000)" : "\(ppm / 1_000_000).\(frac)")
        }
        return .object([
            ("generator", .string("veil-fixtures")),
            ("truth_version", .int(1)),
            (
                "options",
                .object([
                    ("format", .string(shape.rawValue)),
                    ("lines", .int(options.lines)),
                    ("seed", .string(String(options.seed))),
                    ("visitors", .int(options.visitorCount)),
                    ("start", .string(UTCCalendar.isoKey(options.start))),
                    ("days", .int(options.days)),
                    ("link_host", .string(options.sites[0])),
                    ("malformed_share", share(options.malformedPPM)),
                    ("scanner_share", share(options.scannerPPM)),
                ])
            ),
            (
                "definitions",
                .object([
                    ("site", .string("exports carry no site: veil counts them under --site (default 'default')")),
                    (
                        "day",
                        .string(
                            "UTC day of the event's timestamp; every event of a message falls on the day it was sent")
                    ),
                    ("recipients", .string("distinct subscribers with any delivered, open or click event")),
                    ("human_opens", .string("opens by the subscriber's own browser")),
                    (
                        "proxy_opens",
                        .string(
                            "opens by GoogleImageProxy, YahooMailProxy or Apple Mail Privacy Protection (Mozilla/5.0)")
                    ),
                    ("bot_opens", .string("pixel fetches by security scanners (agent and network kinds)")),
                    ("unique_openers", .string("distinct subscribers with a human or proxy open")),
                    ("clicks", .string("clicks by the subscriber's own browser")),
                    (
                        "scanner_clicks",
                        .string(
                            "clicks by security scanners; scanner_clicks_by_rule names the one rule that catches each kind: agent (user agent 'Barracuda Sentinel (EE)'), network (\(EmailExportGenerator.scannerNetwork), to be given as --scanner-network), burst (every link within 0-2 s of each other, 60-90 s after delivery), delivery (one link 1-8 s after delivery)"
                        )
                    ),
                    ("unique_clickers", .string("distinct subscribers with a human click")),
                    (
                        "links",
                        .string(
                            "per link: human clicks, scanner clicks, distinct human clickers; label = the link as veil shows it (host, path, utm_ parameters)"
                        )
                    ),
                    ("events", .string("well-formed lines by event: processed/accepted lines are events veil skips")),
                    (
                        "malformed",
                        .string(
                            "extra lines: a copy of the next event line cut short (truncated), or 24-200 random bytes starting with NUL (binary-garbage)"
                        )
                    ),
                ])
            ),
            (
                "log",
                .object([
                    ("physical_lines", .int(physicalLines)),
                    ("events", .int(events)),
                    (
                        "malformed",
                        .object([
                            ("truncated", .int(malformed.truncated)), ("binary-garbage", .int(malformed.garbage)),
                            ("total", .int(malformed.truncated + malformed.garbage)),
                        ])
                    ),
                    (
                        "malformed_lines",
                        .array(malformedLines.map { .object([("line", .int($0.0)), ("kind", .string($0.1))]) })
                    ),
                ])
            ),
            (
                "events",
                .object([
                    ("other", .int(kinds[0])), ("delivered", .int(kinds[1])), ("open", .int(kinds[2])),
                    ("click", .int(kinds[3])),
                ])
            ),
            ("campaigns", .array(rows)),
        ])
    }
}
