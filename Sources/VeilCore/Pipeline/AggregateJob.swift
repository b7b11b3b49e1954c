#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Aggregates a list of inputs into one state, one after another or several side by side
/// (`InputSchedule`). With `skipBadFiles` each input has a state of its own, merged at the end,
/// so a bad input contributes nothing; otherwise one aggregator goes on from input to input
/// (merging is exact, so the state is the same, and a failed input fails the job). An input is
/// never counted twice.
public struct AggregateJob: Sendable {
    public var ingest: IngestConfiguration
    public var aggregation: AggregationConfiguration
    /// Go on past an input that cannot be read or decompressed, or whose format `--format auto`
    /// does not recognise, reporting it.
    public var skipBadFiles = false
    /// Threads per input: 1; 2 (`PipelinedAggregator`: the calling thread reads, parses and
    /// computes visitor pseudonyms, a second one aggregates); or more (`ParallelIngest`: the
    /// calling thread reads and decompresses, that many threads parse and aggregate blocks).
    public var threads = 1
    /// Names to record inputs under instead of their paths (path → name), e.g. standard input
    /// fed by a cluster task, recorded under the file's own name so the state equals the one a
    /// direct read gives.
    public var inputNames: [String: String] = [:]
    /// Move the per-pseudonym summaries of key epochs the input has moved past into a
    /// temporary file (`SealedSummaries`), so memory stays that of about one epoch however
    /// many days the inputs cover. The result's `sealed` then holds them: `Release` reads them
    /// back one epoch at a time; `Result.materialize()` merges them into the state.
    public var sealPastEpochs = false
    /// Where the sealed summaries' temporary file goes (default `$TMPDIR`, else `/tmp`).
    public var sealingDirectory: String?

    public init(ingest: IngestConfiguration, aggregation: AggregationConfiguration) {
        self.ingest = ingest
        self.aggregation = aggregation
    }

    /// What a job produced.
    public struct Result {
        /// The aggregated state, without the summaries in `sealed`.
        public var state: AggregateState
        /// The summaries of past key epochs and days (with `sealPastEpochs`): none of them is
        /// in `state`, so together they are the whole.
        public var sealed: SealedSummaries?
        public var reports: [FileReport]
        /// Inputs skipped with `skipBadFiles`, with the error for each.
        public var skipped: [FileReport]
        /// The country database the pageviews were placed with (`AggregationConfiguration.countries`).
        public var countries: CountryDatabase?

        /// Merges the sealed summaries back into `state` (for a state file or a release that
        /// needs the whole state at once).
        public mutating func materialize() throws(VeilError) {
            guard let sealed else { return }
            for e in sealed.visitorEpochs { try state.merge(sealed.visitors(epoch: e)) }
            for d in sealed.recipientDays { try state.merge(sealed.recipients(day: d)) }
            self.sealed = nil
        }
    }

    /// Runs the job.
    /// - Parameter progress: called after each input with its report (one call at a time;
    ///   with inputs read side by side, from the thread that read it, in the order they end).
    /// - Throws: the first input's error (naming file and byte offset) unless `skipBadFiles`;
    ///   a key-store error always.
    public func run(
        paths: [String], keyStore: KeyStore, progress: @escaping (FileReport) -> Void = { _ in }
    ) throws(VeilError) -> Result {
        // One pseudonymiser (and its cache) per parsing thread, kept across inputs.
        let pseudonymizers = (0..<max(1, threads)).map { _ in Pseudonymizer(keyStore: keyStore, createKeys: true) }
        return try run(paths: paths, pseudonymizers: pseudonymizers, progress: progress)
    }

