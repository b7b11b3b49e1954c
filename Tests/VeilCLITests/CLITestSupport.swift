import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Shared helpers for the end-to-end tests of the `veil` command-line tool.
//
// Every test in this target runs the *built* executables the way a user does: a real process,
// real files in a temporary directory, exit status, standard output and standard error. Nothing
// here links the executables' code. The fixtures come from `veil-fixtures generate` (never from
// a real corpus), so a test can compare what veil reports with the generator's exact truth.

/// What a finished process produced.
struct ProcessResult: Sendable, CustomStringConvertible {
    /// The exit status (or 128 + signal number when the process was killed by a signal).
    var status: Int32
    /// Everything written to standard output, byte for byte.
    var stdout: [UInt8]
    /// Everything written to standard error, byte for byte.
    var stderr: [UInt8]

    /// Standard output decoded as UTF-8 (invalid bytes replaced).
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error decoded as UTF-8 (invalid bytes replaced).
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }

    /// A short summary for test failure messages: status and both streams (cut to 2,000 bytes).
    var description: String {
        func cut(_ s: String) -> String { s.count > 2000 ? String(s.prefix(2000)) + "…" : s }
        return "exit \(status)\n--- stdout\n\(cut(stdoutText))\n--- stderr\n\(cut(stderrText))"
    }
}

/// A failure of the test harness itself (a binary not found, a process that hung, a tool missing).
struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The paths written by one `veil-fixtures generate` call (see ``CLI/generate(format:lines:seed:extra:in:name:)``).
struct GeneratedLog: Sendable {
    /// The log file.
    var log: String
    /// The ground-truth JSON (`--truth`).
    var truth: String
    /// The identifier list (`--identifiers`): `kind<TAB>value` per line.
    var identifiers: String

    /// The truth file parsed with `JSONSerialization` (for fields the typed view does not cover).
    func truthJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: truth))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLITestError("truth file \(truth) is not a JSON object")
        }
        return object
    }

    /// The `log` section of the truth file: line counts and every malformed line with its kind.
    func logTruth() throws -> LogTruth {
        let data = try Data(contentsOf: URL(fileURLWithPath: truth))
        return try JSONDecoder().decode(TruthFile.self, from: data).log
    }

    /// Every identifier the generator put into the log, as `(kind, value)` (kinds: cookie, email,
    /// ip, recipient, token, ua, user).
    func identifierList() throws -> [(kind: String, value: String)] {
        let text = try String(contentsOfFile: identifiers, encoding: .utf8)
        var out: [(kind: String, value: String)] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 { out.append((kind: String(parts[0]), value: String(parts[1]))) }
        }
        return out
    }
}

/// The `log` section of a `veil-fixtures` truth file.
struct LogTruth: Decodable, Sendable {
    struct MalformedLine: Decodable, Sendable {
        /// 1-based physical line number in the log.
        var line: Int
        /// The generator's label: bad-timestamp, bad-status, unbalanced-quote, truncated,
        /// binary-garbage or line-too-long.
        var kind: String
    }

    /// Log lines written, W3C directives not included.
    var lines: Int
    /// W3C `#` directive lines.
    var directiveLines: Int
    /// All lines in the file (lines + directive lines).
    var physicalLines: Int
    /// Well-formed request lines.
    var requests: Int
    /// Malformed lines by kind, plus `total`.
    var malformed: [String: Int]
    /// Every malformed line, in line order.
    var malformedLines: [MalformedLine]

    enum CodingKeys: String, CodingKey {
        case lines, requests, malformed
        case directiveLines = "directive_lines"
        case physicalLines = "physical_lines"
        case malformedLines = "malformed_lines"
    }
}

private struct TruthFile: Decodable {
    var log: LogTruth
}

