#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines with one preallocated buffer.
///
/// Separators: a line ends at `\n` (0x0A); a `\r` (0x0D) right before the `\n` is dropped, so
/// both LF and CRLF files give the same lines. A last line without a terminator is still a line.
/// Bytes already scanned for a newline are never scanned again; the unread tail moves to the
/// front of the buffer, which keeps its capacity. A line longer than `maxLineLength` bytes
/// (terminator excluded) is not buffered: its bytes are skipped up to the next newline and it
/// is reported once as `.tooLong`, with its line number, and reading goes on.
public final class LineReader {
    /// What `next()` produced.
    public enum Item {
        /// A line, without its terminator. The bytes are valid until the next call to `next()`
        /// and may be rewritten in place by a parser.
        case line(UnsafeMutableBufferPointer<UInt8>)
        /// A line longer than the limit was skipped.
        case tooLong
    }

    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 only at the end of input.
    public typealias Fill = (UnsafeMutableRawBufferPointer) throws(VeilError) -> Int

    public let maxLineLength: Int
    /// 1-based number of the line last returned (0 before the first).
    public private(set) var lineNumber: Int = 0
    /// Offset in the (decompressed) stream of the first byte of the line last returned.
    public private(set) var lineOffset: Int64 = 0
    /// Lines skipped for being longer than `maxLineLength`.
    public private(set) var tooLongCount: Int = 0

    private let fill: Fill
    private let buffer: UnsafeMutableRawBufferPointer
    private let readSize: Int
    /// Unconsumed data is `buffer[start..<end]`; `buffer[start..<scanned]` holds no newline.
    private var start = 0
    private var scanned = 0
    private var end = 0
    /// Stream offset of `buffer[0]`.
    private var base: Int64 = 0
    private var atEOF = false
    /// True while skipping the rest of an over-long line.
    private var discarding = false
    private var discardStart: Int64 = 0

    /// - Parameters:
    ///   - maxLineLength: longest accepted line in bytes, terminator excluded (default 64 KiB).
    ///   - readSize: bytes asked of `fill` per call (default 256 KiB).
    ///   - fill: the byte source.
    public init(maxLineLength: Int = 64 * 1024, readSize: Int = 256 * 1024, fill: @escaping Fill) {
        precondition(maxLineLength > 0 && readSize > 0)
        self.maxLineLength = maxLineLength
        self.readSize = readSize
        self.fill = fill
        // Room for a whole maximal line (plus CR LF) and a full read after it.
        buffer = .allocate(byteCount: maxLineLength + 2 + readSize, alignment: 16)
    }

