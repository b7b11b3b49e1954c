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