    /// Runs the job with the given pseudonymisers, one per parsing thread.
    ///
    /// Several inputs are read at once when that is estimated to finish sooner than reading
    /// them one after another with every thread (`InputSchedule`); the result is the same
    /// either way, byte for byte.
    public func run(
        paths: [String], pseudonymizers: [Pseudonymizer], progress: @escaping (FileReport) -> Void = { _ in }
    ) throws(VeilError) -> Result {
        let configuration = try empty(pseudonymizers[0]).configuration
        let sealed = sealPastEpochs ? SealedSummaries(configuration: configuration, directory: sealingDirectory) : nil
        let schedule = InputSchedule(paths: paths, threads: pseudonymizers.count)
        var outcome: Outcome?
        if schedule.concurrency > 1 {
            outcome = try runConcurrently(
                paths: paths, schedule: schedule, pseudonymizers: pseudonymizers, sealed: sealed, progress: progress)
        }
        var result: Outcome
        if let outcome {
            result = outcome
        } else {
            if schedule.concurrency > 1 {
                // The inputs' states reached a cap together: they are read again, in order
                // (their reports were passed to `progress` already).
                for n in paths.indices { sealed?.discard(input: n) }
            }
            result = try runInOrder(
                paths: paths, pseudonymizers: pseudonymizers, sealed: sealed,
                progress: schedule.concurrency > 1 ? { _ in } : progress)
        }
        if let sealed {
            if sealed.hasCells {
                // Every summary goes to the file, then the cells come back: the release reads
                // summaries one epoch at a time and needs all cells at once.
                try result.total.seal(epochs: { _ in true }, days: { _ in true }, into: sealed)
                try sealed.restoreCells(into: &result.total)
            } else {
                // Summaries of sealed epochs and days built after the sealing (late lines, other
                // inputs, other threads) join the pieces already sealed.
                let keys = sealed.sealedKeys()
                try result.total.seal(epochs: keys.epochs.contains, days: keys.days.contains, into: sealed)
            }
        }
        result.total.compact(threads: pseudonymizers.count)
        return Result(
            state: result.total, sealed: sealed, reports: result.reports, skipped: result.skipped,
            countries: aggregation.countries)
    }

    /// What the inputs gave before the job's last steps.
    struct Outcome {
        var total: AggregateState
        var reports: [FileReport]
        var skipped: [FileReport]
    }

    /// Reads the inputs one after another, each with every thread, merging each into the total.
    private func runInOrder(
        paths: [String], pseudonymizers: [Pseudonymizer], sealed: SealedSummaries?, progress: (FileReport) -> Void
    ) throws(VeilError) -> Outcome {
        var total: AggregateState?
        var reports: [FileReport] = []
        var skipped: [FileReport] = []
        var seen: [String: String] = [:]
        // Per capped kind, the values the inputs so far kept apart: the caps are per state.
        var capped = Aggregator.CappedValues()
        let carry = carries(threads: pseudonymizers.count)
        var carried: Aggregator?
        for (n, path) in paths.enumerated() {
            let parts: [Aggregator]
            let report: FileReport
            do {
                (parts, report) = try aggregate(
                    input: n, path: path, pseudonymizers: pseudonymizers, capped: capped, sealed: sealed, carry: carry,
                    carried: &carried)
            } catch {
                guard skipBadFiles, Self.isSkippable(error) else { throw error }
                skipped.append(failedReport(path, error))
                continue
            }
            if let first = seen[report.fingerprint] { throw Self.duplicate(path, of: first) }
            seen[report.fingerprint] = path
            if n + 1 < paths.count {
                for part in parts { capped.add(part) }
            }
            try Self.merge(parts, into: &total, threads: pseudonymizers.count)
            reports.append(report)
            progress(report)
        }
        if let carried { try Self.merge([carried], into: &total, threads: pseudonymizers.count) }
        if total == nil { total = try empty(pseudonymizers[0]) }
        return Outcome(total: total!, reports: reports, skipped: skipped)
    }

