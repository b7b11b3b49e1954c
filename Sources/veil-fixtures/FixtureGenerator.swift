#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs `generate`: builds the synthetic world from the seed, writes the log line by line,
/// and counts the ground truth and the identifiers as it goes.
struct FixtureGenerator {
    let options: GeneratorOptions

    /// Length of the `--long-line` line, newline excluded (100 KiB).
    static let longLineLength = 102_400

    func run() throws(GeneratorError) {
        if let shape = options.emailExport {
            try EmailExportGenerator(options: options, shape: shape).run()
            return
        }
        // Stream 0 decides the traffic; stream 1 only format details (ports, durations, cut
        // points), so every format shows the same requests for the same seed.
        var rng = Xoshiro256StarStar(seed: options.seed, stream: 0)
        var formatRng = Xoshiro256StarStar(seed: options.seed, stream: 1)
        let format = options.format
        let siteMap = SiteMap(rng: &rng)
        let population = Population(options: options, rng: &rng)
        var model = TrafficModel(population: population, siteMap: siteMap, options: options)
        var timeline = Timeline(startSeconds: options.start, days: options.days, lines: options.lines)
        var renderer = LineRenderer(
            format: format, population: population, sites: options.sites, utcOffsetMinutes: options.utcOffsetMinutes)
        var truth = GroundTruth(
            startSeconds: options.start, days: options.days, siteCount: options.sites.count,
            userAgents: population.userAgents.count)
        var ledger = IdentifierLedger(population: population, format: format)
        var accountBook = AccountBook(population: population, sites: options.sites)
        let userAgentKinds = population.userAgents.map(\.kind)

        var sink = try ByteSink(path: options.output)
        let directiveLines = renderer.writeHeader(&sink, startSeconds: options.start)
        var physicalLine = directiveLines
        let malformedLimit = options.malformedPPM
        let botLimit = malformedLimit + (format.hasUserAgent ? options.botPPM : 0)
        let emailLimit = botLimit + options.emailPPM
        let longLineSlot = options.longLine ? options.lines / 2 : -1
        var r = Request()

        for slot in 0..<options.lines {
            let milliseconds = timeline.next(&rng)
            physicalLine += 1
            let lineStart = sink.count
            if slot == longLineSlot {
                writeLongLine(&r, milliseconds, &model, &rng, &formatRng, &renderer, &sink)
                ledger.noteDamaged(r, line: sink.buffer[lineStart...])
                truth.recordMalformed(line: physicalLine, kind: .lineTooLong)
                try sink.flushIfNeeded()
                continue
            }
            let roll = rng.below(1_000_000)
            if roll < malformedLimit {
                let kind = writeMalformed(&r, milliseconds, &model, &rng, &formatRng, &renderer, &sink)
                if kind != .binaryGarbage { ledger.noteDamaged(r, line: sink.buffer[lineStart...]) }
                truth.recordMalformed(line: physicalLine, kind: kind)
                try sink.flushIfNeeded()
                continue
            }
            if roll < botLimit {
                model.botRequest(&r, &rng)
            } else if roll < emailLimit, model.emailRequest(&r, &rng) {
                // filled in by emailRequest
            } else {
                model.humanRequest(&r, &rng)
            }
            r.milliseconds = milliseconds
            _ = renderer.render(r, .none, &formatRng, &sink)
            sink.append(UInt8(ascii: "\n"))
            ledger.note(r)

            let kind = format.hasUserAgent ? userAgentKinds[r.userAgent] : .human
            let bot = kind == .bot
            let proxy = kind == .mailProxy
            var identity: UInt64? = nil
            if !bot && !proxy {
                if format.hasCookie, case .visitor(let v) = r.actor, !r.cookie.isEmpty {
                    identity = 1 << 63 | UInt64(v)
                } else {
                    let ua = format.hasUserAgent ? UInt64(r.userAgent) : 0xFF_FFFF
                    identity = UInt64(r.address) << 24 | ua
                }
            }
            let pageview =
                r.page >= 0 && (r.method == .get || r.method == .head)
                && ((200..<300).contains(r.status) || r.status == 304) && !bot && !proxy
            truth.record(
                r, identity: identity, bot: bot, proxy: proxy, pageview: pageview, userAgentVisible: format.hasUserAgent
            )
            accountBook.record(
                r, cookieIdentity: identity.map { $0 >> 63 == 1 } ?? false, pageview: pageview, proxy: proxy)
            try sink.flushIfNeeded()
        }
        try sink.finish()
        truth.finish()

        if let path = options.truthPath {
            let report = TruthReport(
                options: options, truth: truth, pages: model.siteMap.pages, userAgents: population.userAgents,
                physicalLines: physicalLine, directiveLines: directiveLines)
            try Self.writeFile(path, Array(report.json().rendered().utf8))
        }
        if let path = options.identifiersPath {
            try Self.writeFile(path, ledger.lines(population))
        }
        if let path = options.accountsPath {
            try Self.writeFile(path, accountBook.csv())
        }
        if let path = options.accountsTruthPath {
            try Self.writeFile(path, Array(accountBook.truth().rendered().utf8))
        }
    }

