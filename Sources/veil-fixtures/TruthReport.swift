/// Turns `GroundTruth` into the `--truth` JSON document (deterministic: every list sorted).
struct TruthReport {
    let options: GeneratorOptions
    let truth: GroundTruth
    let pages: [Page]
    let userAgents: [UserAgent]
    let physicalLines: Int
    let directiveLines: Int

    static let topPathCount = 50
    static let topListCount = 20

    func json() -> JSONValue {
        var malformedMembers: [(String, JSONValue)] = MalformedKind.allCases.map {
            ($0.label, .int(truth.malformed[$0.rawValue]))
        }
        malformedMembers.append(("total", .int(truth.malformed.reduce(0, +))))
        let log: JSONValue = .object([
            ("lines", .int(options.lines)),
            ("directive_lines", .int(directiveLines)),
            ("physical_lines", .int(physicalLines)),
            ("requests", .int(truth.requests)),
            ("malformed", .object(malformedMembers)),
            (
                "malformed_lines",
                .array(
                    truth.malformedLines.map {
                        .object([("line", .int($0.line)), ("kind", .string($0.kind.label))])
                    })
            ),
        ])
        let visits: JSONValue = .object([
            ("timeout_seconds", .int(Int(GroundTruth.visitTimeout))),
            ("gaps_within_60s_of_timeout", .int(truth.gapsNearTimeout)),
            ("visits_crossing_midnight", .int(truth.visitsCrossingMidnight)),
            ("exit_ties", .int(truth.exitTies)),
        ])
        return .object([
            ("generator", .string("veil-fixtures")),
            ("truth_version", .int(1)),
            ("options", optionsJSON()),
            ("definitions", definitions()),
            ("log", log),
            ("visits", visits),
            ("sites", .array(truth.sites.indices.map(siteJSON))),
        ])
    }

