import CByteScan

/// JSON lines: one JSON object per line, as Caddy, nginx (`escape=json`), Traefik and e-mail
/// event exports write them.
///
/// The parser is a small, strict RFC 8259 scanner over the line's bytes. It walks nested
/// objects, follows the key paths it was configured with (a trie built once in `init`) and
/// fills the `LogRecord` fields those paths are mapped to; everything else is validated and
/// skipped. Nothing is allocated per line.
///
/// Values:
/// - A string value is un-escaped in place (`\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t` and
///   `\uXXXX`, surrogate pairs included, become UTF-8; escapes only ever shrink), so ranges
///   point at decoded bytes. A lone surrogate becomes U+FFFD. Invalid UTF-8 is kept as bytes.
/// - A number value maps to the range of its text (`200`, `1700000000.123`).
/// - An array value maps to its first element when that is a string or number (Caddy writes
///   every header as an array: `"User-Agent":["curl/8.4.0"]`).
/// - `null`, booleans, `""` and `"-"` count as absent.
/// - An object value is descended into when some configured path continues through it.
///
/// Precedence: when several mapped keys of a line fill the same field, the one listed first in
/// the mapping wins, wherever it appears in the line (see `keyPaths(of:)` for the presets'
/// order). Equal precedence (`init(fieldMap:)`) means the first in the line wins.
///
/// Rejects: a line that is not exactly one object (plus spaces) → `.badJSON`; the line ends
/// inside the object (cut off, no closing brace) → `.truncated`; a NUL byte anywhere, or
/// another control byte outside a string → `.binaryGarbage` (a raw control byte inside a
/// string → `.badJSON`, as RFC 8259 requires); nesting deeper than 64 → `.badJSON`; no
/// timestamp → `.missingField`; a timestamp that does not parse → `.badTimestamp`; a status
/// outside 100...599 or not an integer → `.badStatus`, except a status of 0 (no response was
/// sent: the client went away), which is `.skip`; a size that is not a non-negative
/// integer → `.badBytes`; a request line without a space → `.badRequestLine`. A line of
/// only spaces is `.skip`, and so is an e-mail event other than open, click or delivered. An
/// e-mail event (open, click, delivered) without a recipient → `.missingField`; with an e-mail
/// preset or mapping (`isEmailExport`), a line without an event → `.missingField`.
///
/// E-mail presets (`json-sendgrid`, `json-mailgun`) and `init(emailFields:base:)` read e-mail
/// services' event exports; see `keyPaths(of:)` for their keys.
public struct JSONLinesFormat: LogFormat, Sendable {
    /// Key sets of the servers veil knows.
    public enum Preset: String, CaseIterable, Sendable {
        /// Caddy v2 access log (`http.log.access`).
        case caddy
        /// nginx `log_format ... escape=json` with the variable names as keys.
        case nginx
        /// Traefik access log in JSON.
        case traefik
        /// Cloudflare Logpush `http_requests` (JSON lines, any timestamp format).
        case cloudflare
        /// The union of the four: Caddy's keys first, then nginx's, then Traefik's, then
        /// Cloudflare's, then the time keys of custom nginx formats (`@timestamp`, `time`).
        case auto

        /// The `--format` name: `json-caddy`, …, and `json` for `auto`.
        public var formatName: String { self == .auto ? "json" : "json-\(rawValue)" }
    }

    /// Key sets of the e-mail services veil knows (their event exports, one event per line).
    public enum EmailPreset: String, CaseIterable, Sendable {
        /// SendGrid Event Webhook events.
        case sendgrid
        /// Mailgun events: Events API items or webhook payloads (`event-data`).
        case mailgun
    }

    /// What a key's value becomes.
    public enum Field: String, CaseIterable, Sendable {
        /// `record.site` (virtual host).
        case site
        /// `record.clientAddress`, an address as written (`192.0.2.1`, `2001:db8::1`).
        case clientAddress
        /// `record.clientAddress` from `ip:port` or `[ipv6]:port`; the port is dropped.
        case clientAddressAndPort
        /// `record.forwardedFor` (X-Forwarded-For chain).
        case forwardedFor
        /// `record.user` (authenticated user).
        case user
        /// `record.timestamp` and `record.milliseconds`. The value may be a number or string of
        /// epoch seconds (`1700000000.123`; milliseconds with 13 to 15 digits, microseconds with
        /// 16 to 18, nanoseconds with 19: `Timestamp.parseEpoch`), an ISO 8601 /
        /// RFC 3339 time (`2023-11-14T22:13:20.5Z`) or a CLF time (`14/Nov/2023:22:13:20 +0000`).
        case timestamp
        /// `record.method`.
        case method
        /// `record.target` (path and query, or an absolute URL: e-mail click `url`).
        case target
        /// `record.protocolVersion`.
        case protocolVersion
        /// A request line `GET /a HTTP/1.1`, split into method, target and protocol; it fills
        /// only those of the three that no other key gave.
        case requestLine
        /// `record.status`, a number or a string of digits, 100...599.
        case status
        /// `record.bytes`, a non-negative integer (number or string).
        case bytes
        /// `record.referrer`.
        case referrer
        /// `record.userAgent`.
        case userAgent
        /// `record.cookie`, a visitor id value as written (`$cookie_uid`).
        case cookie
        /// A whole `Cookie` header: the value of the cookie named by `cookieName` becomes
        /// `record.cookie`. Ignored when no `cookieName` is set (a full cookie header is not a
        /// visitor id). A `.cookie` key takes precedence over it.
        case cookieHeader
        /// `record.event` from `open`/`opened`, `click`/`clicked`, `delivered`/`delivery`
        /// (any case); other events make the line `.skip`.
        case event
        /// `record.recipient` (e-mail address or recipient token).
        case recipient
        /// `record.campaign` (campaign or message id).
        case campaign
        /// Who made the request, as Cloudflare's `ClientRequestSource` says: a value other than
        /// `eyeball` (`1`), an end user's request, makes the line `.skip` (Cloudflare's purges,
        /// Always Online crawls, health checks, Workers' subrequests, Early Hints fetches;
        /// Cloudflare's own dashboards count eyeball requests only).
        case requestSource
        /// `record.automation`: `true` (JSON literal or text), `1`, `yes`, `proxy`, `apple`,
        /// `gmail`, `yahoo` → `.proxy`; `false`, `0`, `no` → `.none`; any other text (Mailgun's
        /// `generic`) → `.bot`.
        case automation
        /// `record.duration`, how long the request took to serve: a number (or a string of
        /// one) of seconds (Caddy's `duration`, nginx's `$request_time`), milliseconds,
        /// microseconds or nanoseconds (Traefik's `Duration`); `ServingTime` reads it.
        case durationSeconds, durationMilliseconds, durationMicroseconds, durationNanoseconds

        /// The record slot a field fills (below `JSONLinesFormat.slotCount`); fields sharing a
        /// slot compete by precedence.
        var slot: Int {
            switch self {
            case .site: 0
            case .clientAddress, .clientAddressAndPort: 1
            case .forwardedFor: 2
            case .user: 3
            case .timestamp: 4
            case .method: 5
            case .target: 6
            case .protocolVersion: 7
            case .requestLine: 8
            case .status: 9
            case .bytes: 10
            case .referrer: 11
            case .userAgent: 12
            case .cookie, .cookieHeader: 13
            case .event: 14
            case .recipient: 15
            case .campaign: 16
            case .automation: 17
            case .requestSource: 18
            case .durationSeconds: 19
            case .durationMilliseconds: 20
            case .durationMicroseconds: 21
            case .durationNanoseconds: 22
            }
        }
    }

    /// How many field slots there are (`Field.slot`): the scanner's `InlineArray` of captured
    /// ranges has this many.
    static let slotCount = 23

