import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension VeilError.Code {
    /// A differentially private release would spend more privacy budget than is left.
    public static let privacyBudget = VeilError.Code("privacy-budget")
}

/// The privacy budget ledger of a key store: every differentially private release made from
/// the store's pseudonyms, with the ε it spent on each key epoch.
///
/// `dp-ledger.jsonl` in the key directory (0600), one JSON object per line:
/// `{"delta":…,"epochs":["d-2026-11-28",…],"epsilon":"0.5","l0":5,"linf":1,"release_id":"…","tables":[…],"time":"2026-…Z"}`.
/// The ε spent on an epoch is the sum over the entries that cover it; a release is charged
/// once — running the same release again (same release id, so the same noise and the same
/// files) reveals nothing new and is not charged again.
///
/// Charging holds an exclusive `flock` on `dp-ledger.lock` while it reads, checks and rewrites
/// the ledger (atomically: temporary file, fsync, rename, directory fsync), so two releases at
/// once cannot both spend the last of a budget. A damaged ledger is an error, never an empty
/// one.
public struct PrivacyLedger: Sendable {
    public static let fileName = "dp-ledger.jsonl"
    static let lockName = "dp-ledger.lock"

    /// One release.
    public struct Entry: Sendable, Equatable {
        public var releaseID: String
        /// Seconds since 1970-01-01T00:00Z.
        public var time: Int64
        /// Key epoch ids the release covered.
        public var epochs: [String]
        public var epsilon: PrivacyAmount
        public var delta: Double
        public var l0: Int
        public var lInf: Int
        public var tables: [String]

        public init(
            releaseID: String, time: Int64, epochs: [String], epsilon: PrivacyAmount, delta: Double, l0: Int, lInf: Int,
            tables: [String]
        ) {
            self.releaseID = releaseID
            self.time = time
            self.epochs = epochs.sorted()
            self.epsilon = epsilon
            self.delta = delta
            self.l0 = l0
            self.lInf = lInf
            self.tables = tables
        }

        var jsonLine: String {
            let object: [String: Any] = [
                "release_id": releaseID, "time": ISOTime.string(seconds: time), "epochs": epochs,
                "epsilon": epsilon.description, "delta": delta, "l0": l0, "linf": lInf, "tables": tables,
            ]
            // Safe: only strings, numbers and arrays of strings.
            let data = try! JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }

