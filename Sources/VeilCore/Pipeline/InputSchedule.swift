import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a job's inputs share its threads: one after another, each read with every thread, or
/// several at once, each with its share of the threads.
///
/// One compressed input is decompressed by one thread, and two threads on one input
/// (`PipelinedAggregator`) do not quite halve its time; inputs read side by side, each by its
/// own threads, share nothing. So a night of rotated logs is read several files at a time,
/// largest first, while one large input among small ones is still read with every thread. The
/// choice follows an estimate of the time each way (`plan`); the result does not depend on it.
struct InputSchedule: Equatable {
    /// How many inputs are read at once (1: one after another, each with every thread).
    var concurrency: Int
    /// The inputs' indices in the order readers take them: largest estimated work first (in
    /// input order when `concurrency` is 1).
    var order: [Int]
    /// Threads of each concurrent reader (as many entries as `concurrency`).
    var threadsPerReader: [Int]
    /// The inputs read after those of `order`, one after another with every thread: the
    /// smallest, fewer than the readers (so no reader waits alone at the end with threads
    /// idle beside it).
    var tail: [Int] = []

    /// Plans `paths` for `threads` threads from the inputs' sizes and compression.
    init(paths: [String], threads: Int) {
        guard threads > 1, paths.count > 1 else {
            self.init(sequential: paths.count, threads: threads)
            return
        }
        var weights: [Double] = []
        for path in paths {
            // Standard input, pipes and devices: sizes unknown, and a cap reached by inputs
            // read side by side needs every input read again; one after another, then.
            guard let w = Self.weight(path) else {
                self.init(sequential: paths.count, threads: threads)
                return
            }
            weights.append(w)
        }
        self = Self.plan(weights: weights, threads: threads)
    }

    init(concurrency: Int, order: [Int], threadsPerReader: [Int], tail: [Int] = []) {
        self.concurrency = concurrency
        self.order = order
        self.threadsPerReader = threadsPerReader
        self.tail = tail
    }

    private init(sequential count: Int, threads: Int) {
        self.init(concurrency: 1, order: Array(0..<count), threadsPerReader: [max(1, threads)])
    }

    /// Relative speed of one input read with `threads` threads: two threads take about 0.57
    /// of one thread's time (the reading thread is busy throughout, the aggregating one about
    /// 80%); with more, blocks of lines go to parsing threads fed by one decompressing thread,
    /// which limits the gain.
    static func speed(threads: Int) -> Double {
        threads <= 1 ? 1 : min(0.875 * Double(threads), 4)
    }

    /// The estimated work of reading `path`: its size in bytes, times 10 when it is compressed
    /// (about what access logs compress by); nil when it is not a regular file.
    static func weight(_ path: String) -> Double? {
        // The type first: opening a named pipe would wait for a writer.
        var st = stat()
        guard path != "-", stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: Compression.magicLength)
        let n = magic.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let compression = magic.withUnsafeBytes {
            Compression.detect(prefix: UnsafeRawBufferPointer(rebasing: $0[..<max(0, n)]))
        }
        return Double(st.st_size) * (compression == .plain ? 1 : 10)
    }

    /// The schedule of inputs of estimated work `weights` on `threads` threads that is
    /// estimated to finish first: one input after another, each at `speed(threads:)`; or `c`
    /// readers (2 up to the number of inputs) sharing the threads evenly, each taking the
    /// largest input left when it is free, then the `tail` (none, or the remainder of the
    /// inputs' count divided by `c`) with every thread. Reading several inputs at once costs
    /// the memory of several inputs' states, so it must be estimated at least 5% sooner.
    static func plan(weights: [Double], threads: Int) -> InputSchedule {
        let sequential = InputSchedule(sequential: weights.count, threads: threads)
        let byWork = weights.indices.sorted { weights[$0] > weights[$1] || weights[$0] == weights[$1] && $0 < $1 }
        let allThreads = speed(threads: threads)
        var best: (schedule: InputSchedule, time: Double)?
        for c in stride(from: 2, through: min(weights.count, threads), by: 1) {
            let shares = (0..<c).map { threads / c + ($0 < threads % c ? 1 : 0) }
            for tailCount in Set([0, weights.count % c]) where weights.count - tailCount >= c {
                let side = byWork.dropLast(tailCount)
                var free = [Double](repeating: 0, count: c)
                for i in side {
                    // The reader free first takes the next input (the one with more threads on a tie).
                    let r = free.indices.min { free[$0] < free[$1] || free[$0] == free[$1] && shares[$0] > shares[$1] }!
                    free[r] += weights[i] / speed(threads: shares[r])
                }
                let tail = Array(byWork.suffix(tailCount))
                let time = free.max()! + tail.reduce(0) { $0 + weights[$1] } / allThreads
                if time < best?.time ?? .infinity {
                    best = (
                        InputSchedule(concurrency: c, order: Array(side), threadsPerReader: shares, tail: tail), time
                    )
                }
            }
        }
        let total = weights.reduce(0, +)
        guard let best, best.time < total / allThreads * 0.95 else { return sequential }
        return best.schedule
    }
}

