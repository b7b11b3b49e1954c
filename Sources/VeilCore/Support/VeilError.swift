/// The one error type veil throws.
///
/// An error names where it happened (file, line number, byte offset) and what went wrong, and
/// never carries bytes from the input: log lines hold raw IP addresses and identifiers.
public struct VeilError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes are static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A file could not be opened, read or written.
        public static let io = Code("io")
        /// A compressed stream is truncated or corrupt.
        public static let corruptInput = Code("corrupt-input")
        /// A log line, header or option value could not be understood.
        public static let badInput = Code("bad-input")
        /// A format string or format name is invalid.
        public static let badFormat = Code("bad-format")
        /// `--format auto` found no format that parses any of an input's first lines.
        public static let unrecognisedFormat = Code("unrecognised-format")
        /// Usage error: a bad flag value or combination.
        public static let usage = Code("usage")
        /// A key store problem: missing key, shredded epoch, loose permissions.
        public static let key = Code("key")
        /// A state file is corrupt, from another version, or cannot be merged.
        public static let state = Code("state")
        /// Input lines were rejected and `--strict` was given.
        public static let rejectedLines = Code("rejected-lines")
    }

    public var code: Code
    public var message: String
    /// The file involved, as the user named it (`-` for standard input).
    public var file: String?
    /// 1-based line number, when the error is about one line.
    public var line: Int?
    /// Byte offset in the file (compressed offset for compressed files).
    public var byteOffset: Int64?

    public init(
        _ code: Code, _ message: String, file: String? = nil, line: Int? = nil,
        byteOffset: Int64? = nil
    ) {
        self.code = code
        self.message = message
        self.file = file
        self.line = line
        self.byteOffset = byteOffset
    }

    /// `file:line: byte offset N: message`, leaving out what is unknown.
    public var description: String {
        var where_ = ""
        if let file { where_ += file }
        if let line { where_ += (where_.isEmpty ? "" : ":") + "line \(line)" }
        if let byteOffset { where_ += (where_.isEmpty ? "" : ": ") + "byte offset \(byteOffset)" }
        return where_.isEmpty ? message : "\(where_): \(message)"
    }
}