    /// Reads lines from a `ByteSource`.
    public convenience init(source: ByteSource, maxLineLength: Int = 64 * 1024) {
        self.init(maxLineLength: maxLineLength) { (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            try source.read(into: b)
        }
    }

    deinit { buffer.deallocate() }

    /// Returns the next line, `.tooLong` for a skipped over-long line, or `nil` at the end.
    /// - Throws: whatever the byte source throws (a corrupt compressed stream).
    /// - Complexity: amortised O(bytes of the line); every byte is scanned once.
    @inline(__always)
    public func next() throws(VeilError) -> Item? {
        while true {
            if scanned < end, let nl = findNewline(from: scanned, to: end) {
                let lineStart = start
                start = nl + 1
                scanned = start
                lineNumber += 1
                if discarding {
                    discarding = false
                    lineOffset = discardStart
                    tooLongCount += 1
                    return .tooLong
                }
                lineOffset = base + Int64(lineStart)
                var lineEnd = nl
                if lineEnd > lineStart, buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd - lineStart > maxLineLength {
                    tooLongCount += 1
                    return .tooLong
                }
                return .line(slice(lineStart, lineEnd))
            }
            scanned = end
            if discarding {
                // Drop what was scanned; keep looking for the newline that ends the long line.
                base += Int64(end)
                start = 0; scanned = 0; end = 0
            } else if end - start > maxLineLength + 1 {
                discarding = true
                discardStart = base + Int64(start)
                base += Int64(end)
                start = 0; scanned = 0; end = 0
            }
            if atEOF {
                if discarding {
                    discarding = false
                    lineNumber += 1
                    lineOffset = discardStart
                    tooLongCount += 1
                    return .tooLong
                }
                guard start < end else { return nil }
                let lineStart = start
                var lineEnd = end
                start = end; scanned = end
                lineNumber += 1
                lineOffset = base + Int64(lineStart)
                if buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd - lineStart > maxLineLength {
                    tooLongCount += 1
                    return .tooLong
                }
                return .line(slice(lineStart, lineEnd))
            }
            try refill()
        }
    }

    /// What `nextChunk()` produced.
    public enum Chunk {
        /// Whole lines, each ended by `\n` (a `\r` before it is left in place), except that the
        /// input's last line may lack its terminator (`terminated == false`). The bytes are valid
        /// until the next call. Line numbers are not tracked in this mode.
        case lines(UnsafeMutableBufferPointer<UInt8>, terminated: Bool)
        /// A line longer than the limit that did not fit the buffer was skipped.
        case tooLong
    }

    /// Returns all whole lines buffered so far in one piece, for callers that split lines
    /// themselves (on other threads). Lines that fit the buffer are not length-checked here;
    /// the caller applies `maxLineLength`. Do not mix with `next()` on the same reader after the
    /// first call.
    public func nextChunk() throws(VeilError) -> Chunk? {
        while true {
            if discarding {
                if scanned < end, let nl = findNewline(from: scanned, to: end) {
                    discarding = false
                    start = nl + 1
                    scanned = start
                    return .tooLong
                }
                base += Int64(end)
                start = 0; scanned = 0; end = 0
            } else if scanned < end, let nl = findLastNewline(from: scanned, to: end) {
                let chunkStart = start
                start = nl + 1
                scanned = start
                return .lines(slice(chunkStart, nl + 1), terminated: true)
            } else {
                scanned = end
                if end - start > maxLineLength + 1 {
                    discarding = true
                    base += Int64(end)
                    start = 0; scanned = 0; end = 0
                }
            }
            if atEOF {
                if discarding {
                    discarding = false
                    return .tooLong
                }
                guard start < end else { return nil }
                let chunkStart = start
                start = end; scanned = end
                return .lines(slice(chunkStart, end), terminated: false)
            }
            try refill()
        }
    }

    @inline(__always)
    private func findLastNewline(from: Int, to: Int) -> Int? {
        // Lines are short next to the buffer, so the last newline is near the end.
        var i = to
        while i > from {
            i -= 1
            if buffer[i] == 0x0A { return i }
        }
        return nil
    }

    @inline(never)
    private func refill() throws(VeilError) {
        if start > 0 {
            let n = end - start
            if n > 0 {
                // Safe: both ranges lie inside `buffer`; memmove allows overlap.
                memmove(buffer.baseAddress!, buffer.baseAddress! + start, n)
            }
            base += Int64(start)
            scanned -= start
            end = n
            start = 0
        }
        let room = min(readSize, buffer.count - end)
        let got = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[end..<(end + room)]))
        if got == 0 { atEOF = true } else { end += got }
    }

    @inline(__always)
    private func findNewline(from: Int, to: Int) -> Int? {
        // Safe: from..<to lies inside `buffer`.
        guard let p = memchr(buffer.baseAddress! + from, 0x0A, to - from) else { return nil }
        return UnsafeRawPointer(p) - UnsafeRawPointer(buffer.baseAddress!)
    }

    @inline(__always)
    private func slice(_ s: Int, _ e: Int) -> UnsafeMutableBufferPointer<UInt8> {
        // Safe: the buffer is raw bytes, viewed as UInt8 for the line's lifetime only.
        let p = (buffer.baseAddress! + s).assumingMemoryBound(to: UInt8.self)
        return UnsafeMutableBufferPointer(start: p, count: e - s)
    }
}
