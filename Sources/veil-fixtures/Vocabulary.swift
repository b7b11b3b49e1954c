/// Fixed word lists the synthetic world is built from. Letters only: no generated path
/// segment is a number or token unless it is meant to be one.
enum Vocabulary {
    static let words = [
        "alpine", "amber", "anchor", "arctic", "autumn", "bamboo", "basil", "beacon", "birch", "bloom",
        "breeze", "bright", "bronze", "cabin", "canyon", "cedar", "cinder", "clover", "coastal", "copper",
        "coral", "cotton", "crimson", "crystal", "dawn", "delta", "desert", "drift", "ember", "falcon",
        "fern", "field", "fjord", "forest", "frost", "garden", "glacier", "golden", "granite", "harbor",
        "hazel", "heather", "highland", "honey", "indigo", "island", "ivory", "jade", "juniper", "lagoon",
        "lantern", "lavender", "linen", "maple", "marble", "meadow", "midnight", "mist", "moss", "nectar",
        "north", "oak", "ocean", "olive", "orchard", "pebble", "pine", "prairie", "quartz", "rain",
        "raven", "reef", "ridge", "river", "saffron", "sage", "salt", "shadow", "sierra", "silver",
        "slate", "spruce", "stone", "summit", "sunset", "thistle", "tide", "timber", "tundra", "valley",
        "velvet", "willow", "winter", "zephyr",
    ]

    static let blogVerbs = [
        "how-to-choose", "why-we-love", "a-guide-to", "the-case-for", "notes-on", "getting-started-with",
        "lessons-from", "ten-ideas-for", "behind-the-scenes-of", "what-we-learned-from",
    ]

    static let docSections = ["getting-started", "guides", "api", "reference", "faq", "tutorials"]

    static let firstNames = [
        "jane", "john", "maria", "ahmed", "li", "olga", "pierre", "aiko", "carlos", "fatima", "liam",
        "emma", "noah", "sofia", "lucas", "mia", "ivan", "zoe", "omar", "nina", "raj", "elena",
    ]

    static let lastNames = [
        "doe", "smith", "garcia", "khan", "wang", "petrova", "martin", "tanaka", "silva", "haddad",
        "murphy", "rossi", "novak", "berg", "kowalski", "dubois", "nguyen", "okafor", "larsen", "costa",
    ]

    /// E-mail campaigns and the links each one carries (link → landing page kind).
    static let campaigns: [(name: String, weight: Int, links: [String])] = [
        ("spring-sale", 40, ["hero", "cta", "footer"]),
        ("weekly-digest", 30, ["top-story", "read-more", "footer"]),
        ("product-launch", 20, ["hero", "pricing", "docs"]),
        ("winback", 10, ["cta", "unsubscribe"]),
    ]

    /// Referrers of a session's first pageview; the empty string means none (`-`).
    static let externalReferrers: [(url: String, weight: Int)] = [
        ("", 40),
        ("https://www.google.com/", 30),
        ("https://www.bing.com/", 5),
        ("https://duckduckgo.com/", 4),
        ("https://t.co/", 3),
        ("https://www.facebook.com/", 3),
        ("https://www.reddit.com/", 3),
        ("https://news.ycombinator.com/", 2),
        ("https://www.linkedin.com/", 2),
        ("https://blog.example.net/2026/favourite-tools", 3),
        ("https://forum.example.org/thread/outdoor-gear", 2),
        ("https://partners.example.net/", 3),
    ]

    /// Paths that answer 404 when followed from old links or probed by scripts.
    static let brokenPaths = [
        "/old-page", "/blog/feed.rss", "/shop/", "/about-us", "/docs/v1/", "/products/compare",
        "/images/banner-old.png", "/apple-touch-icon.png",
    ]

    static let probePaths = ["/wp-login.php", "/.env", "/xmlrpc.php", "/admin.php", "/.git/config", "/phpmyadmin/"]
}
