#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Buffered byte output to a file or standard output: lines are built in one growing byte
/// array and written with `write(2)` once it holds 1 MiB.
struct ByteSink {
    /// Bytes not yet written. Renderers append here and may edit the current line in place.
    var buffer: [UInt8] = []
    private let descriptor: Int32
    private let name: String
    private let ownsDescriptor: Bool
    private static let flushThreshold = 1 << 20

    /// Opens `path` for writing (created or truncated, mode 0644); `nil` or `-` is stdout.
    init(path: String?) throws(GeneratorError) {
        buffer.reserveCapacity(Self.flushThreshold + 256 * 1024)
        if let path, path != "-" {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { throw GeneratorError(message: "cannot open \(path) for writing") }
            descriptor = fd
            name = path
            ownsDescriptor = true
        } else {
            descriptor = 1
            name = "standard output"
            ownsDescriptor = false
        }
    }

    var count: Int { buffer.count }

    @inline(__always) mutating func append(_ byte: UInt8) { buffer.append(byte) }
    @inline(__always) mutating func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }
    @inline(__always) mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { buffer.append(contentsOf: $0) }
    }

    /// Appends a non-negative integer in decimal.
    mutating func appendDecimal(_ value: Int) {
        precondition(value >= 0, "appendDecimal takes non-negative values")
        if value < 10 {
            buffer.append(UInt8(truncatingIfNeeded: value) &+ 48)
            return
        }
        var digits = 1
        var t = value
        while t >= 10 {
            t /= 10
            digits += 1
        }
        appendPadded(value, width: digits)
    }

    /// Appends a non-negative integer in decimal, left-padded with zeros to `width` digits.
    mutating func appendPadded(_ value: Int, width: Int) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width))
        var v = value
        var i = start + width - 1
        while v > 0 && i >= start {
            buffer[i] = UInt8(truncatingIfNeeded: v % 10) &+ 48
            v /= 10
            i -= 1
        }
    }

    /// Drops everything from offset `end` on (offsets count from the start of `buffer`).
    mutating func truncate(to end: Int) {
        buffer.removeSubrange(end...)
    }

    /// Writes the buffer out once it holds at least 1 MiB.
    @inline(__always) mutating func flushIfNeeded() throws(GeneratorError) {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Writes every buffered byte.
    mutating func flush() throws(GeneratorError) {
        var failed = false
        let descriptor = descriptor
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    return
                }
                offset += n
            }
        }
        if failed { throw GeneratorError(message: "cannot write to \(name)") }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes everything and closes the file (standard output stays open).
    mutating func finish() throws(GeneratorError) {
        try flush()
        if ownsDescriptor, close(descriptor) != 0 {
            throw GeneratorError(message: "cannot write to \(name)")
        }
    }
}
