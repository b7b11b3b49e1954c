/// Which of `PipelinedAggregator`'s two threads computes a record's visitor pseudonym, and how
/// that split follows the load of the two threads.
///
/// Visitors are split into 256 parts by the last three bytes of their cookie id or, without
/// one, their client address (multiplied by a 64-bit odd constant, top byte). The reading
/// thread computes the pseudonyms of parts `0..<frontParts`, the aggregating thread those of
/// the others, each with its own pseudonymiser. One visitor is always in one part, so each
/// pseudonym cache holds only its own thread's visitors and no HMAC is computed twice while
/// the split stays put. The pseudonym is the same whichever thread computes it (a keyed PRF of
/// the same fields), so the split changes the time a run takes, never its output.
///
/// Which thread has time to spare depends on the input (zstd, gzip or plain; the log format;
/// how many new visitors) and the machine, so the split is steered by the queue between the
/// threads: see `handedOver(waiting:)`.
struct PseudonymShare {
    /// The number of parts.
    static let parts = 256
    /// Signals in a row (one per batch handed over) that move the split.
    static let run = 4
    /// Parts moved at a time: 1/32 of the visitors, whose pseudonyms are then computed once more
    /// on the other side (one HMAC each, on their next request).
    static let step = 8

    /// Lines are split by their position in parts of `lineParts`: of every `lineParts` lines
    /// read, the first `asideLines` go to the aggregating thread unparsed.
    static let lineParts = 32

    /// Parts `0..<frontParts` get their pseudonym on the reading thread.
    private(set) var frontParts: Int
    /// Of every `lineParts` lines, how many the reading thread hands over unparsed: more than
    /// 0 only once every pseudonym is on the aggregating thread (`frontParts == 0`) and the
    /// reading thread is still the slower one, and only when `parsesAside`.
    private(set) var asideLines: Int
    /// Whether the input's lines may be parsed on the aggregating thread (its format's lines
    /// parse alone).
    var parsesAside = false
    /// Whether `handedOver(waiting:)` moves the split (tests pin it).
    let adapts: Bool
    /// Signals in a row: negative while the reading thread is the slower one, positive while the
    /// aggregating thread is.
    private var pressure = 0

    /// - Parameters:
    ///   - frontParts: The parts the reading thread starts with (default: all of them, the
    ///     cheaper place per pseudonym: the aggregating thread's caches are busy with state).
    ///   - adapts: Whether the split follows the load.
    ///   - asideLines: Of every `lineParts` lines, those handed over unparsed to start with
    ///     (when `parsesAside`).
    init(frontParts: Int = PseudonymShare.parts, asideLines: Int = 0, adapts: Bool = true) {
        precondition((0...Self.parts).contains(frontParts), "frontParts out of range")
        precondition((0...Self.lineParts).contains(asideLines), "asideLines out of range")
        self.frontParts = frontParts
        self.asideLines = asideLines
        self.adapts = adapts
    }

    /// Whether the reading thread computes `r`'s visitor pseudonym.
    @inline(__always)
    func computesAhead(_ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        frontParts == Self.parts || Self.part(r, line) < frontParts
    }

    /// Takes note of a batch handed to the aggregating thread, with the number of batches that
    /// were waiting for it at that moment.
    ///
    /// None waiting: the aggregating thread keeps up and the reading thread is the slower one,
    /// so it hands over more visitors, and once they are all over, more unparsed lines. Two or
    /// more: the aggregating thread is behind, so the reading thread takes unparsed lines back
    /// first, then visitors. One is neither. It takes `run` signals in a row to move the split
    /// by `step` parts (or one line in `lineParts`), so a queue that wavers does not move
    /// visitors between the two caches at every batch.
    mutating func handedOver(waiting: Int) {
        guard adapts else { return }
        if waiting == 0 {
            pressure = min(pressure, 0) - 1
        } else if waiting >= 2 {
            pressure = max(pressure, 0) + 1
        } else {
            return
        }
        if pressure <= -Self.run {
            if frontParts > 0 {
                frontParts = max(0, frontParts - Self.step)
            } else if parsesAside {
                asideLines = min(Self.lineParts, asideLines + 1)
            }
            pressure = 0
        } else if pressure >= Self.run {
            if asideLines > 0 {
                asideLines -= 1
            } else {
                frontParts = min(Self.parts, frontParts + Self.step)
            }
            pressure = 0
        }
    }

    /// The part of `r`'s visitor, `0..<parts`: from the last three bytes of the cookie id, or of
    /// the client address as written when there is no cookie (fewer when the field is shorter).
    @inline(__always)
    static func part(_ r: LogRecord, _ line: UnsafeBufferPointer<UInt8>) -> Int {
        let key = r.cookie.isEmpty ? r.clientAddress : r.cookie
        let end = Int(key.end)
        var word: UInt64 = 0
        // Safe: `key` lies inside `line` (the parser's ranges), so `end - 3 ..< end` does too
        // when the range has three bytes or more.
        if key.count >= 3 {
            word = UInt64(line[end &- 1]) | UInt64(line[end &- 2]) &<< 8 | UInt64(line[end &- 3]) &<< 16
        } else if key.count > 0 {
            word = UInt64(line[end &- 1])
        }
        return Int(truncatingIfNeeded: (word &* 0x9E37_79B9_7F4A_7C15) &>> 56)
    }
}
