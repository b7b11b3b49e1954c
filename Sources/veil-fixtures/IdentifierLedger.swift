/// Records which identifiers actually appear in the written log, for `--identifiers`.
///
/// Kinds: `ip` (client, proxy and server addresses as written, without brackets or port),
/// `cookie`, `ua` (full User-Agent), `recipient` (e-mail token), `email`, `user`
/// (authenticated user name), `token` (session token in a query string). A damaged line
/// contributes only the identifiers that its remaining bytes still contain.
struct IdentifierLedger {
    private let format: OutputFormat
    private var addressUsed: [Bool]
    private var userAgentUsed: [Bool]
    private var cookieUsed: [Bool]
    private var tokenUsed: [Bool]
    private var userUsed: [Bool]
    private var emailUsed: [Bool]
    private var recipientUsed: [Bool]
    private let subscriberOfVisitor: [Int]
    private let addressTexts: [[UInt8]]
    private let userAgentTexts: [[UInt8]]
    /// The server address IIS writes as `s-ip` on every W3C line.
    private let serverAddress: Int

    init(population: Population, format: OutputFormat) {
        self.format = format
        subscriberOfVisitor = population.visitors.map(\.subscriber)
        addressTexts = population.addresses.texts
        userAgentTexts = population.userAgents.map { ua in
            Array(ua.text.utf8).map { format == .w3c && $0 == UInt8(ascii: " ") ? UInt8(ascii: "+") : $0 }
        }
        addressUsed = Array(repeating: false, count: population.addresses.count)
        userAgentUsed = Array(repeating: false, count: population.userAgents.count)
        cookieUsed = Array(repeating: false, count: population.visitors.count)
        tokenUsed = Array(repeating: false, count: population.visitors.count)
        userUsed = Array(repeating: false, count: population.subscribers.count)
        emailUsed = Array(repeating: false, count: population.subscribers.count)
        recipientUsed = Array(repeating: false, count: population.subscribers.count)
        serverAddress = population.serverAddress
    }

    /// Notes the identifiers `r` puts on its line in this format.
    mutating func note(_ r: Request) {
        addressUsed[r.address] = true
        if format.hasServerAddress { addressUsed[serverAddress] = true }
        if format.hasUserAgent { userAgentUsed[r.userAgent] = true }
        if format == .combinedCookieXFF, r.forwardedVia >= 0 { addressUsed[r.forwardedVia] = true }
        if case .visitor(let v) = r.actor {
            if format.hasCookie, !r.cookie.isEmpty { cookieUsed[v] = true }
            if !r.token.isEmpty { tokenUsed[v] = true }
            let subscriber = subscriberOfVisitor[v]
            if subscriber >= 0 {
                if !r.user.isEmpty, format.hasUser { userUsed[subscriber] = true }
                if !r.pathEmail.isEmpty { emailUsed[subscriber] = true }
            }
        }
        switch r.email {
        case .none: break
        case .open(_, let s), .click(_, _, let s): recipientUsed[s] = true
        }
    }

    /// Notes the identifiers of a damaged line made from `r` that `line` still contains.
    /// (Damaged lines are made from plain page requests: address, user agent, cookie and
    /// forwarding proxy are their only identifiers.)
    mutating func noteDamaged(_ r: Request, line: ArraySlice<UInt8>) {
        func contains(_ needle: [UInt8]) -> Bool {
            guard !needle.isEmpty, needle.count <= line.count else { return false }
            var i = line.startIndex
            while i + needle.count <= line.endIndex {
                if line[i] == needle[0] && line[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
        if contains(addressTexts[r.address]) { addressUsed[r.address] = true }
        if format.hasServerAddress, contains(addressTexts[serverAddress]) { addressUsed[serverAddress] = true }
        if format.hasUserAgent, contains(userAgentTexts[r.userAgent]) { userAgentUsed[r.userAgent] = true }
        if format == .combinedCookieXFF, r.forwardedVia >= 0, contains(addressTexts[r.forwardedVia]) {
            addressUsed[r.forwardedVia] = true
        }
        if case .visitor(let v) = r.actor, format.hasCookie, contains(r.cookie) { cookieUsed[v] = true }
    }

    /// `kind<TAB>value` lines, sorted by kind then value bytes, without duplicates.
    func lines(_ population: Population) -> [UInt8] {
        var rows: [[UInt8]] = []
        func add(_ kind: String, _ value: [UInt8]) { rows.append(Array("\(kind)\t".utf8) + value) }
        for (i, used) in addressUsed.enumerated() where used { add("ip", population.addresses.texts[i]) }
        for (i, used) in userAgentUsed.enumerated() where used {
            add("ua", Array(population.userAgents[i].text.utf8))
        }
        for (v, visitor) in population.visitors.enumerated() {
            if cookieUsed[v] { add("cookie", visitor.cookie) }
            if tokenUsed[v] { add("token", visitor.sessionToken) }
        }
        for (s, sub) in population.subscribers.enumerated() {
            if userUsed[s] { add("user", sub.user) }
            if emailUsed[s] { add("email", sub.email) }
            if recipientUsed[s] { add("recipient", sub.recipient) }
        }
        rows.sort { $0.lexicographicallyPrecedes($1) }
        var out: [UInt8] = []
        var previous: [UInt8]? = nil
        for row in rows where row != previous {
            out += row
            out.append(UInt8(ascii: "\n"))
            previous = row
        }
        return out
    }
}
