import Foundation

/// Converts times a log writes without a zone (HAProxy's accept dates, ISO 8601 times without an
/// offset) from the log's time zone (`--log-tz`) to UTC, remembering the offset of the last
/// local minute converted (a log's lines share their minute with the lines around them), and
/// counts them.
///
/// A local time that occurs twice (the hour a zone's clocks go back) is read as its first
/// occurrence, and one that never occurs (the hour they go forward) with the offset before the
/// change, east and west of Greenwich alike. Without a zone (UTC) times are returned as they
/// are, and still counted.
struct LocalClock: Sendable {
    private let zone: TimeZone?
    private var minute: Int64 = .min
    private var offset: Int64 = 0
    /// How many times were converted (or taken as UTC): the log writes times without a zone.
    private(set) var zonelessTimes = 0

    /// A clock for `identifier`, an IANA zone name checked by `LogTimeZone.identifier(_:)`; nil
    /// for UTC.
    init(zoneIdentifier: String?) {
        zone = zoneIdentifier.flatMap { TimeZone(identifier: $0) }
    }

    /// The UTC second of local second `local` (seconds since 1970-01-01 of the local calendar).
    @inline(__always)
    mutating func utc(_ local: Int64) -> Int64 {
        zonelessTimes &+= 1
        guard let zone else { return local }
        let m = local >= 0 ? local / 60 : (local - 59) / 60
        if m != minute {
            minute = m
            offset = Self.offset(zone, localMinuteStart: m * 60)
        }
        return local - offset
    }

    /// The offset of the local minute starting at `l`: of the zone's offsets a day before and a
    /// day after it, the one that gives an instant where the zone has that offset (the earlier
    /// instant when both do: the first occurrence), else the one before (a time in a gap).
    static func offset(_ zone: TimeZone, localMinuteStart l: Int64) -> Int64 {
        func at(_ t: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
        let before = at(l - 86_400), after = at(l + 86_400)
        let early = max(before, after), late = min(before, after)
        if at(l - early) == early { return early }
        if at(l - late) == late { return late }
        return before
    }
}

/// The `--log-tz` option: the time zone of times a log writes without one.
public enum LogTimeZone {
    /// Checks a `--log-tz` value: an IANA zone name the system's zone database knows
    /// (`Europe/Berlin`), or `UTC` in any case.
    /// - Returns: the zone's identifier, or nil for UTC.
    /// - Throws: `VeilError` (`.usage`) for a name the zone database does not know.
    public static func identifier(_ name: String) throws(VeilError) -> String? {
        if name.lowercased() == "utc" { return nil }
        guard isIANAName(name) else {
            throw VeilError(
                .usage, "--log-tz: unknown time zone '\(name)' (expected an IANA name such as Europe/Berlin)")
        }
        return name
    }

    /// Whether `name` is a zone of the system's IANA database (`Europe/Berlin`, `Etc/GMT-1`):
    /// not an abbreviation, which Foundation maps to a zone of its own choosing (`BST` is Dhaka's,
    /// not British Summer Time), nor `GMT+5` (east of Greenwich, where `Etc/GMT+5` is west).
    /// Checked against the database's files (`$TZDIR`, else `/usr/share/zoneinfo`): Foundation's
    /// list of known zones leaves out some of them (`Asia/Kolkata`).
    public static func isIANAName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains(".."),
            TimeZone(identifier: name) != nil
        else { return false }
        let directory = ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
        return FileManager.default.fileExists(atPath: directory + "/" + name)
    }
}
