#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits a byte stream into lines with one preallocated buffer.
///
/// Separators: a line ends at `\n` (0x0A); a `\r` (0x0D) right before the `\n` is dropped, so
/// both LF and CRLF files give the same lines. A last line without a terminator is still a line.
/// A UTF-8 byte order mark (EF BB BF) that starts the stream, as some Windows servers write
/// (IIS with UTF-8 logs), is not part of the first line (its offset counts it).
/// Bytes already scanned for a newline are never scanned again; the unread tail moves to the
/// front of the buffer, which keeps its capacity. A line longer than `maxLineLength` bytes
/// (terminator excluded) is not buffered: its bytes are skipped up to the next newline and it
/// is reported once as `.tooLong`, with its line number, and reading goes on.
///
/// A zstd `ByteSource` is read in place: lines are cut where the decoder wrote them, in its
/// window, and the unfinished last line is carried in front of the window when the decoder
/// wraps around (`ByteSource.extendLines`). Those lines are the decoder's history and must not
/// be written to: `linesAreReadOnly` says so, and `writableCopy(of:)` gives a copy a parser may
/// rewrite.
public final class LineReader {
    /// What `next()` produced.
    public enum Item {
        /// A line, without its terminator. The bytes are valid until the next call to `next()`
        /// and may be rewritten in place by a parser unless `linesAreReadOnly`.
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

    /// True when lines lie in a decoder's window (a zstd source): a parser must not write
    /// into them, only into a `writableCopy(of:)`.
    public var linesAreReadOnly: Bool { inPlace != nil }

    /// Where bytes come from: `fill` into the reader's own buffer, or a source that decodes
    /// in place (`inPlace`), whose window `buffer` then points into.
    private let fill: Fill
    private let inPlace: ByteSource?
    /// Called after every read of new bytes (progress reports).
    private let afterRead: (() -> Void)?
    /// The reader's own buffer (`fill` mode), or the scratch line of `writableCopy(of:)`.
    private let owned: UnsafeMutableRawBufferPointer
    /// The bytes lines are cut from: `owned`, or the decoder's window.
    private var buffer: UnsafeMutablePointer<UInt8>
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
    /// Whether the start of the stream was checked for a byte order mark.
    private var checkedByteOrderMark = false

    /// - Parameters:
    ///   - maxLineLength: longest accepted line in bytes, terminator excluded (default 64 KiB).
    ///   - readSize: bytes asked of `fill` per call (default 256 KiB).
    ///   - fill: the byte source.
    public init(maxLineLength: Int = 64 * 1024, readSize: Int = 256 * 1024, fill: @escaping Fill) {
        precondition(maxLineLength > 0 && readSize > 0)
        self.maxLineLength = maxLineLength
        self.readSize = readSize
        self.fill = fill
        self.inPlace = nil
        self.afterRead = nil
        // Room for a whole maximal line (plus CR LF) and a full read after it.
        owned = .allocate(byteCount: maxLineLength + 2 + readSize, alignment: 16)
        buffer = owned.baseAddress!.assumingMemoryBound(to: UInt8.self)
    }

    /// Reads lines from a `ByteSource`: in place when it decodes in place (zstd), through
    /// `read(into:)` otherwise.
    ///
    /// - Parameter afterRead: called after every read of new bytes (for progress reports).
    public init(source: ByteSource, maxLineLength: Int = 64 * 1024, afterRead: (() -> Void)? = nil) {
        precondition(maxLineLength > 0)
        self.maxLineLength = maxLineLength
        self.afterRead = afterRead
        self.fill = { (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            try source.read(into: b)
        }
        if source.decodesInPlace {
            inPlace = source
            readSize = 0
            // The scratch line of `writableCopy(of:)`.
            owned = .allocate(byteCount: maxLineLength + 2, alignment: 16)
        } else {
            inPlace = nil
            readSize = 256 * 1024
            owned = .allocate(byteCount: maxLineLength + 2 + readSize, alignment: 16)
        }
        buffer = owned.baseAddress!.assumingMemoryBound(to: UInt8.self)
    }

    deinit { owned.deallocate() }

    /// A copy of `line` (a line `next()` returned) that may be rewritten, valid until the next
    /// call to `next()`: for a parser that rewrites bytes when `linesAreReadOnly`.
    public func writableCopy(of line: UnsafeMutableBufferPointer<UInt8>) -> UnsafeMutableBufferPointer<UInt8> {
        precondition(line.count <= maxLineLength + 2 && inPlace != nil)
        let p = owned.baseAddress!.assumingMemoryBound(to: UInt8.self)
        if let source = line.baseAddress, line.count > 0 {
            // Safe: the scratch holds a maximal line; the window and the scratch do not overlap.
            p.update(from: source, count: line.count)
        }
        return UnsafeMutableBufferPointer(start: p, count: line.count)
    }

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
                start = end
            } else if end - start > maxLineLength + 1 {
                discarding = true
                discardStart = base + Int64(start)
                start = end
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
                start = end; scanned = end
            } else if scanned < end, let nl = findLastNewline(from: scanned, to: end) {
                let chunkStart = start
                start = nl + 1
                scanned = start
                return .lines(slice(chunkStart, nl + 1), terminated: true)
            } else {
                scanned = end
                if end - start > maxLineLength + 1 {
                    discarding = true
                    start = end
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
        if let inPlace {
            let tail = end - start
            let step = try inPlace.extendLines(keeping: tail, carry: maxLineLength + 2)
            if step.produced == 0 {
                atEOF = true
            } else {
                // The tail may have moved (the window wrapped or grew): positions follow it.
                let tailStart = step.tailStart
                base += Int64(start - tailStart)
                scanned += tailStart - start
                buffer = step.base!
                start = tailStart
                end = tailStart + tail + step.produced
            }
            if !checkedByteOrderMark { skipByteOrderMark() }
            afterRead?()
            return
        }
        if start > 0 {
            let n = end - start
            if n > 0 {
                // Safe: both ranges lie inside `buffer`; memmove allows overlap.
                memmove(buffer, buffer + start, n)
            }
            base += Int64(start)
            scanned -= start
            end = n
            start = 0
        }
        let room = min(readSize, owned.count - end)
        let got = try fill(UnsafeMutableRawBufferPointer(start: buffer + end, count: room))
        if got == 0 { atEOF = true } else { end += got }
        if !checkedByteOrderMark { skipByteOrderMark() }
        afterRead?()
    }

    /// Skips a UTF-8 byte order mark at the start of the stream, once three bytes have been read
    /// (or the stream ended) and before any line was cut.
    @inline(never)
    private func skipByteOrderMark() {
        guard base + Int64(start) == 0 else {
            // A line was cut already: the first line was shorter than a mark.
            checkedByteOrderMark = true
            return
        }
        guard end - start >= 3 else {
            if atEOF { checkedByteOrderMark = true }
            return
        }
        checkedByteOrderMark = true
        if buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF {
            start += 3
            scanned = max(scanned, start)
        }
    }

    @inline(__always)
    private func findNewline(from: Int, to: Int) -> Int? {
        // Safe: from..<to lies inside `buffer`.
        guard let p = memchr(buffer + from, 0x0A, to - from) else { return nil }
        return UnsafeRawPointer(p) - UnsafeRawPointer(buffer)
    }

    @inline(__always)
    private func slice(_ s: Int, _ e: Int) -> UnsafeMutableBufferPointer<UInt8> {
        UnsafeMutableBufferPointer(start: buffer + s, count: e - s)
    }
}
