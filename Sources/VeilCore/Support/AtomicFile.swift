#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Crash-safe file writing: a temporary file in the same directory, fsynced, renamed over the
/// target, then the directory fsynced. A failure at any point leaves the previous file as it was
/// and removes the temporary file; the temporary file of a killed process
/// (`.<name>.tmp-<tag>`, see `WorkTag`) is removed by the next write of the same file.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically with permission bits `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(VeilError) {
        let dir = directory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let prefix = "." + name + ".tmp-"
        for leftover in WorkTag.leftovers(in: dir, prefixes: [prefix]) { unlink(dir + "/" + leftover.entry) }
        let tmp = dir + "/" + prefix + WorkTag.make()
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("cannot create a temporary file", path) }
        var ok = false
        defer {
            if !ok { unlink(tmp) }
        }
        try writeAndSync(fd, bytes, mode: mode, path: path)
        guard rename(tmp, path) == 0 else { throw ioError("cannot rename the temporary file into place", path) }
        ok = true
        syncDirectory(dir)
    }

    /// Writes a new file `path` into a directory no reader sees yet (the temporary directory
    /// `AtomicDirectory.replace` builds): created (it must not exist), written and fsynced,
    /// without a temporary name or a directory fsync per file. The directory is fsynced once,
    /// with all its files, before it is published; a failure leaves a file there that the
    /// directory's removal takes with it.
    public static func writeUnpublished(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(VeilError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ioError("cannot create", path) }
        try writeAndSync(fd, bytes, mode: mode, path: path)
    }

    /// `writeUnpublished` for a UTF-8 string.
    public static func writeUnpublished(_ text: String, to path: String, mode: mode_t = 0o644) throws(VeilError) {
        try writeUnpublished(Array(text.utf8), to: path, mode: mode)
    }

    /// Sets `fd`'s mode, writes `bytes` to it, fsyncs and closes it (`path` names it in errors).
    private static func writeAndSync(_ fd: Int32, _ bytes: [UInt8], mode: mode_t, path: String) throws(VeilError) {
        defer { close(fd) }
        _ = fchmod(fd, mode)  // umask must not loosen or tighten what veil asks for
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot write", path)
            }
            off += n
        }
        guard fsync(fd) == 0 else { throw ioError("cannot fsync", path) }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws(VeilError) {
        try write(Array(text.utf8), to: path, mode: mode)
    }

    /// Reads a whole file.
    ///
    /// Reads in chunks of the file's size (at least 4 KiB, at most 1 MiB): small files (keys,
    /// `/proc` entries, which report a size of 0) do not pay for zeroing a large buffer.
    public static func read(_ path: String) throws(VeilError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("cannot open", path) }
        defer { close(fd) }
        var st = stat()
        let size = fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : 0
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: min(1 << 20, max(4096, size + 1)))
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot read", path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Creates a directory (and its parents) with `mode` if it does not exist.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(VeilError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw VeilError(.io, "exists and is not a directory", file: path)
            }
            return
        }
        let parent = directory(of: path)
        if parent != path && parent != "." && parent != "/" { try makeDirectory(parent) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else { throw ioError("cannot create directory", path) }
        _ = chmod(path, mode)
    }

    /// fsyncs a directory so a rename in it is durable.
    public static func syncDirectory(_ dir: String) {
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func ioError(_ what: String, _ path: String) -> VeilError {
        VeilError(.io, "\(what): \(String(cString: strerror(errno)))", file: path)
    }
}