    /// The format's name: `json-caddy`, `json-nginx`, `json-traefik`, `json-cloudflare`, `json`
    /// for `auto` and user mappings of key paths, `json-fields` for `init(accessFields:base:)`
    /// without a base preset (with one, the preset's name).
    public let name: String
    /// The cookie whose value a `.cookieHeader` key yields; empty when cookie headers are
    /// ignored.
    public let cookieName: [UInt8]
    /// An e-mail event export: a line without an event is rejected (`.missingField`).
    public let isEmailExport: Bool
    /// Whether the input logs user agents, so that a line without a user-agent key is a request
    /// that sent none (a bot's, as Caddy and Traefik omit the header a request lacked). False
    /// for an input none of whose first lines has a user-agent key (`learnUserAgentLogging(from:)`:
    /// Traefik drops request headers unless told to keep them; an nginx `log_format` may leave
    /// out `$http_user_agent`): its lines without the key say nothing about the client
    /// (`LogRecord.userAgentLogged` is false), while a line that has the key is read as usual.
    public var logsUserAgent = true
    /// Converts times written without a zone (ISO 8601 without an offset) from the log's zone
    /// (`setLogTimeZone(_:)`; UTC by default), and counts them.
    private var clock = LocalClock(zoneIdentifier: nil)
    /// How many times parsed so far were written without a zone.
    public var zonelessTimes: Int { clock.zonelessTimes }

    /// Reads times written without a zone in zone `identifier` (an IANA name checked by
    /// `LogTimeZone.identifier(_:)`), or as UTC when nil.
    public mutating func setLogTimeZone(_ identifier: String?) {
        clock = LocalClock(zoneIdentifier: identifier)
    }
    /// Whether `learnUserAgentLogging(from:)` may decide that the input logs no user agents:
    /// false for Caddy, which logs every request's headers, so that a line without the key is
    /// always a request that sent none (however many such lines an input starts with).
    public let mayOmitUserAgents: Bool
    /// Where the rest of the last line parsed starts when that line is an array of events and
    /// its last element read was good (`parseNext(_:into:)`); nil otherwise.
    private var arrayCursor: Int? = nil
    /// What is written around each line (a container runtime's or syslog's header): the object
    /// starts after it.
    public var envelope = LineEnvelope.none {
        didSet { hasEnvelope = envelope != .none }
    }
    private var hasEnvelope = false

    /// Key bytes of every trie entry, back to back.
    private let keyBytes: [UInt8]
    /// Trie entries: one per key per object level.
    private let entries: [Entry]
    /// `bucketsPerNode` chain heads per node (index into `entries`, -1 for none).
    private let buckets: [Int32]

    /// Builds a parser for one of the presets.
    /// - Parameters:
    ///   - preset: which servers' keys to map.
    ///   - cookieName: the cookie whose value becomes `record.cookie` when a line carries a
    ///     whole Cookie header (Caddy `request.headers.Cookie`, nginx `http_cookie`, Traefik
    ///     `request_Cookie`); nil ignores cookie headers.
    public init(preset: Preset, cookieName: String? = nil) {
        var builder = TrieBuilder()
        for (path, field) in Self.keyPaths(of: preset) {
            do {
                try builder.add(path: path, field: field)
            } catch {
                preconditionFailure("preset key path \(path): \(error)")
            }
        }
        self.init(
            builder: builder, name: preset.formatName,
            cookieName: cookieName, isEmailExport: false, mayOmitUserAgents: preset != .caddy)
    }

    /// Builds a parser for an e-mail service's event export (`json-sendgrid`, `json-mailgun`).
    public init(emailPreset: EmailPreset) {
        var builder = TrieBuilder()
        for (path, field) in Self.keyPaths(of: emailPreset) {
            do {
                try builder.add(path: path, field: field)
            } catch {
                preconditionFailure("preset key path \(path): \(error)")
            }
        }
        self.init(builder: builder, name: "json-\(emailPreset.rawValue)", cookieName: nil, isEmailExport: true)
    }

    /// The e-mail fields `init(emailFields:base:)` accepts, with their aliases.
    public static let emailFieldNames: [(name: String, field: Field)] = [
        ("event", .event), ("timestamp", .timestamp), ("time", .timestamp), ("recipient", .recipient),
        ("email", .recipient), ("campaign", .campaign), ("url", .target), ("ip", .clientAddress),
        ("user_agent", .userAgent), ("useragent", .userAgent), ("site", .site), ("automation", .automation),
    ]

    /// Builds an e-mail event parser from a field mapping such as
    /// `event=type,timestamp=ts,recipient=to.email,campaign=meta.campaign,url=link,ip=client.ip,user_agent=client.ua`.
    ///
    /// Each `field=key.path` maps a key path (dots separate nested keys, as in
    /// `init(mappings:cookieName:)`) to a field: `event`, `timestamp` (or `time`), `recipient`
    /// (or `email`), `campaign`, `url`, `ip`, `user_agent` (or `useragent`), `site`,
    /// `automation`. With a `base` e-mail preset the mapping comes first and the preset's keys
    /// for other paths still apply; without one, `event`, `timestamp` and `recipient` are
    /// required.
    /// - Throws: `VeilError(.usage)` for an unknown field, an empty path, a path given twice, or
    ///   a missing required field.
    public init(emailFields spec: String, base: EmailPreset? = nil) throws(VeilError) {
        let builder = try Self.mappingTrie(
            spec, option: "--email-fields", names: Self.emailFieldNames, base: base.map(Self.keyPaths(of:)),
            required: [(.event, "event"), (.timestamp, "timestamp"), (.recipient, "recipient")])
        self.init(builder: builder, name: "json-email", cookieName: nil, isEmailExport: true)
    }

    /// The access-log fields `init(accessFields:base:)` accepts, with their aliases.
    public static let accessFieldNames: [(name: String, field: Field)] = [
        ("timestamp", .timestamp), ("time", .timestamp), ("ip", .clientAddress), ("client", .clientAddress),
        ("ip_port", .clientAddressAndPort), ("forwarded_for", .forwardedFor), ("xff", .forwardedFor),
        ("user", .user), ("method", .method), ("target", .target), ("uri", .target), ("url", .target),
        ("protocol", .protocolVersion), ("request", .requestLine), ("status", .status), ("bytes", .bytes),
        ("size", .bytes), ("referrer", .referrer), ("referer", .referrer), ("user_agent", .userAgent),
        ("useragent", .userAgent), ("site", .site), ("host", .site), ("cookie", .cookie),
        ("duration", .durationSeconds), ("duration_s", .durationSeconds), ("duration_ms", .durationMilliseconds),
        ("duration_us", .durationMicroseconds), ("duration_ns", .durationNanoseconds),
    ]

    /// Builds an access-log parser from a field mapping such as
    /// `timestamp=start,ip=client.address,host=http.host,method=http.method,uri=http.path,status=http.status,user_agent=http.ua`.
    ///
    /// Each `field=key.path` maps a key path (as in `init(emailFields:base:)`) to a field:
    /// `timestamp` (or `time`: epoch seconds, milliseconds, microseconds or nanoseconds,
    /// ISO 8601 or CLF), `ip` (or `client`), `ip_port` (an address with a port), `forwarded_for`
    /// (or `xff`), `user`, `method`, `target` (or `uri`, `url`: path and query),
    /// `protocol`, `request` (a whole request line), `status`, `bytes` (or `size`),
    /// `referrer` (or `referer`), `user_agent` (or `useragent`), `site` (or `host`),
    /// `cookie` (a visitor id's value) and the serving time: `duration` (or `duration_s`:
    /// seconds), `duration_ms`, `duration_us` or `duration_ns`. With a `base` preset the mapping comes first and the
    /// preset's keys for other paths still apply; without one, `timestamp` is required.
    /// - Throws: `VeilError(.usage)` for an unknown field, an empty path, a path given twice, or
    ///   a missing timestamp.
    public init(accessFields spec: String, base: Preset? = nil) throws(VeilError) {
        let builder = try Self.mappingTrie(
            spec, option: "--json-fields", names: Self.accessFieldNames, base: base.map(Self.keyPaths(of:)),
            required: [(.timestamp, "timestamp")])
        self.init(
            builder: builder, name: base?.formatName ?? "json-fields",
            cookieName: nil, isEmailExport: false, mayOmitUserAgents: base != .caddy)
    }

