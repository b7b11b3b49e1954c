extension AggregateState {
    /// Removes the per-visitor summaries (and contribution records) whose key is in `visitors` and the per-recipient
    /// summaries whose (site, pseudonym) is in `recipients` (every campaign and day).
    ///
    /// Counters and sketches of the table cells are left as they are: they hold no pseudonym
    /// that could be matched again (a sketch register keeps only the largest hash rank seen).
    ///
    /// - Returns: How many visitor and recipient summaries were removed.
    @discardableResult
    public mutating func removeSummaries(visitors gone: Set<VisitorKey>, recipients goneRecipients: Set<VisitorKey>)
        -> (visitors: Int, recipients: Int)
    {
        var removed = (visitors: 0, recipients: 0)
        // A visitor's contribution records (for DP releases) go with its summary.
        removeContributions(visitors: gone)
        if !gone.isEmpty {
            var table = IndexTable<VisitorKey>(capacity: max(1024, visitors.count))
            var kept: [VisitorSummary] = []
            kept.reserveCapacity(visitors.count)
            for (i, key) in visitorKeys.enumerated() {
                if gone.contains(key) {
                    removed.visitors += 1
                } else {
                    _ = table.findOrInsert(key)
                    kept.append(visitors[i])
                }
            }
            visitorTable = table
            visitors = kept
        }
        if !goneRecipients.isEmpty {
            var table = IndexTable<RecipientKey>(capacity: max(64, recipients.count))
            var kept: [RecipientSummary] = []
            kept.reserveCapacity(recipients.count)
            for (i, key) in recipientKeys.enumerated() {
                if goneRecipients.contains(VisitorKey(site: key.site, pseudonym: key.pseudonym)) {
                    removed.recipients += 1
                } else {
                    _ = table.findOrInsert(key)
                    kept.append(recipients[i])
                }
            }
            recipientTable = table
            recipients = kept
        }
        return removed
    }
}
