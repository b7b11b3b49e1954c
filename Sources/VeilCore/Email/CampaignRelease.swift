/// The e-mail tables of a release, computed from the per-recipient summaries.
///
/// `campaigns` (per site, day and campaign) and `campaign_links` (per site, day, campaign and
/// link) are thresholded on distinct recipients: a campaign row needs at least k recipients
/// with any event, a link row at least k recipients with a human click on it. Rows below k fold
/// into an `(other)` campaign per site and day, or an `(other)` link per campaign and day,
/// published when that reaches k (a recipient of several folded campaigns counts once).
///
/// Clicks are split into human and scanner clicks here, by `EmailTimingRules` applied to each
/// recipient's click records (see `RecipientSummary.classifiedClicks`).
extension Release {
    static let campaignColumns = [
        "site", "date", "campaign", "delivered", "human_opens", "proxy_opens", "bot_opens", "unique_openers",
        "clicks", "scanner_clicks", "unique_clickers", "click_to_open_rate",
    ]
    static let campaignLinkColumns = ["site", "date", "campaign", "link", "clicks", "unique_clickers"]

    /// Sums over one campaign row (or an `(other)` row).
    struct CampaignTotals {
        var delivered: Int64 = 0
        var deliveredKnown = false
        var humanOpens: Int64 = 0
        var proxyOpens: Int64 = 0
        var botOpens: Int64 = 0
        var clicks: Int64 = 0
        var scannerClicks: Int64 = 0
        /// Pseudonyms of every recipient, of openers (human or proxy) and of human clickers.
        var recipients: [Pseudonym] = []
        var openers: [Pseudonym] = []
        var clickers: [Pseudonym] = []

        mutating func add(_ o: CampaignTotals) {
            delivered += o.delivered
            deliveredKnown = deliveredKnown || o.deliveredKnown
            humanOpens += o.humanOpens
            proxyOpens += o.proxyOpens
            botOpens += o.botOpens
            clicks += o.clicks
            scannerClicks += o.scannerClicks
            recipients += o.recipients
            openers += o.openers
            clickers += o.clickers
        }
    }

    /// Sums over one link row.
    struct LinkTotals {
        var clicks: Int64 = 0
        /// Summary indices of the recipients with a human click on the link.
        var clickers: [Int] = []
    }

    struct CampaignKey: Hashable {
        var site: Int
        var day: Int64
        var campaign: Int
    }

