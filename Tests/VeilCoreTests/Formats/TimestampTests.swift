import Testing

@testable import VeilCore

/// Runs `body` over the UTF-8 bytes of `s`.
private func withBytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    Array(s.utf8).withUnsafeBufferPointer(body)
}

@Suite struct TimestampTests {
    // MARK: CLF

    @Test(arguments: [
        ("10/Oct/2000:13:55:36 -0700", Int64(971_211_336)),  // Apache's documentation example
        ("10/Oct/2000:13:55:36 +0200", 971_178_936),
        ("10/Oct/2000:20:55:36 +0000", 971_211_336),
        ("10/Oct/2000:20:55:36 -0000", 971_211_336),
        ("10/OCT/2000:20:55:36 +0000", 971_211_336),  // month names in any case
        ("01/Jan/1970:00:00:00 +0000", 0),
        ("01/Jan/1970:00:59:59 +0100", -1),  // before the epoch in UTC
        ("29/Feb/2024:12:00:00 +0000", 1_709_208_000),  // leap year
        ("29/Feb/2000:00:00:00 +0000", 951_782_400),  // divisible by 400: leap
        ("19/Jan/2038:03:14:08 +0000", 2_147_483_648),  // past Int32
        ("01/Mar/2100:00:00:00 +0000", 4_107_542_400),
        ("31/Dec/2016:23:59:60 +0000", 1_483_228_799),  // leap second clamped to :59
        ("31/Dec/9999:23:59:59 +0000", 253_402_300_799),
        ("01/Jan/2000:00:00:00 +1400", 946_634_400),  // largest zone
        ("01/Jan/2000:00:00:00 -1200", 946_728_000),
    ])
    func clfValid(_ text: String, _ expected: Int64) {
        #expect(withBytes(text) { Timestamp.parseCLF($0) } == expected)
    }

    @Test(arguments: [
        "10/Foo/2000:13:55:36 -0700",  // bad month
        "10/oct/2000:13:55:36-0700",  // no space before zone
        "32/Oct/2000:13:55:36 -0700",  // day 32
        "00/Oct/2000:13:55:36 -0700",  // day 0
        "31/Apr/2000:13:55:36 -0700",  // April has 30 days
        "29/Feb/2023:13:55:36 -0700",  // not a leap year
        "29/Feb/1900:13:55:36 -0700",  // divisible by 100, not 400
        "10/Oct/2000:24:00:00 -0700",  // hour 24
        "10/Oct/2000:13:60:36 -0700",  // minute 60
        "10/Oct/2000:13:55:61 -0700",  // second 61
        "10/Oct/2000:13:55:36 +1500",  // zone beyond 14h
        "10/Oct/2000:13:55:36 +1401",
        "10/Oct/2000:13:55:36 +0760",  // zone minutes 60
        "10/Oct/2000:13:55:36 ~0700",  // no sign
        "10/Oct/0000:13:55:36 -0700",  // year 0
        "1/Oct/2000:13:55:36 -0700",  // one-digit day: wrong length
        "10/Oct/2000:13:55:36",  // no zone
        "10/Oct/2000:13:55:36 -07000",
        "1x/Oct/2000:13:55:36 -0700",
        "10/Oct/2000 13:55:36 -0700",
        "",
    ])
    func clfInvalid(_ text: String) {
        #expect(withBytes(text) { Timestamp.parseCLF($0) } == nil)
    }