        init?(jsonLine line: Substring) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = object["release_id"] as? String, !id.isEmpty,
                let timeText = object["time"] as? String, let time = KeyStore.parseTimestamp(timeText),
                let epochs = object["epochs"] as? [String],
                let epsilonText = object["epsilon"] as? String, let epsilon = PrivacyAmount(epsilonText),
                let delta = (object["delta"] as? NSNumber)?.doubleValue,
                let l0 = (object["l0"] as? NSNumber)?.intValue, let lInf = (object["linf"] as? NSNumber)?.intValue,
                let tables = object["tables"] as? [String]
            else { return nil }
            self.init(
                releaseID: id, time: time, epochs: epochs, epsilon: epsilon, delta: delta, l0: l0, lInf: lInf,
                tables: tables)
        }
    }

    /// What charging did.
    public struct Charge: Sendable, Equatable {
        /// False when the ledger already held this release id (nothing new was spent).
        public var charged: Bool
        /// Per epoch of the release: ε spent including this release, and what is left of `budget`.
        public var epochs: [(epoch: String, spent: PrivacyAmount, remaining: PrivacyAmount)]

        public static func == (a: Charge, b: Charge) -> Bool {
            a.charged == b.charged
                && a.epochs.map { "\($0.epoch) \($0.spent) \($0.remaining)" }
                    == b.epochs.map { "\($0.epoch) \($0.spent) \($0.remaining)" }
        }
    }

    /// The key directory.
    public let directory: String

    public init(keyStore: KeyStore) {
        directory = keyStore.path
    }

    public var path: String { directory + "/" + Self.fileName }

    /// Every entry, in the order recorded.
    /// - Throws: `VeilError(.key)` naming the line when the ledger is damaged.
    public func entries() throws(VeilError) -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text = String(decoding: try AtomicFile.read(path), as: UTF8.self)
        var out: [Entry] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            guard let entry = Entry(jsonLine: line) else {
                throw VeilError(
                    .key, "the privacy budget ledger is damaged; no release is made until it is repaired or restored",
                    file: path, line: n + 1)
            }
            out.append(entry)
        }
        return out
    }

    /// ε spent per epoch by `entries` (each release id counted once).
    static func spent(_ entries: [Entry]) -> [String: PrivacyAmount] {
        var seen = Set<String>()
        var spent: [String: PrivacyAmount] = [:]
        for e in entries where seen.insert(e.releaseID).inserted {
            for epoch in Set(e.epochs) {
                spent[epoch, default: PrivacyAmount(units: 0)] =
                    spent[epoch, default: PrivacyAmount(units: 0)] + e.epsilon
            }
        }
        return spent
    }

    /// ε spent so far per epoch.
    public func spentPerEpoch() throws(VeilError) -> [String: PrivacyAmount] {
        Self.spent(try entries())
    }

    /// Checks that `entry` fits in `budget` on every epoch it covers (or was charged before),
    /// without writing.
    /// - Throws: `VeilError(.privacyBudget)` stating spent and remaining ε of each epoch that
    ///   would go over.
    @discardableResult
    public func check(_ entry: Entry, budget: PrivacyAmount) throws(VeilError) -> Charge {
        try Self.evaluate(entry, budget: budget, entries: try entries())
    }

    /// Records `entry` (fsynced, atomically) unless the ledger already holds its release id.
    /// - Throws: `VeilError(.privacyBudget)` when an epoch would go over `budget` (nothing is
    ///   written); `VeilError(.io)` / `.key` when the ledger cannot be read or written.
    public func charge(_ entry: Entry, budget: PrivacyAmount) throws(VeilError) -> Charge {
        let lock = directory + "/" + Self.lockName
        let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AtomicFile.ioError("cannot open the privacy ledger lock", lock) }
        defer { close(fd) }
        _ = fchmod(fd, 0o600)
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw AtomicFile.ioError("cannot lock the privacy ledger", lock) }
        }
        defer { _ = flock(fd, LOCK_UN) }
        let existing = try entries()
        let result = try Self.evaluate(entry, budget: budget, entries: existing)
        if result.charged {
            let text = (existing + [entry]).map { $0.jsonLine + "\n" }.joined()
            try AtomicFile.write(text, to: path, mode: 0o600)
        }
        return result
    }

    static func evaluate(_ entry: Entry, budget: PrivacyAmount, entries: [Entry]) throws(VeilError) -> Charge {
        let before = spent(entries)
        let already = entries.contains { $0.releaseID == entry.releaseID }
        var rows: [(epoch: String, spent: PrivacyAmount, remaining: PrivacyAmount)] = []
        var over: [String] = []
        for epoch in entry.epochs.sorted() {
            let was = before[epoch] ?? PrivacyAmount(units: 0)
            let now = already ? was : was + entry.epsilon
            if !already && now > budget {
                over.append(
                    "key epoch \(epoch): ε spent \(was) of the budget \(budget), remaining \(budget - was)")
            }
            rows.append((epoch, now, budget - now))
        }
        if !over.isEmpty {
            let shown =
                over.prefix(5).joined(separator: "; ") + (over.count > 5 ? "; and \(over.count - 5) more epochs" : "")
            throw VeilError(
                .privacyBudget,
                "privacy budget exhausted: this release needs ε = \(entry.epsilon) per key epoch; \(shown); nothing was written (--dp-budget sets the budget per epoch)"
            )
        }
        return Charge(charged: !already, epochs: rows)
    }
}