extension AggregateJob {
    /// Reads `schedule.concurrency` inputs at once, each reader (the calling thread and
    /// threads of its own) with its share of the pseudonymisers and a total of its own; the
    /// readers' totals are merged at the end. Reports and skipped inputs come back in input
    /// order, and duplicates are found as `runInOrder` finds them.
    ///
    /// - Returns: nil when the inputs' states together reached a cap (`--max-paths` and the
    ///   like): which values keep their own row then depends on the order the inputs are read
    ///   in, and the caller reads them again, one after another.
    /// - Throws: the error of the first input (in input order) that failed and cannot be
    ///   skipped; once one fails, readers take no new input.
    func runConcurrently(
        paths: [String], schedule: InputSchedule, pseudonymizers: [Pseudonymizer], sealed: SealedSummaries?,
        progress: @escaping (FileReport) -> Void
    ) throws(VeilError) -> Outcome? {
        let board = InputBoard(paths: paths, order: schedule.order, progress: progress, ingest: ingest.progress)
        var job = self
        var first = 0
        let readers = schedule.threadsPerReader.enumerated().map { (r, t) in
            defer { first += t }
            if let combined = board.combinedProgress { job.ingest.progress = { combined(r, $0) } }
            return InputReader(index: r, job: job, pseudonymizers: Array(pseudonymizers[first..<first + t]))
        }
        let threads = readers.dropFirst().map { reader in JoinableThread { reader.read(paths, board, sealed) } }
        readers[0].read(paths, board, sealed)
        for thread in threads { thread.join() }
        var all = readers
        if !schedule.tail.isEmpty {
            // The smallest inputs, with every thread.
            let r = readers.count
            if let combined = board.combinedProgress { job.ingest.progress = { combined(r, $0) } }
            let tail = InputReader(index: r, job: job, pseudonymizers: pseudonymizers)
            board.append(schedule.tail)
            tail.read(paths, board, sealed)
            all.append(tail)
        }

        let results = board.results
        if let fatal = results.lazy.compactMap({ $0?.fatal }).first { throw fatal }
        var reports: [FileReport] = []
        var skipped: [FileReport] = []
        var seen: [String: String] = [:]
        for (n, result) in results.enumerated() {
            switch result {
            case .report(let report)?:
                if let first = seen[report.fingerprint] { throw Self.duplicate(paths[n], of: first) }
                seen[report.fingerprint] = paths[n]
                reports.append(report)
            case .skipped(let error)?:
                skipped.append(failedReport(paths[n], error))
            case .fatal, nil:
                // None fatal (thrown above); inputs not taken after a duplicate was found,
                // which this loop throws for.
                continue
            }
        }
        precondition(results.allSatisfy { $0 != nil }, "every input is read unless the job fails")
        var caps = Aggregator.CapsUnion()
        for reader in all { caps.add(reader.caps) }
        guard caps.agrees(with: aggregation) else { return nil }
        var total: AggregateState?
        for reader in all {
            guard let part = reader.total else { continue }
            if total == nil { total = part } else { try total!.merge(part) }
            reader.total = nil
        }
        if total == nil { total = try empty(pseudonymizers[0]) }
        return Outcome(total: total!, reports: reports, skipped: skipped)
    }
}

/// One concurrent reader's own state: its pseudonymisers, the total of the inputs it read and
/// the values they kept apart under the caps. Used by one thread at a time.
private final class InputReader: @unchecked Sendable {
    let index: Int
    let job: AggregateJob
    let pseudonymizers: [Pseudonymizer]
    /// Whether one aggregator goes on from input to input (`AggregateJob.carries`).
    let carry: Bool
    var carried: Aggregator?
    var total: AggregateState?
    var caps = Aggregator.CapsUnion()

    init(index: Int, job: AggregateJob, pseudonymizers: [Pseudonymizer]) {
        self.index = index
        self.job = job
        self.pseudonymizers = pseudonymizers
        carry = job.carries(threads: pseudonymizers.count)
    }

