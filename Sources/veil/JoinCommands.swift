import ArgumentParser
import Foundation
import VeilCore

/// Where the audit log is: `--audit-log`, else `$VEIL_AUDIT_LOG`, else `audit.log` in the key store.
struct AuditOptions: ParsableArguments {
    @Option(name: .long, help: "Key store directory (default: $VEIL_KEYS or ~/.local/share/veil/keys).")
    var keys: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Append-only audit log (default: $VEIL_AUDIT_LOG, else audit.log in the key store).", valueName: "file"))
    var auditLog: String?

    var keyStorePath: String { keys ?? defaultKeyStorePath() }

    var log: AuditLog {
        if let auditLog { return AuditLog(path: auditLog) }
        if let env = ProcessInfo.processInfo.environment["VEIL_AUDIT_LOG"], !env.isEmpty { return AuditLog(path: env) }
        return AuditLog(path: keyStorePath + "/audit.log")
    }
}

extension JoinPurposeKind: ExpressibleByArgument {}

struct JoinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Link pseudonymous state to accounts: personal data, for a stated purpose, audited.",
        discussion: """
            Recomputes each account's pseudonyms (from cookie_id, email, recipient_token) with the \
            epoch keys and matches them against the per-visitor and per-recipient summaries of the \
            states. Writes activity.csv and campaigns.csv (per account, site and day) and a \
            manifest classified `personal` into a NEW directory (0700, files 0600). The audit \
            record is written and fsynced first; if it cannot be, nothing is written.

            Restricted accounts are never joined. With --purpose-kind marketing (the default \
            unless --account is given) accounts with marketing_opt_out are left out.

            Identity table: CSV with a header; account_id and at least one of cookie_id, email, \
            recipient_token; optional marketing_opt_out and restricted (true/false, yes/no, 1/0).

            Examples:
              veil join week.veilstate --identities accounts.csv --purpose "Q4 win-back mailing" -o personal/q4/
              veil join week.veilstate --identities accounts.csv --account 4711 \\
                  --purpose "access request #2026-117" -o personal/sar-117/
            """)

    @Argument(help: "State files (merged first).")
    var states: [String]

    @Option(name: .long, help: ArgumentHelp("Identity table (CSV).", valueName: "file"))
    var identities: String

    @Option(name: .long, help: "Why this join is made; recorded in the audit log and the manifest.")
    var purpose: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "marketing (leaves out opted-out accounts), service, access or legal (default: access with --account, else marketing).",
            valueName: "kind"))
    var purposeKind: JoinPurposeKind?

    @Option(name: .long, help: ArgumentHelp("Only this account (a subject access request).", valueName: "id"))
    var account: String?

    @Option(name: .shortAndLong, help: "New directory for the personal output.")
    var output: String

    @OptionGroup var audit: AuditOptions
    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard !purpose.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--purpose must say why the join is made")
        }
        guard !states.isEmpty else { throw ValidationError("give at least one state file") }
    }

    func run() throws {
        try Veil.guarded {
            let store = try KeyStore.open(path: audit.keyStorePath)
            let lock = try OutputLock(for: output)
            defer { withExtendedLifetime(lock) {} }
            let job = JoinJob(
                statePaths: states, identitiesPath: identities, output: output,
                configuration: JoinConfiguration(
                    purpose: purpose, purposeKind: purposeKind ?? (account == nil ? .marketing : .access),
                    account: account),
                keyStore: store, auditLog: audit.log)
            let s = try job.run()
            let r = s.result
            if out.json {
                print(jsonString(JoinSummary(s, auditLog: audit.log.path)))
            } else if !out.quiet {
                var excluded: [String] = []
                if r.excludedOptOut > 0 { excluded.append("\(grouped(r.excludedOptOut)) opted out of marketing") }
                if r.excludedRestricted > 0 { excluded.append("\(grouped(r.excludedRestricted)) restricted") }
                Terminal.note(
                    "\(grouped(r.accountsMatched)) of \(grouped(r.accountsConsidered)) account\(r.accountsConsidered == 1 ? "" : "s") matched"
                        + (excluded.isEmpty ? "" : " (left out: " + excluded.joined(separator: ", ") + ")")
                        + "; \(grouped(r.activity.count)) activity and \(grouped(r.campaigns.count)) campaign rows → \(output)/ (personal data); audit record \(s.audit.seq)"
                )
            }
        }
    }
}

struct JoinSummary: Encodable {
    var output: String
    var accountsConsidered: Int
    var accountsMatched: Int
    var excludedMarketingOptOut: Int
    var excludedRestricted: Int
    var activityRows: Int
    var campaignRows: Int
    var auditLog: String
    var auditRecord: Int
    var auditHash: String
    var keyEpochs: [String]

