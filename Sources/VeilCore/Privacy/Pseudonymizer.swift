import Crypto
import Foundation

/// A 128-bit keyed pseudonym: the first 16 bytes of an HMAC-SHA256, big-endian.
///
/// Pseudonymous data: it may live in state files, never in a released rollup.
public struct Pseudonym: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The first 8 bytes of the MAC, big-endian.
    public var hi: UInt64
    /// The next 8 bytes of the MAC, big-endian.
    public var lo: UInt64

    @inlinable
    public init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// The pseudonym made of the first 16 bytes of `bytes`.
    init(truncating bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= 16, "a pseudonym needs 16 bytes")
        hi = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        lo = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    public static func < (a: Pseudonym, b: Pseudonym) -> Bool {
        (a.hi, a.lo) < (b.hi, b.lo)
    }

    /// 32 lower-case hex digits.
    public var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(hi) + hex(lo)
    }
}

/// Turns identifiers into keyed pseudonyms: `PRF = HMAC-SHA256(epoch key, message)` truncated
/// to 128 bits.
///
/// The message is a domain label followed by the fields, each one (the label too) written as a
/// 4-byte big-endian length and its bytes, so `("ab", "c")` and `("a", "bc")` differ and one
/// domain's messages can never equal another's. Domains:
/// - `veil/v1/cookie`: (site, cookie id) — a visitor with a cookie;
/// - `veil/v1/ipua`: (site, address, user agent) — a visitor without one. The address field
///   is `0x01` followed by the 16-byte address (IPv4 as IPv4-mapped) when it parses, so every
///   spelling of one address is one visitor, else `0x00` followed by the bytes as written;
/// - `veil/v1/recipient`: (site, recipient) — an e-mail recipient token, or an e-mail address
///   trimmed of spaces and lower-cased (ASCII).
///
/// The key is that of the epoch of the record's own timestamp, so the same input gives the
/// same pseudonym within an epoch and unrelated ones across epochs.
///
/// Visitors' results are cached per distinct (epoch, domain, fields) in a `PseudonymCache`, so
/// HMAC runs once per distinct visitor; a cache hit does not allocate. Recipients' are not:
/// each message sent carries its own token, so their entries would rarely hit and would push
/// the visitors' apart (measured: a one-thread run of the reference 0.96 of the time uncached). A cache key is a 4-byte context
/// number standing for (epoch, domain, site), the same for every request of one site in one
/// epoch, then the other fields; the context numbers are handed out in `contexts` and never
/// reused while the cache may hold one. An IP+UA request is cached under its address as
/// written, so a hit parses no address (each spelling of an address is its own entry, with the
/// same pseudonym); a caller that numbers its user agents may key IP+UA requests by the number
/// instead of the user agent (`visitor(…userAgentNumber:)`), which makes the key a fifth as
/// long. The cache is cleared when it holds more than `cacheLimit` entries or `cacheByteLimit`
/// key bytes. One instance per pipeline: it is not thread-safe.
public final class Pseudonymizer {
    /// What a pseudonym identifies; each kind has its own domain label.
    public enum Domain: UInt8, Sendable, CaseIterable {
        case cookie = 1
        case ipua = 2
        case recipient = 3

        /// The label at the start of every message of this domain.
        public var label: String {
            switch self {
            case .cookie: "veil/v1/cookie"
            case .ipua: "veil/v1/ipua"
            case .recipient: "veil/v1/recipient"
            }
        }

        var labelBytes: StaticString {
            switch self {
            case .cookie: "veil/v1/cookie"
            case .ipua: "veil/v1/ipua"
            case .recipient: "veil/v1/recipient"
            }
        }
    }

    /// Where the keys come from.
    public let keyStore: KeyStore
    /// Whether a missing key is created (aggregation) or an error (join).
    public let createKeys: Bool
    /// The most cache entries kept before the cache is cleared.
    public let cacheLimit: Int
    /// The most cached key bytes kept before the cache is cleared.
    public let cacheByteLimit: Int
    /// The number of HMACs computed so far (cache misses).
    public private(set) var hmacCount = 0

