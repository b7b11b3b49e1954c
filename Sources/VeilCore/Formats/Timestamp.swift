/// Byte-level timestamp parsers shared by every log format, and civil-date arithmetic.
///
/// All parsers take the bytes of one field (no brackets, no quotes), validate every
/// component (month names, day within the month including leap years, hour 0...23,
/// minute 0...59, second 0...60, zone offsets up to ±14:00) and return UTC seconds since
/// 1970-01-01T00:00:00Z. A leap second (`:60`) is clamped to `:59`. Years are 0001...9999.
/// None of them allocates or uses Foundation.
public enum Timestamp {
    /// Seconds per day.
    @usableFromInline static let secondsPerDay: Int64 = 86_400

    // MARK: - CLF

    /// Parses a Common Log Format time: `10/Oct/2000:13:55:36 -0700` (the 26 bytes between
    /// `[` and `]`). Returns UTC seconds since epoch.
    ///
    /// Month names are the English three-letter abbreviations, matched without regard to case.
    /// - Complexity: O(1).
    public static func parseCLF(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p.count == 26 else { return nil }
        guard let minute = parseCLFMinute(p), let second = twoDigits(p, 18), second <= 60 else {
            return nil
        }
        return minute + Int64(min(second, 59))
    }

    /// The UTC epoch second of the start of the minute named by a 26-byte CLF time, ignoring
    /// its seconds digits (bytes 18 and 19), or nil when anything but the seconds is invalid.
    @usableFromInline
    static func parseCLFMinute(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p[20] == UInt8(ascii: " "), let minute = clfLocalMinute(p, 0),
            let offset = zoneOffset(p, 21, colon: false)
        else { return nil }
        return minute - Int64(offset)
    }

