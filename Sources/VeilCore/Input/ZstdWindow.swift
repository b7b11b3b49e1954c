internal import CZstd

/// Zstandard decompression into memory veil owns, so that decompressed bytes are read where
/// they were decoded and never copied out of the decoder.
///
/// Blocks are decoded one after another with the buffer-less API (`ZSTD_decompressContinue`)
/// into a ring of at least `ZSTD_decodingBufferSize_min` bytes: when the next block might not
/// fit before the ring's end, decoding goes on from its start, where the bytes are older than
/// the frame's window. The ring is the decoder's history — later blocks copy from it — so
/// nothing may write into it. In front of the ring lies room for a carried line: when the ring
/// wraps, the caller's unfinished last bytes (at most `carry`) move there, so that they and
/// the next block stay contiguous.
///
/// Consecutive frames and skippable frames are read until the input ends; a frame's window is
/// limited to zstd's default limit (128 MiB), so a frame made with `zstd --long=31` is refused
/// instead of taking gigabytes of memory. The frame checksum, when present, is verified.
final class ZstdWindow {
    /// The largest window accepted: zstd's default `ZSTD_d_windowLogMax` (2^27).
    static let maxWindowSize: UInt64 = 1 << 27

    /// The decompression context; owned, freed in `deinit`.
    private let context: OpaquePointer
    /// The input name, for errors.
    private let name: String
    /// Room in front of the ring for carried bytes.
    private var carry = 0
    /// The allocation: `carry` bytes, then `ringSize` bytes of ring. Nil before the first frame.
    private(set) var base: UnsafeMutablePointer<UInt8>?
    private var ringSize = 0
    /// Where the next block goes (an offset from `base`); the bytes before it, back to the
    /// last wrap, are the ring's current run.
    private var writeOffset = 0
    /// The current frame's largest block.
    private var blockSizeMax = 0
    /// True between a frame's header and the end of its last block (or checksum).
    private var inFrame = false

    /// Creates a decoder for the input called `name` (used in errors).
    init(name: String) throws(VeilError) {
        guard let context = ZSTD_createDCtx() else {
            throw VeilError(.io, "cannot allocate a zstd decompression context", file: name)
        }
        self.context = context
        self.name = name
    }

    deinit {
        ZSTD_freeDCtx(context)
        base?.deallocate()
    }

    /// Reserves `bytes` of room for a carried tail (only grows; takes effect from the next
    /// allocation, so set it before the first `extend`).
    func reserveCarry(_ bytes: Int) {
        if base == nil { carry = max(carry, bytes) }
    }

    /// Decodes until new bytes follow the last `tail` bytes before the write position.
    ///
    /// - Parameters:
    ///   - tail: how many of the bytes decoded last the caller still needs (at most the room
    ///     reserved with `reserveCarry`); they stay contiguous with the new bytes, moved in
    ///     front of the ring when it wraps.
    ///   - source: where the compressed bytes come from.
    /// - Returns: the tail's offset from `base` (which may have changed) and how many bytes
    ///   follow it; 0 at the end of the input.
    /// - Throws: `VeilError.Code.corruptInput` for corrupt or truncated data, naming the
    ///   compressed offset of the frame header or block that failed.
    func extend(keeping tail: Int, from source: ByteSource) throws(VeilError)
        -> (tailStart: Int, produced: Int)
    {
        while true {
            if !inFrame {
                guard try beginFrame(keeping: tail, from: source) else {
                    return (writeOffset - tail, 0)
                }
                continue
            }
            let need = ZSTD_nextSrcSizeToDecompress(context)
            if need == 0 {
                inFrame = false
                continue
            }
            let input = try source.rawBytes(atLeast: need)
            guard input.count >= need else { throw truncated(at: source.rawPosition + Int64(input.count)) }
            if writeOffset + blockSizeMax > carry + ringSize { moveTail(tail, to: base!) }
            let produced = ZSTD_decompressContinue(
                context, base! + writeOffset, carry + ringSize - writeOffset, input.baseAddress, need)
            if ZSTD_isError(produced) != 0 { throw error(for: produced, at: source.rawPosition) }
            source.consumeRaw(need)
            if produced > 0 {
                let tailStart = writeOffset - tail
                writeOffset += produced
                return (tailStart, produced)
            }
        }
    }

