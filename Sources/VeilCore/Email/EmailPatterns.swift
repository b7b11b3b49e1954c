#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The e-mail open and click patterns of an `EmailConfiguration`, compiled, with the cheap
/// test that keeps ordinary requests away from the pattern matcher.
///
/// `mayMatch` compares the target's path with each pattern's literal start (the bytes before
/// its first `{`, `*` or `?`: `/t/open.gif`, `/c/`), so a request for `/blog/post` costs a few
/// byte compares and no allocation; only targets that pass are matched in full.
struct EmailPatterns: Sendable {
    /// One compiled pattern and the capture indices it needs.
    struct Entry: Sendable {
        let pattern: URLPattern
        let kind: EventKind
        let campaign: Int
        let recipient: Int
        /// -1 when the pattern names no link.
        let link: Int
    }

    /// What a matching target holds: ranges into the line (the offset given to `match`).
    struct Match {
        var kind: EventKind
        var campaign: ByteRange
        var recipient: ByteRange
        var link: ByteRange
    }

    let entries: [Entry]
    /// Every pattern's literal start, back to back; pattern `i`'s is
    /// `prefixBytes[prefixStart[i] ..< prefixStart[i + 1]]`.
    private let prefixBytes: [UInt8]
    private let prefixStart: [Int]
    /// The second bytes of the literal starts, when every literal start has one; else nil. A
    /// path whose second byte is not in it matches no pattern: most requests are turned away
    /// by this one test.
    private let secondBytes: ByteSet?

    /// Compiles the patterns.
    /// - Throws: `VeilError(.usage)` for a pattern that does not compile or lacks a capture it
    ///   needs.
    init(configuration: EmailConfiguration) throws(VeilError) {
        var entries: [Entry] = []
        var bytes: [UInt8] = []
        var starts = [0]
        for (sources, kind) in [(configuration.openPatterns, EventKind.open), (configuration.clickPatterns, .click)] {
            for source in sources {
                let pattern: URLPattern
                do {
                    pattern = try URLPattern(source)
                } catch let e as VeilError {
                    throw e
                } catch {
                    throw VeilError(.usage, "URL pattern \"\(source)\": \(error)")
                }
                let what = kind == .open ? "open" : "click"
                guard let campaign = pattern.captureIndex(named: "campaign"),
                    let recipient = pattern.captureIndex(named: "recipient")
                else {
                    throw VeilError(
                        .usage, "e-mail \(what) pattern \"\(source)\" needs the captures {campaign} and {recipient}")
                }
                let link = pattern.captureIndex(named: "link") ?? -1
                if kind == .open && link >= 0 {
                    throw VeilError(.usage, "e-mail open pattern \"\(source)\": only click patterns have a {link}")
                }
                entries.append(
                    Entry(pattern: pattern, kind: kind, campaign: campaign, recipient: recipient, link: link))
                for b in source.utf8 {
                    if b == UInt8(ascii: "{") || b == UInt8(ascii: "*") || b == UInt8(ascii: "?") { break }
                    bytes.append(b)
                }
                starts.append(bytes.count)
            }
        }
        self.entries = entries
        prefixBytes = bytes
        prefixStart = starts
        var set: ByteSet? = ByteSet()
        for i in 0..<(starts.count - 1) {
            guard starts[i + 1] - starts[i] >= 2 else {
                set = nil
                break
            }
            set?.insert(bytes[starts[i] + 1])
        }
        secondBytes = set
    }

    /// Whether `target` can match some pattern: its path starts with a pattern's literal start.
    ///
    /// - Complexity: O(total literal length) at worst, usually a byte compare or two; no
    ///   allocation.
    @inline(__always)
    func mayMatch(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = target.count
        guard n > 0, !entries.isEmpty else { return false }
        var start = 0
        if target[0] != UInt8(ascii: "/") {
            start = RequestTarget(target).pathStart  // absolute form (rare)
        }
        if let set = secondBytes, n - start >= 2, !set.contains(target[start &+ 1]) { return false }
        return prefixBytes.withUnsafeBufferPointer { p in
            prefixStart.withUnsafeBufferPointer { s in
                for i in 0..<(s.count - 1) {
                    let from = s[i]
                    let length = s[i + 1] - from
                    guard n - start >= length else { continue }
                    var k = 0
                    while k < length, target[start &+ k] == p[from &+ k] { k += 1 }
                    if k == length { return true }
                }
                return false
            }
        }
    }

    /// The first pattern that matches `target`, with its captures as ranges offset by
    /// `offset` (pass the target's start in the line to get ranges into the line).
    func match(_ target: UnsafeBufferPointer<UInt8>, offset: Int32) -> Match? {
        for e in entries {
            guard let c = e.pattern.match(target, baseOffset: offset) else { continue }
            return Match(
                kind: e.kind, campaign: c[e.campaign], recipient: c[e.recipient],
                link: e.link >= 0 ? c[e.link] : .empty)
        }
        return nil
    }

    /// Whether `bytes` holds a `%` (something `percentDecode` may change).
    @inline(__always)
    static func hasEscape(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return false }
        return memchr(base, Int32(UInt8(ascii: "%")), bytes.count) != nil
    }

    /// Percent-decodes `bytes` into `output` (replacing its contents): `%XX` with two hex digits
    /// becomes one byte; anything else, `+` included, is kept (`URLRedactor.appendDecoded`).
    static func percentDecode(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        URLRedactor.appendDecoded(UnsafeRawBufferPointer(bytes), to: &output)
    }
}
