/// Decides what each request is: human sessions from a pool of concurrent visits, bot
/// fetches, e-mail pixel opens and click redirects.
///
/// Every draw comes from the caller's random stream, in an order that does not depend on the
/// output format (except that formats without a User-Agent field get no bots or mail proxies).
struct TrafficModel {
    var population: Population
    var siteMap: SiteMap
    let sites: [String]
    /// Bots and mail proxies exist only when the format shows the User-Agent.
    let userAgentsVisible: Bool
    private let siteTable: WeightedTable
    private let referrerTable: WeightedTable
    private let referrers: [[UInt8]]
    private let campaignTable: WeightedTable
    private var pool: [Session] = []
    /// The session whose page assets are being fetched: it usually gets the next line too,
    /// so a page's assets follow it closely.
    private var burst = -1
    private let poolTarget: Int
    private var active: [Bool]
    private var returning: [Bool]
    /// `https://<site><path>` per site and page, built on first use.
    private var pageURLs: [[[UInt8]]]

    init(population: Population, siteMap: SiteMap, options: GeneratorOptions) {
        self.population = population
        self.siteMap = siteMap
        sites = options.sites
        userAgentsVisible = options.format.hasUserAgent
        siteTable = WeightedTable(sites.indices.map { 600 / ($0 + 1) })
        referrerTable = WeightedTable(Vocabulary.externalReferrers.map(\.weight))
        referrers = Vocabulary.externalReferrers.map { Array($0.url.utf8) }
        campaignTable = WeightedTable(Vocabulary.campaigns.map(\.weight))
        let perDay = max(1, options.days * 86_400)
        poolTarget = max(1, min(5000, options.lines * 30 / perDay))
        active = Array(repeating: false, count: population.visitors.count)
        returning = Array(repeating: false, count: population.visitors.count)
        pageURLs = Array(repeating: [], count: sites.count)
    }

    // MARK: - Humans

    /// The next request of a randomly chosen visit in progress.
    mutating func humanRequest(_ r: inout Request, _ rng: inout Xoshiro256StarStar) {
        while pool.count < poolTarget { startSession(&rng) }
        let i = burst >= 0 && rng.chance(perMillion: 850_000) ? burst : rng.below(pool.count)
        var session = pool[i]
        step(&session, &r, &rng)
        if session.finished {
            active[session.visitor] = false
            returning[session.visitor] = true
            pool.swapAt(i, pool.count - 1)
            pool.removeLast()
            burst = -1
        } else {
            pool[i] = session
            burst = session.coreMask != 0 || session.imagesLeft > 0 ? i : -1
        }
    }

    private mutating func startSession(_ rng: inout Xoshiro256StarStar) {
        var v = 0
        for _ in 0..<8 {
            v =
                rng.chance(perMillion: 350_000)
                ? rng.below(population.regulars) : rng.below(population.visitors.count)
            if !active[v] { break }
        }
        pool.append(newSession(visitor: v, site: siteTable.sample(&rng), &rng))
    }

    private mutating func newSession(visitor: Int, site: Int, _ rng: inout Xoshiro256StarStar) -> Session {
        active[visitor] = true
        let roll = rng.below(100)
        let pageviews =
            roll < 38 ? 1 : roll < 56 ? 2 : roll < 68 ? 3 : roll < 77 ? 4 : roll < 84 ? 5 : rng.inRange(6, 12)
        return Session(visitor: visitor, site: site, pageviewsLeft: pageviews)
    }

    private mutating func fillVisitor(_ r: inout Request, _ v: Int, site: Int) {
        let visitor = population.visitors[v]
        r.actor = .visitor(v)
        r.site = site
        r.address = visitor.address
        r.bracketed = visitor.bracketed
        r.userAgent = visitor.userAgent
        r.cookie = visitor.cookie
        r.forwardedVia = visitor.forwardedVia
        r.http2 = visitor.http2
        r.user = []
        r.method = .get
        r.query = []
        r.referrer = []
        r.page = -1
        r.email = .none
        r.token = []
        r.pathEmail = []
    }

