import VeilCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `veil run` does with a file, in memory: `--format auto` detection, parsing, aggregation
/// (classification, pseudonyms, sketches, visits, e-mail hits), then the state file round trip
/// and the release. Hostile lines (far-future times, odd addresses, garbage user agents) reach
/// every per-record step this way.
///
/// Keys come from a throw-away key store in the temporary directory, one per process, with
/// monthly epochs so that it holds at most about 1,440 keys whatever times the inputs carry; it
/// is removed at exit. Pseudonyms depend on its random keys, which changes no code path.
enum AggregateTarget {
    nonisolated(unsafe) private static var pseudonymizer: Pseudonymizer?
    nonisolated(unsafe) private static var aggregators: [Aggregator]?
    nonisolated(unsafe) private static var keyDirectory: [CChar] = []

    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        let lines = FuzzInput.lines(input)
        var format = FormatDetector.detectEnveloped(lines.map { Array($0) }).format
        // A copy of a fresh aggregator: building one (classifier tables) costs more than a run.
        var aggregator = templates()[input.count & 1]
        for line in lines {
            let failed = FuzzInput.withCopy(line) { buffer -> Bool in
                var record = LogRecord()
                let result: ParseResult
                switch format {
                case .text(var f):
                    result = f.parse(buffer, into: &record)
                    format = .text(f)
                case .json(var f):
                    result = f.parse(buffer, into: &record)
                    format = .json(f)
                case .w3c(var f):
                    result = f.parse(buffer, into: &record)
                    format = .w3c(f)
                }
                guard result == .record else { return false }
                RecordCheck.check(record, in: UnsafeBufferPointer(buffer), parser: format.name)
                do throws(VeilError) {
                    try aggregator.consume(&record, line: UnsafeBufferPointer(buffer))
                } catch {
                    return true
                }
                return false
            }
            if failed { break }
        }
        let state = aggregator.finish()
        let encoded = StateCodec.encode(state)
        do throws(VeilError) {
            _ = try StateCodec.decode(encoded, file: "aggregated.veilstate")
        } catch {
            preconditionFailure("an aggregated state encodes to bytes that do not decode: \(error.message)")
        }
        StateTargets.decodeAndUse(encoded)
    }

    /// Fresh aggregators over the shared pseudonymizer, without and with `--trust-forwarded-for`.
    private static func templates() -> [Aggregator] {
        if let aggregators { return aggregators }
        do throws(VeilError) {
            let p = try shared()
            var trusting = AggregationConfiguration()
            trusting.trustForwardedFor = true
            let made = [
                try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: p),
                try Aggregator(configuration: trusting, pseudonymizer: p),
            ]
            aggregators = made
            return made
        } catch {
            preconditionFailure("cannot set up the aggregate fuzz target: \(error)")
        }
    }

    /// The process's pseudonymizer over its throw-away key store.
    private static func shared() throws(VeilError) -> Pseudonymizer {
        if let pseudonymizer { return pseudonymizer }
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(base)/veil-fuzz-keys-\(getpid())"
        let store = try KeyStore(path: path, granularity: .month)
        keyDirectory = Array(path.utf8CString)
        atexit { AggregateTarget.removeKeyStore() }
        let p = Pseudonymizer(keyStore: store, createKeys: true)
        pseudonymizer = p
        return p
    }

    /// Deletes the key store's files and directory (it has no subdirectories).
    private static func removeKeyStore() {
        keyDirectory.withUnsafeBufferPointer { dirPath in
            guard let base = dirPath.baseAddress, let dir = opendir(base) else { return }
            let path = String(cString: base)
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(dir)
            rmdir(base)
        }
    }
}
