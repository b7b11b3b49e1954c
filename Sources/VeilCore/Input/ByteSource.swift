#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads one input — a file, standard input, or bytes in memory — and hands out its
/// decompressed bytes.
///
/// The compression (plain, gzip, zstd, xz, bzip2) is detected from the first bytes, never from the file
/// name. Raw bytes are read with `read(2)` into one buffer of `blockSize` bytes that is reused for
/// the whole input (it grows to hold one zstd block when `blockSize` is smaller), so memory stays
/// bounded whatever the expansion ratio. Plain, gzip, xz and bzip2 bytes are handed out by
/// `read(into:)`, into the caller's buffer. A zstd input is decoded into a window of its own
/// (`ZstdWindow`), which a `LineReader` reads lines from in place (`extendLines`), or which
/// `read(into:)` copies out of. Not thread-safe: one source belongs to one pipeline.
public final class ByteSource {
    /// The input as the user named it (`-` for standard input); used in every error.
    public let path: String
    /// The compression detected from the first bytes.
    public private(set) var compression: Compression
    /// Raw bytes read from the input so far (compressed bytes for a compressed input).
    /// Equals the input size once `read(into:)` has returned 0.
    public private(set) var compressedBytesRead: Int64 = 0
    /// Decompressed bytes handed out by `read(into:)` so far.
    public private(set) var bytesProduced: Int64 = 0
    /// The input's size in bytes when known in advance (a regular file or in-memory bytes),
    /// for progress reporting; nil for pipes and terminals.
    public let totalBytes: Int64?

    /// Called with every raw (still compressed) chunk, in order, exactly once each: lets the
    /// caller hash the input as it streams.
    ///
    /// Set it before the first `read(into:)`. The first block, which `init` already read to
    /// detect the compression, is delivered at the start of the first `read(into:)` call.
    public var rawObserver: ((UnsafeRawBufferPointer) -> Void)?

    /// Where raw bytes come from.
    private enum Origin {
        /// A file descriptor, closed in `deinit` when `owned`.
        case descriptor(Int32, owned: Bool)
        /// Bytes in memory and how many of them were already copied into the raw buffer.
        case memory([UInt8], position: Int)
    }

    private var origin: Origin
    /// The one raw buffer, `blockSize` bytes, reused for the whole input.
    private var raw: UnsafeMutableRawBufferPointer
    /// Raw bytes not yet consumed are `raw[rawStart..<rawEnd]`.
    private var rawStart = 0
    private var rawEnd = 0
    /// The input offset of `raw[0]`.
    private var rawBase: Int64 = 0
    /// Whether the first block still has to be shown to `rawObserver`.
    private var firstBlockPending = true
    /// Whether the decompressor may still hold output (its last call filled the caller's buffer).
    private var outputPending = false
    /// Set once the end of the input was reached and checked.
    private var finished = false
    /// The first error thrown by `read(into:)`; later calls throw it again.
    private var failure: VeilError?
    /// The gzip, xz or bzip2 decompressor, nil for other inputs.
    private var decoder: (any Decompressor)?
    /// The zstd decoder, nil for other inputs.
    private var window: ZstdWindow?
    /// Decoded zstd bytes not yet copied out by `read(into:)`: offsets from `window.base`.
    private var pendingStart = 0
    private var pendingEnd = 0

    /// Opens a file, or standard input for "-". Reads the first block to detect compression.
    ///
    /// - Parameters:
    ///   - path: the file to read, or `-` for standard input.
    ///   - blockSize: the raw read size and the size of the one raw buffer (at least 16).
    /// - Throws: `VeilError.Code.io` if the file cannot be opened or read (message
    ///   `cannot open: <reason>`, `file` set to `path`).
    public convenience init(path: String, blockSize: Int = 1 << 20) throws(VeilError) {
        if path == "-" {
            try self.init(
                fileDescriptor: STDIN_FILENO, name: path, owned: false, blockSize: blockSize)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            throw VeilError(.io, "cannot open: \(Self.errnoDescription())", file: path)
        }
        try self.init(fileDescriptor: fd, name: path, owned: true, blockSize: blockSize)
    }

    /// An in-memory source (tests, benchmarks). `name` is used in errors.
    ///
    /// The bytes are streamed through the raw buffer exactly as a file would be.
    public init(bytes: [UInt8], name: String, blockSize: Int = 1 << 20) throws(VeilError) {
        precondition(blockSize >= 16, "blockSize must be at least 16 bytes")
        self.path = name
        self.origin = .memory(bytes, position: 0)
        self.totalBytes = Int64(bytes.count)
        self.raw = .allocate(byteCount: blockSize, alignment: 16)
        self.compression = .plain
        try start()
    }

