import Testing

@testable import VeilCore

@Suite("Epoch ids")
struct EpochTests {
    @Test("ids of 2026-11-28T13:45Z at every granularity")
    func formats() {
        let t = privacyTimestamp(2026, 11, 28, 13, 45)
        #expect(t == 1_795_873_500)
        #expect(EpochID(granularity: .hour, containing: t).description == "h-2026-11-28T13")
        #expect(EpochID(granularity: .day, containing: t).description == "d-2026-11-28")
        #expect(EpochID(granularity: .week, containing: t).description == "w-2026-W48")
        #expect(EpochID(granularity: .month, containing: t).description == "m-2026-11")
    }

    @Test(
        "ISO weeks start on Monday and belong to the year of their Thursday",
        arguments: [
            (privacyTimestamp(2026, 11, 29, 23, 59, 59), "w-2026-W48"),  // Sunday
            (privacyTimestamp(2026, 11, 30), "w-2026-W49"),  // Monday
            (privacyTimestamp(2027, 1, 1), "w-2026-W53"),  // Friday of 2026's 53rd week
            (privacyTimestamp(2024, 12, 30), "w-2025-W01"),  // Monday in 2024, week 1 of 2025
            (privacyTimestamp(2021, 1, 3), "w-2020-W53"),
            (privacyTimestamp(2026, 1, 1), "w-2026-W01"),  // a Thursday
            (privacyTimestamp(1970, 1, 1), "w-1970-W01"),
        ])
    func isoWeeks(t: Int64, expected: String) throws {
        let epoch = EpochID(granularity: .week, containing: t)
        #expect(epoch.description == expected)
        #expect(epoch.start <= t && t < epoch.end)
        #expect(epoch.end - epoch.start == 7 * 86400)
        // The week starts on a Monday: 1970-01-05 was one.
        #expect(EpochCalendar.floorMod(epoch.start / 86400 - 4, 7) == 0)
        #expect(EpochID(expected) == epoch)
    }

    @Test("text form round-trips and each epoch contains its timestamps, 1950 to 2100")
    func roundTrip() throws {
        var t = privacyTimestamp(1950, 1, 1)
        let stop = privacyTimestamp(2100, 1, 1)
        while t < stop {
            for g in EpochGranularity.allCases {
                let epoch = EpochID(granularity: g, containing: t)
                #expect(epoch.start <= t && t < epoch.end, "\(epoch) does not contain \(t)")
                #expect(EpochID(epoch.description) == epoch, "\(epoch) does not parse back")
                #expect(epoch.isRepresentable)
            }
            t += 86400 * 3 + 3599  // walks through hours, weekdays and month ends
        }
    }

    @Test("months and days have their calendar lengths")
    func lengths() throws {
        let feb2028 = try #require(EpochID("m-2028-02"))
        #expect(feb2028.end - feb2028.start == 29 * 86400)
        let feb2026 = try #require(EpochID("m-2026-02"))
        #expect(feb2026.end - feb2026.start == 28 * 86400)
        let day = try #require(EpochID("d-2026-11-28"))
        #expect(day.start == privacyTimestamp(2026, 11, 28))
        #expect(EpochID(granularity: .day, containing: -1).description == "d-1969-12-31")
        #expect(EpochID("h-2026-11-28T13")?.start == privacyTimestamp(2026, 11, 28, 13))
    }

    @Test(
        "malformed ids are rejected",
        arguments: [
            ("d-2026-02-30", "no such date"),
            ("d-2026-13-01", "month 13"),
            ("m-2026-00", "month 0"),
            ("h-2026-11-28T24", "hour 24"),
            ("w-2025-W53", "2025 has 52 ISO weeks"),
            ("w-2026-W00", "week 0"),
            ("d-0000-01-01", "year 0"),
            ("d-26-11-28", "two-digit year"),
            ("d-2026-1-28", "one-digit month"),
            ("x-2026-11", "unknown granularity"),
            ("D-2026-11-28", "upper-case prefix"),
            ("d-2026-11-28 ", "trailing space"),
            ("d-2026-11-28.key", "file name"),
            ("w-2026-48", "week without W"),
            ("", "empty"),
        ])
    func malformed(text: String, reason: String) {
        #expect(EpochID(text) == nil, "\(reason)")
    }

    @Test("ordering is by time")
    func ordering() throws {
        let ids = ["d-2026-11-28", "d-2026-01-02", "d-2025-12-31", "d-2026-11-27"].compactMap { EpochID($0) }
        #expect(ids.sorted().map(\.description) == ["d-2025-12-31", "d-2026-01-02", "d-2026-11-27", "d-2026-11-28"])
    }
}