    private let cache: PseudonymCache
    /// Scratch: the cache key, a 4-byte context number (see `Context`), then the fields after
    /// the site as the PRF message writes them, except that an IP+UA key holds the address as
    /// written (see `prfMessage`).
    private let message = ByteScratch(capacity: 1024)
    /// Context (epoch tag, domain, site) → its number, for the contexts the cache may hold.
    private var contexts = ByteKeyedTable<UInt32>(initialCapacity: 16)
    /// The next context number; numbers are not reused until the cache is empty.
    private var nextContext: UInt32 = 0
    /// The last context of each domain (requests with and without a cookie interleave).
    private let cookieContext = Context(), ipuaContext = Context(), recipientContext = Context()
    /// The domain of the current cache key.
    private var domain = Domain.cookie
    /// Where the current message's address field lies when it holds the address as written
    /// (`writtenAddressAt` is -1 otherwise): the cache key then differs from the PRF message.
    private var writtenAddressAt = -1
    private var writtenAddressEnd = -1
    /// The user agent a numbered IP+UA cache key stands for (see `visitor(…userAgentNumber:)`),
    /// or nil when the key holds the user agent itself.
    private var numberedUserAgent: UnsafeRawBufferPointer?
    /// Scratch for the PRF message of a cache key that holds the address as written.
    private let prfScratch = ByteScratch(capacity: 1024)
    private var macs: [EpochID: KeyedHMAC] = [:]
    private var lastEpoch: EpochID?
    private var lastMAC: KeyedHMAC?
    /// The newest epoch a pseudonym was computed for.
    private var newestEpoch: EpochID?
    /// The epoch and the message hash of the lookup `startVisitor` began.
    private var pendingEpoch = EpochID(granularity: .day, containing: 0)
    private var pendingHash: UInt64 = 0
    /// Between `startVisitor` and `finishVisitor` (checked in debug builds).
    private var lookupStarted = false

    /// Creates a pseudonymizer reading keys from `keyStore`.
    ///
    /// - Parameters:
    ///   - keyStore: The key directory.
    ///   - createKeys: Create the key of an epoch seen for the first time (aggregation), or
    ///     fail (join, which must only link existing data).
    ///   - cacheLimit: Entries kept before the cache is cleared.
    ///   - cacheByteLimit: Key bytes (raw identifiers) kept before the cache is cleared.
    public init(
        keyStore: KeyStore, createKeys: Bool = true, cacheLimit: Int = 1 << 20, cacheByteLimit: Int = 64 << 20
    ) {
        precondition(cacheLimit > 0 && cacheByteLimit > 0, "cache limits must be positive")
        self.keyStore = keyStore
        self.createKeys = createKeys
        self.cacheLimit = cacheLimit
        self.cacheByteLimit = cacheByteLimit
        cache = PseudonymCache(initialCapacity: min(cacheLimit, 4096))
    }

    /// The epochs whose keys this pseudonymizer has used, in time order (for manifests).
    public var epochsUsed: [EpochID] { macs.keys.sorted() }

    /// The number of cached pseudonyms.
    public var cachedCount: Int { cache.count }

    /// The epoch of the key store's granularity containing `timestamp` (the record's time).
    @inlinable
    public func epochID(forTimestamp timestamp: Int64) -> EpochID {
        keyStore.epochID(forTimestamp: timestamp)
    }

    /// The visitor pseudonym of one request.
    ///
    /// With a non-empty `cookie`: PRF(`veil/v1/cookie`, site, cookie); otherwise
    /// PRF(`veil/v1/ipua`, site, address, user agent), where `ip` is the client address as
    /// written.
    ///
    /// - Throws: `VeilError(.key)` when the epoch's key is shredded, or missing and
    ///   `createKeys` is false.
    /// - Complexity: O(input length); a cache hit does not allocate.
    public func visitor(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?,
        ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer
    ) throws(VeilError) -> Pseudonym {
        startVisitor(epoch: epoch, site: site, cookie: cookie, ip: ip, userAgent: userAgent)
        return try finishVisitor()
    }

