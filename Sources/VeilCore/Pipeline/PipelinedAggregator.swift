import CByteScan
import Foundation

/// Aggregation on two threads: the thread that reads and parses also computes visitor
/// pseudonyms (pseudonym cache and HMACs), and a second thread runs the rest of
/// `Aggregator.consume` on the records in input order.
///
/// Unlike splitting a file into blocks for several aggregators (`ParallelIngest`), nothing is
/// done twice: one state, no merge at the end. The output is the aggregator's, byte for byte,
/// as if it had consumed the records itself. Records travel in batches that hold a copy of
/// their lines; at most `queueDepth` batches are in flight. When the reading thread is the
/// slower of the two, it leaves the pseudonyms of part of the visitors to the aggregating
/// thread (`PseudonymShare`: each visitor always on the same side, so no HMAC is done twice),
/// and when that is not enough (long JSON lines: parsing them is most of the work), part of the
/// lines go over unparsed, parsed there by a copy of the input's format (`AsideParser`; not for
/// W3C, whose lines parse by the directives before them), still consumed in input order.
public struct PipelinedAggregator: RecordSink {
    /// Records per batch handed to the aggregating thread, by default. Larger batches mean
    /// fewer hand-overs (each wakes the other thread); on the 2-core reference, 4096 took
    /// 0.91–0.97 of the time of 2048 and 8192 the same as 4096 with 10 MiB more resident.
    static let batchSize = 4096
    /// Batches in flight between the two threads.
    static let queueDepth = 4

    private let queue: HandoffQueue<RecordBatch, RecordBatch>
    private let back: Back
    private let lifeline: Lifeline
    private var front: VisitorPseudonyms
    private var batch: RecordBatch
    /// Records per batch.
    private let batchSize: Int
    private var share: PseudonymShare
    /// Parses the lines handed over unparsed, on the aggregating thread (set by
    /// `willReadLines`; each batch carries it over).
    private var asideParser: (any AsideParsing)?
    /// Lines read, for picking those handed over unparsed.
    private var linesSeen = 0
    private var finished = false

    /// The aggregating thread's side: the aggregator and the first error it hit.
    private final class Back: @unchecked Sendable {
        var aggregator: Aggregator
        var error: VeilError?
        init(_ aggregator: Aggregator) { self.aggregator = aggregator }
    }

    /// Joins the aggregating thread: `finish` waits for it; a pipeline dropped unfinished (an
    /// input failed) stops it and waits too, so its aggregator's pseudonymiser is free again
    /// before the caller goes on (with the next input, say).
    private final class Lifeline {
        let queue: HandoffQueue<RecordBatch, RecordBatch>
        let worker: JoinableThread
        init(_ queue: HandoffQueue<RecordBatch, RecordBatch>, _ worker: JoinableThread) {
            self.queue = queue
            self.worker = worker
        }
        var joined: Bool { worker.joined }
        func join() { worker.join() }
        deinit {
            if !worker.joined {
                queue.cancel()
                worker.join()
            }
        }
    }

    /// Starts the aggregating thread.
    ///
    /// - Parameters:
    ///   - aggregator: Consumes the records on the second thread (its pseudonymiser serves
    ///     e-mail recipients, and visitors of hosts past the site limit).
    ///   - pseudonymizer: Computes visitor pseudonyms on the calling thread; used by nothing
    ///     else while the pipeline runs.
    public init(aggregator: Aggregator, pseudonymizer: Pseudonymizer) {
        self.init(aggregator: aggregator, pseudonymizer: pseudonymizer, share: PseudonymShare())
    }

    /// `init(aggregator:pseudonymizer:)` with the split of visitor pseudonyms between the two
    /// threads and the batch size given (tests pin them).
    init(
        aggregator: Aggregator, pseudonymizer: Pseudonymizer, share: PseudonymShare,
        batchSize: Int = PipelinedAggregator.batchSize
    ) {
        precondition(batchSize > 0, "batches hold at least one record")
        self.share = share
        self.batchSize = batchSize
        batch = RecordBatch(capacity: batchSize)
        let queue = HandoffQueue<RecordBatch, RecordBatch>(capacity: Self.queueDepth)
        let back = Back(aggregator)
        self.queue = queue
        self.back = back
        front = VisitorPseudonyms(configuration: aggregator.configuration, pseudonymizer: pseudonymizer)
        let worker = JoinableThread {
            while let batch = queue.take() {
                do throws(VeilError) {
                    try batch.consume(into: &back.aggregator)
                } catch {
                    back.error = error
                    queue.cancel()
                    break
                }
                batch.removeAll()
                queue.recycle(batch)
            }
        }
        lifeline = Lifeline(queue, worker)
    }