    /// Writes one damaged line (and its newline); returns its kind.
    private func writeMalformed(
        _ r: inout Request, _ milliseconds: Int64, _ model: inout TrafficModel,
        _ rng: inout Xoshiro256StarStar, _ formatRng: inout Xoshiro256StarStar,
        _ renderer: inout LineRenderer, _ sink: inout ByteSink
    ) -> MalformedKind {
        var kind = MalformedKind(rawValue: rng.below(5))!
        if kind == .unbalancedQuote && !options.format.usesQuotes { kind = .badStatus }
        if kind == .binaryGarbage {
            let length = rng.inRange(24, 200)
            sink.append(0)
            for _ in 1..<length {
                var b = UInt8(truncatingIfNeeded: rng.next())
                if rng.below(8) == 0 || b == 0x0A || b == 0x0D { b = 0 }
                sink.append(b)
            }
            sink.append(UInt8(ascii: "\n"))
            return kind
        }
        model.standaloneRequest(&r, &rng)
        r.milliseconds = milliseconds
        let start = sink.count
        let corruption: Corruption = kind == .badTimestamp ? .badTimestamp : (kind == .badStatus ? .badStatus : .none)
        let span = renderer.render(r, corruption, &formatRng, &sink)
        switch kind {
        case .unbalancedQuote:
            // The closing quote of the first quoted field goes: an unterminated quote in the middle
            // of a line, which no parser can repair (a missing *final* quote is tolerated by veil,
            // so it would not make a malformed line).
            // An AWS load balancer's line loses the opening quote instead: its many quoted fields
            // after the user agent hold a quote that would close the first field anyway; so does
            // an HAProxy line, whose one quoted field is its last.
            if let open = sink.buffer[start...].firstIndex(of: UInt8(ascii: "\"")),
                let close = sink.buffer[(open + 1)...].firstIndex(of: UInt8(ascii: "\""))
            {
                sink.buffer.remove(at: options.format.isAWS || options.format == .haproxy ? open : close)
            }
        case .truncated:
            // Cut inside the request target; text formats are cut before their last quoted field
            // opens (a line cut inside its last quoted field is kept by veil's tolerance rule).
            var end = span.end
            if options.format == .haproxy,
                let open = sink.buffer[start...].firstIndex(of: UInt8(ascii: "{")),
                let close = sink.buffer[open...].firstIndex(of: UInt8(ascii: "}"))
            {
                // HAProxy's request is its last field: cut inside the captured headers before it.
                sink.truncate(to: open + 1 + formatRng.below(close - open))
                break
            }
            if options.format.usesQuotes && !options.format.isJSON,
                let lastQuote = sink.buffer[start...].lastIndex(of: UInt8(ascii: "\"")),
                let lastOpen = sink.buffer[start..<lastQuote].lastIndex(of: UInt8(ascii: "\""))
            {
                end = min(end, lastOpen)
            }
            let room = end - span.start - 1
            sink.truncate(to: span.start + 1 + (room > 0 ? formatRng.below(room) : 0))
        default: break
        }
        sink.append(UInt8(ascii: "\n"))
        return kind
    }

    /// Writes the single over-long line: a search whose query pads the line to 100 KiB.
    private func writeLongLine(
        _ r: inout Request, _ milliseconds: Int64, _ model: inout TrafficModel,
        _ rng: inout Xoshiro256StarStar, _ formatRng: inout Xoshiro256StarStar,
        _ renderer: inout LineRenderer, _ sink: inout ByteSink
    ) {
        model.standaloneRequest(&r, &rng)
        r.milliseconds = milliseconds
        r.path = Array("/search".utf8)
        r.query = Array("q=".utf8)
        let start = sink.count
        var probe = formatRng
        _ = renderer.render(r, .none, &probe, &sink)
        let shortLength = sink.count - start
        sink.truncate(to: start)
        let filler = Array("lorem+ipsum+dolor+sit+amet+".utf8)
        let padding = max(0, Self.longLineLength - shortLength)
        r.query.reserveCapacity(2 + padding)
        for i in 0..<padding { r.query.append(filler[i % filler.count]) }
        _ = renderer.render(r, .none, &formatRng, &sink)
        sink.append(UInt8(ascii: "\n"))
    }

    /// Writes a whole small file (truth, identifiers).
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws(GeneratorError) {
        var sink = try ByteSink(path: path)
        sink.append(bytes)
        try sink.finish()
    }
}
