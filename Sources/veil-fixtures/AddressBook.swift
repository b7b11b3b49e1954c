/// Every client address of the synthetic world, each a distinct string.
///
/// Addresses come only from documentation and benchmarking ranges: IPv4 192.0.2.0/24,
/// 198.51.100.0/24, 203.0.113.0/24 (TEST-NETs) and 198.18.0.0/15 (RFC 2544); IPv6
/// 2001:db8::/32, written in RFC 5952 canonical form.
struct AddressBook {
    private(set) var texts: [[UInt8]] = []
    private(set) var isIPv6: [Bool] = []
    private var index: [[UInt8]: Int] = [:]
    private var ipv4Numbers = Set<UInt32>()

    var count: Int { texts.count }

    /// Adds an address; nil when it is already present.
    mutating func add(_ text: [UInt8], ipv6: Bool) -> Int? {
        guard index[text] == nil else { return nil }
        texts.append(text)
        isIPv6.append(ipv6)
        index[text] = texts.count - 1
        return texts.count - 1
    }

    /// Adds an IPv4 address given as a 32-bit number; nil when present.
    mutating func addIPv4(_ value: UInt32) -> Int? {
        guard ipv4Numbers.insert(value).inserted else { return nil }
        return add(Array(Self.ipv4Text(value).utf8), ipv6: false)
    }

    /// Adds an IPv6 address given as eight 16-bit groups; nil when present.
    mutating func addIPv6(_ groups: [UInt16]) -> Int? {
        add(Array(Self.ipv6Text(groups).utf8), ipv6: true)
    }

    static func ipv4Text(_ v: UInt32) -> String {
        "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
    }

    /// RFC 5952: lower-case hex, no leading zeros, the longest run (first on ties) of two or
    /// more zero groups written as `::`.
    static func ipv6Text(_ g: [UInt16]) -> String {
        precondition(g.count == 8)
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ v: UInt16) -> String { String(v, radix: 16) }
        if bestStart < 0 { return g.map(hex).joined(separator: ":") }
        let head = g[0..<bestStart].map(hex).joined(separator: ":")
        let tail = g[(bestStart + bestLength)...].map(hex).joined(separator: ":")
        return head + "::" + tail
    }
}
