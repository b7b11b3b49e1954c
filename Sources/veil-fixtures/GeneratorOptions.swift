/// Everything `veil-fixtures generate` can be told, with the defaults documented in `usage`.
struct GeneratorOptions: Sendable {
    /// Log destination; `nil` or `-` is standard output.
    var output: String?
    /// Ground-truth JSON destination.
    var truthPath: String?
    /// Identifier list destination.
    var identifiersPath: String?
    /// Identity table (CSV) for `veil join`.
    var accountsPath: String?
    /// What a join with that table must find (JSON).
    var accountsTruthPath: String?
    /// Number of log lines (W3C `#` directives not included).
    var lines = 10_000
    var seed: UInt64 = 1
    /// Size of the human visitor population; `nil` means `max(1, lines / 20)`.
    var visitors: Int?
    /// First instant of the period, Unix seconds.
    var start: Int64 = UTCCalendar.parse("2026-11-28T00:00:00Z")!
    var days = 1
    var format: OutputFormat = .combined
    /// Write an e-mail service's event export instead of an access log.
    var emailExport: EmailExportShape?
    /// E-mail exports: share of subscribers behind a security scanner, parts per million.
    var scannerPPM = 120_000
    var sites = ["www.example.com"]
    /// Shares in parts per million (parsed from decimals by hand: no floating point).
    var malformedPPM = 10_000
    var ipv6PPM = 200_000
    var botPPM = 150_000
    var cookiePPM = 700_000
    var emailPPM = 50_000
    var longLine = false
    /// Offset written in local-time timestamps (`[28/Nov/2026:01:00:00 +0100]`), minutes.
    var utcOffsetMinutes = 0

    var visitorCount: Int {
        // An e-mail export has about 3.5 events per visitor and day; an access log 20
        // lines per visitor.
        visitors ?? (emailExport == nil ? max(1, lines / 20) : max(1, lines * 10 / (35 * max(1, days))))
    }
}

/// A command-line mistake: printed with the usage hint, exit status 2.
struct UsageError: Error {
    var message: String
}

/// What the command line asked for.
enum Command {
    case help
    case generate(GeneratorOptions)
    /// `geoip`: a country database of the synthetic address ranges (`CountryDatabaseWriter`).
    case geoip(output: String, writer: CountryDatabaseWriter)
}

/// Hand-written parser for `veil-fixtures` arguments (`--flag value` or `--flag=value`).
enum CommandLineParser {
    static let usage = """
        usage: veil-fixtures generate [options]
               veil-fixtures geoip --output FILE.mmdb [--record-size 24|28|32] [--ip-version 4|6]
                   [--layout maxmind|ipinfo] [--database-type NAME]

        Writes a deterministic synthetic access log, and optionally its exact ground truth.

        options:
          --output FILE             log destination (default: standard output; '-' too)
          --truth FILE.json         exact counts computed while generating
          --identifiers FILE        every identifier in the log, 'kind<TAB>value' per line
          --accounts FILE.csv       identity table for `veil join` (subscribers and some
                                    cookie visitors; opt-outs, restricted accounts)
          --accounts-truth FILE     each account's activity per day that a join must find
          --lines N                 log lines, W3C directives not counted (default 10000); for
                                    e-mail exports, events: whole messages are added until
                                    their events reach N (fewer when the subscribers run out)
          --seed S                  same seed and options give byte-identical files (default 1)
          --visitors N              human visitor population (default lines/20)
          --start TIME              first instant, YYYY-MM-DDTHH:MM:SSZ (default 2026-11-28T00:00:00Z)
          --days D                  length of the period in days (default 1)
          --format F                \(OutputFormat.allCases.map(\.rawValue).joined(separator: "|"))
                                    (default combined), or an e-mail event export:
                                    \(EmailExportShape.allCases.map(\.rawValue).joined(separator: "|"))
                                    (newsletter deliveries, opens and clicks; see EmailExport.swift)
          --sites A,B               site host names (default www.example.com); more than one
                                    needs a format with a host field
          --malformed-share X       share of malformed lines (default 0.01)
          --ipv6-share X            share of visitors with 2001:db8::/32 addresses (default 0.2)
          --bot-share X             share of lines from bots (default 0.15)
          --cookie-share X          share of visitors with a uid cookie (default 0.7)
          --email-share X           share of lines that are e-mail opens or clicks (default 0.05)
          --scanner-share X         e-mail exports: share of subscribers behind a security
                                    scanner (default 0.12)
          --long-line               add one 100 KiB line (counted as line_too_long)
          --utc-offset +HHMM        offset shown in local-time timestamps (default +0000)

        examples:
          veil-fixtures generate --lines 2000000 --output bench.log
          veil-fixtures generate --format json-caddy --sites a.example.com,b.example.org \\
              --days 2 --output caddy.log --truth caddy.truth.json --identifiers caddy.ids
        """

