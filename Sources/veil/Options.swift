import ArgumentParser
import Foundation
import VeilCore

/// Options for reading logs, shared by run, aggregate and inspect.
struct InputOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Log format: auto, \(FormatChoice.names.joined(separator: ", ")), apache:'LogFormat' or nginx:'log_format'.",
            valueName: "format"))
    var format = "auto"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read an e-mail event export (JSON lines) with this mapping of FIELD=KEY.PATH pairs, e.g. 'event=type,timestamp=ts,recipient=to,campaign=meta.campaign,url=link,ip=client.ip,user_agent=client.ua'. Fields: \(JSONLinesFormat.emailFieldNames.map(\.name).joined(separator: ", ")). With --format json-sendgrid or json-mailgun it overrides the preset's keys.",
            valueName: "mapping"))
    var emailFields: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read an access log in JSON lines with this mapping of FIELD=KEY.PATH pairs, e.g. 'timestamp=start,ip=client.address,host=http.host,method=http.method,uri=http.path,status=http.status,bytes=http.size,referrer=http.referer,user_agent=http.ua'. Fields: \(JSONLinesFormat.accessFieldNames.map(\.name).joined(separator: ", ")). With --format json-caddy, json-nginx, json-traefik, json-cloudflare or json it comes before the preset's keys.",
            valueName: "mapping"))
    var jsonFields: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The request headers an HAProxy frontend captures, in the order of its 'capture request header' lines, e.g. 'host,user-agent,referer'. veil reads host (the site), user-agent, referer and x-forwarded-for; another name (or -) keeps a header's place. Without it HAProxy's lines have no user agent.",
            valueName: "names"))
    var haproxyHeaders: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The visitor cookie an HAProxy frontend captures ('capture cookie uid len 64', logged uid=value): its value is the visitor's. As HAProxy matches it, the name is a prefix of the cookie's (uid= for that name exactly). Captured cookies of other names (a load balancer's SERVERID) are not read.",
            valueName: "name"))
    var haproxyCookie: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The time zone of times a log writes without one (HAProxy's accept dates, ISO 8601 times without an offset in JSON lines or a format string), an IANA name such as Europe/Berlin (default UTC). Times that say their zone, epochs and W3C's (UTC) are not changed.",
            valueName: "zone"))
    var logTz: String?

    @Option(
        name: .long,
        help:
            "Longest accepted line in bytes; longer lines are rejected and counted (default 65536; 1048576 with --format json-sendgrid, json-mailgun or --email-fields, whose webhook batches are one line each)."
    )
    var maxLineLength: Int?

    @Option(name: .long, help: "Only records at or after this UTC time (2026-11-28 or 2026-11-28T06:00:00Z).")
    var from: String?

    @Option(name: .long, help: "Only records before this UTC time.")
    var until: String?

    /// The HAProxy option given (`--haproxy-headers`, else `--haproxy-cookie`), for notes on
    /// inputs read as another format.
    var haproxyOption: String? {
        haproxyHeaders != nil ? "--haproxy-headers" : haproxyCookie != nil ? "--haproxy-cookie" : nil
    }

    /// Checks every option before a command does anything (bad values are usage errors, exit 2).
    func validate() throws {
        do { _ = try configuration() } catch let e as VeilError { throw ValidationError(e.message) }
    }

    func configuration() throws -> IngestConfiguration {
        var c = IngestConfiguration()
        c.format = try FormatChoice(parsing: format)
        if let emailFields {
            let base: JSONLinesFormat.EmailPreset?
            switch format {
            case "auto", "json": base = nil
            case "json-sendgrid": base = .sendgrid
            case "json-mailgun": base = .mailgun
            default:
                throw ValidationError("--email-fields works with --format auto, json, json-sendgrid or json-mailgun")
            }
            c.format = .emailFields(base: base, spec: emailFields)
        }
        if let jsonFields {
            guard emailFields == nil else {
                throw ValidationError(
                    "--json-fields and --email-fields cannot be combined: an input is one or the other")
            }
            let base = JSONLinesFormat.Preset.allCases.first { $0.formatName == format }
            guard format == "auto" || base != nil else {
                throw ValidationError(
                    "--json-fields works with --format auto, json, json-caddy, json-nginx, json-traefik or json-cloudflare"
                )
            }
            c.format = .jsonFields(base: base, spec: jsonFields)
        }
        if haproxyHeaders != nil || haproxyCookie != nil {
            guard format == "auto" || format == "haproxy" else {
                throw ValidationError(
                    "--\(haproxyHeaders != nil ? "haproxy-headers" : "haproxy-cookie") works with --format auto or haproxy"
                )
            }
            if let haproxyHeaders { try c.haproxy.setCapturedRequestHeaders(haproxyHeaders) }
            if let haproxyCookie { try c.haproxy.setCookieName(haproxyCookie) }
        }
        if let logTz { c.logTimeZone = try LogTimeZone.identifier(logTz) }
        if c.format != .auto {
            // Compile a given format string now: a bad one is bad usage, reported once.
            do {
                _ = try c.format.makeFormat()
            } catch {
                // A mapping's errors already name their option.
                throw VeilError(.usage, error.message.hasPrefix("--") ? error.message : "--format: \(error.message)")
            }
        }
        if let maxLineLength {
            guard maxLineLength >= 256, maxLineLength <= 1 << 30 else {
                throw ValidationError("--max-line-length must be between 256 and 1073741824 (1 GiB)")
            }
            c.maxLineLength = maxLineLength
        } else {
            c.maxLineLength =
                c.format.isEmailExport
                ? IngestConfiguration.emailExportMaxLineLength : IngestConfiguration.defaultMaxLineLength
        }
        c.from = try from.map { try parseTime($0, flag: "--from") }
        c.until = try until.map { try parseTime($0, flag: "--until") }
        if let f = c.from, let u = c.until, f >= u { throw ValidationError("--from must be before --until") }
        if Terminal.isInteractive {
            c.progress = { p in
                var s = "\(p.file): \(megabytes(p.bytesIn))"
                if let t = p.totalBytes { s += " of \(megabytes(t))" }
                s += String(format: ", %.0f MB/s decompressed", Double(p.bytesOut) / max(p.seconds, 1e-9) / 1e6)
                if let eta = p.eta { s += String(format: ", ETA %.0f s", eta) }
                Terminal.progress(s)
            }
        }
        return c
    }
}

