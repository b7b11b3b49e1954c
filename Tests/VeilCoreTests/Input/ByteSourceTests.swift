import Foundation
import Testing

@testable import VeilCore

// MARK: - Fixtures

/// Deterministic synthetic access-log text (documentation addresses, example.com only).
private func syntheticLog(lines: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    func next(_ bound: UInt64) -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (state >> 33) % bound
    }
    let networks = ["192.0.2.", "198.51.100.", "203.0.113."]
    let paths = [
        "/", "/index.html", "/blog/post-", "/static/app.js", "/img/logo.png", "/search?q=t",
    ]
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
        "curl/8.5.0",
    ]
    var text = ""
    for index in 0..<lines {
        let ip = networks[Int(next(3))] + String(next(254) + 1)
        let path = paths[Int(next(UInt64(paths.count)))] + String(next(1000))
        let status = [200, 200, 200, 304, 404, 500][Int(next(6))]
        text += "\(ip) - - [28/Nov/2026:10:\(10 + index % 50):\(10 + index % 49) +0000] "
        text += "\"GET \(path) HTTP/1.1\" \(status) \(next(90_000)) "
        text += "\"https://www.example.com/ref\" \"\(agents[Int(next(3))])\"\n"
    }
    return Array(text.utf8)
}

/// The shared test text: a few thousand lines, and a shorter one for byte-at-a-time reads.
private let logText = syntheticLog(lines: 3000, seed: 1)
private let shortText = syntheticLog(lines: 300, seed: 2)

/// A temporary directory, removed by `remove()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("veil-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` to `name` and returns the path.
    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }
}

/// Compresses `bytes` with the real command-line tool (`gzip -c -n`, `zstd -q -c` with
/// `zstdOptions` such as `--zstd=wlog=10`, `xz -c`, `bzip2 -c`).
func compress(
    _ bytes: [UInt8], with compression: Compression, in dir: TempDir, zstdOptions: [String] = []
) throws -> [UInt8] {
    guard compression != .plain else { return bytes }
    let input = try dir.write(bytes, to: "in-\(UUID().uuidString)")
    let output = dir.url.appendingPathComponent("out-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    switch compression {
    case .plain: break
    case .gzip: process.arguments = ["gzip", "-c", "-n", input]
    case .zstd: process.arguments = ["zstd", "-q", "-c"] + zstdOptions + [input]
    case .xz: process.arguments = ["xz", "-c", input]
    case .bzip2: process.arguments = ["bzip2", "-c", input]
    }
    process.standardOutput = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    #expect(process.terminationStatus == 0, "\(compression) tool failed")
    return Array(try Data(contentsOf: output))
}

/// A zstd skippable frame: little-endian magic `0x184D2A50 + variant`, little-endian size, payload.
private func skippableFrame(variant: UInt32, payload: [UInt8]) -> [UInt8] {
    precondition(variant < 16)
    func le(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
    return le(0x184D_2A50 + variant) + le(UInt32(payload.count)) + payload
}

/// Reads a source to its end with a caller buffer of `bufferSize` bytes.
private func readAll(_ source: ByteSource, bufferSize: Int) throws(VeilError) -> [UInt8] {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    defer { buffer.deallocate() }
    var result: [UInt8] = []
    while true {
        let count = try source.read(into: buffer)
        if count == 0 { return result }
        #expect(count <= bufferSize)
        result.append(contentsOf: buffer[..<count])
    }
}

/// Reads the file at `path` to its end, returning the error it throws.
private func readError(path: String, blockSize: Int = 1 << 20) -> VeilError? {
    do {
        let source = try ByteSource(path: path, blockSize: blockSize)
        _ = try readAll(source, bufferSize: 4096)
        return nil
    } catch {
        return error
    }
}

/// FNV-1a, 64 bits: a checksum to compare byte streams.
private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    var count = 0
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x100_0000_01b3 }
        count += bytes.count
    }
}

// MARK: - Detection

