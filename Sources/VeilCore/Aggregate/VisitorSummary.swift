/// One visit of one visitor: consecutive pageviews with no gap longer than the session timeout,
/// with the pages it entered and left by, and the web campaign and referrer host it came from.
///
/// 28 bytes: the start is kept in 32 bits and the end as its distance from the start (a
/// state's times lie within `StateCodec.maxTime`, under 2³² seconds).
public struct Visit: Sendable, Equatable {
    /// The first pageview's UTC seconds, in 32 bits.
    private var startSeconds: UInt32
    /// Seconds from the first pageview to the last.
    private var length: UInt32
    public var pageviews: UInt32
    /// Dimension id of the entry page (the first pageview's redacted path).
    public var entry: UInt32
    /// Dimension id of the exit page (the last pageview's redacted path), or `unknownExit`.
    public var exit: UInt32
    /// Dimension id of the web campaign the first pageview was tagged with (its `utm_`
    /// source, medium and campaign), or `noCampaign`.
    public var campaign: UInt32
    /// Dimension id of the first pageview's referrer host, or `noReferrer`.
    public var referrer: UInt32

    /// The exit of a visit read from a state file written before exits were kept (version 3
    /// and older), or joined with one that ended at the same second.
    public static let unknownExit = UInt32.max
    /// The campaign of a visit whose first pageview had no campaign tags (and of every visit
    /// read from a state file of version 5 or older).
    public static let noCampaign = UInt32.max
    /// The referrer of a visit whose first pageview had none (and of every visit read from a
    /// state file of version 5 or older).
    public static let noReferrer = UInt32.max

    /// - Precondition: `0 <= start <= end`, `start` under 2³² seconds.
    public init(
        start: Int64, end: Int64, pageviews: UInt32, entry: UInt32, exit: UInt32, campaign: UInt32 = noCampaign,
        referrer: UInt32 = noReferrer
    ) {
        precondition(start >= 0 && start <= Int64(UInt32.max), "a visit starts within 0..<2^32 seconds")
        startSeconds = UInt32(truncatingIfNeeded: start)
        length = UInt32(clamping: end - start)
        self.pageviews = pageviews
        self.entry = entry
        self.exit = exit
        self.campaign = campaign
        self.referrer = referrer
    }

    /// UTC seconds of the first pageview. Setting it moves `end` too: set `end` after it.
    public internal(set) var start: Int64 {
        get { Int64(startSeconds) }
        set { startSeconds = UInt32(truncatingIfNeeded: newValue) }
    }

    /// UTC seconds of the last pageview.
    public var end: Int64 {
        get { start + Int64(length) }
        set { length = UInt32(clamping: newValue - start) }
    }

    /// Whether this visit's first pageview comes before `o`'s in the order that picks a joined
    /// visit's entry page, campaign and referrer: the earlier time, then the smaller path, then
    /// a tagged pageview before an untagged one and the smaller campaign, then one with a
    /// referrer before one without and the smaller host, so the result does not depend on the
    /// order pageviews or shards come in.
    @inline(__always)
    func entersBefore(_ o: Visit, isLess: (UInt32, UInt32) -> Bool) -> Bool {
        if start != o.start { return start < o.start }
        if entry != o.entry { return isLess(entry, o.entry) }
        if campaign != o.campaign { return Self.isLess(campaign, o.campaign, none: Self.noCampaign, isLess) }
        return referrer != o.referrer && Self.isLess(referrer, o.referrer, none: Self.noReferrer, isLess)
    }

    /// The order of two different optional dimension ids: a value before `none`, values by
    /// `isLess`.
    @inline(__always)
    private static func isLess(_ a: UInt32, _ b: UInt32, none: UInt32, _ isLess: (UInt32, UInt32) -> Bool) -> Bool {
        a != none && (b == none || isLess(a, b))
    }

    /// One visit made of the pageviews of two visits of one visitor that overlap or lie
    /// within the session timeout of each other, whichever order they come in: the entry page,
    /// campaign and referrer of the earlier start (on a tie see `entersBefore`), the exit page
    /// of the later end (on a tie the larger path; unknown if either is unknown).
    /// - Parameter isLess: byte order of two dimension ids.
    func joined(with o: Visit, isLess: (UInt32, UInt32) -> Bool) -> Visit {
        var v = self
        if o.entersBefore(self, isLess: isLess) {
            v.entry = o.entry
            v.campaign = o.campaign
            v.referrer = o.referrer
        }
        v.start = min(start, o.start)
        let end = max(self.end, o.end)
        if o.end > self.end {
            v.exit = o.exit
        } else if o.end == self.end && o.exit != exit {
            v.exit =
                exit == Self.unknownExit || o.exit == Self.unknownExit
                ? Self.unknownExit : isLess(exit, o.exit) ? o.exit : exit
        }
        v.end = end
        // Saturating: a state file may hold visits of up to UInt32.max pageviews.
        v.pageviews.addSaturating(o.pageviews)
        return v
    }
}

