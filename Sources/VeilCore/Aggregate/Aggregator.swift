import Synchronization

/// Options for aggregation.
public struct AggregationConfiguration: Sendable {
    /// Site name for records whose format has no virtual-host field, as given; records count
    /// under `siteName`.
    public var defaultSite = "default"

    /// `defaultSite` read as host fields are (`VisitorPseudonyms.canonicalSiteName`): ASCII
    /// lower case, without a port or a final dot, so that `--site WWW.Example.com.` and the
    /// host `www.example.com` of another log are one site, in the rollups and in merged states.
    public var siteName: String {
        var name = Array(defaultSite.utf8)
        name = name.withUnsafeBufferPointer { VisitorPseudonyms.canonicalSiteName($0) }
        return String(decoding: name, as: UTF8.self)
    }
    /// IANA zone for day buckets; nil = UTC.
    public var timeZone: String?
    /// Inactivity that ends a visit, in seconds.
    public var sessionTimeout: Int64 = 30 * 60
    /// Most distinct redacted paths kept; later new paths count under `(other)`.
    public var maxPaths = 50_000
    /// Most distinct referrer hosts kept; later new hosts count under `(other)`.
    public var maxReferrers = 20_000
    /// Most distinct web campaigns (`utm_source`, `utm_medium`, `utm_campaign` together) kept;
    /// later new ones count under `(other)`.
    public var maxWebCampaigns = 10_000
    /// Use the left-most address of X-Forwarded-For as the client address when present.
    public var trustForwardedFor = false
    /// Query parameters kept in redacted e-mail link labels (`utm_*` by default; `*` ends a
    /// prefix), and in page paths but for campaign tags (`utm_*`), which page paths never keep:
    /// a pageview's campaign tags count in the web campaigns table instead.
    public var queryAllowList = ["utm_*"]
    /// E-mail open and click patterns, scanner rules and caps.
    public var email = EmailConfiguration()
    /// The timing rules that make clicks scanner clicks at release (kept in the state).
    public var emailTiming = EmailTimingRules()
    /// With sealing on (`Aggregator.sealed`): how far, in seconds, the input must be past the
    /// end of a key epoch before that epoch's summaries are moved out of memory. Lines written
    /// later than this are still counted exactly (their summaries are sealed at the end and
    /// merged); a longer delay only means fewer, larger pieces.
    public var sealingDelay: Int64 = 3600
    /// Keep each visitor's partitions (the pages, referrers, browsers… a visitor was counted
    /// in per day), which a differentially private release needs to bound what one person adds
    /// (`DPRelease`). Turn it off only for a state that is released at once without noise and
    /// never written, as `veil run` without `--state` does: it saves the records' memory and
    /// about a twentieth of the time, and the rollups are the same. A state made without them
    /// cannot be written (`StateCodec.write`) or released with noise (`DPRelease`).
    public var recordsContributions = true
    /// A country database (`--geoip`): each pageview is counted in the countries table under
    /// the country of its client address. Nil: no countries table.
    public var countries: CountryDatabase?

    public init() {}
}

/// The value rollups show for values folded together.
public let otherLabel = "(other)"

/// Aggregates records into an `AggregateState`: classifies, pseudonymises and counts.
///
/// The costly steps run once per distinct value: user agents are classified per distinct UA
/// string, request targets redacted per distinct target, referrers reduced per distinct
/// referrer, pseudonyms computed per distinct visitor (the pseudonymiser's cache), zone offsets
/// looked up per hour. Not `Sendable`: one aggregator per pipeline.
public struct Aggregator: RecordSink {
    public internal(set) var state: AggregateState
    public let configuration: AggregationConfiguration
    let pseudonymizer: Pseudonymizer
    let granularity: EpochGranularity
    let uaClassifier = UserAgentClassifier()
    let requestClassifier = RequestClassifier()
    /// Redacts e-mail links and names (campaign tags kept as the allow-list says).
    let redactor: URLRedactor
    /// Redacts page paths (campaign tags dropped).
    let pathRedactor: URLRedactor

