/// The visitor pseudonyms of request records: the one part of aggregation that reads no
/// aggregation state, so `PipelinedAggregator` runs it on the parsing thread (for the visitors
/// `PseudonymShare` leaves there).
///
/// A visitor is PRF(cookie) or PRF(address, user agent) under the key of the record's epoch,
/// keyed by the site's canonical name (lower-cased, without a port) — the name the state
/// records, so `veil join` can recompute the pseudonym. `Aggregator` computes the same value
/// with the same functions when nothing computed it ahead.
struct VisitorPseudonyms {
    let pseudonymizer: Pseudonymizer
    private let granularity: EpochGranularity
    private let trustForwardedFor: Bool
    private let defaultSite: [UInt8]
    private var epochHour = Int64.min
    private var epoch: EpochID
    private var lastHost: [UInt8] = []
    private var lastName: [UInt8] = []

    init(configuration: AggregationConfiguration, pseudonymizer: Pseudonymizer) {
        self.pseudonymizer = pseudonymizer
        granularity = pseudonymizer.keyStore.granularity
        trustForwardedFor = configuration.trustForwardedFor
        defaultSite = Array(configuration.siteName.utf8)
        epoch = EpochID(granularity: granularity, containing: 0)
    }

    /// The visitor pseudonym of `r`, or nil for a record that gets none (an e-mail export
    /// event, or a time veil cannot bucket).
    mutating func pseudonym(_ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>) throws(VeilError) -> Pseudonym? {
        let t = r.timestamp
        guard r.event == .request, t >= 0, t < Int64(CellKey.maxBucket - 1) * 3600 else { return nil }
        // Epochs are whole UTC hours or longer.
        if t / 3600 != epochHour {
            epochHour = t / 3600
            epoch = EpochID(granularity: granularity, containing: t)
        }
        let address = Self.clientAddress(r, line, trustForwardedFor: trustForwardedFor)
        if r.site.isEmpty {
            Self.startPseudonym(pseudonymizer, epoch: epoch, siteName: defaultSite, r, line, address: address)
        } else {
            let host = r.site.slice(line)
            if !ByteWords.equal(host, lastHost) {
                lastHost = Array(host)
                // As the state spells it: interned names are Strings (invalid UTF-8 replaced).
                lastName = Array(String(decoding: Self.canonicalSiteName(host), as: UTF8.self).utf8)
            }
            Self.startPseudonym(pseudonymizer, epoch: epoch, siteName: lastName, r, line, address: address)
        }
        return try pseudonymizer.finishVisitor()
    }

    /// Starts the lookup of the visitor pseudonym of `r` on the site named `siteName` (see
    /// `Pseudonymizer.startVisitor`); with `userAgentNumber`, the caller's number for the
    /// record's user agent (see `Pseudonymizer.visitor(…userAgentNumber:)`), in which case
    /// `line` must stay valid until the lookup is finished.
    @inline(__always)
    static func startPseudonym(
        _ pseudonymizer: Pseudonymizer, epoch: EpochID, siteName: [UInt8], _ r: LogRecord,
        _ line: UnsafeBufferPointer<UInt8>, address: ByteRange, userAgentNumber: UInt64? = nil
    ) {
        siteName.withUnsafeBytes { name in
            let cookie = r.cookie.isEmpty ? nil : UnsafeRawBufferPointer(r.cookie.slice(line))
            let ip = UnsafeRawBufferPointer(address.slice(line))
            let agent = UnsafeRawBufferPointer(r.userAgent.slice(line))
            guard let number = userAgentNumber else {
                pseudonymizer.startVisitor(epoch: epoch, site: name, cookie: cookie, ip: ip, userAgent: agent)
                return
            }
            pseudonymizer.startVisitor(
                epoch: epoch, site: name, cookie: cookie, ip: ip, userAgent: agent, userAgentNumber: number)
        }
    }

    /// The client address range: the left-most X-Forwarded-For entry when trusted and present.
    @inline(__always)
    static func clientAddress(_ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>, trustForwardedFor: Bool) -> ByteRange
    {
        if trustForwardedFor, !r.forwardedFor.isEmpty,
            let first = IPAddress.firstClientRange(inForwardedFor: r.forwardedFor.slice(line))
        {
            return ByteRange(Int(r.forwardedFor.start) + first.lowerBound, Int(r.forwardedFor.start) + first.upperBound)
        }
        return r.clientAddress
    }

    /// A host field as a site name: host names are case-insensitive, a port, if logged, is
    /// kept out of the site name, and so is the dot that ends a fully qualified name
    /// (`www.example.com.` is `www.example.com`).
    static func canonicalSiteName(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var name = Array(bytes).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        if let colon = name.lastIndex(of: UInt8(ascii: ":")), colon > 0,
            name[(colon + 1)...].allSatisfy({ $0 >= 48 && $0 <= 57 })
        {
            // `host:port`, or `[IPv6 literal]:port`; a bare IPv6 address keeps its last group.
            let bracketed = name[colon - 1] == UInt8(ascii: "]")
            let single = name.firstIndex(of: UInt8(ascii: ":")) == colon && !name.contains(UInt8(ascii: "]"))
            if bracketed || single { name.removeSubrange(colon...) }
        }
        if name.count > 1 && name.last == UInt8(ascii: ".") { name.removeLast() }
        return name
    }
}
