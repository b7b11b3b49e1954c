/// How long one key epoch lasts. Epochs are UTC calendar periods.
public enum EpochGranularity: String, Sendable, CaseIterable, Codable {
    /// One UTC hour: `h-2026-11-28T13`.
    case hour
    /// One UTC day: `d-2026-11-28`. The default.
    case day
    /// One ISO 8601 week, Monday to Sunday: `w-2026-W48`.
    case week
    /// One UTC calendar month: `m-2026-11`.
    case month

    /// The one-letter prefix of this granularity's epoch ids.
    var prefix: Character {
        switch self {
        case .hour: "h"
        case .day: "d"
        case .week: "w"
        case .month: "m"
        }
    }

    /// The epoch that contains `timestamp` (seconds since 1970-01-01T00:00:00Z).
    @inlinable
    public func epoch(containing timestamp: Int64) -> EpochID {
        EpochID(granularity: self, containing: timestamp)
    }
}

/// One key epoch: a granularity and a period number. Its text form (`d-2026-11-28`) may appear
/// in outputs and file names; the key for it never does.
///
/// `index` counts periods from the Unix epoch: hours and days since 1970-01-01T00:00Z, weeks
/// since Monday 1969-12-29 (so week boundaries are Mondays 00:00 UTC), months since 1970-01.
public struct EpochID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let granularity: EpochGranularity
    public let index: Int64

    /// The epoch with the given granularity and period number.
    @inlinable
    public init(granularity: EpochGranularity, index: Int64) {
        self.granularity = granularity
        self.index = index
    }

    /// The epoch of `granularity` that contains `timestamp` (seconds since 1970-01-01T00:00Z).
    ///
    /// - Complexity: O(1); a few integer divisions, no allocation.
    @inlinable
    public init(granularity: EpochGranularity, containing timestamp: Int64) {
        self.granularity = granularity
        switch granularity {
        case .hour:
            index = EpochCalendar.floorDiv(timestamp, 3600)
        case .day:
            index = EpochCalendar.floorDiv(timestamp, 86400)
        case .week:
            index = EpochCalendar.floorDiv(EpochCalendar.floorDiv(timestamp, 86400) + 3, 7)
        case .month:
            let (y, m, _) = EpochCalendar.civil(fromDays: EpochCalendar.floorDiv(timestamp, 86400))
            index = (y - 1970) * 12 + (m - 1)
        }
    }

    /// Parses an epoch id (`h-2026-11-28T13`, `d-2026-11-28`, `w-2026-W48`, `m-2026-11`).
    ///
    /// Only the canonical form is accepted: four-digit years 0001-9999, two-digit fields, a week
    /// number that exists in that ISO year. Returns `nil` otherwise.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 9, bytes[1] == UInt8(ascii: "-") else { return nil }
        func number(_ from: Int, _ length: Int) -> Int64? {
            guard from + length <= bytes.count else { return nil }
            var n: Int64 = 0
            for b in bytes[from..<(from + length)] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int64(b - UInt8(ascii: "0"))
            }
            return n
        }
        func at(_ i: Int, _ c: Unicode.Scalar) -> Bool { i < bytes.count && bytes[i] == UInt8(ascii: c) }
        guard let year = number(2, 4), at(6, "-") else { return nil }
        let candidate: EpochID
        switch bytes[0] {
        case UInt8(ascii: "h"):
            guard bytes.count == 15, let m = number(7, 2), at(9, "-"), let d = number(10, 2), at(12, "T"),
                let h = number(13, 2), (1...12).contains(m), (1...31).contains(d), h < 24
            else { return nil }
            let days = EpochCalendar.days(fromCivil: year, m, d)
            candidate = EpochID(granularity: .hour, index: days * 24 + h)
        case UInt8(ascii: "d"):
            guard bytes.count == 12, let m = number(7, 2), at(9, "-"), let d = number(10, 2),
                (1...12).contains(m), (1...31).contains(d)
            else { return nil }
            candidate = EpochID(granularity: .day, index: EpochCalendar.days(fromCivil: year, m, d))
        case UInt8(ascii: "w"):
            guard bytes.count == 10, at(7, "W"), let w = number(8, 2), (1...53).contains(w) else { return nil }
            let jan4 = EpochCalendar.days(fromCivil: year, 1, 4)
            let mondayOfWeek1 = jan4 - EpochCalendar.floorMod(jan4 + 3, 7)
            let monday = mondayOfWeek1 + 7 * (w - 1)
            candidate = EpochID(granularity: .week, index: EpochCalendar.floorDiv(monday + 3, 7))
        case UInt8(ascii: "m"):
            guard bytes.count == 9, let m = number(7, 2), (1...12).contains(m) else { return nil }
            candidate = EpochID(granularity: .month, index: (year - 1970) * 12 + (m - 1))
        default:
            return nil
        }
        // Rejects impossible dates (2026-02-30), week 53 of a 52-week year, year 0000.
        guard year >= 1, candidate.description.utf8.elementsEqual(bytes) else { return nil }
        self = candidate
    }

    /// The first second of this epoch (seconds since 1970-01-01T00:00Z).
    public var start: Int64 {
        switch granularity {
        case .hour: index * 3600
        case .day: index * 86400
        case .week: (index * 7 - 3) * 86400
        case .month:
            EpochCalendar.days(
                fromCivil: 1970 + EpochCalendar.floorDiv(index, 12), EpochCalendar.floorMod(index, 12) + 1, 1)
                * 86400
        }
    }

    /// The first second after this epoch.
    public var end: Int64 {
        EpochID(granularity: granularity, index: index + 1).start
    }

    /// Whether the id's text form has a four-digit year 0001-9999 (timestamps outside that
    /// range have no key).
    public var isRepresentable: Bool {
        // Years 1...9999 span about ±8000 years around 1970; check the year of the start.
        guard index > -1_000_000_000, index < 1_000_000_000 else { return false }
        let (y, _, _) = EpochCalendar.civil(fromDays: EpochCalendar.floorDiv(start, 86400))
        let year = granularity == .week ? isoYear : y
        return (1...9999).contains(year)
    }

    private var isoYear: Int64 {
        // The ISO year is the calendar year of the week's Thursday.
        EpochCalendar.civil(fromDays: index * 7).year
    }

    /// The text form: `h-2026-11-28T13`, `d-2026-11-28`, `w-2026-W48` or `m-2026-11`.
    public var description: String {
        var s = String(granularity.prefix) + "-"
        switch granularity {
        case .hour:
            let (y, m, d) = EpochCalendar.civil(fromDays: EpochCalendar.floorDiv(index, 24))
            s += pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(EpochCalendar.floorMod(index, 24), 2)
        case .day:
            let (y, m, d) = EpochCalendar.civil(fromDays: index)
            s += pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
        case .week:
            let thursday = index * 7
            let (y, _, _) = EpochCalendar.civil(fromDays: thursday)
            let week = (thursday - EpochCalendar.days(fromCivil: y, 1, 1)) / 7 + 1
            s += pad(y, 4) + "-W" + pad(week, 2)
        case .month:
            s += pad(1970 + EpochCalendar.floorDiv(index, 12), 4) + "-" + pad(EpochCalendar.floorMod(index, 12) + 1, 2)
        }
        return s
    }

    /// Orders by start time, then by granularity (coarser first).
    public static func < (a: EpochID, b: EpochID) -> Bool {
        let (sa, sb) = (a.start, b.start)
        if sa != sb { return sa < sb }
        return a.end > b.end
    }

    private func pad(_ n: Int64, _ width: Int) -> String {
        let digits = String(abs(n))
        let sign = n < 0 ? "-" : ""
        return sign + String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01).
public enum EpochCalendar {
    /// Division rounding towards negative infinity.
    @inlinable
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// The non-negative remainder of `floorDiv`.
    @inlinable
    public static func floorMod(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDiv(a, b) * b
    }

    /// The day number of a civil date (month 1...12, day 1...31; out-of-range days roll over).
    @inlinable
    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The civil date (year, month 1...12, day 1...31) of a day number.
    @inlinable
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719468
        let era = floorDiv(z, 146097)
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
