/// A MaxMind DB (`.mmdb`, format 2.0) country database of the synthetic world, for tests of
/// `veil run --geoip`: the generator's address ranges mapped to made-up countries.
///
/// | network | record |
/// |---|---|
/// | 192.0.2.0/24 | DE, in a city database's shape (city, continent, location, names) |
/// | 198.51.100.0/25 | FR |
/// | 198.51.100.128/25 | US |
/// | 203.0.113.0/24 | no `country`, `registered_country` JP |
/// | 198.18.0.0/16 | US |
/// | 198.19.0.0/17 | BR |
/// | 198.19.128.0/17 | a record without a country |
/// | 2001:db8::/33 | GB |
/// | 2001:db8:8000::/34 | IN |
///
/// Every other address is in no network. With `--ip-version 4` the IPv6 networks are left out;
/// with 6 (the default) IPv4 networks sit at `::a.b.c.d/96+n`, as in MaxMind's databases. Map
/// keys after their first use are pointers to it, so a reader must follow pointers.
struct CountryDatabaseWriter {
    var recordSize = 24
    var ipVersion = 6
    var buildEpoch: UInt64 = 1_795_824_000  // 2026-11-28T00:00:00Z
    /// The metadata's `database_type`.
    var databaseType = "veil-fixtures-Country"
    /// Records in IPinfo's flat shape (`{"country_code": "DE", "country": "Germany", …}`)
    /// instead of MaxMind's nested maps.
    var ipinfo = false

    /// One network: the address's 128 bits (IPv4 in the low 32), its prefix length in the
    /// address's own bits, and the index of its record in `records`.
    struct Network {
        var hi: UInt64
        var lo: UInt64
        var ipv4: Bool
        var prefix: Int
        var record: Int
    }

    /// The data records: 0 DE (city shape), 1 FR, 2 US, 3 registered JP only, 4 BR, 5 no
    /// country, 6 GB, 7 IN.
    static let networks: [Network] = [
        v4(192, 0, 2, 0, 24, 0), v4(198, 51, 100, 0, 25, 1), v4(198, 51, 100, 128, 25, 2), v4(203, 0, 113, 0, 24, 3),
        v4(198, 18, 0, 0, 16, 2), v4(198, 19, 0, 0, 17, 4), v4(198, 19, 128, 0, 17, 5),
        Network(hi: 0x2001_0db8_0000_0000, lo: 0, ipv4: false, prefix: 33, record: 6),
        Network(hi: 0x2001_0db8_8000_0000, lo: 0, ipv4: false, prefix: 34, record: 7),
    ]

    private static func v4(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, _ prefix: Int, _ record: Int) -> Network
    {
        Network(hi: 0, lo: a << 24 | b << 16 | c << 8 | d, ipv4: true, prefix: prefix, record: record)
    }

    /// The database file's bytes.
    func build() -> [UInt8] {
        var data = DataWriter()
        var offsets: [Int] = []
        for record in 0..<8 {
            offsets.append(data.bytes.count)
            if ipinfo { data.flatRecord(record) } else { data.record(record) }
        }
        // The tree: nodes of two slots, node 0 the root.
        enum Slot { case empty, node(Int), data(Int) }
        var nodes: [(Slot, Slot)] = [(.empty, .empty)]
        for n in Self.networks where ipVersion == 6 || n.ipv4 {
            let total = ipVersion == 6 && n.ipv4 ? 96 + n.prefix : n.prefix
            func bit(_ i: Int) -> Int {
                if n.ipv4 {
                    let j = ipVersion == 6 ? i - 96 : i
                    return j < 0 ? 0 : Int(truncatingIfNeeded: n.lo >> UInt64(31 - j)) & 1
                }
                return Int(truncatingIfNeeded: (i < 64 ? n.hi : n.lo) >> UInt64(63 - i % 64)) & 1
            }
            var node = 0
            for i in 0..<total {
                let b = bit(i)
                let slot = b == 0 ? nodes[node].0 : nodes[node].1
                if i == total - 1 {
                    if b == 0 { nodes[node].0 = .data(n.record) } else { nodes[node].1 = .data(n.record) }
                    break
                }
                switch slot {
                case .node(let next): node = next
                case .empty:
                    nodes.append((.empty, .empty))
                    let next = nodes.count - 1
                    if b == 0 { nodes[node].0 = .node(next) } else { nodes[node].1 = .node(next) }
                    node = next
                case .data: preconditionFailure("overlapping networks")
                }
            }
        }
        let count = nodes.count
        func value(_ s: Slot) -> Int {
            switch s {
            case .empty: count
            case .node(let n): n
            case .data(let r): count + 16 + offsets[r]
            }
        }
        var out: [UInt8] = []
        for (l, r) in nodes {
            let a = value(l), b = value(r)
            switch recordSize {
            case 24: out += be(a, 3) + be(b, 3)
            case 28: out += be(a & 0xFF_FFFF, 3) + [UInt8((a >> 24) << 4 | (b >> 24) & 0x0F)] + be(b & 0xFF_FFFF, 3)
            default: out += be(a, 4) + be(b, 4)
            }
        }
        out += [UInt8](repeating: 0, count: 16)
        out += data.bytes
        out += [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
        var meta = DataWriter()
        meta.map(9)
        meta.string("binary_format_major_version")
        meta.unsigned(2, type: 5)
        meta.string("binary_format_minor_version")
        meta.unsigned(0, type: 5)
        meta.string("build_epoch")
        meta.unsigned(buildEpoch, type: 9)
        meta.string("database_type")
        meta.string(databaseType)
        meta.string("description")
        meta.map(1)
        meta.string("en")
        meta.string("Countries of veil-fixtures' synthetic address ranges (not real locations)")
        meta.string("ip_version")
        meta.unsigned(UInt64(ipVersion), type: 5)
        meta.string("languages")
        meta.control(type: 11, size: 1)
        meta.string("en")
        meta.string("node_count")
        meta.unsigned(UInt64(count), type: 6)
        meta.string("record_size")
        meta.unsigned(UInt64(recordSize), type: 5)
        return out + meta.bytes
    }

    private func be(_ v: Int, _ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * (n - 1 - $0))) }
    }
}

