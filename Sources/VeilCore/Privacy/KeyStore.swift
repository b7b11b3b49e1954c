import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The secret key of one epoch: 32 bytes from the system's cryptographic random source.
///
/// Never printed: `description`, `debugDescription` and the mirror name only the epoch.
public struct EpochKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The epoch this key belongs to.
    public let epoch: EpochID
    /// The key material (32 bytes).
    let material: [UInt8]

    init(epoch: EpochID, material: [UInt8]) {
        self.epoch = epoch
        self.material = material
    }

    /// The key as a CryptoKit-style symmetric key.
    var symmetricKey: SymmetricKey { SymmetricKey(data: material) }

    public var description: String { "key for epoch \(epoch)" }
    public var debugDescription: String { "EpochKey(\(epoch))" }
    public var customMirror: Mirror { Mirror(self, children: ["epoch": epoch]) }
}

/// A directory of per-epoch keys: one 256-bit random key per epoch, created on demand.
///
/// Layout of the directory (mode 0700):
/// - `keystore.json` (0600): format, version, granularity, creation time;
/// - `<epoch-id>.key` (0600): exactly 32 random bytes;
/// - `<epoch-id>.shredded` (0600): a tombstone left when an epoch's key was shredded, so that
///   epoch can never get a new key.
///
/// Opening refuses a directory or key file readable or writable by group or others. Keys are
/// written to a temporary file in the same directory, fsynced, then hard-linked into place (a
/// link never replaces an existing key, so two processes creating the same epoch's key at once
/// end up sharing one), and the directory is fsynced.
///
/// No key byte ever appears in an error, a description or a log line.
public struct KeyStore: Sendable {
    /// The key directory as the user named it.
    public let path: String
    /// How long each key's epoch lasts.
    public let granularity: EpochGranularity
    /// When the store was created (seconds since 1970-01-01T00:00Z).
    public let created: Int64

    /// The length of every key, in bytes.
    public static let keyByteCount = 32
    /// The configuration file's name inside the key directory.
    public static let configFileName = "keystore.json"

    /// Whether an epoch's key can still be used.
    public enum Status: String, Sendable, Equatable {
        /// The key exists.
        case active
        /// The key was destroyed; data of that epoch can no longer be linked.
        case shredded
    }

    /// One epoch known to the store.
    public struct Entry: Sendable, Equatable {
        public var epoch: EpochID
        public var status: Status
        /// When the key was created (its file's modification time), when known.
        public var created: Int64?
        /// When the key was shredded, for shredded epochs.
        public var shredded: Int64?
    }

    // MARK: - Creating and opening

