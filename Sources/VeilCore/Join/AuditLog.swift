import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One record appended to the audit log.
public struct AuditEntry: Sendable, Equatable {
    /// 1-based position in the log.
    public var seq: Int
    /// `sha256:<hex>` of the record (without its own `hash` field).
    public var hash: String
    /// The id manifests refer to: `<seq>:<hash>`.
    public var id: String { "\(seq):\(hash)" }
}

/// The append-only, hash-chained audit log of joins and erasures.
///
/// One JSON object per line. Each record holds `seq` (its 1-based position), `prev` (the hash
/// of the record before it; 64 zeros for the first) and `hash`: the SHA-256 of the record's
/// JSON with sorted keys and without `hash`. Changing a record breaks its hash; removing or
/// inserting one breaks the `seq` numbering and the `prev` link of the next. A small head file
/// beside the log (`<log>.head`) holds the last `seq` and `hash`, so removing the last
/// records is detected too.
///
/// A record is written with one `write` under an exclusive `flock`, then fsynced, before the
/// caller writes anything personal. Appending to a log whose chain does not verify is refused.
public struct AuditLog: Sendable {
    public let path: String
    public var headPath: String { path + ".head" }

    static let genesis = "sha256:" + String(repeating: "0", count: 64)

    public init(path: String) {
        self.path = path
    }

    /// What `verify` found.
    public struct Verification: Sendable, Equatable {
        /// Records that verified, in order.
        public var records: Int
        /// The last good record.
        public var last: AuditEntry?
        /// The first problem: the 1-based record position and what is wrong.
        public var problem: (position: Int, message: String)?

        public var isIntact: Bool { problem == nil }

        public static func == (a: Self, b: Self) -> Bool {
            a.records == b.records && a.last == b.last && a.problem?.position == b.problem?.position
                && a.problem?.message == b.problem?.message
        }
    }

    /// The operator recorded for actions: `$VEIL_OPERATOR`, else `$SUDO_USER`, `$USER`,
    /// `$LOGNAME`, else the numeric user id.
    public static func currentOperator() -> String {
        let env = ProcessInfo.processInfo.environment
        for name in ["VEIL_OPERATOR", "SUDO_USER", "USER", "LOGNAME"] {
            if let v = env[name], !v.isEmpty { return v }
        }
        return "uid \(getuid())"
    }

    /// Appends one record made of `fields` plus `seq`, `time`, `operator`, `uid` and `prev`.
    ///
    /// - Returns: The new record's position and hash.
    /// - Throws: `VeilError(.io)` when the log cannot be opened, locked, read, written or
    ///   fsynced, and `VeilError(.state)` when its chain does not verify. Nothing personal may be
    ///   written when this throws.
    @discardableResult
    public func append(_ fields: [String: any Sendable], now: Int64? = nil) throws(VeilError) -> AuditEntry {
        let existed = access(path, F_OK) == 0
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw AtomicFile.ioError("cannot open the audit log", path) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw AtomicFile.ioError("cannot lock the audit log", path) }
        defer { _ = flock(fd, LOCK_UN) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw VeilError(.io, "the audit log is not a regular file", file: path)
        }
        let existing = try Self.readAll(fd, path)
        let check = verify(
            bytes: existing, head: try? AtomicFile.read(headPath), headRequired: existed && !existing.isEmpty)
        if let problem = check.problem {
            throw VeilError(
                .state,
                "the audit log does not verify (record \(problem.position): \(problem.message)); nothing was appended. Investigate with `veil audit verify`",
                file: path)
        }
        let seq = check.records + 1
        var record = fields
        record["seq"] = seq
        record["time"] = ISOTime.string(seconds: now ?? Int64(Date().timeIntervalSince1970))
        record["operator"] = Self.currentOperator()
        record["uid"] = Int(getuid())
        record["prev"] = check.last?.hash ?? Self.genesis
        let body = try Self.canonical(record)
        let hash = Hasher256.fingerprint(of: body)
        record["hash"] = hash
        var line = try Self.canonical(record)
        line.append(0x0A)
        var off = 0
        while off < line.count {
            let n = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, line.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.ioError("cannot write the audit log", path)
            }
            off += n
        }
        guard fsync(fd) == 0 else { throw AtomicFile.ioError("cannot fsync the audit log", path) }
        if !existed { AtomicFile.syncDirectory(AtomicFile.directory(of: path)) }
        let entry = AuditEntry(seq: seq, hash: hash)
        try AtomicFile.write("{\"hash\":\"\(hash)\",\"seq\":\(seq)}\n", to: headPath, mode: 0o600)
        return entry
    }

    /// Checks the whole chain and the head file.
    /// - Throws: `VeilError(.io)` when the log cannot be read (a missing log is an error too).
    public func verify() throws(VeilError) -> Verification {
        let bytes = try AtomicFile.read(path)
        return verify(bytes: bytes, head: try? AtomicFile.read(headPath), headRequired: !bytes.isEmpty)
    }

    func verify(bytes: [UInt8], head: [UInt8]?, headRequired: Bool) -> Verification {
        var result = Verification(records: 0, last: nil, problem: nil)
        var prev = Self.genesis
        var position = 0
        var start = 0
        while start < bytes.count {
            position += 1
            guard let nl = bytes[start...].firstIndex(of: 0x0A) else {
                result.problem = (position, "incomplete record at the end of the log (no line break)")
                return result
            }
            let line = Array(bytes[start..<nl])
            start = nl + 1
            guard var object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                result.problem = (position, "not a JSON object")
                return result
            }
            guard let hash = object.removeValue(forKey: "hash") as? String,
                let seq = object["seq"] as? Int, let link = object["prev"] as? String
            else {
                result.problem = (position, "missing seq, prev or hash")
                return result
            }
            guard let body = try? Self.canonical(object), Hasher256.fingerprint(of: body) == hash else {
                result.problem = (position, "its content does not match its hash (the record was changed)")
                return result
            }
            guard seq == position else {
                result.problem = (
                    position,
                    "it says it is record \(seq) (records were removed or inserted before it)"
                )
                return result
            }
            guard link == prev else {
                result.problem = (
                    position, "it does not link to record \(position - 1) (that record was changed or replaced)"
                )
                return result
            }
            prev = hash
            result.records = position
            result.last = AuditEntry(seq: seq, hash: hash)
        }
        guard headRequired else { return result }
        guard let head, let object = (try? JSONSerialization.jsonObject(with: Data(head))) as? [String: Any],
            let seq = object["seq"] as? Int, let hash = object["hash"] as? String
        else {
            result.problem = (result.records, "the head file \(headPath) is missing or unreadable")
            return result
        }
        if seq > result.records {
            result.problem = (
                result.records + 1,
                "record \(result.records + 1) is missing: the head file says the log has \(seq) records"
            )
        } else if seq < result.records {
            result.problem = (seq + 1, "records after \(seq) were added without updating the head file")
        } else if hash != result.last?.hash {
            result.problem = (seq, "the last record does not match the head file")
        }
        return result
    }

    /// JSON with sorted keys and no escaped slashes: the bytes a record's hash covers.
    static func canonical(_ object: [String: Any]) throws(VeilError) -> [UInt8] {
        do {
            return Array(
                try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            throw VeilError(.state, "cannot encode an audit record")
        }
    }

    private static func readAll(_ fd: Int32, _ path: String) throws(VeilError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset: off_t = 0
        while true {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicFile.ioError("cannot read the audit log", path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
            offset += off_t(n)
        }
        return out
    }
}
