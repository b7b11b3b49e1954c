import Testing

@testable import VeilCore

struct VisitorSummaryTests {
    /// The reference: sort every pageview, then coalesce.
    func reference(_ pageviews: [(Int64, UInt32)], timeout: Int64) -> [Visit] {
        let sorted = pageviews.map { Visit(start: $0.0, end: $0.0, pageviews: 1, entry: $0.1, exit: $0.1) }
            .sorted { $0.start != $1.start ? $0.start < $1.start : $0.entry < $1.entry }
        return VisitorSummary.coalesce(sorted, timeout: timeout) { $0 < $1 }
    }

    /// The definition, without `Visit`'s code: the pageviews sorted by time, cut where a gap
    /// exceeds the timeout; the entry is the smallest path at the first second, the exit the
    /// largest at the last.
    func definition(_ pageviews: [(Int64, UInt32)], timeout: Int64) -> [Visit] {
        var groups: [[(Int64, UInt32)]] = []
        for p in pageviews.sorted(by: { $0.0 < $1.0 }) {
            if let last = groups.last?.last, p.0 - last.0 <= timeout {
                groups[groups.count - 1].append(p)
            } else {
                groups.append([p])
            }
        }
        return groups.map { g in
            let start = g.first!.0, end = g.last!.0  // Safe: a group has at least one pageview.
            return Visit(
                start: start, end: end, pageviews: UInt32(g.count),
                entry: g.filter { $0.0 == start }.map(\.1).min()!, exit: g.filter { $0.0 == end }.map(\.1).max()!)
        }
    }

    @Test("pageviews in any order give the visits of the sorted pageviews", arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func anyOrderGivesTheSameVisits(_ seed: UInt64) {
        var rng = StateTestRNG(seed: seed &* 0x9E37_79B9_7F4A_7C15)
        func next() -> UInt64 { rng.next() }
        let timeout: Int64 = 1800
        for _ in 0..<300 {
            let n = Int(next() % 40) + 1
            // Times cluster so that joins, bridges and equal starts all happen.
            let views: [(Int64, UInt32)] = (0..<n).map { _ in (Int64(next() % 20_000), UInt32(next() % 5)) }
            let first = Visit(start: views[0].0, end: views[0].0, pageviews: 1, entry: views[0].1, exit: views[0].1)
            var s = VisitorSummary(first: first)
            for v in views.dropFirst() { s.add(time: v.0, path: v.1, timeout: timeout) { $0 < $1 } }
            #expect(s.visits == reference(views, timeout: timeout), "\(views)")
            #expect(s.visits == definition(views, timeout: timeout), "\(views)")

            // Merged from two halves, in either order: the same visits.
            let half = views.count / 2
            var a = VisitorSummary(visits: reference(Array(views[..<half]), timeout: timeout))
            var b = VisitorSummary(visits: reference(Array(views[half...]), timeout: timeout))
            let (aVisits, bVisits) = (a.visits, b.visits)
            a.merge(bVisits, timeout: timeout) { $0 < $1 }
            b.merge(aVisits, timeout: timeout) { $0 < $1 }
            #expect(a.visits == s.visits && b.visits == s.visits, "\(views)")

            // The aggregator's path: the order-free fast path first, `add` only when it declines
            // (and a declined pageview leaves the summary as it was).
            var fast = VisitorSummary(first: first)
            for v in views.dropFirst() {
                let before = fast.visits
                let taken = fast.addInOrder(time: v.0, path: v.1, timeout: timeout)
                if !taken {
                    #expect(fast.visits == before)
                    fast.add(time: v.0, path: v.1, timeout: timeout) { $0 < $1 }
                }
            }
            #expect(fast.visits == s.visits, "\(views)")
        }
    }

    @Test("a late pageview that bridges two visits joins them into one")
    func bridge() {
        var s = VisitorSummary(first: Visit(start: 0, end: 0, pageviews: 1, entry: 1, exit: 1))
        s.add(time: 3000, path: 2, timeout: 1800) { $0 < $1 }
        #expect(s.visits.count == 2)
        s.add(time: 1500, path: 3, timeout: 1800) { $0 < $1 }
        #expect(s.visits == [Visit(start: 0, end: 3000, pageviews: 3, entry: 1, exit: 2)])
    }

    @Test("empty summaries, a visit before the first, a bridge over the first two, equality")
    func inlineFirstVisit() {
        var empty = VisitorSummary(visits: [])
        #expect(empty.visits.isEmpty)
        empty.add(time: 500, path: 2, timeout: 1800) { $0 < $1 }
        #expect(empty.visits == [Visit(start: 500, end: 500, pageviews: 1, entry: 2, exit: 2)])

        var s = VisitorSummary(first: Visit(start: 10_000, end: 10_000, pageviews: 1, entry: 1, exit: 1))
        s.add(time: 1_000, path: 3, timeout: 1800) { $0 < $1 }  // a new first visit
        #expect(s.visits.map(\.start) == [1_000, 10_000])
        s.add(time: 2_500, path: 4, timeout: 1800) { $0 < $1 }  // joins the first
        s.add(time: 6_000, path: 5, timeout: 1800) { $0 < $1 }  // a visit in between
        #expect(s.visits.map(\.start) == [1_000, 6_000, 10_000])
        s.add(time: 4_300, path: 6, timeout: 1800) { $0 < $1 }  // bridges the first two
        #expect(
            s.visits == [
                Visit(start: 1_000, end: 6_000, pageviews: 4, entry: 3, exit: 5),
                Visit(start: 10_000, end: 10_000, pageviews: 1, entry: 1, exit: 1),
            ])
        // The same visits, however the summary was built, are equal (the state encodes them alike).
        #expect(s == VisitorSummary(visits: s.visits))
        var t = VisitorSummary(visits: s.visits)
        t.visits = []
        #expect(t == VisitorSummary(visits: []))
    }