    @Test func clfCacheAgreesWithParser() {
        let sequence = [
            "10/Oct/2000:13:55:36 -0700", "10/Oct/2000:13:55:37 -0700",
            "10/Oct/2000:13:55:60 -0700", "10/Oct/2000:13:55:6x -0700",  // bad seconds, same minute
            "10/Oct/2000:13:55:61 -0700", "10/Oct/2000:13:55:38 -0700",
            "10/Oct/2000:13:56:00 -0700",  // next minute
            "10/Oct/2000:13:56:00 +0700",  // other zone, same local time
            "10/Oct/2000:13:56:00 +1500",  // bad zone
            "10/Oct/2000:13:56:01 +0700", "11/Oct/2000:13:56:01 +0700",
            "29/Feb/2023:13:56:01 +0700",  // bad date
            "11/Oct/2000:13:56:02 +0700", "10/Oct/2000:13:55:36 -07000",
        ]
        var cache = CLFTimestampCache()
        for text in sequence {
            let direct = withBytes(text) { Timestamp.parseCLF($0) }
            let cached = withBytes(text) { cache.parse($0) }
            #expect(cached == direct, "\(text)")
        }
        #expect(withBytes("10/Oct/2000:13:55:36 -0700") { cache.parse($0) } == 971_211_336)
    }

    // MARK: ISO 8601

    @Test(arguments: [
        ("2000-10-10T20:55:36Z", Int64(971_211_336), Int16(0)),
        ("2000-10-10t20:55:36z", 971_211_336, 0),
        ("2000-10-10T22:55:36.123+02:00", 971_211_336, 123),
        ("2000-10-10T13:55:36-0700", 971_211_336, 0),
        ("2000-10-10T13:55:36-07", 971_211_336, 0),
        ("2000-10-10 20:55:36", 971_211_336, 0),  // space, no zone: UTC
        ("2000-10-10 13:55:36 -0700", 971_211_336, 0),  // strftime's `%F %T %z`
        ("2000-10-10T22:55:36 +02:00", 971_211_336, 0),
        ("2000-10-10T20:55:36", 971_211_336, 0),
        ("2000-10-10T20:55:36.5Z", 971_211_336, 500),
        ("2000-10-10T20:55:36.05Z", 971_211_336, 50),
        ("2000-10-10T20:55:36,987654321Z", 971_211_336, 987),
        ("1970-01-01T00:00:00Z", 0, 0),
        ("2024-02-29T00:00:00+00:00", 1_709_164_800, 0),
        ("2038-01-19T03:14:08Z", 2_147_483_648, 0),
        ("2016-12-31T23:59:60Z", 1_483_228_799, 0),
        ("2000-01-01T00:00:00+14:00", 946_634_400, 0),
    ])
    func isoValid(_ text: String, _ seconds: Int64, _ millis: Int16) {
        let r = withBytes(text) { Timestamp.parseISO8601($0) }
        #expect(r?.seconds == seconds)
        #expect(r?.milliseconds == millis)
    }

    @Test(arguments: [
        "2000-13-10T20:55:36Z",  // month 13
        "2000-02-30T20:55:36Z",  // February 30
        "2023-02-29T20:55:36Z",  // not a leap year
        "2000-10-10T20:55Z",  // no seconds
        "2000-10-10X20:55:36Z",  // bad separator
        "2000-10-10T20:55:36ZZ",  // trailing text
        "2000-10-10T20:55:36+15:00",  // zone beyond 14h
        "2000-10-10T20:55:36+0",
        "2000-10-10T20:55:36+02:0",
        "2000-10-10T20:55:36.Z",  // empty fraction
        "2000-10-10T20:55:36.1234567890Z",  // ten fraction digits
        "2000-10-10T25:55:36Z",
        "2000-10-10T20:55:36 Z",  // a space before Z
        "2000-10-10T20:55:36  +02:00",  // two spaces
        "2000-10-10T20:55:36 ",
        "10/Oct/2000:13:55:36 -0700",
    ])
    func isoInvalid(_ text: String) {
        #expect(withBytes(text) { Timestamp.parseISO8601($0) } == nil)
    }

    // MARK: Epoch

