/// Per-pseudonym summaries moved out of a state, grouped so that no summary key is split
/// between two groups of one extraction: visit summaries (with their contribution records) by
/// the key epoch of their pseudonym, recipient summaries by their local day.
struct ExtractedSummaries {
    /// Key epoch index → a state holding only that epoch's visit summaries and contribution
    /// records.
    var visitors: [Int64: AggregateState] = [:]
    /// Local day → a state holding only that day's recipient summaries.
    var recipients: [Int64: AggregateState] = [:]

    var isEmpty: Bool { visitors.isEmpty && recipients.isEmpty }
}

extension AggregateState {
    /// The key epoch a visit summary belongs to: the epoch of its first visit. A visitor
    /// pseudonym is computed with the key of the epoch of each record's time, so every visit
    /// of one summary lies in that epoch.
    func visitorEpoch(_ i: Int, _ granularity: EpochGranularity) -> Int64? {
        guard let first = visitors[i].visits.first else { return nil }
        return EpochID(granularity: granularity, containing: first.start).index
    }

    /// An empty state with this one's settings and string ids (so ids mean the same in both).
    func emptyPart() -> AggregateState {
        var part = AggregateState(configuration: configuration)
        part.sites = sites
        part.dims = dims
        return part
    }

    /// Moves out the visit summaries (with their contribution records) of the key epochs
    /// `epoch` selects and the recipient summaries of the local days `day` selects. Cells,
    /// epochs, inputs and counters stay.
    ///
    /// Merging the extracted states back gives this state again: `merge` joins summaries of
    /// the same key, so summaries extracted early and ones built later from late records are
    /// put together exactly.
    mutating func extractSummaries(epochs epoch: (Int64) -> Bool, days day: (Int64) -> Bool) -> ExtractedSummaries {
        var out = ExtractedSummaries()
        let granularity = EpochGranularity(rawValue: configuration.epochGranularity) ?? .day

        // Visit summaries and contribution records, by key epoch.
        var moved = [Int64?](repeating: nil, count: visitors.count)
        var byEpoch: [Int64: [Int]] = [:]
        for i in visitors.indices {
            if let e = visitorEpoch(i, granularity), epoch(e) {
                moved[i] = e
                byEpoch[e, default: []].append(i)
            }
        }
        if !byEpoch.isEmpty {
            var contributionEpoch = [Int64?](repeating: nil, count: contributions.visitorTable.count)
            for (v, key) in contributions.visitorKeys.enumerated() {
                if let i = visitorTable.find(key) { contributionEpoch[v] = moved[i] }
            }
            for (e, indices) in byEpoch {
                var part = emptyPart()
                part.visitorTable = IndexTable(capacity: indices.count)
                part.visitors.reserveCapacity(indices.count)
                for i in indices {
                    _ = part.visitorTable.findOrInsert(visitorKeys[i])
                    part.visitors.append(visitors[i])
                }
                part.contributions.dimHashes = contributions.dimHashes
                out.visitors[e] = part
            }
            var keptContributions = ContributionStore()
            keptContributions.dimHashes = contributions.dimHashes
            for (v, key) in contributions.visitorKeys.enumerated() {
                if let e = contributionEpoch[v] {
                    out.visitors[e]!.contributions.copyRecords(of: v, key, from: contributions)
                } else {
                    keptContributions.copyRecords(of: v, key, from: contributions)
                }
            }
            contributions = keptContributions

            var table = IndexTable<VisitorKey>(capacity: max(1024, visitors.count - moved.count(where: { $0 != nil })))
            var kept: [VisitorSummary] = []
            kept.reserveCapacity(table.count)
            for i in visitors.indices where moved[i] == nil {
                _ = table.findOrInsert(visitorKeys[i])
                kept.append(visitors[i])
            }
            visitorTable = table
            visitors = kept
        }

        // Recipient summaries, by local day.
        var byDay: [Int64: [Int]] = [:]
        var keptRecipients: [Int] = []
        for (j, key) in recipientKeys.enumerated() {
            if day(Int64(key.day)) { byDay[Int64(key.day), default: []].append(j) } else { keptRecipients.append(j) }
        }
        if !byDay.isEmpty {
            for (d, indices) in byDay {
                var part = emptyPart()
                part.recipientTable = IndexTable(capacity: indices.count)
                part.recipients.reserveCapacity(indices.count)
                for j in indices {
                    _ = part.recipientTable.findOrInsert(recipientKeys[j])
                    part.recipients.append(recipients[j])
                }
                out.recipients[d] = part
            }
            var table = IndexTable<RecipientKey>(capacity: max(64, keptRecipients.count))
            var kept: [RecipientSummary] = []
            kept.reserveCapacity(keptRecipients.count)
            for j in keptRecipients {
                _ = table.findOrInsert(recipientKeys[j])
                kept.append(recipients[j])
            }
            recipientTable = table
            recipients = kept
        }
        return out
    }
}

extension ContributionStore {
    /// Adds visitor `key` with the records visitor `v` has in `other` (nothing when it has none).
    mutating func copyRecords(of v: Int, _ key: VisitorKey, from other: ContributionStore) {
        guard other.hasRecords(v) else { return }
        let mine = visitor(key)
        for t in 0..<Self.tableCount where other.slots[v * Self.stride + t] != 0 {
            setRecords(mine, t, other.records(v, t).map { ($0.day, $0.dim, Int($0.count)) })
        }
    }
}