    public mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) throws(VeilError) {
        let pseudonym = share.computesAhead(record, line) ? try front.pseudonym(record, line) : nil
        batch.append(record, line: line, pseudonym: pseudonym)
        if batch.isFull { try flush() }
    }

    public mutating func willReadLines<F: LogFormat>(format: F, from: Int64?, until: Int64?) {
        asideParser = AsideParser(format: format, from: from, until: until)
        share.parsesAside = true
    }

    @inline(__always)
    public mutating func takesNextLineUnparsed() -> Bool {
        let aside = share.asideLines
        guard aside > 0, share.parsesAside else { return false }
        linesSeen &+= 1
        return linesSeen & (PseudonymShare.lineParts - 1) < aside
    }

    public mutating func consumeUnparsed(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int) throws(VeilError) {
        batch.appendUnparsed(line: line, lineNumber: lineNumber)
        if batch.isFull { try flush() }
    }

    /// Waits for the aggregating thread to finish every record and line handed over, and
    /// returns the counts of the lines it parsed.
    public mutating func didReadLines() throws(VeilError) -> LineCounts? {
        guard let asideParser else { return nil }
        try drain()
        return LineCounts(tally: asideParser.tally)
    }

    /// Hands the remaining records over, waits for the aggregating thread and returns its
    /// aggregator.
    /// - Throws: the first error the aggregating thread hit.
    public mutating func finish() throws(VeilError) -> Aggregator {
        precondition(!finished, "PipelinedAggregator.finish called twice")
        finished = true
        try drain()
        return back.aggregator
    }

    /// Hands the remaining records over and waits for the aggregating thread to end.
    private mutating func drain() throws(VeilError) {
        if !lifeline.joined {
            if let error = back.error { throw error }
            try flush()
            queue.close()
            lifeline.join()
        }
        if let error = back.error { throw error }
    }

    private mutating func flush() throws(VeilError) {
        guard batch.count > 0 else { return }
        batch.parser = asideParser
        guard let waiting = queue.putCounting(batch) else {
            throw back.error ?? VeilError(.io, "the aggregating thread stopped")
        }
        share.handedOver(waiting: waiting)
        batch = queue.takeSpare() ?? RecordBatch(capacity: batchSize)
    }
}

/// Records with copies of their lines and their visitor pseudonyms (nil: computed by the
/// aggregator), and lines handed over unparsed (with their line numbers), in input order.
///
/// Storage is allocated once, for `capacity` records, and kept while the
/// batch is recycled: appending a record is a few stores and one copy of its line, with no
/// array bookkeeping on the reading thread. The line bytes grow (doubling) only when the lines
/// are longer than the room reserved. Owned by one thread at a time (the queue hands it over).
final class RecordBatch: @unchecked Sendable {
    private let capacity: Int
    private let records: UnsafeMutablePointer<LogRecord>
    /// Per record: where its line starts in `bytes`, and its length.
    private let spans: UnsafeMutablePointer<(start: Int, count: Int)>
    private let pseudonyms: UnsafeMutablePointer<Pseudonym?>
    /// Per record: 0 when parsed, else the line number of a line handed over unparsed.
    private let lineNumbers: UnsafeMutablePointer<Int>
    private let lines: ByteScratch
    private(set) var count = 0
    /// Parses the unparsed lines (set when the batch is handed over with any).
    var parser: (any AsideParsing)?

    init(capacity: Int) {
        self.capacity = capacity
        lines = ByteScratch(capacity: capacity * 512)
        records = .allocate(capacity: capacity)
        spans = .allocate(capacity: capacity)
        pseudonyms = .allocate(capacity: capacity)
        lineNumbers = .allocate(capacity: capacity)
    }

    deinit {
        records.deinitialize(count: count)
        records.deallocate()
        spans.deallocate()
        pseudonyms.deallocate()
        lineNumbers.deallocate()
    }

    var isFull: Bool { count == capacity }

    @inline(__always)
    func append(_ record: LogRecord, line: UnsafeBufferPointer<UInt8>, pseudonym: Pseudonym?) {
        precondition(count < capacity, "RecordBatch is full")
        spans[count] = (lines.count, line.count)
        lines.append(UnsafeRawBufferPointer(line))
        (records + count).initialize(to: record)
        (pseudonyms + count).initialize(to: pseudonym)
        lineNumbers[count] = 0
        count += 1
    }