    private func optionsJSON() -> JSONValue {
        func share(_ ppm: Int) -> JSONValue {
            let whole = ppm / 1_000_000
            var frac = String(ppm % 1_000_000)
            frac = String(repeating: "0", count: 6 - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            return .string(frac.isEmpty ? "\(whole)" : "\(whole).\(frac)")
        }
        let m = abs(options.utcOffsetMinutes)
        let offset =
            (options.utcOffsetMinutes < 0 ? "-" : "+") + UTCCalendar.pad(m / 60, 2) + UTCCalendar.pad(m % 60, 2)
        return .object([
            ("format", .string(options.format.rawValue)),
            ("lines", .int(options.lines)),
            ("seed", .string(String(options.seed))),
            ("visitors", .int(options.visitorCount)),
            ("start", .string(UTCCalendar.isoKey(options.start))),
            ("days", .int(options.days)),
            ("sites", .array(options.sites.map { .string($0) })),
            ("malformed_share", share(options.malformedPPM)),
            ("ipv6_share", share(options.ipv6PPM)),
            ("bot_share", share(options.format.hasUserAgent ? options.botPPM : 0)),
            ("cookie_share", share(options.cookiePPM)),
            ("email_share", share(options.emailPPM)),
            ("long_line", .bool(options.longLine)),
            ("utc_offset", .string(offset)),
        ])
    }

    private func definitions() -> JSONValue {
        let identity =
            options.format.hasCookie
            ? "the uid cookie value when the line has one, else client address + full User-Agent"
            : (options.format.hasUserAgent
                ? "client address + full User-Agent (this format has no cookie)"
                : "client address (this format has neither cookie nor User-Agent)")
        var members: [(String, JSONValue)] = [
            ("buckets", .string("UTC hour and UTC day of the request's timestamp (to the second)")),
            ("requests", .string("every well-formed request line, bots and mail proxies included")),
            (
                "bot_requests",
                .string(
                    "requests whose User-Agent is a well-known crawler, library or monitor "
                        + "(Googlebot, bingbot, AhrefsBot, curl, python-requests, ...)")
            ),
            (
                "bots",
                .string(
                    "per day, bot requests by the bot family of their User-Agent, lower-cased (veil's bot name), "
                        + "and the distinct clients (User-Agent with cookie, else address) that sent them")
            ),
            (
                "mail_proxy_requests",
                .string(
                    "requests from GoogleImageProxy / YahooMailProxy; not in bot_requests, never visitors")
            ),
            (
                "pageview",
                .string(
                    "GET or HEAD, status 2xx or 304, path not an asset by extension (css js png jpg gif svg ico "
                        + "woff2), not /t/open.gif (pixel) or /c/... (click redirect), not a bot or mail proxy")
            ),
            ("visitor_identity", .string(identity)),
            (
                "visitors",
                .string(
                    "distinct identities among non-bot, non-proxy requests (any status, assets and e-mail hits "
                        + "included) in the bucket")
            ),
            ("pageview_visitors", .string("distinct identities with at least one pageview in the bucket")),
            (
                "visits",
                .string(
                    "per identity, a pageview more than 1800 s after that identity's previous pageview (or its "
                        + "first) begins a visit; counted in the bucket of its first pageview; midnight does "
                        + "not split a visit")
            ),
            ("bounces", .string("visits with exactly one pageview, counted where the visit began")),
            ("bytes", .string("sum of response sizes as written; '-' counts 0")),
            (
                "top_paths",
                .string(
                    "pageviews per path (query removed), top \(Self.topPathCount), most first, ties by path")
            ),
            ("template_pageviews", .string("pageviews of paths with placeholders, by template")),
            ("entry_pages", .string("visits by the path of their first pageview, top \(Self.topListCount)")),
            (
                "exit_pages",
                .string(
                    "visits by the template of the path of their last pageview (the first of several in its "
                        + "second: see exit_ties), all, counted on the day the visit began")
            ),
            (
                "visit_durations",
                .string(
                    "visits by seconds from their first to their last pageview, per range named by its lowest "
                        + "value (ranges 0, 1-10, 11-30, 31-60, 61-180, 181-600, 601-1800, 1801 and more), counted "
                        + "on the day the visit began")
            ),
            (
                "visit_pageviews",
                .string(
                    "visits by their pageviews, per range named by its lowest value (ranges 1, 2, 3, 4-5, 6-10, "
                        + "11-20, 21 and more), counted on the day the visit began")
            ),
            ("not_found", .string("non-bot, non-proxy requests answered 404, by path, top \(Self.topListCount)")),
            (
                "referrer_hosts",
                .string(
                    "pageviews by the host of their Referer (internal included), and visits by that of their first "
                        + "pageview (on the day they begin); absent when the format has no Referer")
            ),
            (
                "web_campaigns",
                .string(
                    "pageviews by utm_source, utm_medium and utm_campaign of their query, joined by tabs ((none) for "
                        + "a missing one), and visits by those of their first pageview (on the day they begin); "
                        + "pageviews without any of the three are not counted; absent when the format has no Referer")
            ),
            (
                "campaigns",
                .string(
                    "opens = GET /t/open.gif?m=<campaign>&r=<token> (human or proxy); clicks = GET "
                        + "/c/<campaign>/<link>?r=<token> answered 302; unique_* = distinct recipient tokens")
            ),
        ]
        for kind in MalformedKind.allCases {
            members.append(("malformed_\(kind.label)", .string(kind.construction)))
        }
        if options.format.hasUserAgent && !options.format.hasReferrer {
            members.append(("note", .string("this format has no Referer: the referrer table is absent")))
        }
        if !options.format.hasUserAgent {
            members.append(
                (
                    "note",
                    .string(
                        "this format has no User-Agent or Referer: no bots or mail proxies were generated, and the "
                            + "browser and referrer tables are absent")
                ))
        }
        return .object(members)
    }

    private func siteJSON(_ index: Int) -> JSONValue {
        let site = truth.sites[index]
        var days: [JSONValue] = []
        for d in site.days.indices {
            days.append(dayJSON(site, d))
        }
        return .object([
            ("site", .string(options.sites[index])),
            ("total", .object(site.total.members)),
            ("top_paths", topPaths(sum(site.pagePageviews))),
            ("campaigns", campaignsJSON(site)),
            ("days", .array(days)),
        ])
    }

    private func sum(_ rows: [[Int]]) -> [Int] {
        var out: [Int] = []
        for row in rows {
            if out.count < row.count { out.append(contentsOf: repeatElement(0, count: row.count - out.count)) }
            for (i, v) in row.enumerated() { out[i] += v }
        }
        return out
    }

    private func dayJSON(_ site: GroundTruth.Site, _ d: Int) -> JSONValue {
        let daySecond = (truth.firstDay + Int64(d)) * 86_400
        var members: [(String, JSONValue)] = [("day", .string(UTCCalendar.dayKey(daySecond)))]
        members += site.days[d].members
        members.append(
            (
                "status_codes",
                .object(
                    site.statusCodes[d].keys.sorted().map {
                        (String($0), .int(site.statusCodes[d][$0]!))
                    })
            ))
        if options.format.hasUserAgent {
            // By bot name as veil labels it: the generator's bot families, lower-cased.
            var counts: [String: [Int]] = [:]
            var clients: [String: Set<[Int]>] = [:]
            for (agent, n) in site.botRequests[d] {
                let name = userAgents[agent].family.lowercased()
                counts[name] = zip(counts[name, default: [0, 0, 0, 0, 0, 0, 0]], n).map { $0 + $1 }
                clients[name, default: []].formUnion(site.botClients[d][agent, default: []])
            }
            let fields = ["requests", "bytes", "status_1xx", "status_2xx", "status_3xx", "status_4xx", "status_5xx"]
            members.append(
                (
                    "bots",
                    .object(
                        counts.keys.sorted().map { name in
                            // Safe: `name` is a key of both dictionaries.
                            let c = counts[name]!
                            return (
                                name,
                                .object(
                                    zip(fields, c).map { ($0, JSONValue.int($1)) } + [
                                        ("clients", .int(clients[name]!.count))
                                    ])
                            )
                        })
                ))
        }
        members.append(("top_paths", topPaths(site.pagePageviews[d])))
        var templates: [String: Int] = [:]
        for (page, count) in site.pagePageviews[d].enumerated() where count > 0 {
            let p = pages[page]
            if p.template != String(decoding: p.path, as: UTF8.self) { templates[p.template, default: 0] += count }
        }
        members.append(("template_pageviews", .object(templates.keys.sorted().map { ($0, .int(templates[$0]!)) })))
        members.append(
            (
                "entry_pages",
                ranked(
                    site.entryPages[d].enumerated().filter { $0.element > 0 }.map {
                        (pages[$0.offset].path, $0.element)
                    },
                    key: "path", value: "visits", limit: Self.topListCount)
            ))
        func ranges(_ counts: [Int], _ lows: [Int]) -> JSONValue {
            .object(counts.indices.filter { counts[$0] > 0 }.map { (String(lows[$0]), .int(counts[$0])) })
        }
        var exits: [String: Int] = [:]
        for (page, count) in site.exitPages[d].enumerated() where count > 0 {
            exits[pages[page].template, default: 0] += count
        }
        members.append(("exit_pages", .object(exits.keys.sorted().map { ($0, .int(exits[$0]!)) })))
        members.append(("visit_durations", ranges(site.visitDurations[d], GroundTruth.durationRanges)))
        members.append(("visit_pageviews", ranges(site.visitPageviews[d], GroundTruth.pageviewRanges)))
        members.append(
            (
                "not_found",
                ranked(
                    site.notFound[d].map { ($0.key, $0.value) }, key: "path", value: "requests",
                    limit: Self.topListCount)
            ))
        if options.format.hasReferrer {
            members.append(
                ("referrer_hosts", withVisits(site.referrerHosts[d], site.referrerVisits[d], key: "host")))
        }
        if options.format.hasUserAgent {
            members.append(
                ("web_campaigns", withVisits(site.webCampaigns[d], site.webCampaignVisits[d], key: "campaign")))
            var family: [String: Int] = [:]
            var version: [String: Int] = [:]
            var os: [String: Int] = [:]
            var device: [String: Int] = [:]
            for (ua, count) in site.userAgentPageviews[d].enumerated() where count > 0 {
                let info = userAgents[ua]
                family[info.family, default: 0] += count
                version["\(info.family) \(info.major)", default: 0] += count
                os[info.os, default: 0] += count
                device[info.device, default: 0] += count
            }
            func object(_ m: [String: Int]) -> JSONValue { .object(m.keys.sorted().map { ($0, .int(m[$0]!)) }) }
            members.append(("browsers", object(family)))
            members.append(("browser_versions", object(version)))
            members.append(("os", object(os)))
            members.append(("devices", object(device)))
        }
        let hoursPerDay = site.hours.indices.filter {
            GroundTruth.floorDiv((truth.firstHour + Int64($0)) * 3600, 86_400) - truth.firstDay == Int64(d)
        }
        members.append(
            (
                "hours",
                .array(
                    hoursPerDay.map { h in
                        .object(
                            [("hour", .string(UTCCalendar.hourKey((truth.firstHour + Int64(h)) * 3600)))]
                                + site.hours[h].members)
                    })
            ))
        return .object(members)
    }

    private func topPaths(_ counts: [Int]) -> JSONValue {
        let rows = counts.enumerated().filter { $0.element > 0 }.sorted { a, b in
            a.element != b.element
                ? a.element > b.element : pages[a.offset].path.lexicographicallyPrecedes(pages[b.offset].path)
        }
        return .array(
            rows.prefix(Self.topPathCount).map {
                .object([
                    ("path", .string(String(decoding: pages[$0.offset].path, as: UTF8.self))),
                    ("template", .string(pages[$0.offset].template)),
                    ("pageviews", .int($0.element)),
                ])
            })
    }

    private func ranked(_ rows: [([UInt8], Int)], key: String, value: String, limit: Int) -> JSONValue {
        let sorted = rows.sorted { a, b in a.1 != b.1 ? a.1 > b.1 : a.0.lexicographicallyPrecedes(b.0) }
        return .array(
            sorted.prefix(limit).map {
                .object([(key, .string(String(decoding: $0.0, as: UTF8.self))), (value, .int($0.1))])
            })
    }

    /// A day's values (referrer hosts, web campaigns) by pageviews: each with its pageviews and
    /// the visits whose first pageview had it.
    private func withVisits(_ pageviews: [[UInt8]: Int], _ visits: [[UInt8]: Int], key: String) -> JSONValue {
        let sorted = pageviews.sorted { a, b in
            a.value != b.value ? a.value > b.value : a.key.lexicographicallyPrecedes(b.key)
        }
        return .array(
            sorted.map {
                .object([
                    (key, .string(String(decoding: $0.key, as: UTF8.self))), ("pageviews", .int($0.value)),
                    ("visits", .int(visits[$0.key] ?? 0)),
                ])
            })
    }

    private func campaignsJSON(_ site: GroundTruth.Site) -> JSONValue {
        .array(
            Vocabulary.campaigns.indices.compactMap { c in
                let t = site.campaigns[c]
                guard t.opens + t.clicks > 0 else { return nil }
                let links = Vocabulary.campaigns[c].links
                return .object([
                    ("campaign", .string(Vocabulary.campaigns[c].name)),
                    ("opens", .int(t.opens)),
                    ("human_opens", .int(t.humanOpens)),
                    ("proxy_opens", .int(t.proxyOpens)),
                    ("unique_openers", .int(t.openers.count)),
                    ("unique_human_openers", .int(t.humanOpeners.count)),
                    ("clicks", .int(t.clicks)),
                    ("unique_clickers", .int(t.clickers.count)),
                    (
                        "links",
                        .array(
                            links.indices.sorted { links[$0] < links[$1] }.map {
                                .object([("link", .string(links[$0])), ("clicks", .int(t.linkClicks[$0]))])
                            })
                    ),
                ])
            })
    }
}
