import Foundation

/// Maps UTC seconds to the hour and day buckets veil aggregates by.
///
/// Hours are always UTC hour numbers (hours since 1970-01-01T00Z), so a DST change never folds
/// two hours into one; they are shown in the report's zone with that hour's offset. Days are
/// the report zone's calendar days of each record's local time (days since 1970-01-01). The zone's offset is
/// looked up once per distinct hour.
struct TimeBuckets {
    let zone: TimeZone?
    private var cachedHour: Int64 = .min
    private var cachedOffset: Int64 = 0

    init(zoneIdentifier: String?) throws(VeilError) {
        if let id = zoneIdentifier, id != "UTC" {
            guard let z = TimeZone(identifier: id) else {
                throw VeilError(.usage, "unknown time zone '\(id)' (expected an IANA name such as Europe/Berlin)")
            }
            zone = z
        } else {
            zone = nil
        }
    }

    /// Offset from UTC in seconds at `utcSeconds`.
    func offset(at utcSeconds: Int64) -> Int {
        guard let zone else { return 0 }
        return zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(utcSeconds)))
    }

    /// Whether the hour of the last `buckets` call lies in one local day (see `dayOfHour`).
    var lastHourInOneDay: Bool { Self.liesInOneDay(offset: cachedOffset) }

    /// The local day UTC hour `hour` lies in, or nil when it straddles a local midnight.
    func dayOfHour(_ hour: Int64) -> Int64? {
        let offset = Int64(offset(at: hour * 3600))
        return Self.liesInOneDay(offset: offset) ? ISOTime.floorDiv(hour * 3600 + offset, 86_400) : nil
    }

    /// A UTC hour lies in one local day exactly when the zone's offset in it is whole hours.
    private static func liesInOneDay(offset: Int64) -> Bool { offset % 3600 == 0 }

    /// (UTC hour number, local day number) of a UTC time.
    @inline(__always)
    mutating func buckets(_ t: Int64) -> (hour: Int64, day: Int64) {
        let hour = ISOTime.floorDiv(t, 3600)
        if hour != cachedHour {
            cachedHour = hour
            cachedOffset = Int64(offset(at: hour * 3600))
        }
        return (hour, ISOTime.floorDiv(t + cachedOffset, 86_400))
    }
}