    /// The first half of `visitor(epoch:site:cookie:ip:userAgent:)`, for a caller with other
    /// work to do before it needs the pseudonym (see `startVisitor(…userAgentNumber:)`).
    public func startVisitor(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?,
        ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer
    ) {
        writeVisitorKey(epoch: epoch, site: site, cookie: cookie) {
            appendWrittenAddress(ip)
            appendField(userAgent)
        }
        startLookup(epoch)
    }

    /// `visitor(epoch:site:cookie:ip:userAgent:)` for a caller that numbers the user agents it
    /// has seen: `userAgentNumber` stands for `userAgent` in the cache key (one number per
    /// distinct user agent, never reused for another in this process), so an IP+UA key is
    /// about 30 bytes instead of the user agent's hundred or more. The pseudonym is the same.
    public func visitor(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?,
        ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer, userAgentNumber: UInt64
    ) throws(VeilError) -> Pseudonym {
        startVisitor(
            epoch: epoch, site: site, cookie: cookie, ip: ip, userAgent: userAgent, userAgentNumber: userAgentNumber)
        return try finishVisitor()
    }

    /// The first half of `visitor(…userAgentNumber:)`, for a caller with other work to do
    /// before it needs the pseudonym: writes the cache key and starts loading the cache slot a
    /// lookup reads first (one epoch's visitors take more memory than the CPU's caches hold, so
    /// that load mostly waits on memory; meanwhile the caller works on). `finishVisitor()`
    /// gives the pseudonym. No other call on this pseudonymiser may come between the two, and
    /// `userAgent` must stay valid until then (a cache miss reads it).
    public func startVisitor(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?,
        ip: UnsafeRawBufferPointer, userAgent: UnsafeRawBufferPointer, userAgentNumber: UInt64
    ) {
        writeVisitorKey(epoch: epoch, site: site, cookie: cookie) {
            appendWrittenAddress(ip)
            // A length no user agent has (and the key's length) tell the number apart.
            appendLength(Int(UInt32.max))
            withUnsafeBytes(of: userAgentNumber) { message.append($0) }
            numberedUserAgent = userAgent
        }
        startLookup(epoch)
    }

    /// Hashes the message and starts loading the cache slot its lookup reads first.
    @inline(__always)
    private func startLookup(_ epoch: EpochID) {
        lookupStarted = true
        pendingEpoch = epoch
        pendingHash = cache.hash(message.bytes)
        cache.prefetch(hash: pendingHash)
    }

    /// The pseudonym the last `startVisitor` began.
    /// - Throws: as `visitor(epoch:site:cookie:ip:userAgent:)`.
    public func finishVisitor() throws(VeilError) -> Pseudonym {
        assert(lookupStarted, "Pseudonymizer.finishVisitor without startVisitor")
        lookupStarted = false
        return try finish(pendingEpoch, hash: pendingHash)
    }

    /// The visitor pseudonym of a request whose client address is already parsed (for
    /// example taken from `X-Forwarded-For`).
    public func visitor(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?,
        address: IPAddress, userAgent: UnsafeRawBufferPointer
    ) throws(VeilError) -> Pseudonym {
        writeVisitorKey(epoch: epoch, site: site, cookie: cookie) {
            appendAddressField(address)
            appendField(userAgent)
        }
        return try finish(epoch)
    }

    /// Writes a visitor's cache key, of one of the two visitor messages; `appendIPUA` writes
    /// the address and user-agent fields of an IP+UA message.
    @inline(__always)
    private func writeVisitorKey(
        epoch: EpochID, site: UnsafeRawBufferPointer, cookie: UnsafeRawBufferPointer?, appendIPUA: () -> Void
    ) {
        if let cookie, !cookie.isEmpty {
            begin(epoch, .cookie, site: site)
            appendField(cookie)
        } else {
            begin(epoch, .ipua, site: site)
            appendIPUA()
        }
    }