    private mutating func step(_ s: inout Session, _ r: inout Request, _ rng: inout Xoshiro256StarStar) {
        fillVisitor(&r, s.visitor, site: s.site)
        if s.coreMask != 0 || s.imagesLeft > 0 {
            let asset: Page
            if s.coreMask != 0 {
                let bit = s.coreMask.trailingZeroBitCount
                s.coreMask &= s.coreMask - 1
                asset = siteMap.coreAssets[bit]
            } else {
                s.imagesLeft -= 1
                asset = rng.pick(siteMap.images)
            }
            r.path = asset.path
            r.referrer = pageURL(site: s.site, page: s.lastPage)
            let cached = returning[s.visitor] && rng.chance(perMillion: 300_000)
            r.status = cached ? 304 : 200
            r.bytes = cached ? 0 : asset.size
            return
        }
        s.pageviewsLeft -= 1
        r.referrer =
            s.lastPage >= 0
            ? pageURL(site: s.site, page: s.lastPage)
            : (s.landingPage >= 0 ? [] : referrers[referrerTable.sample(&rng)])
        var page = -1
        if s.forcedNext >= 0 {
            page = s.forcedNext
            s.forcedNext = -1
        } else if s.landingPage >= 0 {
            page = s.landingPage
            r.query = s.landingQuery
            s.landingPage = -1
            s.landingQuery = []
        } else {
            let visitor = population.visitors[s.visitor]
            var roll = rng.below(10_000)
            // A visit starts with a page (or a broken inbound link), never a POST or redirect.
            if s.pagesSeen == 0 && roll >= 150 && roll < 380 { roll = 10_000 }
            switch roll {
            case ..<150:
                r.path = Array(rng.pick(Vocabulary.brokenPaths).utf8)
                r.status = 404
                r.bytes = 1_534 + rng.below(40)
                return
            case ..<170:
                page = rng.chance(perMillion: 500_000) ? siteMap.search : rng.pick(siteMap.products)
                setPage(&r, page, site: s.site, &rng)
                r.status = 500
                r.bytes = 512
                return
            case ..<270:
                let toBlog = rng.chance(perMillion: 500_000)
                r.path = Array((toBlog ? "/blog" : "/docs").utf8)
                r.status = 301
                r.bytes = 231
                s.forcedNext = toBlog ? siteMap.blogIndex : siteMap.docsIndex
                return
            case ..<330:
                r.method = .post
                r.path = Array("/api/cart".utf8)
                r.status = 200
                r.bytes = 87 + rng.below(20)
                return
            case ..<360:
                r.method = .post
                r.path = Array("/login".utf8)
                r.status = 302
                r.bytes = 0
                if visitor.subscriber >= 0 { r.user = population.subscribers[visitor.subscriber].user }
                return
            case ..<380:
                r.path = Array("/ws".utf8)
                r.status = 101
                r.bytes = 0
                return
            case ..<560 where visitor.subscriber >= 0:
                let sub = population.subscribers[visitor.subscriber]
                r.user = sub.user
                if rng.chance(perMillion: 500_000) {
                    page = siteMap.account
                } else {
                    let n = rng.inRange(1, sub.orders)
                    page = siteMap.dynamicPage(
                        path: Array("/users/".utf8) + sub.email + Array("/orders/\(n)".utf8),
                        template: "/users/:email/orders/:id", size: 9_000 + n * 37)
                    r.pathEmail = sub.email
                }
            default:
                page = siteMap.popularPage(&rng)
                if page == siteMap.account { page = siteMap.home }
                if rng.chance(perMillion: 30_000) {
                    r.query = Array("utm_source=twitter&utm_medium=social".utf8)
                } else if !visitor.sessionToken.isEmpty, rng.chance(perMillion: 40_000) {
                    r.query = Array("session=".utf8) + visitor.sessionToken
                    r.token = visitor.sessionToken
                }
            }
        }
        setPage(&r, page, site: s.site, &rng)
        if returning[s.visitor], s.pagesSeen > 0, rng.chance(perMillion: 60_000) {
            r.status = 304
            r.bytes = 0
        }
        s.lastPage = page
        if s.pagesSeen == 0 {
            s.coreMask = returning[s.visitor] ? UInt8(rng.inRange(1, 63)) : 63
            s.imagesLeft = rng.inRange(1, 3)
        } else {
            s.imagesLeft = rng.inRange(0, 2)
        }
        s.pagesSeen += 1
    }

    /// Fills path, size and (for `/search`) the query of a page answered 200.
    private mutating func setPage(_ r: inout Request, _ page: Int, site: Int, _ rng: inout Xoshiro256StarStar) {
        let p = siteMap.pages[page]
        r.page = page
        r.path = p.path
        r.status = 200
        r.bytes = p.size + rng.below(p.size / 50 + 1)
        if page == siteMap.search {
            r.query = Array("q=\(rng.pick(Vocabulary.words))+\(rng.pick(Vocabulary.words))".utf8)
        }
    }

    /// `https://<site><path>` of a page (the Referer of the next request).
    mutating func pageURL(site: Int, page: Int) -> [UInt8] {
        if page < 0 { return [] }
        if pageURLs[site].count <= page {
            pageURLs[site].append(contentsOf: Array(repeating: [], count: siteMap.pages.count - pageURLs[site].count))
        }
        if pageURLs[site][page].isEmpty {
            pageURLs[site][page] = Array("https://\(sites[site])".utf8) + siteMap.pages[page].path
        }
        return pageURLs[site][page]
    }

    // MARK: - Bots

