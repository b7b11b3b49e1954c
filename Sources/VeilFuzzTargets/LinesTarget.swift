import VeilCore

/// Decompression (by magic bytes) and line splitting, at small buffer sizes so that lines,
/// carriage returns and compressed frames straddle every boundary.
///
/// The first input byte sets the sizes: bits 0-1 the line limit (1, 8, 64, 4096 bytes), bits
/// 2-3 the line reader's read size (1, 3, 7, 64), bits 4-5 the source's block size (16, 17,
/// 64, 4096), bit 6 `nextChunk()` instead of `next()`. The rest is the file. For a plain file
/// the lines must be exactly those of a byte-wise reference split; for a zstd file, read in
/// place (in the decoder's window) they must be those read through the copying buffer, up to
/// the same error.
enum LinesTarget {
    /// Stop after this many decompressed bytes: a small frame may expand a thousandfold.
    static let outputLimit = 1 << 20

    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        guard let parameters = input.first else { return }
        let file = UnsafeBufferPointer(rebasing: input[1...])
        let maxLineLength = [1, 8, 64, 4096][Int(parameters & 3)]
        let readSize = [1, 3, 7, 64][Int(parameters >> 2 & 3)]
        let blockSize = [16, 17, 64, 4096][Int(parameters >> 4 & 3)]
        let chunked = parameters & 0x40 != 0

        let source: ByteSource
        do throws(VeilError) {
            source = try ByteSource(bytes: Array(file), name: "fuzz.log", blockSize: blockSize)
        } catch {
            return
        }
        var produced = 0
        let reader = LineReader(maxLineLength: maxLineLength, readSize: readSize) {
            (b: UnsafeMutableRawBufferPointer) throws(VeilError) -> Int in
            let n = try source.read(into: b)
            produced += n
            return produced > outputLimit ? 0 : n
        }
        var items: [Item] = []
        var failure: VeilError?
        do throws(VeilError) {
            if chunked {
                while let chunk = try reader.nextChunk() {
                    switch chunk {
                    case .lines(let bytes, _):
                        precondition(!bytes.isEmpty, "nextChunk() returned an empty chunk")
                    case .tooLong: break
                    }
                }
                return
            }
            while let item = try reader.next() {
                switch item {
                case .line(let bytes):
                    precondition(bytes.count <= maxLineLength, "a line longer than the limit was returned")
                    items.append(.line(Array(bytes)))
                case .tooLong:
                    items.append(.tooLong)
                }
                precondition(
                    reader.lineNumber == items.count, "line number \(reader.lineNumber) after \(items.count) lines")
                if items.count > file.count + outputLimit { preconditionFailure("the line reader does not stop") }
            }
        } catch {
            failure = error
        }
        if source.compression == .zstd && !chunked && produced <= outputLimit {
            let inPlace = read(file, maxLineLength: maxLineLength, blockSize: blockSize)
            precondition(
                inPlace.items == items,
                "read in place: \(inPlace.items.count) items, through the buffer \(items.count)")
            precondition(
                inPlace.failure?.message == failure?.message && inPlace.failure?.byteOffset == failure?.byteOffset,
                "read in place: \(String(describing: inPlace.failure)), through the buffer \(String(describing: failure))"
            )
        }
        if failure != nil { return }
        if source.compression == .plain {
            let expected = reference(file, maxLineLength: maxLineLength)
            precondition(
                items == expected,
                "LineReader gave \(items.count) items, the reference split \(expected.count)")
        }
    }

    /// The items of `file` read in place (a zstd source's window), and the error that ended
    /// them if one did.
    static func read(_ file: UnsafeBufferPointer<UInt8>, maxLineLength: Int, blockSize: Int)
        -> (items: [Item], failure: VeilError?)
    {
        var items: [Item] = []
        do throws(VeilError) {
            let source = try ByteSource(bytes: Array(file), name: "fuzz.log", blockSize: blockSize)
            let reader = LineReader(source: source, maxLineLength: maxLineLength)
            precondition(reader.linesAreReadOnly, "a zstd source is read in place")
            while let item = try reader.next() {
                switch item {
                case .line(let bytes): items.append(.line(Array(bytes)))
                case .tooLong: items.append(.tooLong)
                }
            }
        } catch {
            return (items, error)
        }
        return (items, nil)
    }

    enum Item: Equatable {
        case line([UInt8])
        case tooLong
    }

    /// Lines end at `\n`; a `\r` right before it, or at the end of the input, is dropped; a
    /// last line without a terminator counts; a line longer than the limit is `.tooLong`.
    static func reference(_ file: UnsafeBufferPointer<UInt8>, maxLineLength: Int) -> [Item] {
        FuzzInput.lines(file).map { $0.count > maxLineLength ? .tooLong : .line(Array($0)) }
    }
}
