/// A human visitor: one stable address, user agent and (maybe) cookie id.
struct Visitor {
    var address: Int
    /// IPv6 address written `[addr]:port` in the text formats that allow it.
    var bracketed: Bool
    var userAgent: Int
    /// `uid` cookie value; empty when the visitor has none.
    var cookie: [UInt8]
    var http2: Bool
    /// Index into `Population.subscribers`, or -1.
    var subscriber: Int
    /// Address of the corporate proxy that adds an X-Forwarded-For header, or -1.
    var forwardedVia: Int
    /// Session token the site sometimes puts in URLs (`?session=…`); empty when none.
    var sessionToken: [UInt8]
}

/// A newsletter subscriber, who is also a visitor with an account.
struct Subscriber {
    var visitor: Int
    /// Opaque recipient token carried by pixel and click URLs (`r=`).
    var recipient: [UInt8]
    var email: [UInt8]
    /// Account name written as the authenticated user on account pages.
    var user: [UInt8]
    /// Index into `Population.mailProxies` when the mailbox fetches images through a proxy,
    /// else -1 (the subscriber's own browser fetches the pixel).
    var mailProxy: Int
    var orders: Int
}

/// One bot instance: an agent at one address.
struct BotAgent {
    var userAgent: Int
    var address: Int
    var style: BotStyle
}

/// A mail image proxy: its user agent and the addresses it fetches from.
struct MailProxy {
    var userAgent: Int
    var addresses: [Int]
}

/// Everyone who sends requests: human visitors (some subscribed to e-mails), bots and mail
/// proxies, with their addresses, user agents and identifiers.
struct Population {
    var addresses = AddressBook()
    private(set) var userAgents: [UserAgent] = []
    private(set) var visitors: [Visitor] = []
    private(set) var subscribers: [Subscriber] = []
    private(set) var bots: [BotAgent] = []
    private(set) var botTable: WeightedTable
    private(set) var mailProxies: [MailProxy] = []
    /// Proxies that add X-Forwarded-For (192.0.2.200…).
    private(set) var corporateProxies: [Int] = []
    /// The server's own address (IIS `s-ip`).
    private(set) var serverAddress = 0
    /// Visitors 0..<regulars come back more often than the rest.
    let regulars: Int

