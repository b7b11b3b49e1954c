/// Decides whether a request is a pageview, an asset, a bot request, an error, a tracking
/// beacon, a click redirect or something else.
///
/// The rules and the order in which overlaps resolve are given on `RequestClass`. In short:
/// bot, then error (400...599), then beacon, then click, then non-GET/HEAD → other, then asset
/// by extension, then mail proxy → other, then pageview (2xx, 304) or other.
///
/// The extension is the part of the path's last segment after its last `.` (the path ends at
/// the first `?` or `#`; for absolute-form targets the scheme and host are skipped), compared
/// case-insensitively: `/app.JS?v=3` is an asset, `/v1.2/docs` is not.
///
/// Classification does not allocate; the configuration is compiled once.
public struct RequestClassifier: Sendable {
    /// The configuration this classifier was built from.
    public let configuration: RequestClassificationConfiguration
    /// Compiled beacon patterns, in configuration order.
    public let beaconPatterns: [URLPattern]
    /// Compiled click patterns, in configuration order.
    public let clickPatterns: [URLPattern]
    /// Extensions of up to 7 bytes, lower-case, packed (see `packedExtension`), in an
    /// open-addressing set: a power-of-two slot array at most 1/4 full, 0 for empty (no
    /// packed key is 0: its top byte is the length), probed linearly from `extensionSlot`.
    private let shortExtensions: [UInt64]
    private let extensionShift: UInt64
    /// The bytes `b` such that some beacon or click pattern may match a path whose byte after
    /// the first `/` is `b` (all of them when a pattern does not fix that byte).
    private let patternFirstBytes: ByteSet
    /// Longer extensions, lower-case.
    private let longExtensions: [[UInt8]]

    /// The longest extension accepted in a configuration.
    public static let maxExtensionLength = 16

    /// A classifier with the default configuration (which always compiles).
    public init() {
        do {
            try self.init(configuration: RequestClassificationConfiguration())
        } catch {
            preconditionFailure("the default request classification configuration compiles")
        }
    }

    /// Compiles a configuration.
    ///
    /// - Throws: `VeilError` (`.usage`) for a bad pattern, or an extension that is empty,
    ///   longer than 16 bytes, or not made of ASCII letters and digits (one leading `.` is
    ///   accepted and dropped).
    public init(configuration: RequestClassificationConfiguration) throws {
        self.configuration = configuration
        beaconPatterns = try configuration.beaconPatterns.map(URLPattern.init)
        clickPatterns = try configuration.clickPatterns.map(URLPattern.init)
        var firstBytes = ByteSet()
        for pattern in beaconPatterns + clickPatterns {
            guard let b = pattern.firstPathByte else {
                firstBytes = .all
                break
            }
            firstBytes.insert(b)
        }
        patternFirstBytes = firstBytes
        var short: [UInt64] = []
        var long: [[UInt8]] = []
        for ext in configuration.assetExtensions {
            var bytes = Array(ext.utf8)
            if bytes.first == UInt8(ascii: ".") { bytes.removeFirst() }
            guard !bytes.isEmpty, bytes.count <= Self.maxExtensionLength,
                bytes.allSatisfy({ ClassifyBytes.isLetter($0) || ClassifyBytes.isDigit($0) })
            else {
                throw VeilError(
                    .usage,
                    "asset extension \"\(ext)\": use 1 to \(Self.maxExtensionLength) ASCII letters or digits"
                )
            }
            bytes = bytes.map(ClassifyBytes.lowercased)
            if bytes.count <= 7 {
                bytes.withUnsafeBufferPointer { short.append(Self.packedExtension($0)) }
            } else {
                long.append(bytes)
            }
        }
        let unique = Array(Set(short)).sorted()
        var slotBits: UInt64 = 4
        while 1 << slotBits < unique.count * 4 { slotBits += 1 }
        var slots = [UInt64](repeating: 0, count: 1 << slotBits)
        extensionShift = 64 - slotBits
        for key in unique {
            var i = Self.extensionSlot(key, shift: extensionShift)
            while slots[i] != 0 { i = (i + 1) & (slots.count - 1) }
            slots[i] = key
        }
        shortExtensions = slots
        longExtensions = long
    }