/// Where e-mail opens and clicks are in server logs, shared by run, aggregate and inspect.
struct EmailPatternOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "URL pattern of the open pixel, with {campaign} and {recipient} (repeatable; replaces the default \(EmailConfiguration.defaultOpenPatterns.joined(separator: ", "))).",
            valueName: "pattern"))
    var emailOpenPattern: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "URL pattern of click redirects, with {campaign}, {recipient} and optionally {link} (repeatable; replaces the default \(EmailConfiguration.defaultClickPatterns.joined(separator: ", "))).",
            valueName: "pattern"))
    var emailClickPattern: [String] = []

    /// The e-mail configuration with these patterns (scanner rules at their defaults).
    func configuration() throws -> EmailConfiguration {
        var c = EmailConfiguration()
        if !emailOpenPattern.isEmpty { c.openPatterns = emailOpenPattern }
        if !emailClickPattern.isEmpty { c.clickPatterns = emailClickPattern }
        do throws(VeilError) { try c.validate() } catch { throw ValidationError(error.message) }
        return c
    }
}

/// Options for aggregation, shared by run and aggregate.
struct AggregationOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Site name for formats without a virtual-host field; give the site's host name (www.example.com) so that its own links are not listed as referrers. Read as host fields are: lower-cased, without a port or a final dot."
    )
    var site = "default"

    @Option(name: .long, help: "IANA time zone (Europe/Berlin) for days and hours in the rollups (default UTC).")
    var tz: String?

    @Option(name: .long, help: "Most distinct paths kept per state; the rest count as (other).")
    var maxPaths = 50_000

    @Option(name: .long, help: "Minutes of inactivity that end a visit.")
    var sessionTimeout = 30

    @Option(
        name: .long,
        help:
            "Threads (default: all cores); several inputs are read side by side when that is estimated to be faster. Output is the same for any value."
    )
    var threads: Int?

    /// `--threads`, or all cores.
    var threadCount: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    @Flag(name: .long, help: "Take the client address from the left-most X-Forwarded-For entry when present.")
    var trustForwardedFor = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A MaxMind DB country database (GeoLite2-Country.mmdb, GeoLite2-City.mmdb, DB-IP's lite databases): pageviews are also counted by their client's country (countries.csv).",
            valueName: "file.mmdb"))
    var geoip: String?

    @Flag(
        name: .long,
        help:
            "Go on past inputs that cannot be read or decompressed, or whose format is not recognised, and report them."
    )
    var skipBadFiles = false

    @Flag(name: .long, help: "Fail with exit status 3 when any line was rejected.")
    var strict = false

    @OptionGroup var emailPatterns: EmailPatternOptions

    /// Checks every option before a command does anything (bad values are usage errors, exit 2).
    func validate() throws { _ = try configuration() }

    @Option(
        name: .long,
        help: ArgumentHelp(
            "User-agent substring of a security scanner or link checker (repeatable; added to the built-in list).",
            valueName: "text"))
    var scannerAgent: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Address range only scanners click from, e.g. 192.0.2.0/24 (repeatable; added to the built-in list).",
            valueName: "cidr"))
    var scannerNetwork: [String] = []

    @Flag(name: .long, help: "Use only the --scanner-agent and --scanner-network rules given, not the built-in lists.")
    var noDefaultScannerRules = false

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Clicks of one recipient within this many seconds of each other on several links are scanner clicks (-1: off).",
            valueName: "seconds"))
    var scannerBurstSeconds: Int64 = EmailTimingRules().burstSeconds

    @Option(name: .long, help: ArgumentHelp("How many different links such a burst needs (0: off).", valueName: "n"))
    var scannerBurstLinks: Int = EmailTimingRules().burstLinks

    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Clicks at most this many seconds after the message's delivery are scanner clicks (-1: off).",
            valueName: "seconds"))
    var scannerDeliverySeconds: Int64 = EmailTimingRules().deliverySeconds

    func configuration() throws -> AggregationConfiguration {
        var c = AggregationConfiguration()
        guard !site.isEmpty else { throw ValidationError("--site must not be empty") }
        c.defaultSite = site
        if let tz, tz != "UTC", !LogTimeZone.isIANAName(tz) {
            // An abbreviation (`BST`, `IST`) names a zone Foundation chooses, often not the one meant.
            throw ValidationError("--tz: unknown time zone '\(tz)' (expected an IANA name such as Europe/Berlin)")
        }
        c.timeZone = tz
        guard maxPaths >= 1 else { throw ValidationError("--max-paths must be at least 1") }
        c.maxPaths = maxPaths
        guard sessionTimeout >= 1 else { throw ValidationError("--session-timeout must be at least 1 minute") }
        c.sessionTimeout = Int64(sessionTimeout) * 60
        c.trustForwardedFor = trustForwardedFor
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        var email = try emailPatterns.configuration()
        if noDefaultScannerRules {
            email.scannerAgents = []
            email.scannerNetworks = []
        }
        email.scannerAgents += scannerAgent
        email.scannerNetworks += scannerNetwork
        c.email = email
        c.emailTiming = EmailTimingRules(
            burstSeconds: scannerBurstSeconds, burstLinks: scannerBurstLinks, deliverySeconds: scannerDeliverySeconds)
        do throws(VeilError) {
            try c.emailTiming.validate()
            try email.validate()
        } catch {
            throw ValidationError(error.message)
        }
        return c
    }
}

