import Foundation

/// `veil join` end to end: read the states and the identity table, match, write the audit
/// record (fsynced), then the personal output. When the audit record cannot be written,
/// nothing personal is.
public struct JoinJob {
    public var statePaths: [String]
    public var identitiesPath: String
    public var output: String
    public var configuration: JoinConfiguration
    public var keyStore: KeyStore
    public var auditLog: AuditLog

    public init(
        statePaths: [String], identitiesPath: String, output: String, configuration: JoinConfiguration,
        keyStore: KeyStore, auditLog: AuditLog
    ) {
        self.statePaths = statePaths
        self.identitiesPath = identitiesPath
        self.output = output
        self.configuration = configuration
        self.keyStore = keyStore
        self.auditLog = auditLog
    }

    /// What a join did.
    public struct Summary: Sendable {
        public var result: JoinResult
        public var audit: AuditEntry
        public var output: String
    }

    public func run(now: Int64? = nil) throws(VeilError) -> Summary {
        guard !statePaths.isEmpty else { throw VeilError(.usage, "give at least one state file") }
        var inputs: [[String: String]] = []
        var merged: AggregateState?
        for path in statePaths {
            let bytes = try AtomicFile.read(path)
            inputs.append(["name": path, "sha256": Hasher256.fingerprint(of: bytes)])
            let s = try StateCodec.decode(bytes, file: path)
            if merged == nil { merged = s } else { try merged!.merge(s) }
        }
        let state = merged!
        let identities = try IdentityTable.read(identitiesPath)
        let result = try IdentityJoin.run(
            state: state, identities: identities, keyStore: keyStore, configuration: configuration)
        try PersonalOutput.checkDestination(output)

        var record: [String: any Sendable] = [
            "action": "join",
            "purpose": configuration.purpose,
            "purpose_kind": configuration.purposeKind.rawValue,
            "inputs": inputs,
            "identities": ["name": identitiesPath, "sha256": identities.fingerprint],
            "key_epochs": result.epochs,
            "accounts_considered": result.accountsConsidered,
            "accounts_matched": result.accountsMatched,
            "excluded_marketing_opt_out": result.excludedOptOut,
            "excluded_restricted": result.excludedRestricted,
            "rows": result.rowCount,
            "output": Self.absolute(output),
            "veil_version": veilVersion,
        ]
        if let account = configuration.account { record["account"] = account }
        // The audit record first: fsynced before any personal row exists.
        let entry = try auditLog.append(record, now: now)

        var manifest: [String: Any] = [
            "schema_version": 1,
            "veil_version": veilVersion,
            "purpose": configuration.purpose,
            "purpose_kind": configuration.purposeKind.rawValue,
            "scope": configuration.account == nil ? "all accounts" : "one account",
            "audit": ["log": Self.absolute(auditLog.path), "record": entry.seq, "hash": entry.hash, "id": entry.id],
            "key_epochs": result.epochs,
            "time_zone": state.configuration.timeZone,
            "inputs": inputs,
            "identities": ["name": identitiesPath, "sha256": identities.fingerprint],
            "accounts": [
                "considered": result.accountsConsidered, "matched": result.accountsMatched,
                "excluded_marketing_opt_out": result.excludedOptOut, "excluded_restricted": result.excludedRestricted,
            ],
            "notice":
                "Personal data: use only for the stated purpose, keep it no longer than that purpose needs, never share it with the anonymous rollups.",
        ]
        if let account = configuration.account { manifest["account"] = account }
        try PersonalOutput.write(result, to: output, manifest: manifest)
        return Summary(result: result, audit: entry, output: output)
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// `veil forget` end to end: find one account's summaries in each state, record the erasure in
/// the audit log, then rewrite the states that changed (each atomically).
public struct ForgetJob {
    public var statePaths: [String]
    public var identitiesPath: String
    public var account: String
    public var reason: String?
    public var keyStore: KeyStore
    public var auditLog: AuditLog

    public init(
        statePaths: [String], identitiesPath: String, account: String, reason: String?, keyStore: KeyStore,
        auditLog: AuditLog
    ) {
        self.statePaths = statePaths
        self.identitiesPath = identitiesPath
        self.account = account
        self.reason = reason
        self.keyStore = keyStore
        self.auditLog = auditLog
    }

    public struct Summary: Sendable {
        public var files: [(path: String, outcome: Erasure.Outcome)]
        public var audit: AuditEntry
    }

    public func run(now: Int64? = nil) throws(VeilError) -> Summary {
        guard !statePaths.isEmpty else { throw VeilError(.usage, "give at least one state file") }
        let identities = try IdentityTable.read(identitiesPath)
        var changed: [(path: String, state: AggregateState)] = []
        var files: [(path: String, outcome: Erasure.Outcome)] = []
        var records: [[String: any Sendable]] = []
        for path in statePaths {
            let bytes = try AtomicFile.read(path)
            var state = try StateCodec.decode(bytes, file: path)
            let outcome = try Erasure.forget(
                account: account, identities: identities, state: &state, keyStore: keyStore)
            files.append((path, outcome))
            records.append([
                "name": path, "sha256_before": Hasher256.fingerprint(of: bytes),
                "visitor_summaries_removed": outcome.visitorSummaries,
                "recipient_summaries_removed": outcome.recipientSummaries,
                "unlinkable_epochs": outcome.unlinkableEpochs,
            ])
            if outcome.removedAnything { changed.append((path, state)) }
        }
        var record: [String: any Sendable] = [
            "action": "forget",
            "account": account,
            "identities": ["name": identitiesPath, "sha256": identities.fingerprint],
            "states": records,
            "veil_version": veilVersion,
        ]
        if let reason { record["reason"] = reason }
        let entry = try auditLog.append(record, now: now)
        for c in changed { try StateCodec.write(c.state, to: c.path) }
        return Summary(files: files, audit: entry)
    }
}
