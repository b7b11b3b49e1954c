import Testing

@testable import VeilCore

/// A reference split over bytes: `\n` ends a line, one `\r` before it is dropped, a last line
/// without `\n` counts, lines longer than `max` come out as nil.
private func referenceSplit(_ bytes: [UInt8], max: Int) -> [[UInt8]?] {
    var out: [[UInt8]?] = []
    var cur: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if bytes[i] == 0x0A {
            if cur.last == 0x0D { cur.removeLast() }
            out.append(cur.count > max ? nil : cur)
            cur = []
        } else {
            cur.append(bytes[i])
        }
        i += 1
    }
    if !cur.isEmpty {
        if cur.last == 0x0D { cur.removeLast() }
        out.append(cur.count > max ? nil : cur)
    }
    return out
}

/// Feeds `bytes` to a LineReader at most `chunk` bytes per fill call.
private func split(_ bytes: [UInt8], chunk: Int, max: Int) throws -> (lines: [[UInt8]?], offsets: [Int64], tooLong: Int)
{
    var pos = 0
    let reader = LineReader(maxLineLength: max, readSize: 4096) {
        (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
        let n = Swift.min(chunk, b.count, bytes.count - pos)
        for k in 0..<n { b[k] = bytes[pos + k] }
        pos += n
        return n
    }
    return try collect(reader)
}

/// Every line of `reader` (nil for an over-long one), the offsets `lineOffset` gave, and the
/// over-long count; checks the line numbers on the way.
private func collect(_ reader: LineReader) throws -> (lines: [[UInt8]?], offsets: [Int64], tooLong: Int) {
    var lines: [[UInt8]?] = []
    var offsets: [Int64] = []
    while let item = try reader.next() {
        switch item {
        case .line(let l): lines.append(Array(l))
        case .tooLong: lines.append(nil)
        }
        offsets.append(reader.lineOffset)
        #expect(reader.lineNumber == lines.count)
    }
    return (lines, offsets, reader.tooLongCount)
}

private func corpus(seed: UInt64, count: Int, maxLen: Int) -> [UInt8] {
    var rng = StateTestRNG(seed: seed)
    func next() -> UInt64 { rng.next() }
    var out: [UInt8] = []
    for _ in 0..<count {
        let len = Int(next() % UInt64(maxLen))
        for _ in 0..<len {
            let r = next() % 40
            out.append(r == 0 ? 0x0D : UInt8(0x61 + r % 26))  // a stray CR now and then
        }
        out.append(contentsOf: next() % 3 == 0 ? [0x0D, 0x0A] : [0x0A])
        if next() % 17 == 0 { out.append(0x0A) }  // empty lines
    }
    return out
}

@Suite struct LineReaderTests {
    @Test(arguments: [1, 2, 3, 7, 64, 4096, 1 << 20])
    func chunkSizesMatchReference(chunk: Int) throws {
        for (seed, tail) in [(1 as UInt64, false), (2, true)] {
            var bytes = corpus(seed: seed, count: 600, maxLen: 300)
            if tail { bytes += Array("last line without newline\r".utf8) }
            let max = 200
            let got = try split(bytes, chunk: chunk, max: max)
            let ref = referenceSplit(bytes, max: max)
            #expect(got.lines == ref)
            #expect(got.tooLong == ref.filter { $0 == nil }.count)
        }
    }

    @Test func offsetsPointAtLineStarts() throws {
        let bytes = Array("ab\r\ncde\n\nfgh".utf8)
        let got = try split(bytes, chunk: 3, max: 100)
        #expect(got.lines == [Array("ab".utf8), Array("cde".utf8), [], Array("fgh".utf8)])
        #expect(got.offsets == [0, 4, 8, 9])
    }

    @Test func overlongLineIsSkippedAndReadingGoesOn() throws {
        var bytes = Array("short\n".utf8)
        bytes += [UInt8](repeating: 0x78, count: 100_000) + [0x0A]
        bytes += Array("after\n".utf8)
        bytes += [UInt8](repeating: 0x79, count: 50_000)  // overlong last line without newline
        let got = try split(bytes, chunk: 4096, max: 1000)
        #expect(got.lines == [Array("short".utf8), nil, Array("after".utf8), nil])
        #expect(got.offsets == [0, 6, 100_007, 100_013])
        #expect(got.tooLong == 2)
    }

    @Test func lineOfExactlyTheLimitIsKept() throws {
        let line = [UInt8](repeating: 0x41, count: 64)
        let got = try split(line + [0x0D, 0x0A] + line + [0x41, 0x0A], chunk: 5, max: 64)
        #expect(got.lines == [line, nil])
    }

    @Test func emptyInputGivesNoLines() throws {
        #expect(try split([], chunk: 1, max: 10).lines.isEmpty)
    }

    /// A UTF-8 byte order mark starting the stream is not part of the first line, whatever
    /// the reads' sizes (one byte at a time too); offsets still count it. Anywhere else, or
    /// after a first line shorter than a mark, the bytes are the line's.
    @Test(arguments: [1, 2, 3, 4, 4096])
    func byteOrderMarkStartingTheStreamIsSkipped(chunk: Int) throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let got = try split(bom + Array("#Fields: a b\r\nx y\n".utf8) + bom + Array("z\n".utf8), chunk: chunk, max: 100)
        #expect(got.lines == [Array("#Fields: a b".utf8), Array("x y".utf8), bom + Array("z".utf8)])
        #expect(got.offsets == [3, 17, 21])
        #expect(try split(bom, chunk: chunk, max: 100).lines.isEmpty, "a mark alone is no line")
        #expect(try split(bom + [0x0A], chunk: chunk, max: 100).lines == [[]])
        #expect(
            try split([0xEF, 0xBB], chunk: chunk, max: 100).lines == [[0xEF, 0xBB]], "two bytes of a mark are a line")
        let late = try split(Array("a\n".utf8) + bom + Array("b\n".utf8), chunk: chunk, max: 100)
        #expect(late.lines == [Array("a".utf8), bom + Array("b".utf8)])
    }

    @Test func errorsFromTheSourcePropagate() throws {
        var calls = 0
        let reader = LineReader(maxLineLength: 100, readSize: 8) {
            (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            calls += 1
            if calls > 1 { throw VeilError(.corruptInput, "corrupt", file: "x.gz", byteOffset: 8) }
            for k in 0..<4 { b[k] = 0x61 }
            return 4
        }
        #expect(throws: VeilError.self) { while try reader.next() != nil {} }
    }
}

