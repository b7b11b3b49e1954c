import Foundation
import VeilCore

/// Lines processed by one iteration of every per-line benchmark: malloc counts are per 100k
/// lines, so allocations per line = count / 100,000.
let linesPerIteration = 100_000

/// Stops the benchmark run with a message (setup problems must not be measured as results).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("VeilBenchmarks: \(message)\n".utf8))
    exit(1)
}

/// Generated inputs, made once per process and shared by the benchmarks that need them.
final class Inputs: @unchecked Sendable {
    static let shared = Inputs()

    private let lock = NSLock()
    private var cache: [String: Workload.Lines] = [:]

    /// `linesPerIteration` lines of `format`, of day `day` of the synthetic site.
    func lines(_ format: Workload.Format, day: Int = 0) -> Workload.Lines {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(format)/\(day)"
        if let hit = cache[key] { return hit }
        let made = Workload().lines(format, count: linesPerIteration, day: day)
        if day == 0 { cache[key] = made }
        return made
    }

    private var blocks: [[UInt8]] = []

    /// `combined_cookie` lines of days `0..<days`, one `zstd -3` block per day.
    func zstdBlocks(days: Int) -> [[UInt8]] {
        lock.lock()
        let have = blocks
        lock.unlock()
        if have.count >= days { return Array(have.prefix(days)) }
        let directory = TemporaryDirectory(inMemory: true)
        defer { directory.remove() }
        var made = have
        for day in made.count..<days {
            made.append(zstdCompress(lines(.combinedCookie, day: day).bytes, in: directory))
        }
        lock.lock()
        blocks = made
        lock.unlock()
        return made
    }
}

/// A temporary directory, removed by `remove()` or, at the latest, by `removeAll()` (the
/// benchmarks' global teardown: the harness never releases a benchmark's setup state).
struct TemporaryDirectory {
    let path: String

    private static let lock = NSLock()
    nonisolated(unsafe) private static var made: Set<String> = []

    /// Creates `<base>/veil-bench-XXXXXX`; `base` is `/dev/shm` (memory) when `inMemory` and
    /// present, else the temporary directory.
    init(inMemory: Bool = false) {
        var base = NSTemporaryDirectory()
        if inMemory, FileManager.default.isWritableFile(atPath: "/dev/shm") { base = "/dev/shm" }
        var template = Array((base + "/veil-bench-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fail("cannot create a temporary directory in \(base)")
        }
        path = String(cString: made)
        Self.lock.lock()
        Self.made.insert(path)
        Self.lock.unlock()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        Self.lock.lock()
        Self.made.remove(path)
        Self.lock.unlock()
    }

    /// Removes every directory made in this process and not removed yet.
    static func removeAll() {
        lock.lock()
        let left = made
        made = []
        lock.unlock()
        for path in left { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Compresses `bytes` with the `zstd` command-line tool at level 3 (as `zstd -3` does).
func zstdCompress(_ bytes: [UInt8], in directory: TemporaryDirectory) -> [UInt8] {
    let input = directory.path + "/block.log"
    let output = input + ".zst"
    guard FileManager.default.createFile(atPath: input, contents: Data(bytes)) else {
        fail("cannot write \(input)")
    }
    defer {
        try? FileManager.default.removeItem(atPath: input)
        try? FileManager.default.removeItem(atPath: output)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["zstd", "-3", "-q", "-f", input, "-o", output]
    do {
        try process.run()
    } catch {
        fail("cannot run zstd (install it: apt-get install zstd): \(error)")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0, let data = FileManager.default.contents(atPath: output) else {
        fail("zstd -3 failed with status \(process.terminationStatus) (is the zstd tool installed?)")
    }
    return [UInt8](data)
}

/// A key store in a fresh temporary directory, with fixed keys for the workload's first
/// `keyedDays` days.
///
/// Fixed keys make the pseudonyms, and so the sketches' contents and their allocations, the same
/// on every run (a key store creates random keys). The keys are written the way `KeyStore`
/// stores them: `<epoch>.key`, 32 bytes, mode 0600.
func temporaryKeyStore(_ directory: TemporaryDirectory, keyedDays: Int = 32) -> KeyStore {
    let store: KeyStore
    do {
        store = try KeyStore(path: directory.path + "/keys", granularity: .day, now: Workload.dayStart)
    } catch {
        fail("cannot create a key store: \(error)")
    }
    var rng = SplitMix64(seed: 0x6b65_7973)
    for day in 0..<keyedDays {
        let epoch = EpochID(granularity: .day, containing: Workload.dayStart + Int64(day) * 86_400)
        var key: [UInt8] = []
        for _ in 0..<(KeyStore.keyByteCount / 8) {
            let word = rng.next()
            for j in 0..<8 { key.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(j)))) }
        }
        let file = store.path + "/\(epoch).key"
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0, fchmod(fd, 0o600) == 0,
            key.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == key.count, close(fd) == 0
        else {
            fail("cannot write the benchmark key \(file)")
        }
    }
    return store
}
