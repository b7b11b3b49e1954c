import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Crash-safe replacement of a whole output directory: the new files are written into a hidden
/// temporary directory beside it, fsynced, and the two directories are exchanged in one
/// `renameat2(RENAME_EXCHANGE)`; the old one is then deleted. A reader sees either every old
/// file or every new one, never a mix, and a run killed at any point leaves the previous
/// directory exactly as it was. Hidden leftovers of a killed run (`.<name>.tmp-<tag>`,
/// `.<name>.old-<tag>`, the tag naming the process and its start time) are removed by the next
/// write once their process is gone.
///
/// **Mount points.** A directory that is a mount point (a volume, or a container's bind mount)
/// cannot be renamed or exchanged. It is known by its device (another than its parent's), by
/// `/proc/self/mountinfo` (a bind mount of the same file system), or, where that cannot be
/// read, by the rename failing with `EBUSY`, after which the files are built again inside it.
/// Its parent need not be writable. Its files are replaced one by one instead: the new files are
/// written into a hidden directory inside it and fsynced; the hidden directory is then marked
/// complete (`.<name>.ready-<tag>`, with the list of the new names), each file is renamed
/// over the old one — `manifest.json` last — and then old files the new set lacks are removed. Every
/// file is always whole, and a failed build changes nothing; a reader that looks while the
/// files are being swapped can see old and new files side by side. A run killed during the swap
/// leaves its marked directory, and the next write finishes the swap (then makes its own). A
/// `lost+found` at the root of the volume is left alone.
///
/// The directory must hold nothing but what veil wrote there (`owned` decides): veil refuses
/// to replace a directory with other files in it rather than delete them. Symbolic links are
/// never followed: an output path that is a symlink is refused. The new directory keeps the
/// previous one's permission bits (unless `keepMode` is false) and owner.
public enum AtomicDirectory {
    /// Replaces (or creates) `dir` with what `build` writes into the temporary directory it is
    /// given.
    ///
    /// - Parameters:
    ///   - mode: Permission bits of the new directory.
    ///   - keepMode: Whether an existing directory's permission bits are kept (a web server may
    ///     serve rollups through its group); false applies `mode` in any case (personal data).
    ///   - owned: Whether a file name found in the existing directory is one veil writes there.
    /// - Throws: `VeilError(.usage)` when `dir` is a symlink, not a directory, or holds files
    ///   `owned` rejects; `VeilError(.io)` when writing fails (the previous directory is kept).
    public static func replace(
        _ dir: String, mode: mode_t = 0o755, keepMode: Bool = true, owned: (String) -> Bool,
        build: (String) throws(VeilError) -> Void
    ) throws(VeilError) {
        try replace(dir, mode: mode, keepMode: keepMode, inPlace: nil, owned: owned, build: build)
    }

    /// `replace(_:mode:keepMode:owned:build:)`, with `inPlace` deciding whether an existing
    /// directory is replaced file by file (nil: when it is a mount point).
    static func replace(
        _ dir: String, mode: mode_t = 0o755, keepMode: Bool = true, inPlace: Bool?, owned: (String) -> Bool,
        build: (String) throws(VeilError) -> Void
    ) throws(VeilError) {
        let dir = normalized(dir)
        let name = baseName(dir)
        let parent = AtomicFile.directory(of: dir)
        try AtomicFile.makeDirectory(parent)
        try checkReplaceable(dir, owned: owned)
        var st = stat()
        let exists = lstat(dir, &st) == 0
        removeStale(parent: parent, name: name)
        func replaceFiles() throws(VeilError) {
            if !keepMode && chmod(dir, mode) != 0 {
                throw AtomicFile.ioError("cannot set the output directory's permissions", dir)
            }
            try replaceInPlace(dir, name: name, build: build)
        }
        if exists && (inPlace ?? isMountPoint(dir, st, parent: parent)) {
            try replaceFiles()
            return
        }
        let tag = WorkTag.make()
        let tmp = parent + "/." + name + ".tmp-" + tag
        guard mkdir(tmp, mode) == 0 else { throw AtomicFile.ioError("cannot create a temporary directory", tmp) }
        if exists {
            // The replacement keeps the previous directory's permissions and owner (a web
            // server may serve it through its group).
            _ = chmod(tmp, keepMode ? st.st_mode & 0o7777 : mode)
            _ = chown(tmp, st.st_uid, st.st_gid)
        } else {
            _ = chmod(tmp, mode)
        }
        var done = false
        defer { if !done { removeTree(tmp) } }
        try build(tmp)
        AtomicFile.syncDirectory(tmp)
        if !exists {
            guard rename(tmp, dir) == 0 else {
                throw AtomicFile.ioError("cannot move the new directory into place", dir)
            }
            done = true
            AtomicFile.syncDirectory(parent)
            return
        }
        if exchange(tmp, dir) {
            // `tmp` now names the previous directory.
            done = true
            AtomicFile.syncDirectory(parent)
            removeTree(tmp)
            return
        }
        // No RENAME_EXCHANGE on this file system: move the old one aside first. A crash between
        // the two renames leaves `.<name>.old-…`, which the next write puts back.
        let old = parent + "/." + name + ".old-" + tag
        guard rename(dir, old) == 0 else {
            let code = errno
            let e = AtomicFile.ioError("cannot move the previous directory aside", dir)
            guard code == EBUSY else { throw e }
            // A mount point on the same device as its parent (a bind mount of the same file
            // system): files cannot be renamed across it either, so build again inside it
            // and replace its files one by one.
            removeTree(tmp)
            done = true
            try replaceFiles()
            return
        }
        guard rename(tmp, dir) == 0 else {
            let e = AtomicFile.ioError("cannot move the new directory into place", dir)
            _ = rename(old, dir)
            throw e
        }
        done = true
        AtomicFile.syncDirectory(parent)
        removeTree(old)
    }