@Suite struct CompressionDetectionTests {
    @Test(
        arguments: [
            ([], Compression.plain, "empty input is plain"),
            ([0x1f], .plain, "one byte cannot be a gzip header"),
            ([0x1f, 0x8b], .gzip, "gzip magic"),
            ([0x1f, 0x8c, 0x08, 0x00], .plain, "second gzip magic byte wrong"),
            ([0x28, 0xb5, 0x2f, 0xfd], .zstd, "zstd frame magic"),
            ([0x28, 0xb5, 0x2f], .plain, "zstd magic cut short"),
            ([0x28, 0xb5, 0x2f, 0xfe], .plain, "last zstd magic byte wrong"),
            ([0x50, 0x2a, 0x4d, 0x18], .zstd, "first skippable frame magic"),
            ([0x5f, 0x2a, 0x4d, 0x18], .zstd, "last skippable frame magic"),
            ([0x60, 0x2a, 0x4d, 0x18], .plain, "just past the skippable range"),
            ([0x4f, 0x2a, 0x4d, 0x18], .plain, "just before the skippable range"),
            ([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], .xz, "xz magic"),
            ([0xfd, 0x37, 0x7a], .plain, "xz magic cut short"),
            ([0xfd, 0x37, 0x7a, 0x59], .plain, "fourth xz magic byte wrong"),
            (Array("BZh9".utf8), .bzip2, "bzip2 magic, block size 9"),
            (Array("BZh1".utf8), .bzip2, "bzip2 magic, block size 1"),
            (Array("BZh0".utf8), .plain, "bzip2 block size 0 does not exist"),
            (Array("BZhA".utf8), .plain, "bzip2 block size not a digit"),
            (Array("BZh".utf8), .plain, "bzip2 magic without its block size"),
            (Array("192.0.2.1 - -".utf8), .plain, "log text"),
        ] as [([UInt8], Compression, String)])
    func detect(prefix: [UInt8], expected: Compression, reason: String) {
        #expect(Compression.detect(prefix: prefix) == expected, "\(reason)")
    }
}

// MARK: - Round trips

