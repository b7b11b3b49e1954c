/// A streaming decompressor that a `ByteSource` feeds with raw (compressed) bytes.
///
/// Implementations own their C handle and map every C return code to `VeilError` in one place.
/// They never allocate per call and never buffer more than the C library itself does, so memory
/// stays bounded whatever the expansion ratio.
protocol Decompressor: AnyObject {
    /// Decompresses from the start of `input` into `output`.
    ///
    /// Called again with the unconsumed rest of `input` (possibly empty) as long as the previous
    /// call filled `output`: the library may still hold decompressed bytes.
    ///
    /// - Parameters:
    ///   - input: raw bytes; may be empty.
    ///   - output: where decompressed bytes go; never empty.
    ///   - inputOffset: the offset of `input[0]` in the compressed file, for errors.
    /// - Returns: how many bytes of `input` were consumed and of `output` were written.
    /// - Throws: `VeilError.Code.corruptInput` for corrupt data.
    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int)

    /// Checks that the input ended between frames (zstd), members (gzip) or streams (xz, bzip2).
    ///
    /// - Parameter inputOffset: the compressed size, for errors.
    /// - Throws: `VeilError.Code.corruptInput` ("truncated …") if it ended inside one.
    func finish(inputOffset: Int64) throws(VeilError)
}

/// Zero bytes after the last gzip member or bzip2 stream: padding, as tape blocks, block-aligned
/// copies and preallocated files leave it, which `gzip -d` skips too and `bzip2 -d` skips with a
/// warning (xz's format has stream padding of its own). Once padding has started, only zeros may
/// follow to the end of the input: another member or stream after it, or any other byte, is an
/// error at that byte.
struct TrailingPadding {
    /// The format's name and what its parts are called, for errors (`gzip`, `member`).
    let format: String
    let part: String
    /// True once a zero byte followed the last member or stream.
    private(set) var started = false

    /// Skips the zero bytes that start `input`, read after a member or stream ended.
    ///
    /// - Returns: nil when no padding has started and `input` does not start with a zero byte
    ///   (it may hold another member or stream); otherwise how many bytes were consumed: all of
    ///   `input`.
    /// - Throws: `VeilError.Code.corruptInput` at the first byte after the padding that is not
    ///   zero.
    mutating func skip(_ input: UnsafeRawBufferPointer, inputOffset: Int64, name: String) throws(VeilError) -> Int? {
        guard started || input.first == 0 else { return nil }
        started = true
        var count = 0
        while count < input.count && input[count] == 0 { count += 1 }
        guard count == input.count else {
            throw VeilError(
                .corruptInput, "corrupt \(format) data: bytes after the zero padding that follows the last \(part)",
                file: name, byteOffset: inputOffset + Int64(count))
        }
        return count
    }
}
