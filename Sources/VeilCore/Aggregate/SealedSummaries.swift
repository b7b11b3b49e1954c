import Foundation

#if canImport(Glibc)
    import Glibc
#endif

#if os(Linux)
    /// glibc's `fstatfs(2)` (its header is not part of the Glibc module).
    @_silgen_name("fstatfs")
    private func linuxFstatfs(_ fd: Int32, _ buf: UnsafeMutableRawPointer) -> Int32
#endif

/// Per-pseudonym summaries and table cells of periods the input has moved past, kept in a
/// temporary file instead of memory: what keeps a long job's memory flat.
///
/// A visitor's pseudonym changes with the key epoch, so once the input is past an epoch (plus
/// `AggregationConfiguration.sealingDelay` for lines written late) its visit summaries and
/// contribution records are complete, and so are the recipient summaries of the local days
/// before. The aggregator encodes them in the state format, appends them here and drops them
/// (`AggregateState.seal`); summaries that late records build afterwards are sealed too, and
/// the pieces of one epoch (or day) are merged when read back — exactly, as `merge` joins
/// summaries of the same key. Table cells of past hours and days are sealed alongside and
/// merged back at the end of the job (`restoreCells`), when the summaries are all sealed.
///
/// The file is created (`0600`) in the temporary directory (`$TMPDIR`, else `/tmp`) with the
/// first piece and unlinked at once: it holds pseudonymous data like a state file, and it
/// disappears with the process, however that ends. Thread-safe: the aggregators of one job
/// share it.
public final class SealedSummaries: @unchecked Sendable {
    struct Piece { var offset: Int64; var length: Int; var input: Int }

    public let configuration: StateConfiguration
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var end: Int64 = 0
    private var visitorPieces: [Int64: [Piece]] = [:]
    private var recipientPieces: [Int64: [Piece]] = [:]
    private var cellPieces: [Piece] = []
    /// Where the file was created (for messages; it has no name once unlinked).
    public let directory: String
    /// Whether the file lives on a file system kept in memory (tmpfs, ramfs): then the sealed
    /// summaries still take memory, only outside the process. False until the file exists.
    public var inMemoryFileSystem: Bool { lock.withLock { memoryBacked } }
    private var memoryBacked = false