@Suite struct ByteSourceTests {
    @Test(arguments: Compression.allCases)
    func roundTripFromFile(compression: Compression) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: compression, in: dir)
        let path = try dir.write(file, to: "access.log")
        let source = try ByteSource(path: path)
        #expect(source.path == path)
        #expect(source.compression == compression)
        #expect(source.totalBytes == Int64(file.count))
        let bytes = try readAll(source, bufferSize: 64 * 1024)
        #expect(bytes == logText)
        #expect(source.compressedBytesRead == Int64(file.count))
        #expect(source.bytesProduced == Int64(logText.count))
        // The end stays the end.
        #expect(try readAll(source, bufferSize: 16).isEmpty)
    }

    @Test(arguments: Compression.allCases, [1, 7, 4096, 1 << 20])
    func callerBufferSizes(compression: Compression, bufferSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let text = bufferSize == 1 ? shortText : logText
        let file = try compress(text, with: compression, in: dir)
        let path = try dir.write(file, to: "access.log")
        let source = try ByteSource(path: path)
        #expect(try readAll(source, bufferSize: bufferSize) == text)
        #expect(source.compressedBytesRead == Int64(file.count))
    }

    @Test(arguments: Compression.allCases, [16, 17, 4099])
    func smallRawBlocks(compression: Compression, blockSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: compression, in: dir)
        let source = try ByteSource(bytes: file, name: "memory", blockSize: blockSize)
        #expect(source.compression == compression)
        #expect(try readAll(source, bufferSize: 1000) == logText)
        #expect(source.compressedBytesRead == Int64(file.count))
    }

    /// Zero bytes after the last gzip member or bzip2 stream are padding (tape blocks,
    /// block-aligned copies), read past as `gzip -d` and `bzip2 -d` read past them, also when
    /// they arrive in pieces.
    @Test(arguments: [Compression.gzip, .bzip2], [16, 1 << 20])
    func zeroPaddingAfterTheLastMemberOrStream(compression: Compression, blockSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: compression, in: dir)
        for (input, text) in [(file, logText), (file + file, logText + logText)] {
            for zeros in [1, 3, 100, 5000] {
                let padded = input + [UInt8](repeating: 0, count: zeros)
                let source = try ByteSource(bytes: padded, name: "memory", blockSize: blockSize)
                #expect(try readAll(source, bufferSize: 1000) == text)
                #expect(source.compressedBytesRead == Int64(padded.count))
            }
        }
    }

    @Test func multiMemberGzip() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = Array(logText[..<100_000])
        let second = Array(logText[100_000...])
        let file =
            try compress([], with: .gzip, in: dir)  // an empty member
            + compress(first, with: .gzip, in: dir) + compress(second, with: .gzip, in: dir)
        let path = try dir.write(file, to: "two.gz")
        for bufferSize in [7, 1 << 20] {
            let source = try ByteSource(path: path, blockSize: 4096)
            #expect(source.compression == .gzip)
            #expect(try readAll(source, bufferSize: bufferSize) == logText)
            #expect(source.compressedBytesRead == Int64(file.count))
        }
    }

    /// A gzip header may carry an extra field, a file name, a comment and a header CRC-16
    /// (RFC 1952 FEXTRA, FNAME, FCOMMENT, FHCRC); all are skipped, in every member.
    @Test func gzipHeaderWithEveryOptionalField() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let plain = try compress(logText, with: .gzip, in: dir)  // `gzip -n`: no optional field
        #expect(plain[3] == 0)
        var header: [UInt8] = [0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10 | 0x02, 0x78, 0x56, 0x34, 0x12, 0, 3]
        let extra: [UInt8] = [0x41, 0x70, 4, 0, 1, 2, 3, 4]  // one subfield "Ap" of 4 bytes
        header += [UInt8(extra.count), 0] + extra
        header += Array("access.log-20261128".utf8) + [0]
        header += Array("rotated at midnight".utf8) + [0]
        let crc = BinaryCodecTests.referenceCRC(header, polynomial: 0xEDB8_8320)
        header += [UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff)]
        let member = header + plain[10...]
        let path = try dir.write(member + member, to: "fields.gz")
        for blockSize in [1 << 20, 16] {
            let source = try ByteSource(path: path, blockSize: blockSize)
            do {
                #expect(try readAll(source, bufferSize: 4096) == logText + logText, "block size \(blockSize)")
            } catch {
                Issue.record("block size \(blockSize): \(error)")
            }
        }
        // A header CRC that does not match is corrupt data, not a truncated stream.
        var wrong = member
        wrong[header.count - 1] ^= 0xff
        let error = try #require(readError(path: try dir.write(wrong, to: "hcrc.gz")))
        #expect(error.code == .corruptInput)
        #expect(error.message.hasPrefix("corrupt gzip data"), "\(error.message)")
    }

    /// Concatenated xz and bzip2 files (`cat a.xz b.xz`; `pbzip2` writes one bzip2 stream per
    /// block) read as one input, an empty stream among them; xz also allows zero padding in
    /// multiples of four bytes between streams.
    @Test(arguments: [Compression.xz, .bzip2])
    func concatenatedStreams(compression: Compression) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = Array(logText[..<100_000])
        let second = Array(logText[100_000...])
        let padding: [UInt8] = compression == .xz ? [0, 0, 0, 0] : []
        let file =
            try compress([], with: compression, in: dir) + compress(first, with: compression, in: dir)
            + padding + compress(second, with: compression, in: dir)
        for blockSize in [16, 4099, 1 << 20] {
            let source = try ByteSource(bytes: file, name: "two", blockSize: blockSize)
            #expect(source.compression == compression)
            #expect(try readAll(source, bufferSize: 4096) == logText, "block size \(blockSize)")
        }
    }

    /// An xz block header that asks for a 4 GiB dictionary (the format's largest; the file
    /// itself is small) is refused before anything is allocated for it, naming the limit.
    @Test func xzDictionaryOverTheMemoryLimit() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var file = try compress(logText, with: .xz, in: dir)
        // `xz -c`: a 12-byte stream header, then the block header: its size, flags (one filter,
        // no sizes), the LZMA2 filter id 0x21, one property byte (the dictionary size), padding
        // and a CRC-32 of those 8 bytes.
        try #require(file[12] == 2 && file[13] == 0 && file[14] == 0x21 && file[15] == 1)
        file[16] = 40  // 4 GiB - 1
        let crc = crc32(file[12..<20])
        for k in 0..<4 { file[20 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        let path = try dir.write(file, to: "huge-dictionary.xz")
        let error = try #require(readError(path: path))
        #expect(error.code == .corruptInput)
        #expect(error.message.contains("needs more than 128 MiB"), "\(error.message)")
        #expect(error.file == path && error.byteOffset != nil)
        // The same stream with its own dictionary (8 MiB) reads.
        #expect(
            try readAll(ByteSource(bytes: try compress(logText, with: .xz, in: dir), name: "ok"), bufferSize: 4096)
                == logText)
    }

    /// CRC-32 (IEEE 802.3, reflected), bit by bit: for a few header bytes.
    private func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xedb8_8320 : c >> 1 }
        }
        return ~c
    }

    @Test func multiFrameZstd() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = Array(logText[..<100_000])
        let second = Array(logText[100_000...])
        let file =
            try compress([], with: .zstd, in: dir)  // a frame with no content
            + compress(first, with: .zstd, in: dir) + compress(second, with: .zstd, in: dir)
        let path = try dir.write(file, to: "two.zst")
        for bufferSize in [7, 1 << 20] {
            let source = try ByteSource(path: path, blockSize: 4096)
            #expect(source.compression == .zstd)
            #expect(try readAll(source, bufferSize: bufferSize) == logText)
            #expect(source.compressedBytesRead == Int64(file.count))
        }
    }

    @Test func zstdSkippableFrames() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let first = Array(logText[..<50_000])
        let second = Array(logText[50_000...])
        let file =
            try skippableFrame(variant: 0, payload: Array(repeating: 0xAA, count: 300))
            + compress(first, with: .zstd, in: dir)
            + skippableFrame(variant: 0xF, payload: Array("metadata".utf8))
            + skippableFrame(variant: 3, payload: [])
            + compress(second, with: .zstd, in: dir)
        let path = try dir.write(file, to: "skippable.zst")
        for blockSize in [16, 1 << 20] {
            let source = try ByteSource(path: path, blockSize: blockSize)
            #expect(source.compression == .zstd, "a skippable frame first still means zstd")
            #expect(try readAll(source, bufferSize: 4096) == logText)
            #expect(source.compressedBytesRead == Int64(file.count))
        }
    }

    @Test func onlySkippableFrameIsEmptyZstd() throws {
        let source = try ByteSource(
            bytes: skippableFrame(variant: 1, payload: [1, 2, 3]), name: "skip-only")
        #expect(source.compression == .zstd)
        #expect(try readAll(source, bufferSize: 64).isEmpty)
        #expect(source.compressedBytesRead == 11)
    }

    @Test func emptyFileIsPlain() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let path = try dir.write([], to: "empty.log")
        let source = try ByteSource(path: path)
        #expect(source.compression == .plain)
        #expect(try readAll(source, bufferSize: 64).isEmpty)
        #expect(source.compressedBytesRead == 0)
        #expect(source.bytesProduced == 0)
    }

    /// Highly compressible input: the whole compressed file fits in one raw block and the output
    /// drains over many calls, into the caller's buffer only.
    @Test(arguments: [Compression.gzip, .zstd, .xz, .bzip2])
    func highExpansionRatio(compression: Compression) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let size = 8 << 20
        let file = try compress([UInt8](repeating: 0, count: size), with: compression, in: dir)
        #expect(file.count < size / 500)
        let source = try ByteSource(bytes: file, name: "zeros")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 1)
        defer { buffer.deallocate() }
        let zeros = [UInt8](repeating: 0, count: 65_536)
        var total = 0
        var allZero = true
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            total += count
            allZero =
                allZero
                && zeros.withUnsafeBytes {
                    memcmp($0.baseAddress!, buffer.baseAddress!, count) == 0
                }
        }
        #expect(total == size)
        #expect(allZero)
        #expect(source.bytesProduced == Int64(size))
    }

    // MARK: Raw observer

    @Test(arguments: Compression.allCases, [16, 4096, 1 << 20])
    func rawObserverSeesExactlyTheFile(compression: Compression, blockSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: compression, in: dir)
        let path = try dir.write(file, to: "observed")
        var expected = FNV1a()
        file.withUnsafeBytes { expected.add($0) }
        var seen = FNV1a()
        let source = try ByteSource(path: path, blockSize: blockSize)
        source.rawObserver = { seen.add($0) }
        _ = try readAll(source, bufferSize: 10_000)
        #expect(seen.count == file.count)
        #expect(seen.value == expected.value)
    }

    // MARK: Pipes

    /// A pipe delivers the first bytes one at a time: detection must wait for enough of them.
    @Test(arguments: [Compression.gzip, .zstd, .xz, .bzip2])
    func pipeWithShortReads(compression: Compression) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: compression, in: dir)
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let writer = Thread {
            file.withUnsafeBytes { bytes in
                var offset = 0
                var piece = 1
                while offset < bytes.count {
                    let count = min(piece, bytes.count - offset)
                    let written = write(writeEnd, bytes.baseAddress! + offset, count)
                    if written <= 0 { break }
                    offset += written
                    if piece < 5 { usleep(2000) }
                    piece = min(piece * 2, 65_536)
                }
            }
            close(writeEnd)
        }
        writer.start()
        let source = try ByteSource(
            fileDescriptor: readEnd, name: "-", owned: true, blockSize: 4096)
        #expect(source.compression == compression)
        #expect(source.totalBytes == nil)
        #expect(try readAll(source, bufferSize: 4096) == logText)
        #expect(source.compressedBytesRead == Int64(file.count))
    }

    // MARK: Errors

    @Test func missingFileIsIOError() throws {
        let path = "/nonexistent-veil-dir/access.log.zst"
        let error = readError(path: path)
        #expect(error?.code == .io)
        #expect(error?.file == path)
        #expect(error?.message.hasPrefix("cannot open: ") == true)
        #expect(error?.message.contains("No such file") == true)
    }

    /// One bad compressed input: how it is made and why it is bad.
    struct BadInput: CustomTestStringConvertible, Sendable {
        let reason: String
        let compression: Compression
        /// Makes the file from a valid compressed file of `logText`.
        let make: @Sendable ([UInt8]) -> [UInt8]
        let messagePrefix: String
        /// The expected offset, when it is known exactly, from the bad file's bytes.
        let offset: (@Sendable ([UInt8]) -> Int64)?
        var testDescription: String { reason }
    }

    /// A valid file with every third of 40 bytes from its middle flipped.
    @Sendable static func flippedInTheMiddle(_ file: [UInt8]) -> [UInt8] {
        var bytes = file
        for i in stride(from: file.count / 2, to: file.count / 2 + 40, by: 3) {
            bytes[i] ^= 0x5a
        }
        return bytes
    }

    static let badInputs: [BadInput] = [
        BadInput(
            reason: "gzip cut in the middle of the deflate data", compression: .gzip,
            make: { Array($0[..<($0.count / 2)]) }, messagePrefix: "truncated gzip stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "gzip missing the last trailer bytes", compression: .gzip,
            make: { Array($0.dropLast(3)) }, messagePrefix: "truncated gzip stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "gzip magic and nothing else", compression: .gzip,
            make: { Array($0[..<2]) }, messagePrefix: "truncated gzip stream", offset: { _ in 2 }),
        BadInput(
            reason: "gzip with bytes flipped in the middle", compression: .gzip,
            make: flippedInTheMiddle,
            messagePrefix: "corrupt gzip data", offset: nil),
        BadInput(
            reason: "gzip with an unknown compression method", compression: .gzip,
            make: { file in
                var bytes = file
                bytes[2] = 7
                return bytes
            },
            messagePrefix: "corrupt gzip data: unsupported compression method 7", offset: { _ in 2 }),
        BadInput(
            reason: "gzip with a reserved header flag set", compression: .gzip,
            make: { file in
                var bytes = file
                bytes[3] |= 0x20
                return bytes
            },
            messagePrefix: "corrupt gzip data: reserved header flags", offset: { _ in 3 }),
        BadInput(
            reason: "gzip whose trailer CRC-32 does not match the data", compression: .gzip,
            make: { file in
                var bytes = file
                bytes[bytes.count - 8] ^= 0x01
                return bytes
            },
            messagePrefix: "corrupt gzip data: CRC-32", offset: nil),
        BadInput(
            reason: "gzip whose trailer size does not match the data", compression: .gzip,
            make: { file in
                var bytes = file
                bytes[bytes.count - 4] ^= 0x01
                return bytes
            },
            messagePrefix: "corrupt gzip data: CRC-32", offset: nil),
        BadInput(
            reason: "gzip member followed by text", compression: .gzip,
            make: { $0 + Array("trailing".utf8) }, messagePrefix: "corrupt gzip data: trailing",
            offset: { Int64($0.count - 8) }),
        BadInput(
            reason: "gzip member, zero padding, then text", compression: .gzip,
            make: { $0 + [0, 0, 0, 0] + Array("trailing".utf8) },
            messagePrefix: "corrupt gzip data: bytes after the zero padding", offset: { Int64($0.count - 8) }),
        BadInput(
            // With reads of 16 bytes the member starts a read of its own.
            reason: "gzip member, zero padding to a multiple of 16 bytes, then a member header", compression: .gzip,
            make: { $0 + [UInt8](repeating: 0, count: 32 - $0.count % 16) + [0x1f, 0x8b, 8, 0] },
            messagePrefix: "corrupt gzip data: bytes after the zero padding", offset: { Int64($0.count - 4) }),
        BadInput(
            reason: "gzip member, zero padding, then another member", compression: .gzip,
            make: { $0 + [0, 0, 0, 0] + $0 },
            messagePrefix: "corrupt gzip data: bytes after the zero padding", offset: { Int64(($0.count + 4) / 2) }),
        BadInput(
            reason: "gzip member followed by a lone 1f byte", compression: .gzip,
            make: { $0 + [0x1f] }, messagePrefix: "truncated gzip stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "xz cut in the middle of a block", compression: .xz,
            make: { Array($0[..<($0.count / 2)]) }, messagePrefix: "truncated xz stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "xz missing the last bytes of its stream footer", compression: .xz,
            make: { Array($0.dropLast(3)) }, messagePrefix: "truncated xz stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "xz with bytes flipped in the middle", compression: .xz,
            make: flippedInTheMiddle,
            messagePrefix: "corrupt xz data", offset: nil),
        BadInput(
            reason: "xz whose last two magic bytes are wrong", compression: .xz,
            make: { file in
                var bytes = file
                bytes[4] = 0x41
                return bytes
            },
            messagePrefix: "corrupt xz data: not an xz stream", offset: nil),
        BadInput(
            reason: "xz stream followed by a line of text", compression: .xz,
            make: { $0 + Array("192.0.2.1 - - trailing text\n".utf8) },
            messagePrefix: "corrupt xz data", offset: nil),
        BadInput(
            // Fewer bytes than a stream header: the decoder cannot tell them from one cut short.
            reason: "xz stream followed by a few bytes", compression: .xz,
            make: { $0 + Array("trail".utf8) }, messagePrefix: "truncated xz stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "bzip2 cut in the middle of a block", compression: .bzip2,
            make: { Array($0[..<($0.count / 2)]) }, messagePrefix: "truncated bzip2 stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "bzip2 missing the last byte of its stream CRC", compression: .bzip2,
            make: { Array($0.dropLast(1)) }, messagePrefix: "truncated bzip2 stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "bzip2 with bytes flipped in the middle", compression: .bzip2,
            make: flippedInTheMiddle,
            messagePrefix: "corrupt bzip2 data", offset: nil),
        BadInput(
            reason: "bzip2 stream, zero padding, then text", compression: .bzip2,
            make: { $0 + [0, 0, 0] + Array("trailing".utf8) },
            messagePrefix: "corrupt bzip2 data: bytes after the zero padding", offset: { Int64($0.count - 8) }),
        BadInput(
            reason: "bzip2 stream, zero padding to a multiple of 16 bytes, then text", compression: .bzip2,
            make: { $0 + [UInt8](repeating: 0, count: 32 - $0.count % 16) + Array("BZh9".utf8) },
            messagePrefix: "corrupt bzip2 data: bytes after the zero padding", offset: { Int64($0.count - 4) }),
        BadInput(
            reason: "bzip2 stream followed by text", compression: .bzip2,
            make: { $0 + Array("trailing".utf8) }, messagePrefix: "corrupt bzip2 data: trailing",
            offset: { Int64($0.count - 8) }),
        BadInput(
            reason: "bzip2 stream followed by a lone B", compression: .bzip2,
            make: { $0 + Array("B".utf8) }, messagePrefix: "truncated bzip2 stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "zstd cut in the middle of a frame", compression: .zstd,
            make: { Array($0[..<($0.count / 2)]) }, messagePrefix: "truncated zstd stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "zstd missing its checksum", compression: .zstd,
            make: { Array($0.dropLast(2)) }, messagePrefix: "truncated zstd stream",
            offset: { Int64($0.count) }),
        BadInput(
            reason: "zstd magic and nothing else", compression: .zstd,
            make: { Array($0[..<4]) }, messagePrefix: "truncated zstd stream", offset: { _ in 4 }),
        BadInput(
            reason: "zstd with bytes flipped in the middle", compression: .zstd,
            make: flippedInTheMiddle,
            messagePrefix: "corrupt zstd data", offset: nil),
        BadInput(
            reason: "zstd frame followed by text", compression: .zstd,
            make: { $0 + Array("trailing".utf8) }, messagePrefix: "corrupt zstd data", offset: nil),
        BadInput(
            reason: "zstd skippable frame shorter than its declared size", compression: .zstd,
            make: { _ in
                skippableFrame(variant: 0, payload: Array(repeating: 1, count: 100)).dropLast(10)
            },
            messagePrefix: "truncated zstd stream", offset: { Int64($0.count) }),
    ]

    @Test(arguments: badInputs, [16, 1 << 20])
    func badInputIsCorrupt(bad: BadInput, blockSize: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = bad.make(try compress(logText, with: bad.compression, in: dir))
        let path = try dir.write(file, to: "bad")
        let error = try #require(readError(path: path, blockSize: blockSize))
        #expect(error.code == .corruptInput)
        #expect(error.file == path)
        #expect(error.message.hasPrefix(bad.messagePrefix), "\(error.message)")
        let offset = try #require(error.byteOffset)
        #expect(offset >= 0 && offset <= Int64(file.count))
        if let expected = bad.offset {
            #expect(offset == expected(file))
        }
    }

    /// Where each part of a one-frame zstd file starts, as the frame format lays it out: the
    /// frame header, each block's 3-byte header and its content, the checksum.
    private func zstdPartStarts(_ file: [UInt8]) -> (starts: Set<Int64>, contents: [Range<Int>]) {
        let descriptor = file[4]
        let singleSegment = descriptor & 0x20 != 0
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 3)]
        let contentSizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        var offset = 5 + (singleSegment ? 0 : 1) + dictionaryBytes + contentSizeBytes
        var starts: Set<Int64> = [0]
        var contents: [Range<Int>] = []
        while true {
            starts.insert(Int64(offset))
            let header = Int(file[offset]) | Int(file[offset + 1]) << 8 | Int(file[offset + 2]) << 16
            let last = header & 1 != 0, type = header >> 1 & 3, size = header >> 3
            offset += 3
            starts.insert(Int64(offset))
            let length = type == 1 ? 1 : size  // an RLE block holds one byte
            if type == 2 { contents.append(offset..<offset + length) }
            offset += length
            if last { break }
        }
        if descriptor & 4 != 0 { starts.insert(Int64(offset)) }
        return (starts, contents)
    }

    /// Damage inside a compressed block is reported at the compressed offset of the frame part
    /// zstd found it in (that block, a later one, or the checksum), never in between.
    @Test func corruptZstdNamesTheOffsetOfAFramePart() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let text = logText + logText.reversed()  // several blocks of 128 KiB
        let file = try compress(text, with: .zstd, in: dir)
        let layout = zstdPartStarts(file)
        try #require(layout.contents.count >= 3, "expected several compressed blocks")
        var reported = 0
        for (k, block) in layout.contents.enumerated() {
            var bad = file
            for i in stride(
                from: block.lowerBound + block.count / 2, to: block.lowerBound + block.count / 2 + 24, by: 3)
            {
                bad[i] ^= 0x5a
            }
            let error = try #require(readError(path: try dir.write(bad, to: "bad-\(k).zst")))
            #expect(error.code == .corruptInput)
            let offset = try #require(error.byteOffset)
            #expect(layout.starts.contains(offset), "offset \(offset) is not the start of a frame part")
            #expect(offset >= Int64(block.lowerBound), "reported before the damaged block")
            if offset == Int64(block.lowerBound) { reported += 1 }
        }
        #expect(reported > 0, "no damage was found in the block that holds it")
    }

    @Test func errorIsRepeatedAfterFailure() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let file = try compress(logText, with: .zstd, in: dir)
        let source = try ByteSource(bytes: Array(file[..<(file.count / 2)]), name: "half.zst")
        let first = #expect(throws: VeilError.self) { try readAll(source, bufferSize: 4096) }
        let second = #expect(throws: VeilError.self) { try readAll(source, bufferSize: 4096) }
        #expect(first != nil && first == second)
        #expect(first?.file == "half.zst")
    }
}