    /// The recipient pseudonym of an e-mail event: PRF(`veil/v1/recipient`, site, recipient).
    ///
    /// `token` is trimmed of ASCII spaces and tabs; when it contains `@` it is an e-mail
    /// address and is lower-cased (ASCII) too, so `Jane@Example.com ` and `jane@example.com`
    /// are one recipient. Other tokens are case-sensitive.
    public func recipient(
        epoch: EpochID, site: UnsafeRawBufferPointer, token: UnsafeRawBufferPointer
    ) throws(VeilError) -> Pseudonym {
        begin(epoch, .recipient, site: site)
        var start = 0
        var end = token.count
        while start < end && (token[start] == 0x20 || token[start] == 0x09) { start += 1 }
        while end > start && (token[end - 1] == 0x20 || token[end - 1] == 0x09) { end -= 1 }
        let trimmed = UnsafeRawBufferPointer(rebasing: token[start..<end])
        appendLength(trimmed.count)
        if trimmed.contains(UInt8(ascii: "@")) {
            for b in trimmed {
                message.append(b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b)
            }
        } else {
            message.append(trimmed)
        }
        return try uncached(epoch)
    }

    /// String conveniences (allocate; for tests and slow paths).
    public func visitor(
        epoch: EpochID, site: String, cookie: String?, ip: String, userAgent: String
    ) throws(VeilError) -> Pseudonym {
        try withBytes(site) { (s) throws(VeilError) in
            try withBytes(ip) { (i) throws(VeilError) in
                try withBytes(userAgent) { (u) throws(VeilError) in
                    guard let cookie else {
                        return try visitor(epoch: epoch, site: s, cookie: nil, ip: i, userAgent: u)
                    }
                    return try withBytes(cookie) { (c) throws(VeilError) in
                        try visitor(epoch: epoch, site: s, cookie: c, ip: i, userAgent: u)
                    }
                }
            }
        }
    }

    /// String convenience for `recipient(epoch:site:token:)`.
    public func recipient(epoch: EpochID, site: String, token: String) throws(VeilError) -> Pseudonym {
        try withBytes(site) { (s) throws(VeilError) in
            try withBytes(token) { (t) throws(VeilError) in try recipient(epoch: epoch, site: s, token: t) }
        }
    }

    private func withBytes<R>(
        _ text: String, _ body: (UnsafeRawBufferPointer) throws(VeilError) -> R
    ) throws(VeilError) -> R {
        let result: Result<R, VeilError> = Array(text.utf8).withUnsafeBytes { bytes in
            Result { () throws(VeilError) -> R in try body(bytes) }
        }
        return try result.get()
    }

    /// The PRF on explicit fields, without the cache: HMAC-SHA256(key, message(domain, fields))
    /// truncated to 128 bits. The reference the cached paths must agree with.
    public static func prf(key: EpochKey, domain: String, fields: [[UInt8]]) -> Pseudonym {
        let mac = hmacSHA256(key: key, message: encodeMessage(domain: domain, fields: fields))
        return mac.withUnsafeBytes { Pseudonym(truncating: $0) }
    }

