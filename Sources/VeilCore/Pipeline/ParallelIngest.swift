import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run of whole lines handed from the reading thread to a parsing thread.
///
/// `bytes` holds the lines, each followed by `\n` (terminators already normalised: no `\r`);
/// line `i` of the block is line `firstLine + i` of the file. A line over the length limit is
/// an empty line here, listed in `tooLong`.
struct LineBlock: Sendable {
    var bytes: [UInt8]
    var firstLine: Int
    var tooLong: [Int] = []
}

/// A bounded queue of blocks between one reader and several parsers, with a pool of spare
/// buffers so memory stays at `capacity` blocks whatever the input size.
final class BlockQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var blocks: [LineBlock] = []
    private var spare: [[UInt8]] = []
    private var closed = false
    private(set) var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room, then enqueues. Returns false when the parsers gave up.
    func put(_ block: LineBlock) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while blocks.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        blocks.append(block)
        condition.broadcast()
        return true
    }

    /// The next block, or nil once the reader closed the queue and it is empty.
    func take() -> LineBlock? {
        condition.lock()
        defer { condition.unlock() }
        while blocks.isEmpty && !closed && !cancelled { condition.wait() }
        if cancelled || blocks.isEmpty { return nil }
        let b = blocks.removeFirst()
        condition.broadcast()
        return b
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops everything: the reader's next `put` fails and parsers stop taking.
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    func recycle(_ bytes: [UInt8]) {
        condition.lock()
        if spare.count < capacity + 4 { spare.append(bytes) }
        condition.unlock()
    }

    func buffer(reserving n: Int) -> [UInt8] {
        condition.lock()
        var b = spare.popLast() ?? []
        condition.unlock()
        b.removeAll(keepingCapacity: true)
        b.reserveCapacity(n)
        return b
    }
}

/// One parsing thread's own state, moved in and out of the thread whole.
final class ParserSlot<F: LogFormat, S: RecordSink>: @unchecked Sendable {
    var format: F
    var sink: S
    var tally: Tally
    var error: VeilError?

    init(format: F, sink: S, tally: Tally) {
        self.format = format
        self.sink = sink
        self.tally = tally
    }

    /// Parses blocks until the queue is done.
    func work(_ queue: BlockQueue) {
        var record = LogRecord()
        while var block = queue.take() {
            do throws(VeilError) {
                try parse(&block, &record)
            } catch {
                self.error = error
                queue.cancel()
                return
            }
            queue.recycle(block.bytes)
        }
    }

    private func parse(_ block: inout LineBlock, _ record: inout LogRecord) throws(VeilError) {
        let first = block.firstLine
        let tooLong = block.tooLong
        var nextTooLong = 0
        try block.bytes.withUnsafeMutableBufferPointer { (all: inout UnsafeMutableBufferPointer<UInt8>) throws(VeilError) in
            guard let base = all.baseAddress else { return }
            let n = all.count
            var pos = 0
            var line = first
            while pos < n {
                // Safe: pos < n and memchr stays inside base[pos..<n]; every line ends in \n.
                let nl = UnsafeMutablePointer<UInt8>(
                    OpaquePointer(memchr(base + pos, 0x0A, n - pos)!)) - base
                if nextTooLong < tooLong.count && tooLong[nextTooLong] == line {
                    nextTooLong += 1
                    tally.reject(.lineTooLong, line: line)
                } else {
                    try Ingest.one(
                        &format, UnsafeMutableBufferPointer(start: base + pos, count: nl - pos), line, &record,
                        &tally, &sink)
                }
                pos = nl + 1
                line += 1
            }
        }
    }
}

/// The multi-threaded half of `Ingest.run`.
enum ParallelIngest {
    /// Bytes per block: large enough that queue traffic is rare, small enough to spread a file.
    static let blockBytes = 1 << 20

    static func run<F: LogFormat, S: RecordSink>(
        _ format: F, _ reader: LineReader, _ sample: [[UInt8]?], threads: Int, _ tally: inout Tally,
        _ sink: inout S, _ extraSinks: inout [S], makeSink: (Int) throws(VeilError) -> S
    ) throws(VeilError) {
        let queue = BlockQueue(capacity: threads * 2)
        var slots: [ParserSlot<F, S>] = [ParserSlot(format: format, sink: sink, tally: Tally(like: tally))]
        for i in 1..<threads {
            slots.append(ParserSlot(format: format, sink: try makeSink(i), tally: Tally(like: tally)))
        }
        let done = DispatchGroup()
        for slot in slots {
            done.enter()
            let thread = Thread {
                slot.work(queue)
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }

        var readError: VeilError?
        do throws(VeilError) {
            var block = LineBlock(bytes: queue.buffer(reserving: blockBytes + 4096), firstLine: 1)
            func add(_ line: UnsafeBufferPointer<UInt8>?, number: Int) -> Bool {
                if let line {
                    block.bytes.append(contentsOf: line)
                } else {
                    block.tooLong.append(number)
                }
                block.bytes.append(0x0A)
                if block.bytes.count >= blockBytes {
                    let full = block
                    block = LineBlock(bytes: queue.buffer(reserving: blockBytes + 4096), firstLine: number + 1)
                    return queue.put(full)
                }
                return true
            }
            var going = true
            for (i, line) in sample.enumerated() where going {
                if let line {
                    going = line.withUnsafeBufferPointer { add($0, number: i + 1) }
                } else {
                    going = add(nil, number: i + 1)
                }
            }
            while going, let item = try reader.next() {
                switch item {
                case .line(let l): going = add(UnsafeBufferPointer(l), number: reader.lineNumber)
                case .tooLong: going = add(nil, number: reader.lineNumber)
                }
            }
            if going && !block.bytes.isEmpty { _ = queue.put(block) }
        } catch {
            readError = error
            queue.cancel()
        }
        queue.close()
        done.wait()

        if let readError { throw readError }
        if let e = slots.lazy.compactMap(\.error).first { throw e }
        sink = slots[0].sink
        for (i, slot) in slots.enumerated() {
            tally.absorb(slot.tally)
            if i > 0 { extraSinks.append(slot.sink) }
        }
    }
}

extension Tally {
    /// An empty tally with the same window.
    init(like other: Tally) {
        self.init(from: other.from, until: other.until)
    }
}