    /// What `replace` refuses, checked without writing anything (callers that must check before
    /// other work, such as charging a privacy budget, call it first): an output that is a
    /// symbolic link or not a directory, or a directory holding files `owned` rejects (beyond
    /// veil's own work directories and a volume's `lost+found`).
    public static func checkReplaceable(_ dir: String, owned: (String) -> Bool) throws(VeilError) {
        let dir = normalized(dir)
        var st = stat()
        guard lstat(dir, &st) == 0 else { return }
        guard st.st_mode & S_IFMT != S_IFLNK else {
            throw VeilError(.usage, "the output is a symbolic link; veil does not write through links", file: dir)
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw VeilError(.usage, "the output exists and is not a directory", file: dir)
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        if let foreign = names.sorted().first(where: { !owned($0) && !isTolerated($0, in: dir) }) {
            throw VeilError(
                .usage,
                "the output directory holds '\(foreign)', which veil did not write; veil replaces the whole directory, so give it a directory of its own",
                file: dir)
        }
    }

    /// Whether `dir` (whose `lstat` is `st`) is a mount point: on another device than its
    /// parent, the root, or listed in `/proc/self/mountinfo` (a bind mount of the file system
    /// its parent is on).
    static func isMountPoint(_ dir: String, _ st: stat, parent: String) -> Bool {
        var p = stat()
        guard lstat(parent, &p) == 0 else { return false }
        return p.st_dev != st.st_dev || p.st_ino == st.st_ino || isListedMountPoint(dir)
    }

    /// Whether `dir`, its parent's symbolic links resolved, is a mount point of this process's
    /// mount namespace (field 5 of `/proc/self/mountinfo`, with `\ooo` escapes).
    static func isListedMountPoint(_ dir: String) -> Bool {
        let dir = normalized(dir)
        guard let info = try? AtomicFile.read("/proc/self/mountinfo"),
            let resolved = realpath(AtomicFile.directory(of: dir), nil)
        else { return false }
        defer { free(resolved) }
        let parent = String(cString: resolved)
        let path = Array(((parent == "/" ? "" : parent) + "/" + baseName(dir)).utf8)
        for line in info.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20, maxSplits: 5, omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            if unescapedMountPath(fields[4]) == path { return true }
        }
        return false
    }

