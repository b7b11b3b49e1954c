internal import CLzma

/// Streaming xz decompression over one liblzma stream decoder.
///
/// Reads concatenated streams (`cat a.xz b.xz`, and the stream padding xz allows between them)
/// as one input (`LZMA_CONCATENATED`); each stream's integrity check (CRC-32, CRC-64 or SHA-256,
/// as the writer chose) is verified. Decoding may use at most `memoryLimit` (128 MiB): the
/// stream's dictionary is most of it (8 MiB for `xz -6`, the default; 64 MiB for `xz -9`), and
/// a header that asks for more (the format allows 4 GiB) is refused, so that a small hostile
/// file cannot make veil allocate gigabytes. The legacy `.lzma` format (`lzma`, `xz
/// --format=lzma`) is not read: it has no magic number to tell it from other bytes.
final class XzDecoder: Decompressor {
    /// The most memory one decoder may use; twice what `xz -9` streams need.
    static let memoryLimit: UInt64 = 128 << 20

    /// The liblzma stream, owned and ended in `deinit`.
    private let stream: UnsafeMutablePointer<lzma_stream>
    /// The input name, for errors.
    private let name: String

    /// Creates a decoder for the input called `name` (used in errors).
    /// - Throws: `VeilError(.corruptInput)` if liblzma cannot set up a decoder (out of memory).
    init(name: String) throws(VeilError) {
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: veil_lzma_stream_init())
        let status = lzma_stream_decoder(stream, Self.memoryLimit, veil_lzma_concatenated())
        // On failure `deinit` still runs (every property is set) and ends the stream.
        guard status == LZMA_OK else { throw Self.error(for: status, name: name, at: 0) }
    }

    deinit {
        lzma_end(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int) {
        let (status, consumed, produced) = code(input, output, LZMA_RUN)
        guard status == LZMA_OK || status == LZMA_STREAM_END else {
            throw Self.error(for: status, name: name, at: inputOffset + Int64(consumed))
        }
        return (consumed, produced)
    }

    func finish(inputOffset: Int64) throws(VeilError) {
        // With concatenated streams only LZMA_FINISH tells the decoder that no stream follows:
        // it answers LZMA_STREAM_END when the input ended between streams.
        var spare = [UInt8](repeating: 0, count: 64)
        let (status, _, produced) = spare.withUnsafeMutableBytes { out in
            code(UnsafeRawBufferPointer(start: nil, count: 0), out, LZMA_FINISH)
        }
        if status == LZMA_STREAM_END && produced == 0 { return }
        if status == LZMA_OK || status == LZMA_BUF_ERROR || status == LZMA_STREAM_END {
            throw VeilError(
                .corruptInput, "truncated xz stream: input ends inside a stream", file: name, byteOffset: inputOffset)
        }
        throw Self.error(for: status, name: name, at: inputOffset)
    }

    /// One `lzma_code` call over `input` and `output`; the pointers are not kept.
    private func code(
        _ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, _ action: lzma_action
    ) -> (status: lzma_ret, consumed: Int, produced: Int) {
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
        let status = lzma_code(stream, action)
        let consumed = input.count - stream.pointee.avail_in
        let produced = output.count - stream.pointee.avail_out
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        return (status, consumed, produced)
    }

    /// Maps a failing liblzma status to a `VeilError`: the one place its results become errors.
    @inline(never)
    private static func error(for status: lzma_ret, name: String, at offset: Int64) -> VeilError {
        let what: String
        switch status {
        case LZMA_FORMAT_ERROR: what = "not an xz stream (bad header magic)"
        case LZMA_DATA_ERROR: what = "compressed data is corrupt or the integrity check failed"
        case LZMA_OPTIONS_ERROR: what = "unsupported stream options"
        case LZMA_UNSUPPORTED_CHECK: what = "unsupported integrity check"
        case LZMA_MEM_ERROR: what = "out of memory"
        case LZMA_MEMLIMIT_ERROR:
            what = "the stream needs more than \(memoryLimit >> 20) MiB to decompress (its dictionary size)"
        case LZMA_BUF_ERROR: what = "no progress possible (truncated input)"
        default: what = "liblzma status \(status.rawValue)"
        }
        return VeilError(.corruptInput, "corrupt xz data: \(what)", file: name, byteOffset: offset)
    }
}