    /// The full 32-byte HMAC-SHA256 of `message` under `key` (slow path and tests).
    static func hmacSHA256(key: EpochKey, message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: key.symmetricKey))
    }

    /// The PRF message: the domain label and each field as a 4-byte big-endian length followed
    /// by its bytes.
    public static func encodeMessage(domain: String, fields: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for field in [Array(domain.utf8)] + fields {
            let n = UInt32(field.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            out += field
        }
        return out
    }

    // MARK: - Internals

    /// The last context of `domain`.
    @inline(__always)
    private func context(_ domain: Domain) -> Context {
        switch domain {
        case .cookie: cookieContext
        case .ipua: ipuaContext
        case .recipient: recipientContext
        }
    }

    /// Starts a cache key: the number of the context (epoch, domain, site).
    @inline(__always)
    private func begin(_ epoch: EpochID, _ domain: Domain, site: UnsafeRawBufferPointer) {
        assert(!lookupStarted, "Pseudonymizer: a key written between startVisitor and finishVisitor")
        self.domain = domain
        let c = context(domain)
        if !c.matches(epoch, site: site) { enter(c, epoch, domain, site: site) }
        message.removeAll()
        writtenAddressAt = -1
        numberedUserAgent = nil
        withUnsafeBytes(of: c.number) { message.append($0) }
    }

    /// Makes (epoch, domain, site) the last context of `domain`, numbering it if it is new.
    @inline(never)
    private func enter(_ c: Context, _ epoch: EpochID, _ domain: Domain, site: UnsafeRawBufferPointer) {
        if nextContext == .max {
            // Every number was handed out: start again from an empty cache.
            clearCache(keeping: nil)
            nextContext = 0
        }
        c.set(epoch, domain, site: site)
        let key = c.key.bytes
        let (i, inserted) = contexts.findOrInsert(key, hash: contexts.hash(key)) { nextContext }
        if inserted { nextContext += 1 }
        c.number = contexts.value(at: i)
    }

    /// Empties the cache, and the context table with it. The domains' last contexts look up
    /// their numbers again when next used, except `kept` (the current one, whose key is
    /// inserted after this), which keeps its number.
    private func clearCache(keeping kept: Context?) {
        cache.removeAll()
        contexts.removeAll()
        if cookieContext !== kept { cookieContext.epoch = nil }
        if ipuaContext !== kept { ipuaContext.epoch = nil }
        if recipientContext !== kept { recipientContext.epoch = nil }
        if let kept {
            let key = kept.key.bytes
            contexts.insert(key, hash: contexts.hash(key), value: kept.number)
        }
    }

    fileprivate static func granularityTag(_ g: EpochGranularity) -> UInt8 {
        switch g {
        case .hour: 1
        case .day: 2
        case .week: 3
        case .month: 4
        }
    }

    @inline(__always)
    private func appendLength(_ n: Int) {
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian) { message.append($0) }
    }

    @inline(__always)
    private func appendField(_ bytes: UnsafeRawBufferPointer) {
        appendLength(bytes.count)
        message.append(bytes)
    }

    /// The address field of a cache key: the address as written (marked 2). The PRF message
    /// holds it parsed (see `prfMessage`), which only a cache miss needs.
    @inline(__always)
    private func appendWrittenAddress(_ ip: UnsafeRawBufferPointer) {
        writtenAddressAt = message.count
        appendLength(ip.count + 1)
        message.append(2)
        message.append(ip)
        writtenAddressEnd = message.count
    }

    private func appendAddressField(_ address: IPAddress) {
        Self.appendAddressField(address, to: message)
    }

    /// The address field of a PRF message: `0x01` and the 16-byte address (IPv4 as
    /// IPv4-mapped).
    private static func appendAddressField(_ address: IPAddress, to buffer: ByteScratch) {
        withUnsafeBytes(of: UInt32(17).bigEndian) { buffer.append($0) }
        buffer.append(1)
        address.withUnsafeBytes { buffer.append($0) }
    }

    /// The PRF message of the current cache key: the context's domain label and site, then
    /// the key's fields; when its address field holds the address as written, that field is
    /// replaced by the parsed address (or by `0x00` and the bytes as written when they do
    /// not parse), so every spelling of one address gives one pseudonym.
    private func prfMessage() -> UnsafeRawBufferPointer {
        let bytes = message.bytes
        prfScratch.removeAll()
        prfScratch.append(context(domain).prefix.bytes)
        guard writtenAddressAt >= 0 else {
            prfScratch.append(UnsafeRawBufferPointer(rebasing: bytes[4...]))
            return prfScratch.bytes
        }
        let written = UnsafeRawBufferPointer(rebasing: bytes[(writtenAddressAt + 5)..<writtenAddressEnd])
        prfScratch.append(UnsafeRawBufferPointer(rebasing: bytes[4..<writtenAddressAt]))
        if let address = IPAddress(written) {
            Self.appendAddressField(address, to: prfScratch)
        } else {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: written.count + 1).bigEndian) { prfScratch.append($0) }
            prfScratch.append(0)
            prfScratch.append(written)
        }
        if let agent = numberedUserAgent {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: agent.count).bigEndian) { prfScratch.append($0) }
            prfScratch.append(agent)
        } else {
            prfScratch.append(UnsafeRawBufferPointer(rebasing: bytes[writtenAddressEnd...]))
        }
        return prfScratch.bytes
    }

    /// Looks the message up in the cache, computing and caching the PRF on a miss.
    private func finish(_ epoch: EpochID) throws(VeilError) -> Pseudonym {
        try finish(epoch, hash: cache.hash(message.bytes))
    }

    /// `finish(_:)` with the message's hash.
    @inline(__always)
    private func finish(_ epoch: EpochID, hash: UInt64) throws(VeilError) -> Pseudonym {
        if let pseudonym = cache.find(message.bytes, hash: hash) { return pseudonym }
        return try miss(epoch, hash: hash)
    }

    @inline(never)
    private func miss(_ epoch: EpochID, hash: UInt64) throws(VeilError) -> Pseudonym {
        let mac = try mac(for: epoch)
        if newestEpoch.map({ epoch > $0 }) ?? true {
            // Keys rotate: no record of a newer epoch hits an entry of an older one, and logs
            // are written in time order, so the older entries are dropped when the input
            // reaches a new epoch (a late record of an old epoch computes its pseudonym again).
            // This keeps the cache the size of one epoch's visitors, however long the input.
            if newestEpoch != nil { clearCache(keeping: context(domain)) }
            newestEpoch = epoch
        }
        let bytes = message.bytes
        let pseudonym = mac.pseudonym(prfMessage())
        hmacCount += 1
        if cache.count >= cacheLimit || cache.keyByteCount + message.count > cacheByteLimit {
            clearCache(keeping: context(domain))
        }
        cache.insert(bytes, hash: hash, value: pseudonym)
        return pseudonym
    }

    /// The PRF of the message written, without the cache: for recipients, whose tokens rarely
    /// come back (each message sent carries its own), so that they neither fill the cache nor
    /// push the visitors' entries apart.
    private func uncached(_ epoch: EpochID) throws(VeilError) -> Pseudonym {
        let mac = try mac(for: epoch)
        hmacCount += 1
        return mac.pseudonym(prfMessage())
    }

    /// The HMAC keyed for `epoch` (inner and outer pads absorbed).
    private func mac(for epoch: EpochID) throws(VeilError) -> KeyedHMAC {
        if epoch == lastEpoch, let lastMAC { return lastMAC }
        let mac: KeyedHMAC
        if let known = macs[epoch] {
            mac = known
        } else {
            let key = try keyStore.key(for: epoch, create: createKeys)
            mac = KeyedHMAC(key: key.material)
            macs[epoch] = mac
        }
        lastEpoch = epoch
        lastMAC = mac
        return mac
    }
}

