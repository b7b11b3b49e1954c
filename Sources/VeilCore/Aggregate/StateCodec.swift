/// The `.veilstate` file format.
///
/// Layout (integers little-endian; `varint` = LEB128, `zigzag` = signed LEB128):
/// ```
/// "VEILSTAT"  u16 version  body  u32 CRC-32C of everything before it
/// body: config (string time zone, varint session timeout, string epoch granularity,
///               zigzag scanner burst seconds, varint burst links, zigzag delivery seconds)
///       varint out-of-range records
///       epochs  (varint n, n strings, sorted)
///       inputs  (varint n; fingerprint, name, varint bytes, lines, records, rejected; since
///                version 8, u8 1 and the country database's string type, varint build epoch,
///                or u8 0 when the input was aggregated without one; sorted)
///       sites   (varint n, n strings, sorted by bytes)
///       dims    (varint n, n strings, sorted by bytes)
///       cells   (varint n; u8 table, varint site, zigzag bucket, varint dim, counters, sketches,
///                since version 9 the duration histogram (`DurationHistogram.encode`); sorted by
///                key)
///       visitors(varint n; varint site, u64 hi, u64 lo, varint visits, per visit: zigzag start,
///                varint length, varint pageviews, varint entry dim, varint exit dim + 1 (0: unknown;
///                since version 4), varint web campaign dim + 1 (0: none), varint referrer dim + 1
///                (0: none; both since version 6);
///                sorted by site, pseudonym)
///       recipients (varint n; sorted by site, campaign dim, day, pseudonym; each:
///                varint site, varint campaign dim, zigzag day, u64 hi, u64 lo,
///                varint delivered [zigzag first delivery if delivered > 0],
///                varint human, proxy, bot opens [zigzag first open, varint last - first if any],
///                varint click records; per record (sorted by time, link dim, automated):
///                  zigzag time (the first) or varint time - previous time, varint link dim,
///                  u8 automated (0/1), varint count ≥ 1;
///                [varint last click - first record's time if any record]
///                varint extra clicks (only with the full 64 records); per (sorted by link dim,
///                  automated): varint link dim, u8 automated, varint count ≥ 1)
///       contributions (varint n; visitors with at least one record, sorted by site, pseudonym;
///                each: varint site, u64 hi, u64 lo, then for each of the 6 contribution tables
///                (traffic per day, pages, referrers, browsers, operating systems, devices):
///                varint m ≤ 8; m records sorted by day, dim: varint day (the first) or
///                varint day - previous day, varint dim (not for traffic), u8 count ≥ 1)
/// ```
/// Everything is sorted by content, so equal states encode to equal bytes.
public enum StateCodec {
    public static let magic = Array("VEILSTAT".utf8)
    /// Version 2 added the contribution records (differential privacy); version 3 the web
    /// campaigns table (table id 9), in the same layout, so version 2 files are read too
    /// (their page paths may keep `utm_*` parameters, which page paths now drop); version 4
    /// each visit's exit page (versions 2 and 3 are read with unknown exits but for one-page
    /// visits); version 5 the bots table (table id 10), in the same layout; version 6 the web
    /// campaign and referrer host each visit came from (older visits read as
    /// `Visit.noCampaign`, `Visit.noReferrer`); version 7 the countries table (table id 11),
    /// in the same layout; version 8 the country database of each input (older inputs read
    /// with none named); version 9 each cell's duration histogram (older cells read without
    /// durations). Version 1 files are not read.
    public static let version: UInt16 = 9
    /// The oldest version `decode` reads.
    static let oldestReadable: UInt16 = 2
    /// The first version with web campaign cells.
    static let webCampaignsSince: UInt16 = 3
    /// The first version whose visits name their exit page (older ones read as
    /// `Visit.unknownExit`, but for visits of one pageview, whose exit is their entry).
    static let exitPagesSince: UInt16 = 4
    /// The first version with bot cells.
    static let botsSince: UInt16 = 5
    /// The first version whose visits name the web campaign and referrer they came from.
    static let visitCampaignsSince: UInt16 = 6
    /// The first version with country cells.
    static let countriesSince: UInt16 = 7
    /// The first version whose inputs name the country database that placed them.
    static let countryDatabasesSince: UInt16 = 8
    /// The first version whose cells hold how long their requests took (`Cell.durations`).
    static let durationsSince: UInt16 = 9

