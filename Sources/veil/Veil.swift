import ArgumentParser
import Foundation
import VeilCore

@main
struct Veil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veil",
        abstract: "Turn web-server logs into anonymous traffic rollups (CSV).",
        discussion: """
            Identifiers (IP addresses, cookie ids, user agents) are pseudonymised with rotating \
            secret keys and never reach a rollup; rows with fewer than k distinct visitors are \
            suppressed.

            Quick path:   veil run access.log-*.zst -o rollups/
            In stages:    veil aggregate day1.log.gz -o day1.veilstate --keys /etc/veil/keys
                          veil merge day1.veilstate day2.veilstate -o week.veilstate
                          veil report week.veilstate -o rollups/
            Look first:   veil inspect access.log.zst
            Personal:     veil join week.veilstate --identities accounts.csv --purpose "..." -o personal/

            Exit status: 0 success, 1 error, 2 bad usage, 3 input had rejected lines (--strict).
            """,
        version: veilVersion,
        subcommands: [
            RunCommand.self, AggregateCommand.self, MergeCommand.self, ReportCommand.self,
            InspectCommand.self, KeysCommand.self, JoinCommand.self, ForgetCommand.self, AuditCommand.self,
            PruneCommand.self,
        ]
    )

    /// Parses and runs a command like `ParsableCommand.main()`, but reports bad usage found by
    /// the argument parser (unknown flag, missing argument, `ValidationError`) with exit status
    /// 2, as documented, instead of the parser's 64 (`EX_USAGE`).
    static func main() {
        returnFreedMemory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }

    /// Runs a command body, mapping veil's errors to messages and exit codes.
    static func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as VeilError {
            Terminal.error(e.description)
            switch e.code {
            case .usage: throw ExitCode(2)
            case .rejectedLines: throw ExitCode(3)
            default: throw ExitCode(1)
            }
        }
    }
}

/// Values handed back to the system at exit instead of freed one by one (see `keepUntilExit`).
nonisolated(unsafe) private var keptUntilExit: [Any] = []

/// Keeps `value` alive until the process exits. A finished job's state is hundreds of thousands
/// of small arrays (visit and recipient summaries, sketches): freeing them one by one takes
/// longer than the release that follows reading (~15 ms of a 2M-line run), while exit returns
/// the whole heap at once. Only for values whose deinit frees memory and does nothing else.
func keepUntilExit(_ value: Any) {
    keptUntilExit.append(value)
}

/// Makes glibc's allocator give freed memory back to the system: blocks from 256 KiB up get
/// their own mappings (returned when freed), and the heap is trimmed past 1 MiB free. By
/// default glibc raises its mapping threshold after each large free, so the tables a long job
/// drops (sealed days, grown hash tables) stay in the heap and count in its resident size.
func returnFreedMemory() {
    #if canImport(Glibc)
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        _ = glibcMallopt(mmapThreshold, 256 << 10)
        _ = glibcMallopt(trimThreshold, 1 << 20)
    #endif
}

#if canImport(Glibc)
    @_silgen_name("mallopt") func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// Writing to standard error.
enum Terminal {
    static let isInteractive = isatty(2) == 1

    static func error(_ message: String) {
        FileHandle.standardError.write(Data(("veil: error: " + message + "\n").utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data(("veil: " + message + "\n").utf8))
    }

    /// A transient progress line, only when stderr is a terminal.
    static func progress(_ message: String) {
        guard isInteractive else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + message).utf8))
    }

    static func clearProgress() {
        guard isInteractive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Thousands separators for counts shown to people.
func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

func megabytes(_ n: Int64) -> String {
    String(format: "%.1f MB", Double(n) / 1e6)
}
