/// ISO 8601 rendering of UTC times and calendar arithmetic on days since 1970-01-01.
public enum ISOTime {
    /// `2026-11-28T13:05:09Z`.
    public static func string(seconds: Int64) -> String {
        let days = floorDiv(seconds, 86_400)
        let rem = seconds - days * 86_400
        return date(days: days) + "T" + two(Int(rem / 3600)) + ":" + two(Int(rem / 60 % 60)) + ":"
            + two(Int(rem % 60)) + "Z"
    }

    /// `2026-11-28` for a day number.
    public static func date(days: Int64) -> String {
        let (y, m, d) = Timestamp.civilFromDays(days)
        return four(y) + "-" + two(m) + "-" + two(d)
    }

    /// `2026-11-28T13:00:00+01:00` for a local hour start given as UTC seconds and the zone's
    /// offset at that moment; `Z` for offset 0.
    public static func localHour(utcSeconds: Int64, offset: Int) -> String {
        let local = utcSeconds + Int64(offset)
        let days = floorDiv(local, 86_400)
        let rem = local - days * 86_400
        var s = date(days: days) + "T" + two(Int(rem / 3600)) + ":" + two(Int(rem / 60 % 60)) + ":00"
        if offset == 0 {
            s += "Z"
        } else {
            let a = abs(offset)
            s += (offset < 0 ? "-" : "+") + two(a / 3600) + ":" + two(a / 60 % 60)
        }
        return s
    }

    @inline(__always) public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        EpochCalendar.floorDiv(a, b)
    }

    static func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    static func four(_ v: Int) -> String { String(v).leftPadded(4) }
}
