internal import CZlib

/// Streaming gzip decompression over one zlib `z_stream`.
///
/// Handles multi-member files (`cat a.gz b.gz`): after a member ends, the next bytes must start
/// another gzip member, and the stream is reset for it. Anything else after a member is an error,
/// as is input that ends inside a member.
final class GzipDecoder: Decompressor {
    /// The zlib stream; heap-allocated because zlib's state points back to it, owned, ended and
    /// freed in `deinit`.
    private let stream: UnsafeMutablePointer<z_stream>
    /// The input name, for errors.
    private let name: String
    /// True after `inflate` returned `Z_STREAM_END` and before the next member starts.
    private var memberEnded = false

    /// zlib window bits: 15 (32 KiB, the maximum) + 16 to accept the gzip wrapper only.
    private static let windowBits: Int32 = 15 + 16

    /// Creates a decoder for the input called `name` (used in errors).
    init(name: String) throws(VeilError) {
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = veil_inflateInit2(stream, Self.windowBits)
        if status != Z_OK {
            let failure = Self.error(for: status, stream: stream, name: name, at: 0)
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw failure
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int) {
        if memberEnded {
            guard !input.isEmpty else { return (0, 0) }
            if input[0] != 0x1f || (input.count > 1 && input[1] != 0x8b) {
                throw VeilError(
                    .corruptInput,
                    "corrupt gzip data: trailing bytes after a member are not a gzip header",
                    file: name, byteOffset: inputOffset)
            }
            try check(inflateReset(stream), at: inputOffset)
            memberEnded = false
        }
        // zlib counts in 32 bits; the rest is offered on the next call.
        let inCount = min(input.count, Int(UInt32.max))
        let outCount = min(output.count, Int(UInt32.max))
        stream.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(inCount)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(outCount)
        let status = inflate(stream, Z_NO_FLUSH)
        let consumed = inCount - Int(stream.pointee.avail_in)
        let produced = outCount - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        if try check(status, at: inputOffset + Int64(consumed)) {
            memberEnded = true
        }
        return (consumed, produced)
    }

    func finish(inputOffset: Int64) throws(VeilError) {
        if !memberEnded {
            throw VeilError(
                .corruptInput, "truncated gzip stream: input ends inside a member",
                file: name, byteOffset: inputOffset)
        }
    }

    /// Checks a zlib status: returns true at the end of a member, throws on failure.
    @discardableResult
    private func check(_ status: Int32, at offset: Int64) throws(VeilError) -> Bool {
        switch status {
        case Z_OK, Z_BUF_ERROR:  // Z_BUF_ERROR: no progress possible now; more input is needed
            return false
        case Z_STREAM_END:
            return true
        default:
            throw Self.error(for: status, stream: stream, name: name, at: offset)
        }
    }

    /// Maps a failing zlib status to a `VeilError`: the one place zlib results become errors.
    ///
    /// zlib's own message (`strm->msg`) is a fixed string from the library, never input bytes.
    @inline(never)
    private static func error(
        for status: Int32, stream: UnsafeMutablePointer<z_stream>, name: String, at offset: Int64
    ) -> VeilError {
        let detail = stream.pointee.msg.map { String(cString: $0) }
        let codeName: String
        switch status {
        case Z_DATA_ERROR: codeName = "Z_DATA_ERROR"
        case Z_NEED_DICT: codeName = "Z_NEED_DICT"
        case Z_STREAM_ERROR: codeName = "Z_STREAM_ERROR"
        case Z_MEM_ERROR: codeName = "Z_MEM_ERROR"
        case Z_VERSION_ERROR: codeName = "Z_VERSION_ERROR"
        case Z_ERRNO: codeName = "Z_ERRNO"
        default: codeName = "zlib status \(status)"
        }
        let what = detail.map { "\(codeName) (\($0))" } ?? codeName
        switch status {
        case Z_MEM_ERROR:
            return VeilError(.io, "out of memory in zlib: \(what)", file: name, byteOffset: offset)
        case Z_VERSION_ERROR, Z_STREAM_ERROR:
            return VeilError(.io, "zlib failure: \(what)", file: name, byteOffset: offset)
        default:
            return VeilError(
                .corruptInput, "corrupt gzip data: \(what)", file: name, byteOffset: offset)
        }
    }
}