/// Runs the built `veil` and `veil-fixtures` executables and external tools for end-to-end tests.
///
/// Binaries are looked up next to the running test bundle (`swift test` builds every target,
/// executables included, into the same products directory), then in `<package>/.build/debug/`;
/// `VEIL_BIN_DIR` overrides both. Processes inherit the test's environment plus the given
/// overrides, read standard input from the given bytes (or `/dev/null`), and are killed after a
/// timeout. Standard output and error go to temporary files, so a chatty process never blocks
/// on a full pipe.
///
/// Example:
///
///     let dir = try CLI.tempDir()
///     defer { CLI.remove(dir) }
///     let log = try CLI.generate(format: "combined", lines: 2000, in: dir)
///     let r = try CLI.veil(["inspect", "--json", log.log])
///     #expect(r.status == 0, "\(r)")
enum CLI {
    /// The package root (the directory holding `Package.swift`), found from this file's path.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<6 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                return url.path
            }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// Candidate directories for the built executables, best first.
    static let productDirectories: [String] = {
        var dirs: [String] = []
        if let env = ProcessInfo.processInfo.environment["VEIL_BIN_DIR"], !env.isEmpty { dirs.append(env) }
        // The running test bundle: on Linux /proc/self/exe is <scratch>/<triple>/debug/<pkg>PackageTests.xctest;
        // on macOS the executable sits inside <scratch>/.../debug/<pkg>PackageTests.xctest/Contents/MacOS/.
        var exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        if exe.isEmpty, let first = CommandLine.arguments.first { exe = first }
        if !exe.isEmpty {
            var url = URL(fileURLWithPath: exe).standardizedFileURL
            for _ in 0..<5 {
                url.deleteLastPathComponent()
                dirs.append(url.path)
            }
        }
        dirs.append(packageRoot + "/.build/debug")
        return dirs
    }()

    /// The path of a built executable of this package (`veil`, `veil-fixtures`).
    ///
    /// - Throws: `CLITestError` listing where it looked.
    static func binary(_ name: String) throws -> String {
        for dir in productDirectories {
            let path = dir + "/" + name
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: path)
            {
                return path
            }
        }
        throw CLITestError(
            "executable '\(name)' not found in \(productDirectories); run `swift build` (or `swift test`, "
                + "which builds it) or set VEIL_BIN_DIR")
    }

    /// The path of an external tool on `PATH` (`gzip`, `zstd`, …).
    ///
    /// - Throws: `CLITestError` saying what to install when the tool is missing.
    static func tool(_ name: String, package: String? = nil) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = String(dir) + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CLITestError(
            "the end-to-end tests need the '\(name)' command; install it (e.g. `apt-get install \(package ?? name)`)")
    }

    /// Runs the built `veil` with `args`.
    ///
    /// - Parameters:
    ///   - stdin: bytes for standard input; `nil` gives `/dev/null`.
    ///   - env: variables added to (or replacing those of) the test's environment.
    ///   - cwd: working directory; `nil` keeps the test's.
    ///   - timeout: seconds before the process is killed (the result then has status 128 + 9).
    static func veil(
        _ args: [String], stdin: [UInt8]? = nil, env: [String: String] = [:], cwd: String? = nil,
        timeout: Double = 120
    ) throws -> ProcessResult {
        try run(try binary("veil"), args, stdin: stdin, env: env, cwd: cwd, timeout: timeout)
    }

    /// Runs the built `veil-fixtures` with `args` (e.g. `["generate", "--lines", "2000", ...]`).
    static func fixtures(_ args: [String], timeout: Double = 120) throws -> ProcessResult {
        try run(try binary("veil-fixtures"), args, timeout: timeout)
    }

    /// Generates a log with `veil-fixtures generate`, its truth and identifier files, in `dir`.
    ///
    /// Files are named `<name>.log`, `<name>.truth.json` and `<name>.ids`; `name` defaults to
    /// the format. `extra` is passed through (e.g. `["--long-line"]`, `["--days", "2"]`).
    ///
    /// - Throws: `CLITestError` when the generator fails.
    static func generate(
        format: String = "combined", lines: Int, seed: UInt64 = 1, extra: [String] = [], in dir: String,
        name: String? = nil
    ) throws -> GeneratedLog {
        let base = dir + "/" + (name ?? format)
        let g = GeneratedLog(log: base + ".log", truth: base + ".truth.json", identifiers: base + ".ids")
        let r = try fixtures(
            [
                "generate", "--format", format, "--lines", String(lines), "--seed", String(seed),
                "--output", g.log, "--truth", g.truth, "--identifiers", g.identifiers,
            ] + extra)
        guard r.status == 0 else { throw CLITestError("veil-fixtures generate failed: \(r)") }
        return g
    }

    /// Runs any executable; see ``veil(_:stdin:env:cwd:timeout:)`` for the parameters.
    static func run(
        _ executable: String, _ args: [String], stdin: [UInt8]? = nil, env: [String: String] = [:],
        cwd: String? = nil, timeout: Double = 120
    ) throws -> ProcessResult {
        let io = try tempDir()
        defer { remove(io) }
        let outPath = io + "/stdout"
        let errPath = io + "/stderr"
        let inPath = io + "/stdin"
        try write(stdin ?? [], to: inPath)
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
            FileManager.default.createFile(atPath: errPath, contents: nil),
            let out = FileHandle(forWritingAtPath: outPath),
            let err = FileHandle(forWritingAtPath: errPath),
            let input = FileHandle(forReadingAtPath: stdin == nil ? "/dev/null" : inPath)
        else { throw CLITestError("cannot set up standard streams in \(io)") }
        defer {
            try? out.close()
            try? err.close()
            try? input.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        var killed = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            killed = true
            kill(process.processIdentifier, SIGKILL)
            done.wait()
        }
        let status: Int32 =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        var result = ProcessResult(status: status, stdout: try read(outPath), stderr: try read(errPath))
        if killed {
            result.stderr += Array("\n[test harness: killed after \(timeout) s]\n".utf8)
        }
        return result
    }

    // MARK: - Files

    /// Creates a new private temporary directory (mode 0700) and returns its path.
    ///
    /// The caller removes it: `defer { CLI.remove(dir) }`.
    static func tempDir(prefix: String = "veil-cli-test") throws -> String {
        var template = Array((NSTemporaryDirectory() + "/" + prefix + ".XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLITestError("mkdtemp failed: errno \(errno)")
        }
        let path = String(cString: made)
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Removes a file or directory tree, making it writable first (ignores errors).
    static func remove(_ path: String) {
        _ = chmod(path, 0o700)
        if let e = FileManager.default.enumerator(atPath: path) {
            for case let sub as String in e { _ = chmod(path + "/" + sub, 0o700) }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The bytes of a file.
    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes bytes to a file, replacing it.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The file names in a directory, sorted (empty when it does not exist).
    static func list(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// Mounts a new tmpfs on directory `dir` (root with CAP_SYS_ADMIN only); false when the
    /// mount fails.
    static func mountTmpfs(_ dir: String) -> Bool {
        mount("veil-test", dir, "tmpfs", 0, "size=64m") == 0
    }

    /// Bind-mounts directory `source` on directory `dir` (the same file system, so `dir` has
    /// its parent's device); false when the mount fails.
    static func bindMount(_ source: String, on dir: String) -> Bool {
        mount(source, dir, nil, UInt(MS_BIND), nil) == 0
    }

    /// Unmounts what `mountTmpfs` mounted (lazily, so a busy mount does not fail the test).
    static func unmount(_ dir: String) {
        _ = umount2(dir, Int32(MNT_DETACH))
    }

    /// Whether this test process may mount a tmpfs (tried once on a scratch directory).
    static let canMountTmpfs: Bool = {
        guard let dir = try? tempDir(prefix: "veil-mount-probe") else { return false }
        defer { remove(dir) }
        guard mountTmpfs(dir) else { return false }
        unmount(dir)
        return true
    }()

    /// Whether a file or directory exists.
    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    /// The permission bits of a file or directory (e.g. `0o700`).
    static func mode(_ path: String) throws -> Int {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw CLITestError("cannot stat \(path): errno \(errno)") }
        return Int(st.st_mode & 0o7777)
    }

    /// Every `*.csv` file of a rollup directory, by name, with its bytes.
    static func csvFiles(in dir: String) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for name in list(dir) where name.hasSuffix(".csv") {
            files[name] = try read(dir + "/" + name)
        }
        return files
    }

    // MARK: - Leak checks

    /// The identifiers (values, at least 4 bytes long) that occur anywhere in `haystack`.
    ///
    /// Each value is searched as listed and, when it contains spaces, with every space written
    /// as `+` (the W3C/IIS form of a User-Agent). Shorter values are skipped: they would match by
    /// chance (a 3-character user name inside a word). Matching is on bytes, case-sensitive.
    static func leakedIdentifiers(
        in haystack: [UInt8], identifiers: [(kind: String, value: String)]
    ) -> [String] {
        var leaks: [String] = []
        for (kind, value) in identifiers {
            guard value.utf8.count >= 4 else { continue }
            var needles = [Array(value.utf8)]
            if value.contains(" ") {
                needles.append(needles[0].map { $0 == UInt8(ascii: " ") ? UInt8(ascii: "+") : $0 })
            }
            if needles.contains(where: { contains(haystack, $0) }) { leaks.append("\(kind) \(value)") }
        }
        return leaks
    }

    /// Whether `needle` occurs in `haystack` (bytes).
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}

// MARK: - JSON and CSV reading

/// Parses JSON bytes (`what`: the output's name, for the error) into an object.
func jsonObject(_ bytes: [UInt8], _ what: String = "the output") throws -> [String: Any] {
    guard let o = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
        throw CLITestError("\(what) is not a JSON object")
    }
    return o
}

/// An RFC 4180 CSV file as veil writes it (header row, quoted fields with doubled quotes).
struct CSVTable {
    var path: String
    var header: [String]
    var rows: [[String: String]]

    init(_ path: String) throws {
        self.path = path
        let records = Self.parse(try CLI.read(path))
        guard let first = records.first else { throw CLITestError("\(path): no header row") }
        header = first
        rows = try records.dropFirst().enumerated().map { i, r in
            guard r.count == first.count else {
                throw CLITestError("\(path): record \(i + 2) has \(r.count) fields, the header \(first.count)")
            }
            return Dictionary(uniqueKeysWithValues: zip(first, r))
        }
    }

    /// Splits bytes into records of fields: `,` separates, `"` quotes (`""` is a quote inside),
    /// CRLF or LF ends a record outside quotes.
    static func parse(_ bytes: [UInt8]) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: "\"") {
                quoted = true
            } else if b == UInt8(ascii: ",") {
                endField()
            } else if b == 0x0A || (b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) {
                if b == 0x0D { i += 1 }
                endField()
                records.append(record)
                record = []
            } else {
                field.append(b)
            }
            i += 1
        }
        if !field.isEmpty || !record.isEmpty {
            endField()
            records.append(record)
        }
        return records
    }

    /// Rows of one site and period value (`date`, `hour`, ...).
    func rows(site: String, _ column: String, _ value: String) -> [[String: String]] {
        rows.filter { $0["site"] == site && $0[column] == value }
    }
}