    /// `geoip --output FILE [--record-size N] [--ip-version N]`.
    static func parseGeoIP(_ arguments: [String]) throws(UsageError) -> Command {
        var output: String?
        var writer = CountryDatabaseWriter()
        var i = 0
        while i < arguments.count {
            let name = arguments[i]
            guard i + 1 < arguments.count else { throw UsageError(message: "\(name) needs a value") }
            let value = arguments[i + 1]
            switch name {
            case "--output": output = value
            case "--record-size":
                guard let n = Int(value), [24, 28, 32].contains(n) else {
                    throw UsageError(message: "--record-size must be 24, 28 or 32")
                }
                writer.recordSize = n
            case "--database-type": writer.databaseType = value
            case "--layout":
                guard value == "maxmind" || value == "ipinfo" else {
                    throw UsageError(message: "--layout must be maxmind or ipinfo")
                }
                writer.ipinfo = value == "ipinfo"
            case "--ip-version":
                guard let n = Int(value), n == 4 || n == 6 else {
                    throw UsageError(message: "--ip-version must be 4 or 6")
                }
                writer.ipVersion = n
            default: throw UsageError(message: "unknown option '\(name)' for geoip")
            }
            i += 2
        }
        guard let output else { throw UsageError(message: "geoip needs --output FILE") }
        return .geoip(output: output, writer: writer)
    }

    static func parse(_ arguments: [String]) throws(UsageError) -> Command {
        guard let first = arguments.first else { throw UsageError(message: "missing command") }
        if first == "--help" || first == "-h" || first == "help" { return .help }
        if first == "geoip" { return try parseGeoIP(Array(arguments.dropFirst())) }
        guard first == "generate" else { throw UsageError(message: "unknown command '\(first)'") }

        var options = GeneratorOptions()
        var index = 1
        while index < arguments.count {
            var flag = arguments[index]
            var inlineValue: String?
            if let eq = flag.firstIndex(of: "="), flag.hasPrefix("--") {
                inlineValue = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            index += 1
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard index < arguments.count else { throw UsageError(message: "\(flag) needs a value") }
                index += 1
                return arguments[index - 1]
            }
            switch flag {
            case "--help", "-h": return .help
            case "--output", "-o": options.output = try value()
            case "--truth": options.truthPath = try value()
            case "--identifiers": options.identifiersPath = try value()
            case "--accounts": options.accountsPath = try value()
            case "--accounts-truth": options.accountsTruthPath = try value()
            case "--lines": options.lines = try integer(flag, try value(), min: 0)
            case "--seed":
                let text = try value()
                guard let s = UInt64(text) else { throw UsageError(message: "--seed needs an unsigned integer") }
                options.seed = s
            case "--visitors": options.visitors = try integer(flag, try value(), min: 1)
            case "--start":
                guard let s = UTCCalendar.parse(try value()) else {
                    throw UsageError(message: "--start needs YYYY-MM-DDTHH:MM:SSZ")
                }
                options.start = s
            case "--days": options.days = try integer(flag, try value(), min: 1, max: 3660)
            case "--format":
                let text = try value()
                if let shape = EmailExportShape(rawValue: text) {
                    options.emailExport = shape
                    options.format = .jsonCaddy  // JSON, a host field: only for the checks below
                } else {
                    guard let f = OutputFormat(rawValue: text) else {
                        throw UsageError(message: "unknown format '\(text)'")
                    }
                    options.format = f
                    options.emailExport = nil
                }
            case "--sites": options.sites = try sites(try value())
            case "--malformed-share": options.malformedPPM = try share(flag, try value())
            case "--ipv6-share": options.ipv6PPM = try share(flag, try value())
            case "--bot-share": options.botPPM = try share(flag, try value())
            case "--cookie-share": options.cookiePPM = try share(flag, try value())
            case "--email-share": options.emailPPM = try share(flag, try value())
            case "--scanner-share": options.scannerPPM = try share(flag, try value())
            case "--long-line":
                guard inlineValue == nil else { throw UsageError(message: "--long-line takes no value") }
                options.longLine = true
            case "--utc-offset": options.utcOffsetMinutes = try offset(try value())
            default: throw UsageError(message: "unknown option '\(flag)'")
            }
        }
        if options.malformedPPM + options.botPPM + options.emailPPM > 1_000_000 {
            throw UsageError(message: "--malformed-share + --bot-share + --email-share exceeds 1")
        }
        if options.emailExport != nil && (options.accountsPath != nil || options.accountsTruthPath != nil) {
            throw UsageError(message: "--accounts and --accounts-truth are for access logs, not e-mail exports")
        }
        if options.emailExport != nil && options.longLine {
            throw UsageError(message: "--long-line is for access logs, not e-mail exports")
        }
        if options.sites.count > 1 && !options.format.hasHost {
            throw UsageError(
                message: "format \(options.format.rawValue) has no host field: give one site only")
        }
        return .generate(options)
    }

