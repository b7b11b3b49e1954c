internal import CIsal

/// Streaming gzip decompression over one ISA-L `inflate_state` (igzip).
///
/// ISA-L's inflate decodes the same DEFLATE streams as zlib, about three times as fast on
/// x86-64 and AArch64: decompression is the reading thread's largest single cost, and gzip is
/// what `logrotate` writes by default. veil reads each member's header itself (`GzipHeader`,
/// byte by byte, so a header split across reads is fine), then ISA-L inflates the DEFLATE data
/// and checks the trailer's CRC-32 and size (`ISAL_GZIP_NO_HDR_VER`).
///
/// Handles multi-member files (`cat a.gz b.gz`): after a member ends, the next bytes must start
/// another gzip member, and the state is reset for it, or be zero bytes to the end of the input
/// (`TrailingPadding`, skipped as `gzip -d` skips them). Anything else after a member is an
/// error, as is input that ends inside a member.
final class GzipDecoder: Decompressor {
    /// The inflate state (about 70 KiB with its window), owned and freed in `deinit`.
    private let state: UnsafeMutablePointer<inflate_state>
    /// The input name, for errors.
    private let name: String
    /// True after a member's trailer was checked and before the next member starts.
    private var memberEnded = false
    /// The header of the member being read.
    private var header = GzipHeader()
    /// Zero bytes after the last member.
    private var padding = TrailingPadding(format: "gzip", part: "member")

