/// The byte ranges captured by one `URLPattern` match, in a fixed-size value (no allocation).
///
/// Capture `i` is the `i`-th `{name}` of the pattern, counting path captures left to right and
/// then query captures left to right (`URLPattern.captureNames` lists them in that order).
public struct URLPatternCaptures: Sendable, Equatable {
    /// The most captures one pattern may have.
    public static let capacity = 4

    /// How many captures the pattern has; every one of them is set after a match.
    public private(set) var count: Int
    private var r0: ByteRange = .empty
    private var r1: ByteRange = .empty
    private var r2: ByteRange = .empty
    private var r3: ByteRange = .empty

    /// Captures for a pattern with `count` captures, all empty.
    public init(count: Int = 0) {
        precondition(count >= 0 && count <= Self.capacity, "at most 4 captures")
        self.count = count
    }

    /// The range of capture `index` (0 ..< `count`).
    public subscript(index: Int) -> ByteRange {
        get {
            precondition(index >= 0 && index < count, "capture index out of range")
            switch index {
            case 0: return r0
            case 1: return r1
            case 2: return r2
            default: return r3
            }
        }
        set {
            precondition(index >= 0 && index < count, "capture index out of range")
            switch index {
            case 0: r0 = newValue
            case 1: r1 = newValue
            case 2: r2 = newValue
            default: r3 = newValue
            }
        }
    }
}

/// `{`, `}` or `*`: bytes with a meaning in pattern syntax.
private func isPatternMeta(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "*")
}

/// A request-target pattern such as `/c/{campaign}/{link}?r={recipient}`, matched against
/// bytes without allocating.
///
/// Syntax (a pattern must start with `/`):
/// - The path is split at `/` into segments; the target's path must have the same segments
///   (so `/a/` matches `/a/` but not `/a`, and `/c/*` does not match `/c`).
/// - A segment is literal text, optionally with one `{name}` inside it: `{id}`, `{id}.gif`,
///   `open-{id}`. The capture takes the target segment's bytes between the literal prefix and
///   suffix and must not be empty; it never spans a `/`.
/// - `*` may only end the pattern's path (`/pixel*`, `/t/open.gif*`, `/c/*`), in a segment
///   without a capture: after the segment's literal prefix it matches the rest of the path,
///   `/` included, possibly empty. It captures nothing.
/// - After `?`, `&`-separated query conditions, each required, in any order in the target's
///   query and independent of other parameters there: `name={capture}` (the parameter's value,
///   non-empty), `name=literal` (exact value), or `name` (present, any value). The first
///   parameter with that name counts.
/// - Without a `?` part the target's query is ignored. The fragment (`#…`) is always ignored.
/// - Matching is byte-exact and case-sensitive; nothing is percent-decoded. Names are
///   `[A-Za-z0-9_-]+`, unique within a pattern, at most `URLPatternCaptures.capacity` of them.
/// - Absolute-form targets (`https://example.com/c/…`) are matched on their path.
public struct URLPattern: Sendable, Hashable, CustomStringConvertible {
    /// One path segment: `prefix` `{capture}` `suffix`, or `prefix*`.
    struct Segment: Sendable, Hashable {
        var prefix: [UInt8] = []
        /// Capture index, or -1.
        var capture: Int = -1
        var suffix: [UInt8] = []
        /// The segment ends in `*`: it matches the rest of the path after `prefix`.
        var rest: Bool = false
    }

    /// One required query parameter.
    struct QueryCondition: Sendable, Hashable {
        var name: [UInt8]
        /// Capture index, or -1.
        var capture: Int = -1
        /// Exact value required, or `nil` for any value.
        var value: [UInt8]? = nil
    }

    /// The pattern as written.
    public let source: String
    /// Capture names, in capture-index order.
    public let captureNames: [String]
    let segments: [Segment]

    /// The byte every matching path has right after its first `/`, when the pattern fixes it
    /// (its first segment starts with literal text): a quick test for a whole set of patterns.
    var firstPathByte: UInt8? { segments.first?.prefix.first }
    let query: [QueryCondition]

