import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The tag in the name of a temporary file or directory veil works in (`.<name>.tmp-<tag>` and
/// the like), and the leftovers of killed processes.
///
/// A tag is `<pid>-<start>-<random>`: the writing process's id, its start time (clock ticks
/// after boot, from `/proc/self/stat`; 0 where unknown) and a random number. The start time
/// tells a leftover of a killed process from the work of a later process that was given the
/// same id (ids are reused: `pid_max` is often 32768).
enum WorkTag {
    /// A new tag for this process.
    static func make() -> String {
        "\(getpid())-\(startTime(of: getpid()) ?? 0)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether the process that made `tag` (see `make`) no longer runs: no process has its id,
    /// or the one that has it started at another time. A tag without a start time
    /// (`<pid>-<random>`) is judged by its id alone.
    static func isGone(_ tag: Substring) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let pid = Int32(parts[0]), pid > 0, pid != getpid() else { return false }
        if kill(pid, 0) != 0 { return errno == ESRCH }
        guard parts.count >= 3, let started = UInt64(parts[1]), started != 0,
            let now = startTime(of: pid)
        else { return false }
        return now != started
    }

    /// The start time of process `pid` in clock ticks after boot (field 22 of
    /// `/proc/<pid>/stat`), or nil when it cannot be read.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let bytes = try? AtomicFile.read("/proc/\(pid)/stat"),
            let close = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        // After the command name, in parentheses (which may hold spaces and parentheses), come
        // the fields from the third (the state) on.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    /// The entries of `dir` named one of `prefixes` and a tag whose process no longer runs, with
    /// that prefix, in name order.
    static func leftovers(in dir: String, prefixes: [String]) -> [(entry: String, prefix: String)] {
        var found: [(entry: String, prefix: String)] = []
        for entry in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
            if let prefix = prefixes.first(where: { entry.hasPrefix($0) }), isGone(entry.dropFirst(prefix.count)) {
                found.append((entry, prefix))
            }
        }
        return found
    }
}