    /// The first format version that has cells of `table`: an older file holding one is
    /// refused (a table id no veil of that version wrote).
    static func firstVersion(with table: TableID) -> UInt16 {
        switch table {
        case .webCampaigns: webCampaignsSince
        case .bots: botsSince
        case .countries: countriesSince
        default: oldestReadable
        }
    }

    /// Which cells and per-pseudonym summaries of a state to encode, by index; the rest of the
    /// state (epochs, inputs, counters) is left out. How sealing writes one key epoch's visit
    /// summaries, one day's recipient summaries or past cells without copying them first.
    struct Selection {
        var cells: [Bool] = []
        var visitors: [Bool] = []
        var recipients: [Bool] = []
        /// By contribution-store visitor index.
        var contributors: [Bool] = []
    }

    /// Encodes a state canonically.
    public static func encode(_ s: AggregateState) -> [UInt8] {
        encode(s, only: nil)
    }

    /// Encodes a state canonically, or only the summaries `selection` names (as a state of
    /// its own, which merges back into the rest).
    /// - Parameter layout: the format version whose layout to write (`oldestReadable` or
    ///   later): older veil releases' files, for tests that read them. The cells written are
    ///   the state's, whichever tables that version knew. Nil: the oldest version that holds
    ///   the state — version 6 unless it has durations (9), country cells or an input placed
    ///   by a country database (8) — so that veils since version 6 read every state made
    ///   without `--geoip` from logs without serving times (their layouts are the same).
    static func encode(_ s: AggregateState, only selection: Selection?, layout: UInt16? = nil) -> [UInt8] {
        let layout =
            layout
            ?? (s.cells.contains { !$0.durations.isEmpty }
                ? durationsSince : s.countryCoverage != nil ? countryDatabasesSince : visitCampaignsSince)
        func cell(_ i: Int) -> Bool { selection.map { i < $0.cells.count && $0.cells[i] } ?? true }
        func visitor(_ i: Int) -> Bool { selection.map { i < $0.visitors.count && $0.visitors[i] } ?? true }
        func recipient(_ i: Int) -> Bool { selection.map { i < $0.recipients.count && $0.recipients[i] } ?? true }
        func contributor(_ i: Int) -> Bool { selection.map { i < $0.contributors.count && $0.contributors[i] } ?? true }
        let whole = selection == nil
        // Room for the usual sizes reserved up front: growing by doubling would hold the old
        // and the new buffer at once (pages reserved but never written take no memory).
        func count(_ n: Int, _ selected: (Int) -> Bool) -> Int {
            selection == nil ? n : (0..<n).reduce(0) { $0 + (selected($1) ? 1 : 0) }
        }
        let estimate =
            64 * count(s.visitors.count, visitor) + 160 * count(s.recipients.count, recipient)
            + 128 * count(s.contributions.visitorKeys.count, contributor) + 512 * count(s.cells.count, cell)
        var w = BinaryWriter(capacity: (1 << 16) + estimate)
        w.writeRawBytes(magic)
        w.writeUInt16(layout)
        w.writeString(s.configuration.timeZone)
        w.writeVarUInt(UInt64(s.configuration.sessionTimeout))
        w.writeString(s.configuration.epochGranularity)
        w.writeVarInt(s.configuration.emailTiming.burstSeconds)
        w.writeVarUInt(UInt64(s.configuration.emailTiming.burstLinks))
        w.writeVarInt(s.configuration.emailTiming.deliverySeconds)
        w.writeVarUInt(UInt64(whole ? s.outOfRange : 0))
        let epochs = whole ? s.epochs.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } : []
        w.writeVarUInt(UInt64(epochs.count))
        for e in epochs { w.writeString(e) }
        let inputs = whole ? s.inputs.sorted() : []
        w.writeVarUInt(UInt64(inputs.count))
        for i in inputs {
            w.writeString(i.fingerprint)
            w.writeString(i.name)
            w.writeVarUInt(UInt64(i.bytes))
            w.writeVarUInt(UInt64(i.lines))
            w.writeVarUInt(UInt64(i.records))
            w.writeVarUInt(UInt64(i.rejected))
            if layout >= countryDatabasesSince {
                if let db = i.countryDatabase {
                    w.writeUInt8(1)
                    w.writeString(db.databaseType)
                    w.writeVarUInt(db.buildEpoch)
                } else {
                    w.writeUInt8(0)
                }
            }
        }

