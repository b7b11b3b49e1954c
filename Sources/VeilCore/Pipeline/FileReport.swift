/// What reading one input produced: counts only, never content.
public struct FileReport: Sendable, Codable, Equatable {
    /// How many line numbers are kept per reject reason.
    public static let sampleLineNumbers = 5

    public struct Rejects: Sendable, Codable, Equatable {
        public var reason: String
        public var count: Int
        /// The first few line numbers with this reason (never the lines themselves).
        public var firstLines: [Int]
    }

    public var file: String
    public var compression: String
    public var format: String
    /// True when the format was detected rather than given.
    public var formatDetected: Bool
    public var lines: Int
    public var records: Int
    /// Lines that carry no record by design (W3C directives, blank lines).
    public var skipped: Int
    /// Records outside `--from` / `--until`.
    public var outsideWindow: Int
    public var rejected: Int
    public var rejects: [Rejects]
    /// Records kept by a tolerance rule, with the first few line numbers: today only
    /// `unterminated-final-quote`, a line that ends inside its last quoted field (the field is
    /// taken to run to the end of the line).
    public var repaired: [Rejects]
    /// ISO 8601 UTC of the earliest and latest record, if any.
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var bytesIn: Int64
    public var bytesOut: Int64
    public var seconds: Double
    /// `sha256:<hex>` of the raw input bytes.
    public var fingerprint: String
    /// False when the input's format records no user agent, so its requests count as people's
    /// with unknown software and none as bots': NCSA `common`, a format string without one, a
    /// W3C `#Fields:` layout without `cs(User-Agent)` (any layout of the file), a JSON log
    /// none of whose first lines has a user-agent key. Nil when the input was not read.
    public var userAgentsLogged: Bool? = nil
    /// For a JSON input: false when the requests its first lines hold name no request path
    /// (most often the wrong `--format`: a line needs only a timestamp to parse, and another
    /// server's preset reads nothing else of it); true when one does; nil otherwise.
    public var requestsNamed: Bool? = nil
    /// For a log whose times carry no zone (HAProxy's accept dates): the zone they were read in,
    /// `UTC` unless `--log-tz` named another; nil for formats whose times say their zone.
    public var logTimeZone: String? = nil
    /// What the input's lines were wrapped in and read after (`LineEnvelope.label`: `cri`,
    /// `syslog (nginx)`); nil when they were the server's own.
    public var envelope: String? = nil
    /// Set when the file could not be read to its end (and `--skip-bad-files` let the run go on).
    public var error: String?
}
