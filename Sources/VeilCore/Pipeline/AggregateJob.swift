#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Aggregates a list of inputs into one state: each input on its own, merged at the end, so a
/// bad input contributes nothing (with `skipBadFiles`) and an input is never counted twice.
public struct AggregateJob {
    public var ingest: IngestConfiguration
    public var aggregation: AggregationConfiguration
    /// Go on past an input that cannot be read or decompressed, reporting it.
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
    /// - Parameter progress: called after each input with its report.
    /// - Throws: the first input's error (naming file and byte offset) unless `skipBadFiles`;
    ///   a key-store error always.
    public func run(
        paths: [String], keyStore: KeyStore, progress: (FileReport) -> Void = { _ in }
    ) throws(VeilError) -> Result {
        // One pseudonymiser (and its cache) per parsing thread, kept across inputs.
        let pseudonymizers = (0..<max(1, threads)).map { _ in Pseudonymizer(keyStore: keyStore, createKeys: true) }
        return try run(paths: paths, pseudonymizers: pseudonymizers, progress: progress)
    }

    /// Runs the job with the given pseudonymisers, one per parsing thread.
    public func run(
        paths: [String], pseudonymizers: [Pseudonymizer], progress: (FileReport) -> Void = { _ in }
    ) throws(VeilError) -> Result {
        let pseudonymizer = pseudonymizers[0]
        var ingest = ingest
        // With two threads or more the reading thread sets the pace: the input's fingerprint
        // is computed beside it.
        ingest.fingerprintInBackground = pseudonymizers.count > 1
        var total = try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizer).finish()
        let sealed = sealPastEpochs ? SealedSummaries(configuration: total.configuration, directory: sealingDirectory) : nil
        var reports: [FileReport] = []
        var skipped: [FileReport] = []
        var seen: [String: String] = [:]
        // Per capped kind, the values the inputs so far kept apart: the caps are per state.
        var capped = Aggregator.CappedValues()
        for (n, path) in paths.enumerated() {
            var aggregator = try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizer)
            aggregator.sealed = sealed
            aggregator.inheritCapped(capped)
            sealed?.begin(input: n)
            var others: [Aggregator] = []
            var report: FileReport
            /// Two threads: one reads, parses and computes visitor pseudonyms, the other
            /// aggregates (nothing done twice, one state, every line in input order).
            func pipelined(_ aggregator: Aggregator) throws(VeilError) -> (Aggregator, FileReport) {
                var pipeline = PipelinedAggregator(aggregator: aggregator, pseudonymizer: pseudonymizers[1])
                let report = try Ingest.run(path: path, configuration: ingest, sink: &pipeline)
                return (try pipeline.finish(), report)
            }
            do {
                if pseudonymizers.count == 2 || pseudonymizers.count > 2 && !Self.canReadTwice(path) {
                    (aggregator, report) = try pipelined(aggregator)
                } else {
                    // One thread, or blocks of lines spread over several aggregators, merged below.
                    report = try Ingest.run(
                        path: path, configuration: ingest, threads: pseudonymizers.count, sink: &aggregator,
                        extraSinks: &others
                    ) { (i: Int) throws(VeilError) -> Aggregator in
                        var worker = try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizers[i])
                        worker.sealed = sealed
                        worker.inheritCapped(capped)
                        return worker
                    }
                    if !Aggregator.capsAgree([aggregator] + others) {
                        // The blocks' states reached a cap (--max-paths, referrers, campaigns,
                        // links): which values keep their own row depends on the order they
                        // come in, so the input is read again, in order, as two threads do.
                        sealed?.discard(input: n)
                        sealed?.begin(input: n)
                        others = []
                        var fresh = try Aggregator(configuration: aggregation, pseudonymizer: pseudonymizer)
                        fresh.sealed = sealed
                        fresh.inheritCapped(capped)
                        (aggregator, report) = try pipelined(fresh)
                    }
                }
            } catch {
                guard skipBadFiles, error.code == .corruptInput || error.code == .io else { throw error }
                sealed?.discard(input: n)
                var failed = FileReport.failed(path, error)
                failed.file = inputNames[path] ?? path
                skipped.append(failed)
                continue
            }
            if let name = inputNames[path] { report.file = name }
            if let first = seen[report.fingerprint] {
                throw VeilError(.usage, "'\(path)' has the same content as '\(first)'; an input is counted once", file: path)
            }
            seen[report.fingerprint] = path
            aggregator.addInput(report)
            if n + 1 < paths.count {
                for part in [aggregator] + others { capped.add(part) }
            }
            // The first input's state becomes the total as it is: merging it into an empty
            // state would copy every cell, sketch and visitor once more (and double the peak
            // memory at the end of a one-input run).
            if reports.isEmpty {
                total = aggregator.finish()
            } else {
                try total.merge(aggregator.finish())
            }
            for other in others { try total.merge(other.finish()) }
            reports.append(report)
            progress(report)
        }
        if let sealed {
            if sealed.hasCells {
                // Every summary goes to the file, then the cells come back: the release reads
                // summaries one epoch at a time and needs all cells at once.
                try total.seal(epochs: { _ in true }, days: { _ in true }, into: sealed)
                try sealed.restoreCells(into: &total)
            } else {
                // Summaries of sealed epochs and days built after the sealing (late lines, other
                // inputs, other threads) join the pieces already sealed.
                let keys = sealed.sealedKeys()
                try total.seal(epochs: keys.epochs.contains, days: keys.days.contains, into: sealed)
            }
        }
        total.compact()
        return Result(state: total, sealed: sealed, reports: reports, skipped: skipped)
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
            skipped: 0, outsideWindow: 0, rejected: 0, rejects: [], repaired: [], firstTimestamp: nil, lastTimestamp: nil,
            bytesIn: 0, bytesOut: 0, seconds: 0, fingerprint: "", error: error.description)
    }
}
