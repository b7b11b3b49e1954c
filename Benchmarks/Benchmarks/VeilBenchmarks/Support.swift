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

    /// `linesPerIteration` lines of `format`.
    func lines(_ format: Workload.Format) -> Workload.Lines {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(format)"
        if let hit = cache[key] { return hit }
        let made = Workload().lines(format, count: linesPerIteration)
        cache[key] = made
        return made
    }
}

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    /// Creates `<base>/veil-bench-XXXXXX`; `base` defaults to `/dev/shm` (memory) when present.
    init(inMemory: Bool = false) {
        var base = NSTemporaryDirectory()
        if inMemory, FileManager.default.isWritableFile(atPath: "/dev/shm") { base = "/dev/shm" }
        var template = Array((base + "/veil-bench-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            fail("cannot create a temporary directory in \(base)")
        }
        path = String(cString: made)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
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

/// A key store in a fresh temporary directory.
func temporaryKeyStore(_ directory: TemporaryDirectory) -> KeyStore {
    do {
        return try KeyStore(path: directory.path + "/keys", granularity: .day, now: Workload.dayStart)
    } catch {
        fail("cannot create a key store: \(error)")
    }
}