/// A visitor's pseudonymous summary: their visits in time order.
///
/// Visits merge: two summaries of the same visitor from different shards combine by joining
/// visits whose gap is within the timeout, which gives exactly the visits that sessionising
/// all the pageviews together would give (a shard's visit is a chain of pageviews with gaps ≤
/// timeout; adding pageviews only shortens gaps). The entry page, campaign and referrer of a
/// joined visit are those of its earliest pageview; on equal times `Visit.entersBefore` picks
/// (the smaller path first), so the result does not depend on the order the shards arrive in.
public struct VisitorSummary: Sendable, Equatable {
    /// The visits before the last one, in time order: empty for a visitor with one visit.
    private var earlier: [Visit]
    /// The last visit, kept in the summary itself: most pageviews extend it or start the next
    /// one, and reading it then costs no second memory access. `pageviews == 0` marks a
    /// summary with no visit at all (a real visit has at least one pageview).
    private var latest: Visit
    /// Which dimension cells of the aggregation that holds this summary already counted the
    /// visitor (see `countedCells`): not part of the summary's value, never written to a
    /// state file, and ignored by `==`.
    private var counted: UInt64 = 0

    private static let none = Visit(start: 0, end: 0, pageviews: 0, entry: 0, exit: 0)

    init(first: Visit) {
        earlier = []
        latest = first
    }

    init(visits: [Visit]) {
        earlier = []
        latest = Self.none
        self.visits = visits
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.earlier == b.earlier && a.latest == b.latest
    }

    /// Notes a pageview of this visitor on local day `day` with user-agent class `agent` and
    /// referrer dimension `referrer` (`UInt32.max`: none), and says which of those the
    /// visitor's previous pageviews already brought to the same day's cells.
    ///
    /// The note holds the day of the last pageview, its user-agent class and the last
    /// referrer seen that day: a visitor's pageviews mostly repeat all three (one browser,
    /// and the site's own pages as referrers), so the browser, OS, device and referrer
    /// sketches of that day had the visitor inserted already — and a sketch depends only on
    /// the set inserted, so skipping the insert changes nothing. The cells may have been
    /// sealed since (their sketches merge with the new cells' at the end): still a union
    /// with the visitor in it.
    /// - Parameters:
    ///   - day: the local day bucket, in 0..<65,535.
    ///   - agent: the user-agent class index; from 65,535 on it is never noted.
    /// - Returns: whether the agent's cells (browser, OS, device) and the referrer's cell of
    ///   `day` already counted the visitor.
    @inline(__always)
    mutating func countedCells(day: Int, agent: Int, referrer: UInt32) -> (agent: Bool, referrer: Bool) {
        let note = counted
        let d = UInt64(truncatingIfNeeded: day &+ 1) & 0xFFFF
        let a = UInt64(truncatingIfNeeded: min(agent, 0xFFFF))
        let sameDay = note & 0xFFFF == d
        let agentKnown = sameDay && a != 0xFFFF && (note >> 16) & 0xFFFF == a
        let referrerKnown = sameDay && referrer != .max && note >> 32 == UInt64(referrer)
        let kept = referrer != .max ? UInt64(referrer) : (sameDay ? note >> 32 : UInt64(UInt32.max))
        counted = d | a << 16 | kept << 32
        return (agentKnown, referrerKnown)
    }

    /// Every visit, in time order (a new array: loops over many summaries use `forEachVisit`).
    public var visits: [Visit] {
        get {
            guard latest.pageviews > 0 else { return [] }
            var all = earlier
            all.append(latest)
            return all
        }
        set {
            if let last = newValue.last {
                earlier = Array(newValue.dropLast())
                latest = last
            } else {
                earlier = []
                latest = Self.none
            }
        }
    }

    /// The number of visits.
    public var visitCount: Int { latest.pageviews > 0 ? earlier.count + 1 : 0 }

    /// The earliest visit, if any.
    public var firstVisit: Visit? { earlier.first ?? (latest.pageviews > 0 ? latest : nil) }

    /// Calls `body` with every visit, in time order, without building an array.
    @inline(__always)
    public func forEachVisit(_ body: (Visit) throws -> Void) rethrows {
        guard latest.pageviews > 0 else { return }
        for v in earlier { try body(v) }
        try body(latest)
    }

    /// Adds one pageview at `time` on the page `path`, tagged with web campaign `campaign`
    /// (`Visit.noCampaign`: none) and from referrer host `referrer` (`Visit.noReferrer`: none).
    /// - Parameter isLess: byte order of two dimension ids, for entry- and exit-page ties.
    @inline(__always)
    mutating func add(
        time: Int64, path: UInt32, campaign: UInt32 = Visit.noCampaign, referrer: UInt32 = Visit.noReferrer,
        timeout: Int64, isLess: (UInt32, UInt32) -> Bool
    ) {
        if !addInOrder(time: time, path: path, campaign: campaign, referrer: referrer, timeout: timeout) {
            addOutOfOrder(
                time: time, path: path, campaign: campaign, referrer: referrer, timeout: timeout, isLess: isLess)
        }
    }

