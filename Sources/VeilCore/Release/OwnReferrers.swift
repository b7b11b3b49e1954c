/// The referrer hosts that are a site's own: links from its own pages are the site's internal
/// navigation, not referrals, so the referrer tables (`referrers`, and its differentially
/// private release) do not list them, and a visit that entered through one (after the visit
/// timeout, or where a key epoch ends) is counted under no referrer, like one without any.
///
/// A site's own hosts are its name and the same name with or without a leading `www.`, as a
/// host field is read (`VisitorPseudonyms.canonicalSiteName`: ASCII letters lower-cased, a port
/// and a final dot dropped), so `www.example.com` and `Example.COM.` are each other's. A site
/// named by `--site` (for formats that log no host) has its own hosts only when that name is
/// its host name, in ASCII (punycode for an internationalised name, as referrers carry it).
struct OwnReferrers {
    /// `site << 32 | referrer dimension` of each own referrer host in the state.
    private let pairs: Set<UInt64>

    init(_ state: AggregateState) {
        var pairs = Set<UInt64>()
        for (site, name) in state.sites.strings.enumerated() {
            for host in Self.ownHosts(name) {
                if let dim = state.dims.intern(host, readOnly: true) {
                    pairs.insert(UInt64(site) << 32 | UInt64(dim))
                }
            }
        }
        self.pairs = pairs
    }

    /// The host names that are a site named `name`'s own, canonical: the name, and the name
    /// with a leading `www.` added or taken away.
    static func ownHosts(_ name: String) -> [String] {
        let bytes = Array(name.utf8)
        let host = String(
            decoding: bytes.withUnsafeBufferPointer { VisitorPseudonyms.canonicalSiteName($0) }, as: UTF8.self)
        guard !host.isEmpty, host != otherLabel else { return [] }
        if host.hasPrefix("www.") {
            let bare = String(host.dropFirst(4))
            return bare.isEmpty ? [host] : [host, bare]
        }
        return [host, "www." + host]
    }

    /// Whether referrer host `dim` is site `site`'s own.
    func contains(site: Int, dim: Int) -> Bool {
        pairs.contains(UInt64(truncatingIfNeeded: site) << 32 | UInt64(truncatingIfNeeded: dim))
    }
}