    @Test(arguments: [
        ("1700000000", Int64(1_700_000_000), Int16(0)),
        ("1700000000.123", 1_700_000_000, 123),
        ("1700000000.5", 1_700_000_000, 500),
        ("1700000000.123456", 1_700_000_000, 123),
        ("1700000000123", 1_700_000_000, 123),  // 13 digits: milliseconds
        ("1700000000123.9", 1_700_000_000, 123),
        ("0", 0, 0),
        ("2147483648", 2_147_483_648, 0),
        ("1700000000.05", 1_700_000_000, 50),
        ("1700000000.123456789", 1_700_000_000, 123),  // a fraction longer than a word
        ("000000000000042", 0, 42),  // 15 digits: milliseconds
        ("1700000000123456", 1_700_000_000, 123),  // 16 digits: microseconds
        ("1700000000123456.7", 1_700_000_000, 123),
        ("000000000000042000", 0, 42),  // 18 digits: microseconds
        ("1700000000123456789", 1_700_000_000, 123),  // 19 digits: nanoseconds (Cloudflare's unixnano)
        ("9223372036854775807", 9_223_372_036, 854),  // Int64.max nanoseconds
    ])
    func epochValid(_ text: String, _ seconds: Int64, _ millis: Int16) {
        let r = withBytes(text) { Timestamp.parseEpoch($0) }
        #expect(r?.seconds == seconds)
        #expect(r?.milliseconds == millis)
    }

    @Test(arguments: [
        "", "abc", "-1", "1.", ".5", "1.7e9", "17x", "1 2", "1700000000x",
        "1700000000.12345678x", "17000000001234567890", "1700000000:", "1700000000.1/",
        // 19 digits over Int64.max, and the largest 19 digits (no wrap-around to a valid time).
        "9223372036854775808", "9999999999999999999",
    ])
    func epochInvalid(_ text: String) {
        #expect(withBytes(text) { Timestamp.parseEpoch($0) } == nil)
    }

    // MARK: W3C date + time

    @Test func dateAndTime() {
        func parse(_ d: String, _ t: String) -> Int64? {
            withBytes(d) { db in withBytes(t) { tb in Timestamp.parseDateAndTime(date: db, time: tb) } }
        }
        #expect(parse("2000-10-10", "20:55:36") == 971_211_336)
        #expect(parse("2000-10-10", "20:55:36.250") == 971_211_336)
        #expect(parse("1970-01-01", "00:00:00") == 0)
        #expect(parse("2024-02-29", "00:00:00") == 1_709_164_800)
        #expect(parse("2023-02-29", "00:00:00") == nil)
        #expect(parse("2000-10-10", "24:00:00") == nil)
        #expect(parse("2000-10-10", "20:55") == nil)
        #expect(parse("2000-10-10", "20:55:36.") == nil)
        #expect(parse("2000-10-10", "20:55:36x") == nil)
        #expect(parse("2000/10/10", "20:55:36") == nil)
    }

    // MARK: Civil dates

    @Test func civilKnownDays() {
        #expect(Timestamp.daysFromCivil(year: 1970, month: 1, day: 1) == 0)
        #expect(Timestamp.daysFromCivil(year: 2000, month: 3, day: 1) == 11017)
        #expect(Timestamp.daysFromCivil(year: 1, month: 1, day: 1) == -719_162)
        #expect(Timestamp.daysFromCivil(year: 9999, month: 12, day: 31) == 2_932_896)
        #expect(Timestamp.daysFromCivil(year: 1969, month: 12, day: 31) == -1)
        #expect(Timestamp.civilFromDays(0) == (1970, 1, 1))
        #expect(Timestamp.civilFromDays(11016) == (2000, 2, 29))
        #expect(Timestamp.civilFromDays(-1) == (1969, 12, 31))
    }

    @Test func civilRoundTrip() {
        // Every day from year 1 to 9999, checking that days are consecutive.
        var expected = Timestamp.daysFromCivil(year: 1, month: 1, day: 1)
        var mismatches = 0
        for year in 1...9999 {
            for month in 1...12 {
                let days: Int
                switch month {
                case 2: days = Timestamp.isLeapYear(year) ? 29 : 28
                case 4, 6, 9, 11: days = 30
                default: days = 31
                }
                for day in 1...days {
                    let d = Timestamp.daysFromCivil(year: year, month: month, day: day)
                    let back = Timestamp.civilFromDays(d)
                    if d != expected || back != (year, month, day) { mismatches += 1 }
                    expected += 1
                }
            }
        }
        #expect(mismatches == 0)
    }
}
