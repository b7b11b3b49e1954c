extension AggregateState {
    /// The key epoch a visit summary belongs to: the epoch of its first visit. A visitor
    /// pseudonym is computed with the key of the epoch of each record's time, so every visit
    /// of one summary lies in that epoch.
    func visitorEpoch(_ i: Int, _ granularity: EpochGranularity) -> Int64? {
        guard let first = visitors[i].firstVisit else { return nil }
        return EpochID(granularity: granularity, containing: first.start).index
    }

    /// One epoch's (or day's) summaries split into up to 8 pieces of at least `minimum`
    /// (32,768 by default), so the encoder's sorting arrays stay small; each piece's encoding
    /// passes over the whole state once, hence the cap. The pieces of one epoch merge when
    /// read back.
    static func sealingChunks(_ indices: [Int], minimum: Int) -> [ArraySlice<Int>] {
        let size = max(minimum, (indices.count + 7) / 8)
        return stride(from: 0, to: indices.count, by: size).map { indices[$0..<min($0 + size, indices.count)] }
    }

    /// Moves the visit summaries (with their contribution records) of the key epochs `epoch`
    /// selects, and the recipient summaries of the local days `day` selects, into `sealed`:
    /// each epoch's and each day's are encoded where they are (no copy), then dropped from
    /// this state. Cells, epochs, inputs and counters stay.
    ///
    /// Merging the sealed pieces back gives this state again: `merge` joins summaries of the
    /// same key, so summaries sealed early and ones built later from late records are put
    /// together exactly. The pieces are tagged as input `input`'s (-1: the job's own), which
    /// `SealedSummaries.discard(input:)` drops if that input fails.
    mutating func seal(
        epochs epoch: (Int64) -> Bool, days day: (Int64) -> Bool, into sealed: SealedSummaries, input: Int = -1,
        pieceSize: Int = 1 << 15
    ) throws(VeilError) {
        let granularity = EpochGranularity(rawValue: configuration.epochGranularity) ?? .day

        // Visit summaries and contribution records, by key epoch.
        var byEpoch: [Int64: [Int]] = [:]
        for i in visitors.indices {
            if let e = visitorEpoch(i, granularity), epoch(e) { byEpoch[e, default: []].append(i) }
        }
        if !byEpoch.isEmpty {
            // Contribution-store index → visit-summary index (-1: none).
            let summaryOf = contributions.visitorKeys.map { visitorTable.find($0) ?? -1 }
            let moved = try Self.sealGroups(byEpoch, count: visitors.count, pieceSize: pieceSize) {
                (e, piece) throws(VeilError) in
                var selection = StateCodec.Selection()
                selection.visitors = piece
                selection.contributors = summaryOf.map { $0 >= 0 && piece[$0] }
                try sealed.add(visitorsOf: e, StateCodec.encode(self, only: selection), input: input)
            }

            var keptContributions = ContributionStore()
            keptContributions.dimHashes = contributions.dimHashes
            for (v, key) in contributions.visitorKeys.enumerated() where summaryOf[v] < 0 || !moved[summaryOf[v]] {
                keptContributions.copyRecords(of: v, key, from: contributions)
            }
            contributions = keptContributions

            (visitorTable, visitors) = Self.dropping(moved, visitorKeys, visitors, minimumCapacity: 1024)
        }

        // Recipient summaries, by local day.
        var byDay: [Int64: [Int]] = [:]
        for (j, key) in recipientKeys.enumerated() where day(Int64(key.day)) {
            byDay[Int64(key.day), default: []].append(j)
        }
        if !byDay.isEmpty {
            let moved = try Self.sealGroups(byDay, count: recipients.count, pieceSize: pieceSize) {
                (d, piece) throws(VeilError) in
                var selection = StateCodec.Selection()
                selection.recipients = piece
                try sealed.add(recipientsOf: d, StateCodec.encode(self, only: selection), input: input)
            }
            (recipientTable, recipients) = Self.dropping(moved, recipientKeys, recipients, minimumCapacity: 64)
        }
    }
}

extension AggregateState {
    /// Seals `groups` (a key epoch or day → the summaries in it) in key order, each in pieces of
    /// at least `pieceSize` summaries: `seal` encodes and adds one piece, given the group and
    /// the piece's summaries as a mask over `count`.
    /// - Returns: the mask of every summary sealed.
    static func sealGroups(
        _ groups: [Int64: [Int]], count: Int, pieceSize: Int, _ seal: (Int64, [Bool]) throws(VeilError) -> Void
    ) throws(VeilError) -> [Bool] {
        var moved = [Bool](repeating: false, count: count)
        for (key, all) in groups.sorted(by: { $0.key < $1.key }) {
            for indices in sealingChunks(all, minimum: pieceSize) {
                var piece = [Bool](repeating: false, count: count)
                for i in indices {
                    piece[i] = true
                    moved[i] = true
                }
                try seal(key, piece)
            }
        }
        return moved
    }

    /// Moves the cells `past` selects (table cells of hours and days the input has left) into
    /// `sealed`, encoded where they are. Merging them back (`SealedSummaries.restoreCells`)
    /// gives this state's cells again: counters add and sketches take register maxima, so
    /// cells that late records made again since are joined exactly.
    /// - Returns: whether any cell was sealed (cell indices then changed).
    @discardableResult
    mutating func sealCells(_ past: (CellKey) -> Bool, into sealed: SealedSummaries, input: Int = -1) throws(VeilError)
        -> Bool
    {
        var selection = StateCodec.Selection()
        selection.cells = cellKeys.map(past)
        guard selection.cells.contains(true) else { return false }
        try sealed.add(cells: StateCodec.encode(self, only: selection), input: input)
        (cellTable, cells) = Self.dropping(selection.cells, cellKeys, cells, minimumCapacity: 1024)
        return true
    }

    /// A key table and its values without the entries `moved` marks, in their order.
    static func dropping<Key, Value>(
        _ moved: [Bool], _ keys: [Key], _ values: [Value], minimumCapacity: Int
    ) -> (IndexTable<Key>, [Value]) {
        let count = moved.reduce(0) { $0 + ($1 ? 0 : 1) }
        var table = IndexTable<Key>(capacity: max(minimumCapacity, count))
        var kept: [Value] = []
        kept.reserveCapacity(count)
        for i in keys.indices where !moved[i] {
            _ = table.findOrInsert(keys[i])
            kept.append(values[i])
        }
        return (table, kept)
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