    /// Creates a new, empty key store at `path` (directory mode 0700 whatever the umask).
    ///
    /// `path` must not exist, or be an empty directory. Missing parent directories are created
    /// with the usual permissions.
    ///
    /// - Throws: `VeilError(.key)` when a store already exists there or the directory is not
    ///   empty; `VeilError(.io)` when it cannot be created.
    public init(path: String, granularity: EpochGranularity = .day, now: Int64? = nil) throws(VeilError) {
        let path = KeyStore.normalize(path)
        let createdAt = now ?? KeyStore.currentTime()
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & 0o170000 == 0o040000 else {
                throw VeilError(.key, "cannot create key store \(path): it exists and is not a directory")
            }
            if lstat(path + "/" + KeyStore.configFileName, &st) == 0 {
                throw VeilError(.key, "key store \(path) already exists")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            guard contents.isEmpty else {
                throw VeilError(.key, "cannot create key store \(path): the directory is not empty")
            }
        } else {
            // The parent directory ("" for a bare name). Not NSString.deletingLastPathComponent,
            // which traps on a one-component relative path such as "keys" (swift-corelibs-foundation).
            let parent: String
            if let slash = path.lastIndex(of: "/") {
                parent = slash == path.startIndex ? "/" : String(path[..<slash])
            } else {
                parent = ""
            }
            if !parent.isEmpty && !FileManager.default.fileExists(atPath: parent) {
                do {
                    try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
                } catch {
                    throw VeilError(.io, "cannot create directory \(parent) for key store \(path)")
                }
            }
            guard mkdir(path, 0o700) == 0 else {
                throw VeilError(.io, "cannot create key store \(path): \(KeyStore.lastError())")
            }
            // Make the new directory entry durable (best effort).
            let parentFD = systemOpen(parent.isEmpty ? "." : parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if parentFD >= 0 {
                _ = fsync(parentFD)
                _ = close(parentFD)
            }
        }
        // mkdir's mode is reduced by the umask; set it exactly.
        guard chmod(path, 0o700) == 0 else {
            throw VeilError(.io, "cannot set mode 0700 on key store \(path): \(KeyStore.lastError())")
        }
        self.path = path
        self.granularity = granularity
        self.created = createdAt
        let config = KeyStore.configJSON(granularity: granularity, created: createdAt)
        _ = try writeAtomically(
            name: KeyStore.configFileName, bytes: Array(config.utf8), replace: true, what: "key store config")
    }

    private init(validatedPath: String, granularity: EpochGranularity, created: Int64) {
        self.path = validatedPath
        self.granularity = granularity
        self.created = created
    }

    /// Opens an existing key store, checking its permissions.
    ///
    /// - Throws: `VeilError(.key)` when there is no store at `path`, its configuration is not
    ///   understood, or the directory, the configuration or any key file is accessible to group
    ///   or others (the message says which `chmod` to run).
    public static func open(path: String) throws(VeilError) -> KeyStore {
        let path = normalize(path)
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw VeilError(.key, "no key store at \(path); create one with `veil keys init`")
        }
        guard st.st_mode & 0o170000 == 0o040000 else {
            throw VeilError(.key, "key store \(path) is not a directory")
        }
        try checkMode(st.st_mode, of: path, kind: "key store", wanted: "700")
        let configPath = path + "/" + configFileName
        guard lstat(configPath, &st) == 0 else {
            throw VeilError(
                .key, "no key store at \(path) (\(configFileName) is missing); create one with `veil keys init`")
        }
        guard st.st_mode & 0o170000 == 0o100000 else {
            throw VeilError(.key, "\(configPath) is not a regular file")
        }
        try checkMode(st.st_mode, of: configPath, kind: "key store config", wanted: "600")
        guard let data = FileManager.default.contents(atPath: configPath),
            let (granularity, created) = parseConfig(data)
        else {
            throw VeilError(.key, "key store config \(configPath) is not a veil key store configuration (version 1)")
        }
        let store = KeyStore(validatedPath: path, granularity: granularity, created: created)
        for name in try store.directoryEntries() where name.hasSuffix(".key") {
            let file = path + "/" + name
            guard lstat(file, &st) == 0 else { continue }
            guard st.st_mode & 0o170000 == 0o100000 else {
                throw VeilError(.key, "key file \(file) is not a regular file")
            }
            try checkMode(st.st_mode, of: file, kind: "key file", wanted: "600")
        }
        return store
    }

    /// Opens the store at `path`, creating it first when nothing is there.
    ///
    /// An existing store keeps its own granularity. `created` tells whether this call made it,
    /// so a caller can say so.
    public static func openOrCreate(
        path: String, granularity: EpochGranularity = .day, now: Int64? = nil
    ) throws(VeilError) -> (store: KeyStore, created: Bool) {
        var st = stat()
        if lstat(normalize(path) + "/" + configFileName, &st) == 0 {
            return (try open(path: path), false)
        }
        return (try KeyStore(path: path, granularity: granularity, now: now), true)
    }