/// A context of cache keys: an epoch, a domain and a site, and the number that stands for
/// them at the start of a key.
private final class Context {
    /// The epoch, or nil before the first use and after the number was dropped.
    var epoch: EpochID?
    var number: UInt32 = 0
    /// The key in the pseudonymiser's context table: epoch tag, domain, site.
    let key = ByteScratch(capacity: 64)
    /// The context's part of the PRF message: the domain label and the site field.
    let prefix = ByteScratch(capacity: 64)

    /// The epoch tag and the domain before the site in `key`.
    private static let tagLength = 10

    @inline(__always)
    func matches(_ epoch: EpochID, site: UnsafeRawBufferPointer) -> Bool {
        epoch == self.epoch && key.count == Self.tagLength + site.count
            && (site.isEmpty || ByteWords.equal(key.base + Self.tagLength, site.baseAddress!, count: site.count))
    }

    func set(_ epoch: EpochID, _ domain: Pseudonymizer.Domain, site: UnsafeRawBufferPointer) {
        self.epoch = epoch
        key.removeAll()
        key.append(Pseudonymizer.granularityTag(epoch.granularity))
        withUnsafeBytes(of: epoch.index.bigEndian) { key.append($0) }
        key.append(domain.rawValue)
        key.append(site)
        prefix.removeAll()
        let label = domain.labelBytes
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: label.utf8CodeUnitCount).bigEndian) { prefix.append($0) }
        prefix.append(UnsafeRawBufferPointer(start: label.utf8Start, count: label.utf8CodeUnitCount))
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: site.count).bigEndian) { prefix.append($0) }
        prefix.append(site)
    }
}