/// Options for output of human or machine summaries.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false
}

/// Parses `2026-11-28`, `2026-11-28T06:00:00Z` and other ISO 8601 forms into UTC seconds.
func parseTime(_ s: String, flag: String) throws -> Int64 {
    var text = s
    if text.count == 10 { text += "T00:00:00Z" }
    let parsed = Array(text.utf8).withUnsafeBufferPointer { Timestamp.parseISO8601($0) }
    guard let t = parsed else {
        throw ValidationError("\(flag) '\(s)' is not a date or an ISO 8601 time (2026-11-28 or 2026-11-28T06:00:00Z)")
    }
    return t.seconds
}

/// The default key store of `veil run`: `$VEIL_KEYS`, else `$XDG_DATA_HOME/veil/keys`, else
/// `~/.local/share/veil/keys`.
func defaultKeyStorePath() -> String {
    let env = ProcessInfo.processInfo.environment
    if let p = env["VEIL_KEYS"], !p.isEmpty { return p }
    if let x = env["XDG_DATA_HOME"], !x.isEmpty { return x + "/veil/keys" }
    return (env["HOME"] ?? ".") + "/.local/share/veil/keys"
}

/// What `FileReport.requestsNamed == false` means, for `inspect` and the aggregating commands.
func requestsNotNamed(_ r: FileReport) -> String {
    "not named: the first lines' requests have no path under \(r.format); is --format right? (a JSON line needs only a timestamp to parse)"
}

/// Prints the rejects of a file report (counts and line numbers only).
func rejectSummary(_ r: FileReport) -> String {
    r.rejects.map {
        "\($0.reason) \(grouped($0.count)) (lines \($0.firstLines.map(String.init).joined(separator: ", "))\($0.count > $0.firstLines.count ? ", …" : ""))"
    }
    .joined(separator: "; ")
}

/// Encodes a value as sorted, pretty JSON.
func jsonString<T: Encodable>(_ value: T) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    e.keyEncodingStrategy = .convertToSnakeCase
    return String(decoding: try! e.encode(value), as: UTF8.self)
}