    @Test("the fast path declines exactly the pageviews that need an entry- or exit-page order")
    func fastPathDeclines() {
        var s = VisitorSummary(first: Visit(start: 100, end: 100, pageviews: 1, entry: 5, exit: 5))
        let tie = s.addInOrder(time: 100, path: 1, timeout: 1800)
        #expect(!tie, "a tie at the visit's start")
        let early = s.addInOrder(time: 50, path: 1, timeout: 1800)
        #expect(!early, "before the visit")
        #expect(s.visits == [Visit(start: 100, end: 100, pageviews: 1, entry: 5, exit: 5)])
        let later = s.addInOrder(time: 200, path: 1, timeout: 1800)
        let atEnd = s.addInOrder(time: 200, path: 7, timeout: 1800)
        #expect(!atEnd, "a tie at the visit's last second, on another page")
        let sameEnd = s.addInOrder(time: 200, path: 1, timeout: 1800)
        let next = s.addInOrder(time: 5000, path: 2, timeout: 1800)
        #expect(later && sameEnd && next)
        #expect(
            s.visits == [
                Visit(start: 100, end: 200, pageviews: 3, entry: 5, exit: 1),
                Visit(start: 5000, end: 5000, pageviews: 1, entry: 2, exit: 2),
            ])
        s.add(time: 200, path: 7, timeout: 1800) { $0 < $1 }
        #expect(s.visits.first == Visit(start: 100, end: 200, pageviews: 4, entry: 5, exit: 7))
    }

    @Test("an unknown exit (an old state's) gives way to a later one, and wins a tie")
    func unknownExits() {
        let unknown = Visit.unknownExit
        let old = Visit(start: 0, end: 100, pageviews: 2, entry: 1, exit: unknown)
        let later = Visit(start: 50, end: 200, pageviews: 1, entry: 2, exit: 3)
        let tie = Visit(start: 60, end: 100, pageviews: 1, entry: 4, exit: 5)
        for (a, b) in [(old, later), (later, old)] {
            #expect(a.joined(with: b) { $0 < $1 } == Visit(start: 0, end: 200, pageviews: 3, entry: 1, exit: 3))
        }
        for (a, b) in [(old, tie), (tie, old)] {
            #expect(a.joined(with: b) { $0 < $1 } == Visit(start: 0, end: 100, pageviews: 3, entry: 1, exit: unknown))
        }
        var s = VisitorSummary(visits: [old])
        s.add(time: 100, path: 9, timeout: 1800) { $0 < $1 }
        #expect(s.visits == [Visit(start: 0, end: 100, pageviews: 3, entry: 1, exit: unknown)])
        s.add(time: 150, path: 9, timeout: 1800) { $0 < $1 }
        #expect(s.visits == [Visit(start: 0, end: 150, pageviews: 4, entry: 1, exit: 9)])
    }
}