    /// - Parameter directory: where the temporary file goes (default `$TMPDIR`, else `/tmp`);
    ///   it is created with the first piece, so a job that seals nothing makes no file.
    public init(configuration: StateConfiguration, directory: String? = nil) {
        self.configuration = configuration
        let tmpdir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 }
        self.directory = directory ?? tmpdir ?? "/tmp"
    }

    /// Creates the file and unlinks it at once. Called with the lock held.
    private func openFile() throws(VeilError) -> Int32 {
        if fd >= 0 { return fd }
        var template =
            Array((directory.hasSuffix("/") ? directory : directory + "/").utf8CString.dropLast())
            + Array("veil-sealed-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard made >= 0 else {
            throw VeilError(
                .io,
                "cannot create a temporary file for the summaries of past days: \(String(cString: strerror(errno))) (set TMPDIR to a writable directory)",
                file: directory)
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        fd = made
        memoryBacked = Self.isMemoryBacked(made)
        return made
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether `fd` is on a tmpfs or ramfs (Linux; false elsewhere or when unknown).
    private static func isMemoryBacked(_ fd: Int32) -> Bool {
        #if os(Linux)
            // `struct statfs` (120 bytes on 64-bit Linux) begins with `f_type`, a long.
            let info = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 8)
            defer { info.deallocate() }
            guard linuxFstatfs(fd, info) == 0 else { return false }
            let type = UInt64(truncatingIfNeeded: info.load(as: Int.self))
            return type == 0x0102_1994 || type == 0x8584_58F6  // TMPFS_MAGIC, RAMFS_MAGIC
        #else
            return false
        #endif
    }

    /// Key epochs (indices) with sealed visit summaries, in order.
    public var visitorEpochs: [Int64] { lock.withLock { visitorPieces.keys.sorted() } }
    /// Local days with sealed recipient summaries, in order.
    public var recipientDays: [Int64] { lock.withLock { recipientPieces.keys.sorted() } }
    /// Bytes written to the file so far.
    public var bytes: Int64 { lock.withLock { end } }

    /// The key epochs and local days with sealed pieces, taken at once under the lock (a caller
    /// testing many summaries against them takes the lock once, not per summary).
    func sealedKeys() -> (epochs: Set<Int64>, days: Set<Int64>) {
        lock.withLock { (Set(visitorPieces.keys), Set(recipientPieces.keys)) }
    }

    /// Drops the pieces of input `n` (an input that failed half way contributes nothing).
    func discard(input n: Int) {
        lock.withLock {
            // Safe: every key comes from the dictionary it indexes.
            for e in visitorPieces.keys { visitorPieces[e]!.removeAll { $0.input == n } }
            for d in recipientPieces.keys { recipientPieces[d]!.removeAll { $0.input == n } }
            cellPieces.removeAll { $0.input == n }
            visitorPieces = visitorPieces.filter { !$0.value.isEmpty }
            recipientPieces = recipientPieces.filter { !$0.value.isEmpty }
        }
    }

    /// Appends the encoded visit summaries (and contribution records) of key epoch `epoch`,
    /// sealed while input `input` was read (`discard` drops them if it fails; -1: the job's).
    func add(visitorsOf epoch: Int64, _ bytes: [UInt8], input: Int) throws(VeilError) {
        let piece = try append(bytes, input: input)
        lock.withLock { visitorPieces[epoch, default: []].append(piece) }
    }

    /// Whether any table cells were sealed.
    public var hasCells: Bool { lock.withLock { !cellPieces.isEmpty } }

    /// Appends encoded table cells, sealed while input `input` was read.
    func add(cells bytes: [UInt8], input: Int) throws(VeilError) {
        let piece = try append(bytes, input: input)
        lock.withLock { cellPieces.append(piece) }
    }

    /// Merges the sealed table cells into `state` (the rest of the cells), one piece at a time,
    /// and forgets them.
    func restoreCells(into state: inout AggregateState) throws(VeilError) {
        let pieces = lock.withLock { cellPieces }
        for piece in pieces { try state.merge(read(piece, contributions: false)) }
        lock.withLock { cellPieces = [] }
    }

    /// Appends the encoded recipient summaries of local day `day`, sealed while input `input`
    /// was read.
    func add(recipientsOf day: Int64, _ bytes: [UInt8], input: Int) throws(VeilError) {
        let piece = try append(bytes, input: input)
        lock.withLock { recipientPieces[day, default: []].append(piece) }
    }

    /// The visit summaries of key epoch `epoch`, merged, with their contribution records
    /// unless `contributions` is false.
    func visitors(epoch: Int64, contributions: Bool = true) throws(VeilError) -> AggregateState {
        try merged(lock.withLock { visitorPieces[epoch] ?? [] }, contributions: contributions)
    }

    /// The recipient summaries of local day `day`, merged.
    func recipients(day: Int64) throws(VeilError) -> AggregateState {
        try merged(lock.withLock { recipientPieces[day] ?? [] }, contributions: false)
    }

    private func merged(_ pieces: [Piece], contributions: Bool) throws(VeilError) -> AggregateState {
        var result = AggregateState(configuration: configuration)
        for (n, piece) in pieces.enumerated() {
            let part = try read(piece, contributions: contributions)
            if n == 0 { result = part } else { try result.merge(part) }
        }
        return result
    }

    private func append(_ bytes: [UInt8], input: Int) throws(VeilError) -> Piece {
        lock.lock()
        let fd: Int32
        do throws(VeilError) {
            fd = try openFile()
        } catch {
            lock.unlock()
            throw error
        }
        let offset = end
        end += Int64(bytes.count)
        lock.unlock()
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes {
                pwrite(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "no bytes written"
                throw VeilError(
                    .io,
                    "cannot write the summaries of past days to a temporary file: \(reason) (set TMPDIR to a directory with room)",
                    file: directory)
            }
            done += n
        }
        return Piece(offset: offset, length: bytes.count, input: input)
    }

    private func read(_ piece: Piece, contributions: Bool) throws(VeilError) -> AggregateState {
        let fd = lock.withLock { self.fd }
        var bytes = [UInt8](repeating: 0, count: piece.length)
        var done = 0
        while done < piece.length {
            let n = bytes.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress! + done, $0.count - done, off_t(piece.offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "it is shorter than written"
                throw VeilError(
                    .io, "cannot read the summaries of past days back from a temporary file: \(reason)", file: directory
                )
            }
            done += n
        }
        return try StateCodec.decode(bytes, file: "\(directory)/(sealed summaries)", contributions: contributions)
    }
}