    /// Reads an open file descriptor (a pipe, a socket, a file). `name` is used in errors.
    ///
    /// - Parameter owned: whether to close `fileDescriptor` when the source is deallocated
    ///   (also when this initializer throws).
    init(fileDescriptor: Int32, name: String, owned: Bool, blockSize: Int = 1 << 20)
        throws(VeilError)
    {
        precondition(blockSize >= 16, "blockSize must be at least 16 bytes")
        self.path = name
        self.origin = .descriptor(fileDescriptor, owned: owned)
        var info = stat()
        if fstat(fileDescriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG {
            self.totalBytes = Int64(info.st_size)
        } else {
            self.totalBytes = nil
        }
        self.raw = .allocate(byteCount: blockSize, alignment: 16)
        self.compression = .plain
        try start()
    }

    deinit {
        if case .descriptor(let fd, owned: true) = origin {
            close(fd)
        }
        raw.deallocate()
    }

    /// Reads the first block (at least `Compression.magicLength` bytes unless the input is
    /// shorter) and sets up the decompressor.
    private func start() throws(VeilError) {
        while rawEnd < Compression.magicLength {
            let count = try readRaw(into: UnsafeMutableRawBufferPointer(rebasing: raw[rawEnd...]))
            if count == 0 { break }
            rawEnd += count
        }
        compressedBytesRead = Int64(rawEnd)
        compression = Compression.detect(prefix: UnsafeRawBufferPointer(rebasing: raw[..<rawEnd]))
        switch compression {
        case .plain: break
        case .gzip: decoder = GzipDecoder(name: path)
        case .zstd: window = try ZstdWindow(name: path)
        case .xz: decoder = try XzDecoder(name: path)
        case .bzip2: decoder = try Bzip2Decoder(name: path)
        }
    }

    /// Fills `buffer` with up to `buffer.count` decompressed bytes. Returns 0 only at the end of
    /// input.
    ///
    /// - Parameter buffer: where the bytes go; must not be empty.
    /// - Returns: the number of bytes written to the start of `buffer`; 0 at the end of the input
    ///   (and on every later call).
    /// - Throws: `VeilError.Code.io` if reading fails, `VeilError.Code.corruptInput` if the
    ///   compressed data is truncated or corrupt (naming `path` and the compressed byte offset).
    ///   Once it has thrown, every later call throws the same error.
    /// - Complexity: O(`buffer.count`) plus the raw reads and decoding it needs; no allocation
    ///   after the first call (a zstd input allocates its window at each frame that needs a larger one).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int {
        precondition(buffer.count > 0, "read(into:) needs a non-empty buffer")
        try beginReading()
        do {
            let count =
                try window != nil
                ? readZstd(into: buffer)
                : decoder == nil ? readPlain(into: buffer) : readDecompressed(into: buffer)
            bytesProduced += Int64(count)
            return count
        } catch {
            failure = error
            throw error
        }
    }

    /// True for a zstd input, whose lines a `LineReader` reads where they were decoded
    /// (`extendLines`) instead of through `read(into:)`.
    public var decodesInPlace: Bool { window != nil }

    /// Decodes more of a zstd input in place, after the last `tail` bytes it produced.
    ///
    /// The bytes live in the decoder's window, which later blocks copy from: the caller must
    /// not write into them. They stay valid until the next call, which keeps the last `tail`
    /// of them (moved, possibly) right before the new ones. Do not mix with `read(into:)`.
    ///
    /// - Parameters:
    ///   - tail: how many of the bytes produced last the caller still needs (at most `carry`).
    ///   - carry: the longest tail the caller will ask to keep; the same on every call.
    /// - Returns: the window's start, the tail's offset from it and how many new bytes follow
    ///   the tail; 0 new bytes only at the end of the input.
    /// - Throws: like `read(into:)`.
    func extendLines(keeping tail: Int, carry: Int) throws(VeilError)
        -> (base: UnsafeMutablePointer<UInt8>?, tailStart: Int, produced: Int)
    {
        try beginReading()
        guard let window, !finished else { return (nil, 0, 0) }
        do {
            window.reserveCarry(carry)
            let step = try window.extend(keeping: tail, from: self)
            if step.produced == 0 { finished = true }
            bytesProduced += Int64(step.produced)
            return (window.base, step.tailStart, step.produced)
        } catch {
            failure = error
            throw error
        }
    }

    /// Throws an earlier failure again; shows the first block to `rawObserver` once.
    private func beginReading() throws(VeilError) {
        if let failure { throw failure }
        if firstBlockPending {
            firstBlockPending = false
            if rawEnd > 0 { rawObserver?(UnsafeRawBufferPointer(rebasing: raw[..<rawEnd])) }
        }
    }