    /// Creates a decoder for the input called `name` (used in errors).
    init(name: String) {
        self.name = name
        state = .allocate(capacity: 1)
        state.initialize(to: inflate_state())
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Readies `state` for a member's DEFLATE data, followed by its trailer (checked).
    private static func start(_ state: UnsafeMutablePointer<inflate_state>) {
        isal_inflate_init(state)
        state.pointee.crc_flag = UInt32(ISAL_GZIP_NO_HDR_VER)
    }

    func decompress(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
        inputOffset: Int64
    ) throws(VeilError) -> (consumed: Int, produced: Int) {
        if memberEnded {
            guard !input.isEmpty else { return (0, 0) }
            if let zeros = try padding.skip(input, inputOffset: inputOffset, name: name) { return (zeros, 0) }
            if input[0] != 0x1f || (input.count > 1 && input[1] != 0x8b) {
                throw VeilError(
                    .corruptInput,
                    "corrupt gzip data: trailing bytes after a member are not a gzip header",
                    file: name, byteOffset: inputOffset)
            }
            header = GzipHeader()
            memberEnded = false
        }
        var input = input
        var headerBytes = 0
        if !header.isComplete {
            headerBytes = try header.read(input, name: name, at: inputOffset)
            guard header.isComplete else { return (headerBytes, 0) }
            Self.start(state)
            input = UnsafeRawBufferPointer(rebasing: input[headerBytes...])
        }
        let inputOffset = inputOffset + Int64(headerBytes)
        // ISA-L counts in 32 bits; the rest is offered on the next call.
        let inCount = min(input.count, Int(UInt32.max))
        let outCount = min(output.count, Int(UInt32.max))
        state.pointee.next_in = UnsafeMutablePointer(
            mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        state.pointee.avail_in = UInt32(inCount)
        state.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = UInt32(outCount)
        let status = isal_inflate(state)
        // At the end of a member ISA-L gives back the bytes it had read ahead of the trailer.
        let consumed = inCount - Int(state.pointee.avail_in)
        let produced = outCount - Int(state.pointee.avail_out)
        state.pointee.next_in = nil
        state.pointee.next_out = nil
        guard status >= 0 else {
            throw Self.error(for: status, name: name, at: inputOffset + Int64(consumed))
        }
        if state.pointee.block_state == ISAL_BLOCK_FINISH {
            memberEnded = true
        }
        return (headerBytes + consumed, produced)
    }

    func finish(inputOffset: Int64) throws(VeilError) {
        if !memberEnded {
            throw VeilError(
                .corruptInput, "truncated gzip stream: input ends inside a member",
                file: name, byteOffset: inputOffset)
        }
    }

    /// Maps a failing ISA-L status to a `VeilError`: the one place its results become errors.
    @inline(never)
    private static func error(for status: Int32, name: String, at offset: Int64) -> VeilError {
        let what: String
        switch status {
        case ISAL_INVALID_BLOCK: what = "invalid deflate block"
        case ISAL_INVALID_SYMBOL: what = "invalid deflate symbol"
        case ISAL_INVALID_LOOKBACK: what = "invalid back-reference distance"
        case ISAL_INCORRECT_CHECKSUM: what = "CRC-32 or size mismatch in the trailer"
        case ISAL_NEED_DICT: what = "a preset dictionary is required"
        default: what = "ISA-L status \(status)"
        }
        return VeilError(.corruptInput, "corrupt gzip data: \(what)", file: name, byteOffset: offset)
    }
}

/// A gzip member header (RFC 1952 section 2.3), read as it arrives: the fixed 10 bytes (magic,
/// method 8 = deflate, flags, time, extra flags, OS), then the optional extra field, file name,
/// comment and header CRC-16 the flags announce. Their contents are skipped (a name is the
/// compressed file's, never a log line); only the CRC-16, when present, is checked.
struct GzipHeader {
    /// The parts in the order they come.
    private enum Part: Int { case fixed, extraLength, extra, name, comment, crc, done }
    private var part = Part.fixed
    /// Bytes of the current part still wanted (fixed fields, extra field, CRC-16).
    private var wanted = 10
    /// The fixed fields and the little-endian numbers, as they arrive.
    private var fields: [UInt8] = []
    private var flags: UInt8 = 0
    /// CRC-32 of the header bytes so far (for FHCRC).
    private var crc: UInt32 = 0xffff_ffff

    var isComplete: Bool { part == .done }

    private static let fhcrc: UInt8 = 0x02, fextra: UInt8 = 0x04, fname: UInt8 = 0x08, fcomment: UInt8 = 0x10

    /// Reads header bytes from the start of `input` until the header is complete or the input
    /// is used up.
    /// - Returns: how many bytes of `input` belong to the header.
    /// - Throws: `VeilError(.corruptInput)` naming the byte's offset for a bad magic number,
    ///   method, reserved flag or header CRC.
    mutating func read(_ input: UnsafeRawBufferPointer, name: String, at offset: Int64) throws(VeilError) -> Int {
        var i = 0
        while part != .done, i < input.count {
            let byte = input[i]
            let at = offset + Int64(i)
            i += 1
            if part != .crc { crc = Self.crcStep(crc, byte) }
            switch part {
            case .fixed:
                fields.append(byte)
                switch fields.count {
                case 1, 2:
                    if byte != (fields.count == 1 ? 0x1f : 0x8b) { throw Self.corrupt("not a gzip header", name, at) }
                case 3:
                    if byte != 8 { throw Self.corrupt("unsupported compression method \(byte)", name, at) }
                case 4:
                    if byte & 0xe0 != 0 { throw Self.corrupt("reserved header flags set", name, at) }
                    flags = byte
                default: break
                }
                if fields.count == 10 { next(after: .fixed) }
            case .extraLength:
                fields.append(byte)
                if fields.count == 2 {
                    wanted = Int(fields[0]) | Int(fields[1]) << 8
                    part = .extra
                    if wanted == 0 { next(after: .extra) }
                }
            case .extra:
                wanted -= 1
                if wanted == 0 { next(after: .extra) }
            case .name:
                if byte == 0 { next(after: .name) }
            case .comment:
                if byte == 0 { next(after: .comment) }
            case .crc:
                fields.append(byte)
                if fields.count == 2 {
                    let stored = UInt16(fields[0]) | UInt16(fields[1]) << 8
                    if stored != UInt16(truncatingIfNeeded: ~crc) {
                        throw Self.corrupt("header CRC-16 mismatch", name, at - 1)
                    }
                    part = .done
                }
            case .done:
                break
            }
        }
        return i
    }

    /// Moves to the first part after `done` that the flags announce (the extra field's bytes
    /// come only after its length).
    private mutating func next(after done: Part) {
        fields.removeAll(keepingCapacity: true)
        var next = Part(rawValue: done.rawValue + 1)!
        while !announced(next) { next = Part(rawValue: next.rawValue + 1)! }
        part = next
    }

    private func announced(_ part: Part) -> Bool {
        switch part {
        case .fixed, .extra: false
        case .extraLength: flags & Self.fextra != 0
        case .name: flags & Self.fname != 0
        case .comment: flags & Self.fcomment != 0
        case .crc: flags & Self.fhcrc != 0
        case .done: true
        }
    }

    @inline(never)
    private static func corrupt(_ what: String, _ name: String, _ offset: Int64) -> VeilError {
        VeilError(.corruptInput, "corrupt gzip data: \(what)", file: name, byteOffset: offset)
    }

    /// One byte of CRC-32 (IEEE 802.3, reflected), bit by bit: headers are a few dozen bytes.
    private static func crcStep(_ crc: UInt32, _ byte: UInt8) -> UInt32 {
        var c = crc ^ UInt32(byte)
        for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xedb8_8320 : c >> 1 }
        return c
    }
}