    private var buckets: TimeBuckets
    private var epochHour: Int64 = .min
    var epoch: EpochID
    private var defaultSite: UInt32
    private var lastSite: [UInt8] = []
    private var lastSiteID: UInt32 = 0
    /// The id hosts past the site limit share (`(other)`), once a host has been folded into it:
    /// a visitor pseudonym computed ahead for such a host (keyed by its own name) is not used.
    private(set) var foldedSiteID = UInt32.max
    /// Where the summaries of past key epochs and days go, or nil to keep everything in memory.
    var sealed: SealedSummaries?
    /// The job's index of the input this aggregator reads: its sealed pieces are tagged with it.
    var sealedInput = 0
    /// Key epochs before this index were sealed (with the local days before the same moment).
    private var sealedBefore = Int64.min
    private var uaCache = ByteKeyedTable<UInt32>()
    /// The user agents' numbers for visitor pseudonym cache keys: the entry index in `uaCache`
    /// below a process-unique generation (high 32 bits), new whenever `uaCache` is emptied, so
    /// a number never stands for two user agents in the pseudonymiser's cache. (An aggregator
    /// is moved from input to input, never copied to go on in two places.)
    private var uaGeneration = Aggregator.newUAGeneration()
    /// The number of the last record's user agent (`uaIndex`).
    private var uaNumber: UInt64 = 0
    /// Distinct user-agent strings remembered before `uaCache` is emptied (tests lower it).
    var uaCacheLimit = 200_000
    private static let uaGenerations = Atomic<UInt64>(0)
    private static func newUAGeneration() -> UInt64 {
        uaGenerations.add(1, ordering: .relaxed).newValue << 32
    }
    private var uaClasses: [UserAgentClass] = []
    /// Per UA class: dimension ids of browser (+major), OS and device labels.
    private var uaDims: [(browser: UInt32, os: UInt32, device: UInt32)] = []
    /// By user-agent class: the bot cell of the cached site and day, and the `cellsStamp` it
    /// is of (0: none).
    private var botCells: [(stamp: UInt64, cell: Int)] = []
    /// The index in `uaClasses` of `UserAgentClass.unlogged`, once used.
    private var unloggedAgent: Int?
    /// Per raw request target: its path's dimension id (low 32 bits) and its web campaign's
    /// (high 32 bits, `noCampaign` when it has no campaign tags).
    private var targetCache = ByteKeyedTable<UInt64>()
    private var referrerCache = ByteKeyedTable<UInt32>()
    /// Per capped kind, the dimension ids of the values interned (at most the cap); and whether
    /// a value of some kind went to `(other)` for its cap.
    private var cappedValues = [[UInt32]](repeating: [], count: CappedKind.allCases.count)
    /// Per capped kind, how many of `cappedValues` came from earlier inputs (`inheritCapped`).
    private var inheritedCapped = [Int](repeating: 0, count: CappedKind.allCases.count)
    private var reachedCap = false
    var otherDim: UInt32 = 0
    private var statusDims = [UInt32](repeating: .max, count: 1000)
    /// The traffic cells of the last record's site, hour and day: consecutive records share them.
    private var cachedSite = UInt32.max
    private var cachedHour = Int64.min
    private var cachedDay = Int64.min
    private var hourCell = 0
    /// The day cell of the cached hour when its records count in it one by one, -1 when the
    /// hour lies in one local day (the zone's offset is whole hours, as in UTC): its records
    /// then count in the hour cell only, which is added to its day cell when the hour is sealed
    /// or the aggregation finishes (`foldHours`); a sketch depends only on the set inserted, so
    /// the day cell is the one counting each record would make.
    private var dayCell = -1
    /// Numbers the (site, hour, day) of `cachedSite`, `cachedHour` and `cachedDay`: cells
    /// remembered under another number are of another site or day (or from before a sealing).
    private var cellsStamp: UInt64 = 1
    /// Status-code cells of the cached site and day for up to 16 statuses, direct-mapped by the
    /// status's low four bits: `status << 32 | cell`, `.max` when empty.
    private var statusCells = [UInt64](repeating: .max, count: 16)
    /// Per user-agent class (`uaClasses` index): its browser, OS and device cells of the cached
    /// site and day, when its stamp is `cellsStamp`.
    private var agentCells: [AgentCells] = []
    /// (cell + 1, human) and pseudonym bits of clients counted recently, 4096 pairs
    /// direct-mapped (see `countClient`); cleared whenever cell indices change.
    private var recentClients = [UInt64](repeating: 0, count: 2 << 12)
    /// The countries of recently seen address blocks (`countCountry`).
    private var countryCache = CountryCache()
    private static let noReferrer = Visit.noReferrer
    private static let noCampaign = Visit.noCampaign

    // E-mail events (see `Email/Aggregator+Email.swift`).
    let emailPatterns: EmailPatterns
    let scannerRules: ScannerRules
    /// Canonical site names as bytes, per site id (the `site` field of recipient pseudonyms).
    var siteNameBytes: [[UInt8]?] = []
    /// The last site a visitor pseudonym was computed for here, and its `siteName`.
    private var namedSite = UInt32.max
    private var namedSiteBytes: [UInt8] = []
    var campaignCache = ByteKeyedTable<UInt32>(initialCapacity: 64)
    var linkCache = ByteKeyedTable<UInt32>(initialCapacity: 64)
    var scannerAgentCache = ByteKeyedTable<Bool>(initialCapacity: 64)
    /// Percent-decoded captures of the current e-mail hit.
    var decodedRecipient: [UInt8] = []
    var decodedCampaign: [UInt8] = []
    var decodedLink: [UInt8] = []

