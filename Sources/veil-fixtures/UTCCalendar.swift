/// Proleptic Gregorian calendar arithmetic in UTC, done by hand so that no locale, time zone
/// database or `Date` formatting is involved.
enum UTCCalendar {
    /// Days since 1970-01-01 of a civil date (Hinnant's `days_from_civil`).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number (Hinnant's `civil_from_days`).
    static func civil(days z0: Int64) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d))
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (or `YYYY-MM-DD`, meaning midnight) into Unix seconds.
    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int(b[i] - UInt8(ascii: "0"))
            }
            return v
        }
        guard b.count == 10 || b.count == 20,
            let year = number(0, 4), b[4] == UInt8(ascii: "-"),
            let month = number(5, 2), b[7] == UInt8(ascii: "-"),
            let day = number(8, 2),
            (1...12).contains(month), (1...daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        var seconds = days(year: year, month: month, day: day) * 86_400
        if b.count == 20 {
            guard b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
                b[19] == UInt8(ascii: "Z"),
                let h = number(11, 2), let mi = number(14, 2), let s = number(17, 2),
                h < 24, mi < 60, s < 60
            else { return nil }
            seconds += Int64(h * 3600 + mi * 60 + s)
        }
        return seconds
    }

    /// Broken-down UTC time of Unix seconds.
    struct Fields {
        var year: Int
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int
        var second: Int

        init(seconds: Int64) {
            let dayNumber = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            let rest = Int(seconds - dayNumber * 86_400)
            (year, month, day) = UTCCalendar.civil(days: dayNumber)
            hour = rest / 3600
            minute = rest / 60 % 60
            second = rest % 60
        }
    }

    static let monthNames: [[UInt8]] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ].map { Array($0.utf8) }

    /// `YYYY-MM-DD` of Unix seconds.
    static func dayKey(_ seconds: Int64) -> String {
        let f = Fields(seconds: seconds)
        return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))"
    }

    /// `YYYY-MM-DDTHH:00:00Z` of Unix seconds.
    static func hourKey(_ seconds: Int64) -> String {
        let f = Fields(seconds: seconds)
        return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):00:00Z"
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds.
    static func isoKey(_ seconds: Int64) -> String {
        let f = Fields(seconds: seconds)
        return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):"
            + "\(pad(f.minute, 2)):\(pad(f.second, 2))Z"
    }

    /// Zero-padded decimal of a non-negative number.
    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
