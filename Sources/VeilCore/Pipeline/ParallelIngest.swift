import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A run of whole lines handed from the reading thread to a parsing thread.
///
/// `bytes` holds whole lines, each ended by `\n` (a `\r` before it is still there); `seq` orders
/// blocks in the file, so line numbers are fixed up once every block's line count is known. A
/// block with `tooLong` set stands for one skipped over-long line and holds no bytes.
struct LineBlock: Sendable {
    var bytes: [UInt8]
    var seq: Int
    var tooLong = false
}

/// What a parsing thread found in one block: counts with line numbers relative to the block.
struct BlockResult {
    var seq: Int
    var lines: Int
    var tally: Tally
}

/// A bounded queue between threads, with a pool of spare buffers so memory stays at
/// `capacity` items whatever the input size: between the reader and the parsers of
/// `ParallelIngest` (line blocks, spare byte buffers), and between the two threads of
/// `PipelinedAggregator` (record batches).
final class HandoffQueue<Item, Spare>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var spare: [Spare] = []
    private var closed = false
    private(set) var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room, then enqueues. Returns false when the consumers gave up.
    func put(_ item: Item) -> Bool {
        putCounting(item) != nil
    }

    /// Waits for room, then enqueues.
    /// - Returns: How many items were queued when it was called (before any wait), or nil when
    ///   the consumers gave up.
    func putCounting(_ item: Item) -> Int? {
        condition.lock()
        defer { condition.unlock() }
        let found = items.count
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return nil }
        items.append(item)
        condition.broadcast()
        return found
    }

    /// The next item, or nil once the producer closed the queue and it is empty.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed && !cancelled { condition.wait() }
        if cancelled || items.isEmpty { return nil }
        let b = items.removeFirst()
        condition.broadcast()
        return b
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops everything: the producer's next `put` fails and consumers stop taking.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Keeps a used buffer for `takeSpare`.
    func recycle(_ buffer: Spare) {
        condition.lock()
        if spare.count < capacity + 4 { spare.append(buffer) }
        condition.unlock()
    }

    /// A recycled buffer, if any.
    func takeSpare() -> Spare? {
        condition.lock()
        defer { condition.unlock() }
        return spare.popLast()
    }
}

/// The queue of `ParallelIngest`: line blocks, recycled byte buffers.
typealias BlockQueue = HandoffQueue<LineBlock, [UInt8]>

extension HandoffQueue where Spare == [UInt8] {
    /// An empty byte buffer with room for `n` bytes, recycled when one is spare.
    func buffer(reserving n: Int) -> [UInt8] {
        var b = takeSpare() ?? []
        b.removeAll(keepingCapacity: true)
        b.reserveCapacity(n)
        return b
    }
}

/// One parsing thread's own state, moved in and out of the thread whole.
final class ParserSlot<F: LogFormat, S: RecordSink>: @unchecked Sendable {
    var format: F
    var sink: S
    var results: [BlockResult] = []
    var error: VeilError?
    let window: Tally
    let maxLineLength: Int

    init(format: F, sink: S, window: Tally, maxLineLength: Int) {
        self.format = format
        self.sink = sink
        self.window = window
        self.maxLineLength = maxLineLength
    }

    /// Parses blocks until the queue is done.
    func work(_ queue: BlockQueue) {
        var record = LogRecord()
        while var block = queue.take() {
            var tally = Tally(like: window)
            if block.tooLong {
                tally.reject(.lineTooLong, line: 1)
                results.append(BlockResult(seq: block.seq, lines: 1, tally: tally))
                continue
            }
            do throws(VeilError) {
                let zoneless = format.zonelessTimes
                let lines = try parse(&block, &record, &tally)
                tally.zonelessTimes = format.zonelessTimes - zoneless
                results.append(BlockResult(seq: block.seq, lines: lines, tally: tally))
            } catch {
                self.error = error
                queue.cancel()
                return
            }
            queue.recycle(block.bytes)
        }
    }

