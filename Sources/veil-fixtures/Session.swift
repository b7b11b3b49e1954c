/// One visit in progress: a visitor's run of pageviews, each followed by its assets.
struct Session {
    var visitor: Int
    var site: Int
    var pageviewsLeft: Int
    /// Core assets (bit i = `SiteMap.coreAssets[i]`) still to fetch after the last page.
    var coreMask: UInt8 = 0
    var imagesLeft = 0
    var lastPage = -1
    var pagesSeen = 0
    /// Page forced next (the target of a 301), or -1.
    var forcedNext = -1
    /// Landing page and query of a session started by an e-mail click.
    var landingPage = -1
    var landingQuery: [UInt8] = []

    var finished: Bool { pageviewsLeft <= 0 && coreMask == 0 && imagesLeft == 0 && forcedNext < 0 }
}