    public init(configuration: AggregationConfiguration, pseudonymizer: Pseudonymizer) throws(VeilError) {
        guard configuration.sessionTimeout >= 1, configuration.maxPaths >= 1, configuration.maxReferrers >= 1,
            configuration.maxWebCampaigns >= 1, configuration.email.maxCampaigns >= 1, configuration.email.maxLinks >= 1
        else {
            throw VeilError(.usage, "session timeout, path, referrer, campaign and link caps must be positive")
        }
        try configuration.emailTiming.validate()
        emailPatterns = try EmailPatterns(configuration: configuration.email)
        scannerRules = try ScannerRules(
            agents: configuration.email.scannerAgents, networks: configuration.email.scannerNetworks)
        self.configuration = configuration
        self.pseudonymizer = pseudonymizer
        granularity = pseudonymizer.keyStore.granularity
        var sc = StateConfiguration()
        sc.timeZone = configuration.timeZone ?? "UTC"
        sc.sessionTimeout = configuration.sessionTimeout
        sc.epochGranularity = granularity.rawValue
        sc.emailTiming = configuration.emailTiming
        state = AggregateState(configuration: sc)
        state.omitsContributions = !configuration.recordsContributions
        buckets = try TimeBuckets(zoneIdentifier: configuration.timeZone)
        redactor = URLRedactor(queryAllowList: configuration.queryAllowList)
        pathRedactor = URLRedactor(queryAllowList: configuration.queryAllowList, keepsCampaignTags: false)
        epoch = EpochID(granularity: granularity, containing: 0)
        defaultSite = state.sites.intern(configuration.siteName)
        otherDim = state.dims.intern(otherLabel)
    }

    /// Records an input's report in the state (its fingerprint makes merges refuse duplicates).
    public mutating func addInput(_ report: FileReport) {
        state.inputs.append(
            InputRecord(
                fingerprint: report.fingerprint, name: report.file, bytes: report.bytesIn,
                lines: Int64(report.lines), records: Int64(report.records), rejected: Int64(report.rejected),
                countryDatabase: configuration.countries?.identity))
        state.inputs.sort()
    }

    /// Takes the finished state out, its sketches compacted on up to `threads` threads.
    public consuming func finish(threads: Int = 1) -> AggregateState {
        foldHours { _ in true }
        state.compact(threads: threads)
        return state
    }

    /// Adds the traffic-hour cells `selected` picks, of hours that lie in one local day, to
    /// their day cells (their records were counted in the hour cell alone, see `dayCell`).
    /// Each such hour cell is added once: when it is sealed, or when the aggregation finishes.
    private mutating func foldHours(_ selected: (CellKey) -> Bool) {
        let keys = state.cellKeys
        for (i, key) in keys.enumerated() where key.table == .trafficHour && selected(key) {
            guard let day = buckets.dayOfHour(key.bucket) else { continue }
            let d = state.cell(CellKey(table: .trafficDay, site: key.site, bucket: day, dimension: 0))
            let hour = state.cells[i]
            state.cells[d].merge(hour)
        }
    }

    // MARK: Per record

    @inline(__always)
    public mutating func consume(_ r: inout LogRecord, line: UnsafeBufferPointer<UInt8>) throws(VeilError) {
        try consume(&r, line: line, pseudonym: nil)
    }