        // Sites and referenced dimension values in byte order; ids remapped to ranks.
        let siteOrder = (0..<s.sites.count).sorted { s.sites.isLess(UInt32($0), UInt32($1)) }
        var siteRank = [UInt32](repeating: 0, count: s.sites.count)
        for (r, i) in siteOrder.enumerated() { siteRank[i] = UInt32(r) }
        var used = [Bool](repeating: false, count: s.dims.count)
        for (i, k) in s.cellKeys.enumerated() where k.table.hasDimension && cell(i) { used[k.dimension] = true }
        for (i, v) in s.visitors.enumerated() where visitor(i) {
            v.forEachVisit {
                used[Int($0.entry)] = true
                if $0.exit != Visit.unknownExit { used[Int($0.exit)] = true }
                if $0.campaign != Visit.noCampaign { used[Int($0.campaign)] = true }
                if $0.referrer != Visit.noReferrer { used[Int($0.referrer)] = true }
            }
        }
        for (j, k) in s.recipientKeys.enumerated() where recipient(j) {
            used[Int(k.campaign)] = true
            for c in s.recipients[j].clicks { used[Int(c.link)] = true }
            for e in s.recipients[j].extraClicks { used[Int(e.link)] = true }
        }
        for v in 0..<s.contributions.visitorKeys.count where contributor(v) {
            for t in ContributionTable.allCases where t.hasDimension {
                s.contributions.forEachRecord(v, t.rawValue) { used[Int($0.dim)] = true }
            }
        }
        let dimOrder = (0..<s.dims.count).filter { used[$0] }.sorted { s.dims.isLess(UInt32($0), UInt32($1)) }
        var dimRank = [UInt32](repeating: 0, count: s.dims.count)
        for (r, i) in dimOrder.enumerated() { dimRank[i] = UInt32(r) }

        w.writeVarUInt(UInt64(siteOrder.count))
        for i in siteOrder { w.writeString(s.sites.string(UInt32(i))) }
        w.writeVarUInt(UInt64(dimOrder.count))
        for i in dimOrder { w.writeString(s.dims.string(UInt32(i))) }

        let cells = s.cellKeys.enumerated().compactMap { (j, k) in
            cell(j)
                ? (
                    CellKey(
                        table: k.table, site: Int(siteRank[k.site]), bucket: k.bucket,
                        dimension: k.table.hasDimension ? Int(dimRank[k.dimension]) : 0), j
                )
                : nil
        }.sorted { $0.0 < $1.0 }
        w.writeVarUInt(UInt64(cells.count))
        for (k, j) in cells {
            let c = s.cells[j]
            w.writeUInt8(k.table.rawValue)
            w.writeVarUInt(UInt64(k.site))
            w.writeVarInt(k.bucket)
            w.writeVarUInt(UInt64(k.dimension))
            for v in [
                c.requests, c.pageviews, c.bytes, c.statusClasses.0, c.statusClasses.1,
                c.statusClasses.2, c.statusClasses.3, c.statusClasses.4, c.botRequests,
            ] {
                w.writeVarUInt(UInt64(v))
            }
            c.visitors.encode(into: &w)
            c.clients.encode(into: &w)
            if layout >= durationsSince { c.durations.encode(into: &w) }
        }

        let visitors = s.visitorKeys.enumerated().compactMap { (j, k) in
            visitor(j) ? (VisitorKey(site: siteRank[Int(k.site)], pseudonym: k.pseudonym), j) : nil
        }.sorted { $0.0 < $1.0 }
        w.writeVarUInt(UInt64(visitors.count))
        for (k, j) in visitors {
            w.writeVarUInt(UInt64(k.site))
            w.writeUInt64(k.pseudonym.hi)
            w.writeUInt64(k.pseudonym.lo)
            w.writeVarUInt(UInt64(s.visitors[j].visitCount))
            s.visitors[j].forEachVisit { v in
                w.writeVarInt(v.start)
                w.writeVarUInt(UInt64(v.end - v.start))
                w.writeVarUInt(UInt64(v.pageviews))
                w.writeVarUInt(UInt64(dimRank[Int(v.entry)]))
                // Since version 4: the exit page's rank + 1, 0 for an unknown exit.
                if layout >= exitPagesSince {
                    w.writeVarUInt(v.exit == Visit.unknownExit ? 0 : UInt64(dimRank[Int(v.exit)]) + 1)
                }
                // Since version 6: the web campaign's and the referrer's rank + 1, 0 for none.
                if layout >= visitCampaignsSince {
                    w.writeVarUInt(v.campaign == Visit.noCampaign ? 0 : UInt64(dimRank[Int(v.campaign)]) + 1)
                    w.writeVarUInt(v.referrer == Visit.noReferrer ? 0 : UInt64(dimRank[Int(v.referrer)]) + 1)
                }
            }
        }