    /// Aggregates input `n`: with one thread, two (`PipelinedAggregator`), or more
    /// (`ParallelIngest`, whose blocks' aggregators are returned beside the first, to be
    /// merged). The first aggregator holds the input's record (`addInput`).
    ///
    /// - Parameters:
    ///   - capped: the values earlier inputs kept apart under the caps (`inheritCapped`).
    ///   - sealed: where past epochs' summaries go; a failed input's pieces are discarded.
    ///   - carry: go on with the aggregator in `carried` (a fresh one when it is nil) and leave
    ///     it there instead of returning it among the parts. (One or two threads only.)
    func aggregate(
        input n: Int, path: String, pseudonymizers: [Pseudonymizer], capped: Aggregator.CappedValues,
        sealed: SealedSummaries?, carry: Bool = false, carried: inout Aggregator?
    ) throws(VeilError) -> (parts: [Aggregator], report: FileReport) {
        precondition(!carry || pseudonymizers.count <= 2, "an aggregator is carried with one or two threads")
        var ingest = ingest
        // With two threads or more the reading thread sets the pace: the input's fingerprint
        // is computed beside it.
        ingest.fingerprintInBackground = pseudonymizers.count > 1
        func fresh(_ i: Int) throws(VeilError) -> Aggregator {
            var aggregator = try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizers[i])
            aggregator.sealed = sealed
            aggregator.sealedInput = n
            aggregator.inheritCapped(capped)
            return aggregator
        }
        /// The first aggregator: the one carried in (moved out of `carried`, so it is not
        /// copied on write), or a fresh one.
        func first() throws(VeilError) -> Aggregator {
            guard carry, var aggregator = carried.take() else { return try fresh(0) }
            aggregator.sealedInput = n
            return aggregator
        }
        /// Two threads: one reads, parses and computes visitor pseudonyms, the other
        /// aggregates (nothing done twice, one state, every line in input order).
        func pipelined() throws(VeilError) -> (Aggregator, FileReport) {
            var pipeline = PipelinedAggregator(aggregator: try first(), pseudonymizer: pseudonymizers[1])
            let report = try Ingest.run(path: path, configuration: ingest, sink: &pipeline)
            return (try pipeline.finish(), report)
        }
        var aggregator: Aggregator
        var others: [Aggregator] = []
        var report: FileReport
        do throws(VeilError) {
            if pseudonymizers.count == 2 || pseudonymizers.count > 2 && !Self.canReadTwice(path) {
                (aggregator, report) = try pipelined()
            } else {
                // One thread, or blocks of lines spread over several aggregators.
                aggregator = try first()
                report = try Ingest.run(
                    path: path, configuration: ingest, threads: pseudonymizers.count, sink: &aggregator,
                    extraSinks: &others, makeSink: fresh)
                if !Aggregator.capsAgree([aggregator] + others) {
                    // The blocks' states reached a cap (--max-paths, referrers, campaigns,
                    // links): which values keep their own row depends on the order they
                    // come in, so the input is read again, in order, as two threads do.
                    sealed?.discard(input: n)
                    others = []
                    (aggregator, report) = try pipelined()
                }
            }
        } catch {
            sealed?.discard(input: n)
            throw error
        }
        if let name = inputNames[path] { report.file = name }
        aggregator.addInput(report)
        if carry {
            carried = consume aggregator
            return (others, report)
        }
        return ([aggregator] + others, report)
    }

    /// Whether a reader goes on with one aggregator from input to input instead of merging a
    /// state per input: the same state (merging is exact) without the merges, when no input
    /// may be left out (`skipBadFiles` drops a failed input's part) and one or two threads
    /// read each input (more give a state per block, read again in order when they reach a
    /// cap, which needs the state from before the input).
    func carries(threads: Int) -> Bool { !skipBadFiles && threads <= 2 }

    /// Merges the parts of one input into `total`. The first input's first part becomes the
    /// total as it is: merging it into an empty state would copy every cell, sketch and
    /// visitor once more (and double the peak memory at the end of a one-input run).
    /// `threads` threads compact each part's sketches.
    static func merge(_ parts: [Aggregator], into total: inout AggregateState?, threads: Int = 1) throws(VeilError) {
        for part in parts {
            if total == nil {
                total = part.finish(threads: threads)
            } else {
                try total!.merge(part.finish(threads: threads))
            }
        }
    }

    /// An empty state of this job's configuration (no input was read).
    func empty(_ pseudonymizer: Pseudonymizer) throws(VeilError) -> AggregateState {
        try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizer).finish()
    }

    /// Whether `skipBadFiles` goes on past `error`: an input that cannot be read or
    /// decompressed, or whose format cannot be detected.
    static func isSkippable(_ error: VeilError) -> Bool {
        error.code == .corruptInput || error.code == .io || error.code == .unrecognisedFormat
    }

    /// The report of a skipped input, under its recorded name.
    func failedReport(_ path: String, _ error: VeilError) -> FileReport {
        var failed = FileReport.failed(path, error)
        failed.file = inputNames[path] ?? path
        return failed
    }

    /// The error for an input whose content an earlier input had.
    static func duplicate(_ path: String, of first: String) -> VeilError {
        VeilError(.usage, "'\(path)' has the same content as '\(first)'; an input is counted once", file: path)
    }
}

extension AggregateJob {
    /// Whether `path` can be read a second time: a regular file (not standard input, a pipe or
    /// a device). With 3 or more threads, other inputs are read once, in order.
    static func canReadTwice(_ path: String) -> Bool {
        guard path != "-" else { return false }
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}

extension FileReport {
    /// A report for an input that could not be read.
    public static func failed(_ path: String, _ error: VeilError) -> FileReport {
        FileReport(
            file: path, compression: "", format: "", formatDetected: false, lines: 0, records: 0,
            skipped: 0, outsideWindow: 0, rejected: 0, rejects: [], repaired: [], firstTimestamp: nil,
            lastTimestamp: nil,
            bytesIn: 0, bytesOut: 0, seconds: 0, fingerprint: "", error: error.description)
    }
}