/// Values in the MaxMind DB data encoding.
private struct DataWriter {
    var bytes: [UInt8] = []
    /// Where each key string was first written (later uses are pointers to it).
    private var keys: [String: Int] = [:]

    mutating func control(type: Int, size: Int) {
        // Sizes of 29 and more take 1, 2 or 3 more bytes, counted from 29, 285 and 65,821.
        let bits: Int, extra: [UInt8]
        if size < 29 {
            (bits, extra) = (size, [])
        } else if size < 285 {
            (bits, extra) = (29, [UInt8(size - 29)])
        } else if size < 65_821 {
            (bits, extra) = (30, [UInt8((size - 285) >> 8), UInt8((size - 285) & 0xFF)])
        } else {
            let n = size - 65_821
            (bits, extra) = (31, [UInt8(n >> 16), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        }
        if type <= 7 {
            bytes.append(UInt8(type << 5 | bits))
        } else {
            bytes += [UInt8(bits), UInt8(type - 7)]
        }
        bytes += extra
    }

    mutating func string(_ s: String) {
        control(type: 2, size: s.utf8.count)
        bytes += Array(s.utf8)
    }

    /// A map key: written once, then a pointer to it.
    mutating func key(_ s: String) {
        if let at = keys[s] {
            pointer(at)
        } else {
            keys[s] = bytes.count
            string(s)
        }
    }

    mutating func pointer(_ p: Int) {
        if p < 2048 {
            bytes += [UInt8(0x20 | p >> 8), UInt8(p & 0xFF)]
        } else {
            let q = p - 2048
            bytes += [UInt8(0x28 | q >> 16), UInt8(q >> 8 & 0xFF), UInt8(q & 0xFF)]
        }
    }

    mutating func unsigned(_ v: UInt64, type: Int) {
        var n = 0
        while n < 8 && v >> (8 * UInt64(n)) != 0 { n += 1 }
        control(type: type, size: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))))
        }
    }

    mutating func map(_ pairs: Int) { control(type: 7, size: pairs) }

    mutating func double(_ v: Double) {
        control(type: 3, size: 8)
        for i in stride(from: 7, through: 0, by: -1) {
            bytes.append(UInt8(truncatingIfNeeded: v.bitPattern >> (8 * UInt64(i))))
        }
    }

    /// `{"iso_code": code, "names": {"en": name}}`.
    mutating func country(_ code: String, _ name: String) {
        map(2)
        key("iso_code")
        string(code)
        key("names")
        map(1)
        key("en")
        string(name)
    }

    /// Record `r` in IPinfo's flat shape (the registered-only record is JP's country there).
    mutating func flatRecord(_ r: Int) {
        let countries = [
            (0, "DE", "Germany"), (1, "FR", "France"), (2, "US", "United States"), (3, "JP", "Japan"),
            (4, "BR", "Brazil"), (6, "GB", "United Kingdom"), (7, "IN", "India"),
        ]
        guard let c = countries.first(where: { $0.0 == r }) else {
            map(1)
            key("asn")
            string("AS64500")
            return
        }
        map(3)
        key("continent")
        string(c.1 == "BR" ? "SA" : "EU")
        key("country")
        string(c.2)
        key("country_code")
        string(c.1)
    }

    /// Record `r` of the table above.
    mutating func record(_ r: Int) {
        let countries = [
            (0, "DE", "Germany"), (1, "FR", "France"), (2, "US", "United States"),
            (4, "BR", "Brazil"), (6, "GB", "United Kingdom"), (7, "IN", "India"),
        ]
        switch r {
        case 0:
            // A city database's record: the country among other maps, an array and doubles.
            map(5)
            key("city")
            map(1)
            key("names")
            map(2)
            key("de")
            string("Musterstadt")
            key("en")
            string("Sample City")
            key("continent")
            map(2)
            key("code")
            string("EU")
            key("geoname_id")
            unsigned(6_255_148, type: 6)
            key("country")
            country("DE", "Germany")
            key("location")
            map(3)
            key("latitude")
            double(50.1)
            key("longitude")
            double(8.7)
            key("time_zone")
            string("Europe/Berlin")
            key("subdivisions")
            control(type: 11, size: 1)
            map(1)
            key("iso_code")
            string("HE")
        case 3:
            map(1)
            key("registered_country")
            country("JP", "Japan")
        case 5:
            map(1)
            key("continent")
            map(1)
            key("code")
            string("SA")
        default:
            let c = countries.first { $0.0 == r }!  // Safe: every other record is a country.
            map(2)
            key("country")
            country(c.1, c.2)
            key("is_in_european_union")
            control(type: 14, size: c.1 == "FR" ? 1 : 0)
        }
    }
}
