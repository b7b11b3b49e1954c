/// Which log format to parse, as the user asked for it.
public enum FormatChoice: Sendable, Equatable, CustomStringConvertible {
    /// Detect from the first lines of each file.
    case auto
    /// A named format: a text preset (`combined`, `common`, ...), `w3c`, `gcs`, or `json` / `json-caddy`
    /// / `json-nginx` / `json-traefik` / `json-cloudflare`.
    case named(String)
    /// An Apache `LogFormat` string.
    case apache(String)
    /// An nginx `log_format` string.
    case nginx(String)
    /// An e-mail event export read with a field mapping (`--email-fields`), on top of the
    /// e-mail preset `base` (`sendgrid`, `mailgun`) or alone.
    case emailFields(base: JSONLinesFormat.EmailPreset?, spec: String)
    /// An access log in JSON lines read with a field mapping (`--json-fields`), on top of the
    /// access-log preset `base` (`caddy`, `nginx`, `traefik`, `cloudflare`, or `auto` for
    /// `json`) or alone.
    case jsonFields(base: JSONLinesFormat.Preset?, spec: String)

    /// The names `--format` accepts.
    public static let names: [String] =
        TextFormat.presetNames + [
            "w3c", "gcs", "json", "json-caddy", "json-nginx", "json-traefik", "json-cloudflare", "json-sendgrid",
            "json-mailgun",
        ]

    /// Parses a `--format` value: a name, `auto`, `apache:STRING` or `nginx:STRING`.
    public init(parsing value: String) throws(VeilError) {
        if value == "auto" {
            self = .auto
        } else if value.hasPrefix("apache:") {
            self = .apache(String(value.dropFirst("apache:".count)))
        } else if value.hasPrefix("nginx:") {
            self = .nginx(String(value.dropFirst("nginx:".count)))
        } else if Self.names.contains(value) {
            self = .named(value)
        } else {
            throw VeilError(
                .usage,
                "unknown format '\(value)'; expected auto, \(Self.names.joined(separator: ", ")), apache:'LogFormat string' or nginx:'log_format string'"
            )
        }
    }

    /// Whether the choice is an e-mail event export (`json-sendgrid`, `json-mailgun`, or a
    /// field mapping): a webhook's batch of events may be one long line.
    public var isEmailExport: Bool {
        switch self {
        case .named(let name): name == "json-sendgrid" || name == "json-mailgun"
        case .emailFields: true
        case .auto, .apache, .nginx, .jsonFields: false
        }
    }

    public var description: String {
        switch self {
        case .auto: "auto"
        case .named(let n): n
        case .apache(let s): "apache:\(s)"
        case .nginx(let s): "nginx:\(s)"
        case .emailFields(let base, _): base.map { "json-\($0.rawValue)" } ?? "json-email"
        case .jsonFields(let base, _): base?.formatName ?? "json-fields"
        }
    }

    /// Builds the parser for a non-automatic choice.
    public func makeFormat() throws(VeilError) -> AnyLogFormat {
        switch self {
        case .auto:
            preconditionFailure("auto is resolved by FormatDetector")
        case .named(let name):
            if let t = TextFormat.preset(name) { return .text(t) }
            switch name {
            case "w3c": return .w3c(W3CFormat())
            case "gcs": return .w3c(W3CFormat.gcsUsage())
            case "json": return .json(JSONLinesFormat(preset: .auto))
            case "json-caddy": return .json(JSONLinesFormat(preset: .caddy))
            case "json-nginx": return .json(JSONLinesFormat(preset: .nginx))
            case "json-traefik": return .json(JSONLinesFormat(preset: .traefik))
            case "json-cloudflare": return .json(JSONLinesFormat(preset: .cloudflare))
            case "json-sendgrid": return .json(JSONLinesFormat(emailPreset: .sendgrid))
            case "json-mailgun": return .json(JSONLinesFormat(emailPreset: .mailgun))
            default: throw VeilError(.usage, "unknown format '\(name)'")
            }
        case .apache(let s):
            return .text(TextFormat(try CompiledFormat.apache(s), name: "apache:\(s)"))
        case .nginx(let s):
            return .text(TextFormat(try CompiledFormat.nginx(s), name: "nginx:\(s)"))
        case .emailFields(let base, let spec):
            return .json(try JSONLinesFormat(emailFields: spec, base: base))
        case .jsonFields(let base, let spec):
            return .json(try JSONLinesFormat(accessFields: spec, base: base))
        }
    }
}

/// One of veil's parsers, chosen at run time. The ingest loop switches on it once per file and
/// runs a loop specialised for the concrete parser.
public enum AnyLogFormat {
    case text(TextFormat)
    case json(JSONLinesFormat)
    /// W3C extended, or Google Cloud Storage usage logs (`W3CFormat.gcsUsage()`): the formats
    /// whose header names their columns.
    case w3c(W3CFormat)

    public var name: String {
        switch self {
        case .text(let f): f.name
        case .json(let f): f.name
        case .w3c(let f): f.name
        }
    }

    /// What the format reads each line after (`LineEnvelope`); never set on `haproxy`, which
    /// reads its own syslog header.
    public var envelope: LineEnvelope {
        get {
            switch self {
            case .text(let f): f.envelope
            case .json(let f): f.envelope
            case .w3c(let f): f.envelope
            }
        }
        set {
            switch self {
            case .text(var f):
                f.envelope = f.readsHAProxyLog ? .none : newValue
                self = .text(f)
            case .json(var f):
                f.envelope = newValue
                self = .json(f)
            case .w3c(var f):
                f.envelope = newValue
                self = .w3c(f)
            }
        }
    }
}
