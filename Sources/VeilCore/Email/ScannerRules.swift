/// Rules that name a client as a security scanner or link checker from what one request shows:
/// its user agent and its address. (The timing rules, which need all of a recipient's clicks,
/// are `EmailTimingRules`, applied at release.)
///
/// - A user agent containing one of `agents` (ASCII, case-insensitive, anywhere) is a scanner.
/// - An address inside one of `networks` is a scanner. IPv4 ranges also match IPv4-mapped,
///   NAT64 and 6to4 forms of their addresses.
///
/// Built once per aggregation; `isScannerAgent` and `isScannerAddress` do not allocate.
struct ScannerRules: Sendable {
    /// Security gateways and link checkers whose fetchers name themselves in the user agent.
    static let defaultAgents = [
        "barracuda", "mimecast", "proofpoint", "urldefense", "safelinks", "ironport", "messagelabs",
        "trendmicro", "trend micro", "forcepoint", "websense", "fireeye", "sophos", "zscaler",
        "linkcheck", "link-check", "urlscan",
    ]

    /// Microsoft's published Exchange Online Protection ranges (the senders of Defender Safe
    /// Links checks). Mail servers, not people: a click from them is a scanner.
    static let defaultNetworks = [
        "40.92.0.0/15", "40.107.0.0/16", "52.100.0.0/14", "104.47.0.0/17", "2a01:111:f400::/48",
        "2a01:111:f403::/48",
    ]

    /// One address range: the address's top `bits` bits (of 128) equal `base`'s.
    struct Network: Sendable, Equatable {
        var base: IPAddress
        var bits: Int

        func contains(_ a: IPAddress) -> Bool {
            let (hiMask, loMask) = Self.mask(bits)
            return (a.hi ^ base.hi) & hiMask == 0 && (a.lo ^ base.lo) & loMask == 0
        }

        static func mask(_ bits: Int) -> (UInt64, UInt64) {
            let hi: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : ~0 << UInt64(64 - bits))
            let lo: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : ~0 << UInt64(128 - bits))
            return (hi, lo)
        }
    }

    private let agents: ByteNeedleSet?
    let networks: [Network]

    /// Compiles the rules.
    /// - Throws: `VeilError(.usage)` for an agent that is not ASCII of at least two bytes, or a
    ///   range that is not `address/prefix`.
    init(agents: [String], networks: [String]) throws(VeilError) {
        for a in agents where a.utf8.count < 2 || !a.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            throw VeilError(.usage, "scanner agent \"\(a)\": use printable ASCII, at least two characters")
        }
        self.agents = agents.isEmpty ? nil : ByteNeedleSet(agents.map { (text: $0, anchor: .anywhere) })
        self.networks = try networks.map { (text) throws(VeilError) -> Network in try Self.parseNetwork(text) }
    }

    /// Parses `192.0.2.0/24` or `2001:db8::/32` (a bare address is a /32 or /128).
    static func parseNetwork(_ text: String) throws(VeilError) -> Network {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else {
            throw VeilError(
                .usage, "scanner network \"\(text)\": expected an address range such as 192.0.2.0/24 or 2001:db8::/32")
        }
        let v4 = String(parts[0]).contains(".") && !String(parts[0]).contains(":")
        let maxBits = v4 ? 32 : 128
        var bits = maxBits
        if parts.count == 2 {
            guard let b = Int(parts[1]), b >= 0, b <= maxBits else {
                throw VeilError(.usage, "scanner network \"\(text)\": the prefix length must be 0...\(maxBits)")
            }
            bits = b
        }
        return Network(base: address, bits: v4 ? bits + 96 : bits)
    }

    /// Whether the user agent names a scanner.
    func isScannerAgent(_ ua: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let agents else { return false }
        return agents.firstMatch(in: ua) != nil
    }

    /// Whether the address (as written) lies in a scanner range.
    func isScannerAddress(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !networks.isEmpty, let a = IPAddress(UnsafeRawBufferPointer(text)) else { return false }
        return isScannerAddress(a)
    }

    func isScannerAddress(_ a: IPAddress) -> Bool {
        for n in networks where n.contains(a) { return true }
        if !a.isIPv4, let v4 = a.embeddedIPv4 {
            let mapped = IPAddress(ipv4: v4)
            for n in networks where n.contains(mapped) { return true }
        }
        return false
    }
}
