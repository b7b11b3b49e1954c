import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Options for reading logs.
public struct IngestConfiguration: Sendable {
    public var format: FormatChoice = .auto
    /// Longest accepted line in bytes (terminator excluded).
    public var maxLineLength = IngestConfiguration.defaultMaxLineLength
    /// The default `maxLineLength`: 64 KiB.
    public static let defaultMaxLineLength = 64 * 1024
    /// The default `maxLineLength` of e-mail event exports (`FormatChoice.isEmailExport`): 1 MiB,
    /// room for a webhook's batch of events on one line (SendGrid's Event Webhook posts up to
    /// about 768 KB at a time).
    public static let emailExportMaxLineLength = 1 << 20
    /// Records before this UTC second are counted as outside the window and not passed on.
    public var from: Int64?
    /// Records at or after this UTC second are counted as outside the window.
    public var until: Int64?
    /// Lines sampled for `--format auto`.
    public var detectionLines = 64
    /// Called about four times a second while a file is read (for a progress display).
    public var progress: (@Sendable (IngestProgress) -> Void)?
    /// Compute the input's fingerprint on a thread of its own (`BackgroundFingerprint`): for
    /// runs of two or more threads, where the reading thread sets the pace.
    var fingerprintInBackground = false
    /// How HAProxy's lines are read (`--haproxy-headers`, `--haproxy-cookie`), when an input is
    /// HAProxy's HTTP log (given or detected).
    public var haproxy = HAProxyConfiguration()
    /// The IANA zone of times an input writes without one (`--log-tz`: HAProxy's accept dates,
    /// ISO 8601 times without an offset); nil for UTC.
    public var logTimeZone: String?

    public init() {}
}

/// Reads one input end to end: decompression, line splitting, parsing; hands records to a sink.
public enum Ingest {
    /// The bytes of sampled lines past which no more are sampled (the first line always is).
    static let sampleByteLimit = 4 << 20

    /// Reads `path` (`-` for standard input) and passes every parsed record to `sink`.
    ///
    /// - Returns: the file's report: lines, records, rejects by reason, time range, bytes.
    /// - Throws: `VeilError` naming the file and byte offset when the input cannot be read or
    ///   decompressed, or whatever the sink throws.
    public static func run<S: RecordSink>(
        path: String, configuration: IngestConfiguration, sink: inout S
    ) throws(VeilError) -> FileReport {
        var extra: [S] = []
        return try run(path: path, configuration: configuration, threads: 1, sink: &sink, extraSinks: &extra) {
            (_: Int) throws(VeilError) -> S in preconditionFailure("one thread needs no extra sink")
        }
    }