    /// A mountinfo path with its octal escapes (`\040` for a space) decoded.
    private static func unescapedMountPath(_ field: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var i = field.startIndex
        while i < field.endIndex {
            if field[i] == UInt8(ascii: "\\"), i + 3 < field.endIndex,
                let value = UInt8(String(decoding: field[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(value)
                i += 4
            } else {
                out.append(field[i])
                i += 1
            }
        }
        return out
    }

    /// The name of the lock file of output `path` (see `OutputLock`).
    static func lockName(of path: String) -> String { "." + baseName(path) + ".lock" }

    /// Whether `entry`, inside output directory `dir`, is a hidden work directory of an
    /// in-place replacement (see the type's notes on mount points).
    static func isWorkEntry(_ entry: String, of dir: String) -> Bool {
        let name = baseName(dir)
        return entry.hasPrefix("." + name + ".tmp-") || entry.hasPrefix("." + name + ".ready-")
    }

    /// Whether `entry` of an existing output directory `dir` is one veil accepts there though
    /// it did not write it as output: its own work directories, and the `lost+found` a file
    /// system keeps at the root of a volume mounted as the output (never removed).
    static func isTolerated(_ entry: String, in dir: String) -> Bool {
        if isWorkEntry(entry, of: dir) || entry == lockName(of: dir) { return true }
        guard entry == lostAndFound else { return false }
        let dir = normalized(dir)
        var st = stat()
        return lstat(dir, &st) == 0 && isMountPoint(dir, st, parent: AtomicFile.directory(of: dir))
    }

    private static let lostAndFound = "lost+found"

    /// The list of a complete in-place replacement's file names, inside its marked directory.
    private static let namesFile = ".names"

    /// Replaces the files of `dir`, a mount point, one by one (see the type's notes).
    private static func replaceInPlace(
        _ dir: String, name: String, build: (String) throws(VeilError) -> Void
    ) throws(VeilError) {
        finishStaleInPlace(dir, name: name)
        let tag = WorkTag.make()
        let tmp = dir + "/." + name + ".tmp-" + tag
        guard mkdir(tmp, 0o700) == 0 else { throw AtomicFile.ioError("cannot create a temporary directory", tmp) }
        var marked = false
        defer { if !marked { removeTree(tmp) } }
        try build(tmp)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).sorted()
        try AtomicFile.writeUnpublished(
            Array(names.joined(separator: "\n").utf8) + [0x0A], to: tmp + "/" + namesFile, mode: 0o600)
        AtomicFile.syncDirectory(tmp)
        let ready = dir + "/." + name + ".ready-" + tag
        guard rename(tmp, ready) == 0 else { throw AtomicFile.ioError("cannot mark the new files complete", tmp) }
        marked = true
        AtomicFile.syncDirectory(dir)
        try swapIn(ready, into: dir)
    }

    /// Moves the files of a marked directory into `dir`, `manifest.json` last, removes the
    /// files of `dir` the new set lacks, then the marked directory. Safe to run again after a
    /// crash part way: the moves already done are skipped.
    private static func swapIn(_ ready: String, into dir: String) throws(VeilError) {
        var st = stat()
        if lstat(ready + "/" + namesFile, &st) != 0 && errno == ENOENT {
            // The list is written before the directory is marked, and removed only with it: a
            // marked directory without it is one whose swap finished and whose removal was cut
            // short.
            removeTree(ready)
            return
        }
        guard let list = try? AtomicFile.read(ready + "/" + namesFile) else {
            throw VeilError(.io, "the list of new files cannot be read", file: ready)
        }
        let names = String(decoding: list, as: UTF8.self).split(separator: "\n").map(String.init)
        for file in names.filter({ $0 != "manifest.json" }) + names.filter({ $0 == "manifest.json" }) {
            var st = stat()
            guard lstat(ready + "/" + file, &st) == 0 else { continue }  // moved before a crash
            guard rename(ready + "/" + file, dir + "/" + file) == 0 else {
                throw AtomicFile.ioError("cannot move a new file into place", dir + "/" + file)
            }
        }
        let newSet = Set(names)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        where !entry.hasPrefix(".") && !newSet.contains(entry) && entry != lostAndFound {
            removeTree(dir + "/" + entry)
        }
        AtomicFile.syncDirectory(dir)
        // The list goes last, so that a removal cut short leaves the list or an empty directory.
        removeTree(ready, last: namesFile)
    }

    /// Finishes the swaps of killed in-place replacements of `dir` and removes their unmarked
    /// work directories.
    private static func finishStaleInPlace(_ dir: String, name: String) {
        for (entry, kind) in leftovers(in: dir, of: name, kinds: [".tmp-", ".ready-"]) {
            if kind == ".ready-" {
                try? swapIn(dir + "/" + entry, into: dir)
            } else {
                removeTree(dir + "/" + entry)
            }
        }
    }

    /// The hidden entries `.<name><kind><tag>` of `dir` whose process no longer runs, in name
    /// order.
    private static func leftovers(in dir: String, of name: String, kinds: [String]) -> [(entry: String, kind: String)] {
        WorkTag.leftovers(in: dir, prefixes: kinds.map { "." + name + $0 }).map {
            ($0.entry, String($0.prefix.dropFirst(name.count + 1)))
        }
    }

    /// `renameat2(a, b, RENAME_EXCHANGE)`, looked up at run time (glibc ≥ 2.28 exports it, but
    /// its declaration needs `_GNU_SOURCE`). False when unavailable or unsupported.
    static func exchange(_ a: String, _ b: String) -> Bool {
        typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        guard let symbol = renameat2Symbol else { return false }
        let f = unsafeBitCast(symbol, to: Renameat2.self)
        let renameExchange: UInt32 = 2
        return f(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }

    nonisolated(unsafe) private static let renameat2Symbol: UnsafeMutableRawPointer? = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "renameat2")

    /// Removes hidden leftovers of `name` from processes that no longer run; puts back a
    /// previous directory moved aside by a run that died before the new one was in place.
    static func removeStale(parent: String, name: String) {
        for (entry, kind) in leftovers(in: parent, of: name, kinds: [".tmp-", ".old-"]) {
            var st = stat()
            if kind == ".old-" && lstat(parent + "/" + name, &st) != 0 {
                _ = rename(parent + "/" + entry, parent + "/" + name)
            } else {
                removeTree(parent + "/" + entry)
            }
        }
    }

    /// Deletes a directory veil made, without following symbolic links; `last`, an entry of
    /// it, goes after the others.
    static func removeTree(_ path: String, last: String? = nil) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            for entry in entries.filter({ $0 != last }) + entries.filter({ $0 == last }) {
                removeTree(path + "/" + entry)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Whether `path` lies inside directory `dir` (compared after making both absolute and
    /// dropping `.` and `..`; symbolic links are not resolved).
    public static func isInside(_ path: String, _ dir: String) -> Bool {
        func parts(_ p: String) -> [String] {
            let abs = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
            var out: [String] = []
            for c in abs.split(separator: "/") where c != "." {
                if c == ".." { if !out.isEmpty { out.removeLast() } } else { out.append(String(c)) }
            }
            return out
        }
        let a = parts(path)
        let d = parts(dir)
        return a.count > d.count && Array(a.prefix(d.count)) == d
    }

    /// `path` without trailing slashes (`rollups/` names the directory `rollups`; `/` stays).
    public static func normalized(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    static func baseName(_ path: String) -> String {
        let p = normalized(path)
        return p.split(separator: "/").last.map(String.init) ?? p
    }
}

/// An exclusive lock on an output path for the life of a command, so that two veil processes
/// writing the same output do not race: the second fails at once with a clear error.
///
/// The lock is `flock` on a hidden file `.<name>.lock` beside the output (0600); it is removed
/// when released and released by the kernel if the process dies. An output directory that is a
/// mount point holds its lock file itself: it is replaced file by file, inside it, so its
/// parent need not be writable (a container's volume, written by a user other than root).
public final class OutputLock {
    private let fd: Int32
    private let path: String

    /// Takes the lock of `output`.
    /// - Throws: `VeilError(.io)` naming the output when another process holds it.
    public init(for output: String) throws(VeilError) {
        let output = AtomicDirectory.normalized(output)
        let parent = AtomicFile.directory(of: output)
        var st = stat()
        if lstat(output, &st) == 0, st.st_mode & S_IFMT == S_IFDIR,
            AtomicDirectory.isMountPoint(output, st, parent: parent)
        {
            path = output + "/" + AtomicDirectory.lockName(of: output)
        } else {
            try AtomicFile.makeDirectory(parent)
            path = parent + "/" + AtomicDirectory.lockName(of: output)
        }
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw AtomicFile.ioError("cannot create the lock file", path) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                close(fd)
                if busy {
                    throw VeilError(
                        .io,
                        "another veil process is writing this output right now (lock \(path)); nothing was written",
                        file: output)
                }
                throw AtomicFile.ioError("cannot lock", path)
            }
            // The holder before us may have removed the file after we opened it: lock what the
            // path names now.
            var a = stat()
            var b = stat()
            if fstat(fd, &a) == 0, lstat(path, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev {
                self.fd = fd
                return
            }
            close(fd)
        }
    }

    deinit {
        unlink(path)
        close(fd)
    }
}
