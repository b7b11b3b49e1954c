/// One recipient's e-mail events of one campaign on one day, within a site: the per-recipient
/// pseudonymous summary that campaign rollups are computed from and that a later join reads.
///
/// Delivered events, opens by kind and click counts add up (saturating at `UInt32.max`); first
/// and last times take the minimum and maximum. Clicks are also kept as time-stamped records — one per distinct
/// (second, link, automated) with a count — so that the timing rules (`EmailTimingRules`) can
/// be applied at release to everything known about the recipient, whichever shard each click
/// came from. To bound memory, only the `maxClickRecords` smallest records (by time, then link
/// bytes, then automated) are kept; the clicks of the others are counted per (link, automated)
/// in `extraClicks` and are never scanner clicks by timing.
///
/// Merging is associative and commutative: the kept records are always the smallest
/// `maxClickRecords` of all records ever seen (a record evicted anywhere has that many smaller
/// records, so it is evicted from every merge that contains it), and every other count adds.
public struct RecipientSummary: Sendable, Equatable {
    /// Clicks of one second on one link, by human-looking or automated clients.
    public struct ClickRecord: Sendable, Equatable {
        public var time: Int64
        /// Dimension id of the redacted link.
        public var link: UInt32
        /// The client was a bot, mail proxy or scanner by user agent, address, method or the
        /// export's hint.
        public var automated: Bool
        public var count: UInt32
    }

    /// Clicks beyond the kept records, per link and automation.
    public struct ExtraClicks: Sendable, Equatable {
        public var link: UInt32
        public var automated: Bool
        public var count: UInt32
    }

    /// The most click records kept per summary.
    public static let maxClickRecords = 64

    public var delivered: UInt32 = 0
    /// Time of the first delivery; `Int64.max` when none.
    public var firstDelivered: Int64 = .max
    public var humanOpens: UInt32 = 0
    public var proxyOpens: UInt32 = 0
    public var botOpens: UInt32 = 0
    /// Times of the first and last open of any kind; `.max` / `.min` when none.
    public var firstOpen: Int64 = .max
    public var lastOpen: Int64 = .min
    /// Times of the first and last click of any kind; `.max` / `.min` when none.
    public var firstClick: Int64 = .max
    public var lastClick: Int64 = .min
    /// Sorted by time, link bytes, automated (false first).
    public var clicks: [ClickRecord] = []
    /// Sorted by link bytes, automated.
    public var extraClicks: [ExtraClicks] = []

    public init() {}

    /// All clicks, kept or not.
    public var clickCount: Int64 {
        clicks.reduce(0) { $0 + Int64($1.count) } + extraClicks.reduce(0) { $0 + Int64($1.count) }
    }

    public var openCount: Int64 { Int64(humanOpens) + Int64(proxyOpens) + Int64(botOpens) }

    // MARK: Adding events

    mutating func addDelivered(time: Int64) {
        delivered.addSaturating(1)
        firstDelivered = min(firstDelivered, time)
    }

    mutating func addOpen(time: Int64, kind: OpenKind) {
        switch kind {
        case .human: humanOpens.addSaturating(1)
        case .proxy: proxyOpens.addSaturating(1)
        case .bot: botOpens.addSaturating(1)
        }
        firstOpen = min(firstOpen, time)
        lastOpen = max(lastOpen, time)
    }

    /// Adds one click.
    /// - Parameter isLess: byte order of two link dimension ids.
    mutating func addClick(time: Int64, link: UInt32, automated: Bool, isLess: (UInt32, UInt32) -> Bool) {
        firstClick = min(firstClick, time)
        lastClick = max(lastClick, time)
        let record = ClickRecord(time: time, link: link, automated: automated, count: 1)
        // Usually the newest click: look from the end.
        var i = clicks.count
        while i > 0, Self.less(record, clicks[i - 1], isLess) { i -= 1 }
        if i > 0, Self.sameKey(clicks[i - 1], record) {
            clicks[i - 1].count.addSaturating(1)
            return
        }
        clicks.insert(record, at: i)
        evictBeyondLimit(isLess: isLess)
    }

    // MARK: Merge

    /// Adds `other` (already in this summary's dimension ids) into this summary.
    mutating func merge(_ other: RecipientSummary, isLess: (UInt32, UInt32) -> Bool) {
        delivered.addSaturating(other.delivered)
        firstDelivered = min(firstDelivered, other.firstDelivered)
        humanOpens.addSaturating(other.humanOpens)
        proxyOpens.addSaturating(other.proxyOpens)
        botOpens.addSaturating(other.botOpens)
        firstOpen = min(firstOpen, other.firstOpen)
        lastOpen = max(lastOpen, other.lastOpen)
        firstClick = min(firstClick, other.firstClick)
        lastClick = max(lastClick, other.lastClick)
        if !other.clicks.isEmpty {
            var merged: [ClickRecord] = []
            merged.reserveCapacity(clicks.count + other.clicks.count)
            var a = 0
            var b = 0
            while a < clicks.count || b < other.clicks.count {
                if b == other.clicks.count || (a < clicks.count && Self.less(clicks[a], other.clicks[b], isLess)) {
                    merged.append(clicks[a])
                    a += 1
                } else if a == clicks.count || Self.less(other.clicks[b], clicks[a], isLess) {
                    merged.append(other.clicks[b])
                    b += 1
                } else {
                    var r = clicks[a]
                    r.count.addSaturating(other.clicks[b].count)
                    merged.append(r)
                    a += 1
                    b += 1
                }
            }
            clicks = merged
        }
        for e in other.extraClicks { addExtra(e.link, e.automated, e.count, isLess: isLess) }
        evictBeyondLimit(isLess: isLess)
    }

