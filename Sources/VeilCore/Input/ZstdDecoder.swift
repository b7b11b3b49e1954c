internal import CZstd

/// Streaming Zstandard decompression over one `ZSTD_DCtx`.
///
/// Consecutive frames and skippable frames are handled by feeding `ZSTD_decompressStream` until
/// the input ends. The decoding window is limited to zstd's default (128 MiB), so a frame made
/// with `zstd --long=31` is refused instead of taking gigabytes of memory.
final class ZstdDecoder: Decompressor {
    /// The decompression context; owned, freed in `deinit`.
    private let context: OpaquePointer
    /// The input name, for errors.
    private let name: String
    /// True when the last call that made progress ended exactly after a frame
    /// (`ZSTD_decompressStream` returned 0). Input that ends elsewhere is truncated.
    private var atFrameBoundary = true

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
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(result) != 0 {
            throw error(for: result, at: inputOffset + Int64(inBuffer.pos))
        }
        if inBuffer.pos > 0 || outBuffer.pos > 0 {
            // A call without progress (empty input at a boundary) answers with a size hint for
            // the next frame header; it says nothing about where the input stands.
            atFrameBoundary = result == 0
        }
        return (inBuffer.pos, outBuffer.pos)
    }

    func finish(inputOffset: Int64) throws(VeilError) {
        if !atFrameBoundary {
            throw VeilError(
                .corruptInput, "truncated zstd stream: input ends inside a frame",
                file: name, byteOffset: inputOffset)
        }
    }

    /// Maps a zstd error code to a `VeilError`: the one place zstd results become errors.
    @inline(never)
    private func error(for code: Int, at offset: Int64) -> VeilError {
        let errorName = String(cString: ZSTD_getErrorName(code))
        switch ZSTD_getErrorCode(code) {
        case ZSTD_error_memory_allocation:
            return VeilError(
                .io, "out of memory in zstd: \(errorName)", file: name, byteOffset: offset)
        case ZSTD_error_frameParameter_windowTooLarge:
            return VeilError(
                .corruptInput,
                "corrupt zstd data: \(errorName) (window over 128 MiB, made with --long?)",
                file: name, byteOffset: offset)
        default:
            return VeilError(
                .corruptInput, "corrupt zstd data: \(errorName)", file: name, byteOffset: offset)
        }
    }
}