    /// Copies decoded zstd bytes out of the window.
    private func readZstd(into buffer: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int {
        guard let window, !finished else { return 0 }
        if pendingStart == pendingEnd {
            let step = try window.extend(keeping: 0, from: self)
            if step.produced == 0 {
                finished = true
                return 0
            }
            pendingStart = step.tailStart
            pendingEnd = step.tailStart + step.produced
        }
        let count = min(buffer.count, pendingEnd - pendingStart)
        // Safe: the pending range lies in the window; the buffers do not overlap.
        buffer.baseAddress!.copyMemory(from: window.base! + pendingStart, byteCount: count)
        pendingStart += count
        return count
    }

    // MARK: - Raw bytes, for the zstd window

    /// The compressed offset of the first unconsumed raw byte.
    var rawPosition: Int64 { rawBase + Int64(rawStart) }

    /// The unconsumed raw bytes: at least `count` of them, unless the input ends first (then
    /// all that is left). Grows the raw buffer when `count` exceeds it.
    func rawBytes(atLeast count: Int) throws(VeilError) -> UnsafeRawBufferPointer {
        while rawEnd - rawStart < count {
            if count > raw.count {
                let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
                // Safe: the unconsumed bytes fit the larger buffer.
                grown.baseAddress!.copyMemory(
                    from: raw.baseAddress! + rawStart, byteCount: rawEnd - rawStart)
                raw.deallocate()
                raw = grown
                rawBase += Int64(rawStart)
                rawEnd -= rawStart
                rawStart = 0
            }
            guard try refill() else { break }
        }
        return UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd])
    }

    /// Marks `count` raw bytes (at most those `rawBytes` returned) consumed.
    func consumeRaw(_ count: Int) {
        rawStart += count
    }

    /// Consumes `count` raw bytes, reading past the buffer as needed; false when the input
    /// ends first.
    func skipRaw(_ count: Int64) throws(VeilError) -> Bool {
        var left = count
        while left > 0 {
            if rawStart == rawEnd {
                guard try refill() else { return false }
            }
            let step = Int(min(left, Int64(rawEnd - rawStart)))
            rawStart += step
            left -= Int64(step)
        }
        return true
    }

    /// Copies raw bytes to the caller.
    private func readPlain(into buffer: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int {
        if rawStart == rawEnd {
            guard try refill() else { return 0 }
        }
        let count = min(buffer.count, rawEnd - rawStart)
        // Safe: both ranges are in bounds and the buffers do not overlap.
        buffer.baseAddress!.copyMemory(from: raw.baseAddress! + rawStart, byteCount: count)
        rawStart += count
        return count
    }

    /// Runs the decompressor (gzip, xz, bzip2) until it produces bytes or the input ends.
    private func readDecompressed(into buffer: UnsafeMutableRawBufferPointer) throws(VeilError)
        -> Int
    {
        guard let decoder, !finished else { return 0 }
        while true {
            if rawStart < rawEnd || outputPending {
                let step = try decoder.decompress(
                    UnsafeRawBufferPointer(rebasing: raw[rawStart..<rawEnd]), into: buffer,
                    inputOffset: rawBase + Int64(rawStart))
                rawStart += step.consumed
                outputPending = step.produced == buffer.count
                if step.produced > 0 { return step.produced }
                if step.consumed > 0 { continue }
            }
            if try !refill() {
                finished = true
                try decoder.finish(inputOffset: rawBase + Int64(rawEnd))
                return 0
            }
        }
    }

    /// Reads the next raw chunk after the unconsumed bytes, which move to the front of the
    /// buffer; shows the chunk to `rawObserver`.
    ///
    /// - Returns: false at the end of the input.
    private func refill() throws(VeilError) -> Bool {
        if rawStart > 0 {
            let kept = rawEnd - rawStart
            if kept > 0 {
                // Safe: the source range is in bounds; copyMemory allows overlap (memmove).
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + rawStart, byteCount: kept)
            }
            rawBase += Int64(rawStart)
            rawStart = 0
            rawEnd = kept
        }
        guard rawEnd < raw.count else {
            // The decompressor neither consumed nor produced anything from a full buffer.
            throw VeilError(
                .corruptInput, "\(compression.rawValue) decoder made no progress",
                file: path, byteOffset: rawBase)
        }
        let count = try readRaw(into: UnsafeMutableRawBufferPointer(rebasing: raw[rawEnd...]))
        guard count > 0 else { return false }
        rawObserver?(UnsafeRawBufferPointer(rebasing: raw[rawEnd..<rawEnd + count]))
        rawEnd += count
        compressedBytesRead += Int64(count)
        return true
    }

    /// Reads up to `target.count` raw bytes from the origin; 0 at the end of the input.
    private func readRaw(into target: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int {
        switch origin {
        case .descriptor(let fd, _):
            while true {
                let count = systemRead(fd, target.baseAddress, target.count)
                if count >= 0 { return count }
                if errno == EINTR { continue }
                throw VeilError(
                    .io, "read failed: \(Self.errnoDescription())", file: path,
                    byteOffset: compressedBytesRead)
            }
        case .memory(let bytes, let position):
            let count = min(target.count, bytes.count - position)
            if count > 0 {
                bytes.withUnsafeBytes { source in
                    // Safe: position + count <= bytes.count and count <= target.count.
                    target.baseAddress!.copyMemory(
                        from: source.baseAddress! + position, byteCount: count)
                }
            }
            origin = .memory(bytes, position: position + count)
            return count
        }
    }

    /// The text of the current `errno`.
    @inline(never)
    private static func errnoDescription() -> String {
        String(cString: strerror(errno))
    }
}

/// `read(2)`, named apart from `ByteSource.read(into:)`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.read(fd, buffer, count)
    #elseif canImport(Musl)
        Musl.read(fd, buffer, count)
    #else
        Darwin.read(fd, buffer, count)
    #endif
}