    /// Reads inputs the board hands out until none is left or one failed for good.
    func read(_ paths: [String], _ board: InputBoard, _ sealed: SealedSummaries?) {
        while let n = board.next() {
            do throws(VeilError) {
                let (parts, report) = try job.aggregate(
                    input: n, path: paths[n], pseudonymizers: pseudonymizers, capped: Aggregator.CappedValues(),
                    sealed: sealed, carry: carry, carried: &carried)
                // An input with the content of one read before fails the job (with the error
                // one after another gives, found in input order at the end): not merged.
                if board.claim(report.fingerprint) {
                    for part in parts { caps.add(part) }
                    try AggregateJob.merge(parts, into: &total)
                }
                board.finished(n, report, reader: index)
            } catch {
                board.failed(n, error, fatal: !(job.skipBadFiles && AggregateJob.isSkippable(error)), reader: index)
            }
        }
        if let aggregator = carried.take() {
            // With an aggregator carried, no part was merged into `total`.
            precondition(total == nil)
            caps.add(aggregator)
            total = aggregator.finish()
        }
    }
}

/// What the readers share: the next input to take, each input's result, and the progress
/// shown for all of them (the caller's callbacks, called one at a time).
private final class InputBoard: @unchecked Sendable {
    enum InputResult {
        case report(FileReport)
        case skipped(VeilError)
        case fatal(VeilError)

        var fatal: VeilError? {
            if case .fatal(let e) = self { return e }
            return nil
        }
    }

    private let lock = NSLock()
    private var order: [Int]
    private var taken = 0
    private var fingerprints = Set<String>()
    private var stopped = false
    private(set) var results: [InputResult?]
    private let progress: (FileReport) -> Void
    private let ingest: (@Sendable (IngestProgress) -> Void)?
    // The progress of all inputs together: bytes of inputs done, and of each reader's current one.
    private let started = monotonicSeconds()
    private var lastShown = 0.0
    private var done = 0
    private var doneIn: Int64 = 0
    private var doneOut: Int64 = 0
    private var current: [Int: (bytesIn: Int64, bytesOut: Int64)] = [:]
    private let totalBytes: Int64?

    init(
        paths: [String], order: [Int], progress: @escaping (FileReport) -> Void,
        ingest: (@Sendable (IngestProgress) -> Void)?
    ) {
        self.order = order
        self.results = Array(repeating: nil, count: paths.count)
        self.progress = progress
        self.ingest = ingest
        var sum: Int64 = 0
        for path in paths {
            var st = stat()
            guard stat(path, &st) == 0 else {
                sum = -1
                break
            }
            sum += Int64(st.st_size)
        }
        totalBytes = sum >= 0 ? sum : nil
    }

    /// The next input to read, or nil when all are taken or one failed for good.
    func next() -> Int? {
        lock.withLock {
            guard !stopped, taken < order.count else { return nil }
            taken += 1
            return order[taken - 1]
        }
    }

    /// Appends inputs to hand out once those before are taken.
    func append(_ inputs: [Int]) {
        lock.withLock { order += inputs }
    }

    /// Whether no input read so far had content with `fingerprint`; otherwise the job will
    /// fail, and readers take no new input.
    func claim(_ fingerprint: String) -> Bool {
        lock.withLock {
            if fingerprints.insert(fingerprint).inserted { return true }
            stopped = true
            return false
        }
    }

    func finished(_ n: Int, _ report: FileReport, reader r: Int) {
        lock.withLock {
            results[n] = .report(report)
            current[r] = nil
            done += 1
            doneIn += report.bytesIn
            doneOut += report.bytesOut
            progress(report)
        }
    }

    func failed(_ n: Int, _ error: VeilError, fatal: Bool, reader r: Int) {
        lock.withLock {
            results[n] = fatal ? .fatal(error) : .skipped(error)
            current[r] = nil
            if fatal { stopped = true }
            done += 1
        }
    }

    /// A progress callback for reader `r`'s inputs that shows all inputs together, when the
    /// job has one.
    var combinedProgress: (@Sendable (Int, IngestProgress) -> Void)? {
        guard ingest != nil else { return nil }
        return { [self] r, p in self.update(reader: r, p) }
    }

    private func update(reader r: Int, _ p: IngestProgress) {
        lock.withLock {
            // A reader's current input; an input done moves its bytes to `doneIn`/`doneOut`, and
            // the reader's next input starts from zero.
            current[r] = (p.bytesIn, p.bytesOut)
            let now = monotonicSeconds()
            guard now - lastShown >= 0.25, let ingest else { return }
            lastShown = now
            var bytesIn = doneIn
            var bytesOut = doneOut
            for c in current.values {
                bytesIn += c.bytesIn
                bytesOut += c.bytesOut
            }
            ingest(
                IngestProgress(
                    file: "\(done) of \(results.count) inputs", bytesIn: bytesIn, totalBytes: totalBytes,
                    bytesOut: bytesOut,
                    seconds: now - started))
        }
    }
}
