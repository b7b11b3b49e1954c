/// How many e-mail events an input holds, by kind (what `veil inspect` reports).
public struct EmailEventCounts: Sendable, Codable, Equatable {
    /// Pixel opens (log lines matching an open pattern, export `open`/`opened` events).
    public var opens = 0
    /// Click redirects (log lines matching a click pattern, export `click`/`clicked` events).
    public var clicks = 0
    /// Export `delivered` events (logs have none).
    public var delivered = 0

    public init() {}

    public var total: Int { opens + clicks + delivered }
}

/// A record sink that counts e-mail events the way aggregation finds them: export records by
/// their event, log lines by the open and click patterns (status below 400 or absent, method
/// GET or HEAD or absent); and the requests whose serving time the log gives (what
/// `response_times.csv` counts). Keeps nothing else; no allocation per record.
public struct EmailEventCounter: RecordSink {
    public private(set) var counts = EmailEventCounts()
    /// Requests with a serving time (`LogRecord.duration`).
    public private(set) var timedRequests = 0
    private let patterns: EmailPatterns

    /// - Throws: `VeilError(.usage)` for a bad pattern.
    public init(configuration: EmailConfiguration = EmailConfiguration()) throws(VeilError) {
        patterns = try EmailPatterns(configuration: configuration)
    }

    public mutating func consume(_ r: inout LogRecord, line: UnsafeBufferPointer<UInt8>) {
        switch r.event {
        case .open: counts.opens += 1
        case .click: counts.clicks += 1
        case .delivered: counts.delivered += 1
        case .request:
            if r.hasDuration { timedRequests += 1 }
            let target = r.target.slice(line)
            guard r.status < 400, patterns.mayMatch(target) else { return }
            let m = r.method.slice(line)
            let getOrHead =
                m.isEmpty
                || (m.count == 3 && m[0] == UInt8(ascii: "G") && m[1] == UInt8(ascii: "E") && m[2] == UInt8(ascii: "T"))
                || (m.count == 4 && m[0] == UInt8(ascii: "H") && m[1] == UInt8(ascii: "E") && m[2] == UInt8(ascii: "A")
                    && m[3] == UInt8(ascii: "D"))
            guard getOrHead, let hit = patterns.match(target, offset: r.target.start) else { return }
            if hit.kind == .open { counts.opens += 1 } else { counts.clicks += 1 }
        }
    }
}