    /// Refuses a key store inside `outputDir`, or an output directory inside the key store.
    ///
    /// Paths are compared after resolving `.`/`..` and symbolic links of the parts that exist.
    ///
    /// - Throws: `VeilError(.key)` naming both directories.
    public func checkNotInside(_ outputDir: String) throws(VeilError) {
        let keys = KeyStore.resolve(path)
        let out = KeyStore.resolve(outputDir)
        func contains(_ outer: [String], _ inner: [String]) -> Bool {
            inner.count >= outer.count && Array(inner.prefix(outer.count)) == outer
        }
        if contains(out, keys) {
            throw VeilError(
                .key,
                "key store \(path) is inside output directory \(outputDir); "
                    + "keep keys outside anything that is published"
            )
        }
        if contains(keys, out) {
            throw VeilError(
                .key, "output directory \(outputDir) is inside key store \(path); choose another output directory")
        }
    }

    // MARK: - Keys

    /// The epoch of this store's granularity containing `timestamp` — a record's own time, not
    /// the wall clock.
    @inlinable
    public func epochID(forTimestamp timestamp: Int64) -> EpochID {
        EpochID(granularity: granularity, containing: timestamp)
    }

    /// The key of `epoch`, created now when it does not exist and `create` is true.
    ///
    /// - Throws: `VeilError(.key)` when the epoch was shredded (whatever `create` says), when
    ///   the key is missing and `create` is false, when the key file is accessible to group or
    ///   others or damaged, or when the epoch is outside the years 0001-9999.
    public func key(for epoch: EpochID, create: Bool) throws(VeilError) -> EpochKey {
        try loadOrCreate(epoch, create: create).key
    }

    /// Creates the key of the current epoch now if it does not exist yet.
    ///
    /// - Returns: The current epoch and whether its key was created by this call.
    @discardableResult
    public func rotate(now: Int64? = nil) throws(VeilError) -> (epoch: EpochID, created: Bool) {
        let epoch = epochID(forTimestamp: now ?? KeyStore.currentTime())
        let (_, created) = try loadOrCreate(epoch, create: true)
        return (epoch, created)
    }

    /// The most epochs one `ensureKeys` call creates or checks (a guard against a mistyped range:
    /// about eleven years of hourly keys).
    public static let maxEnsuredEpochs = 100_000

    /// Makes sure every epoch that overlaps `[from, until)` has a key, creating the missing ones
    /// now — before the data is aggregated elsewhere, so that workers sharing a copy of this store
    /// never need to create a key (each would create a different one).
    ///
    /// Existing keys are left as they are. Nothing is created when any epoch in the range was
    /// shredded. With `create` false nothing is ever created: a missing key is an error naming
    /// the missing epochs (a check of a read-only copy).
    ///
    /// - Returns: Every epoch of the range, in time order, and whether this call created its key.
    /// - Throws: `VeilError(.usage)` when `from` is not before `until` or the range spans more
    ///   than ``maxEnsuredEpochs`` epochs; `VeilError(.key)` naming the first shredded epoch in
    ///   the range, the missing epochs when `create` is false, or when an epoch is outside the
    ///   years 0001-9999.
    public func ensureKeys(
        from: Int64, until: Int64, create: Bool = true
    ) throws(VeilError) -> [(epoch: EpochID, created: Bool)] {
        guard from < until else {
            throw VeilError(.usage, "the start of the key range must be before its end")
        }
        let first = epochID(forTimestamp: from)
        let last = epochID(forTimestamp: until - 1)
        guard last.index - first.index < Int64(KeyStore.maxEnsuredEpochs) else {
            throw VeilError(
                .usage,
                "\(first) … \(last) is more than \(KeyStore.maxEnsuredEpochs) \(granularity.rawValue) epochs; "
                    + "check the range")
        }
        let epochs = (first.index...last.index).map { EpochID(granularity: granularity, index: $0) }
        // Check the whole range first, so a shredded epoch leaves the store unchanged.
        for epoch in epochs {
            guard epoch.isRepresentable else {
                throw VeilError(
                    .key,
                    "no key can exist for a time outside the years 0001-9999 "
                        + "(epoch \(epoch.granularity.rawValue) \(epoch.index))")
            }
            try checkNotShredded(epoch)
        }
        if !create {
            var missing: [EpochID] = []
            var st = stat()
            for epoch in epochs where lstat(keyPath(epoch), &st) != 0 { missing.append(epoch) }
            if !missing.isEmpty {
                let shown = missing.prefix(10).map(\.description).joined(separator: ", ")
                throw VeilError(
                    .key,
                    "key store \(path) has no key for \(missing.count) epoch\(missing.count == 1 ? "" : "s") "
                        + "of the range: \(shown)\(missing.count > 10 ? ", …" : ""); create them with `veil keys ensure`"
                )
            }
        }
        var out: [(epoch: EpochID, created: Bool)] = []
        out.reserveCapacity(epochs.count)
        for epoch in epochs {
            let (_, created) = try loadOrCreate(epoch, create: create)
            out.append((epoch, created))
        }
        return out
    }