    /// Reads `path` with `threads` parsing threads: the calling thread decompresses and splits
    /// lines, and hands blocks of whole lines to the parsing threads, each with its own sink
    /// (`sink` for the first, `makeSink(i)` for the others, returned in `extraSinks`). Merging
    /// the sinks afterwards gives what one thread would have produced. W3C logs, whose
    /// `#Fields` directives change how later lines parse, are always read by one thread.
    public static func run<S: RecordSink>(
        path: String, configuration: IngestConfiguration, threads: Int, sink: inout S, extraSinks: inout [S],
        makeSink: (Int) throws(VeilError) -> S
    ) throws(VeilError) -> FileReport {
        let started = monotonicSeconds()
        let source = try ByteSource(path: path)
        let hasher = Hasher256()
        let background = configuration.fingerprintInBackground ? BackgroundFingerprint() : nil
        if let background {
            source.rawObserver = { background.update($0) }
        } else {
            source.rawObserver = { hasher.update($0) }
        }
        let reader: LineReader
        if let progress = configuration.progress {
            var next = started + 0.25
            reader = LineReader(source: source, maxLineLength: configuration.maxLineLength) {
                let now = monotonicSeconds()
                if now >= next {
                    next = now + 0.25
                    progress(
                        IngestProgress(
                            file: path, bytesIn: source.compressedBytesRead, totalBytes: source.totalBytes,
                            bytesOut: source.bytesProduced, seconds: now - started))
                }
            }
        } else {
            reader = LineReader(source: source, maxLineLength: configuration.maxLineLength)
        }
        var tally = Tally(configuration: configuration)

        // Resolve the format, keeping the sampled lines to parse them afterwards.
        // In line order; nil stands for a line over the length limit.
        // At most `detectionLines` lines and, past the first, `sampleByteLimit` bytes: an
        // e-mail export's lines may be webhook batches of up to 1 MiB each.
        var sample: [[UInt8]?] = []
        var sampleBytes = 0
        func readSample() throws(VeilError) {
            while sample.count < configuration.detectionLines, sample.isEmpty || sampleBytes < Self.sampleByteLimit,
                let item = try reader.next()
            {
                switch item {
                case .line(let l):
                    sample.append(Array(l))
                    sampleBytes += l.count
                case .tooLong: sample.append(nil)
                }
            }
        }
        var format: AnyLogFormat
        let detected: Bool
        // What the lines are wrapped in (a container runtime's or syslog's header) is found
        // whatever the format. Lines the envelope leaves out (a container's stderr, other
        // programs' messages) say nothing of the format: the sample goes on until it holds
        // enough of the server's own lines, or 64 times the lines it would hold.
        try readSample()
        if let envelope = LineEnvelope.candidates(sample.compactMap { $0 }).first {
            var own = envelope.unwrapped(sample.compactMap { $0 }).count
            while own < configuration.detectionLines, sample.count < 64 * configuration.detectionLines,
                let item = try reader.next()
            {
                switch item {
                case .line(let l):
                    sample.append(Array(l))
                    own += envelope.unwrapped([Array(l)]).count
                case .tooLong: sample.append(nil)
                }
            }
        }
        if configuration.format == .auto {
            if !sample.isEmpty && sample.allSatisfy({ $0 == nil }) {
                // Lines over the limit say nothing about the format: a webhook's batches of
                // e-mail events, most likely, which their presets allow 1 MiB.
                let lines = sample.count == 1 ? "line 1 is" : "lines 1–\(sample.count) are"
                throw VeilError(
                    .unrecognisedFormat,
                    "format not recognised: \(lines) longer than the longest line accepted "
                        + "(\(configuration.maxLineLength) bytes); name the format with --format (json-sendgrid or "
                        + "json-mailgun for a webhook's batches of events allow 1 MiB a line), or raise --max-line-length",
                    file: path, line: 1, byteOffset: 0)
            }
            let detection = FormatDetector.detectEnveloped(sample.compactMap { $0 })
            guard detection.recognised else {
                // Named by line numbers only: the lines themselves may hold identifiers.
                let lines = sample.count == 1 ? "line 1 does not parse" : "none of lines 1–\(sample.count) parses"
                throw VeilError(
                    .unrecognisedFormat,
                    "format not recognised: \(lines) as \(FormatDetector.triedFormats); "
                        + "name the format with --format (apache:'…' or nginx:'…' for a custom layout; --json-fields maps other JSON keys)",
                    file: path, line: 1, byteOffset: 0)
            }
            format = detection.format
            detected = true
        } else {
            format = try configuration.format.makeFormat()
            format.envelope = FormatDetector.envelope(for: format, sample.compactMap { $0 })
            detected = false
        }
        // Times written without a zone are in `--log-tz`'s: the report names it when the input
        // had such times (`Tally.zonelessTimes`).
        switch format {
        case .text(var f):
            f.setLogTimeZone(configuration.logTimeZone)
            f.configure(haproxy: configuration.haproxy)
            format = .text(f)
        case .json(var f):
            f.setLogTimeZone(configuration.logTimeZone)
            format = .json(f)
        case .w3c: break
        }
        var requestsNamed: Bool? = nil
        if case .json(var f) = format {
            // Whether the input logs user agents at all, from its first lines (see
            // `JSONLinesFormat.logsUserAgent`).
            try readSample()
            f.learnUserAgentLogging(from: sample)
            format = .json(f)
            requestsNamed = Self.namesRequests(f, sample)
        }

        var formatName = format.name
        let lines: Int
        let userAgentsLogged: Bool
        switch format {
        case .text(var f):
            lines = try parse(&f, reader, sample, threads: threads, &tally, &sink, &extraSinks, makeSink)
            userAgentsLogged = f.logsUserAgent
        case .json(var f):
            lines = try parse(&f, reader, sample, threads: threads, &tally, &sink, &extraSinks, makeSink)
            userAgentsLogged = f.logsUserAgent
        case .w3c(var f):
            // `#Fields` directives change how later lines parse: one thread reads the file.
            lines = try parse(&f, reader, sample, threads: 1, &tally, &sink, &extraSinks, makeSink)
            formatName = f.name
            userAgentsLogged = !f.sawLayoutWithoutUserAgent
        }

        let logTimeZone = tally.zonelessTimes > 0 ? configuration.logTimeZone ?? "UTC" : nil
        return FileReport(
            file: path,
            compression: source.compression.rawValue,
            format: formatName,
            formatDetected: detected,
            lines: lines,
            records: tally.records,
            skipped: tally.skipped,
            outsideWindow: tally.outsideWindow,
            rejected: tally.rejected,
            rejects: tally.rejectList(),
            repaired: tally.repairedCount == 0
                ? []
                : [
                    FileReport.Rejects(
                        reason: "unterminated-final-quote", count: tally.repairedCount, firstLines: tally.repairedLines)
                ],
            firstTimestamp: tally.records > 0 ? ISOTime.string(seconds: tally.minTime) : nil,
            lastTimestamp: tally.records > 0 ? ISOTime.string(seconds: tally.maxTime) : nil,
            bytesIn: source.compressedBytesRead,
            bytesOut: source.bytesProduced,
            seconds: monotonicSeconds() - started,
            fingerprint: background?.fingerprint() ?? hasher.fingerprint(),
            userAgentsLogged: userAgentsLogged,
            requestsNamed: requestsNamed,
            logTimeZone: logTimeZone,
            envelope: format.envelope.label,
            error: nil
        )
    }