    /// Appends a line the aggregating thread parses (`parser`).
    func appendUnparsed(line: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
        precondition(count < capacity, "RecordBatch is full")
        precondition(lineNumber > 0, "line numbers start at 1")
        spans[count] = (lines.count, line.count)
        lines.append(UnsafeRawBufferPointer(line))
        (records + count).initialize(to: LogRecord())
        (pseudonyms + count).initialize(to: nil)
        lineNumbers[count] = lineNumber
        count += 1
    }

    func removeAll() {
        records.deinitialize(count: count)
        count = 0
        lines.removeAll()
    }

    /// How many records ahead `consume` starts loading a record. The batch was filled on the
    /// reading thread's core, so none of it is in this core's caches; a record's line (its
    /// user agent, target and referrer) and its entries in the batch's arrays are read within a
    /// few hundred instructions of each other.
    private static let prefetchDistance = 4

    /// Starts loading the `count` bytes at `p`, one hint per 64 bytes.
    @inline(__always)
    private static func prefetch(_ p: UnsafeRawPointer, count: Int) {
        var o = 0
        while o < count {
            veil_prefetch(p + o)
            o &+= 64
        }
    }

    /// Starts loading record `i`: its entries in the batch's arrays and its line.
    @inline(__always)
    private func prefetch(record i: Int, bytes: UnsafeMutablePointer<UInt8>) {
        veil_prefetch(pseudonyms + i)
        veil_prefetch(lineNumbers + i)
        Self.prefetch(records + i, count: MemoryLayout<LogRecord>.stride)
        Self.prefetch(bytes + spans[i].start, count: spans[i].count)
    }

    /// Feeds every record to `aggregator`, in order, parsing the unparsed lines first.
    func consume(into aggregator: inout Aggregator) throws(VeilError) {
        let bytes = lines.base.assumingMemoryBound(to: UInt8.self)
        let distance = Self.prefetchDistance
        for i in 0..<min(distance, count) { prefetch(record: i, bytes: bytes) }
        for i in 0..<count {
            // The record `distance` ahead (and its span one distance further: finding its line
            // reads it).
            let ahead = i &+ distance
            if ahead < count {
                if ahead &+ distance < count { veil_prefetch(spans + (ahead &+ distance)) }
                prefetch(record: ahead, bytes: bytes)
            }
            let line = UnsafeMutableBufferPointer(start: bytes + spans[i].start, count: spans[i].count)
            if lineNumbers[i] != 0 {
                guard let parser else { preconditionFailure("an unparsed line without a parser") }
                try parser.parse(line, lineNumber: lineNumbers[i], into: &aggregator)
                continue
            }
            var record = records[i]
            try aggregator.consume(&record, line: UnsafeBufferPointer(line), pseudonym: pseudonyms[i])
        }
    }
}

/// Parses lines on the aggregating thread of a `PipelinedAggregator`, for the reading thread.
protocol AsideParsing: AnyObject {
    /// Parses `line` (which it may rewrite in place) and hands its record to `aggregator`,
    /// counting it as the reading thread counts the lines it parses.
    func parse(_ line: UnsafeMutableBufferPointer<UInt8>, lineNumber: Int, into aggregator: inout Aggregator)
        throws(VeilError)
    /// The counts of the lines parsed so far.
    var tally: Tally { get }
}

/// `AsideParsing` with a copy of the input's format (a format whose lines parse alone: its
/// state is caches only).
final class AsideParser<F: LogFormat>: AsideParsing {
    private var format: F
    private var counts: Tally
    private var record = LogRecord()
    /// The format's count of zoneless times when the copy was made.
    private let zonelessBefore: Int

    init(format: F, from: Int64?, until: Int64?) {
        precondition(F.parsesLinesAlone, "lines of \(F.self) do not parse alone")
        self.format = format
        counts = Tally(from: from, until: until)
        zonelessBefore = format.zonelessTimes
    }

    var tally: Tally {
        var t = counts
        t.zonelessTimes = format.zonelessTimes - zonelessBefore
        return t
    }

    func parse(_ line: UnsafeMutableBufferPointer<UInt8>, lineNumber: Int, into aggregator: inout Aggregator)
        throws(VeilError)
    {
        try Ingest.one(&format, line, lineNumber, &record, &counts, &aggregator)
    }
}