    /// The start of the minute named by `dd/Mon/yyyy:HH:MM` at `i` (the 20 bytes of a CLF time
    /// before its zone; the seconds digits at `i + 18` are not read), in seconds since
    /// 1970-01-01 of the time's own calendar (UTC only when its zone is), or nil when anything
    /// but the seconds is invalid. The caller makes sure `p` holds those 20 bytes.
    static func clfLocalMinute(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int64? {
        guard p[i + 2] == UInt8(ascii: "/"), p[i + 6] == UInt8(ascii: "/"), p[i + 11] == UInt8(ascii: ":"),
            p[i + 14] == UInt8(ascii: ":"), p[i + 17] == UInt8(ascii: ":")
        else { return nil }
        guard let day = twoDigits(p, i), let month = monthNumber(p[i + 3], p[i + 4], p[i + 5]),
            let year = fourDigits(p, i + 7), let hour = twoDigits(p, i + 12), let minute = twoDigits(p, i + 15)
        else { return nil }
        guard isValidDate(year: year, month: month, day: day), hour <= 23, minute <= 59 else {
            return nil
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return days * secondsPerDay + Int64(hour * 3600 + minute * 60)
    }

    /// The month number 1...12 for a three-letter English month abbreviation, any case.
    @inline(__always)
    static func monthNumber(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        // Lower-case ASCII letters; other bytes become non-letters and fail below.
        let a = a | 0x20, b = b | 0x20, c = c | 0x20
        switch a {
        case UInt8(ascii: "j"):
            if b == UInt8(ascii: "a") && c == UInt8(ascii: "n") { return 1 }
            if b == UInt8(ascii: "u") && c == UInt8(ascii: "n") { return 6 }
            if b == UInt8(ascii: "u") && c == UInt8(ascii: "l") { return 7 }
        case UInt8(ascii: "f"):
            if b == UInt8(ascii: "e") && c == UInt8(ascii: "b") { return 2 }
        case UInt8(ascii: "m"):
            if b == UInt8(ascii: "a") && c == UInt8(ascii: "r") { return 3 }
            if b == UInt8(ascii: "a") && c == UInt8(ascii: "y") { return 5 }
        case UInt8(ascii: "a"):
            if b == UInt8(ascii: "p") && c == UInt8(ascii: "r") { return 4 }
            if b == UInt8(ascii: "u") && c == UInt8(ascii: "g") { return 8 }
        case UInt8(ascii: "s"):
            if b == UInt8(ascii: "e") && c == UInt8(ascii: "p") { return 9 }
        case UInt8(ascii: "o"):
            if b == UInt8(ascii: "c") && c == UInt8(ascii: "t") { return 10 }
        case UInt8(ascii: "n"):
            if b == UInt8(ascii: "o") && c == UInt8(ascii: "v") { return 11 }
        case UInt8(ascii: "d"):
            if b == UInt8(ascii: "e") && c == UInt8(ascii: "c") { return 12 }
        default:
            break
        }
        return nil
    }

    // MARK: - ISO 8601

    /// Parses ISO 8601 / RFC 3339 date-times: `2000-10-10T13:55:36Z`,
    /// `2000-10-10T13:55:36.123+02:00`, `2000-10-10T13:55:36-0700`, `2000-10-10 13:55:36`,
    /// `2000-10-10 13:55:36 -0700`.
    ///
    /// The separator is `T`, `t` or a space. Seconds are required. A fraction (`.` or `,`
    /// followed by 1...9 digits) is truncated to milliseconds. The zone is `Z`, `z`, `±HH:MM`,
    /// `±HHMM` or `±HH`, and an offset may follow one space (strftime's `%F %T %z`); without a
    /// zone the time is taken as UTC.
    /// - Returns: UTC seconds since epoch and milliseconds 0...999, or nil.
    public static func parseISO8601(_ p: UnsafeBufferPointer<UInt8>) -> (
        seconds: Int64, milliseconds: Int16
    )? {
        var zoned = false
        return parseISO8601(p, zoned: &zoned)
    }

    /// `parseISO8601(_:)`, setting `zoned` to whether the time names its zone (`Z` or an
    /// offset); a time without one is returned as if it were UTC, for the caller to convert
    /// from the log's zone.
    static func parseISO8601(_ p: UnsafeBufferPointer<UInt8>, zoned: inout Bool) -> (
        seconds: Int64, milliseconds: Int16
    )? {
        let n = p.count
        guard n >= 19, p[4] == UInt8(ascii: "-"), p[7] == UInt8(ascii: "-"),
            p[13] == UInt8(ascii: ":"), p[16] == UInt8(ascii: ":")
        else { return nil }
        switch p[10] {
        case UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " "): break
        default: return nil
        }
        guard let year = fourDigits(p, 0), let month = twoDigits(p, 5), let day = twoDigits(p, 8),
            let hour = twoDigits(p, 11), let minute = twoDigits(p, 14),
            let second = twoDigits(p, 17)
        else { return nil }
        guard isValidDate(year: year, month: month, day: day), hour <= 23, minute <= 59,
            second <= 60
        else { return nil }
        var i = 19
        var millis = 0
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: ",")) {
            i += 1
            let fractionStart = i
            while i < n, p[i] &- UInt8(ascii: "0") <= 9 {
                if i - fractionStart < 3 { millis = millis * 10 + Int(p[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            let digits = i - fractionStart
            guard digits >= 1, digits <= 9 else { return nil }
            if digits == 1 { millis *= 100 } else if digits == 2 { millis *= 10 }
        }
        var offset = 0
        // `%F %T %z`: one space before an offset.
        if i + 1 < n, p[i] == UInt8(ascii: " "), p[i + 1] == UInt8(ascii: "+") || p[i + 1] == UInt8(ascii: "-") {
            i += 1
        }
        zoned = i < n
        if i < n {
            switch p[i] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                guard i + 1 == n else { return nil }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let rest = n - i
                if rest == 3 {
                    guard let h = twoDigits(p, i + 1), h <= 14 else { return nil }
                    offset = (p[i] == UInt8(ascii: "-") ? -1 : 1) * h * 3600
                } else if rest == 5 {
                    guard let o = zoneOffset(p, i, colon: false) else { return nil }
                    offset = o
                } else if rest == 6 {
                    guard let o = zoneOffset(p, i, colon: true) else { return nil }
                    offset = o
                } else {
                    return nil
                }
            default:
                return nil
            }
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds =
            days * secondsPerDay + Int64(hour * 3600 + minute * 60 + min(second, 59))
            - Int64(offset)
        return (seconds, Int16(millis))
    }

    // MARK: - Epoch

    /// Parses epoch time: seconds (`1700000000`, `1700000000.123`), milliseconds (13 to 15
    /// integer digits, `1700000000123`), microseconds (16 to 18, `1700000000123456`) or
    /// nanoseconds (19, `1700000000123456789`: Cloudflare's `unixnano`).
    ///
    /// A fraction is truncated to milliseconds; with an integer of milliseconds or finer, a
    /// fraction is validated and ignored. At most 19 integer digits and at most `Int64.max`,
    /// no sign, no exponent.
    /// - Returns: UTC seconds and milliseconds 0...999, or nil.
    public static func parseEpoch(_ p: UnsafeBufferPointer<UInt8>) -> (
        seconds: Int64, milliseconds: Int16
    )? {
        let n = p.count
        guard let base = p.baseAddress else { return nil }
        // The digits' extents first, then their values over known counts: no loop that ends
        // at a data-dependent digit.
        let intDigits = ByteWords.digitsEnd(base, from: 0, to: n)
        guard intDigits >= 1, intDigits <= 19 else { return nil }
        // 19 digits fit a UInt64 (at most 9,999,999,999,999,999,999), not always an Int64.
        var digits: UInt64 = 0
        for k in 0..<intDigits { digits = digits &* 10 &+ UInt64(p[k] &- UInt8(ascii: "0")) }
        guard digits <= UInt64(Int64.max) else { return nil }
        let value = Int64(digits)
        var millis = 0
        if intDigits < n {
            guard p[intDigits] == UInt8(ascii: ".") else { return nil }
            let fractionStart = intDigits &+ 1
            let digits = ByteWords.digitsEnd(base, from: fractionStart, to: n) &- fractionStart
            guard fractionStart &+ digits == n, digits >= 1 else { return nil }
            // The first three fraction digits, zeros after a shorter fraction.
            for k in 0..<3 {
                millis = millis &* 10 &+ (k < digits ? Int(p[fractionStart &+ k] &- UInt8(ascii: "0")) : 0)
            }
        }
        switch intDigits {
        case 19: return (value / 1_000_000_000, Int16(value % 1_000_000_000 / 1_000_000))
        case 16...18: return (value / 1_000_000, Int16(value % 1_000_000 / 1000))
        case 13...15: return (value / 1000, Int16(value % 1000))
        default: return (value, Int16(millis))
        }
    }

    // MARK: - W3C date + time

    /// Parses the separate W3C / IIS `date` (`2000-10-10`) and `time` (`13:55:36`, optionally
    /// with a `.fff` fraction, which is ignored) fields. Both are UTC.
    public static func parseDateAndTime(
        date: UnsafeBufferPointer<UInt8>, time: UnsafeBufferPointer<UInt8>
    ) -> Int64? {
        guard let days = parseW3CDate(date), let seconds = parseW3CTime(time) else { return nil }
        return days * secondsPerDay + seconds
    }

    /// The day count since 1970-01-01 of a W3C `date` field (`2000-10-10`), nil when it is not
    /// a valid date in that form.
    public static func parseW3CDate(_ date: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard date.count == 10, date[4] == UInt8(ascii: "-"), date[7] == UInt8(ascii: "-"),
            let year = fourDigits(date, 0), let month = twoDigits(date, 5),
            let day = twoDigits(date, 8), isValidDate(year: year, month: month, day: day)
        else { return nil }
        return daysFromCivil(year: year, month: month, day: day)
    }

    /// The seconds since midnight of a W3C `time` field (`13:55:36`, optionally with a `.fff`
    /// fraction, which is ignored; a leap second counts as :59), nil when it is not a valid
    /// time in that form.
    @inline(__always)
    public static func parseW3CTime(_ time: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard time.count >= 8, time[2] == UInt8(ascii: ":"), time[5] == UInt8(ascii: ":"),
            let hour = twoDigits(time, 0), let minute = twoDigits(time, 3),
            let second = twoDigits(time, 6), hour <= 23, minute <= 59, second <= 60
        else { return nil }
        if time.count > 8 {
            guard time[8] == UInt8(ascii: "."), time.count > 9 else { return nil }
            for i in 9..<time.count where time[i] &- UInt8(ascii: "0") > 9 { return nil }
        }
        return Int64(hour * 3600 + minute * 60 + min(second, 59))
    }

    // MARK: - Civil dates

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`). Valid for any year; negative before 1970.
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        EpochCalendar.days(fromCivil: Int64(year), Int64(month), Int64(day))
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`), the inverse of `daysFromCivil`.
    @inlinable
    public static func civilFromDays(_ days: Int64) -> (year: Int, month: Int, day: Int) {
        let (y, m, d) = EpochCalendar.civil(fromDays: days)
        return (Int(y), Int(m), Int(d))
    }

    /// Whether `year` is a Gregorian leap year.
    @inlinable
    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Whether year 1...9999, month 1...12 and day 1...(days in that month) form a date.
    @inlinable
    static func isValidDate(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1, month >= 1, month <= 12, day >= 1 else { return false }
        switch month {
        case 2: return day <= (isLeapYear(year) ? 29 : 28)
        case 4, 6, 9, 11: return day <= 30
        default: return day <= 31
        }
    }

    // MARK: - Digits

    @inline(__always)
    static func twoDigits(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        let a = p[i] &- UInt8(ascii: "0"), b = p[i + 1] &- UInt8(ascii: "0")
        guard a <= 9, b <= 9 else { return nil }
        return Int(a) * 10 + Int(b)
    }

    @inline(__always)
    static func fourDigits(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard let hi = twoDigits(p, i), let lo = twoDigits(p, i + 2) else { return nil }
        return hi * 100 + lo
    }

    /// A zone offset in seconds east of UTC from `±HHMM` (or `±HH:MM` when `colon`) at `i`;
    /// hours at most 14, minutes at most 59.
    @inline(__always)
    static func zoneOffset(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, colon: Bool) -> Int? {
        let sign: Int
        switch p[i] {
        case UInt8(ascii: "+"): sign = 1
        case UInt8(ascii: "-"): sign = -1
        default: return nil
        }
        if colon && p[i + 3] != UInt8(ascii: ":") { return nil }
        guard let h = twoDigits(p, i + 1), let m = twoDigits(p, colon ? i + 4 : i + 3),
            h <= 14, m <= 59, h * 60 + m <= 14 * 60
        else { return nil }
        return sign * (h * 3600 + m * 60)
    }
}

/// Remembers the last Common Log Format time parsed, to the minute.
///
/// Access logs carry thousands of lines per second with the same date, hour, minute and zone,
/// so only the two seconds digits change between most lines. The cache compares the other 24
/// bytes with the previous line's and, when they match, skips date validation and day
/// arithmetic. One cache per parser (it is not shared between threads).
public struct CLFTimestampCache: Sendable {
    // Bytes 0..<8, 8..<16 and 16..<24 of the last time, with bytes 18 and 19 (seconds) zeroed
    // in `c`, and bytes 24..<26 in `d`.
    private var a: UInt64 = 0
    private var b: UInt64 = 0
    private var c: UInt64 = 0
    private var d: UInt16 = 0
    private var minuteStart: Int64 = 0
    private var valid = false

    public init() {}

    /// Parses like `Timestamp.parseCLF`, reusing the previous result when only the seconds
    /// differ.
    /// - Complexity: O(1).
    @inline(__always)
    public mutating func parse(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard p.count == 26, let base = p.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        // Safe: count is 26, so the loads at offsets 0, 8, 16 (8 bytes) and 24 (2 bytes) are
        // inside the buffer.
        let a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        let b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let c = raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) & Self.secondsMask
        let d = raw.loadUnaligned(fromByteOffset: 24, as: UInt16.self)
        let s1 = p[18] &- UInt8(ascii: "0"), s2 = p[19] &- UInt8(ascii: "0")
        guard s1 <= 6, s2 <= 9 else { return nil }
        let second = Int64(s1) * 10 + Int64(s2)
        guard second <= 60 else { return nil }
        if !(valid && a == self.a && b == self.b && c == self.c && d == self.d) {
            guard let minute = Timestamp.parseCLFMinute(p) else { return nil }
            self.a = a
            self.b = b
            self.c = c
            self.d = d
            self.minuteStart = minute
            self.valid = true
        }
        return minuteStart + min(second, 59)
    }

    /// Zeroes the bytes at offsets 2 and 3 of the third word (line offsets 18 and 19), whatever
    /// the byte order.
    private static var secondsMask: UInt64 { UInt64(littleEndian: 0xFFFF_FFFF_0000_FFFF) }
}