    /// Whether the request records `format` makes of the sample lines name their request (a
    /// path): false when some parse into requests and none of them does — a line needs only a
    /// timestamp to parse, so that is most often another server's preset, whose keys but the
    /// time the lines do not have; nil when none parses into a request.
    static func namesRequests(_ format: JSONLinesFormat, _ sample: [[UInt8]?]) -> Bool? {
        var f = format
        var record = LogRecord()
        var requests = 0
        for line in sample {
            guard var copy = line else { continue }
            let r = copy.withUnsafeMutableBufferPointer { f.parse($0, into: &record) }
            guard r == .record, record.event == .request else { continue }
            if !record.target.isEmpty { return true }
            requests += 1
        }
        return requests > 0 ? false : nil
    }

    /// Parses the rest of the input with `threads` parsing threads (the sequential loop for one).
    /// - Returns: the number of lines read.
    private static func parse<F: LogFormat, S: RecordSink>(
        _ format: inout F, _ reader: LineReader, _ sample: [[UInt8]?], threads: Int, _ tally: inout Tally,
        _ sink: inout S, _ extraSinks: inout [S], _ makeSink: (Int) throws(VeilError) -> S
    ) throws(VeilError) -> Int {
        if threads > 1 {
            return try ParallelIngest.run(
                format, reader, sample, threads: threads, &tally, &sink, &extraSinks, makeSink: makeSink)
        }
        try loop(&format, reader, sample, &tally, &sink)
        return max(reader.lineNumber, sample.count)
    }