    /// `consume(_:line:)` with the request's visitor pseudonym computed ahead (by
    /// `VisitorPseudonyms`, on another thread), or nil to compute it here.
    @inline(__always)
    mutating func consume(_ r: inout LogRecord, line: UnsafeBufferPointer<UInt8>, pseudonym ahead: Pseudonym?)
        throws(VeilError)
    {
        let t = r.timestamp
        guard t >= 0, t < Int64(CellKey.maxBucket - 1) * 3600 else {
            state.outOfRange += 1
            return
        }
        let (hour, day) = buckets.buckets(t)
        if hour != epochHour {
            // A local day before 1970-01-01 (the first hours of 1970 under a zone west of UTC)
            // has no bucket: out of range, like a time before 1970. `epochHour` keeps the last
            // hour in range, so every record of such an hour comes here.
            guard day >= 0 else {
                state.outOfRange += 1
                return
            }
            epochHour = hour
            epoch = EpochID(granularity: granularity, containing: t)
            state.epochs.insert(epoch.description)
            if sealed != nil { try sealPast(t) }
        }
        let site = siteID(r.site, line)
        // A format without a User-Agent field: the agent is unknown (a person for all veil
        // knows), not the empty user agent of a bot. The lookup still numbers the (empty) user
        // agent for the pseudonym cache.
        var ua = uaIndex(r.userAgent, line)
        if !r.userAgentLogged { ua = unloggedAgentIndex() }
        let agent = uaClasses[ua]
        let address = VisitorPseudonyms.clientAddress(r, line, trustForwardedFor: configuration.trustForwardedFor)
        if r.event != .request {
            // An e-mail service's event export: counted in the campaign tables only.
            try exportEvent(r, line, site: site, day: day, time: t, agent: agent, address: address)
            return
        }
        // Keyed by the canonical site name (as the state spells it), so `veil join` can
        // recompute a visitor's pseudonym from the site name and a cookie id. The lookup is
        // started before the request is classified and finished after: its first memory
        // access, in a cache larger than the CPU's, overlaps the classification's work.
        let computes = ahead == nil || site == foldedSiteID
        if computes {
            if site != namedSite {
                namedSite = site
                namedSiteBytes = siteName(site)
            }
            // A stored property, passed without a copy or a retain.
            VisitorPseudonyms.startPseudonym(
                pseudonymizer, epoch: epoch, siteName: namedSiteBytes, r, line, address: address,
                userAgentNumber: uaNumber)
        }
        let kind = requestClassifier.classify(
            method: r.method.slice(line), target: r.target.slice(line), status: r.status, agent: agent)
        let p: Pseudonym
        if computes {
            p = try pseudonymizer.finishVisitor()
        } else {
            // Safe: `computes` is false only when `ahead` is not nil.
            p = ahead!
        }
        let human = agent.kind == .human
        let isBot = agent.kind == .bot
        let pageview = kind == .pageview

        // Traffic per hour and per day, status codes: every record.
        if site != cachedSite || hour != cachedHour || day != cachedDay {
            cachedSite = site
            cachedHour = hour
            cachedDay = day
            hourCell = state.cell(CellKey(table: .trafficHour, site: Int(site), bucket: hour, dimension: 0))
            dayCell =
                buckets.lastHourInOneDay
                ? -1 : state.cell(CellKey(table: .trafficDay, site: Int(site), bucket: day, dimension: 0))
            cellsStamp &+= 1
            statusCells.withUnsafeMutableBufferPointer { $0.update(repeating: .max) }
        }
        traffic(hourCell, r, p, human: human, isBot: isBot, pageview: pageview)
        if dayCell >= 0 { traffic(dayCell, r, p, human: human, isBot: isBot, pageview: pageview) }
        if r.hasDuration { addTrafficDuration(r) }
        let si = statusCell(r.status, site: site, day: day)
        state.cells[si].requests += 1
        if isBot { state.cells[si].botRequests += 1 }
        countClient(si, p, human: human)
        if isBot { countBot(ua, site: site, day: day, r, p) }

        if r.status == 404 || r.status == 410 {
            let path = pathID(r.target, line)
            let i = state.cell(CellKey(table: .notFound, site: Int(site), bucket: day, dimension: Int(path)))
            state.cells[i].requests += 1
            if isBot { state.cells[i].botRequests += 1 }
            countClient(i, p, human: human)
        }

        // E-mail opens and clicks in the log: a few byte compares unless the path may match.
        if emailPatterns.mayMatch(r.target.slice(line)) {
            try logEmailHit(r, line, site: site, day: day, time: t, agent: agent, address: address)
        }

        guard pageview else { return }
        let (path, webCampaign) = pathAndCampaign(r.target, line)
        let dims = uaDims[ua]
        let ref = referrerID(r.referrer, line)
        let visitor = state.addPageview(
            site: site, pseudonym: p, time: t, path: path, campaign: webCampaign, referrer: ref)
        // Per-visitor partitions for differentially private releases (contribution bounding).
        // A partition the visitor had already is a cell whose sketch has the visitor already.
        let known =
            configuration.recordsContributions
            ? state.addContributions(
                site: site, pseudonym: p, day: day, path: path, referrer: ref == Self.noReferrer ? nil : ref,
                browser: dims.browser, os: dims.os, device: dims.device, visitorHint: visitor)
            : countedCells(visitor, day: day, agent: ua, referrer: ref)
        let pageCell = count(.pages, site, day, path, p, known: known)
        let cells = agentCells(ua, site: site, day: day)
        count(cell: cells.browser, .browsers, p, known: known)
        count(cell: cells.os, .operatingSystems, p, known: known)
        count(cell: cells.device, .devices, p, known: known)
        if ref != Self.noReferrer { count(.referrers, site, day, ref, p, known: known) }
        if webCampaign != Self.noCampaign { countWebCampaign(site, day, webCampaign, p) }
        if let countries = configuration.countries { countCountry(countries, site, day, address, line, p) }
        if r.hasDuration { addPageDuration(pageCell, r) }
    }

    /// Counts a pageview in the cell of its client address's country.
    @inline(never)
    private mutating func countCountry(
        _ db: CountryDatabase, _ site: UInt32, _ day: Int64, _ address: ByteRange, _ line: UnsafeBufferPointer<UInt8>,
        _ p: Pseudonym
    ) {
        let ip = IPAddress(UnsafeRawBufferPointer(address.slice(line)))
        let country = countryCache.dimension(of: ip, in: db) { state.dims.intern($0) }
        let i = state.cell(CellKey(table: .countries, site: Int(site), bucket: day, dimension: Int(country)))
        state.cells[i].requests += 1
        state.cells[i].pageviews += 1
        state.cells[i].visitors.insert(hash: p.lo)
    }

    /// Counts a pageview tagged with a web campaign in that campaign's cell.
    @inline(never)
    private mutating func countWebCampaign(_ site: UInt32, _ day: Int64, _ campaign: UInt32, _ p: Pseudonym) {
        let i = state.cell(CellKey(table: .webCampaigns, site: Int(site), bucket: day, dimension: Int(campaign)))
        state.cells[i].requests += 1
        state.cells[i].pageviews += 1
        state.cells[i].visitors.insert(hash: p.lo)
    }

