internal import CBzip2

/// Streaming bzip2 decompression over one libbz2 `bz_stream`.
///
/// Handles concatenated streams (`cat a.bz2 b.bz2`, and the output of parallel compressors
/// such as `pbzip2`, which writes one stream per block): after a stream ends, the next bytes must
/// start another (`BZh`), and the decoder is reset for it, or be zero bytes to the end of the
/// input (`TrailingPadding`, which `bzip2 -d` skips with a warning). Anything else after a
/// stream is an error, as is input that ends inside one. Each block's and stream's CRC is
/// checked by libbz2.
final class Bzip2Decoder: Decompressor {
    /// The libbz2 stream (its state about 64 KiB plus the block size's 400 KiB–3.6 MiB), owned
    /// and ended in `deinit`.
    private let stream: UnsafeMutablePointer<bz_stream>
    /// The input name, for errors.
    private let name: String
    /// True after a stream ended and before the next starts.
    private var streamEnded = false
    /// Zero bytes after the last stream.
    private var padding = TrailingPadding(format: "bzip2", part: "stream")

    /// Creates a decoder for the input called `name` (used in errors).
    /// - Throws: `VeilError(.corruptInput)` if libbz2 cannot set up a decoder (out of memory).
    init(name: String) throws(VeilError) {
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: bz_stream())
        let status = BZ2_bzDecompressInit(stream, 0, 0)
        // On failure `deinit` still runs (every property is set); ending an uninitialised
        // stream is a no-op for libbz2.
        guard status == BZ_OK else { throw Self.error(for: status, name: name, at: 0) }
    }

    deinit {
        BZ2_bzDecompressEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int) {
        if streamEnded {
            guard !input.isEmpty else { return (0, 0) }
            if let zeros = try padding.skip(input, inputOffset: inputOffset, name: name) { return (zeros, 0) }
            let magic: [UInt8] = [0x42, 0x5a, 0x68]  // "BZh"
            for k in 0..<min(3, input.count) where input[k] != magic[k] {
                throw VeilError(
                    .corruptInput, "corrupt bzip2 data: trailing bytes after a stream are not a bzip2 header",
                    file: name, byteOffset: inputOffset + Int64(k))
            }
            BZ2_bzDecompressEnd(stream)
            stream.pointee = bz_stream()
            let status = BZ2_bzDecompressInit(stream, 0, 0)
            guard status == BZ_OK else { throw Self.error(for: status, name: name, at: inputOffset) }
            streamEnded = false
        }
        // libbz2 counts in 32 bits; the rest is offered on the next call.
        let inCount = min(input.count, Int(UInt32.max))
        let outCount = min(output.count, Int(UInt32.max))
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: CChar.self))
        stream.pointee.avail_in = UInt32(inCount)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: CChar.self)
        stream.pointee.avail_out = UInt32(outCount)
        let status = BZ2_bzDecompress(stream)
        let consumed = inCount - Int(stream.pointee.avail_in)
        let produced = outCount - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch status {
        case BZ_OK: break
        case BZ_STREAM_END: streamEnded = true
        default: throw Self.error(for: status, name: name, at: inputOffset + Int64(consumed))
        }
        return (consumed, produced)
    }

    func finish(inputOffset: Int64) throws(VeilError) {
        if !streamEnded {
            throw VeilError(
                .corruptInput, "truncated bzip2 stream: input ends inside a stream", file: name,
                byteOffset: inputOffset)
        }
    }

    /// Maps a failing libbz2 status to a `VeilError`: the one place its results become errors.
    @inline(never)
    private static func error(for status: Int32, name: String, at offset: Int64) -> VeilError {
        let what: String
        switch status {
        case BZ_DATA_ERROR: what = "compressed data is corrupt or a CRC does not match"
        case BZ_DATA_ERROR_MAGIC: what = "not a bzip2 stream (bad header magic)"
        case BZ_MEM_ERROR: what = "out of memory"
        case BZ_PARAM_ERROR: what = "bad parameters"
        default: what = "libbz2 status \(status)"
        }
        return VeilError(.corruptInput, "corrupt bzip2 data: \(what)", file: name, byteOffset: offset)
    }
}