    /// Classifies one request.
    ///
    /// - Parameters:
    ///   - method: the request method as logged (`GET`; compared case-sensitively).
    ///   - target: the request target as logged (path and query, or an absolute URL).
    ///   - status: the HTTP status; 0 when the log has none (treated as success).
    ///   - agent: the user agent's classification.
    /// - Returns: the one class this request counts as (see `RequestClass` for overlaps).
    /// - Complexity: O(`target.count` × patterns), no allocation.
    public func classify(
        method: UnsafeBufferPointer<UInt8>, target: UnsafeBufferPointer<UInt8>, status: UInt16,
        agent: UserAgentClass
    ) -> RequestClass {
        classifyCapturing(method: method, target: target, status: status, agent: agent)
            .requestClass
    }

    /// Classifies one request and, for beacons and clicks, returns which pattern matched and
    /// its captures (campaign, link, recipient…).
    ///
    /// - Parameters:
    ///   - targetOffset: added to captured ranges; pass the target's start in the line to get
    ///     ranges into the line.
    /// - Returns: the class, plus the matching pattern's index in `beaconPatterns` or
    ///   `clickPatterns` and its captures when the class is `.beacon` or `.click`.
    /// - Complexity: O(`target.count` × patterns), no allocation.
    public func classifyCapturing(
        method: UnsafeBufferPointer<UInt8>, target: UnsafeBufferPointer<UInt8>, status: UInt16,
        agent: UserAgentClass, targetOffset: Int32 = 0
    ) -> RequestClassification {
        if agent.kind == .bot { return RequestClassification(.bot) }
        if status >= 400 && status <= 599 { return RequestClassification(.error) }
        let parts = RequestTarget(target)
        if mayMatchPattern(target, parts) {
            if let matched = matchPatterns(target, parts, targetOffset) { return matched }
        }
        if !Self.isGetOrHead(method) || status >= 600 { return RequestClassification(.other) }
        if hasAssetExtension(target, parts: parts) { return RequestClassification(.asset) }
        if agent.kind == .mailProxy { return RequestClassification(.other) }
        if status == 0 || (status >= 200 && status <= 299) || status == 304 {
            return RequestClassification(.pageview)
        }
        return RequestClassification(.other)
    }

    /// Whether a beacon or click pattern may match: the byte after the path's first `/` is one
    /// the patterns allow (most paths fail here, before any pattern is tried).
    @inline(__always)
    private func mayMatchPattern(_ target: UnsafeBufferPointer<UInt8>, _ parts: RequestTarget) -> Bool {
        let i = parts.pathStart + 1
        guard i < parts.pathEnd else { return patternFirstBytes.isFull }
        return patternFirstBytes.contains(target[i])
    }

    /// The first beacon pattern, then click pattern, that matches.
    private func matchPatterns(
        _ target: UnsafeBufferPointer<UInt8>, _ parts: RequestTarget, _ targetOffset: Int32
    ) -> RequestClassification? {
        for index in 0..<beaconPatterns.count {
            if let captures = beaconPatterns[index].match(
                target, parts: parts, baseOffset: Int(targetOffset))
            {
                return RequestClassification(.beacon, patternIndex: index, captures: captures)
            }
        }
        for index in 0..<clickPatterns.count {
            if let captures = clickPatterns[index].match(
                target, parts: parts, baseOffset: Int(targetOffset))
            {
                return RequestClassification(.click, patternIndex: index, captures: captures)
            }
        }
        return nil
    }

    /// Whether the target's path ends in an asset extension.
    ///
    /// - Complexity: O(`target.count`), no allocation.
    public func hasAssetExtension(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        hasAssetExtension(target, parts: RequestTarget(target))
    }