    /// Every epoch that has a key or a shredding tombstone, in time order.
    public func list() throws(VeilError) -> [Entry] {
        var byEpoch: [EpochID: Entry] = [:]
        var st = stat()
        for name in try directoryEntries() {
            let isKey = name.hasSuffix(".key")
            let isTombstone = name.hasSuffix(".shredded")
            guard isKey || isTombstone else { continue }
            let stem = name.dropLast(isKey ? 4 : 9)
            guard let epoch = EpochID(stem) else { continue }
            let file = path + "/" + name
            guard lstat(file, &st) == 0 else { continue }
            let mtime = KeyStore.modificationTime(st)
            var entry = byEpoch[epoch] ?? Entry(epoch: epoch, status: .active, created: nil, shredded: nil)
            if isTombstone {
                entry.status = .shredded
                entry.shredded = mtime
                // The tombstone records both times; its modification time is the fallback.
                if let data = FileManager.default.contents(atPath: file),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                {
                    if let text = object["shredded"] as? String, let t = KeyStore.parseTimestamp(text) {
                        entry.shredded = t
                    }
                    if let text = object["key_created"] as? String {
                        entry.created = KeyStore.parseTimestamp(text)
                    }
                }
            } else {
                entry.created = mtime
            }
            byEpoch[epoch] = entry
        }
        return byEpoch.values.sorted { $0.epoch < $1.epoch }
    }

    /// Destroys the keys of every epoch that ended at least `seconds` before `now`.
    ///
    /// For each such key: a tombstone `<epoch-id>.shredded` is written first (so the epoch can
    /// never silently get a new key), then the key file is overwritten with zeros and with
    /// random bytes, fsynced after each pass, and unlinked; finally the directory is fsynced.
    /// A shred interrupted by a crash is finished by the next call.
    ///
    /// Overwriting cannot reach copies that a copy-on-write or flash-translating file system
    /// keeps elsewhere; the unlink is what makes the key unreachable through veil.
    ///
    /// - Returns: The epochs shredded by this call, in time order.
    @discardableResult
    public func shred(olderThan seconds: Int64, now: Int64? = nil) throws(VeilError) -> [EpochID] {
        precondition(seconds >= 0, "negative retention")
        let now = now ?? KeyStore.currentTime()
        var done: [EpochID] = []
        // A process killed while writing a key leaves its temporary copy: shredding must reach it.
        try destroyLeftovers(of: nil)
        for entry in try list() {
            let keyFile = keyPath(entry.epoch)
            var st = stat()
            let keyExists = lstat(keyFile, &st) == 0
            switch entry.status {
            case .shredded:
                // A previous shred stopped between the tombstone and the unlink.
                if keyExists { try destroyKeyFile(entry.epoch) }
            case .active:
                guard entry.epoch.end <= now - seconds else { continue }
                let tombstone = KeyStore.tombstoneJSON(
                    epoch: entry.epoch, keyCreated: entry.created, shredded: now)
                _ = try writeAtomically(
                    name: "\(entry.epoch).shredded", bytes: Array(tombstone.utf8), replace: true,
                    what: "shred tombstone")
                try destroyKeyFile(entry.epoch)
                done.append(entry.epoch)
            }
        }
        return done
    }

