#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A MaxMind DB file (`.mmdb`) read for one thing: the country of an IP address.
///
/// The format (MaxMind DB 2.0) is a binary search tree over the bits of an address, whose
/// leaves point into a data section of typed values, and a metadata map at the end of the
/// file after the marker `\xAB\xCD\xEFMaxMind.com`. The country is the `iso_code` of the
/// record's `country` map (GeoLite2-Country, GeoLite2-City, GeoIP2-Country, DB-IP's lite
/// country and city databases all have it), else of its `registered_country` (an address
/// block whose users' country is not known, such as an anycast network).
///
/// The whole file is read into memory (GeoLite2-Country about 9 MB, City about 70 MB) and
/// never changes: one database serves every thread. Every read is bounds-checked: a corrupt
/// or hostile file gives an error at open or no country for the addresses it breaks, never a
/// crash.
public final class CountryDatabase: Sendable {
    /// The file as named.
    public let path: String
    /// The metadata's `database_type` (`GeoLite2-Country`, `DBIP-Country-Lite`).
    public let databaseType: String
    /// The metadata's `build_epoch`: when the database was built (seconds since 1970).
    public let buildEpoch: UInt64
    /// `buildEpoch`'s UTC date, `YYYY-MM-DD`.
    public var buildDate: String { identity.buildDate }

    /// Which database a state's country rows came from, as each input's record keeps it: the
    /// metadata's type and build time (never the file's path).
    public struct Identity: Sendable, Hashable, Comparable {
        /// `database_type` (may be empty).
        public var databaseType: String
        /// `build_epoch`, seconds since 1970.
        public var buildEpoch: UInt64

        public init(databaseType: String, buildEpoch: UInt64) {
            self.databaseType = databaseType
            self.buildEpoch = buildEpoch
        }

        /// `buildEpoch`'s UTC date, `YYYY-MM-DD`.
        public var buildDate: String { ISOTime.date(days: Int64(buildEpoch / 86_400)) }

        /// `GeoLite2-Country built 2026-12-01`, for summaries.
        public var description: String {
            "\(databaseType.isEmpty ? "a" : databaseType) database built \(buildDate)"
        }

        public static func < (a: Self, b: Self) -> Bool {
            a.buildEpoch != b.buildEpoch ? a.buildEpoch < b.buildEpoch : a.databaseType < b.databaseType
        }
    }

    /// This database's identity.
    public var identity: Identity { Identity(databaseType: databaseType, buildEpoch: buildEpoch) }

    private let bytes: [UInt8]
    private let nodeCount: Int
    /// Bits per record: 24, 28 or 32 (a node holds two records).
    private let recordSize: Int
    /// 4 or 6: the addresses the tree is built for.
    private let ipVersion: Int
    /// Where the data section starts (after the tree and 16 zero bytes).
    private let dataStart: Int
    /// Where the data section ends (the metadata marker).
    private let dataEnd: Int
    /// The record IPv4 addresses start at: in an IPv6 tree, the one reached by 96 zero bits
    /// (`::a.b.c.d`, where MaxMind's databases put IPv4), a node or already a leaf.
    private let ipv4Root: Int

