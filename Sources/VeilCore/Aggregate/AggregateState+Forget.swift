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
            let moved = visitorKeys.map { gone.contains($0) }
            removed.visitors = moved.reduce(0) { $0 + ($1 ? 1 : 0) }
            (visitorTable, visitors) = Self.dropping(moved, visitorKeys, visitors, minimumCapacity: 1024)
        }
        if !goneRecipients.isEmpty {
            let moved = recipientKeys.map {
                goneRecipients.contains(VisitorKey(site: $0.site, pseudonym: $0.pseudonym))
            }
            removed.recipients = moved.reduce(0) { $0 + ($1 ? 1 : 0) }
            (recipientTable, recipients) = Self.dropping(moved, recipientKeys, recipients, minimumCapacity: 64)
        }
        return removed
    }
}
