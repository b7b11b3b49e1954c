/// `veil forget`: removes one account's per-visitor and per-recipient summaries from a state,
/// so that no later join can find them.
public enum Erasure {
    /// What `forget` did to one state.
    public struct Outcome: Sendable, Equatable {
        public var visitorSummaries = 0
        public var recipientSummaries = 0
        /// Epochs whose keys are shredded: their data is already unlinkable and was not searched.
        public var unlinkableEpochs: [String] = []

        public var removedAnything: Bool { visitorSummaries + recipientSummaries > 0 }
    }

    /// Removes `account`'s summaries from `state`.
    /// - Throws: `VeilError(.usage)` when the account is not in the table; `VeilError(.key)`
    ///   when a key the state needs is missing (not shredded: a missing key is a mistake, a
    ///   shredded one means the data is already unlinkable).
    public static func forget(
        account: String, identities: IdentityTable, state: inout AggregateState, keyStore: KeyStore
    ) throws(VeilError) -> Outcome {
        let accounts = identities.accounts.filter { $0.accountID == account }
        guard !accounts.isEmpty else {
            throw VeilError(
                .usage, "the account given with --account is not in the identity table", file: identities.file)
        }
        var outcome = Outcome()
        let shredded = Set((try keyStore.list()).filter { $0.status == .shredded }.map(\.epoch))
        let linkable = state.epochs.filter { text in
            guard let e = EpochID(text), shredded.contains(e) else { return true }
            outcome.unlinkableEpochs.append(text)
            return false
        }
        outcome.unlinkableEpochs.sort()
        let epochs = try IdentityJoin.checkedEpochs(linkable, keyStore: keyStore, purpose: "searched")
        let links = try PseudonymLinks(state: state, accounts: accounts, epochs: epochs, keyStore: keyStore)
        let removed = state.removeSummaries(visitors: Set(links.visitors.keys), recipients: Set(links.recipients.keys))
        outcome.visitorSummaries = removed.visitors
        outcome.recipientSummaries = removed.recipients
        return outcome
    }
}
