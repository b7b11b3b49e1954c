import Testing

@testable import VeilCore

@Suite("IPAddress")
struct IPAddressTests {
    @Test(
        "default truncation: IPv4 /16, IPv6 /48, embedded IPv4 by the IPv4 rule",
        arguments: [
            ("203.0.113.195", "203.0.0.0"),
            ("198.51.100.7", "198.51.0.0"),
            ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
            ("2001:DB8:85A3:08D3::1", "2001:db8:85a3::"),
            ("2001:db8::1", "2001:db8::"),
            // IPv4-mapped, NAT64 well-known prefix and 6to4 keep nothing finer than /16 of 192.0.2.1.
            ("::ffff:192.0.2.1", "192.0.0.0"),
            ("::ffff:c000:201", "192.0.0.0"),
            ("64:ff9b::c000:201", "192.0.0.0"),
            ("64:ff9b::192.0.2.1", "192.0.0.0"),
            ("2002:c000:201:abcd::1", "192.0.0.0"),
            ("fe80::1%eth0", "fe80::"),
            ("::1", "::"),
        ])
    func defaultTruncation(input: String, expected: String) throws {
        let address = try #require(IPAddress(input), "\(input) should parse")
        #expect(address.truncated().description == expected)
        #expect(try address.truncated(v4Prefix: 16, v6Prefix: 48).description == expected)
    }

    @Test("other prefix lengths: /24, /8, /64, /32, /56")
    func otherPrefixes() throws {
        let v4 = try #require(IPAddress("203.0.113.195"))
        #expect(try v4.truncated(v4Prefix: 24, v6Prefix: 48).description == "203.0.113.0")
        #expect(try v4.truncated(v4Prefix: 8, v6Prefix: 48).description == "203.0.0.0")
        #expect(try v4.truncated(v4Prefix: 20, v6Prefix: 48).description == "203.0.112.0")
        let v6 = try #require(IPAddress("2001:db8:85a3:8d3:1319:8a2e:370:7348"))
        #expect(try v6.truncated(v4Prefix: 16, v6Prefix: 64).description == "2001:db8:85a3:8d3::")
        #expect(try v6.truncated(v4Prefix: 16, v6Prefix: 32).description == "2001:db8::")
        #expect(try v6.truncated(v4Prefix: 16, v6Prefix: 56).description == "2001:db8:85a3:800::")
        let sixToFour = try #require(IPAddress("2002:c000:201:abcd::1"))
        #expect(try sixToFour.truncated(v4Prefix: 24, v6Prefix: 64).description == "192.0.2.0")
        let nat64 = try #require(IPAddress("64:ff9b::c000:201"))
        #expect(try nat64.truncated(v4Prefix: 24, v6Prefix: 64).description == "192.0.2.0")
    }

    @Test(
        "prefix lengths outside IPv4 8...24 and IPv6 32...64 are refused",
        arguments: [(7, 48), (25, 48), (32, 48), (0, 48), (16, 31), (16, 65), (16, 128), (16, 0), (-1, 48)])
    func invalidPrefix(v4: Int, v6: Int) throws {
        let address = try #require(IPAddress("203.0.113.195"))
        let error = #expect(throws: VeilError.self) { try address.truncated(v4Prefix: v4, v6Prefix: v6) }
        #expect(error?.code == .usage)
        #expect(throws: VeilError.self) { try IPAddress.Truncation(v4Prefix: v4, v6Prefix: v6) }
    }

    @Test(
        "malformed addresses are rejected",
        arguments: [
            ("", "empty"),
            ("203.0.113", "three parts"),
            ("203.0.113.1.5", "five parts"),
            ("203.0.113.256", "part above 255"),
            ("203.0.113.1000", "four digits"),
            ("203.0.113.01", "leading zero (octal ambiguity)"),
            ("+203.0.113.1", "sign"),
            ("203.0.113.-1", "negative part"),
            ("203..113.1", "empty part"),
            ("203.0.113.1.", "trailing dot"),
            (" 203.0.113.1", "leading space"),
            ("203.0.113.1 ", "trailing space"),
            ("203.0.113.a", "letter"),
            ("0x7f.0.0.1", "hex part"),
            ("2001:db8::1::2", "two '::'"),
            ("2001:db8:0:0:0:0:0:0:1", "nine groups"),
            ("2001:db8:0:0:0:0:1", "seven groups without '::'"),
            ("1:2:3:4:5:6:7::8", "'::' with eight groups"),
            ("2001:db8:12345::1", "five hex digits"),
            ("2001:db8::g", "not hex"),
            (":2001:db8::1", "leading single colon"),
            ("2001:db8::1:", "trailing single colon"),
            ("2001:db8:::1", "triple colon"),
            ("::ffff:192.0.2.256", "bad embedded IPv4"),
            ("::ffff:192.0.2", "short embedded IPv4"),
            ("1:2:3:4:5:6:7:1.2.3.4", "embedded IPv4 after seven groups"),
            ("::1.2.3.4:5", "embedded IPv4 not last"),
            ("fe80::1%", "empty zone"),
            ("[2001:db8::1]", "brackets"),
            ("203.0.113.1:80", "port"),
            ("example.com", "host name"),
            (":", "lone colon"),
            ("unknown", "word"),
        ])
    func malformed(input: String, reason: String) {
        #expect(IPAddress(input) == nil, "\(reason): \(input)")
    }

