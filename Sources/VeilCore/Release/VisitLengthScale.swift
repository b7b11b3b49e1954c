/// The ranges a visit's length falls into in `visit_durations` (seconds from its first to its
/// last pageview) and `visit_pageviews` (its pageviews).
///
/// A scale is a lowest value and the inclusive upper bounds of its ranges; a last, open range
/// holds everything above the last bound. A released row covers one range or several
/// adjacent ones (see `Release.visitLengths`), and names them by its smallest and largest
/// value as two numbers, which spreadsheets and DuckDB read as numbers (a label such as
/// `1-10` would become a date in a spreadsheet).
struct VisitLengthScale: Sendable, Equatable {
    /// The smallest value a visit can have (0 seconds, 1 pageview).
    let lowest: Int64
    /// Inclusive upper bounds of the closed ranges, increasing, each at least `lowest`.
    let bounds: [Int64]

    /// Seconds from a visit's first pageview to its last: 0 (one pageview, or several in one
    /// second), 1–10, 11–30, 31–60, 61–180, 181–600, 601–1800 and over 1800 (a visit has no
    /// end while its pageviews come within the session timeout of each other).
    static let duration = VisitLengthScale(lowest: 0, bounds: [0, 10, 30, 60, 180, 600, 1800])
    /// Pageviews of a visit: 1 (a bounce), 2, 3, 4–5, 6–10, 11–20 and over 20.
    static let pageviews = VisitLengthScale(lowest: 1, bounds: [1, 2, 3, 5, 10, 20])

    /// The number of ranges, the open one included.
    var count: Int { bounds.count + 1 }

    /// The range holding `value` (values below `lowest` count in the first range).
    /// - Complexity: O(number of ranges); there are fewer than ten.
    @inline(__always)
    func index(of value: Int64) -> Int {
        for (i, bound) in bounds.enumerated() where value <= bound { return i }
        return bounds.count
    }

    /// The smallest value in range `index`.
    func lowerBound(of index: Int) -> Int64 {
        precondition(index >= 0 && index < count, "no such range")
        return index == 0 ? lowest : bounds[index - 1] + 1
    }

    /// The largest value in range `index`; nil for the open range.
    func upperBound(of index: Int) -> Int64? {
        precondition(index >= 0 && index < count, "no such range")
        return index < bounds.count ? bounds[index] : nil
    }
}