/// Chunk mode (used by the parallel reader): the chunks, split at `\n` by the caller, give the
/// same lines as the byte-level reference, whatever the source's chunk size.
@Suite struct LineReaderChunkTests {
    @Test(arguments: [1, 3, 4096])
    func byteOrderMarkStartingTheStreamIsSkipped(chunk: Int) throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a b\nc\n".utf8)
        var pos = 0
        let reader = LineReader(maxLineLength: 100, readSize: 4096) {
            (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            let n = Swift.min(chunk, b.count, bytes.count - pos)
            for k in 0..<n { b[k] = bytes[pos + k] }
            pos += n
            return n
        }
        var got: [UInt8] = []
        while let item = try reader.nextChunk() {
            if case .lines(let buf, _) = item { got += Array(buf) }
        }
        #expect(got == Array("a b\nc\n".utf8))
    }

    @Test(arguments: [1, 3, 64, 4096, 1 << 20])
    func chunksSplitLikeTheReference(chunk: Int) throws {
        var bytes = corpus(seed: 3, count: 800, maxLen: 300)
        bytes += [UInt8](repeating: 0x7A, count: 20_000) + [0x0A]  // over-long, bigger than the buffer
        bytes += Array("tail without newline\r".utf8)
        let max = 200
        var pos = 0
        let reader = LineReader(maxLineLength: max, readSize: 4096) {
            (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            let n = Swift.min(chunk, b.count, bytes.count - pos)
            for k in 0..<n { b[k] = bytes[pos + k] }
            pos += n
            return n
        }
        var lines: [[UInt8]?] = []
        while let item = try reader.nextChunk() {
            switch item {
            case .tooLong:
                lines.append(nil)
            case .lines(let buf, let terminated):
                var data = Array(buf)
                if !terminated { data.append(0x0A) }
                #expect(data.last == 0x0A)
                var cur: [UInt8] = []
                for b in data {
                    if b == 0x0A {
                        if cur.last == 0x0D { cur.removeLast() }
                        lines.append(cur.count > max ? nil : cur)
                        cur = []
                    } else {
                        cur.append(b)
                    }
                }
            }
        }
        #expect(lines == referenceSplit(bytes, max: max))
    }
}

/// A zstd source is read in place, in the decoder's window: lines that cross the window's wrap,
/// a frame boundary (where the window may be reallocated for a larger one) or are longer than
/// the limit give the same lines and offsets as the plain bytes read through a buffer.
@Suite struct LineReaderInPlaceTests {
    /// The lines, offsets and over-long count of `path` read in place.
    private func readInPlace(_ path: String, max: Int) throws -> (
        lines: [[UInt8]?], offsets: [Int64], tooLong: Int, readOnly: Bool
    ) {
        let reader = LineReader(source: try ByteSource(path: path), maxLineLength: max)
        let got = try collect(reader)
        return (got.lines, got.offsets, got.tooLong, reader.linesAreReadOnly)
    }