    private static let marker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)

    /// The largest database file read (GeoIP2-City is about 130 MB).
    public static let maximumFileSize = 1 << 30

    /// Reads the database at `path`.
    /// - Throws: `VeilError(.io)` when it cannot be read, `VeilError(.badInput)` when it is not
    ///   a regular file of at most ``maximumFileSize`` bytes, or not a MaxMind DB of a kind
    ///   veil reads.
    public convenience init(path: String) throws(VeilError) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw AtomicFile.ioError("cannot open", path) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw VeilError(.badInput, "not a MaxMind DB country database (.mmdb): not a regular file", file: path)
        }
        guard Int(st.st_size) <= Self.maximumFileSize else {
            throw VeilError(
                .badInput,
                "not a MaxMind DB country database (.mmdb): larger than \(Self.maximumFileSize >> 20) MiB", file: path)
        }
        try self.init(bytes: try AtomicFile.read(path), path: path)
    }

    /// Reads a database held in `bytes`; `path` names it in errors.
    public init(bytes: [UInt8], path: String) throws(VeilError) {
        self.path = path
        self.bytes = bytes
        func bad(_ why: String) -> VeilError {
            VeilError(.badInput, "not a MaxMind DB country database (.mmdb): \(why)", file: path)
        }
        // The metadata starts after the last marker (within the last 128 KiB).
        guard let at = Self.lastMarker(in: bytes) else { throw bad("no metadata marker") }
        dataEnd = at
        let reader = Reader(bytes: bytes, base: at + Self.marker.count, end: bytes.count)
        var budget = 10_000
        guard case .map(let metadata)? = reader.value(at: at + Self.marker.count, depth: 0, budget: &budget) else {
            throw bad("the metadata is not a map")
        }
        func number(_ key: String) -> Int? {
            if case .unsigned(let v)? = metadata[key], v <= UInt64(Int.max) { return Int(v) }
            return nil
        }
        guard number("binary_format_major_version") == 2 else { throw bad("binary format version is not 2") }
        guard let nodes = number("node_count"), nodes > 0, let size = number("record_size"),
            [24, 28, 32].contains(size), let version = number("ip_version"), version == 4 || version == 6
        else { throw bad("node_count, record_size (24, 28 or 32) or ip_version (4 or 6) missing or wrong") }
        let (treeBytes, overflow) = nodes.multipliedReportingOverflow(by: size / 4)
        guard !overflow, treeBytes + 16 <= at else { throw bad("the search tree is larger than the file") }
        nodeCount = nodes
        recordSize = size
        ipVersion = version
        dataStart = treeBytes + 16
        if case .string(let type)? = metadata["database_type"] {
            databaseType = type
        } else {
            databaseType = ""
        }
        // Databases of networks' owners, not places: no record has a country (IPinfo's
        // `country_asn` has both).
        let lower = databaseType.lowercased()
        if ["asn", "isp", "connection-type", "domain", "anonymous"].contains(where: { lower.contains($0) }),
            !lower.contains("country"), !lower.contains("city")
        {
            throw bad("a \(databaseType) database has no countries; give a country or city database")
        }
        buildEpoch = number("build_epoch").map { UInt64($0) } ?? 0
        // IPv4 in an IPv6 tree: 96 zero bits from the root.
        var node = 0
        if version == 6 {
            for _ in 0..<96 where node < nodes { node = Self.record(bytes, node: node, bit: 0, recordSize: size) }
        }
        ipv4Root = node
    }

    /// The last occurrence of the metadata marker, searched in the file's last 128 KiB.
    private static func lastMarker(in bytes: [UInt8]) -> Int? {
        let m = marker.count
        guard bytes.count >= m else { return nil }
        var i = bytes.count - m
        let stop = max(0, bytes.count - 128 * 1024)
        while i >= stop {
            if bytes[i] == 0xAB && bytes[i + 1] == 0xCD && bytes[i + 2] == 0xEF
                && bytes[(i + 3)..<(i + m)].elementsEqual(marker[3...])
            {
                return i
            }
            i -= 1
        }
        return nil
    }

    /// Record `bit` (0 left, 1 right) of `node`.
    private static func record(_ b: [UInt8], node: Int, bit: Int, recordSize: Int) -> Int {
        switch recordSize {
        case 24:
            let o = node * 6 + bit * 3
            return Int(b[o]) << 16 | Int(b[o + 1]) << 8 | Int(b[o + 2])
        case 28:
            let o = node * 7
            if bit == 0 {
                return Int(b[o + 3] & 0xF0) << 20 | Int(b[o]) << 16 | Int(b[o + 1]) << 8 | Int(b[o + 2])
            }
            return Int(b[o + 3] & 0x0F) << 24 | Int(b[o + 4]) << 16 | Int(b[o + 5]) << 8 | Int(b[o + 6])
        default:
            let o = node * 8 + bit * 4
            return Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3])
        }
    }

    /// What a lookup found: the data record's offset in the data section (nil: the address is
    /// in no network of the database) and the prefix length of the network that holds it.
    public struct Match: Sendable, Equatable {
        public var record: Int?
        public var prefixLength: Int
    }

    /// The network of the database that holds `address`.
    /// - Complexity: O(address bits): at most 32 nodes for IPv4, 128 for IPv6.
    public func match(_ address: IPAddress) -> Match {
        if let v4 = address.ipv4 { return walk(from: ipv4Root, hi: UInt64(v4) << 32, lo: 0, bits: 32) }
        guard ipVersion == 6 else { return Match(record: nil, prefixLength: 0) }
        return walk(from: 0, hi: address.hi, lo: address.lo, bits: 128)
    }

    /// Follows the bits of `hi` then `lo` (most significant first) from `start`.
    private func walk(from start: Int, hi: UInt64, lo: UInt64, bits: Int) -> Match {
        var node = start
        var depth = 0
        while node < nodeCount && depth < bits {
            let word = depth < 64 ? hi : lo
            let bit = Int(truncatingIfNeeded: word >> UInt64(63 - depth % 64)) & 1
            node = Self.record(bytes, node: node, bit: bit, recordSize: recordSize)
            depth += 1
        }
        // A node still (a tree deeper than the address) or the empty record: no network.
        guard node > nodeCount else { return Match(record: nil, prefixLength: depth) }
        // A data pointer: (record − node count) − 16 into the data section.
        let offset = node - nodeCount - 16
        return Match(record: offset >= 0 && dataStart + offset < dataEnd ? offset : nil, prefixLength: depth)
    }

    /// The ISO 3166-1 alpha-2 code (two ASCII letters, upper case) of the data record at
    /// `offset` in the data section: its `country`'s `iso_code`, else its
    /// `registered_country`'s, else its `country_code` (IPinfo); nil when it has none or they
    /// are not two letters.
    public func countryCode(record offset: Int) -> String? {
        let reader = Reader(bytes: bytes, base: dataStart, end: dataEnd)
        // MaxMind's and DB-IP's `country.iso_code`, else `registered_country.iso_code`;
        // IPinfo's `country_code`.
        for path in [["country", "iso_code"], ["registered_country", "iso_code"], ["country_code"]] {
            if let code = reader.string(at: dataStart + offset, path: path),
                code.utf8.count == 2,
                code.utf8.allSatisfy({ ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") })
            {
                return code.uppercased()
            }
        }
        return nil
    }

    /// The country code of `address`, or nil.
    public func countryCode(_ address: IPAddress) -> String? {
        match(address).record.flatMap { countryCode(record: $0) }
    }
}

/// Decoding of the MaxMind DB data section's values (what the country lookup needs: maps,
/// strings, unsigned integers; the rest is skipped).
private struct Reader {
    let bytes: [UInt8]
    /// Where offsets of pointers count from.
    let base: Int
    /// The first byte past the section.
    let end: Int

    enum Value {
        case map([String: Value])
        case string(String)
        case unsigned(UInt64)
        case other
    }

    /// Nesting deeper than this is refused (a hostile file's recursion).
    private static let maxDepth = 32

    /// The control byte at `i`: its type, the payload's size, and where the payload starts.
    /// A pointer's size is its target offset.
    private func header(at i: Int) -> (type: Int, size: Int, payload: Int)? {
        guard i < end else { return nil }
        let c = Int(bytes[i])
        var type = c >> 5
        var p = i + 1
        if type == 1 {
            // Pointer: 001SSVVV.
            let ss = (c >> 3) & 3, v = c & 7
            guard p + ss + 1 <= end else { return nil }
            var n = 0
            for k in 0...ss { n = n << 8 | Int(bytes[p + k]) }
            p += ss + 1
            let target: Int
            switch ss {
            case 0: target = v << 8 | n
            case 1: target = (v << 16 | n) + 2048
            case 2: target = (v << 24 | n) + 526_336
            default: target = n
            }
            return (1, target, p)
        }
        if type == 0 {
            guard p < end else { return nil }
            type = 7 + Int(bytes[p])
            p += 1
        }
        var size = c & 0x1F
        if size >= 29 {
            let extra = size - 28
            guard p + extra <= end else { return nil }
            var n = 0
            for k in 0..<extra { n = n << 8 | Int(bytes[p + k]) }
            p += extra
            size = [29, 285, 65_821][extra - 1] + n
        }
        return (type, size, p)
    }

    /// The control byte at `i`, or at the target of the pointer there (a pointer's target is
    /// never itself a pointer).
    private func resolved(at i: Int) -> (type: Int, size: Int, payload: Int)? {
        guard let h = header(at: i) else { return nil }
        guard h.type == 1 else { return h }
        guard let t = header(at: base + h.size), t.type != 1 else { return nil }
        return t
    }

    /// The string whose control byte is `h`.
    private func string(_ h: (type: Int, size: Int, payload: Int)) -> String? {
        guard h.type == 2, h.payload + h.size <= end else { return nil }
        return String(decoding: bytes[h.payload..<(h.payload + h.size)], as: UTF8.self)
    }

    /// The value at `i`, following one pointer. `budget` bounds the values decoded (pointers
    /// can make a small file name the same map many times over).
    func value(at i: Int, depth: Int, budget: inout Int) -> Value? {
        budget -= 1
        guard budget >= 0, depth < Self.maxDepth, let h = resolved(at: i) else { return nil }
        switch h.type {
        case 2:
            return string(h).map { .string($0) }
        case 5, 6, 9:
            guard h.size <= 8, h.payload + h.size <= end else { return nil }
            var v: UInt64 = 0
            for k in 0..<h.size { v = v << 8 | UInt64(bytes[h.payload + k]) }
            return .unsigned(v)
        case 7:
            var out: [String: Value] = [:]
            var j = h.payload
            for _ in 0..<h.size {
                guard let key = key(at: j), let afterKey = skip(j, depth: depth + 1, budget: &budget),
                    let v = value(at: afterKey, depth: depth + 1, budget: &budget),
                    let next = skip(afterKey, depth: depth + 1, budget: &budget)
                else { return nil }
                out[key] = v
                j = next
            }
            return .map(out)
        default:
            return skip(i, depth: depth, budget: &budget) == nil ? nil : .other
        }
    }

    /// A map key: a string, or a pointer to one.
    func key(at i: Int) -> String? {
        resolved(at: i).flatMap(string)
    }

    /// The string at the end of `path` (map keys) from the value at `i`, decoding only what
    /// lies on the way.
    func string(at i: Int, path: [String]) -> String? {
        var at = i
        // Bounds the values passed over on the way (each record is decoded once per cache).
        var budget = 1 << 20
        for (n, name) in path.enumerated() {
            guard let h = resolved(at: at), h.type == 7 else { return nil }
            var j = h.payload
            var found: Int?
            for _ in 0..<h.size {
                guard let k = key(at: j), let afterKey = skip(j, depth: 1, budget: &budget) else { return nil }
                if k == name {
                    found = afterKey
                    break
                }
                guard let next = skip(afterKey, depth: 1, budget: &budget) else { return nil }
                j = next
            }
            guard let value = found else { return nil }
            if n == path.count - 1 { return key(at: value) }
            at = value
        }
        return nil
    }

    /// Where the value at `i` ends (a pointer ends after its own bytes). Each value passed over
    /// takes one from `budget`.
    func skip(_ i: Int, depth: Int, budget: inout Int) -> Int? {
        budget -= 1
        guard budget >= 0, depth < Self.maxDepth, let h = header(at: i) else { return nil }
        switch h.type {
        case 1: return h.payload
        case 7:
            var j = h.payload
            for _ in 0..<(2 * h.size) {
                guard let next = skip(j, depth: depth + 1, budget: &budget) else { return nil }
                j = next
            }
            return j
        case 11:
            var j = h.payload
            for _ in 0..<h.size {
                guard let next = skip(j, depth: depth + 1, budget: &budget) else { return nil }
                j = next
            }
            return j
        case 14, 13: return h.payload  // booleans hold their value in the size; the end marker nothing
        case 3: return h.size == 8 && h.payload + 8 <= end ? h.payload + 8 : nil
        case 15: return h.size == 4 && h.payload + 4 <= end ? h.payload + 4 : nil
        default: return h.payload + h.size <= end ? h.payload + h.size : nil
        }
    }
}

/// The country dimension ids of recently looked-up address blocks (an IPv4 /24, an IPv6 /48),
/// for one aggregator: most pageviews come from a block looked up moments before. A block is
/// kept only when the database gives all of it one answer (its network is the block or
/// larger), so a hit is the answer a lookup would give. Only the block is kept, never the
/// address.
struct CountryCache {
    /// (block key, dimension id) pairs, direct-mapped; key 0 is empty.
    private var entries = [(UInt64, UInt32)](repeating: (0, 0), count: 4096)
    /// The dimension id of each data record decoded so far.
    private var records: [Int: UInt32] = [:]
    /// The dimension id of `(unknown)`, once interned.
    private var unknown: UInt32?

    /// The label of a pageview whose address is in no country of the database, or not an
    /// address.
    static let unknownLabel = "(unknown)"

    /// The dimension id of the country of `address` (`(unknown)` for none), interning labels
    /// with `intern`.
    mutating func dimension(
        of address: IPAddress?, in db: CountryDatabase, intern: (String) -> UInt32
    ) -> UInt32 {
        guard let address else { return unknownID(intern) }
        let v4 = address.ipv4
        // Tag bit 63 tells the two kinds of block apart.
        let key = v4.map { 1 << 63 | UInt64($0 >> 8) } ?? (address.hi >> 16 | 1 << 62)
        let slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 52)
        if entries[slot].0 == key { return entries[slot].1 }
        let m = db.match(address)
        let id: UInt32
        if let record = m.record {
            if let known = records[record] {
                id = known
            } else {
                id = db.countryCode(record: record).map(intern) ?? unknownID(intern)
                // A city database has a record per place: the memory stays bounded.
                if records.count >= 1 << 16 { records.removeAll(keepingCapacity: true) }
                records[record] = id
            }
        } else {
            id = unknownID(intern)
        }
        if m.prefixLength <= (v4 != nil ? 24 : 48) { entries[slot] = (key, id) }
        return id
    }

    private mutating func unknownID(_ intern: (String) -> UInt32) -> UInt32 {
        if let unknown { return unknown }
        let id = intern(Self.unknownLabel)
        unknown = id
        return id
    }
}