    /// `add` for the common cases that need no tie-break between pages: a pageview that
    /// extends the last visit at a later time, or starts a new visit after it.
    /// - Returns: false, changing nothing, when the pageview needs `addOutOfOrder` (it is
    ///   before the last visit's start or at the same second, or at the second of its last
    ///   pageview on another page).
    @inline(__always)
    mutating func addInOrder(
        time: Int64, path: UInt32, campaign: UInt32 = Visit.noCampaign, referrer: UInt32 = Visit.noReferrer,
        timeout: Int64
    ) -> Bool {
        let last = latest
        guard last.pageviews > 0 else {
            latest = Visit(
                start: time, end: time, pageviews: 1, entry: path, exit: path, campaign: campaign, referrer: referrer)
            return true
        }
        guard time > last.start else { return false }
        let end = last.end
        if time - end <= timeout {
            if time > end {
                latest.end = time
                latest.exit = path
            } else if time == end && path != last.exit {
                return false
            }
            latest.pageviews += 1
        } else {
            earlier.append(last)
            latest = Visit(
                start: time, end: time, pageviews: 1, entry: path, exit: path, campaign: campaign, referrer: referrer)
        }
        return true
    }

    /// What `addInOrder` declines: a pageview at the second the last visit starts or ends
    /// (it joins that visit; the entry page is the smaller path, the exit page the larger) or
    /// before it (inserted in place).
    mutating func addOutOfOrder(
        time: Int64, path: UInt32, campaign: UInt32 = Visit.noCampaign, referrer: UInt32 = Visit.noReferrer,
        timeout: Int64, isLess: (UInt32, UInt32) -> Bool
    ) {
        let view = Visit(
            start: time, end: time, pageviews: 1, entry: path, exit: path, campaign: campaign, referrer: referrer)
        if latest.pageviews > 0, time >= latest.start, time - latest.end <= timeout {
            latest = latest.joined(with: view, isLess: isLess)
            return
        }
        // The whole list in `earlier` for the insertion, then the last one back (the array
        // keeps its capacity, so this allocates only when it grows, as `append` does).
        if latest.pageviews > 0 { earlier.append(latest) }
        Self.insert(view, into: &earlier, timeout: timeout, isLess: isLess)
        latest = earlier.removeLast()
    }

    /// Joins another summary of the same visitor into this one.
    mutating func merge(_ other: [Visit], timeout: Int64, isLess: (UInt32, UInt32) -> Bool) {
        var all = visits + other
        all.sort { $0.entersBefore($1, isLess: isLess) }
        visits = Self.coalesce(all, timeout: timeout, isLess: isLess)
    }

    /// A pageview earlier than the last visit's start: inserted in place, joining the visit
    /// before and/or after it when within the timeout. The visits were already coalesced, so
    /// nothing further can join. Allocates only when the array grows, as `append` does.
    @inline(never)
    private static func insert(_ v: Visit, into visits: inout [Visit], timeout: Int64, isLess: (UInt32, UInt32) -> Bool)
    {
        // i: the first visit starting after v (visits are sorted by start).
        var lo = 0
        var hi = visits.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if visits[mid].start <= v.start { lo = mid + 1 } else { hi = mid }
        }
        let i = lo
        if i > 0, v.start - visits[i - 1].end <= timeout {
            var left = visits[i - 1].joined(with: v, isLess: isLess)
            if i < visits.count, visits[i].start - left.end <= timeout {
                left = left.joined(with: visits[i], isLess: isLess)
                visits.remove(at: i)
            }
            visits[i - 1] = left
        } else if i < visits.count, visits[i].start - v.end <= timeout {
            // v starts the visit after it (strictly earlier, so its entry page wins).
            visits[i] = v.joined(with: visits[i], isLess: isLess)
        } else {
            visits.insert(v, at: i)
        }
    }

    /// Joins visits sorted by start whose gap is within `timeout`.
    static func coalesce(_ sorted: [Visit], timeout: Int64, isLess: (UInt32, UInt32) -> Bool) -> [Visit] {
        var out: [Visit] = []
        out.reserveCapacity(sorted.count)
        for v in sorted {
            if let last = out.last, v.start - last.end <= timeout {
                out[out.count - 1] = last.joined(with: v, isLess: isLess)
            } else {
                out.append(v)
            }
        }
        return out
    }
}

/// A visitor's identity within a state: site and keyed pseudonym.
public struct VisitorKey: Hashable, Sendable, Comparable, FastHashable {
    public var site: UInt32
    public var pseudonym: Pseudonym

    /// Pseudonyms are already uniformly random; the site is mixed in.
    @inline(__always) public var fastHash: UInt64 { pseudonym.lo ^ (UInt64(site) &* 0x9E37_79B9_7F4A_7C15) }

    public static func < (a: Self, b: Self) -> Bool {
        a.site != b.site ? a.site < b.site : a.pseudonym < b.pseudonym
    }
}
