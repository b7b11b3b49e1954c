/// Receives every parsed record of an ingest run. A sink's type is used on the parsing
/// threads (`SendableMetatype`); each thread feeds a sink of its own.
public protocol RecordSink: SendableMetatype {
    /// Called once per record; `line` holds the bytes the record's ranges point into and is
    /// valid only during the call.
    mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) throws(VeilError)
}

/// A sink that keeps nothing (used by `veil inspect`).
public struct DiscardingSink: RecordSink {
    public init() {}
    @inlinable public mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) {}
}