    /// The per-line loop, specialised per parser.
    @inline(__always)
    private static func loop<F: LogFormat, S: RecordSink>(
        _ format: inout F, _ reader: LineReader, _ sample: [[UInt8]?],
        _ tally: inout Tally, _ sink: inout S
    ) throws(VeilError) {
        var record = LogRecord()
        if F.parsesLinesAlone { sink.willReadLines(format: format, from: tally.from, until: tally.until) }
        for (i, line) in sample.enumerated() {
            guard var copy = line else {
                tally.reject(.lineTooLong, line: i + 1)
                continue
            }
            try copy.withUnsafeMutableBufferPointer {
                (buf: inout UnsafeMutableBufferPointer<UInt8>) throws(VeilError) in
                try one(&format, buf, i + 1, &record, &tally, &sink)
            }
        }
        let readOnly = reader.linesAreReadOnly
        while let item = try reader.next() {
            switch item {
            case .line(let buf):
                if sink.takesNextLineUnparsed() {
                    try sink.consumeUnparsed(UnsafeBufferPointer(buf), lineNumber: reader.lineNumber)
                } else if readOnly {
                    // The line lies in the decoder's window: parsed where it is unless the
                    // parser has bytes to rewrite, then as a copy.
                    if let result = format.parseReadOnly(UnsafeBufferPointer(buf), into: &record) {
                        try counted(result, &format, buf, reader.lineNumber, &record, &tally, &sink)
                    } else {
                        try one(&format, reader.writableCopy(of: buf), reader.lineNumber, &record, &tally, &sink)
                    }
                } else {
                    try one(&format, buf, reader.lineNumber, &record, &tally, &sink)
                }
            case .tooLong:
                tally.reject(.lineTooLong, line: reader.lineNumber)
            }
        }
        tally.zonelessTimes += format.zonelessTimes
        if let aside = try sink.didReadLines() { tally.absorb(aside.tally) }
    }

    @inline(__always)
    static func one<F: LogFormat, S: RecordSink>(
        _ format: inout F, _ buf: UnsafeMutableBufferPointer<UInt8>, _ lineNumber: Int,
        _ record: inout LogRecord, _ tally: inout Tally, _ sink: inout S
    ) throws(VeilError) {
        try counted(format.parse(buf, into: &record), &format, buf, lineNumber, &record, &tally, &sink)
        // A line of several records (a JSON array of events): each counted on its own.
        while let next = format.parseNext(buf, into: &record) {
            try counted(next, &format, buf, lineNumber, &record, &tally, &sink)
        }
    }

    /// Counts a parsed line and hands its record to `sink`.
    @inline(__always)
    static func counted<F: LogFormat, S: RecordSink>(
        _ result: ParseResult, _ format: inout F, _ buf: UnsafeMutableBufferPointer<UInt8>, _ lineNumber: Int,
        _ record: inout LogRecord, _ tally: inout Tally, _ sink: inout S
    ) throws(VeilError) {
        switch result {
        case .record:
            let t = record.timestamp
            if let from = tally.from, t < from { tally.outsideWindow += 1; return }
            if let until = tally.until, t >= until { tally.outsideWindow += 1; return }
            tally.records += 1
            if format.lastRecordWasRepaired { tally.repaired(line: lineNumber) }
            if t < tally.minTime { tally.minTime = t }
            if t > tally.maxTime { tally.maxTime = t }
            try sink.consume(&record, line: UnsafeBufferPointer(buf))
        case .skip:
            tally.skipped += 1
        case .reject(let reason):
            tally.reject(reason, line: lineNumber)
        }
    }
}

/// How far reading one file has got.
public struct IngestProgress: Sendable {
    public var file: String
    /// Raw bytes read so far, and the file's size when known (not for pipes).
    public var bytesIn: Int64
    public var totalBytes: Int64?
    /// Decompressed bytes so far.
    public var bytesOut: Int64
    public var seconds: Double

    /// Seconds left at the current rate, when the size is known.
    public var eta: Double? {
        guard let total = totalBytes, bytesIn > 0, seconds > 0 else { return nil }
        return Double(total - bytesIn) / (Double(bytesIn) / seconds)
    }
}

/// The counts of the lines a sink parsed itself (`RecordSink.consumeUnparsed`), for the
/// caller to add to its own.
public struct LineCounts {
    var tally: Tally
}

/// Counters kept while reading one file.
struct Tally {
    var records = 0
    var skipped = 0
    var outsideWindow = 0
    var rejected = 0
    var minTime = Int64.max
    var maxTime = Int64.min
    let from: Int64?
    let until: Int64?
    var repairedCount = 0
    var repairedLines: [Int] = []
    /// Times read without a zone (the formats' `zonelessTimes`, added when a parser is done).
    var zonelessTimes = 0
    var counts = [Int](repeating: 0, count: RejectReason.allCases.count)
    var firstLines = [[Int]](repeating: [], count: RejectReason.allCases.count)