    /// A request from a bot chosen by weight.
    mutating func botRequest(_ r: inout Request, _ rng: inout Xoshiro256StarStar) {
        let b = population.botTable.sample(&rng)
        let bot = population.bots[b]
        r.actor = .bot(b)
        r.site = siteTable.sample(&rng)
        r.address = bot.address
        r.bracketed = false
        r.userAgent = bot.userAgent
        r.cookie = []
        r.forwardedVia = -1
        r.http2 = false
        r.user = []
        r.method = .get
        r.query = []
        r.referrer = []
        r.page = -1
        r.email = .none
        r.token = []
        r.pathEmail = []
        switch bot.style {
        case .crawler:
            let roll = rng.below(1000)
            switch roll {
            case ..<30:
                r.path = Array("/robots.txt".utf8)
                r.status = 200
                r.bytes = 187
            case ..<50:
                r.path = Array("/sitemap.xml".utf8)
                r.status = 200
                r.bytes = 24_518
            case ..<80:
                r.path = Array(rng.pick(Vocabulary.brokenPaths).utf8)
                r.status = 404
                r.bytes = 1_534 + rng.below(40)
            case ..<100:
                r.path = Array("/blog".utf8)
                r.status = 301
                r.bytes = 231
            case ..<130:
                let asset = siteMap.coreAssets[rng.below(3)]
                r.path = asset.path
                r.status = 200
                r.bytes = asset.size
            default:
                var page = siteMap.popularPage(&rng)
                if page == siteMap.account { page = siteMap.home }
                let site = r.site
                setPage(&r, page, site: site, &rng)
                if rng.chance(perMillion: 50_000) {
                    r.status = 304
                    r.bytes = 0
                }
            }
        case .script:
            let roll = rng.below(100)
            if roll < 35 {
                r.path = Array("/".utf8)
                r.page = siteMap.home
                r.method = rng.chance(perMillion: 300_000) ? .head : .get
                r.status = 200
                r.bytes = r.method == .head ? 0 : siteMap.pages[siteMap.home].size
            } else if roll < 55 {
                r.path = Array("/api/health".utf8)
                r.status = 200
                r.bytes = 16
            } else {
                r.path = Array(rng.pick(Vocabulary.probePaths).utf8)
                r.status = 404
                r.bytes = 1_534 + rng.below(40)
            }
        case .monitor:
            r.method = .head
            r.path = Array("/".utf8)
            r.page = siteMap.home
            r.status = 200
            r.bytes = 0
        }
    }

    // MARK: - E-mail

    /// A pixel open (72 %) or a click redirect (28 %) by a random subscriber, on the first site.
    /// Returns false when there are no subscribers.
    mutating func emailRequest(_ r: inout Request, _ rng: inout Xoshiro256StarStar) -> Bool {
        guard !population.subscribers.isEmpty else { return false }
        let campaign = campaignTable.sample(&rng)
        let s = rng.below(population.subscribers.count)
        let sub = population.subscribers[s]
        let name = Vocabulary.campaigns[campaign].name
        fillVisitor(&r, sub.visitor, site: 0)
        if rng.chance(perMillion: 720_000) {
            if sub.mailProxy >= 0, userAgentsVisible {
                let proxy = population.mailProxies[sub.mailProxy]
                r.actor = .mailProxy(sub.mailProxy)
                r.address = rng.pick(proxy.addresses)
                r.bracketed = false
                r.userAgent = proxy.userAgent
                r.cookie = []
                r.forwardedVia = -1
                r.http2 = false
            }
            r.path = Array("/t/open.gif".utf8)
            r.query = Array("m=\(name)&r=".utf8) + sub.recipient
            r.status = 200
            r.bytes = 43
            r.email = .open(campaign: campaign, subscriber: s)
        } else {
            let links = Vocabulary.campaigns[campaign].links
            let link = rng.below(links.count)
            r.path = Array("/c/\(name)/\(links[link])".utf8)
            r.query = Array("r=".utf8) + sub.recipient
            r.status = 302
            r.bytes = 0
            r.email = .click(campaign: campaign, link: link, subscriber: s)
            var session = newSession(visitor: sub.visitor, site: 0, &rng)
            session.landingPage = landing(for: links[link], &rng)
            session.landingQuery = Array(
                "utm_source=newsletter&utm_medium=email&utm_campaign=\(name)&utm_content=\(links[link])".utf8)
            pool.append(session)
        }
        return true
    }

    private func landing(for link: String, _ rng: inout Xoshiro256StarStar) -> Int {
        switch link {
        case "hero": rng.pick(siteMap.products)
        case "cta", "pricing": siteMap.pricing
        case "top-story", "read-more": rng.pick(siteMap.blogPosts)
        case "docs": siteMap.docsIndex
        default: siteMap.home
        }
    }

    // MARK: - Lines that will be damaged

    /// A plain page request from a random visitor (the raw material of a malformed or
    /// over-long line; it is not part of any visit and not counted).
    mutating func standaloneRequest(_ r: inout Request, _ rng: inout Xoshiro256StarStar) {
        let v = rng.below(population.visitors.count)
        let site = siteTable.sample(&rng)
        fillVisitor(&r, v, site: site)
        var page = siteMap.popularPage(&rng)
        if page == siteMap.account { page = siteMap.home }
        setPage(&r, page, site: site, &rng)
        r.referrer = referrers[referrerTable.sample(&rng)]
    }
}
