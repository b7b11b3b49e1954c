/// What a path is, for the pageview rule and for byte sizes.
enum PathKind: Sendable {
    /// An HTML page: a pageview when fetched with GET/HEAD and answered 2xx/304 by a non-bot.
    case page
    /// A static asset (by extension): never a pageview.
    case asset
}

/// One path of the site map.
struct Page: Sendable {
    var path: [UInt8]
    /// The path with identifying segments replaced the way veil redacts them
    /// (`/products/:id`, `/users/:email/orders/:id`); equal to the path otherwise.
    var template: String
    var kind: PathKind
    /// Typical response size in bytes.
    var size: Int
}

/// The generated site: pages ranked for Zipf popularity, assets, and the dynamic pages
/// (per-account order pages) registered while generating.
struct SiteMap {
    /// Every page that can be a pageview; ids index this array.
    private(set) var pages: [Page] = []
    /// How many of `pages` take part in Zipf sampling (the rest are dynamic).
    let rankedCount: Int
    private let zipf: WeightedTable
    private var dynamicIndex: [[UInt8]: Int] = [:]

    let home: Int
    let blogIndex: Int
    let docsIndex: Int
    let pricing: Int
    let search: Int
    let account: Int
    var blogPosts: [Int] = []
    var products: [Int] = []
    var docs: [Int] = []

    /// Core assets every first pageview of a session loads (css, js, font, logo, favicon).
    private(set) var coreAssets: [Page] = []
    /// Content images.
    private(set) var images: [Page] = []

    init(rng: inout Xoshiro256StarStar) {
        func page(_ path: String, _ template: String? = nil, size: Int) -> Page {
            Page(path: Array(path.utf8), template: template ?? path, kind: .page, size: size)
        }
        var ranked: [Page] = []
        var fixed: [Page] = [
            page("/", size: 32_410), page("/blog/", size: 21_880), page("/docs/", size: 14_302),
            page("/pricing", size: 18_774), page("/search", size: 9_650), page("/about", size: 11_205),
            page("/contact", size: 7_930), page("/products/", size: 27_118), page("/careers", size: 10_442),
        ]
        // Blog posts: verb + two words, unique.
        var slugs = Set<String>()
        var blog: [Page] = []
        while blog.count < 150 {
            let slug = "\(rng.pick(Vocabulary.blogVerbs))-\(rng.pick(Vocabulary.words))-\(rng.pick(Vocabulary.words))"
            guard slugs.insert(slug).inserted else { continue }
            blog.append(page("/blog/\(slug)", size: rng.inRange(16_000, 62_000)))
        }
        // Products: unique numeric ids.
        var ids = Set<Int>()
        var productPages: [Page] = []
        while productPages.count < 300 {
            let id = rng.inRange(1000, 99_999)
            guard ids.insert(id).inserted else { continue }
            productPages.append(page("/products/\(id)", "/products/:id", size: rng.inRange(24_000, 46_000)))
        }
        var docPages: [Page] = []
        var docNames = Set<String>()
        while docPages.count < 48 {
            let name = "\(rng.pick(Vocabulary.docSections))/\(rng.pick(Vocabulary.words))-\(rng.pick(Vocabulary.words))"
            guard docNames.insert(name).inserted else { continue }
            docPages.append(page("/docs/\(name)", size: rng.inRange(12_000, 40_000)))
        }
        // Popularity: home first, then the other pages in a seeded order.
        var rest = Array(fixed.dropFirst()) + blog + productPages + docPages
        rng.shuffle(&rest)
        ranked = [fixed.removeFirst()] + rest
        // `/account` is reachable only by signed-in visitors, never by popularity.
        let accountPage = page("/account", size: 8_812)
        let all = ranked + [accountPage]
        func find(_ path: String) -> Int { all.firstIndex { $0.path == Array(path.utf8) }! }
        home = 0
        blogIndex = find("/blog/")
        docsIndex = find("/docs/")
        pricing = find("/pricing")
        search = find("/search")
        account = all.count - 1
        for (i, p) in all.enumerated() {
            if p.path.starts(with: Array("/blog/".utf8)), p.path.count > 6 { blogPosts.append(i) }
            if p.template == "/products/:id" { products.append(i) }
            if p.path.starts(with: Array("/docs/".utf8)), p.path.count > 6 { docs.append(i) }
        }
        pages = all
        rankedCount = ranked.count
        zipf = WeightedTable.zipf(count: ranked.count)

        func asset(_ path: String, _ size: Int) -> Page {
            Page(path: Array(path.utf8), template: path, kind: .asset, size: size)
        }
        func hex(_ n: Int) -> String {
            let digits = Array("0123456789abcdef")
            return String((0..<n).map { _ in digits[rng.below(16)] })
        }
        coreAssets = [
            asset("/static/app.\(hex(8)).css", 48_213), asset("/static/app.\(hex(8)).js", 187_442),
            asset("/static/vendor.\(hex(8)).js", 412_903), asset("/fonts/inter-var.woff2", 48_256),
            asset("/img/logo.svg", 3_412), asset("/favicon.ico", 15_086),
        ]
        let extensions = ["jpg", "jpg", "png", "png", "svg", "gif"]
        var imageNames = Set<String>()
        while images.count < 40 {
            let name = "/img/\(rng.pick(Vocabulary.words))-\(rng.pick(Vocabulary.words)).\(rng.pick(extensions))"
            guard imageNames.insert(name).inserted else { continue }
            images.append(asset(name, rng.inRange(6_000, 310_000)))
        }
    }

    /// A page id drawn by Zipf popularity (s = 1.1).
    func popularPage(_ rng: inout Xoshiro256StarStar) -> Int {
        zipf.sample(&rng)
    }

    /// The id of a per-account page (`/users/<email>/orders/<n>`), registered on first use.
    mutating func dynamicPage(path: [UInt8], template: String, size: Int) -> Int {
        if let id = dynamicIndex[path] { return id }
        pages.append(Page(path: path, template: template, kind: .page, size: size))
        dynamicIndex[path] = pages.count - 1
        return pages.count - 1
    }
}