    private static func integer(_ flag: String, _ text: String, min: Int, max: Int = 1_000_000_000)
        throws(UsageError) -> Int
    {
        guard let v = Int(text), v >= min, v <= max else {
            throw UsageError(message: "\(flag) needs an integer in \(min)...\(max)")
        }
        return v
    }

    /// Parses a decimal in [0, 1] with at most six fractional digits into parts per million.
    static func share(_ flag: String, _ text: String) throws(UsageError) -> Int {
        let bytes = Array(text.utf8)
        var whole = 0
        var fraction = 0
        var fractionDigits = 0
        var seenPoint = false
        var digits = 0
        for b in bytes {
            if b == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else if b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                digits += 1
                if seenPoint {
                    guard fractionDigits < 6 else { throw UsageError(message: "\(flag): at most 6 decimals") }
                    fraction = fraction * 10 + Int(b - UInt8(ascii: "0"))
                    fractionDigits += 1
                } else {
                    whole = whole * 10 + Int(b - UInt8(ascii: "0"))
                    guard whole <= 1 else { throw UsageError(message: "\(flag) needs a value in 0...1") }
                }
            } else {
                throw UsageError(message: "\(flag) needs a decimal such as 0.15")
            }
        }
        guard digits > 0 else { throw UsageError(message: "\(flag) needs a decimal such as 0.15") }
        for _ in fractionDigits..<6 { fraction *= 10 }
        let ppm = whole * 1_000_000 + fraction
        guard ppm <= 1_000_000 else { throw UsageError(message: "\(flag) needs a value in 0...1") }
        return ppm
    }

    private static func sites(_ text: String) throws(UsageError) -> [String] {
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for name in names {
            let ok =
                !name.isEmpty && name.utf8.count <= 253
                && name.utf8.allSatisfy { b in
                    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z"))
                        || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                        || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
                }
            guard ok else { throw UsageError(message: "--sites: '\(name)' is not a lower-case host name") }
        }
        guard Set(names).count == names.count else { throw UsageError(message: "--sites: duplicate site") }
        return names
    }

    private static func offset(_ text: String) throws(UsageError) -> Int {
        let b = Array(text.utf8)
        guard b.count == 5, b[0] == UInt8(ascii: "+") || b[0] == UInt8(ascii: "-"),
            b[1...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw UsageError(message: "--utc-offset needs +HHMM or -HHMM") }
        let d = b.map { Int($0) - Int(UInt8(ascii: "0")) }
        let hours = d[1] * 10 + d[2]
        let minutes = d[3] * 10 + d[4]
        guard hours <= 14, minutes < 60 else { throw UsageError(message: "--utc-offset out of range") }
        return (b[0] == UInt8(ascii: "-") ? -1 : 1) * (hours * 60 + minutes)
    }
}