    /// Seals the summaries of the key epochs that ended `sealingDelay` before `t`, and the
    /// recipient summaries of the local days before then.
    @inline(never)
    private mutating func sealPast(_ t: Int64) throws(VeilError) {
        guard let sealed else { return }
        let limit = t - configuration.sealingDelay
        guard limit >= 0 else { return }
        let before = EpochID(granularity: granularity, containing: limit).index
        guard before > sealedBefore else { return }
        sealedBefore = before
        let dayLimit = buckets.buckets(limit).day
        try state.seal(epochs: { $0 < before }, days: { $0 < dayLimit }, into: sealed, input: sealedInput)
        let hourLimit = EpochCalendar.floorDiv(limit, 3600)
        foldHours { $0.bucket < hourLimit }
        let sealedCells = try state.sealCells(
            { $0.table == .trafficHour ? $0.bucket < hourLimit : $0.bucket < dayLimit }, into: sealed,
            input: sealedInput)
        if sealedCells {
            // Cell indices changed.
            cachedSite = .max
            recentClients.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
    }

    @inline(__always)
    private mutating func traffic(
        _ i: Int, _ r: LogRecord, _ p: Pseudonym, human: Bool, isBot: Bool, pageview: Bool
    ) {
        state.cells[i].requests += 1
        state.cells[i].bytes.addSaturating(r.bytes)
        state.cells[i].countStatus(r.status)
        if isBot { state.cells[i].botRequests += 1 }
        if pageview { state.cells[i].pageviews += 1 }
        countClient(i, p, human: human)
    }

    /// Counts a request's serving time in its hour's and (when counted there) day's traffic
    /// cells (formats that log it). Out of line, after the traffic cells are counted: a call
    /// among their updates made the optimiser check the cell array's uniqueness again.
    @inline(never)
    private mutating func addTrafficDuration(_ r: LogRecord) {
        let microseconds = r.duration
        state.cells[hourCell].durations.add(microseconds: microseconds)
        if dayCell >= 0 { state.cells[dayCell].durations.add(microseconds: microseconds) }
    }

    /// Counts a pageview's serving time in its page's cell `i` (formats that log it).
    @inline(never)
    private mutating func addPageDuration(_ i: Int, _ r: LogRecord) {
        state.cells[i].durations.add(microseconds: r.duration)
    }

    /// Counts a client in cell `i`'s sketch unless that cell's sketch took the same client
    /// recently: consecutive requests of one visitor (a page and its assets) mostly hit the
    /// same hour, day and status cells, and a sketch depends only on the set inserted. The
    /// memory is exact (cell, sketch and all 64 bits compared), so a skip never loses a client.
    @inline(__always)
    private mutating func countClient(_ i: Int, _ p: Pseudonym, human: Bool) {
        let tag = UInt64(truncatingIfNeeded: i &+ 1) << 1 | (human ? 1 : 0)
        let slot = Int(truncatingIfNeeded: (p.lo ^ tag &* 0x9E37_79B9_7F4A_7C15) >> 52) &<< 1
        let seen = recentClients.withUnsafeMutableBufferPointer { r -> Bool in
            if r[slot] == tag && r[slot &+ 1] == p.lo { return true }
            r[slot] = tag
            r[slot &+ 1] = p.lo
            return false
        }
        if !seen { state.cells[i].countClient(p, human: human) }
    }

    /// Counts a pageview in a cell of a table with contribution records; `known` has the bits of
    /// `AggregateState.addContributions` (the sketch is skipped when it has the visitor already:
    /// a sketch depends only on the set of pseudonyms inserted).
    /// - Returns: the cell's index.
    @inline(__always) @discardableResult
    private mutating func count(
        _ table: ContributionTable, _ site: UInt32, _ day: Int64, _ dim: UInt32, _ p: Pseudonym, known: UInt8
    ) -> Int {
        let i = state.cell(CellKey(table: table.tableID, site: Int(site), bucket: day, dimension: Int(dim)))
        count(cell: i, table, p, known: known)
        return i
    }

    /// Without contribution records: the `known` bits of the cells the visitor's summary
    /// notes as counted already (`VisitorSummary.countedCells`): the browser, OS and device
    /// cells when the day and user-agent class are the last pageview's, the referrer's when
    /// the visitor came from it earlier that day.
    @inline(__always)
    private mutating func countedCells(_ visitor: Int, day: Int64, agent: Int, referrer: UInt32) -> UInt8 {
        guard day >= 0, day < 0xFFFF else { return 0 }
        let (agentKnown, referrerKnown) = state.visitors[visitor].countedCells(
            day: Int(truncatingIfNeeded: day), agent: agent, referrer: referrer)
        let agentBits: UInt8 =
            1 << UInt8(ContributionTable.browsers.rawValue) | 1 << UInt8(ContributionTable.operatingSystems.rawValue)
            | 1 << UInt8(ContributionTable.devices.rawValue)
        return (agentKnown ? agentBits : 0) | (referrerKnown ? 1 << UInt8(ContributionTable.referrers.rawValue) : 0)
    }

    /// `count` in cell `i` of `table`.
    @inline(__always)
    private mutating func count(cell i: Int, _ table: ContributionTable, _ p: Pseudonym, known: UInt8) {
        state.cells[i].requests += 1
        state.cells[i].pageviews += 1
        if known & 1 << UInt8(table.rawValue) == 0 { state.cells[i].visitors.insert(hash: p.lo) }
    }

    /// The status-code cell of `status` on the cached site and day (`site` and `day`).
    @inline(__always)
    private mutating func statusCell(_ status: UInt16, site: UInt32, day: Int64) -> Int {
        let slot = Int(status & 15)
        let entry = statusCells[slot]
        if entry >> 32 == UInt64(status) { return Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) }
        return newStatusCell(status, slot: slot, site: site, day: day)
    }

