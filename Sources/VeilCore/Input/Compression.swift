/// How an input file is compressed, as told by its first bytes.
///
/// veil never trusts a file name extension: `access.log.gz` that is really plain text is read as
/// plain text, and a zstd file named `access.log` is decompressed.
public enum Compression: String, Sendable, CaseIterable {
    /// Not compressed (or not a format veil knows): bytes are passed through.
    case plain
    /// gzip (RFC 1952), one or more members.
    case gzip
    /// Zstandard (RFC 8878), one or more frames, skippable frames included.
    case zstd
    /// xz (the `.xz` container of LZMA2), one or more streams.
    case xz
    /// bzip2, one or more streams.
    case bzip2

    /// How many leading bytes `detect(prefix:)` needs to decide; fewer is fine at end of input.
    public static let magicLength = 4

    /// Detects the compression from the first bytes of an input.
    ///
    /// - gzip: `1f 8b`.
    /// - zstd: a frame (`28 b5 2f fd`) or a skippable frame (little-endian magic
    ///   `0x184D2A50`…`0x184D2A5F`, that is `5? 2a 4d 18`), which may precede the first frame.
    /// - xz: `fd 37 7a 58` (the first four bytes of its six-byte magic; the decoder checks all six).
    /// - bzip2: `42 5a 68` (`BZh`) followed by a block size digit `1`…`9`.
    /// - anything else, including an empty or too-short prefix: plain.
    ///
    /// - Parameter prefix: the first `magicLength` bytes of the input, or all of it if shorter.
    public static func detect(prefix: UnsafeRawBufferPointer) -> Compression {
        if prefix.count >= 2, prefix[0] == 0x1f, prefix[1] == 0x8b {
            return .gzip
        }
        guard prefix.count >= 4 else { return .plain }
        if prefix[0] == 0x28, prefix[1] == 0xb5, prefix[2] == 0x2f, prefix[3] == 0xfd {
            return .zstd
        }
        if prefix[0] & 0xf0 == 0x50, prefix[1] == 0x2a, prefix[2] == 0x4d, prefix[3] == 0x18 {
            return .zstd
        }
        if prefix[0] == 0xfd, prefix[1] == 0x37, prefix[2] == 0x7a, prefix[3] == 0x58 {
            return .xz
        }
        if prefix[0] == 0x42, prefix[1] == 0x5a, prefix[2] == 0x68, prefix[3] &- 0x31 < 9 {
            return .bzip2
        }
        return .plain
    }

    /// Detects the compression from the first bytes of an input held in an array.
    public static func detect(prefix: [UInt8]) -> Compression {
        prefix.withUnsafeBytes { detect(prefix: $0) }
    }
}