    private mutating func evictBeyondLimit(isLess: (UInt32, UInt32) -> Bool) {
        while clicks.count > Self.maxClickRecords {
            let r = clicks.removeLast()
            addExtra(r.link, r.automated, r.count, isLess: isLess)
        }
    }

    private mutating func addExtra(_ link: UInt32, _ automated: Bool, _ count: UInt32, isLess: (UInt32, UInt32) -> Bool)
    {
        if let i = extraClicks.firstIndex(where: { $0.link == link && $0.automated == automated }) {
            extraClicks[i].count.addSaturating(count)
            return
        }
        let e = ExtraClicks(link: link, automated: automated, count: count)
        let i =
            extraClicks.firstIndex {
                $0.link != link ? isLess(link, $0.link) : (!automated && $0.automated)
            } ?? extraClicks.count
        extraClicks.insert(e, at: i)
    }

    /// Record order: time, then link bytes, then human-looking before automated.
    static func less(_ a: ClickRecord, _ b: ClickRecord, _ isLess: (UInt32, UInt32) -> Bool) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.link != b.link { return isLess(a.link, b.link) }
        return !a.automated && b.automated
    }

    static func sameKey(_ a: ClickRecord, _ b: ClickRecord) -> Bool {
        a.time == b.time && a.link == b.link && a.automated == b.automated
    }

    // MARK: Classification at release

    /// The clicks of this summary split by the timing rules: per link, human and scanner counts.
    ///
    /// A kept record is a scanner click when it is automated, when a delivery is known and the
    /// click lies within `deliverySeconds` after the first delivery, or when the records within
    /// `burstSeconds` of it name at least `burstLinks` different links. Extra clicks are
    /// scanner clicks only when automated.
    func classifiedClicks(_ rules: EmailTimingRules) -> [(link: UInt32, human: Int64, scanner: Int64)] {
        var out: [(link: UInt32, human: Int64, scanner: Int64)] = []
        func add(_ link: UInt32, _ scanner: Bool, _ n: UInt32) {
            if let i = out.firstIndex(where: { $0.link == link }) {
                if scanner { out[i].scanner += Int64(n) } else { out[i].human += Int64(n) }
            } else {
                out.append((link: link, human: scanner ? 0 : Int64(n), scanner: scanner ? Int64(n) : 0))
            }
        }
        var lo = 0
        var hi = 0
        var window: [UInt32] = []
        for (i, r) in clicks.enumerated() {
            var scanner = r.automated
            if !scanner, rules.deliveryEnabled, delivered > 0, r.time >= firstDelivered,
                r.time - firstDelivered <= rules.deliverySeconds
            {
                scanner = true
            }
            if !scanner, rules.burstEnabled {
                while clicks[lo].time < r.time - rules.burstSeconds { lo += 1 }
                if hi < i + 1 { hi = i + 1 }
                while hi < clicks.count, clicks[hi].time <= r.time + rules.burstSeconds { hi += 1 }
                window.removeAll(keepingCapacity: true)
                for j in lo..<hi where !window.contains(clicks[j].link) {
                    window.append(clicks[j].link)
                    if window.count >= rules.burstLinks { break }
                }
                if window.count >= rules.burstLinks { scanner = true }
            }
            add(r.link, scanner, r.count)
        }
        for e in extraClicks { add(e.link, e.automated, e.count) }
        return out
    }
}

extension UInt32 {
    /// Adds, stopping at `UInt32.max` (a count never wraps to a smaller one).
    @inline(__always) mutating func addSaturating(_ n: UInt32) {
        let (sum, overflow) = addingReportingOverflow(n)
        self = overflow ? .max : sum
    }
}

/// Who made an open.
public enum OpenKind: UInt8, Sendable {
    /// A person's mail client fetched the pixel.
    case human
    /// A mail provider's image proxy (Gmail, Yahoo, Apple Mail Privacy Protection).
    case proxy
    /// A bot or security scanner.
    case bot
}

/// A recipient summary's identity within a state: site, day bucket, campaign and keyed
/// recipient pseudonym.
public struct RecipientKey: Hashable, Sendable, FastHashable {
    public var site: UInt32
    /// Dimension id of the campaign.
    public var campaign: UInt32
    /// Local day number (days since 1970-01-01 in the state's time zone).
    public var day: Int32
    public var pseudonym: Pseudonym

    @inline(__always) public var fastHash: UInt64 {
        pseudonym.lo ^ mix64(UInt64(site) << 48 ^ UInt64(campaign) << 20 ^ UInt64(UInt32(bitPattern: day)))
    }
}