    init(_ s: JoinJob.Summary, auditLog: String) {
        output = s.output
        accountsConsidered = s.result.accountsConsidered
        accountsMatched = s.result.accountsMatched
        excludedMarketingOptOut = s.result.excludedOptOut
        excludedRestricted = s.result.excludedRestricted
        activityRows = s.result.activity.count
        campaignRows = s.result.campaigns.count
        self.auditLog = auditLog
        auditRecord = s.audit.seq
        auditHash = s.audit.hash
        keyEpochs = s.result.epochs
    }
}

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Erase one account's per-visitor and per-recipient summaries from state files.",
        discussion: """
            Finds the account's pseudonyms the way `veil join` does and removes their summaries \
            from each state file (rewritten atomically), after recording the erasure in the audit \
            log. Epochs whose keys are shredded are already unlinkable and are left as they are. \
            Counters and sketches in the state keep the account's share of the totals; they hold \
            nothing a join can match.

            Example: veil forget 2026-11-*.veilstate --identities accounts.csv --account 4711 --reason "erasure request #88"
            """)

    @Argument(help: "State files to erase from (each rewritten in place).")
    var states: [String]

    @Option(name: .long, help: ArgumentHelp("Identity table (CSV).", valueName: "file"))
    var identities: String

    @Option(name: .long, help: ArgumentHelp("The account to erase.", valueName: "id"))
    var account: String

    @Option(name: .long, help: "Why (for example the request's reference); recorded in the audit log.")
    var reason: String?

    @OptionGroup var audit: AuditOptions
    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard !states.isEmpty else { throw ValidationError("give at least one state file") }
    }

    func run() throws {
        try Veil.guarded {
            let store = try KeyStore.open(path: audit.keyStorePath)
            let s = try ForgetJob(
                statePaths: states, identitiesPath: identities, account: account, reason: reason, keyStore: store,
                auditLog: audit.log
            ).run()
            if !out.quiet {
                for f in s.files {
                    let o = f.outcome
                    Terminal.note(
                        "\(f.path): removed \(o.visitorSummaries) visitor and \(o.recipientSummaries) recipient summaries"
                            + (o.unlinkableEpochs.isEmpty
                                ? "" : "; \(o.unlinkableEpochs.count) epoch(s) already unlinkable (keys shredded)"))
                }
                Terminal.note("erasure recorded as audit record \(s.audit.seq)")
            }
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check the audit log of joins and erasures.",
        subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify the hash chain of the audit log; report the first broken record.",
            discussion: "Exit status 0 when intact, 1 when a record was changed, removed or added out of band.")

        @OptionGroup var audit: AuditOptions
        @OptionGroup var out: OutputOptions

        func run() throws {
            try Veil.guarded {
                let log = audit.log
                let v = try log.verify()
                if let p = v.problem {
                    throw VeilError(.state, "audit log broken at record \(p.position): \(p.message)", file: log.path)
                }
                if !out.quiet {
                    print(
                        "\(log.path): \(v.records) record\(v.records == 1 ? "" : "s"), chain intact"
                            + (v.last.map { "; last \($0.hash)" } ?? ""))
                }
            }
        }
    }
}

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete pseudonymous state files past their retention (anonymous rollups are kept).",
        discussion: """
            A state file's age is the end of the newest key epoch its pseudonyms come from. Only \
            readable veil state files are deleted: CSV rollups, manifests, symlinks and anything \
            else are left alone. Directories are searched for *.veilstate (one level).

            Example: veil prune /var/lib/veil/states --older-than 90d --dry-run
            """)

    @Argument(help: "State files or directories holding them.")
    var paths: [String]

    @Option(name: .long, help: "Age, e.g. 90d, 12h, 8w.")
    var olderThan: String

    @Flag(name: .long, help: "List what would be deleted, delete nothing.")
    var dryRun = false

    @OptionGroup var out: OutputOptions

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one state file or directory") }
    }

    func run() throws {
        try Veil.guarded {
            let age = try parseAge(olderThan)
            let scan = try Retention.scan(paths: paths, olderThan: age, now: Int64(Date().timeIntervalSince1970))
            let expired = scan.expired
            let gone = dryRun ? [] : try Retention.delete(scan)
            if out.json {
                print(
                    jsonString(
                        PruneSummary(
                            dryRun: dryRun, expired: expired.map(\.path), deleted: gone,
                            kept: scan.states.filter { !$0.expired }.map(\.path), notStates: scan.unreadable)))
                return
            }
            if out.quiet { return }
            for f in expired {
                print(
                    "\(dryRun ? "would delete" : "deleted") \(f.path) (data up to \(ISOTime.string(seconds: f.dataEnd)))"
                )
            }
            for f in scan.unreadable { Terminal.note("kept \(f): not a readable veil state file") }
            Terminal.note(
                "\(expired.count) of \(scan.states.count) state file\(scan.states.count == 1 ? "" : "s") older than \(olderThan)\(dryRun ? " (dry run: nothing deleted)" : " deleted")"
            )
        }
    }
}

struct PruneSummary: Encodable {
    var dryRun: Bool
    var expired: [String]
    var deleted: [String]
    var kept: [String]
    var notStates: [String]
}