    init(configuration: IngestConfiguration) {
        self.init(from: configuration.from, until: configuration.until)
    }

    init(from: Int64?, until: Int64?) {
        self.from = from
        self.until = until
    }

    @inline(never)
    mutating func reject(_ reason: RejectReason, line: Int) {
        rejected += 1
        let i = Int(reason.rawValue)
        counts[i] += 1
        if firstLines[i].count < FileReport.sampleLineNumbers { firstLines[i].append(line) }
    }

    @inline(never)
    mutating func repaired(line: Int) {
        repairedCount += 1
        if repairedLines.count < FileReport.sampleLineNumbers { repairedLines.append(line) }
    }

    /// Adds another part of the same file's counts, whose line numbers start after `lineOffset`.
    mutating func absorb(_ o: Tally, lineOffset: Int = 0) {
        records += o.records
        skipped += o.skipped
        outsideWindow += o.outsideWindow
        rejected += o.rejected
        minTime = min(minTime, o.minTime)
        maxTime = max(maxTime, o.maxTime)
        repairedCount += o.repairedCount
        zonelessTimes += o.zonelessTimes
        let k = FileReport.sampleLineNumbers
        repairedLines = Array((repairedLines + o.repairedLines.map { $0 + lineOffset }).sorted().prefix(k))
        for i in counts.indices {
            counts[i] += o.counts[i]
            firstLines[i] = Array((firstLines[i] + o.firstLines[i].map { $0 + lineOffset }).sorted().prefix(k))
        }
    }

    func rejectList() -> [FileReport.Rejects] {
        RejectReason.allCases.compactMap { r in
            let i = Int(r.rawValue)
            return counts[i] == 0
                ? nil : FileReport.Rejects(reason: r.label, count: counts[i], firstLines: firstLines[i])
        }
    }
}

/// SHA-256 of an input's raw bytes, fed chunk by chunk.
final class Hasher256 {
    private var hash = SHA256()
    func update(_ chunk: UnsafeRawBufferPointer) { hash.update(bufferPointer: chunk) }
    func fingerprint() -> String {
        "sha256:" + hash.finalize().map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    /// `sha256:<hex>` of bytes in memory.
    static func fingerprint(of bytes: [UInt8]) -> String {
        let h = Hasher256()
        bytes.withUnsafeBytes { h.update($0) }
        return h.fingerprint()
    }
}

/// An input's fingerprint (`Hasher256`) computed on a thread of its own: the reading thread
/// hands over a copy of each raw chunk (a memory copy, about a twentieth of the cost of hashing
/// it) and goes on, and the chunks are hashed in order there. At most `depth` chunks wait, in
/// recycled buffers. Dropped before `fingerprint()` (the input failed), it stops its thread.
final class BackgroundFingerprint {
    static let depth = 4
    private let queue = HandoffQueue<[UInt8], [UInt8]>(capacity: depth)
    private let state = State()
    private let worker: JoinableThread

    /// The hash, used by the hashing thread alone until it is joined.
    private final class State: @unchecked Sendable {
        let hasher = Hasher256()
    }

    init() {
        let queue = queue, state = state
        worker = JoinableThread {
            while let chunk = queue.take() {
                chunk.withUnsafeBytes { state.hasher.update($0) }
                queue.recycle(chunk)
            }
        }
    }

    deinit {
        if !worker.joined {
            queue.cancel()
            worker.join()
        }
    }

    /// Hands a copy of `chunk` to the hashing thread (waiting while `depth` chunks wait).
    func update(_ chunk: UnsafeRawBufferPointer) {
        var copy = queue.takeSpare() ?? []
        copy.removeAll(keepingCapacity: true)
        copy.append(contentsOf: chunk)
        _ = queue.put(copy)
    }

    /// Waits for every chunk handed over to be hashed; `sha256:<hex>`.
    func fingerprint() -> String {
        precondition(!worker.joined, "BackgroundFingerprint.fingerprint called twice")
        queue.close()
        worker.join()
        return state.hasher.fingerprint()
    }
}

extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}

/// Seconds from a monotonic clock, for throughput figures.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