    /// Varied lines, a few over the limit, one longer than the whole ring (256 KiB) and a last
    /// line without a newline.
    private func text() -> [UInt8] {
        var bytes = corpus(seed: 5, count: 6000, maxLen: 400)
        bytes += [UInt8](repeating: 0x7A, count: 700_000) + [0x0A]
        bytes += corpus(seed: 6, count: 6000, maxLen: 400)
        bytes += Array("tail without newline".utf8)
        return bytes
    }

    /// Windows of 1 KiB (the ring of 256 KiB wraps every 256 KiB) and of 4 MiB (one ring for
    /// the whole input).
    @Test(arguments: [10, 22])
    func linesCrossingTheWrapComeOutWhole(windowLog: Int) throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = text()
        let file = try compress(bytes, with: .zstd, in: dir, zstdOptions: ["-1", "--zstd=wlog=\(windowLog)"])
        let path = try dir.write(file, to: "in-place.zst")
        let max = 300
        let got = try readInPlace(path, max: max)
        let reference = try split(bytes, chunk: 1 << 20, max: max)
        #expect(got.readOnly)
        #expect(got.lines.count == reference.lines.count)
        #expect(got.lines == referenceSplit(bytes, max: max))
        #expect(got.offsets == reference.offsets)
        #expect(got.tooLong == reference.tooLong)
        #expect(got.tooLong > 1)
    }

    /// Three frames split in the middle of lines: a small window, a skippable frame, then a
    /// window larger than the ring so far (a new ring takes over, carrying the unfinished line).
    @Test func framesOfGrowingWindowsCarryTheLineBetweenThem() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = text()
        let cuts = [bytes.count / 3 + 17, 2 * bytes.count / 3 + 5]
        #expect(bytes[cuts[0] - 1] != 0x0A && bytes[cuts[1] - 1] != 0x0A, "the cuts fall inside lines")
        let file =
            try compress(Array(bytes[..<cuts[0]]), with: .zstd, in: dir, zstdOptions: ["-1", "--zstd=wlog=10"])
            + [0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3]  // a skippable frame of 3 bytes
            + compress(Array(bytes[cuts[0]..<cuts[1]]), with: .zstd, in: dir, zstdOptions: ["-1", "--zstd=wlog=12"])
            + compress(Array(bytes[cuts[1]...]), with: .zstd, in: dir, zstdOptions: ["-1", "--zstd=wlog=23"])
        let path = try dir.write(file, to: "frames.zst")
        let max = 300
        let got = try readInPlace(path, max: max)
        #expect(got.lines == referenceSplit(bytes, max: max))
        #expect(got.offsets == (try split(bytes, chunk: 1 << 20, max: max)).offsets)
    }

    /// A byte order mark starting a zstd stream is skipped in place too.
    @Test func byteOrderMarkInPlace() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = corpus(seed: 9, count: 500, maxLen: 200)
        let path = try dir.write(try compress([0xEF, 0xBB, 0xBF] + bytes, with: .zstd, in: dir), to: "bom.zst")
        let got = try readInPlace(path, max: 300)
        #expect(got.readOnly)
        #expect(got.lines == referenceSplit(bytes, max: 300))
        #expect(got.offsets == (try split(bytes, chunk: 1 << 20, max: 300)).offsets.map { $0 + 3 })
    }

    /// `writableCopy(of:)` holds the line's bytes and writing into it leaves the window alone:
    /// the rest of the input still decodes (its frame checksum checks every byte).
    @Test func writableCopyLeavesTheWindowAlone() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = corpus(seed: 7, count: 4000, maxLen: 200)
        let path = try dir.write(try compress(bytes, with: .zstd, in: dir), to: "copy.zst")
        let reader = LineReader(source: try ByteSource(path: path), maxLineLength: 300)
        var lines: [[UInt8]?] = []
        while let item = try reader.next() {
            guard case .line(let l) = item else { continue }
            let copy = reader.writableCopy(of: l)
            #expect(Array(copy) == Array(l))
            #expect(copy.baseAddress != l.baseAddress)
            lines.append(Array(l))
            for k in copy.indices { copy[k] = 0x21 }
        }
        #expect(lines == referenceSplit(bytes, max: 300))
    }

    /// Plain and gzip sources are read through the reader's own buffer, which parsers may write.
    @Test func plainAndGzipLinesAreWritable() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let bytes = corpus(seed: 8, count: 100, maxLen: 100)
        for compression in [Compression.plain, .gzip] {
            let path = try dir.write(try compress(bytes, with: compression, in: dir), to: "w-\(compression)")
            let reader = LineReader(source: try ByteSource(path: path), maxLineLength: 300)
            #expect(!reader.linesAreReadOnly)
            var lines: [[UInt8]?] = []
            while let item = try reader.next() {
                if case .line(let l) = item { lines.append(Array(l)) } else { lines.append(nil) }
            }
            #expect(lines == referenceSplit(bytes, max: 300))
        }
    }
}