    /// The key trie of a `--email-fields` or `--json-fields` mapping: the mapping's pairs
    /// first, then `base`'s keys for paths the mapping does not name; without a base, every
    /// `required` field must be mapped.
    private static func mappingTrie(
        _ spec: String, option: String, names: [(name: String, field: Field)],
        base: [(path: String, field: Field)]?, required: [(field: Field, name: String)]
    ) throws(VeilError) -> TrieBuilder {
        var pairs: [(path: String, field: Field)] = []
        for item in spec.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingASCIISpaces().lowercased()
            guard parts.count == 2, let field = names.first(where: { $0.name == name })?.field else {
                throw VeilError(
                    .usage,
                    "\(option): '\(item)' is not FIELD=KEY.PATH with FIELD one of \(names.map(\.name).joined(separator: ", "))"
                )
            }
            let path = parts[1].trimmingASCIISpaces()
            guard !path.isEmpty else { throw VeilError(.usage, "\(option): \(name) has an empty key path") }
            guard !pairs.contains(where: { $0.path == path }) else {
                throw VeilError(.usage, "\(option): key path '\(path)' is given twice")
            }
            pairs.append((path, field))
        }
        if let base {
            let mine = Set(pairs.map(\.path))
            pairs += base.filter { !mine.contains($0.path) }
        } else {
            for (field, name) in required where !pairs.contains(where: { $0.field == field }) {
                throw VeilError(.usage, "\(option): map the \(name) field (e.g. \(name)=\(name))")
            }
        }
        var builder = TrieBuilder()
        for (path, field) in pairs {
            do {
                try builder.add(path: path, field: field)
            } catch {
                throw VeilError(.usage, "\(option): \(error.message)")
            }
        }
        return builder
    }

    /// Builds a parser from key paths in order of precedence: for a field given by several
    /// keys, the earlier key wins.
    ///
    /// A key path names nested keys with dots: `request.headers.User-Agent`. A key that itself
    /// contains a dot or backslash is written with `\.` or `\\`. Keys compare byte for byte
    /// (after un-escaping the line's key). Arrays on the way are not descended into.
    /// - Throws: `VeilError.badFormat` for an empty path or component, or a path mapped to two
    ///   different fields.
    public init(mappings: KeyValuePairs<String, Field>, cookieName: String? = nil)
        throws(VeilError)
    {
        var builder = TrieBuilder()
        for (path, field) in mappings { try builder.add(path: path, field: field) }
        self.init(builder: builder, name: "json", cookieName: cookieName, isEmailExport: false)
    }

    /// Builds a parser from a user mapping of key paths (see `init(mappings:cookieName:)`)
    /// with no precedence: when two keys fill the same field, the first in the line wins.
    /// - Throws: `VeilError.badFormat` for an empty path or component.
    public init(fieldMap: [String: Field], cookieName: String? = nil) throws(VeilError) {
        var builder = TrieBuilder()
        for path in fieldMap.keys.sorted() {
            try builder.add(path: path, field: fieldMap[path]!, rank: 0)  // Safe: key from keys.
        }
        self.init(builder: builder, name: "json", cookieName: cookieName, isEmailExport: false)
    }

    private init(
        builder: TrieBuilder, name: String, cookieName: String?, isEmailExport: Bool, mayOmitUserAgents: Bool = true
    ) {
        self.name = name
        self.mayOmitUserAgents = mayOmitUserAgents
        self.cookieName = Array((cookieName ?? "").utf8)
        self.isEmailExport = isEmailExport
        self.keyBytes = builder.keyBytes
        self.entries = builder.entries
        self.buckets = builder.buckets
    }

    /// The key paths of a preset in order of precedence.
    public static func keyPaths(of preset: Preset) -> [(path: String, field: Field)] {
        switch preset {
        case .caddy: caddyKeys
        case .nginx: nginxKeys + nginxTimeAliases
        case .traefik: traefikKeys
        case .cloudflare: cloudflareKeys
        // The aliases last: Traefik's `StartUTC` before `time`, as in its own preset.
        case .auto: caddyKeys + nginxKeys + traefikKeys + cloudflareKeys + nginxTimeAliases
        }
    }

    /// The key paths of an e-mail preset in order of precedence.
    public static func keyPaths(of preset: EmailPreset) -> [(path: String, field: Field)] {
        switch preset {
        case .sendgrid: sendgridKeys
        case .mailgun: mailgunKeys
        }
    }

    /// SendGrid Event Webhook: `{"email":…,"timestamp":1700000000,"event":"open"|"click"|
    /// "delivered"|…,"url":…,"ip":…,"useragent":…,"sg_message_id":…,"category":…,
    /// "sg_machine_open":true|false}`. Campaign: `marketing_campaign_name` before
    /// `singlesend_name` before a `campaign` custom argument before `category` (a string, or the
    /// first of an array). `sg_machine_open: true` (Apple Mail Privacy Protection) is a proxy
    /// open. Other events (`processed`, `deferred`, `bounce`, …) are skipped.
    static let sendgridKeys: [(path: String, field: Field)] = [
        ("timestamp", .timestamp),
        ("event", .event),
        ("email", .recipient),
        ("marketing_campaign_name", .campaign),
        ("singlesend_name", .campaign),
        ("campaign", .campaign),
        ("category", .campaign),
        ("url", .target),
        ("ip", .clientAddress),
        ("useragent", .userAgent),
        ("sg_machine_open", .automation),
    ]

    /// Mailgun events, as the Events API lists them or wrapped in a webhook's `event-data`:
    /// `{"event":"opened"|"clicked"|"delivered"|…,"timestamp":1700000000.123,"recipient":…,
    /// "url":…,"ip":…,"client-info":{"user-agent":…,"bot":"apple"|"gmail"|"generic"|""},
    /// "tags":[…],"user-variables":{"campaign":…}}`. Campaign: `user-variables.campaign`
    /// before the first of `tags`. `client-info.bot` `apple` or `gmail` is a proxy, `generic` a
    /// bot.
    static let mailgunKeys: [(path: String, field: Field)] = [
        ("event-data.timestamp", .timestamp),
        ("timestamp", .timestamp),
        ("event-data.event", .event),
        ("event", .event),
        ("event-data.recipient", .recipient),
        ("recipient", .recipient),
        ("event-data.user-variables.campaign", .campaign),
        ("user-variables.campaign", .campaign),
        ("event-data.tags", .campaign),
        ("tags", .campaign),
        ("event-data.url", .target),
        ("url", .target),
        ("event-data.ip", .clientAddress),
        ("ip", .clientAddress),
        ("event-data.client-info.user-agent", .userAgent),
        ("client-info.user-agent", .userAgent),
        ("event-data.client-info.bot", .automation),
        ("client-info.bot", .automation),
    ]

    /// Caddy v2: `{"ts":1700000000.123,"request":{"client_ip":…,"headers":{"User-Agent":[…]}},…}`.
    /// `ts` may also be an ISO string (`time_format iso8601`); older versions write
    /// `request.remote_addr` as `ip:port`.
    static let caddyKeys: [(path: String, field: Field)] = [
        ("ts", .timestamp),
        ("request.client_ip", .clientAddress),
        ("request.remote_ip", .clientAddress),
        ("request.remote_addr", .clientAddressAndPort),
        ("request.method", .method),
        ("request.uri", .target),
        ("request.proto", .protocolVersion),
        ("request.host", .site),
        ("request.headers.User-Agent", .userAgent),
        ("request.headers.Referer", .referrer),
        ("request.headers.X-Forwarded-For", .forwardedFor),
        ("request.headers.Cookie", .cookieHeader),
        ("user_id", .user),
        ("status", .status),
        ("size", .bytes),
        ("duration", .durationSeconds),
    ]

    /// nginx `escape=json` with variable names as keys. Time: `msec` (milliseconds) before
    /// `time_iso8601` before `time_local` before `@timestamp` before `time`; `request_method`/`request_uri`/`server_protocol`
    /// before splitting `request`; `body_bytes_sent` before `bytes_sent`; `host` before
    /// `server_name`; `cookie_uid` before `uid` before the `http_cookie` header.
    static let nginxKeys: [(path: String, field: Field)] = [
        ("msec", .timestamp),
        ("time_iso8601", .timestamp),
        ("time_local", .timestamp),
        ("remote_addr", .clientAddress),
        ("remote_user", .user),
        ("request_method", .method),
        ("request_uri", .target),
        ("server_protocol", .protocolVersion),
        ("request", .requestLine),
        ("status", .status),
        ("body_bytes_sent", .bytes),
        ("bytes_sent", .bytes),
        ("http_referer", .referrer),
        ("http_user_agent", .userAgent),
        ("http_x_forwarded_for", .forwardedFor),
        ("host", .site),
        ("server_name", .site),
        ("cookie_uid", .cookie),
        ("uid", .cookie),
        ("http_cookie", .cookieHeader),
        ("request_time", .durationSeconds),
    ]

    /// Not nginx variables: the keys custom nginx formats often give `$time_iso8601`
    /// (`@timestamp` for Logstash and Elasticsearch), after the variables' names.
    static let nginxTimeAliases: [(path: String, field: Field)] = [
        ("@timestamp", .timestamp),
        ("time", .timestamp),
    ]

    /// Traefik: `StartUTC` before `time`, `ClientHost` before `ClientAddr` (`ip:port`);
    /// request headers appear as `request_<Name>` when Traefik is told to keep them.
    static let traefikKeys: [(path: String, field: Field)] = [
        ("StartUTC", .timestamp),
        ("time", .timestamp),
        ("ClientHost", .clientAddress),
        ("ClientAddr", .clientAddressAndPort),
        ("ClientUsername", .user),
        ("RequestMethod", .method),
        ("RequestPath", .target),
        ("RequestProtocol", .protocolVersion),
        ("RequestHost", .site),
        ("DownstreamStatus", .status),
        ("DownstreamContentSize", .bytes),
        ("request_User-Agent", .userAgent),
        ("request_Referer", .referrer),
        ("request_X-Forwarded-For", .forwardedFor),
        ("request_Cookie", .cookieHeader),
        ("Duration", .durationNanoseconds),
    ]

    /// Cloudflare Logpush, dataset `http_requests`: `{"ClientIP":…,"ClientRequestHost":…,
    /// "ClientRequestMethod":…,"ClientRequestURI":…,"EdgeResponseStatus":200,
    /// "EdgeStartTimestamp":1700000000123456789,…}`. The time is whichever of the job's
    /// `timestamp_format` choices it was written in: `unixnano` (the default), `unix` or
    /// `rfc3339`. The status is the one Cloudflare's edge sent the client, the size
    /// `EdgeResponseBytes`; a line whose `ClientRequestSource` is not `eyeball` (a request of
    /// Cloudflare's own: purge, health check, Worker subrequest, …) is skipped.
    static let cloudflareKeys: [(path: String, field: Field)] = [
        ("EdgeStartTimestamp", .timestamp),
        ("ClientIP", .clientAddress),
        ("ClientRequestMethod", .method),
        ("ClientRequestURI", .target),
        ("ClientRequestProtocol", .protocolVersion),
        ("ClientRequestHost", .site),
        ("EdgeResponseStatus", .status),
        ("EdgeResponseBytes", .bytes),
        ("ClientRequestReferer", .referrer),
        ("ClientRequestUserAgent", .userAgent),
        ("ClientRequestSource", .requestSource),
    ]

    // MARK: - Parsing

    /// Parses one line (see the type's documentation for the rules).
    /// - Parameters:
    ///   - line: the line without its terminator; string values with escapes are rewritten in
    ///     place.
    ///   - record: reset, then filled with ranges into `line`.
    /// - Complexity: O(line length); one pass, no allocation.
    public mutating func parse(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult
    {
        var cursor: Int? = nil
        // Never nil: the line may be rewritten.
        let result = parse(line.baseAddress, line.count, writable: true, cursor: &cursor, into: &record)!
        arrayCursor = cursor
        return result
    }

    /// The next event of a line that is a JSON array (`[{…},{…}]`, as SendGrid's Event Webhook
    /// and other webhooks post a batch), nil after the last. An element that is not a valid
    /// object is rejected and ends the line (where it ends is unknown); the elements before it
    /// are counted.
    public mutating func parseNext(_ line: UnsafeMutableBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    {
        guard let cursor = arrayCursor, let base = line.baseAddress else { return nil }
        arrayCursor = nil
        record.reset()
        var i = cursor
        let count = line.count
        while i < count, JSONScanner.isSpace(base[i]) { i += 1 }
        guard i < count else { return .reject(.truncated) }
        switch base[i] {
        case UInt8(ascii: ","):
            var next: Int? = nil
            let result = scan(base, count, at: i + 1, writable: true, element: true, end: &next, into: &record)!
            arrayCursor = next
            return result
        case UInt8(ascii: "]"):
            return Self.onlySpaces(base, count, from: i + 1) ? nil : .reject(.badJSON)
        default:
            return .reject(base[i] < 0x20 || base[i] == 0x7F ? .binaryGarbage : .badJSON)
        }
    }

    /// Parses one line without writing to it; nil for a line with a string escape (`\"`,
    /// `\u0026`, ...) to undo, which only `parse(_:into:)` un-escapes, and for an array of
    /// events, which `parse(_:into:)` and `parseNext(_:into:)` read.
    public mutating func parseReadOnly(_ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult?
    {
        var cursor: Int? = nil
        // Safe: with `writable: false` nothing is written through the pointer.
        return parse(
            UnsafeMutablePointer(mutating: line.baseAddress), line.count, writable: false, cursor: &cursor,
            into: &record)
    }

    /// - Parameter cursor: set after the first element of an array line.
    @inline(__always)
    private mutating func parse(
        _ line: UnsafeMutablePointer<UInt8>?, _ count: Int, writable: Bool, cursor: inout Int?,
        into record: inout LogRecord
    ) -> ParseResult? {
        record.reset()
        guard let base = line else { return .skip }
        var start = 0
        var count = count
        if hasEnvelope {
            guard let unwrapped = envelope.unwrap(base, count, writable: writable) else { return nil }
            guard let bounds = unwrapped.bounds(count) else { return unwrapped.result }
            (start, count) = bounds
        }
        while start < count, JSONScanner.isSpace(base[start]) { start += 1 }
        if start == count { return .skip }
        if base[start] == UInt8(ascii: "[") {
            // A batch of events: parsed element by element (`parseNext`), on a writable line.
            return writable ? firstElement(base, count, after: start, cursor: &cursor, into: &record) : nil
        }
        var unused: Int? = nil
        return scan(base, count, at: start, writable: writable, element: false, end: &unused, into: &record)
    }

    /// The first element of a top-level array whose `[` is at `bracket`; `.skip` for `[]`.
    /// Out of line: arrays are rare, and the path of a line of one object stays small.
    @inline(never)
    private mutating func firstElement(
        _ base: UnsafeMutablePointer<UInt8>, _ count: Int, after bracket: Int, cursor: inout Int?,
        into record: inout LogRecord
    ) -> ParseResult? {
        var i = bracket + 1
        while i < count, JSONScanner.isSpace(base[i]) { i += 1 }
        if i < count, base[i] == UInt8(ascii: "]") {
            return Self.onlySpaces(base, count, from: i + 1) ? .skip : .reject(.badJSON)
        }
        return scan(base, count, at: i, writable: true, element: true, end: &cursor, into: &record)
    }

    /// Whether the line has only spaces from `start` on (after an array's `]`).
    private static func onlySpaces(_ base: UnsafeMutablePointer<UInt8>, _ count: Int, from start: Int) -> Bool {
        var i = start
        while i < count, JSONScanner.isSpace(base[i]) { i += 1 }
        return i == count
    }

    /// Scans a whole-line object (`element` false), or one array element from `start`: spaces,
    /// then an object, after which `end` is set (left nil when the element is bad).
    @inline(__always)
    private mutating func scan(
        _ base: UnsafeMutablePointer<UInt8>, _ count: Int, at start: Int, writable: Bool, element: Bool,
        end: inout Int?, into record: inout LogRecord
    ) -> ParseResult? {
        let scanned: Result<JSONScanner, JSONScanFailure> = keyBytes.withUnsafeBufferPointer { keys in
            entries.withUnsafeBufferPointer { entries in
                buckets.withUnsafeBufferPointer { buckets in
                    // Safe: the arrays are never empty (the builder starts each with a sentinel
                    // or the root's buckets), so the base addresses exist.
                    var s = JSONScanner(
                        p: base, end: count, i: start, writable: writable, keys: keys.baseAddress!,
                        entries: entries.baseAddress!, buckets: buckets.baseAddress!)
                    do throws(JSONScanFailure) {
                        if element { try s.arrayElement() } else { try s.document() }
                    } catch {
                        return .failure(error)
                    }
                    return .success(s)
                }
            }
        }
        let s: JSONScanner
        switch scanned {
        case .success(let scanner): s = scanner
        case .failure(let fail):
            guard let reason = fail.reason else { return nil }
            return .reject(reason)
        }
        if element { end = s.i }
        return finish(s, UnsafeBufferPointer(start: base, count: count), into: &record)
    }

    /// Turns the captured ranges into record fields, decoding numbers and times.
    private mutating func finish(_ s: JSONScanner, _ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord)
        -> ParseResult
    {
        record.site = s.range(.site)
        record.clientAddress = s.range(.clientAddress)
        record.forwardedFor = s.range(.forwardedFor)
        record.user = s.range(.user)
        record.method = s.range(.method)
        record.target = s.range(.target)
        record.protocolVersion = s.range(.protocolVersion)
        record.referrer = s.range(.referrer)
        record.userAgent = s.range(.userAgent)
        record.cookie = s.range(.cookie)
        record.recipient = s.range(.recipient)
        record.campaign = s.range(.campaign)
        let event = s.range(.event), automation = s.range(.automation), timestamp = s.range(.timestamp)
        let status = s.range(.status), bytes = s.range(.bytes), requestLine = s.range(.requestLine)
        let source = s.range(.requestSource)
        if !source.isEmpty && !Self.isEyeball(source.slice(line)) {
            record.reset()
            return .skip
        }
        if !event.isEmpty {
            guard let kind = Self.eventKind(event.slice(line)) else {
                // An event of another kind: skipped. The recipient's range stays in the record,
                // every other field empty: `--format auto` counts such a skip for a preset only
                // when the line names a recipient where the preset looks for one, so that a
                // Mailgun export whose first lines are all `accepted` events is not taken for
                // SendGrid's.
                let recipient = record.recipient
                record.reset()
                record.recipient = recipient
                return .skip
            }
            record.event = kind
            guard !record.recipient.isEmpty else { return fail(.missingField, &record) }
            if !automation.isEmpty { record.automation = Self.automation(automation.slice(line)) }
        } else if isEmailExport {
            return fail(.missingField, &record)
        }
        guard !timestamp.isEmpty else { return fail(.missingField, &record) }
        var zoned = true
        guard let time = Self.time(timestamp.slice(line), zoned: &zoned) else {
            return fail(.badTimestamp, &record)
        }
        // A time without a zone is in the log's (`--log-tz`; UTC by default).
        record.timestamp = zoned ? time.seconds : clock.utc(time.seconds)
        record.milliseconds = time.milliseconds
        if !status.isEmpty {
            let text = status.slice(line)
            guard let status = Self.status(text) else {
                // 0: no response was sent (Cloudflare, Caddy and Traefik log a request whose
                // client went away first this way).
                if text.count == 1 && text[0] == UInt8(ascii: "0") {
                    record.reset()
                    return .skip
                }
                return fail(.badStatus, &record)
            }
            record.status = status
        }
        if !bytes.isEmpty {
            guard let bytes = Self.integer(bytes.slice(line)) else {
                return fail(.badBytes, &record)
            }
            record.bytes = bytes
        }
        if s.hasDuration {
            record.duration = Self.duration(
                s.range(.durationSeconds), s.range(.durationMilliseconds), s.range(.durationMicroseconds),
                s.range(.durationNanoseconds), line)
        }
        if !requestLine.isEmpty {
            guard Self.splitRequestLine(requestLine, line, into: &record) else {
                return fail(.badRequestLine, &record)
            }
        }
        if s.addressHasPort {
            record.clientAddress = HostPort.address(in: line, record.clientAddress)
        }
        if !logsUserAgent && !s.userAgentKeySeen { record.userAgentLogged = false }
        if s.cookieIsHeader {
            record.cookie =
                cookieName.isEmpty
                ? .empty
                : cookieName.withUnsafeBufferPointer {
                    CookieHeader.value(named: $0, in: line, record.cookie, plusIsSpace: false)
                }
        }
        return .record
    }

    /// The serving time (µs) of the first of the duration slots filled (seconds, milliseconds,
    /// microseconds, nanoseconds), in its unit; -1 when its value is not a number (`-`, a
    /// negative number).
    @inline(never)
    private static func duration(
        _ s: ByteRange, _ ms: ByteRange, _ us: ByteRange, _ ns: ByteRange, _ line: UnsafeBufferPointer<UInt8>
    ) -> Int64 {
        let (r, unit): (ByteRange, ServingTime.Unit) =
            !s.isEmpty
            ? (s, .seconds) : !ms.isEmpty ? (ms, .milliseconds) : !us.isEmpty ? (us, .microseconds) : (ns, .nanoseconds)
        return ServingTime.microseconds(r.slice(line), unit: unit) ?? -1
    }

    /// Sets `logsUserAgent` from the first lines of an input: true when one of them has a
    /// key mapped to the user agent with a string or number value (an empty or `-` string
    /// counts; `null` does not), false when none has. Lines that do not parse say nothing;
    /// with none that parses, and for a format that always logs user agents
    /// (`mayOmitUserAgents` false: Caddy), `logsUserAgent` is left as it is.
    /// - Parameter sample: the input's first lines, nil for a line over the length limit.
    public mutating func learnUserAgentLogging(from sample: [[UInt8]?]) {
        guard mayOmitUserAgents else { return }
        var probe = self
        probe.logsUserAgent = false
        var record = LogRecord()
        var parsed = false
        for line in sample {
            guard var copy = line else { continue }
            let result = copy.withUnsafeMutableBufferPointer { probe.parse($0, into: &record) }
            guard case .record = result else { continue }
            if record.userAgentLogged {
                logsUserAgent = true
                return
            }
            parsed = true
        }
        if parsed { logsUserAgent = false }
    }

    /// `eyeball` or `1`: Cloudflare's `ClientRequestSource` of an end user's request.
    static func isEyeball(_ t: UnsafeBufferPointer<UInt8>) -> Bool {
        t.elementsEqual("eyeball".utf8) || (t.count == 1 && t[0] == UInt8(ascii: "1"))
    }

    @inline(never)
    private func fail(_ reason: RejectReason, _ record: inout LogRecord) -> ParseResult {
        record.reset()
        return .reject(reason)
    }

    /// Epoch (number or digits), ISO 8601 (`YYYY-`…) or CLF (`DD/Mon/…`, brackets optional);
    /// `zoned` is set false for an ISO 8601 time without a zone (returned as if it were UTC).
    static func time(_ t: UnsafeBufferPointer<UInt8>, zoned: inout Bool) -> (seconds: Int64, milliseconds: Int16)? {
        let n = t.count
        if n >= 5 && t[4] == UInt8(ascii: "-") { return Timestamp.parseISO8601(t, zoned: &zoned) }
        if n >= 3 && t[2] == UInt8(ascii: "/") {
            return Timestamp.parseCLF(t).map { ($0, 0) }
        }
        if n >= 4 && t[0] == UInt8(ascii: "[") && t[n - 1] == UInt8(ascii: "]") {
            return Timestamp.parseCLF(UnsafeBufferPointer(rebasing: t[1..<(n - 1)])).map { ($0, 0) }
        }
        return Timestamp.parseEpoch(t)
    }

    /// Three digits, 100...599.
    static func status(_ t: UnsafeBufferPointer<UInt8>) -> UInt16? {
        guard t.count == 3 else { return nil }
        let a = t[0] &- UInt8(ascii: "0"), b = t[1] &- UInt8(ascii: "0"), c = t[2] &- UInt8(ascii: "0")
        guard a >= 1, a <= 5, b <= 9, c <= 9 else { return nil }
        return UInt16(a) * 100 + UInt16(b) * 10 + UInt16(c)
    }

    /// 1...18 decimal digits.
    static func integer(_ t: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard t.count >= 1, t.count <= 18 else { return nil }
        var v: Int64 = 0
        for c in t {
            let d = c &- UInt8(ascii: "0")
            guard d <= 9 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    /// Splits `METHOD TARGET[ PROTOCOL]` at its first and last space, filling only the parts
    /// the record does not have yet. False when there is no space or no target.
    static func splitRequestLine(
        _ r: ByteRange, _ line: UnsafeBufferPointer<UInt8>, into record: inout LogRecord
    ) -> Bool {
        let s = Int(r.start), e = Int(r.end)
        var sp1 = s
        while sp1 < e, line[sp1] != UInt8(ascii: " ") { sp1 += 1 }
        guard sp1 > s, sp1 < e else { return false }
        var sp2 = e - 1
        while sp2 > sp1, line[sp2] != UInt8(ascii: " ") { sp2 -= 1 }
        var targetEnd = e
        var proto = ByteRange.empty
        if sp2 > sp1 + 1, e - sp2 > 5, line[sp2 + 1] == UInt8(ascii: "H"),
            line[sp2 + 2] == UInt8(ascii: "T"), line[sp2 + 3] == UInt8(ascii: "T"),
            line[sp2 + 4] == UInt8(ascii: "P"), line[sp2 + 5] == UInt8(ascii: "/")
        {
            targetEnd = sp2
            proto = ByteRange(sp2 + 1, e)
        }
        guard targetEnd > sp1 + 1 else { return false }
        if record.method.isEmpty { record.method = ByteRange(s, sp1) }
        if record.target.isEmpty { record.target = ByteRange(sp1 + 1, targetEnd) }
        if record.protocolVersion.isEmpty { record.protocolVersion = proto }
        return true
    }

    /// An automation hint's value (see `Field.automation`), any case.
    static func automation(_ t: UnsafeBufferPointer<UInt8>) -> AutomationHint {
        func equals(_ word: StaticString) -> Bool {
            guard t.count == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<t.count where (t[k] | 0x20) != w[k] { return false }
            return true
        }
        if equals("true") || equals("1") || equals("yes") || equals("proxy") || equals("apple") || equals("gmail")
            || equals("yahoo")
        {
            return .proxy
        }
        if equals("false") || equals("0") || equals("no") || equals("none") { return .none }
        return .bot
    }

    /// The event kind for an e-mail event name, any case; nil for events veil does not count.
    static func eventKind(_ t: UnsafeBufferPointer<UInt8>) -> EventKind? {
        func equals(_ word: StaticString) -> Bool {
            guard t.count == word.utf8CodeUnitCount else { return false }
            let w = word.utf8Start
            for k in 0..<t.count where (t[k] | 0x20) != w[k] { return false }
            return true
        }
        switch t.count {
        case 4: if equals("open") { return .open }
        case 5: if equals("click") { return .click }
        case 6: if equals("opened") { return .open }
        case 7: if equals("clicked") { return .click }
        case 8: if equals("delivery") { return .delivered }
        case 9: if equals("delivered") { return .delivered }
        default: break
        }
        return nil
    }

    // MARK: - Key trie

    /// Buckets per object level; a key's bucket comes from its length and first eight bytes.
    static let bucketsPerNode = 32

    /// One key at one object level.
    struct Entry: Sendable {
        /// The key's first eight bytes (fewer when it is shorter, zero above them), first byte
        /// lowest: compared in one go before the rest.
        var prefix: UInt64
        var keyStart: Int32
        var keyCount: Int32
        /// Next entry in the same bucket, -1 at the end.
        var next: Int32
        /// The node (object level) below this key, -1 when no path continues.
        var child: Int32
        /// The field this key's value fills, if any.
        var field: Field?
        /// Precedence within the field's slot: lower wins; 0...14.
        var rank: UInt8
    }

    /// The bytes of a word that hold the first `n` bytes of a key.
    @inline(__always)
    static func prefixMask(_ n: Int) -> UInt64 {
        n >= 8 ? ~0 : (1 &<< UInt64(n &* 8)) &- 1
    }

    /// The `Entry.prefix` of the `n` key bytes at `k`; `readable` says whether eight bytes are
    /// readable there (one load), else the bytes are gathered one by one.
    @inline(__always)
    static func prefix(_ k: UnsafePointer<UInt8>, _ n: Int, readable: Bool) -> UInt64 {
        if readable { return ByteWords.load(k, 0) & prefixMask(n) }
        var w: UInt64 = 0
        for j in 0..<min(n, 8) { w |= UInt64(k[j]) &<< UInt64(j &* 8) }
        return w
    }

    @inline(__always)
    static func bucket(prefix: UInt64, _ n: Int) -> Int {
        Int(truncatingIfNeeded: ((prefix ^ UInt64(truncatingIfNeeded: n)) &* 0x9E37_79B9_7F4A_7C15) &>> 59)
    }

    /// Builds the key trie from key paths.
    struct TrieBuilder {
        var keyBytes: [UInt8] = [0]
        var entries: [Entry] = [
            Entry(prefix: 0, keyStart: 0, keyCount: 0, next: -1, child: -1, field: nil, rank: 0)
        ]
        var buckets = [Int32](repeating: -1, count: JSONLinesFormat.bucketsPerNode)
        /// How many keys each slot has so far (the next key's rank).
        var slotKeys = [UInt8](repeating: 0, count: JSONLinesFormat.slotCount)

        /// Adds a path; `rank` nil means "after the keys already added for this field".
        mutating func add(path: String, field: Field, rank: UInt8? = nil) throws(VeilError) {
            let components = try Self.split(path)
            var node: Int32 = 0
            for (n, component) in components.enumerated() {
                let e = entry(node: node, key: component)
                if n < components.count - 1 {
                    if entries[e].child < 0 {
                        entries[e].child = Int32(buckets.count / JSONLinesFormat.bucketsPerNode)
                        buckets += [Int32](repeating: -1, count: JSONLinesFormat.bucketsPerNode)
                    }
                    node = entries[e].child
                } else if let existing = entries[e].field {
                    guard existing == field else {
                        throw VeilError(
                            .badFormat,
                            "JSON key path '\(path)' is mapped to both \(existing.rawValue) and \(field.rawValue)"
                        )
                    }
                } else {
                    let slot = field.slot
                    entries[e].field = field
                    entries[e].rank = min(rank ?? slotKeys[slot], 14)
                    slotKeys[slot] = min(slotKeys[slot] + 1, 14)
                }
            }
        }

        /// The entry for `key` under `node`, created when missing.
        private mutating func entry(node: Int32, key: [UInt8]) -> Int {
            // Safe: a key path component is never empty (`split`).
            let prefix = key.withUnsafeBufferPointer {
                JSONLinesFormat.prefix($0.baseAddress!, $0.count, readable: false)
            }
            let b = Int(node) * JSONLinesFormat.bucketsPerNode + JSONLinesFormat.bucket(prefix: prefix, key.count)
            var e = buckets[b]
            while e >= 0 {
                let x = entries[Int(e)]
                if Int(x.keyCount) == key.count
                    && keyBytes[Int(x.keyStart)..<Int(x.keyStart + x.keyCount)].elementsEqual(key)
                {
                    return Int(e)
                }
                e = x.next
            }
            entries.append(
                Entry(
                    prefix: prefix,
                    keyStart: Int32(keyBytes.count), keyCount: Int32(key.count), next: buckets[b],
                    child: -1, field: nil, rank: 0))
            keyBytes += key
            buckets[b] = Int32(entries.count - 1)
            return entries.count - 1
        }

        /// Splits a dotted path; `\.` and `\\` stand for a literal dot and backslash.
        static func split(_ path: String) throws(VeilError) -> [[UInt8]] {
            var components: [[UInt8]] = [[]]
            var escaped = false
            for c in path.utf8 {
                if escaped {
                    components[components.count - 1].append(c)
                    escaped = false
                } else if c == UInt8(ascii: "\\") {
                    escaped = true
                } else if c == UInt8(ascii: ".") {
                    components.append([])
                } else {
                    components[components.count - 1].append(c)
                }
            }
            guard !escaped, !components.contains(where: \.isEmpty) else {
                throw VeilError(.badFormat, "JSON key path '\(path)' has an empty component")
            }
            return components
        }
    }
}

// MARK: - JSONScanner

/// Why a line was rejected, thrown inside the scanner (typed throws: no allocation).
private struct JSONScanFailure: Error {
    /// Why the line is rejected; nil when a string has escapes to undo in a line that must
    /// not be written to (the caller parses a copy).
    var reason: RejectReason?
    init(_ reason: RejectReason?) { self.reason = reason }
}

/// One pass over one line: validates the JSON, un-escapes strings in place and captures the
/// ranges of mapped values.
private struct JSONScanner {
    let p: UnsafeMutablePointer<UInt8>
    let end: Int
    var i: Int
    /// Whether string escapes may be undone in place; if not, the first one ends the scan.
    let writable: Bool
    let keys: UnsafePointer<UInt8>
    let entries: UnsafePointer<JSONLinesFormat.Entry>
    let buckets: UnsafePointer<Int32>

    /// The range captured for each field slot (`Field.slot`), `.empty` when none was; read
    /// into the record after the scan (`range(_:)`). Stored by index, not by a switch on the
    /// field: the switch's indirect jump mispredicted on every other key.
    var slots = InlineArray<23, ByteRange>(repeating: .empty)
    /// Whether slot 1 holds `ip:port` (`clientAddressAndPort`), slot 13 a whole cookie header.
    var addressHasPort = false
    var cookieIsHeader = false
    /// Whether a key mapped to the user agent was seen, even with an empty or `-` value.
    var userAgentKeySeen = false
    /// Whether a serving-time slot was filled.
    var hasDuration = false
    /// Precedence rank of the key that filled each slot, 4 bits per slot; 15 = not filled.
    var ranks: UInt128 = ~0

    /// The range captured for `field`'s slot.
    @inline(__always)
    func range(_ field: JSONLinesFormat.Field) -> ByteRange { slots[field.slot] }

    static let maxDepth = 64

    init(
        p: UnsafeMutablePointer<UInt8>, end: Int, i: Int, writable: Bool, keys: UnsafePointer<UInt8>,
        entries: UnsafePointer<JSONLinesFormat.Entry>, buckets: UnsafePointer<Int32>
    ) {
        self.p = p
        self.end = end
        self.i = i
        self.writable = writable
        self.keys = keys
        self.entries = entries
        self.buckets = buckets
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
            || c == UInt8(ascii: "\n")
    }

    @inline(__always)
    mutating func skipSpace() {
        // Most bytes after a token are not blank: one compare says so.
        while i < end, p[i] <= 0x20, Self.isSpace(p[i]) { i += 1 }
    }

    /// The error for the byte at `i`: end of line, control byte, or anything else.
    @inline(never)
    func unexpected() -> JSONScanFailure {
        guard i < end else { return JSONScanFailure(.truncated) }
        let c = p[i]
        return JSONScanFailure(c < 0x20 || c == 0x7F ? .binaryGarbage : .badJSON)
    }

    /// The whole line: one object, optionally surrounded by spaces.
    mutating func document() throws(JSONScanFailure) {
        skipSpace()
        guard i < end, p[i] == UInt8(ascii: "{") else { throw unexpected() }
        i += 1
        try object(node: 0, depth: 1)
        skipSpace()
        if i < end { throw unexpected() }
    }

    /// One element of a top-level array: spaces, then an object; leaves `i` after its `}`.
    mutating func arrayElement() throws(JSONScanFailure) {
        skipSpace()
        guard i < end, p[i] == UInt8(ascii: "{") else { throw unexpected() }
        i += 1
        try object(node: 0, depth: 2)
    }

    /// An object after its `{`; `node` is the trie level for its keys, -1 when none is mapped.
    mutating func object(node: Int32, depth: Int) throws(JSONScanFailure) {
        guard depth <= Self.maxDepth else { throw JSONScanFailure(.badJSON) }
        skipSpace()
        guard i < end else { throw JSONScanFailure(.truncated) }
        if p[i] == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            guard i < end, p[i] == UInt8(ascii: "\"") else { throw unexpected() }
            i += 1
            let key = try string()
            skipSpace()
            guard i < end, p[i] == UInt8(ascii: ":") else { throw unexpected() }
            i += 1
            skipSpace()
            let e = node >= 0 ? lookup(node, key) : -1
            if e >= 0 {
                try mappedValue(entries[e], depth: depth)
            } else {
                try value(depth: depth)
            }
            skipSpace()
            guard i < end else { throw JSONScanFailure(.truncated) }
            let c = p[i]
            if c == UInt8(ascii: ",") {
                i += 1
                skipSpace()
            } else if c == UInt8(ascii: "}") {
                i += 1
                return
            } else {
                throw unexpected()
            }
        }
    }

    /// The trie entry for the key at `key` under `node`, or -1.
    @inline(__always)
    func lookup(_ node: Int32, _ key: ByteRange) -> Int {
        let n = key.count
        guard n > 0 else { return -1 }
        let k = p + Int(key.start)
        let prefix = JSONLinesFormat.prefix(k, n, readable: Int(key.start) &+ 8 <= end)
        var e = Int(buckets[Int(node) &* JSONLinesFormat.bucketsPerNode &+ JSONLinesFormat.bucket(prefix: prefix, n)])
        while e >= 0 {
            let entry = entries[e]
            if entry.prefix == prefix && Int(entry.keyCount) == n
                && (n <= 8 || ByteWords.equal(keys + (Int(entry.keyStart) &+ 8), k + 8, count: n &- 8))
            {
                return e
            }
            e = Int(entry.next)
        }
        return -1
    }

    /// A value whose key is in the trie: captured, descended into, or skipped.
    mutating func mappedValue(_ e: JSONLinesFormat.Entry, depth: Int) throws(JSONScanFailure) {
        guard i < end else { throw JSONScanFailure(.truncated) }
        switch p[i] {
        case UInt8(ascii: "{"):
            i += 1
            try object(node: e.child, depth: depth + 1)
        case UInt8(ascii: "\""):
            i += 1
            let r = try string()
            if let f = e.field { assign(f, r, rank: e.rank) }
        case UInt8(ascii: "["):
            i += 1
            try array(depth: depth + 1, first: e.field, rank: e.rank)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let r = try number()
            if let f = e.field { assign(f, r, rank: e.rank) }
        case UInt8(ascii: "t") where e.field == .automation:
            let start = i
            try word("true")
            assign(.automation, ByteRange(start, i), rank: e.rank)
        default:
            try value(depth: depth)
        }
    }

    /// Any value, validated and skipped.
    mutating func value(depth: Int) throws(JSONScanFailure) {
        guard i < end else { throw JSONScanFailure(.truncated) }
        switch p[i] {
        case UInt8(ascii: "\""):
            i += 1
            _ = try string()
        case UInt8(ascii: "{"):
            i += 1
            try object(node: -1, depth: depth + 1)
        case UInt8(ascii: "["):
            i += 1
            try array(depth: depth + 1, first: nil, rank: 0)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
        case UInt8(ascii: "t"): try word("true")
        case UInt8(ascii: "f"): try word("false")
        case UInt8(ascii: "n"): try word("null")
        default: throw unexpected()
        }
    }

    /// An array after its `[`; its first element fills `first` when it is a string or number.
    mutating func array(depth: Int, first: JSONLinesFormat.Field?, rank: UInt8) throws(JSONScanFailure) {
        guard depth <= Self.maxDepth else { throw JSONScanFailure(.badJSON) }
        skipSpace()
        guard i < end else { throw JSONScanFailure(.truncated) }
        if p[i] == UInt8(ascii: "]") {
            i += 1
            return
        }
        var take = first
        while true {
            if let f = take, i < end, p[i] == UInt8(ascii: "\"") {
                i += 1
                let r = try string()
                assign(f, r, rank: rank)
            } else if let f = take, i < end,
                p[i] == UInt8(ascii: "-") || p[i] &- UInt8(ascii: "0") <= 9
            {
                let r = try number()
                assign(f, r, rank: rank)
            } else {
                try value(depth: depth)
            }
            take = nil
            skipSpace()
            guard i < end else { throw JSONScanFailure(.truncated) }
            let c = p[i]
            if c == UInt8(ascii: ",") {
                i += 1
                skipSpace()
            } else if c == UInt8(ascii: "]") {
                i += 1
                return
            } else {
                throw unexpected()
            }
        }
    }

    /// `true`, `false` or `null`.
    mutating func word(_ w: StaticString) throws(JSONScanFailure) {
        let q = w.utf8Start
        for k in 0..<w.utf8CodeUnitCount {
            guard i < end, p[i] == q[k] else { throw unexpected() }
            i += 1
        }
    }

    /// A number per RFC 8259: `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    mutating func number() throws(JSONScanFailure) -> ByteRange {
        let start = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < end else { throw JSONScanFailure(.truncated) }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else if p[i] &- UInt8(ascii: "1") <= 8 {
            i = ByteWords.digitsEnd(p, from: i &+ 1, to: end)
        } else {
            throw unexpected()
        }
        if i < end, p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, p[i] &- UInt8(ascii: "0") <= 9 else { throw unexpected() }
            i = ByteWords.digitsEnd(p, from: i &+ 1, to: end)
        }
        if i < end, p[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < end, p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, p[i] &- UInt8(ascii: "0") <= 9 else { throw unexpected() }
            while i < end, p[i] &- UInt8(ascii: "0") <= 9 { i += 1 }
        }
        return ByteRange(start, i)
    }

    /// A string after its opening quote; returns its decoded range and moves past the closing
    /// quote.
    @inline(__always)
    mutating func string() throws(JSONScanFailure) -> ByteRange {
        let start = i
        let j = Self.stop(p, i, end)
        guard j < end else {
            i = end
            throw JSONScanFailure(.truncated)
        }
        let c = p[j]
        if c == UInt8(ascii: "\"") {
            i = j &+ 1
            return ByteRange(start, j)
        }
        i = j
        if c == UInt8(ascii: "\\") {
            guard writable else { throw JSONScanFailure(nil) }
            return try escapedString(start: start)
        }
        throw JSONScanFailure(c == 0 ? .binaryGarbage : .badJSON)
    }

    /// The index of the first `"`, `\` or control byte in `p[i..<n]`, or `n`: sixteen bytes at
    /// a time while they last, then eight (an exact "any" mask whose lowest flag is a true
    /// stop), then one.
    @inline(__always)
    static func stop(_ p: UnsafeMutablePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var i = veil_scan16_json_string(p, i, n)
        if i &+ 16 <= n { return i }
        let quotes = ByteWords.broadcast(UInt8(ascii: "\"")), backslashes = ByteWords.broadcast(UInt8(ascii: "\\"))
        while i &+ 8 <= n {
            let w = ByteWords.load(p, i)
            let m = ByteWords.zeroBytes(w ^ quotes) | ByteWords.zeroBytes(w ^ backslashes) | ByteWords.below0x20(w)
            if m != 0 { return i &+ ByteWords.lowestByte(m) }
            i &+= 8
        }
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { return i }
            i &+= 1
        }
        return n
    }

    /// The rest of a string from its first backslash at `i`, un-escaped in place.
    @inline(never)
    mutating func escapedString(start: Int) throws(JSONScanFailure) -> ByteRange {
        var w = i
        while true {
            guard i < end else { throw JSONScanFailure(.truncated) }
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return ByteRange(start, w)
            }
            if c < 0x20 { throw JSONScanFailure(c == 0 ? .binaryGarbage : .badJSON) }
            if c != UInt8(ascii: "\\") {
                p[w] = c
                w += 1
                i += 1
                continue
            }
            do {
                (i, w) = try JSONEscape.undo(p, at: i, end: end, to: w)
            } catch {
                switch error {
                case .truncated: throw JSONScanFailure(.truncated)
                case .badByte(let k):
                    let c = p[k]
                    throw JSONScanFailure(c < 0x20 || c == 0x7F ? .binaryGarbage : .badJSON)
                }
            }
        }
    }

    /// Captures a mapped value unless it is empty or `-`, or a better-ranked key already
    /// filled the slot.
    @inline(__always)
    mutating func assign(_ field: JSONLinesFormat.Field, _ r: ByteRange, rank: UInt8) {
        if field == .userAgent { userAgentKeySeen = true }
        let n = r.count
        if n == 0 || (n == 1 && p[Int(r.start)] == UInt8(ascii: "-")) { return }
        let shift = field.slot &* 4
        let current = UInt8(truncatingIfNeeded: ranks >> shift) & 0xF
        guard rank < current else { return }
        ranks = (ranks & ~(UInt128(0xF) << shift)) | (UInt128(rank) << shift)
        slots[field.slot] = r
        // The two slots shared by two fields remember which one filled them.
        if field == .clientAddress || field == .clientAddressAndPort {
            addressHasPort = field == .clientAddressAndPort
        } else if field == .cookie || field == .cookieHeader {
            cookieIsHeader = field == .cookieHeader
        } else if field.slot >= JSONLinesFormat.Field.durationSeconds.slot {
            hasDuration = true
        }
    }
}

extension Substring {
    /// The text without leading and trailing ASCII spaces and tabs.
    func trimmingASCIISpaces() -> String {
        var a = startIndex
        var b = endIndex
        while a < b, self[a] == " " || self[a] == "\t" { a = index(after: a) }
        while b > a, self[index(before: b)] == " " || self[index(before: b)] == "\t" { b = index(before: b) }
        return String(self[a..<b])
    }
}