        let recipients = s.recipientKeys.enumerated().compactMap { (j, k) in
            recipient(j)
                ? (
                    RecipientKey(
                        site: siteRank[Int(k.site)], campaign: dimRank[Int(k.campaign)], day: k.day,
                        pseudonym: k.pseudonym), j
                )
                : nil
        }.sorted { a, b in
            let x = a.0, y = b.0
            if x.site != y.site { return x.site < y.site }
            if x.campaign != y.campaign { return x.campaign < y.campaign }
            if x.day != y.day { return x.day < y.day }
            return x.pseudonym < y.pseudonym
        }
        w.writeVarUInt(UInt64(recipients.count))
        for (k, j) in recipients {
            let r = s.recipients[j]
            w.writeVarUInt(UInt64(k.site))
            w.writeVarUInt(UInt64(k.campaign))
            w.writeVarInt(Int64(k.day))
            w.writeUInt64(k.pseudonym.hi)
            w.writeUInt64(k.pseudonym.lo)
            w.writeVarUInt(UInt64(r.delivered))
            if r.delivered > 0 { w.writeVarInt(r.firstDelivered) }
            w.writeVarUInt(UInt64(r.humanOpens))
            w.writeVarUInt(UInt64(r.proxyOpens))
            w.writeVarUInt(UInt64(r.botOpens))
            if r.openCount > 0 {
                w.writeVarInt(r.firstOpen)
                w.writeVarUInt(UInt64(r.lastOpen - r.firstOpen))
            }
            // Records in byte order of their links (the kept order already is: ranks are byte order).
            w.writeVarUInt(UInt64(r.clicks.count))
            var previous: Int64? = nil
            for c in r.clicks {
                if let p = previous { w.writeVarUInt(UInt64(c.time - p)) } else { w.writeVarInt(c.time) }
                previous = c.time
                w.writeVarUInt(UInt64(dimRank[Int(c.link)]))
                w.writeUInt8(c.automated ? 1 : 0)
                w.writeVarUInt(UInt64(c.count))
            }
            if let first = r.clicks.first { w.writeVarUInt(UInt64(r.lastClick - first.time)) }
            w.writeVarUInt(UInt64(r.extraClicks.count))
            for e in r.extraClicks {
                w.writeVarUInt(UInt64(dimRank[Int(e.link)]))
                w.writeUInt8(e.automated ? 1 : 0)
                w.writeVarUInt(UInt64(e.count))
            }
        }

