import Foundation
import Testing

@testable import VeilCore

@Suite("Pseudonymizer")
struct PseudonymizerTests {
    let day = EpochID("d-2026-11-28")!
    let nextDay = EpochID("d-2026-11-29")!
    /// A fixed key (bytes 0...31) so results can be checked against values computed elsewhere.
    let fixedKey = Array(UInt8(0)...UInt8(31))

    private static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// SHA-256 (FIPS 180-4), written out here so the reference below shares no code with veil.
    private static func sha256(_ message: [UInt8]) -> [UInt8] {
        let k: [UInt32] = [
            0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
            0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
            0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
            0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
            0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
            0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
            0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
            0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
        ]
        var h: [UInt32] = [
            0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19,
        ]
        var data = message + [0x80]
        while data.count % 64 != 56 { data.append(0) }
        let bits = UInt64(message.count) * 8
        for i in (0..<8).reversed() { data.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 64)
            for i in 0..<16 {
                w[i] = data[chunk + 4 * i..<chunk + 4 * i + 4].reduce(0) { $0 << 8 | UInt32($1) }
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return h.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    }

    /// HMAC-SHA256 built by hand (RFC 2104) on the SHA-256 above.
    private static func referenceHMAC(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? sha256(key) : key
        k += Array(repeating: 0, count: 64 - k.count)
        let inner = sha256(k.map { $0 ^ 0x36 } + message)
        return sha256(k.map { $0 ^ 0x5c } + inner)
    }

    private func store(in temp: PrivacyTempDirectory, fixedKeyFor epochs: [EpochID] = []) throws -> KeyStore {
        let store = try KeyStore(path: temp.path + "/keys", now: 0)
        for epoch in epochs { PrivacyTempDirectory.writeKey(fixedKey, store: store, epoch: epoch) }
        return store
    }

    @Test("RFC 4231 test cases 1 and 2 through the epoch-key plumbing")
    func rfc4231() {
        let cases: [(key: [UInt8], data: String, mac: String)] = [
            (
                Array(repeating: 0x0b, count: 20), "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
        ]
        for c in cases {
            let key = EpochKey(epoch: day, material: c.key)
            #expect(Self.hex(Pseudonymizer.hmacSHA256(key: key, message: Array(c.data.utf8))) == c.mac)
            #expect(Self.hex(Self.referenceHMAC(key: c.key, message: Array(c.data.utf8))) == c.mac)
        }
    }

    @Test("the keyed HMAC of the cached path: RFC 4231 cases and the reference at every length to three blocks")
    func keyedHMAC() {
        // RFC 4231 test case 5 truncates to 128 bits, as a pseudonym does; case 6 has a key
        // longer than a block (hashed first); case 7 a long key and a long message.
        let cases: [(key: [UInt8], data: String, mac128: String)] = [
            (Array(repeating: 0x0b, count: 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b"),
            (Array("Jefe".utf8), "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c7"),
            (Array(repeating: 0x0c, count: 20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
            (
                Array(repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f"
            ),
            (
                Array(repeating: 0xaa, count: 131),
                "This is a test using a larger than block-size key and a larger than block-size data. "
                    + "The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944"
            ),
        ]
        for c in cases {
            let mac = KeyedHMAC(key: c.key)
            let p = Array(c.data.utf8).withUnsafeBytes { mac.pseudonym($0) }
            #expect(p.description == c.mac128)
        }
        var rng = SystemRandomNumberGenerator()
        for keyLength in [0, 1, 32, 64, 65, 200] {
            let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let mac = KeyedHMAC(key: key)
            for length in 0...192 {
                let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let expected = Self.hex(Self.referenceHMAC(key: key, message: message).prefix(16))
                // The same instance twice: computing a MAC leaves the keyed state as it was.
                #expect(message.withUnsafeBytes { mac.pseudonym($0) }.description == expected)
                #expect(message.withUnsafeBytes { mac.pseudonym($0) }.description == expected)
            }
        }
    }

    @Test("the reference SHA-256 matches FIPS 180-4 examples")
    func referenceSHA256() {
        #expect(
            Self.hex(Self.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(Self.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Self.hex(Self.sha256(twoBlocks)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("the message encoding: length-prefixed domain label and fields")
    func messageEncoding() {
        let message = Pseudonymizer.encodeMessage(
            domain: "veil/v1/cookie", fields: [Array("ab".utf8), Array("c".utf8)])
        #expect(message == [0, 0, 0, 14] + Array("veil/v1/cookie".utf8) + [0, 0, 0, 2, 0x61, 0x62, 0, 0, 0, 1, 0x63])
        let shifted = Pseudonymizer.encodeMessage(
            domain: "veil/v1/cookie", fields: [Array("a".utf8), Array("bc".utf8)])
        #expect(message != shifted)
        #expect(
            Self.hex(
                Pseudonymizer.encodeMessage(
                    domain: "veil/v1/cookie", fields: [Array("example.com".utf8), Array("abc123".utf8)]))
                == "0000000e7665696c2f76312f636f6f6b69650000000b6578616d706c652e636f6d00000006616263313233")
    }

    @Test("pseudonyms match HMAC-SHA256 of the encoded message computed independently")
    func knownValues() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp, fixedKeyFor: [day]), createKeys: false)
        let key = EpochKey(epoch: day, material: fixedKey)

        let cookie = try p.visitor(epoch: day, site: "example.com", cookie: "abc123", ip: "192.0.2.1", userAgent: "x")
        #expect(cookie.description == "e74c66b861ceb0b011a4c5c0195e4655")
        let message = Pseudonymizer.encodeMessage(
            domain: "veil/v1/cookie", fields: [Array("example.com".utf8), Array("abc123".utf8)])
        #expect(Self.hex(Self.referenceHMAC(key: fixedKey, message: message).prefix(16)) == cookie.description)
        #expect(
            Pseudonymizer.prf(
                key: key, domain: "veil/v1/cookie", fields: [Array("example.com".utf8), Array("abc123".utf8)]) == cookie
        )

        // ipua: the address field is 0x01 + the 16-byte IPv4-mapped address.
        let ipua = try p.visitor(
            epoch: day, site: "example.com", cookie: nil, ip: "192.0.2.1", userAgent: "Mozilla/5.0")
        #expect(ipua.description == "cbdaa413ea092b100fb2399c88d11470")
        let address: [UInt8] = [1] + Array(repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1]
        #expect(
            Pseudonymizer.prf(
                key: key, domain: "veil/v1/ipua",
                fields: [Array("example.com".utf8), address, Array("Mozilla/5.0".utf8)]) == ipua)

        // An address that does not parse is kept as written, after a 0x00 byte.
        let unparsed = try p.visitor(
            epoch: day, site: "example.com", cookie: nil, ip: "unknown", userAgent: "Mozilla/5.0")
        #expect(
            Pseudonymizer.prf(
                key: key, domain: "veil/v1/ipua",
                fields: [Array("example.com".utf8), [0] + Array("unknown".utf8), Array("Mozilla/5.0".utf8)]) == unparsed
        )

        let recipient = try p.recipient(epoch: day, site: "example.com", token: " Jane@Example.COM\t")
        #expect(recipient.description == "d3582626f9a43b5ae697540f2474151c")
        #expect(
            Pseudonymizer.prf(
                key: key, domain: "veil/v1/recipient",
                fields: [Array("example.com".utf8), Array("jane@example.com".utf8)]) == recipient)

        // Cached values, and values after the cache (and its prefix ids) was cleared, are the same.
        let again = Pseudonymizer(keyStore: p.keyStore, createKeys: false, cacheLimit: 1)
        for _ in 0..<3 {
            #expect(
                try again.visitor(epoch: day, site: "example.com", cookie: "abc123", ip: "192.0.2.1", userAgent: "x")
                    == cookie)
            #expect(
                try again.visitor(epoch: day, site: "example.com", cookie: nil, ip: "unknown", userAgent: "Mozilla/5.0")
                    == unparsed)
            #expect(try again.recipient(epoch: day, site: "example.com", token: "jane@example.com") == recipient)
        }
    }

    @Test("same input and epoch: same pseudonym; another epoch, site or field split: another")
    func sameAndDifferent() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let a = try p.visitor(epoch: day, site: "example.com", cookie: "c1", ip: "192.0.2.1", userAgent: "UA")
        #expect(
            try p.visitor(epoch: day, site: "example.com", cookie: "c1", ip: "198.51.100.1", userAgent: "other") == a)
        #expect(try p.visitor(epoch: nextDay, site: "example.com", cookie: "c1", ip: "192.0.2.1", userAgent: "UA") != a)
        #expect(
            try p.visitor(epoch: day, site: "shop.example.com", cookie: "c1", ip: "192.0.2.1", userAgent: "UA") != a)
        // A fresh pseudonymizer (empty cache) on the same store agrees.
        #expect(
            try Pseudonymizer(keyStore: p.keyStore).visitor(
                epoch: day, site: "example.com", cookie: "c1", ip: "-", userAgent: "") == a)

        // ("ab", "c") and ("a", "bc") differ.
        let abc = try p.visitor(epoch: day, site: "ab", cookie: "c", ip: "192.0.2.1", userAgent: "UA")
        let abc2 = try p.visitor(epoch: day, site: "a", cookie: "bc", ip: "192.0.2.1", userAgent: "UA")
        #expect(abc != abc2)
        let u1 = try p.visitor(epoch: day, site: "s", cookie: nil, ip: "192.0.2.1", userAgent: "ab")
        let u2 = try p.visitor(epoch: day, site: "s", cookie: nil, ip: "192.0.2.1", userAgent: "a")
        #expect(u1 != u2)

        // Domains separate the kinds: the same fields under two labels differ.
        let key = try p.keyStore.key(for: day, create: false)
        let fields = [Array("example.com".utf8), Array("jane@example.com".utf8)]
        let cookieDomain = Pseudonymizer.prf(key: key, domain: "veil/v1/cookie", fields: fields)
        let recipientDomain = Pseudonymizer.prf(key: key, domain: "veil/v1/recipient", fields: fields)
        let ipuaDomain = Pseudonymizer.prf(key: key, domain: "veil/v1/ipua", fields: fields)
        #expect(Set([cookieDomain, recipientDomain, ipuaDomain]).count == 3)
        #expect(
            try p.visitor(epoch: day, site: "example.com", cookie: "jane@example.com", ip: "", userAgent: "")
                == cookieDomain)
        #expect(try p.recipient(epoch: day, site: "example.com", token: "jane@example.com") == recipientDomain)
    }

    @Test("no cookie or an empty cookie uses address and user agent; one address in any spelling is one visitor")
    func ipua() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let base = try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "192.0.2.1", userAgent: "UA")
        #expect(try p.visitor(epoch: day, site: "example.com", cookie: "", ip: "192.0.2.1", userAgent: "UA") == base)
        #expect(
            try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "::ffff:192.0.2.1", userAgent: "UA") == base
        )
        #expect(try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "192.0.2.2", userAgent: "UA") != base)
        #expect(try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "192.0.2.1", userAgent: "UA2") != base)
        let v6 = try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "2001:DB8::1", userAgent: "UA")
        #expect(
            try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "2001:db8:0::0:1", userAgent: "UA") == v6)
        let parsed = try #require(IPAddress("192.0.2.1"))
        let viaAddress = Array("example.com".utf8).withUnsafeBytes { site in
            Array("UA".utf8).withUnsafeBytes { ua in
                try? p.visitor(epoch: day, site: site, cookie: nil, address: parsed, userAgent: ua)
            }
        }
        #expect(viaAddress == base)
        // Host names (HostnameLookups) still give a stable, distinct visitor.
        let host = try p.visitor(
            epoch: day, site: "example.com", cookie: nil, ip: "client.example.net", userAgent: "UA")
        #expect(
            try p.visitor(epoch: day, site: "example.com", cookie: nil, ip: "client.example.net", userAgent: "UA")
                == host)
        #expect(host != base)
    }

    @Test(
        "IP+UA pseudonyms are the PRF of the parsed address (0x01 + 16 bytes) or, unparsed, of 0x00 + the bytes; each spelling is cached apart"
    )
    func ipuaMessage() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let key = try p.keyStore.key(for: day, create: true)
        let site = Array("example.com".utf8), ua = Array("Mozilla/5.0 (X11; Linux x86_64)".utf8)
        let mapped: [UInt8] = [1] + Array(repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 1]
        let expected = Pseudonymizer.prf(key: key, domain: "veil/v1/ipua", fields: [site, mapped, ua])
        let spellings = ["192.0.2.1", "::ffff:192.0.2.1", "::FFFF:c000:201", "0:0:0:0:0:ffff:192.0.2.1"]
        for round in 0..<3 {
            for spelling in spellings {
                let got = try p.visitor(
                    epoch: day, site: "example.com", cookie: nil, ip: spelling,
                    userAgent: String(decoding: ua, as: UTF8.self))
                #expect(got == expected, "\(spelling)")
            }
            #expect(p.hmacCount == spellings.count, "round \(round): one HMAC per spelling, then cache hits")
        }
        let host = Array("client.example.net".utf8)
        let unparsed = Pseudonymizer.prf(key: key, domain: "veil/v1/ipua", fields: [site, [0] + host, ua])
        #expect(
            try p.visitor(
                epoch: day, site: "example.com", cookie: nil, ip: "client.example.net",
                userAgent: String(decoding: ua, as: UTF8.self)) == unparsed)
        // A parsed address given directly (X-Forwarded-For) is the same visitor.
        let viaAddress = site.withUnsafeBytes { s in
            ua.withUnsafeBytes { u in
                try? p.visitor(epoch: day, site: s, cookie: nil, address: IPAddress("192.0.2.1")!, userAgent: u)
            }
        }
        #expect(viaAddress == expected)
    }

    @Test(
        "a user agent given with its number: the same pseudonyms as given alone, one HMAC per (address, number), numbers never confused with user agents"
    )
    func numberedUserAgents() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let plain = Pseudonymizer(keyStore: p.keyStore)
        let key = try p.keyStore.key(for: day, create: true)
        let site = Array("example.com".utf8)
        let agents = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "", String(repeating: "A", count: 300)].map {
            Array($0.utf8)
        }
        let addresses = ["192.0.2.1", "::ffff:192.0.2.1", "2001:db8::7", "client.example.net", "-"].map {
            Array($0.utf8)
        }
        func numbered(_ ip: [UInt8], _ ua: [UInt8], cookie: [UInt8]? = nil, number: UInt64) throws -> Pseudonym {
            try site.withUnsafeBytes { s in
                try ip.withUnsafeBytes { i in
                    try ua.withUnsafeBytes { u in
                        try (cookie ?? []).withUnsafeBytes { c in
                            try p.visitor(
                                epoch: day, site: s, cookie: cookie == nil ? nil : c, ip: i, userAgent: u,
                                userAgentNumber: number)
                        }
                    }
                }
            }
        }
        for round in 0..<2 {
            for (n, ua) in agents.enumerated() {
                for ip in addresses {
                    let field =
                        IPAddress(String(decoding: ip, as: UTF8.self)).map { a in [1] + a.withUnsafeBytes { Array($0) }
                        } ?? [0] + ip
                    let expected = Pseudonymizer.prf(key: key, domain: "veil/v1/ipua", fields: [site, field, ua])
                    #expect(try numbered(ip, ua, number: UInt64(n) << 32 | 7) == expected, "\(n) \(ip)")
                    let alone = try plain.visitor(
                        epoch: day, site: "example.com", cookie: nil, ip: String(decoding: ip, as: UTF8.self),
                        userAgent: String(decoding: ua, as: UTF8.self))
                    #expect(alone == expected)
                }
            }
            #expect(p.hmacCount == agents.count * addresses.count, "round \(round): one HMAC per address and number")
        }
        // A cookie wins, number or not.
        let cookie = Array("c00k1e".utf8)
        #expect(
            try numbered(addresses[0], agents[0], cookie: cookie, number: 1)
                == Pseudonymizer.prf(key: key, domain: "veil/v1/cookie", fields: [site, cookie]))
        // The same user agent given alone is cached under its own key: no number stands for it.
        let before = p.hmacCount
        let alone = try p.visitor(
            epoch: day, site: "example.com", cookie: nil, ip: "192.0.2.1",
            userAgent: String(decoding: agents[1], as: UTF8.self))
        #expect(alone == (try numbered(addresses[0], agents[1], number: UInt64(1) << 32 | 7)))
        #expect(p.hmacCount == before + 1)
    }

    @Test(
        "a lookup in two halves (startVisitor, other work, finishVisitor): the PRF, one HMAC per key, while the cache grows"
    )
    func lookupInTwoHalves() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        // Work between the halves: another pseudonymiser's lookups (its own cache and scratch).
        let other = Pseudonymizer(keyStore: p.keyStore)
        let key = try p.keyStore.key(for: day, create: true)
        let site = Array("example.com".utf8)
        let agent = Array("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36".utf8)
        // Cookie ids, addresses with the user agent, and addresses with its number: 3,000 keys,
        // past several doublings of the cache's slots.
        let keys: [(cookie: [UInt8]?, ip: [UInt8], numbered: Bool)] = (0..<3000).map { i in
            let ip = Array("10.\(i / 256 % 256).\(i % 256).\(i % 7)".utf8)
            switch i % 3 {
            case 0: return (Array("c-\(i)".utf8), ip, false)
            case 1: return (nil, ip, false)
            default: return (nil, ip, true)
            }
        }
        for round in 0..<2 {
            for (i, k) in keys.enumerated() {
                let got: Pseudonym = try site.withUnsafeBytes { s in
                    try k.ip.withUnsafeBytes { ip in
                        try agent.withUnsafeBytes { ua in
                            try (k.cookie ?? []).withUnsafeBytes { c in
                                let cookie = k.cookie == nil ? nil : c
                                if k.numbered {
                                    p.startVisitor(
                                        epoch: day, site: s, cookie: cookie, ip: ip, userAgent: ua, userAgentNumber: 42)
                                } else {
                                    p.startVisitor(epoch: day, site: s, cookie: cookie, ip: ip, userAgent: ua)
                                }
                                _ = try other.visitor(
                                    epoch: day, site: "example.org", cookie: "x\(i % 10)", ip: "192.0.2.1",
                                    userAgent: "x")
                                return try p.finishVisitor()
                            }
                        }
                    }
                }
                let expected =
                    k.cookie.map { Pseudonymizer.prf(key: key, domain: "veil/v1/cookie", fields: [site, $0]) }
                    ?? Pseudonymizer.prf(
                        key: key, domain: "veil/v1/ipua",
                        fields: [
                            site, [1] + IPAddress(String(decoding: k.ip, as: UTF8.self))!.withUnsafeBytes { Array($0) },
                            agent,
                        ])
                #expect(got == expected, "round \(round), key \(i)")
            }
            #expect(p.hmacCount == keys.count, "round \(round): one HMAC per key, then cache hits")
        }
        #expect(other.hmacCount == 10)
    }

    @Test("recipients: e-mail addresses trimmed and lower-cased, tokens case-sensitive, never cached")
    func recipients() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let jane = try p.recipient(epoch: day, site: "example.com", token: "jane@example.com")
        #expect(try p.recipient(epoch: day, site: "example.com", token: "  Jane@EXAMPLE.com ") == jane)
        #expect(try p.recipient(epoch: day, site: "example.com", token: "john@example.com") != jane)
        let token = try p.recipient(epoch: day, site: "example.com", token: "AbC123")
        #expect(try p.recipient(epoch: day, site: "example.com", token: "abc123") != token)
        #expect(try p.recipient(epoch: day, site: "example.com", token: " AbC123 ") == token)
        // Not cached (each message sent has its own token): the cache holds visitors only.
        #expect(p.cachedCount == 0 && p.hmacCount == 6)
        _ = try p.visitor(epoch: day, site: "example.com", cookie: "c1", ip: "192.0.2.1", userAgent: "x")
        #expect(try p.recipient(epoch: day, site: "example.com", token: "AbC123") == token)
        #expect(p.cachedCount == 1 && p.hmacCount == 8)
    }

    @Test("the cache runs HMAC once per distinct input: 1000 calls, 10 inputs, 10 HMACs")
    func cacheCounts() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        var results: [Int: Pseudonym] = [:]
        for i in 0..<1000 {
            let n = i % 10
            let v = try p.visitor(
                epoch: day, site: "example.com", cookie: nil, ip: "198.51.100.\(n)", userAgent: "UA \(n)")
            if let earlier = results[n] { #expect(earlier == v) } else { results[n] = v }
        }
        #expect(p.hmacCount == 10)
        #expect(p.cachedCount == 10)
        #expect(Set(results.values).count == 10)
        #expect(p.epochsUsed == [day])
    }

    @Test("a full cache is cleared and refilled with the same values")
    func cacheLimit() throws {
        let temp = PrivacyTempDirectory()
        let keyStore = try store(in: temp)
        let small = Pseudonymizer(keyStore: keyStore, cacheLimit: 4)
        let reference = Pseudonymizer(keyStore: keyStore)
        for round in 0..<3 {
            for n in 0..<10 {
                let a = try small.visitor(epoch: day, site: "example.com", cookie: "c\(n)", ip: "", userAgent: "")
                let b = try reference.visitor(epoch: day, site: "example.com", cookie: "c\(n)", ip: "", userAgent: "")
                #expect(a == b, "round \(round), input \(n)")
                #expect(small.cachedCount <= 4)
            }
        }
        #expect(small.hmacCount == 30)
        #expect(reference.hmacCount == 10)
        let bytesBound = Pseudonymizer(keyStore: keyStore, cacheByteLimit: 100)
        for n in 0..<50 {
            _ = try bytesBound.visitor(epoch: day, site: "example.com", cookie: "cookie-\(n)", ip: "", userAgent: "")
        }
        #expect(bytesBound.cachedCount < 10)
    }

    @Test(
        "sites, domains and epochs interleaved, with the cache cleared between them: every pseudonym is the PRF of its own context",
        arguments: [2, 5, 1 << 20])
    func interleavedContexts(cacheLimit: Int) throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp), cacheLimit: cacheLimit)
        let epochs = [day, nextDay]
        let keys = try epochs.map { try p.keyStore.key(for: $0, create: true) }
        // Sites whose names are prefixes of each other, and an empty one: the context key
        // must tell them apart by length as well as bytes.
        let sites = ["a.example", "a.example.org", "b.example", ""]
        let ua = "Mozilla/5.0 (X11; Linux x86_64)"
        var hmacs = 0
        var seen = Set<String>()
        // Old epochs after new ones too (a newer epoch clears the cache; a late record refills it).
        for (step, e) in [0, 1, 0, 1, 1, 0].enumerated() {
            for n in 0..<6 {
                for site in sites {
                    let s = Array(site.utf8)
                    let cookie = "c\(n % 3)"
                    let ip = "192.0.2.\(n % 3)"
                    let v = try p.visitor(epoch: epochs[e], site: site, cookie: cookie, ip: ip, userAgent: ua)
                    let i = try p.visitor(epoch: epochs[e], site: site, cookie: nil, ip: ip, userAgent: ua)
                    let r = try p.recipient(epoch: epochs[e], site: site, token: cookie)
                    let address: [UInt8] = [1] + Array(repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, UInt8(n % 3)]
                    #expect(
                        v
                            == Pseudonymizer.prf(
                                key: keys[e], domain: "veil/v1/cookie", fields: [s, Array(cookie.utf8)]),
                        "step \(step) \(site) \(n)")
                    #expect(
                        i
                            == Pseudonymizer.prf(
                                key: keys[e], domain: "veil/v1/ipua", fields: [s, address, Array(ua.utf8)]),
                        "step \(step) \(site) \(n)")
                    #expect(
                        r
                            == Pseudonymizer.prf(
                                key: keys[e], domain: "veil/v1/recipient", fields: [s, Array(cookie.utf8)]),
                        "step \(step) \(site) \(n)")
                    #expect(p.cachedCount <= cacheLimit)
                    // Recipients are never cached: each costs an HMAC.
                    hmacs +=
                        1 + [("c", v), ("i", i)].filter { seen.insert("\($0.0)\(e)\(site)\(n % 3)").inserted }.count
                }
            }
        }
        // Each distinct visitor input costs an HMAC at least; with an unbounded cache, exactly
        // that plus the first epoch's inputs once more (the second step, a newer epoch, drops
        // them); and every recipient one.
        #expect(p.hmacCount >= hmacs)
        if cacheLimit > 1000 { #expect(p.hmacCount == hmacs + 2 * sites.count * 3) }
    }

    @Test("a newer epoch drops the older epochs' entries; a late record of an old epoch gets the same pseudonym again")
    func cacheFollowsEpochs() throws {
        let temp = PrivacyTempDirectory()
        let p = Pseudonymizer(keyStore: try store(in: temp))
        let next = EpochID(granularity: day.granularity, index: day.index + 1)
        func visit(_ epoch: EpochID, _ n: Int) throws -> Pseudonym {
            try p.visitor(epoch: epoch, site: "example.com", cookie: "c\(n)", ip: "", userAgent: "")
        }
        let first = try (0..<20).map { try visit(day, $0) }
        #expect(p.cachedCount == 20)
        let second = try (0..<5).map { try visit(next, $0) }
        #expect(p.cachedCount == 5, "entering a newer epoch keeps only that epoch's pseudonyms")
        #expect(p.hmacCount == 25)
        // A late record of the older epoch: recomputed (not dropped from the cache again).
        #expect(try visit(day, 3) == first[3])
        #expect(p.hmacCount == 26)
        #expect(p.cachedCount == 6)
        #expect(try visit(next, 4) == second[4])
        #expect(p.hmacCount == 26, "the newer epoch's entries stay cached")
        #expect(Set(first).isDisjoint(with: second))
    }

    @Test("the epoch is the record's: keys are created per epoch on demand, or required")
    func epochs() throws {
        let temp = PrivacyTempDirectory()
        let keyStore = try store(in: temp)
        let p = Pseudonymizer(keyStore: keyStore)
        let t1 = privacyTimestamp(2026, 11, 28, 23, 59, 59)
        let t2 = t1 + 1
        #expect(p.epochID(forTimestamp: t1) == day && p.epochID(forTimestamp: t2) == nextDay)
        let a = try p.visitor(epoch: p.epochID(forTimestamp: t1), site: "s", cookie: "c", ip: "", userAgent: "")
        let b = try p.visitor(epoch: p.epochID(forTimestamp: t2), site: "s", cookie: "c", ip: "", userAgent: "")
        #expect(a != b)
        #expect(p.epochsUsed == [day, nextDay])
        #expect(try keyStore.list().map(\.epoch) == [day, nextDay])

        let joinSide = Pseudonymizer(keyStore: keyStore, createKeys: false)
        #expect(try joinSide.visitor(epoch: day, site: "s", cookie: "c", ip: "", userAgent: "") == a)
        let error = #expect(throws: VeilError.self) {
            try joinSide.visitor(epoch: EpochID("d-2026-12-01")!, site: "s", cookie: "c", ip: "", userAgent: "")
        }
        #expect(error?.code == .key)
        #expect(error?.message.contains("d-2026-12-01") == true)
        #expect(!FileManager.default.fileExists(atPath: keyStore.path + "/d-2026-12-01.key"))
    }
}
