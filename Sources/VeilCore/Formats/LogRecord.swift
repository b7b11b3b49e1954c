/// A half-open range of byte offsets `[start, end)` into the line being parsed.
///
/// Records hold ranges, not copies: the bytes stay in the line buffer and are valid only
/// until the next line is read.
public struct ByteRange: Sendable, Equatable, Hashable {
    public var start: Int32
    public var end: Int32

    @inlinable public init(start: Int32, end: Int32) {
        self.start = start
        self.end = end
    }

    @inlinable public init(_ start: Int, _ end: Int) {
        self.start = Int32(truncatingIfNeeded: start)
        self.end = Int32(truncatingIfNeeded: end)
    }

    public static let empty = ByteRange(start: 0, end: 0)

    @inlinable public var isEmpty: Bool { start >= end }
    @inlinable public var count: Int { Int(end - start) }

    /// The bytes of this range in `line`.
    @inlinable public func slice(_ line: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: line[Int(start)..<Int(end)])
    }
}

/// The kind of event a record describes. Access-log lines are `.request`; e-mail event
/// exports produce the others.
public enum EventKind: UInt8, Sendable {
    case request = 0
    case open = 1
    case click = 2
    case delivered = 3
}

/// One parsed log line: byte ranges into the line plus the numeric fields already decoded.
///
/// A field that the format does not have, or that the line gives as `-`, is an empty range.
/// Parsers fill a record in place (`reset()` then set fields), so no allocation happens per line.
public struct LogRecord: Sendable, Equatable {
    /// Virtual host / site name (`%v`, `$host`, `cs-host`, JSON `host`).
    public var site: ByteRange
    /// Client address as written, without brackets or port (`[2001:db8::1]:443` → `2001:db8::1`).
    public var clientAddress: ByteRange
    /// The X-Forwarded-For header as written (a comma-separated chain), when the format has it.
    public var forwardedFor: ByteRange
    /// Authenticated user (`%u`); identifying, never aggregated.
    public var user: ByteRange
    /// Seconds since 1970-01-01T00:00:00Z.
    public var timestamp: Int64
    /// Milliseconds within `timestamp`'s second (0 when the format has only seconds).
    public var milliseconds: Int16
    /// HTTP status code, 100...999. (Declared after `milliseconds`: the two fill one word.)
    public var status: UInt16
    /// Request method (`GET`).
    public var method: ByteRange
    /// Request target as sent: path plus query (`/a/b?c=d`), or an absolute URL.
    public var target: ByteRange
    /// Protocol (`HTTP/1.1`); empty for HTTP/0.9 request lines.
    public var protocolVersion: ByteRange
    /// The low 32 bits of how long the server took to serve the request (`duration`), in
    /// microseconds; `servingTimeHigh` holds the bits above. (Split so that a record stays 128
    /// bytes: the two fill padding.)
    @usableFromInline var servingTimeLow: UInt32
    /// Response bytes; 0 when the log says `-`.
    public var bytes: Int64
    /// Referer header as written.
    public var referrer: ByteRange
    /// User-Agent header as written.
    public var userAgent: ByteRange
    /// Cookie / visitor id value (e.g. `%{uid}C`, `$cookie_uid`).
    public var cookie: ByteRange
    /// E-mail events: what happened.
    public var event: EventKind
    /// False when the line's format has no User-Agent field at all (NCSA `common`, a format
    /// string or W3C `#Fields:` without one): the client's agent is unknown, which is not the
    /// empty or `-` User-Agent that bots send. (Declared here, it fits in padding: a record
    /// stays 128 bytes, two cache lines.)
    public var userAgentLogged: Bool
    /// Bits 32 to 46 of the serving time (`duration`, microseconds); -1 when the format does
    /// not log it (or the field is `-`), `partlyUnmeasured` when a load balancer's time has a
    /// part that was not measured.
    @usableFromInline var servingTimeHigh: Int16
    /// E-mail events: recipient e-mail or token as written.
    public var recipient: ByteRange
    /// E-mail events: campaign or message id.
    public var campaign: ByteRange
    /// E-mail events: what the export says about the client (SendGrid `sg_machine_open`,
    /// Mailgun `client-info.bot`); `.none` when it says nothing.
    public var automation: AutomationHint

    /// How long the server took to serve the request, in microseconds; -1 when the format
    /// does not log it (or the field is `-`). Kept exactly up to `longestDuration` (about 4.4
    /// years); a longer one is kept as that.
    @inlinable public var duration: Int64 {
        get { servingTimeHigh < 0 ? -1 : Int64(servingTimeHigh) << 32 | Int64(servingTimeLow) }
        set {
            if newValue < 0 {
                servingTimeHigh = -1
                servingTimeLow = 0
            } else {
                let v = min(newValue, Self.longestDuration)
                servingTimeHigh = Int16(truncatingIfNeeded: v >> 32)
                servingTimeLow = UInt32(truncatingIfNeeded: v)
            }
        }
    }

    /// Whether the request has a serving time (`duration` is not -1).
    @inlinable public var hasDuration: Bool { servingTimeHigh >= 0 }

    /// The longest serving time a record keeps (µs): 2⁴⁷ − 1, about 4.4 years.
    public static let longestDuration: Int64 = (1 << 47) - 1
    /// The `servingTimeHigh` of a time one of whose parts was not measured: unknown, like -1,
    /// and the parts after it are not added (`TextFormat.servingTime`).
    static let partlyUnmeasured: Int16 = -2

    public init() {
        site = .empty
        clientAddress = .empty
        forwardedFor = .empty
        user = .empty
        timestamp = 0
        milliseconds = 0
        method = .empty
        target = .empty
        protocolVersion = .empty
        status = 0
        bytes = 0
        referrer = .empty
        userAgent = .empty
        userAgentLogged = true
        cookie = .empty
        event = .request
        recipient = .empty
        campaign = .empty
        automation = .none
        servingTimeLow = 0
        servingTimeHigh = -1
    }

    /// Clears every field, keeping the storage.
    @inlinable public mutating func reset() { self = LogRecord() }

    /// Moves every range `offset` bytes on: the record of a line parsed from `offset` on (after
    /// a `LineEnvelope`), made to point into the whole line.
    mutating func shift(by offset: Int) {
        for field in Self.rangeFields where !self[keyPath: field].isEmpty {
            self[keyPath: field].start += Int32(truncatingIfNeeded: offset)
            self[keyPath: field].end += Int32(truncatingIfNeeded: offset)
        }
    }

    /// Every range field.
    private static let rangeFields: [any WritableKeyPath<LogRecord, ByteRange> & Sendable] = [
        \.site, \.clientAddress, \.forwardedFor, \.user, \.method, \.target, \.protocolVersion, \.referrer,
        \.userAgent, \.cookie, \.recipient, \.campaign,
    ]
}