    /// Reads the next frame header: skips skippable frames, checks the window, sizes the ring
    /// and starts the frame. Returns false at the end of the input.
    private func beginFrame(keeping tail: Int, from source: ByteSource) throws(VeilError) -> Bool {
        while true {
            var available = try source.rawBytes(atLeast: 5)
            if available.isEmpty { return false }
            var header = ZSTD_frameHeader()
            var result = ZSTD_getFrameHeader(&header, available.baseAddress, available.count)
            while ZSTD_isError(result) == 0 && result > 0 {
                available = try source.rawBytes(atLeast: result)
                guard available.count >= result else {
                    throw truncated(at: source.rawPosition + Int64(available.count))
                }
                result = ZSTD_getFrameHeader(&header, available.baseAddress, available.count)
            }
            if ZSTD_isError(result) != 0 { throw error(for: result, at: source.rawPosition) }
            if header.frameType == ZSTD_skippableFrame {
                // The 8-byte header (magic, size) and the content; `headerSize` is not filled
                // for skippable frames by every libzstd.
                let length = 8 + Int64(header.frameContentSize)
                guard try source.skipRaw(length) else { throw truncated(at: source.rawPosition) }
                continue
            }
            guard header.windowSize <= Self.maxWindowSize else {
                throw VeilError(
                    .corruptInput,
                    "corrupt zstd data: Frame requires too much memory for decoding (window over 128 MiB, made with --long?)",
                    file: name, byteOffset: source.rawPosition)
            }
            let needed = ZSTD_decodingBufferSize_min(header.windowSize, ZSTD_CONTENTSIZE_UNKNOWN)
            if ZSTD_isError(needed) != 0 { throw error(for: needed, at: source.rawPosition) }
            if needed > ringSize || base == nil {
                // A frame does not refer to the bytes of the frames before it: a new ring can
                // take over from here.
                let size = max(needed, 1 << 18)
                let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: carry + size)
                moveTail(tail, to: fresh)
                base?.deallocate()
                base = fresh
                ringSize = size
            }
            blockSizeMax = Int(header.blockSizeMax)
            let begun = ZSTD_decompressBegin(context)
            if ZSTD_isError(begun) != 0 { throw error(for: begun, at: source.rawPosition) }
            inFrame = true
            return true
        }
    }

    /// Moves the last `tail` bytes before the write position to end where the ring of
    /// `target` starts, and makes that the write position.
    private func moveTail(_ tail: Int, to target: UnsafeMutablePointer<UInt8>) {
        precondition(tail <= carry, "a carried tail is longer than the room reserved for it")
        if tail > 0 {
            // Safe: both ranges lie in their allocations; `update(from:)` on overlapping
            // ranges of one allocation is a memmove.
            UnsafeMutableRawPointer(target + carry - tail).copyMemory(
                from: base! + writeOffset - tail, byteCount: tail)
        }
        writeOffset = carry
    }

    private func truncated(at offset: Int64) -> VeilError {
        VeilError(
            .corruptInput, "truncated zstd stream: input ends inside a frame", file: name,
            byteOffset: offset)
    }

    /// Maps a zstd error code to a `VeilError`: the one place zstd results become errors.
    @inline(never)
    private func error(for code: Int, at offset: Int64) -> VeilError {
        let errorName = String(cString: ZSTD_getErrorName(code))
        switch ZSTD_getErrorCode(code) {
        case ZSTD_error_memory_allocation:
            return VeilError(
                .io, "out of memory in zstd: \(errorName)", file: name, byteOffset: offset)
        default:
            return VeilError(
                .corruptInput, "corrupt zstd data: \(errorName)", file: name, byteOffset: offset)
        }
    }
}