    func hasAssetExtension(_ target: UnsafeBufferPointer<UInt8>, parts: RequestTarget) -> Bool {
        // The extension starts after the last `.` of the last segment.
        guard let base = target.baseAddress else { return false }
        let dot = ByteWords.lastOf(
            UInt8(ascii: "."), UInt8(ascii: "/"), in: base, from: parts.pathStart, to: parts.pathEnd)
        guard dot >= 0, target[dot] == UInt8(ascii: ".") else { return false }
        let start = dot + 1
        let length = parts.pathEnd - start
        guard length > 0, length <= Self.maxExtensionLength else { return false }
        let ext = UnsafeBufferPointer(rebasing: target[start..<parts.pathEnd])
        if length <= 7 {
            let key =
                parts.pathEnd >= 8
                ? Self.packedExtension(endingAt: target.baseAddress! + parts.pathEnd, length: length)
                : Self.packedExtension(ext)
            return shortExtensions.withUnsafeBufferPointer { slots in
                var i = Self.extensionSlot(key, shift: extensionShift)
                while true {
                    let slot = slots[i]
                    if slot == key { return true }
                    if slot == 0 { return false }
                    i = (i &+ 1) & (slots.count &- 1)
                }
            }
        }
        for candidate in longExtensions where candidate.count == length {
            var equal = true
            for k in 0..<length where ClassifyBytes.lowercased(ext[k]) != candidate[k] {
                equal = false
                break
            }
            if equal { return true }
        }
        return false
    }

    /// Up to 7 bytes, ASCII-lower-cased, packed big-endian into the low 56 bits, with the
    /// length in the top byte (so `js` and `\0js` differ).
    @inline(__always)
    static func packedExtension(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var key = UInt64(bytes.count) << 56
        for k in 0..<bytes.count {
            key |= UInt64(ClassifyBytes.lowercased(bytes[k])) << (8 * UInt64(bytes.count - 1 - k))
        }
        return key
    }

    /// `packedExtension` of the `length` (1...7) bytes before `end`, from one 8-byte load;
    /// the caller guarantees the 8 bytes before `end` are readable.
    @inline(__always)
    static func packedExtension(endingAt end: UnsafePointer<UInt8>, length: Int) -> UInt64 {
        // The byte before `end` lands in the low byte.
        let x = UInt64(bigEndian: UnsafeRawPointer(end - 8).loadUnaligned(as: UInt64.self))
        // ASCII upper case → lower case, byte-wise without carries: a byte's low 7 bits plus
        // 0x3F (or 0x25) stay below 0x100.
        let low7 = x & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastA = low7 &+ 0x3F3F_3F3F_3F3F_3F3F
        let pastZ = low7 &+ 0x2525_2525_2525_2525
        let upper = atLeastA & ~pastZ & ~x & 0x8080_8080_8080_8080
        let lowered = x | upper >> 2
        return lowered & ((1 &<< UInt64(8 &* length)) &- 1) | UInt64(length) << 56
    }

    @inline(__always)
    private static func extensionSlot(_ key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    @inline(__always)
    private static func isGetOrHead(_ method: UnsafeBufferPointer<UInt8>) -> Bool {
        switch method.count {
        case 3:
            return method[0] == UInt8(ascii: "G") && method[1] == UInt8(ascii: "E")
                && method[2] == UInt8(ascii: "T")
        case 4:
            return method[0] == UInt8(ascii: "H") && method[1] == UInt8(ascii: "E")
                && method[2] == UInt8(ascii: "A") && method[3] == UInt8(ascii: "D")
        default:
            return false
        }
    }
}

/// A request's class and, for beacons and clicks, the pattern that matched and its captures.
public struct RequestClassification: Sendable, Equatable {
    public var requestClass: RequestClass
    /// Index into `RequestClassifier.beaconPatterns` (for `.beacon`) or `.clickPatterns`
    /// (for `.click`); -1 otherwise.
    public var patternIndex: Int
    /// The matching pattern's captures; empty (count 0) unless `.beacon` or `.click`.
    public var captures: URLPatternCaptures

    public init(
        _ requestClass: RequestClass, patternIndex: Int = -1,
        captures: URLPatternCaptures = URLPatternCaptures()
    ) {
        self.requestClass = requestClass
        self.patternIndex = patternIndex
        self.captures = captures
    }
}