        let contributors = s.contributions.visitorKeys.enumerated().compactMap { (v, k) in
            contributor(v) && s.contributions.hasRecords(v)
                ? (VisitorKey(site: siteRank[Int(k.site)], pseudonym: k.pseudonym), v) : nil
        }.sorted { $0.0 < $1.0 }
        w.writeVarUInt(UInt64(contributors.count))
        var records: [(day: UInt32, dim: UInt32, count: UInt8)] = []
        records.reserveCapacity(ContributionStore.maxPartitions)
        for (k, v) in contributors {
            w.writeVarUInt(UInt64(k.site))
            w.writeUInt64(k.pseudonym.hi)
            w.writeUInt64(k.pseudonym.lo)
            for t in ContributionTable.allCases {
                records.removeAll(keepingCapacity: true)
                s.contributions.forEachRecord(v, t.rawValue) {
                    records.append((day: $0.day, dim: t.hasDimension ? dimRank[Int($0.dim)] : 0, count: $0.count))
                }
                records.sort { ($0.day, $0.dim) < ($1.day, $1.dim) }
                w.writeVarUInt(UInt64(records.count))
                var previous: UInt32? = nil
                for r in records {
                    w.writeVarUInt(UInt64(r.day - (previous ?? 0)))
                    previous = r.day
                    if t.hasDimension { w.writeVarUInt(UInt64(r.dim)) }
                    w.writeUInt8(r.count)
                }
            }
        }
        w.writeUInt32(CRC32C.checksum(w.bytes))
        return w.bytes
    }

    /// Decodes a state file's bytes.
    /// - Throws: `VeilError(.state)` naming the file and byte offset for a bad magic, a newer
    ///   version, a checksum mismatch, or any inconsistency.
    public static func decode(_ bytes: [UInt8], file: String) throws(VeilError) -> AggregateState {
        try decode(bytes, file: file, contributions: true)
    }

    /// Decodes a state, without its contribution records when `contributions` is false (a
    /// release that does not need them: the rest is read and checked as ever).
    static func decode(_ bytes: [UInt8], file: String, contributions: Bool) throws(VeilError) -> AggregateState {
        guard bytes.count >= magic.count + 2 + 4, Array(bytes[0..<magic.count]) == magic else {
            throw VeilError(.state, "not a veil state file", file: file, byteOffset: 0)
        }
        var r = BinaryReader(bytes, file: file)
        try r.skip(count: magic.count)
        let v = try r.readUInt16()
        guard v >= oldestReadable && v <= version else {
            throw VeilError(
                .state,
                v > version
                    ? "state file format version \(v) is newer than this veil reads (\(version)); upgrade veil"
                    : "state file format version \(v) is not supported",
                file: file, byteOffset: Int64(magic.count))
        }
        let bodyEnd = bytes.count - 4
        var tail = BinaryReader(bytes[bodyEnd...], file: file, baseOffset: Int64(bodyEnd))
        let stored = try tail.readUInt32()
        guard CRC32C.checksum(bytes[0..<bodyEnd]) == stored else {
            throw VeilError(
                .state, "checksum mismatch: the state file is corrupt", file: file, byteOffset: Int64(bodyEnd))
        }
        r = BinaryReader(bytes[0..<bodyEnd], file: file)
        try r.skip(count: magic.count + 2)

        var config = StateConfiguration()
        config.timeZone = try r.readString()
        config.sessionTimeout = try readInt64(&r, "session timeout")
        config.epochGranularity = try r.readString()
        let timingAt = r.offset
        config.emailTiming = EmailTimingRules(
            burstSeconds: try r.readVarInt(), burstLinks: Int(truncatingIfNeeded: try r.readVarUInt()),
            deliverySeconds: try r.readVarInt())
        do {
            try config.emailTiming.validate()
        } catch {
            throw r.error("scanner timing rules out of range", at: timingAt)
        }
        var s = AggregateState(configuration: config)
        s.outOfRange = try readInt64(&r, "out-of-range record count")
        for _ in 0..<(try r.readCount()) { s.epochs.insert(try r.readString()) }
        for _ in 0..<(try r.readCount()) {
            var input = InputRecord(
                fingerprint: try r.readString(), name: try r.readString(),
                bytes: try readInt64(&r, "input byte count"), lines: try readInt64(&r, "input line count"),
                records: try readInt64(&r, "input record count"), rejected: try readInt64(&r, "input reject count"))
            if v >= countryDatabasesSince {
                let flagAt = r.offset
                switch try r.readUInt8() {
                case 0: break
                case 1:
                    input.countryDatabase = CountryDatabase.Identity(
                        databaseType: try r.readString(), buildEpoch: try r.readVarUInt())
                default: throw r.error("bad country database flag", at: flagAt)
                }
            }
            s.inputs.append(input)
        }
        let siteCount = try r.readCount()
        for _ in 0..<siteCount { _ = s.sites.intern(try r.readString()) }
        let dimCount = try r.readCount()
        for _ in 0..<dimCount { _ = s.dims.intern(try r.readString()) }
        guard s.sites.count == siteCount, s.dims.count == dimCount else {
            throw r.error("duplicate site or dimension strings")
        }
        guard siteCount <= CellKey.maxSites, dimCount <= CellKey.maxDimension else {
            throw r.error("more sites or dimension values than a cell key can hold")
        }
        let cellCount = try r.readCount(minimumElementSize: 14)
        s.cells.reserveCapacity(cellCount)
        for _ in 0..<cellCount {
            let at = r.offset
            guard let table = TableID(rawValue: try r.readUInt8()), v >= firstVersion(with: table) else {
                throw r.error("unknown table id", at: at)
            }
            let site = try r.readVarUInt()
            let bucket = try r.readVarInt()
            let dim = try r.readVarUInt()
            guard site < UInt64(siteCount), bucket >= 0, bucket < CellKey.maxBucket,
                table.hasDimension ? dim < UInt64(dimCount) : dim == 0
            else { throw r.error("cell key out of range", at: at) }
            let key = CellKey(table: table, site: Int(site), bucket: bucket, dimension: Int(dim))
            guard s.cellTable.find(key) == nil else { throw r.error("duplicate cell", at: at) }
            var c = Cell()
            var counters = [Int64](repeating: 0, count: 9)
            for i in 0..<9 {
                let x = try r.readVarUInt()
                guard x <= UInt64(Int64.max) else { throw r.error("counter out of range") }
                counters[i] = Int64(x)
            }
            c.requests = counters[0]; c.pageviews = counters[1]; c.bytes = counters[2]
            c.statusClasses = (counters[3], counters[4], counters[5], counters[6], counters[7])
            c.botRequests = counters[8]
            c.visitors = try HyperLogLog.decode(from: &r)
            c.clients = try HyperLogLog.decode(from: &r)
            if v >= durationsSince { c.durations = try DurationHistogram.decode(from: &r) }
            let i = s.cell(key)
            s.cells[i] = c
        }
        let visitorCount = try r.readCount(minimumElementSize: 18)
        for _ in 0..<visitorCount {
            let at = r.offset
            let site = try r.readVarUInt()
            guard site < UInt64(siteCount) else { throw r.error("visitor site out of range", at: at) }
            let p = Pseudonym(hi: try r.readUInt64(), lo: try r.readUInt64())
            let n = try r.readCount(minimumElementSize: 4)
            var visits: [Visit] = []
            visits.reserveCapacity(n)
            for _ in 0..<n {
                let start = try r.readVarInt()
                let len = try r.readVarUInt()
                let pv = try r.readVarUInt()
                let entry = try r.readVarUInt()
                let exit = v >= exitPagesSince ? try r.readVarUInt() : 0
                let campaign = v >= visitCampaignsSince ? try r.readVarUInt() : 0
                let referrer = v >= visitCampaignsSince ? try r.readVarUInt() : 0
                guard start >= 0, start < maxTime, len < UInt64(maxTime - start), pv >= 1,
                    pv <= UInt64(UInt32.max), entry < UInt64(dimCount), exit <= UInt64(dimCount),
                    campaign <= UInt64(dimCount), referrer <= UInt64(dimCount)
                else {
                    throw r.error("visit out of range")
                }
                visits.append(
                    Visit(
                        start: start, end: start + Int64(len), pageviews: UInt32(pv), entry: UInt32(entry),
                        // Before version 4: a visit of one pageview left where it entered.
                        exit: exit > 0 ? UInt32(exit - 1) : pv == 1 ? UInt32(entry) : Visit.unknownExit,
                        campaign: campaign > 0 ? UInt32(campaign - 1) : Visit.noCampaign,
                        referrer: referrer > 0 ? UInt32(referrer - 1) : Visit.noReferrer))
            }
            let key = VisitorKey(site: UInt32(site), pseudonym: p)
            guard s.visitorTable.findOrInsert(key).inserted else { throw r.error("duplicate visitor", at: at) }
            s.visitors.append(VisitorSummary(visits: visits))
        }
        try decodeRecipients(&r, into: &s, siteCount: siteCount, dimCount: dimCount)
        guard contributions else { return s }
        try decodeContributions(&r, into: &s, siteCount: siteCount, dimCount: dimCount)
        try r.expectEnd()
        return s
    }

    /// Largest time a state holds (the aggregator skips later records).
    static let maxTime = Int64(CellKey.maxBucket) * 3600

    /// The recipients section: every value range-checked, the canonical order enforced.
    private static func decodeRecipients(
        _ r: inout BinaryReader, into s: inout AggregateState, siteCount: Int, dimCount: Int
    ) throws(VeilError) {
        func time(_ at: Int) throws(VeilError) -> Int64 {
            let t = try r.readVarInt()
            guard t >= 0, t < maxTime else { throw r.error("e-mail event time out of range", at: at) }
            return t
        }
        func count32(_ what: String) throws(VeilError) -> UInt32 {
            let at = r.offset
            let x = try r.readVarUInt()
            guard x <= UInt64(UInt32.max) else { throw r.error("\(what) out of range", at: at) }
            return UInt32(x)
        }
        func flag() throws(VeilError) -> Bool {
            let at = r.offset
            let b = try r.readUInt8()
            guard b <= 1 else { throw r.error("bad automated flag", at: at) }
            return b == 1
        }
        let n = try r.readCount(minimumElementSize: 25)
        var previous: (site: UInt64, campaign: UInt64, day: Int64, p: Pseudonym)? = nil
        for _ in 0..<n {
            let at = r.offset
            let site = try r.readVarUInt()
            let campaign = try r.readVarUInt()
            let day = try r.readVarInt()
            let p = Pseudonym(hi: try r.readUInt64(), lo: try r.readUInt64())
            guard site < UInt64(siteCount), campaign < UInt64(dimCount), day >= 0, day < Int64(CellKey.maxBucket) else {
                throw r.error("recipient key out of range", at: at)
            }
            if let q = previous {
                guard
                    (q.site, q.campaign, q.day) < (site, campaign, day)
                        || ((q.site, q.campaign, q.day) == (site, campaign, day) && q.p < p)
                else { throw r.error("recipients not in canonical order", at: at) }
            }
            previous = (site, campaign, day, p)
            var sum = RecipientSummary()
            sum.delivered = try count32("delivery count")
            if sum.delivered > 0 { sum.firstDelivered = try time(r.offset) }
            sum.humanOpens = try count32("open count")
            sum.proxyOpens = try count32("open count")
            sum.botOpens = try count32("open count")
            if sum.openCount > 0 {
                sum.firstOpen = try time(r.offset)
                let spanAt = r.offset
                let span = try r.readVarUInt()
                guard span < UInt64(maxTime) - UInt64(sum.firstOpen) else {
                    throw r.error("open times out of range", at: spanAt)
                }
                sum.lastOpen = sum.firstOpen + Int64(span)
            }
            let records = try r.readCount(minimumElementSize: 4)
            guard records <= RecipientSummary.maxClickRecords else {
                throw r.error("too many click records", at: r.offset)
            }
            var last: RecipientSummary.ClickRecord? = nil
            for _ in 0..<records {
                let recordAt = r.offset
                let t: Int64
                if let l = last {
                    let d = try r.readVarUInt()
                    guard d < UInt64(maxTime) - UInt64(l.time) else {
                        throw r.error("click time out of range", at: recordAt)
                    }
                    t = l.time + Int64(d)
                } else {
                    t = try time(recordAt)
                }
                let link = try r.readVarUInt()
                guard link < UInt64(dimCount) else { throw r.error("click link out of range", at: recordAt) }
                let c = RecipientSummary.ClickRecord(
                    time: t, link: UInt32(link), automated: try flag(), count: try count32("click count"))
                guard c.count >= 1 else { throw r.error("empty click record", at: recordAt) }
                if let l = last {
                    guard (l.time, l.link, l.automated ? 1 : 0) < (c.time, c.link, c.automated ? 1 : 0) else {
                        throw r.error("click records not in canonical order", at: recordAt)
                    }
                }
                last = c
                sum.clicks.append(c)
            }
            if let first = sum.clicks.first, let l = last {
                let spanAt = r.offset
                let span = try r.readVarUInt()
                guard span < UInt64(maxTime) - UInt64(first.time), first.time + Int64(span) >= l.time else {
                    throw r.error("click times out of range", at: spanAt)
                }
                sum.firstClick = first.time
                sum.lastClick = first.time + Int64(span)
            }
            let extras = try r.readCount(minimumElementSize: 3)
            guard extras == 0 || records == RecipientSummary.maxClickRecords else {
                throw r.error("extra clicks without a full set of click records", at: r.offset)
            }
            var lastExtra: RecipientSummary.ExtraClicks? = nil
            for _ in 0..<extras {
                let extraAt = r.offset
                let link = try r.readVarUInt()
                guard link < UInt64(dimCount) else { throw r.error("click link out of range", at: extraAt) }
                let e = RecipientSummary.ExtraClicks(
                    link: UInt32(link), automated: try flag(), count: try count32("click count"))
                guard e.count >= 1 else { throw r.error("empty click record", at: extraAt) }
                if let l = lastExtra {
                    guard (l.link, l.automated ? 1 : 0) < (e.link, e.automated ? 1 : 0) else {
                        throw r.error("extra clicks not in canonical order", at: extraAt)
                    }
                }
                lastExtra = e
                sum.extraClicks.append(e)
            }
            guard sum.delivered > 0 || sum.openCount > 0 || !sum.clicks.isEmpty else {
                throw r.error("empty recipient summary", at: at)
            }
            let key = RecipientKey(site: UInt32(site), campaign: UInt32(campaign), day: Int32(day), pseudonym: p)
            guard s.recipientTable.findOrInsert(key).inserted else { throw r.error("duplicate recipient", at: at) }
            s.recipients.append(sum)
        }
    }

    /// The contribution records: values range-checked, the canonical order enforced.
    private static func decodeContributions(
        _ r: inout BinaryReader, into s: inout AggregateState, siteCount: Int, dimCount: Int
    ) throws(VeilError) {
        let n = try r.readCount(minimumElementSize: 17 + ContributionStore.tableCount)
        var previous: VisitorKey? = nil
        var records: [(day: UInt32, dim: UInt32, count: Int)] = []
        records.reserveCapacity(ContributionStore.maxPartitions)
        for _ in 0..<n {
            let at = r.offset
            let site = try r.readVarUInt()
            guard site < UInt64(siteCount) else { throw r.error("contribution site out of range", at: at) }
            let key = VisitorKey(
                site: UInt32(site), pseudonym: Pseudonym(hi: try r.readUInt64(), lo: try r.readUInt64()))
            if let q = previous {
                guard q < key else { throw r.error("contribution records not in canonical order", at: at) }
            }
            previous = key
            let v = s.contributions.visitor(key)
            var any = false
            for t in ContributionTable.allCases {
                let countAt = r.offset
                let m = try r.readCount(minimumElementSize: t.hasDimension ? 3 : 2)
                guard m <= ContributionStore.maxPartitions else {
                    throw r.error("more than \(ContributionStore.maxPartitions) contribution records", at: countAt)
                }
                records.removeAll(keepingCapacity: true)
                for _ in 0..<m {
                    let recordAt = r.offset
                    let delta = try r.readVarUInt()
                    let day = UInt64(records.last?.day ?? 0) + min(delta, UInt64(CellKey.maxBucket))
                    let dim = t.hasDimension ? try r.readVarUInt() : 0
                    let count = try r.readUInt8()
                    guard day < UInt64(CellKey.maxBucket), !t.hasDimension || dim < UInt64(dimCount), count >= 1 else {
                        throw r.error("contribution record out of range", at: recordAt)
                    }
                    if let last = records.last {
                        guard (last.day, last.dim) < (UInt32(day), UInt32(dim)) else {
                            throw r.error("contribution records not in canonical order", at: recordAt)
                        }
                    }
                    records.append((UInt32(day), UInt32(dim), Int(count)))
                }
                if !records.isEmpty {
                    any = true
                    s.contributions.setRecords(v, t.rawValue, records)
                }
            }
            guard any else { throw r.error("empty contribution record", at: at) }
        }
    }

    /// Reads a varint that must fit in `Int64` (counts, sizes, the session timeout).
    private static func readInt64(_ r: inout BinaryReader, _ what: String) throws(VeilError) -> Int64 {
        let at = r.offset
        let x = try r.readVarUInt()
        guard x <= UInt64(Int64.max) else { throw r.error("\(what) out of range", at: at) }
        return Int64(x)
    }

    /// Writes a state file atomically, readable by its owner only (pseudonymous data).
    /// - Throws: `VeilError(.state)` for a state made without contribution records
    ///   (`AggregateState.omitsContributions`): a noisy release from the file could not bound
    ///   what one visitor adds. `VeilError(.io)` when the file cannot be written.
    public static func write(_ s: AggregateState, to path: String) throws(VeilError) {
        guard !s.omitsContributions else {
            throw VeilError(
                .state,
                "this state was aggregated without the per-visitor records a differentially private release needs, so it is not written (aggregate with contribution records on)",
                file: path)
        }
        try AtomicFile.write(encode(s), to: path, mode: 0o600)
    }

    /// Reads a state file.
    public static func read(_ path: String) throws(VeilError) -> AggregateState {
        try decode(AtomicFile.read(path), file: path)
    }
}
