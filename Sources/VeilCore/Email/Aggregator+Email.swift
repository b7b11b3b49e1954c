/// E-mail opens, clicks and deliveries: from server-log lines that match an open or click
/// pattern, and from e-mail services' event exports (records whose `event` is not `.request`).
///
/// Each event updates the summary of its (site, campaign, day, recipient pseudonym); the
/// recipient pseudonym is PRF(`veil/v1/recipient`, canonical site name, token or lower-cased
/// trimmed e-mail address). Nothing here runs for a log line whose path does not start like an
/// e-mail pattern.
extension Aggregator {
    /// A log line whose path may match an e-mail pattern (`mayMatch` was true).
    ///
    /// Counted when it matches, the status is below 400 (or absent) and the method is GET or
    /// HEAD (or absent); a HEAD request is a link checker's, never a person's.
    @inline(never)
    mutating func logEmailHit(
        _ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>, site: UInt32, day: Int64, time: Int64,
        agent: UserAgentClass, address: ByteRange
    ) throws(VeilError) {
        guard r.status < 400 else { return }
        let method = r.method.slice(line)
        let head = Self.isMethod(method, "HEAD")
        guard method.isEmpty || head || Self.isMethod(method, "GET") else { return }
        guard let m = emailPatterns.match(r.target.slice(line), offset: r.target.start) else { return }
        func count(
            recipient: UnsafeBufferPointer<UInt8>, campaign: UnsafeBufferPointer<UInt8>,
            link: UnsafeBufferPointer<UInt8>
        ) throws(VeilError) {
            try emailEvent(
                m.kind, site: site, day: day, time: time, campaign: campaign, recipient: recipient,
                link: m.kind == .click ? link : nil, linkIsName: true, agent: agent,
                userAgent: r.userAgent.slice(line), address: address.slice(line), hint: .none,
                head: head, emptyAgentIsHuman: false)
        }
        let recipient = m.recipient.slice(line), campaign = m.campaign.slice(line), link = m.link.slice(line)
        if !EmailPatterns.hasEscape(recipient) && !EmailPatterns.hasEscape(campaign) && !EmailPatterns.hasEscape(link) {
            // Nothing to decode (the usual case): the captures serve as they are.
            try count(recipient: recipient, campaign: campaign, link: link)
            return
        }
        EmailPatterns.percentDecode(recipient, into: &decodedRecipient)
        EmailPatterns.percentDecode(campaign, into: &decodedCampaign)
        EmailPatterns.percentDecode(link, into: &decodedLink)
        let decodedRecipient = decodedRecipient, decodedCampaign = decodedCampaign, decodedLink = decodedLink
        try decodedRecipient.withUnsafeBufferPointer { (rb) throws(VeilError) in
            try decodedCampaign.withUnsafeBufferPointer { (cb) throws(VeilError) in
                try decodedLink.withUnsafeBufferPointer { (lb) throws(VeilError) in
                    try count(recipient: rb, campaign: cb, link: lb)
                }
            }
        }
    }

    /// A record of an e-mail event export: delivered, open or click.
    ///
    /// An export line without a user agent says nothing about the client: it counts as a
    /// person unless the export's hint says otherwise. The click's `url` is the link.
    @inline(never)
    mutating func exportEvent(
        _ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>, site: UInt32, day: Int64, time: Int64,
        agent: UserAgentClass, address: ByteRange
    ) throws(VeilError) {
        try emailEvent(
            r.event, site: site, day: day, time: time, campaign: r.campaign.slice(line),
            recipient: r.recipient.slice(line), link: r.event == .click ? r.target.slice(line) : nil,
            linkIsName: false, agent: agent, userAgent: r.userAgent.slice(line), address: address.slice(line),
            hint: r.automation, head: false, emptyAgentIsHuman: true)
    }

    /// Counts one event in its recipient's summary.
    private mutating func emailEvent(
        _ kind: EventKind, site: UInt32, day: Int64, time: Int64, campaign: UnsafeBufferPointer<UInt8>,
        recipient: UnsafeBufferPointer<UInt8>, link: UnsafeBufferPointer<UInt8>?, linkIsName: Bool,
        agent: UserAgentClass, userAgent: UnsafeBufferPointer<UInt8>, address: UnsafeBufferPointer<UInt8>,
        hint: AutomationHint, head: Bool, emptyAgentIsHuman: Bool
    ) throws(VeilError) {
        guard kind != .request, day >= 0, day < Int64(CellKey.maxBucket), Self.hasToken(recipient) else { return }
        let p = try recipientPseudonym(site: site, token: recipient)
        let key = RecipientKey(site: site, campaign: campaignID(campaign), day: Int32(day), pseudonym: p)
        let i = state.recipient(key)
        if kind == .delivered {
            state.recipients[i].addDelivered(time: time)
            return
        }
        let agentKind: ClientKind = userAgent.isEmpty && emptyAgentIsHuman ? .human : Self.kind(agent)
        let proxy = hint == .proxy || agentKind == .mailProxy
        // A mail proxy's open or click counts as such whatever else it shows: the scanner rules
        // are not asked.
        let automated =
            !proxy
            && (head || hint == .bot || agentKind == .bot || isScannerAgent(userAgent)
                || scannerRules.isScannerAddress(address))
        if kind == .open {
            state.recipients[i].addOpen(time: time, kind: proxy ? .proxy : (automated ? .bot : .human))
        } else {
            state.addClick(
                i, time: time, link: linkID(link ?? UnsafeBufferPointer(start: nil, count: 0), isName: linkIsName),
                automated: automated || proxy)
        }
    }