    @inline(never)
    private mutating func newStatusCell(_ status: UInt16, slot: Int, site: UInt32, day: Int64) -> Int {
        let i = state.cell(
            CellKey(table: .statusCodes, site: Int(site), bucket: day, dimension: Int(statusDim(status))))
        // Past 2^32 cells the index does not fit: such a cell is looked up every time.
        if i <= 0xFFFF_FFFF { statusCells[slot] = UInt64(status) << 32 | UInt64(i) }
        return i
    }

    /// The browser, OS and device cells of user-agent class `ua` on the cached site and day
    /// (`site` and `day`).
    @inline(__always)
    private mutating func agentCells(_ ua: Int, site: UInt32, day: Int64) -> AgentCells {
        if ua < agentCells.count, agentCells[ua].stamp == cellsStamp { return agentCells[ua] }
        return newAgentCells(ua, site: site, day: day)
    }

    @inline(never)
    private mutating func newAgentCells(_ ua: Int, site: UInt32, day: Int64) -> AgentCells {
        if agentCells.count <= ua {
            agentCells += Array(repeating: AgentCells(), count: ua + 1 - agentCells.count)
        }
        let dims = uaDims[ua]
        var cells = AgentCells()
        cells.stamp = cellsStamp
        cells.browser = state.cell(
            CellKey(table: .browsers, site: Int(site), bucket: day, dimension: Int(dims.browser)))
        cells.os = state.cell(CellKey(table: .operatingSystems, site: Int(site), bucket: day, dimension: Int(dims.os)))
        cells.device = state.cell(CellKey(table: .devices, site: Int(site), bucket: day, dimension: Int(dims.device)))
        agentCells[ua] = cells
        return cells
    }

    /// Counts a bot's request in its bot's cell of the cached site and day. Out of line: a
    /// minority of records are bots', and `consume` stays small enough for the optimiser to
    /// keep its cell updates' checks inline.
    @inline(never)
    private mutating func countBot(_ ua: Int, site: UInt32, day: Int64, _ r: LogRecord, _ p: Pseudonym) {
        let i =
            ua < botCells.count && botCells[ua].stamp == cellsStamp
            ? botCells[ua].cell : newBotCell(ua, site: site, day: day)
        state.cells[i].countBotRequest(bytes: r.bytes, status: r.status)
        countClient(i, p, human: false)
    }

    @inline(never)
    private mutating func newBotCell(_ ua: Int, site: UInt32, day: Int64) -> Int {
        if botCells.count <= ua {
            botCells += Array(repeating: (0, 0), count: ua + 1 - botCells.count)
        }
        let name = state.dims.intern((uaClasses[ua].botName ?? .otherBot).rawValue)
        let cell = state.cell(CellKey(table: .bots, site: Int(site), bucket: day, dimension: Int(name)))
        botCells[ua] = (cellsStamp, cell)
        return cell
    }

    /// A user-agent class's browser, OS and device cells, and the `cellsStamp` they are of
    /// (0: none).
    struct AgentCells {
        var stamp: UInt64 = 0
        var browser = 0
        var os = 0
        var device = 0
    }

    // MARK: Caches of per-distinct-value work

    @inline(__always)
    private mutating func siteID(_ range: ByteRange, _ line: UnsafeBufferPointer<UInt8>) -> UInt32 {
        if range.isEmpty { return defaultSite }
        let bytes = range.slice(line)
        if ByteWords.equal(bytes, lastSite) { return lastSiteID }
        return newSite(bytes)
    }

    /// The canonical name of site `id` as bytes: what visitor and recipient pseudonyms are
    /// keyed by. Cached per site.
    @inline(__always)
    mutating func siteName(_ id: UInt32) -> [UInt8] {
        let s = Int(id)
        if s < siteNameBytes.count, let name = siteNameBytes[s] { return name }
        return newSiteName(id)
    }

    @inline(never)
    private mutating func newSiteName(_ id: UInt32) -> [UInt8] {
        let s = Int(id)
        if siteNameBytes.count <= s { siteNameBytes += Array(repeating: nil, count: s + 1 - siteNameBytes.count) }
        let name = Array(state.sites.string(id).utf8)
        siteNameBytes[s] = name
        return name
    }

    @inline(never)
    private mutating func newSite(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let name = VisitorPseudonyms.canonicalSiteName(bytes)
        // A site id has 15 bits in a cell key: past the limit, new sites share the last id.
        let id: UInt32
        if state.sites.count < CellKey.maxSites - 1
            || state.sites.intern(String(decoding: name, as: UTF8.self), readOnly: true) != nil
        {
            id = name.withUnsafeBytes { state.sites.intern($0) }
        } else {
            id = state.sites.intern(otherLabel)
            foldedSiteID = id
        }
        lastSite = Array(bytes)
        lastSiteID = id
        return id
    }

    @inline(__always)
    mutating func uaIndex(_ range: ByteRange, _ line: UnsafeBufferPointer<UInt8>) -> Int {
        let key = UnsafeRawBufferPointer(range.slice(line))
        let h = uaCache.hash(key)
        if let i = uaCache.find(key, hash: h) {
            uaNumber = uaGeneration | UInt64(truncatingIfNeeded: i)
            return Int(uaCache.value(at: i))
        }
        return newUA(key, hash: h)
    }

