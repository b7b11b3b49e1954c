import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `veil prune`: deletes pseudonymous state files whose data is past its retention. Anonymous
/// rollups (CSV, manifests) and any file that is not a veil state are never touched.
public enum Retention {
    /// One state file considered.
    public struct StateFile: Sendable, Equatable {
        public var path: String
        /// End of the newest key epoch the state's pseudonyms come from (UTC seconds), or the
        /// file's modification time for a state with no records.
        public var dataEnd: Int64
        public var expired: Bool
    }

    /// What a scan found.
    public struct Scan: Sendable, Equatable {
        public var states: [StateFile] = []
        /// Files named `*.veilstate` (or given by name) that are not readable veil states: kept.
        public var unreadable: [String] = []
        public var expired: [StateFile] { states.filter(\.expired) }
    }

    /// Finds state files in `paths` (files, or directories searched for `*.veilstate` one level
    /// deep) and marks those whose data ended more than `olderThan` seconds before `now`.
    public static func scan(paths: [String], olderThan: Int64, now: Int64) throws(VeilError) -> Scan {
        var files: [String] = []
        for p in paths {
            var st = stat()
            guard lstat(p, &st) == 0 else { throw AtomicFile.ioError("cannot find", p) }
            if st.st_mode & S_IFMT == S_IFDIR {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: p)) ?? []
                files += names.filter { $0.hasSuffix(".veilstate") }.sorted().map { p + "/" + $0 }
            } else {
                files.append(p)
            }
        }
        var scan = Scan()
        let cutoff = now - olderThan
        for f in files {
            var st = stat()
            // Never follow a symlink: only regular files are states veil may delete.
            guard lstat(f, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let state = try? StateCodec.read(f) else {
                scan.unreadable.append(f)
                continue
            }
            let end = state.epochs.compactMap { EpochID($0)?.end }.max() ?? Int64(st.st_mtim.tv_sec)
            scan.states.append(StateFile(path: f, dataEnd: end, expired: end <= cutoff))
        }
        return scan
    }

    /// Deletes the expired files of `scan`.
    /// - Returns: The paths deleted.
    public static func delete(_ scan: Scan) throws(VeilError) -> [String] {
        var gone: [String] = []
        for f in scan.expired {
            guard unlink(f.path) == 0 else { throw AtomicFile.ioError("cannot delete", f.path) }
            AtomicFile.syncDirectory(AtomicFile.directory(of: f.path))
            gone.append(f.path)
        }
        return gone
    }
}