    // MARK: - Internals

    func keyPath(_ epoch: EpochID) -> String { path + "/" + epoch.description + ".key" }
    func tombstonePath(_ epoch: EpochID) -> String { path + "/" + epoch.description + ".shredded" }

    func loadOrCreate(_ epoch: EpochID, create: Bool) throws(VeilError) -> (key: EpochKey, created: Bool) {
        guard epoch.isRepresentable else {
            throw VeilError(
                .key,
                "no key can exist for a time outside the years 0001-9999 "
                    + "(epoch \(epoch.granularity.rawValue) \(epoch.index))"
            )
        }
        // A few attempts: another process may create the key between our read and our link.
        for _ in 0..<3 {
            try checkNotShredded(epoch)
            if let key = try readKey(epoch) {
                return (key, false)
            }
            guard create else {
                throw VeilError(
                    .key,
                    "no key for epoch \(epoch) in key store \(path); create it first with "
                        + "`veil keys ensure --keys \(path) --from \(ISOTime.string(seconds: epoch.start)) "
                        + "--until \(ISOTime.string(seconds: epoch.end))`"
                )
            }
            var bytes = [UInt8](repeating: 0, count: KeyStore.keyByteCount)
            var rng = SystemRandomNumberGenerator()
            for i in stride(from: 0, to: bytes.count, by: 8) {
                let word = rng.next()
                for j in 0..<8 { bytes[i + j] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(j))) }
            }
            let linked = try writeAtomically(name: "\(epoch).key", bytes: bytes, replace: false, what: "key file")
            let key = EpochKey(epoch: epoch, material: bytes)
            if linked {
                // A shred that ran meanwhile wins: never hand out a key for a shredded epoch.
                try checkNotShredded(epoch)
                return (key, true)
            }
        }
        throw VeilError(.key, "could not create or read the key for epoch \(epoch) in key store \(path)")
    }

    private func checkNotShredded(_ epoch: EpochID) throws(VeilError) {
        var st = stat()
        if lstat(tombstonePath(epoch), &st) == 0 {
            throw VeilError(.key, "key epoch \(epoch) was shredded; data from that epoch can no longer be linked")
        }
    }

    /// Reads the key of `epoch`; `nil` when its file does not exist.
    private func readKey(_ epoch: EpochID) throws(VeilError) -> EpochKey? {
        let file = keyPath(epoch)
        let fd = systemOpen(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw VeilError(.key, "cannot open key file \(file): \(KeyStore.lastError())")
        }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & 0o170000 == 0o100000 else {
            throw VeilError(.key, "key file \(file) is not a regular file")
        }
        try KeyStore.checkMode(st.st_mode, of: file, kind: "key file", wanted: "600")
        guard st.st_size == KeyStore.keyByteCount else {
            throw VeilError(
                .key, "key file \(file) has \(st.st_size) bytes instead of \(KeyStore.keyByteCount); it is damaged")
        }
        var bytes = [UInt8](repeating: 0, count: KeyStore.keyByteCount)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard got == KeyStore.keyByteCount else {
            throw VeilError(.key, "cannot read key file \(file): \(got < 0 ? KeyStore.lastError() : "short read")")
        }
        return EpochKey(epoch: epoch, material: bytes)
    }

    /// Destroys (as `destroyFile`) the temporary files that killed processes left while writing
    /// `name` (every name when nil): `.<name>.tmp-<tag>`, whose process no longer runs.
    private func destroyLeftovers(of name: String?) throws(VeilError) {
        for entry in try directoryEntries().sorted() where entry.hasPrefix(".") {
            let tag: Substring
            if let name {
                let prefix = "." + name + ".tmp-"
                guard entry.hasPrefix(prefix) else { continue }
                tag = entry.dropFirst(prefix.count)
            } else {
                guard let range = entry.range(of: ".tmp-") else { continue }
                tag = entry[range.upperBound...]
            }
            guard WorkTag.isGone(tag) else { continue }
            try destroyFile(path + "/" + entry)
        }
    }

    /// Overwrites the key file of `epoch` twice (zeros, then random), then unlinks it.
    private func destroyKeyFile(_ epoch: EpochID) throws(VeilError) {
        try destroyFile(keyPath(epoch))
    }

    /// Overwrites `file` twice (zeros, then random), fsyncing after each pass, then unlinks it
    /// and fsyncs the directory; a file that does not exist is no error.
    private func destroyFile(_ file: String) throws(VeilError) {
        let fd = systemOpen(file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            var st = stat()
            let size = fstat(fd, &st) == 0 ? max(Int(st.st_size), KeyStore.keyByteCount) : KeyStore.keyByteCount
            var buffer = [UInt8](repeating: 0, count: size)
            var ok = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == size && fsync(fd) == 0
            var rng = SystemRandomNumberGenerator()
            for i in buffer.indices { buffer[i] = rng.next() }
            ok = ok && buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == size && fsync(fd) == 0
            let error = KeyStore.lastError()
            _ = close(fd)
            guard ok else { throw VeilError(.io, "cannot overwrite key file \(file): \(error)") }
        } else if errno != ENOENT {
            throw VeilError(.io, "cannot open key file \(file) to shred it: \(KeyStore.lastError())")
        }
        if unlink(file) != 0 && errno != ENOENT {
            throw VeilError(.io, "cannot remove key file \(file): \(KeyStore.lastError())")
        }
        try syncDirectory()
    }

    /// Writes `bytes` to `<dir>/<name>` via a temporary file in the same directory.
    ///
    /// With `replace` false the file is hard-linked into place and an existing file is left
    /// alone (returns false).
    private func writeAtomically(
        name: String, bytes: [UInt8], replace: Bool, what: String
    ) throws(VeilError) -> Bool {
        let final = path + "/" + name
        try destroyLeftovers(of: name)
        let temp = path + "/." + name + ".tmp-" + WorkTag.make()
        let fd = systemOpen(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw VeilError(.io, "cannot write \(what) \(final): \(KeyStore.lastError())")
        }
        var written = 0
        var ok = fchmod(fd, 0o600) == 0
        while ok && written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            ok = n > 0
            if ok { written += n }
        }
        ok = ok && fsync(fd) == 0
        let error = KeyStore.lastError()
        _ = close(fd)
        guard ok else {
            _ = unlink(temp)
            throw VeilError(.io, "cannot write \(what) \(final): \(error)")
        }
        var placed = true
        if replace {
            if rename(temp, final) != 0 {
                let error = KeyStore.lastError()
                _ = unlink(temp)
                throw VeilError(.io, "cannot write \(what) \(final): \(error)")
            }
        } else {
            if link(temp, final) != 0 {
                let code = errno
                if code == EEXIST {
                    placed = false
                } else if code == EPERM || code == ENOTSUP || code == EXDEV || code == EMLINK {
                    // File systems without hard links: check, then rename (a small race).
                    var st = stat()
                    if lstat(final, &st) == 0 {
                        placed = false
                    } else if rename(temp, final) != 0 {
                        let error = KeyStore.lastError()
                        _ = unlink(temp)
                        throw VeilError(.io, "cannot write \(what) \(final): \(error)")
                    }
                } else {
                    let error = KeyStore.lastError()
                    _ = unlink(temp)
                    throw VeilError(.io, "cannot write \(what) \(final): \(error)")
                }
            }
            _ = unlink(temp)
        }
        try syncDirectory()
        return placed
    }

    private func syncDirectory() throws(VeilError) {
        let fd = systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw VeilError(.io, "cannot open key store \(path): \(KeyStore.lastError())") }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw VeilError(.io, "cannot fsync key store \(path): \(KeyStore.lastError())") }
    }

    private func directoryEntries() throws(VeilError) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw VeilError(.io, "cannot list key store \(path)")
        }
    }

    private static func checkMode(_ mode: mode_t, of file: String, kind: String, wanted: String) throws(VeilError) {
        guard mode & 0o077 == 0 else {
            let octal = String(mode & 0o7777, radix: 8)
            let shown = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            throw VeilError(.key, "\(kind) \(file) has mode \(shown); run: chmod \(wanted) \(file)")
        }
    }

    static func normalize(_ path: String) -> String {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// The absolute path components of `path`, with symbolic links resolved for the part that
    /// exists and `.`/`..` applied to the rest.
    static func resolve(_ path: String) -> [String] {
        var absolute = path
        if !absolute.hasPrefix("/") {
            absolute = FileManager.default.currentDirectoryPath + "/" + absolute
        }
        var components: [String] = []
        for part in absolute.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(part))
            }
        }
        // Resolve symbolic links of the longest existing prefix.
        var existing = components.count
        while existing > 0 {
            let prefix = "/" + components[0..<existing].joined(separator: "/")
            if let real = realpath(prefix, nil) {
                let resolved = String(cString: real)
                free(real)
                return resolved.split(separator: "/").map(String.init) + components[existing...]
            }
            existing -= 1
        }
        return components
    }

    static func currentTime() -> Int64 { Int64(time(nil)) }

    static func lastError() -> String { String(cString: strerror(errno)) }

    static func modificationTime(_ st: stat) -> Int64 {
        #if canImport(Darwin)
            Int64(st.st_mtimespec.tv_sec)
        #else
            Int64(st.st_mtim.tv_sec)
        #endif
    }

    // MARK: - Configuration and tombstone files

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    static func formatTimestamp(_ t: Int64) -> String { ISOTime.string(seconds: t) }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`.
    static func parseTimestamp(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
            b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "Z")
        else { return nil }
        func n(_ from: Int, _ length: Int) -> Int64? {
            var v: Int64 = 0
            for c in b[from..<(from + length)] {
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int64(c - 48)
            }
            return v
        }
        guard let y = n(0, 4), let mo = n(5, 2), let d = n(8, 2), let h = n(11, 2), let mi = n(14, 2),
            let s = n(17, 2)
        else { return nil }
        let t = EpochCalendar.days(fromCivil: y, mo, d) * 86400 + h * 3600 + mi * 60 + s
        return formatTimestamp(t) == text ? t : nil
    }

    static func configJSON(granularity: EpochGranularity, created: Int64) -> String {
        """
        {
          "format": "veil-keystore",
          "version": 1,
          "granularity": "\(granularity.rawValue)",
          "created": "\(formatTimestamp(created))"
        }

        """
    }

    static func parseConfig(_ data: Data) -> (EpochGranularity, Int64)? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            object["format"] as? String == "veil-keystore",
            (object["version"] as? NSNumber)?.intValue == 1,
            let g = object["granularity"] as? String, let granularity = EpochGranularity(rawValue: g),
            let c = object["created"] as? String, let created = parseTimestamp(c)
        else { return nil }
        return (granularity, created)
    }

    static func tombstoneJSON(epoch: EpochID, keyCreated: Int64?, shredded: Int64) -> String {
        var s = "{\n  \"epoch\": \"\(epoch)\",\n"
        if let keyCreated { s += "  \"key_created\": \"\(formatTimestamp(keyCreated))\",\n" }
        s += "  \"shredded\": \"\(formatTimestamp(shredded))\"\n}\n"
        return s
    }
}

/// `open(2)` without the variadic mode (named so it does not shadow `KeyStore.open`).
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
    #if canImport(Darwin)
        return Darwin.open(path, flags, mode)
    #elseif canImport(Musl)
        return Musl.open(path, flags, mode)
    #else
        return Glibc.open(path, flags, mode)
    #endif
}