    @Test(
        "RFC 5952 text form",
        arguments: [
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // first of two equal runs
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),  // longest run wins
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group stays
            ("0:0:0:0:0:0:0:0", "::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("1:0:0:0:0:0:0:0", "1::"),
            ("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"),
            ("::ffff:192.0.2.1", "192.0.2.1"),
            ("64:ff9b::192.0.2.1", "64:ff9b::c000:201"),
            ("0.0.0.0", "0.0.0.0"),
            ("255.255.255.255", "255.255.255.255"),
        ])
    func rendering(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == expected)
        #expect(IPAddress(expected) == address, "text form parses back")
    }

    @Test("IPv4 is stored IPv4-mapped: both spellings are one address")
    func ipv4Mapped() throws {
        let plain = try #require(IPAddress("192.0.2.1"))
        #expect(plain == IPAddress("::ffff:192.0.2.1"))
        #expect(plain == IPAddress("::FFFF:c000:0201"))
        #expect(plain.isIPv4 && plain.ipv4 == 0xC000_0201)
        #expect(IPAddress("64:ff9b::c000:201")?.isIPv4 == false)
        #expect(IPAddress("64:ff9b::c000:201")?.embeddedIPv4 == 0xC000_0201)
        #expect(IPAddress("2002:c000:201::")?.embeddedIPv4 == 0xC000_0201)
        #expect(IPAddress("2001:db8::c000:201")?.embeddedIPv4 == nil)
    }

    @Test(
        "X-Forwarded-For: the left-most valid address",
        arguments: [
            ("203.0.113.7, 198.51.100.1", "203.0.113.7"),
            ("unknown, 203.0.113.7", "203.0.113.7"),
            ("UNKNOWN,198.51.100.9", "198.51.100.9"),
            ("  203.0.113.7:51234 , 198.51.100.1", "203.0.113.7"),
            ("[2001:db8::7]:443, 203.0.113.1", "2001:db8::7"),
            ("[2001:db8::7], 203.0.113.1", "2001:db8::7"),
            ("2001:db8::7 203.0.113.1", "2001:db8::7"),
            ("_hidden, garbage, 198.51.100.2", "198.51.100.2"),
            ("\"203.0.113.8\"", "203.0.113.8"),
            ("203.0.113.01, 198.51.100.3", "198.51.100.3"),
        ])
    func forwardedFor(chain: String, expected: String) {
        #expect(IPAddress.firstClient(inForwardedFor: chain)?.description == expected)
    }

    @Test("X-Forwarded-For: where the first client is written in the chain")
    func forwardedForRange() {
        for (chain, expected) in [
            ("unknown, [2001:db8::7]:443, 203.0.113.1", "2001:db8::7"),
            ("  203.0.113.7:51234 , 198.51.100.1", "203.0.113.7"),
            ("\"198.51.100.4\"", "198.51.100.4"),
            ("garbage,192.0.2.9", "192.0.2.9"),
        ] {
            let bytes = Array(chain.utf8)
            let range = bytes.withUnsafeBufferPointer { IPAddress.firstClientRange(inForwardedFor: $0) }
            #expect(range.map { String(decoding: bytes[$0], as: UTF8.self) } == expected, "\(chain)")
        }
        let none = Array("unknown, -".utf8).withUnsafeBufferPointer { IPAddress.firstClientRange(inForwardedFor: $0) }
        #expect(none == nil)
    }

    @Test(
        "X-Forwarded-For without any valid address",
        arguments: ["", "-", "unknown", " , ,", "[2001:db8::1", "example.com"])
    func forwardedForNone(chain: String) {
        #expect(IPAddress.firstClient(inForwardedFor: chain) == nil)
    }
}
