/// Why a line was rejected. Reported by count and line number, never with the line's content.
public enum RejectReason: UInt8, CaseIterable, Sendable, Comparable {
    case lineTooLong = 0
    case binaryGarbage
    case truncated
    case unbalancedQuote
    case badTimestamp
    case badStatus
    case badBytes
    case badRequestLine
    case badAddress
    case badJSON
    case missingField
    case noFieldsHeader
    case literalMismatch

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Stable machine-readable label (used in `--json` output and reports).
    public var label: String {
        switch self {
        case .lineTooLong: "line-too-long"
        case .binaryGarbage: "binary-garbage"
        case .truncated: "truncated"
        case .unbalancedQuote: "unbalanced-quote"
        case .badTimestamp: "bad-timestamp"
        case .badStatus: "bad-status"
        case .badBytes: "bad-bytes"
        case .badRequestLine: "bad-request-line"
        case .badAddress: "bad-address"
        case .badJSON: "bad-json"
        case .missingField: "missing-field"
        case .noFieldsHeader: "no-fields-header"
        case .literalMismatch: "does-not-match-format"
        }
    }
}

/// What parsing one line produced.
public enum ParseResult: Sendable, Equatable {
    /// The record was filled in.
    case record
    /// The line carries no record but is valid (a W3C `#` directive, a blank line).
    case skip
    /// The line is malformed.
    case reject(RejectReason)
}

/// A log format: turns one line's bytes into a `LogRecord` of byte ranges.
///
/// Implementations must not allocate per line. The line excludes its terminator (`\n` or
/// `\r\n`). `parse(_:into:)` may rewrite bytes inside the line in place (for example to undo
/// `\"` or JSON escapes, which only ever shrink), so ranges it returns point at unescaped bytes.
/// A line read in place from a decoder's window (a zstd input, `LineReader.linesAreReadOnly`)
/// must not be written to: it goes to `parseReadOnly(_:into:)` first, and to `parse(_:into:)`
/// as a copy only when that declines.
/// A format's type is used on the parsing threads (`SendableMetatype`); each thread parses
/// with its own copy of the value.
public protocol LogFormat: SendableMetatype {
    /// The format's name as `--format` spells it (`combined`, `w3c`, `json`, ...).
    var name: String { get }
    /// Parses one line into `record`. `record` is reset by the parser.
    mutating func parse(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult
    /// Parses one line without writing to it, or returns nil when this line needs rewriting
    /// (then `record` and what the format reports are unspecified until the caller parses a
    /// copy with `parse(_:into:)`). The default declines every line.
    mutating func parseReadOnly(_ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    /// The next record of the line `parse(_:into:)` was given last, for a line that holds
    /// several (a JSON array of e-mail events, as webhooks post them); nil when it has no
    /// more. Called after `parse(_:into:)` until it returns nil. The default returns nil.
    mutating func parseNext(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    /// True when the last `.record` was kept by a tolerance rule (for example a final quoted
    /// field that runs to the end of the line): counted and reported, not rejected.
    var lastRecordWasRepaired: Bool { get }
    /// True when a line parses the same whatever lines came before it, so a copy of the format
    /// may parse some of a file's lines elsewhere (`PipelinedAggregator`); false when earlier
    /// lines change how later ones parse (W3C's `#Fields` directives).
    static var parsesLinesAlone: Bool { get }
    /// How many times parsed so far were written without a zone (read in the log's time zone,
    /// `--log-tz`). The default is 0: the format's times always say their zone.
    var zonelessTimes: Int { get }
}

extension LogFormat {
    @inline(__always)
    public mutating func parseReadOnly(_ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    {
        nil
    }
    @inline(__always)
    public mutating func parseNext(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    {
        nil
    }
    public var lastRecordWasRepaired: Bool { false }
    public static var parsesLinesAlone: Bool { true }
    public var zonelessTimes: Int { 0 }
}