    private enum ClientKind { case human, bot, mailProxy }

    private static func kind(_ a: UserAgentClass) -> ClientKind {
        switch a.kind {
        case .human: .human
        case .bot: .bot
        case .mailProxy: .mailProxy
        }
    }

    /// Whether the token has a byte other than space and tab.
    private static func hasToken(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in t where b != 0x20 && b != 0x09 { return true }
        return false
    }

    @inline(__always)
    private static func isMethod(_ m: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        guard m.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for k in 0..<m.count where m[k] != p[k] { return false }
        return true
    }

    private mutating func recipientPseudonym(site: UInt32, token: UnsafeBufferPointer<UInt8>) throws(VeilError)
        -> Pseudonym
    {
        let pseudonymizer = self.pseudonymizer
        let epoch = self.epoch
        let result: Result<Pseudonym, VeilError> = siteName(site).withUnsafeBytes { name in
            Result { () throws(VeilError) -> Pseudonym in
                try pseudonymizer.recipient(epoch: epoch, site: name, token: UnsafeRawBufferPointer(token))
            }
        }
        return try result.get()
    }

    private mutating func isScannerAgent(_ ua: UnsafeBufferPointer<UInt8>) -> Bool {
        if ua.isEmpty { return false }
        let key = UnsafeRawBufferPointer(ua)
        let h = scannerAgentCache.hash(key)
        if let i = scannerAgentCache.find(key, hash: h) { return scannerAgentCache.value(at: i) }
        if scannerAgentCache.count >= 100_000 { scannerAgentCache.removeAll() }
        let v = scannerRules.isScannerAgent(ua)
        scannerAgentCache.insert(key, hash: h, value: v)
        return v
    }

    /// The dimension id of a campaign's redacted name (`(none)` when empty).
    private mutating func campaignID(_ raw: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let key = UnsafeRawBufferPointer(raw)
        let h = campaignCache.hash(key)
        if let i = campaignCache.find(key, hash: h) { return campaignCache.value(at: i) }
        if campaignCache.count >= 100_000 { campaignCache.removeAll() }
        let label = Self.hasToken(raw) ? Self.redactedLabel(raw, isName: true, redactor) : "(none)"
        let id = internCapped(label, .campaigns)
        campaignCache.insert(key, hash: h, value: id)
        return id
    }

    /// The dimension id of a link: a link name from a pattern's `{link}`, or the clicked URL of
    /// an export (host + redacted path); `(unknown)` when there is none.
    private mutating func linkID(_ raw: UnsafeBufferPointer<UInt8>, isName: Bool) -> UInt32 {
        let key = UnsafeRawBufferPointer(raw)
        let h = linkCache.hash(key)
        if let i = linkCache.find(key, hash: h) { return linkCache.value(at: i) }
        if linkCache.count >= 100_000 { linkCache.removeAll() }
        let label = Self.hasToken(raw) ? Self.redactedLabel(raw, isName: isName, redactor) : "(unknown)"
        let id = internCapped(label, .links)
        linkCache.insert(key, hash: h, value: id)
        return id
    }

    /// A campaign or link name redacted like a path segment (identifier-like values become
    /// `:email`, `:token`, `:uuid`, `:id`); an absolute URL becomes its host followed by its
    /// redacted path and allowed query (`www.example.com/pricing?utm_content=cta`).
    static func redactedLabel(_ raw: UnsafeBufferPointer<UInt8>, isName: Bool, _ redactor: URLRedactor) -> String {
        var start = 0
        var end = raw.count
        while start < end && (raw[start] == 0x20 || raw[start] == 0x09) { start += 1 }
        while end > start && (raw[end - 1] == 0x20 || raw[end - 1] == 0x09) { end -= 1 }
        let text = UnsafeBufferPointer(rebasing: raw[start..<end])
        if !isName, let host = redactor.referrerHost(text) {
            var path = redactor.redact(text)
            if path == "/" { path = "" }
            return host + path
        }
        var label = redactor.redact(text)
        // A name is not a path: keep it as written, without the `/` an empty path gets.
        if label == "/" && text.first != UInt8(ascii: "/") { label = "(none)" }
        return label.isEmpty ? "(none)" : label
    }
}