    init(options: GeneratorOptions, rng: inout Xoshiro256StarStar) {
        let humans = UserAgentCatalog.humans()
        let botAgents = UserAgentCatalog.bots()
        let proxies = UserAgentCatalog.mailProxies()
        userAgents = humans + botAgents + proxies
        let humanTable = WeightedTable(humans.map(\.weight))

        serverAddress = addresses.addIPv4(0xC000_020A)!  // 192.0.2.10
        for i in 0..<4 { corporateProxies.append(addresses.addIPv4(0xC000_02C8 + UInt32(i))!) }  // 192.0.2.200
        var proxyOctet: UInt32 = 50
        for (i, proxy) in proxies.enumerated() {
            var list: [Int] = []
            for _ in 0..<proxy.botAddresses.v4 {
                list.append(addresses.addIPv4(0xC000_0200 + proxyOctet)!)
                proxyOctet += 1
            }
            mailProxies.append(MailProxy(userAgent: humans.count + botAgents.count + i, addresses: list))
        }

        // Bots: crawlers in 198.51.100.0/24, scripts and monitors in 203.0.113.0/25,
        // IPv6 crawlers in 2001:db8:ffff::/48.
        var botWeights: [Int] = []
        for (i, agent) in botAgents.enumerated() {
            let perAddress = max(1, agent.weight * 12 / max(1, agent.botAddresses.v4 + agent.botAddresses.v6))
            for k in 0..<(agent.botAddresses.v4 + agent.botAddresses.v6) {
                var address: Int?
                while address == nil {
                    if k >= agent.botAddresses.v4 {
                        address = addresses.addIPv6([
                            0x2001, 0xdb8, 0xffff, 0, 0, 0, UInt16(rng.inRange(1, 0xffff)),
                            UInt16(rng.inRange(1, 0xffff)),
                        ])
                    } else if agent.botStyle == .crawler {
                        address = addresses.addIPv4(0xC633_6400 + UInt32(rng.inRange(1, 254)))
                    } else {
                        address = addresses.addIPv4(0xCB00_7100 + UInt32(rng.inRange(1, 127)))
                    }
                }
                bots.append(BotAgent(userAgent: humans.count + i, address: address!, style: agent.botStyle))
                botWeights.append(perAddress)
            }
        }
        botTable = WeightedTable(botWeights)

        let count = options.visitorCount
        regulars = max(1, count / 10)
        var v4Visitors: [Int] = []
        var cookies = Set<[UInt8]>()
        var recipients = Set<[UInt8]>()
        visitors.reserveCapacity(count)
        for v in 0..<count {
            var ua = humanTable.sample(&rng)
            var wantIPv6 = rng.chance(perMillion: options.ipv6PPM)
            var address = -1
            if !wantIPv6, !v4Visitors.isEmpty, rng.chance(perMillion: 80_000) {
                // Behind the same NAT as an earlier visitor, with a different browser.
                let other = visitors[rng.pick(v4Visitors)]
                address = other.address
                if ua == other.userAgent { ua = (ua + 1) % humans.count }
            } else {
                for _ in 0..<32 where address < 0 && !wantIPv6 {
                    let value: UInt32 =
                        rng.chance(perMillion: 30_000)
                        ? 0xCB00_7180 + UInt32(rng.inRange(0, 126))  // 203.0.113.128/25
                        : 0xC612_0000 + UInt32(rng.below(131_072))  // 198.18.0.0/15
                    let last = value & 0xFF
                    if last == 0 || last == 255 { continue }
                    address = addresses.addIPv4(value) ?? -1
                }
                if address < 0 { wantIPv6 = true }
                while address < 0 {
                    address = addresses.addIPv6(Self.randomIPv6(&rng)) ?? -1
                }
            }
            if !wantIPv6 { v4Visitors.append(v) }
            let bracketed = wantIPv6 && rng.chance(perMillion: 250_000)
            var cookie: [UInt8] = []
            if rng.chance(perMillion: options.cookiePPM) {
                repeat {
                    cookie = rng.chance(perMillion: 500_000) ? Self.hexToken(&rng) : Self.base64URLToken(&rng)
                } while !cookies.insert(cookie).inserted
            }
            let http2 = rng.chance(perMillion: 700_000)
            let forwardedVia = rng.chance(perMillion: 120_000) ? rng.pick(corporateProxies) : -1
            var subscriber = -1
            if rng.chance(perMillion: 400_000) {
                subscriber = subscribers.count
                let n = subscribers.count + 1
                let name = "\(rng.pick(Vocabulary.firstNames)).\(rng.pick(Vocabulary.lastNames))\(n)"
                let domain = rng.chance(perMillion: 600_000) ? "example.com" : "example.org"
                var token: [UInt8]
                repeat { token = Self.base64URLToken(&rng) } while !recipients.insert(token).inserted
                let proxyRoll = rng.below(100)
                subscribers.append(
                    Subscriber(
                        visitor: v, recipient: token, email: Array("\(name)@\(domain)".utf8), user: Array(name.utf8),
                        mailProxy: proxyRoll < 40 ? 0 : (proxyRoll < 55 ? 1 : -1), orders: rng.inRange(1, 9)))
            }
            let sessionToken = rng.chance(perMillion: 100_000) ? Self.hexToken(&rng) : []
            visitors.append(
                Visitor(
                    address: address, bracketed: bracketed, userAgent: ua, cookie: cookie, http2: http2,
                    subscriber: subscriber, forwardedVia: forwardedVia, sessionToken: sessionToken))
        }
    }

    /// A human IPv6 address in 2001:db8::/32 in one of three shapes (`…::x`, full, `…::x:y`).
    static func randomIPv6(_ rng: inout Xoshiro256StarStar) -> [UInt16] {
        func group() -> UInt16 { UInt16(rng.inRange(1, 0xfffe)) }
        var g: [UInt16] = [0x2001, 0xdb8, group(), group(), 0, 0, 0, 0]
        switch rng.below(3) {
        case 0: g[7] = group()
        case 1: for i in 4..<8 { g[i] = group() }
        default:
            g[6] = group()
            g[7] = group()
        }
        if g[2] == 0xffff { g[2] = 0xfffe }  // 2001:db8:ffff::/48 belongs to bots
        return g
    }

    /// 16 random bytes as 32 lower-case hex digits.
    static func hexToken(_ rng: inout Xoshiro256StarStar) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for _ in 0..<2 {
            let v = rng.next()
            for i in 0..<16 { out.append(digits[Int((v >> (UInt64(i) * 4)) & 0xF)]) }
        }
        return out
    }

    /// 16 random bytes as 22 base64url characters (no padding).
    static func base64URLToken(_ rng: inout Xoshiro256StarStar) -> [UInt8] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(22)
        var v = rng.next()
        var bitsLeft = 64
        for _ in 0..<22 {
            if bitsLeft < 6 {
                v = rng.next()
                bitsLeft = 64
            }
            out.append(alphabet[Int(v & 0x3F)])
            v >>= 6
            bitsLeft -= 6
        }
        return out
    }
}
