/// Receives every parsed record of an ingest run. A sink's type is used on the parsing
/// threads (`SendableMetatype`); each thread feeds a sink of its own.
public protocol RecordSink: SendableMetatype {
    /// Called once per record; `line` holds the bytes the record's ranges point into and is
    /// valid only during the call.
    mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) throws(VeilError)

    /// Called before the lines of an input (after its format is known, when the format's lines
    /// parse alone): a sink that can parse lines itself, elsewhere, keeps a copy of `format`
    /// and the time window (`from`, `until`: records outside it are counted, not consumed).
    mutating func willReadLines<F: LogFormat>(format: F, from: Int64?, until: Int64?)
    /// Whether the caller hands the next line over unparsed (`consumeUnparsed`) instead of
    /// parsing it and calling `consume`. Only after `willReadLines`.
    mutating func takesNextLineUnparsed() -> Bool
    /// A line the sink parses itself: with `lineNumber` (1-based) for its reject reports. The
    /// bytes are valid only during the call.
    mutating func consumeUnparsed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(VeilError)
    /// Called after the input's last line: waits until every line handed over unparsed is done,
    /// and returns their counts, which the caller adds to its own (nil: the sink parses no lines
    /// itself).
    mutating func didReadLines() throws(VeilError) -> LineCounts?
}

extension RecordSink {
    @inlinable public mutating func willReadLines<F: LogFormat>(format: F, from: Int64?, until: Int64?) {}
    @inlinable public mutating func takesNextLineUnparsed() -> Bool { false }
    public mutating func consumeUnparsed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(VeilError) {
        preconditionFailure("this sink takes no unparsed lines")
    }
    @inlinable public mutating func didReadLines() throws(VeilError) -> LineCounts? { nil }
}

/// A sink that keeps nothing (used by `veil inspect`).
public struct DiscardingSink: RecordSink {
    public init() {}
    @inlinable public mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) {}
}