    public var description: String { source }

    /// Compiles a pattern.
    ///
    /// - Throws: `VeilError` with code `.usage` naming what is wrong with the pattern.
    public init(_ pattern: String) throws {
        source = pattern
        func fail(_ why: String) -> VeilError {
            VeilError(.usage, "URL pattern \"\(pattern)\": \(why)")
        }
        let bytes = Array(pattern.utf8)
        guard bytes.first == UInt8(ascii: "/") else { throw fail("must start with '/'") }
        if bytes.contains(UInt8(ascii: "#")) { throw fail("'#' is not allowed") }
        let questionMark = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
        let pathBytes = bytes[1..<questionMark]
        let queryBytes = questionMark < bytes.count ? bytes[(questionMark + 1)...] : []

        var names: [String] = []
        func addCapture(_ nameBytes: ArraySlice<UInt8>) throws -> Int {
            guard !nameBytes.isEmpty,
                nameBytes.allSatisfy({
                    ClassifyBytes.isLetter($0) || ClassifyBytes.isDigit($0) || $0 == UInt8(ascii: "_")
                        || $0 == UInt8(ascii: "-")
                })
            else { throw fail("capture names are [A-Za-z0-9_-]+") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if names.contains(name) { throw fail("capture {\(name)} appears twice") }
            if names.count == URLPatternCaptures.capacity {
                throw fail("more than \(URLPatternCaptures.capacity) captures")
            }
            names.append(name)
            return names.count - 1
        }

        // Path segments.
        let rawSegments = pathBytes.split(
            separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var segments: [Segment] = []
        for (index, raw) in rawSegments.enumerated() {
            var segment = Segment()
            var i = raw.startIndex
            var sawCapture = false
            while i < raw.endIndex {
                let b = raw[i]
                if b == UInt8(ascii: "{") {
                    if sawCapture { throw fail("at most one capture per segment") }
                    guard let close = raw[i...].firstIndex(of: UInt8(ascii: "}")) else {
                        throw fail("'{' without '}'")
                    }
                    segment.capture = try addCapture(raw[(i + 1)..<close])
                    sawCapture = true
                    i = close + 1
                } else if b == UInt8(ascii: "}") {
                    throw fail("'}' without '{'")
                } else if b == UInt8(ascii: "*") {
                    guard index == rawSegments.count - 1, i == raw.endIndex - 1 else {
                        throw fail("'*' may only end the path")
                    }
                    if sawCapture { throw fail("'*' and a capture in one segment") }
                    segment.rest = true
                    i += 1
                } else {
                    if sawCapture { segment.suffix.append(b) } else { segment.prefix.append(b) }
                    i += 1
                }
            }
            segments.append(segment)
        }

        // Query conditions.
        var query: [QueryCondition] = []
        if questionMark < bytes.count {
            for raw in queryBytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
                let equals = raw.firstIndex(of: UInt8(ascii: "="))
                let name = raw[raw.startIndex..<(equals ?? raw.endIndex)]
                guard !name.isEmpty else { throw fail("empty query parameter name") }
                if name.contains(where: isPatternMeta) {
                    throw fail("query parameter names are literal")
                }
                var condition = QueryCondition(name: Array(name))
                if let equals {
                    let value = raw[(equals + 1)...]
                    if value.first == UInt8(ascii: "{") {
                        guard value.last == UInt8(ascii: "}"), value.count >= 2 else {
                            throw fail("a query capture is the whole value: name={capture}")
                        }
                        condition.capture = try addCapture(value.dropFirst().dropLast())
                    } else {
                        if value.contains(where: isPatternMeta) {
                            throw fail("a query capture is the whole value: name={capture}")
                        }
                        condition.value = Array(value)
                    }
                }
                query.append(condition)
            }
        }

        self.segments = segments
        self.query = query
        self.captureNames = names
    }

    /// The capture index of `name`, or `nil` when the pattern has no such capture.
    public func captureIndex(named name: String) -> Int? {
        captureNames.firstIndex(of: name)
    }

    /// Matches a request target.
    ///
    /// - Parameters:
    ///   - target: the request target as logged (origin-form or absolute-form).
    ///   - baseOffset: added to every captured range, so that passing the target's start in
    ///     the line gives ranges into the line.
    /// - Returns: the captures, or `nil` when the target does not match.
    /// - Complexity: O(`target.count` × query conditions), no allocation.
    public func match(_ target: UnsafeBufferPointer<UInt8>, baseOffset: Int32 = 0)
        -> URLPatternCaptures?
    {
        let parts = RequestTarget(target)
        return match(target, parts: parts, baseOffset: Int(baseOffset))
    }

    /// Matches with the target already split.
    func match(_ target: UnsafeBufferPointer<UInt8>, parts: RequestTarget, baseOffset: Int)
        -> URLPatternCaptures?
    {
        var captures = URLPatternCaptures(count: captureNames.count)
        let pathEnd = parts.pathEnd
        var pos = parts.pathStart
        guard pos < pathEnd, target[pos] == UInt8(ascii: "/") else { return nil }
        pos += 1
        let lastSegment = segments.count - 1
        for index in 0..<segments.count {
            let segment = segments[index]
            // Every kind of segment starts with its literal prefix: most targets differ from
            // a pattern in their first bytes, before the scan for the segment's end. A prefix
            // holds no '/', so once it matches it lies inside the segment.
            guard hasBytes(segment.prefix, in: target, at: pos, limit: pathEnd) else { return nil }
            if segment.rest {
                // Only ever the last segment.
                pos = pathEnd
                break
            }
            var end = pos + segment.prefix.count
            while end < pathEnd, target[end] != UInt8(ascii: "/") { end += 1 }
            if segment.capture < 0 {
                guard end - pos == segment.prefix.count else { return nil }
            } else {
                let p = segment.prefix.count
                let s = segment.suffix.count
                guard end - pos > p + s, hasBytes(segment.suffix, in: target, at: end - s, limit: end)
                else { return nil }
                captures[segment.capture] = ByteRange(baseOffset + pos + p, baseOffset + end - s)
            }
            if index == lastSegment {
                guard end == pathEnd else { return nil }
                pos = end
            } else {
                guard end < pathEnd else { return nil }
                pos = end + 1
            }
        }
        for condition in query {
            guard let (valueStart, valueEnd) = findParameter(condition.name, in: target, parts)
            else { return nil }
            if condition.capture >= 0 {
                guard valueEnd > valueStart else { return nil }
                captures[condition.capture] = ByteRange(baseOffset + valueStart, baseOffset + valueEnd)
            } else if let value = condition.value {
                guard valueEnd - valueStart == value.count,
                    hasBytes(value, in: target, at: valueStart, limit: valueEnd)
                else { return nil }
            }
        }
        return captures
    }

    /// Whether `bytes` occur exactly at `at` in `target`, ending at or before `limit`.
    @inline(__always)
    private func hasBytes(
        _ bytes: [UInt8], in target: UnsafeBufferPointer<UInt8>, at: Int, limit: Int
    ) -> Bool {
        guard limit - at >= bytes.count else { return false }
        for k in 0..<bytes.count where target[at + k] != bytes[k] { return false }
        return true
    }

    /// The value range of the first query parameter called `name` (empty when it has no `=`).
    private func findParameter(
        _ name: [UInt8], in target: UnsafeBufferPointer<UInt8>, _ parts: RequestTarget
    ) -> (Int, Int)? {
        var start = parts.queryStart
        let end = parts.queryEnd
        while start < end {
            var stop = start
            while stop < end, target[stop] != UInt8(ascii: "&") { stop += 1 }
            var equals = start
            while equals < stop, target[equals] != UInt8(ascii: "=") { equals += 1 }
            if equals - start == name.count && hasBytes(name, in: target, at: start, limit: equals) {
                return equals < stop ? (equals + 1, stop) : (stop, stop)
            }
            start = stop + 1
        }
        return nil
    }
}