    @inline(never)
    private mutating func newUA(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int {
        if uaCache.count >= uaCacheLimit {
            uaCache.removeAll()
            uaGeneration = Self.newUAGeneration()
        }
        let idx = classIndex(uaClassifier.classify(key.assumingMemoryBound(to: UInt8.self)))
        uaNumber = uaGeneration | UInt64(truncatingIfNeeded: uaCache.insert(key, hash: hash, value: UInt32(idx)))
        return idx
    }

    /// The index of user-agent class `cls` in `uaClasses`, added with its dimension ids when new.
    private mutating func classIndex(_ cls: UserAgentClass) -> Int {
        // The same class for many UA strings: reuse its index.
        if let existing = uaClasses.firstIndex(of: cls), uaClasses.count < 4096 { return existing }
        uaClasses.append(cls)
        let browser = cls.browserMajor > 0 ? "\(cls.browser.label) \(cls.browserMajor)" : cls.browser.label
        uaDims.append(
            (state.dims.intern(browser), state.dims.intern(cls.os.label), state.dims.intern(cls.device.label)))
        return uaClasses.count - 1
    }

    /// The class of a record whose format logs no user agent: browser and OS unknown, device
    /// `other`, a person (`UserAgentClass.unlogged`).
    @inline(never)
    private mutating func unloggedAgentIndex() -> Int {
        if let i = unloggedAgent { return i }
        let i = classIndex(.unlogged)
        unloggedAgent = i
        return i
    }

    @inline(__always)
    private mutating func pathID(_ range: ByteRange, _ line: UnsafeBufferPointer<UInt8>) -> UInt32 {
        pathAndCampaign(range, line).path
    }

    /// The dimension ids of a request target's redacted path and of its web campaign
    /// (`noCampaign` when the target has no campaign tags).
    @inline(__always)
    private mutating func pathAndCampaign(_ range: ByteRange, _ line: UnsafeBufferPointer<UInt8>) -> (
        path: UInt32, campaign: UInt32
    ) {
        let key = UnsafeRawBufferPointer(range.slice(line))
        let h = targetCache.hash(key)
        let ids = targetCache.find(key, hash: h).map { targetCache.value(at: $0) } ?? newTarget(key, hash: h)
        return (UInt32(truncatingIfNeeded: ids), UInt32(truncatingIfNeeded: ids >> 32))
    }

    @inline(never)
    private mutating func newTarget(_ key: UnsafeRawBufferPointer, hash: UInt64) -> UInt64 {
        if targetCache.count >= 500_000 { targetCache.removeAll() }
        let target = key.assumingMemoryBound(to: UInt8.self)
        let path = internCapped(pathRedactor.redact(target), .paths)
        var campaign = Self.noCampaign
        if let tags = URLRedactor.campaignTags(key) {
            campaign = internCapped(Self.webCampaignLabel(target, tags, pathRedactor), .webCampaigns)
        }
        let ids = UInt64(campaign) << 32 | UInt64(path)
        targetCache.insert(key, hash: hash, value: ids)
        return ids
    }

    /// A web campaign's dimension label: its source, medium and campaign separated by
    /// `TableID.webCampaignSeparator`,
    /// each percent-decoded (`+` is a space), control bytes made spaces, and redacted as
    /// e-mail campaign names are (`redactedLabel`); `(none)` for a tag the target lacks.
    static func webCampaignLabel(
        _ target: UnsafeBufferPointer<UInt8>, _ tags: URLRedactor.CampaignTags, _ redactor: URLRedactor
    ) -> String {
        func value(_ range: Range<Int>?) -> String {
            guard let range else { return "(none)" }
            var decoded: [UInt8] = []
            let raw = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: target[range]))
            URLRedactor.appendDecoded(raw, plusIsSpace: true, to: &decoded)
            for j in decoded.indices where decoded[j] < 0x20 || decoded[j] == 0x7F { decoded[j] = 0x20 }
            return decoded.withUnsafeBufferPointer { redactedLabel($0, isName: true, redactor) }
        }
        return [tags.source, tags.medium, tags.campaign].map(value).joined(
            separator: String(TableID.webCampaignSeparator))
    }

    @inline(__always)
    private mutating func referrerID(_ range: ByteRange, _ line: UnsafeBufferPointer<UInt8>) -> UInt32 {
        if range.isEmpty { return Self.noReferrer }
        let key = UnsafeRawBufferPointer(range.slice(line))
        let h = referrerCache.hash(key)
        if let i = referrerCache.find(key, hash: h) { return referrerCache.value(at: i) }
        return newReferrer(key, hash: h)
    }

    /// The dimension id of a path, referrer host, campaign or link `label`, at most `cap` of
    /// them per kind: a label already interned keeps its id; a new one past the cap is
    /// `otherDim` and is not interned, so every later form of it (another raw target that
    /// redacts to the same path, or the same one after its cache was cleared) is `otherDim`
    /// too, and the interner stays bounded.
    mutating func internCapped(_ label: String, _ kind: CappedKind) -> UInt32 {
        if let known = state.dims.intern(label, readOnly: true) { return known }
        guard cappedValues[kind.rawValue].count < cap(kind) else {
            reachedCap = true
            return otherDim
        }
        let id = state.dims.intern(label)
        cappedValues[kind.rawValue].append(id)
        return id
    }

    /// Starts from the values the inputs before this one kept apart: a cap holds for the job's
    /// whole state, not for each input, so they keep their own rows here too and count against
    /// the caps.
    mutating func inheritCapped(_ earlier: CappedValues) {
        for kind in CappedKind.allCases {
            for label in earlier.labels[kind.rawValue].prefix(max(0, cap(kind) - cappedValues[kind.rawValue].count)) {
                cappedValues[kind.rawValue].append(state.dims.intern(label))
            }
            inheritedCapped[kind.rawValue] = cappedValues[kind.rawValue].count
        }
    }

    /// The values a job's inputs kept apart under the caps, per kind in the order they came
    /// (see `inheritCapped`). Each input adds only its new values.
    struct CappedValues {
        private(set) var labels = [[String]](repeating: [], count: CappedKind.allCases.count)
        private var known = [Set<String>](repeating: [], count: CappedKind.allCases.count)

        /// Adds the values `part` kept apart beyond those it inherited.
        mutating func add(_ part: Aggregator) {
            for kind in CappedKind.allCases {
                for id in part.cappedValues[kind.rawValue][part.inheritedCapped[kind.rawValue]...] {
                    let label = part.state.dims.string(id)
                    if known[kind.rawValue].insert(label).inserted { labels[kind.rawValue].append(label) }
                }
            }
        }
    }

    /// The kinds of value with a cap on how many a state keeps apart.
    enum CappedKind: Int, CaseIterable {
        case paths, referrers, campaigns, links, webCampaigns
    }

    func cap(_ kind: CappedKind) -> Int { Self.cap(kind, configuration) }

    /// The cap on values of `kind` in a state built with `configuration`.
    static func cap(_ kind: CappedKind, _ configuration: AggregationConfiguration) -> Int {
        switch kind {
        case .paths: configuration.maxPaths
        case .referrers: configuration.maxReferrers
        case .campaigns: configuration.email.maxCampaigns
        case .links: configuration.email.maxLinks
        case .webCampaigns: configuration.maxWebCampaigns
        }
    }

    /// Whether aggregators that each saw part of one input, merged, give what one aggregator
    /// seeing all of it in order gives (see `CapsUnion`). One part (or none) saw the whole
    /// input in order and always agrees.
    static func capsAgree(_ parts: [Aggregator]) -> Bool {
        guard parts.count > 1, let first = parts.first else { return true }
        var union = CapsUnion()
        for part in parts { union.add(part) }
        return union.agrees(with: first.configuration)
    }

    /// The values several aggregators kept apart under the caps, together, and whether any
    /// of them sent a value to `(other)` for a cap: aggregators that read parts of the inputs
    /// (blocks of a file, or files read side by side), merged, give what one aggregator reading
    /// everything in order gives when none of them did, and for each capped kind their values
    /// together stay within the cap (so one aggregator would not have reached it either).
    /// Otherwise which values keep their own row depends on the order they come in.
    ///
    /// Sites are capped too (`CellKey.maxSites`: a forward proxy's destinations can reach it).
    struct CapsUnion {
        private var reached = false
        private var labels = [Set<String>](repeating: [], count: CappedKind.allCases.count)
        private var sites: Set<String> = []

        /// Adds the values `part` kept apart.
        mutating func add(_ part: Aggregator) {
            reached = reached || part.reachedCap || part.foldedSiteID != .max
            for kind in CappedKind.allCases {
                for id in part.cappedValues[kind.rawValue] { labels[kind.rawValue].insert(part.state.dims.string(id)) }
            }
            for id in 0..<UInt32(part.state.sites.count) { sites.insert(part.state.sites.string(id)) }
        }

        /// Adds another union's values.
        mutating func add(_ other: CapsUnion) {
            reached = reached || other.reached
            for kind in CappedKind.allCases { labels[kind.rawValue].formUnion(other.labels[kind.rawValue]) }
            sites.formUnion(other.sites)
        }

        /// Whether the parts agree with one aggregator reading everything, under the caps of
        /// `configuration`.
        func agrees(with configuration: AggregationConfiguration) -> Bool {
            !reached && sites.count < CellKey.maxSites - 1
                && CappedKind.allCases.allSatisfy { labels[$0.rawValue].count <= Aggregator.cap($0, configuration) }
        }
    }

    @inline(never)
    private mutating func newReferrer(_ key: UnsafeRawBufferPointer, hash: UInt64) -> UInt32 {
        if referrerCache.count >= 200_000 { referrerCache.removeAll() }
        var id = Self.noReferrer
        if let host = redactor.referrerHost(key.assumingMemoryBound(to: UInt8.self)) {
            id = internCapped(host, .referrers)
        }
        referrerCache.insert(key, hash: hash, value: id)
        return id
    }

    @inline(__always)
    private mutating func statusDim(_ status: UInt16) -> UInt32 {
        let s = Int(min(status, 999))
        if statusDims[s] == .max { statusDims[s] = state.dims.intern(String(s)) }
        return statusDims[s]
    }
}
