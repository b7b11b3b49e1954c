import VeilCore

/// `--geoip`'s MaxMind DB reader on an untrusted file: opened, then asked for addresses of
/// both kinds. A file it opens must answer every lookup with a two-letter code or none.
enum GeoIPTarget {
    static let addresses: [IPAddress] = [
        "192.0.2.7", "198.51.100.200", "203.0.113.5", "198.19.200.1", "10.0.0.1", "2001:db8::1", "2001:db8:8000::1",
        "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0", "255.255.255.255",
    ].map { Array($0.utf8).withUnsafeBytes { IPAddress($0)! } }  // Safe: valid addresses.

    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let db = try? CountryDatabase(bytes: Array(input), path: "fuzz.mmdb") else { return }
        for a in addresses {
            let m = db.match(a)
            precondition(m.prefixLength >= 0 && m.prefixLength <= 128, "prefix length \(m.prefixLength)")
            if let code = db.countryCode(a) { precondition(code.utf8.count == 2, "country code \(code)") }
        }
    }
}