    /// The two e-mail tables: `campaigns` and `campaign_links`.
    func campaignTables() -> [ReleasedTable] {
        let rules = state.configuration.emailTiming
        let otherDim = otherDimension

        // Totals per campaign row and per link, mutated in place (no copy of their lists).
        var groupIndex: [CampaignKey: Int] = [:]
        var groups: [CampaignTotals] = []
        var linkIndex: [CampaignKey: [Int: Int]] = [:]
        var linkTotals: [LinkTotals] = []
        // Recipients of one campaign and day mostly come in runs: the last group is remembered.
        var last: (key: CampaignKey, index: Int)?
        state.recipients.withUnsafeBufferPointer { summaries in
            for (j, key) in state.recipientKeys.enumerated() {
                let g = CampaignKey(site: Int(key.site), day: Int64(key.day), campaign: Int(key.campaign))
                let gi: Int
                if let last, last.key == g {
                    gi = last.index
                } else if let known = groupIndex[g] {
                    gi = known
                } else {
                    gi = groups.count
                    groupIndex[g] = gi
                    groups.append(CampaignTotals())
                }
                last = (g, gi)
                // Fields one by one: a copy of the summary would retain each of its arrays.
                let delivered = summaries[j].delivered
                let humanOpens = summaries[j].humanOpens
                let proxyOpens = summaries[j].proxyOpens
                groups[gi].delivered += Int64(delivered)
                groups[gi].deliveredKnown = groups[gi].deliveredKnown || delivered > 0
                groups[gi].humanOpens += Int64(humanOpens)
                groups[gi].proxyOpens += Int64(proxyOpens)
                groups[gi].botOpens += Int64(summaries[j].botOpens)
                groups[gi].recipients.append(key.pseudonym)
                if humanOpens > 0 || proxyOpens > 0 { groups[gi].openers.append(key.pseudonym) }
                guard !summaries[j].clicks.isEmpty || !summaries[j].extraClicks.isEmpty else { continue }
                var clicked = false
                for c in summaries[j].classifiedClicks(rules) {
                    groups[gi].clicks += c.human
                    groups[gi].scannerClicks += c.scanner
                    let li: Int
                    if let known = linkIndex[g]?[Int(c.link)] {
                        li = known
                    } else {
                        li = linkTotals.count
                        linkIndex[g, default: [:]][Int(c.link)] = li
                        linkTotals.append(LinkTotals())
                    }
                    linkTotals[li].clicks += c.human
                    if c.human > 0 {
                        linkTotals[li].clickers.append(j)
                        clicked = true
                    }
                }
                if clicked { groups[gi].clickers.append(key.pseudonym) }
            }
        }

        let siteLess = { (a: Int, b: Int) -> Bool in
            a != b && state.sites.string(UInt32(a)).utf8.lexicographicallyPrecedes(state.sites.string(UInt32(b)).utf8)
        }
        let campaignLess = { (a: Int, b: Int) -> Bool in
            if a == otherDim || b == otherDim { return b == otherDim && a != otherDim }
            return state.dims.isLess(UInt32(a), UInt32(b))
        }
        let order = groupIndex.keys.sorted { a, b in
            if a.site != b.site { return siteLess(a.site, b.site) }
            if a.day != b.day { return a.day < b.day }
            return campaignLess(a.campaign, b.campaign)
        }

        // campaigns: fold per (site, day).
        var campaigns = ReleasedTable(
            name: "campaigns", header: Self.campaignColumns, rows: [], thresholdOn: "recipients")
        var i = 0
        while i < order.count {
            let first = order[i]
            var end = i
            while end < order.count, order[end].site == first.site, order[end].day == first.day { end += 1 }
            var other = CampaignTotals()
            var hasOther = false
            var folded = 0
            var published: [(campaign: Int, totals: CampaignTotals, n: UInt64)] = []
            for g in order[i..<end] {
                let t = groups[groupIndex[g]!]  // Safe: keys come from groupIndex.
                let n = UInt64(t.recipients.count)
                if n >= k && g.campaign != otherDim {
                    published.append((g.campaign, t, n))
                } else {
                    if g.campaign != otherDim { folded += 1 }
                    other.add(t)
                    hasOther = true
                }
            }
            campaigns.suppressed += folded
            if hasOther {
                let n = UInt64(Self.distinct(&other.recipients))
                if n >= k {
                    published.append((otherDim, other, n))
                    campaigns.folded += folded
                }
            }
            let site = state.sites.string(UInt32(first.site))
            let date = ISOTime.date(days: first.day)
            for p in published {
                var t = p.totals
                campaigns.smallestPublishedCount = min(campaigns.smallestPublishedCount ?? p.n, p.n)
                // A campaign row's lists are distinct already (a recipient key names one site,
                // day and campaign); an `(other)` row's may repeat a recipient.
                let openers = Int64(p.campaign == otherDim ? Self.distinct(&t.openers) : t.openers.count)
                let clickers = Int64(p.campaign == otherDim ? Self.distinct(&t.clickers) : t.clickers.count)
                campaigns.rows.append([
                    site, date, p.campaign == otherDim ? otherLabel : state.dims.string(UInt32(p.campaign)),
                    t.deliveredKnown ? String(t.delivered) : "", String(t.humanOpens), String(t.proxyOpens),
                    String(t.botOpens), String(openers), String(t.clicks), String(t.scannerClicks), String(clickers),
                    Self.rate(clickers, openers),
                ])
            }
            i = end
        }

        // campaign_links: fold per (site, day, campaign).
        var linkTable = ReleasedTable(
            name: "campaign_links", header: Self.campaignLinkColumns, rows: [], thresholdOn: "recipients")
        for g in order {
            guard let perLink = linkIndex[g] else { continue }
            var published: [(link: Int, totals: LinkTotals)] = []
            var other = LinkTotals()
            var hasOther = false
            var folded = 0
            for (link, li) in perLink {
                let l = linkTotals[li]
                if UInt64(l.clickers.count) >= k && link != otherDim {
                    published.append((link, l))
                } else {
                    if link != otherDim { folded += 1 }
                    other.clicks += l.clicks
                    other.clickers += l.clickers
                    hasOther = true
                }
            }
            linkTable.suppressed += folded
            published.sort {
                $0.totals.clicks != $1.totals.clicks
                    ? $0.totals.clicks > $1.totals.clicks : state.dims.isLess(UInt32($0.link), UInt32($1.link))
            }
            if hasOther {
                let n = Self.distinct(&other.clickers)
                other.clickers = Array(other.clickers.prefix(n))
                if UInt64(n) >= k {
                    published.append((otherDim, other))
                    linkTable.folded += folded
                }
            }
            let site = state.sites.string(UInt32(g.site))
            let date = ISOTime.date(days: g.day)
            let campaign = g.campaign == otherDim ? otherLabel : state.dims.string(UInt32(g.campaign))
            for p in published {
                let n = UInt64(p.totals.clickers.count)
                linkTable.smallestPublishedCount = min(linkTable.smallestPublishedCount ?? n, n)
                linkTable.rows.append([
                    site, date, campaign, p.link == otherDim ? otherLabel : state.dims.string(UInt32(p.link)),
                    String(p.totals.clicks), String(n),
                ])
            }
        }
        return [campaigns, linkTable]
    }

    /// Sorts `values` and moves its distinct values to the front; returns how many there are.
    static func distinct<T: Comparable>(_ values: inout [T]) -> Int {
        guard !values.isEmpty else { return 0 }
        values.sort()
        var n = 1
        for i in 1..<values.count where values[i] != values[n - 1] {
            values[n] = values[i]
            n += 1
        }
        return n
    }
}