    /// Splits a block into lines (dropping `\r` before `\n`) and parses them.
    /// - Returns: the number of lines.
    private func parse(_ block: inout LineBlock, _ record: inout LogRecord, _ tally: inout Tally) throws(VeilError)
        -> Int
    {
        let max = maxLineLength
        return try block.bytes.withUnsafeMutableBufferPointer {
            (all: inout UnsafeMutableBufferPointer<UInt8>) throws(VeilError) -> Int in
            guard let base = all.baseAddress else { return 0 }
            let n = all.count
            var pos = 0
            var line = 0
            while pos < n {
                // Safe: every line of a block ends in \n, so memchr finds one inside base[pos..<n].
                let nl = UnsafeMutablePointer<UInt8>(OpaquePointer(memchr(base + pos, 0x0A, n - pos)!)) - base
                var lineEnd = nl
                if lineEnd > pos && base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                line += 1
                if lineEnd - pos > max {
                    tally.reject(.lineTooLong, line: line)
                } else {
                    try Ingest.one(
                        &format, UnsafeMutableBufferPointer(start: base + pos, count: lineEnd - pos), line, &record,
                        &tally, &sink)
                }
                pos = nl + 1
            }
            return line
        }
    }
}

/// The multi-threaded half of `Ingest.run`.
enum ParallelIngest {
    /// Bytes per block: large enough that queue traffic is rare, small enough to spread a file.
    /// Returns the number of lines read (the reader does not count them in this mode).
    static let blockBytes = 1 << 20

    static func run<F: LogFormat, S: RecordSink>(
        _ format: F, _ reader: LineReader, _ sample: [[UInt8]?], threads: Int, _ tally: inout Tally,
        _ sink: inout S, _ extraSinks: inout [S], makeSink: (Int) throws(VeilError) -> S
    ) throws(VeilError) -> Int {
        let queue = BlockQueue(capacity: threads * 2)
        let maxLine = reader.maxLineLength
        var slots: [ParserSlot<F, S>] = [ParserSlot(format: format, sink: sink, window: tally, maxLineLength: maxLine)]
        for i in 1..<threads {
            slots.append(ParserSlot(format: format, sink: try makeSink(i), window: tally, maxLineLength: maxLine))
        }
        let workers = slots.map { slot in JoinableThread { slot.work(queue) } }

        var readError: VeilError?
        do throws(VeilError) {
            var seq = 0
            var block = LineBlock(bytes: queue.buffer(reserving: blockBytes + (1 << 19)), seq: 0)
            var going = true
            func flush() {
                guard going, !block.bytes.isEmpty else { return }
                going = queue.put(block)
                seq += 1
                block = LineBlock(bytes: queue.buffer(reserving: blockBytes + (1 << 19)), seq: seq)
            }
            func skippedLine() {
                flush()
                guard going else { return }
                going = queue.put(LineBlock(bytes: [], seq: seq, tooLong: true))
                seq += 1
                block.seq = seq
            }
            // The lines read for format detection come first.
            for line in sample where going {
                if let line {
                    block.bytes.append(contentsOf: line)
                    block.bytes.append(0x0A)
                } else {
                    skippedLine()
                }
            }
            while going, let chunk = try reader.nextChunk() {
                switch chunk {
                case .lines(let bytes, let terminated):
                    block.bytes.append(contentsOf: bytes)
                    if !terminated { block.bytes.append(0x0A) }
                    if block.bytes.count >= blockBytes { flush() }
                case .tooLong:
                    skippedLine()
                }
            }
            flush()
        } catch {
            readError = error
            queue.cancel()
        }
        queue.close()
        for worker in workers { worker.join() }

        if let readError { throw readError }
        if let e = slots.lazy.compactMap(\.error).first { throw e }
        sink = slots[0].sink
        for slot in slots.dropFirst() { extraSinks.append(slot.sink) }
        // Line numbers: each block's are relative; the blocks before it give the offset.
        var lines = 0
        for r in slots.flatMap(\.results).sorted(by: { $0.seq < $1.seq }) {
            tally.absorb(r.tally, lineOffset: lines)
            lines += r.lines
        }
        return lines
    }
}

extension Tally {
    /// An empty tally with the same window.
    init(like other: Tally) {
        self.init(from: other.from, until: other.until)
    }
}
