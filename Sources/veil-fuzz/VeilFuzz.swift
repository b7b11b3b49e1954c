import VeilFuzzTargets

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if VEIL_LIBFUZZER
    /// libFuzzer's entry point for programs with their own `main` (from `libclang_rt.fuzzer_no_main`,
    /// linked by .ci/fuzz.sh): it parses libFuzzer's flags from `argv` and fuzzes `callback`.
    @_silgen_name("LLVMFuzzerRunDriver")
    private func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// The target libFuzzer's callback runs (a C callback captures nothing). Set once in `main`
    /// before fuzzing starts; libFuzzer calls back on this thread only.
    nonisolated(unsafe) private var selectedTarget: FuzzTarget?
#endif

/// `veil-fuzz`: runs one fuzz target of `VeilFuzzTargets`.
///
/// ```
/// veil-fuzz list
/// veil-fuzz TARGET --replay FILE|DIR...         run saved inputs once each (any build)
/// veil-fuzz TARGET [libFuzzer flags] [DIR...]   fuzz (the build of .ci/fuzz.sh only)
/// ```
@main
enum VeilFuzz {
    static func main() {
        let args = CommandLine.arguments
        guard args.count >= 2, args[1] != "-h", args[1] != "--help" else { usage(exit: args.count >= 2 ? 0 : 2) }
        if args[1] == "list" {
            for t in FuzzTarget.all { print("\(t.name)\t\(t.summary)") }
            return
        }
        guard let target = FuzzTarget.named(args[1]) else {
            printError(
                "veil-fuzz: unknown target '\(args[1])'; targets: \(FuzzTarget.all.map(\.name).joined(separator: ", "))"
            )
            exit(2)
        }
        if args.count >= 3 && args[2] == "--replay" {
            replay(target, Array(args[3...]))
            return
        }
        #if VEIL_LIBFUZZER
            selectedTarget = target
            // libFuzzer sees our argv without the target name: program, then its flags and dirs.
            var cArgs: [UnsafeMutablePointer<CChar>?] = ([args[0]] + args[2...]).map { strdup($0) } + [nil]
            var argc = CInt(cArgs.count - 1)
            let status = cArgs.withUnsafeMutableBufferPointer { buffer -> CInt in
                var argv = buffer.baseAddress!  // Safe: the array is never empty (it ends in nil).
                return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
                    // Safe: set above, before libFuzzer starts calling back.
                    selectedTarget!.run(UnsafeBufferPointer(start: data, count: size))
                    return 0
                }
            }
            exit(status)
        #else
            printError(
                "veil-fuzz: this build has no libFuzzer; run .ci/fuzz.sh to fuzz, or use "
                    + "'veil-fuzz \(target.name) --replay FILE|DIR...'")
            exit(2)
        #endif
    }

    /// Runs each file (directories: each regular file in them, sorted) once.
    static func replay(_ target: FuzzTarget, _ paths: [String]) {
        var files: [String] = []
        for path in paths {
            if let entries = directoryEntries(path) {
                files += entries.map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            guard let bytes = readFile(file) else {
                printError("veil-fuzz: cannot read \(file)")
                exit(1)
            }
            print("\(target.name): \(file) (\(bytes.count) bytes)")
            target.run(bytes)
        }
        print("\(target.name): replayed \(files.count) inputs, no crash")
    }

    static func usage(exit code: Int32) -> Never {
        print(
            """
            usage: veil-fuzz list
                   veil-fuzz TARGET --replay FILE|DIR...
                   veil-fuzz TARGET [libFuzzer flags] [CORPUS_DIR...]   (built by .ci/fuzz.sh)

            Targets:
            """)
        for t in FuzzTarget.all { print("  \(t.name.padding(15))\(t.summary)") }
        exit(code)
    }

    static func printError(_ message: String) {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// Regular files in `path`, sorted; nil when `path` is not a directory.
    static func directoryEntries(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            var info = stat()
            if stat(path + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { names.append(name) }
        }
        return names.sorted()
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return ferror(f) == 0 ? bytes : nil
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
