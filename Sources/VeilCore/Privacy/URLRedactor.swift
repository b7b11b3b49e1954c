/// Redacts request targets and referrers so that no identifier in a URL reaches a rollup.
///
/// A request target (`/users/jane.doe@example.com/orders/8812?token=ab12&utm_source=mail`)
/// becomes its path with identifying segments replaced, plus only the allowed query
/// parameters (`/users/:email/orders/:id?utm_source=mail`):
///
/// - An absolute URL (`scheme://authority/path`) keeps only its path; an empty path is `/`.
/// - The fragment (`#...`) is dropped.
/// - Query parameters (separated by `&`) are kept only when their percent-decoded name is on
///   the allow-list (ASCII case-insensitive; an entry ending in `*` is a prefix), in their
///   original order and as written — except that a kept value that looks like an e-mail
///   address, a UUID or a token is replaced by that placeholder too. No kept parameter, no `?`.
/// - Path segments (separated by `/`) lose their `;` parameters (`;jsessionid=...`), are
///   percent-decoded for testing (`%40` is `@`) and written as written when kept. A segment is
///   replaced when it looks like:
///   - an e-mail address — a non-empty local part, `@`, and a domain of two or more
///     dot-separated labels of letters, digits and `-` → `:email`;
///   - a UUID, 8-4-4-4-12 hex digits → `:uuid`;
///   - a number: only digits, or digits with the separators `- . + _ , ( )` holding at least
///     six digits (dates, phone numbers) → `:id`;
///   - a token: at least 16 hex digits, or at least 20 characters of the base64/base64url
///     alphabet (letters, digits, `- _ . + = /`) with both letters and digits, unless it reads
///     as a slug (parts between separators that are words, numbers of at most five digits, or
///     short alphanumerics like `mp3`) → `:token`.
///
///   Apart from e-mail addresses, a trailing file extension (`.` and one to five letters or
///   digits, starting with a letter) is set aside first and kept: `123.html` → `:id.html`.
///
/// Referrers keep only their host (see `referrerHost`).
///
/// Redaction does not allocate beyond growing the caller's output buffer; callers cache the
/// result per distinct raw target.
public struct URLRedactor: Sendable {
    /// The allow-list as given.
    public let queryAllowList: [String]
    /// Whether campaign tags (parameters named `utm_` and anything) are kept when the
    /// allow-list allows them. Page paths drop them (their campaign is counted apart, see
    /// `campaignTags(_:)`); e-mail link labels keep them.
    public let keepsCampaignTags: Bool
    private let exactNames: [[UInt8]]
    private let prefixes: [[UInt8]]

    /// Creates a redactor keeping the query parameters named in `queryAllowList`.
    ///
    /// - Parameters:
    ///   - queryAllowList: Parameter names, ASCII case-insensitive; an entry ending in `*`
    ///     allows every name starting with the rest. Default: `utm_*`.
    ///   - keepsCampaignTags: When false, parameters whose name starts with `utm_` (ASCII
    ///     case-insensitive, percent-decoded) are dropped whatever the allow-list says.
    public init(queryAllowList: [String] = ["utm_*"], keepsCampaignTags: Bool = true) {
        self.queryAllowList = queryAllowList
        self.keepsCampaignTags = keepsCampaignTags
        var exact: [[UInt8]] = []
        var prefixes: [[UInt8]] = []
        for entry in queryAllowList {
            var bytes = Array(entry.utf8).map(URLRedactor.lower)
            if bytes.last == UInt8(ascii: "*") {
                bytes.removeLast()
                prefixes.append(bytes)
            } else {
                exact.append(bytes)
            }
        }
        self.exactNames = exact
        self.prefixes = prefixes
    }

    // MARK: - Request targets

    /// Writes the redacted form of `target` into `output`, replacing its contents and keeping
    /// its capacity.
    ///
    /// - Parameters:
    ///   - target: The request target as logged: origin-form (`/a?b`), absolute-form
    ///     (`https://host/a?b`) or anything else (treated as a path).
    ///   - output: Receives the redacted bytes.
    /// - Complexity: O(n). Allocates only when `output` must grow.
    public func redact(_ target: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        let end = target.count
        var i = URLRedactor.pathStart(target)
        // Path: up to `?` or `#`.
        var pathEnd = i
        while pathEnd < end && target[pathEnd] != UInt8(ascii: "?") && target[pathEnd] != UInt8(ascii: "#") {
            pathEnd += 1
        }
        if i == pathEnd {
            output.append(UInt8(ascii: "/"))
        }
        while i < pathEnd {
            if target[i] == UInt8(ascii: "/") {
                output.append(UInt8(ascii: "/"))
                i += 1
                continue
            }
            var segmentEnd = i
            while segmentEnd < pathEnd && target[segmentEnd] != UInt8(ascii: "/") { segmentEnd += 1 }
            var paramStart = i
            while paramStart < segmentEnd && target[paramStart] != UInt8(ascii: ";") { paramStart += 1 }
            appendSegment(UnsafeRawBufferPointer(rebasing: target[i..<paramStart]), to: &output)
            i = segmentEnd
        }
        // Query: up to `#`.
        guard pathEnd < end, target[pathEnd] == UInt8(ascii: "?") else { return }
        var queryEnd = pathEnd + 1
        while queryEnd < end && target[queryEnd] != UInt8(ascii: "#") { queryEnd += 1 }
        var first = true
        i = pathEnd + 1
        while i < queryEnd {
            var paramEnd = i
            while paramEnd < queryEnd && target[paramEnd] != UInt8(ascii: "&") { paramEnd += 1 }
            if paramEnd > i {
                let param = UnsafeRawBufferPointer(rebasing: target[i..<paramEnd])
                var equals = 0
                while equals < param.count && param[equals] != UInt8(ascii: "=") { equals += 1 }
                if isAllowed(UnsafeRawBufferPointer(rebasing: param[0..<equals]), scratch: &output) {
                    output.append(first ? UInt8(ascii: "?") : UInt8(ascii: "&"))
                    first = false
                    output.append(contentsOf: param[0..<equals])
                    if equals < param.count {
                        output.append(UInt8(ascii: "="))
                        appendValue(UnsafeRawBufferPointer(rebasing: param[(equals + 1)...]), to: &output)
                    }
                }
            }
            i = paramEnd + 1
        }
    }

    /// The redacted form of `target` as a string (allocates; for tests and slow paths).
    public func redact(_ target: String) -> String {
        var output: [UInt8] = []
        var copy = target
        copy.withUTF8 { redact(UnsafeRawBufferPointer($0), into: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The redacted form of `target` as a new string (allocates; for the first sighting of a
    /// distinct target).
    public func redact(_ target: UnsafeBufferPointer<UInt8>) -> String {
        var output: [UInt8] = []
        redact(UnsafeRawBufferPointer(target), into: &output)
        return String(decoding: output, as: UTF8.self)
    }

    // MARK: - Referrers

    /// Writes the lower-cased host of an absolute referrer URL into `output` (replacing its
    /// contents) and returns true; returns false when there is no host.
    ///
    /// `https://www.Example.com:8443/x` → `www.example.com`; `android-app://com.example.app/`
    /// → `com.example.app`; `//example.com/x` → `example.com`. User info, port and a trailing
    /// dot are dropped. An IP-address host (`http://203.0.113.5/`, `http://[2001:db8::1]/`) is
    /// written as `:ip`. No host: `-`, empty, relative URLs, URLs without `//`, and hosts with
    /// bytes other than letters, digits, `-`, `.`, `_` and non-ASCII.
    ///
    /// - Complexity: O(n). Allocates only when `output` must grow.
    public func referrerHost(_ referrer: UnsafeRawBufferPointer, into output: inout [UInt8]) -> Bool {
        output.removeAll(keepingCapacity: true)
        var start = 0
        var end = referrer.count
        while start < end && URLRedactor.isSpace(referrer[start]) { start += 1 }
        while end > start && URLRedactor.isSpace(referrer[end - 1]) { end -= 1 }
        let text = UnsafeRawBufferPointer(rebasing: referrer[start..<end])
        guard let authorityStart = URLRedactor.authorityStart(text) else { return false }
        let hostAndPort = URLRedactor.hostAndPort(text, authorityStart: authorityStart)
        let hostStart = hostAndPort.lowerBound, authorityEnd = hostAndPort.upperBound
        guard hostStart < authorityEnd else { return false }
        if text[hostStart] == UInt8(ascii: "[") {
            output.append(contentsOf: ":ip".utf8)
            return true
        }
        var hostEnd = hostStart
        while hostEnd < authorityEnd && text[hostEnd] != UInt8(ascii: ":") { hostEnd += 1 }
        while hostEnd > hostStart && text[hostEnd - 1] == UInt8(ascii: ".") { hostEnd -= 1 }
        guard hostEnd > hostStart else { return false }
        let host = UnsafeRawBufferPointer(rebasing: text[hostStart..<hostEnd])
        if IPAddress.parseIPv4(host, 0, host.count) != nil {
            output.append(contentsOf: ":ip".utf8)
            return true
        }
        for b in host {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), 0x80...0xff:
                output.append(b)
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                output.append(b | 0x20)
            default:
                output.removeAll(keepingCapacity: true)
                return false
            }
        }
        return true
    }

    /// `referrerHost(_:into:)` on a string (allocates; for tests and slow paths).
    public func referrerHost(_ referrer: String) -> String? {
        var output: [UInt8] = []
        var copy = referrer
        let found = copy.withUTF8 { referrerHost(UnsafeRawBufferPointer($0), into: &output) }
        return found ? String(decoding: output, as: UTF8.self) : nil
    }

    /// The referrer's host as a new string, or nil (allocates; for the first sighting of a
    /// distinct referrer).
    public func referrerHost(_ referrer: UnsafeBufferPointer<UInt8>) -> String? {
        var output: [UInt8] = []
        let found = referrerHost(UnsafeRawBufferPointer(referrer), into: &output)
        return found ? String(decoding: output, as: UTF8.self) : nil
    }

    // MARK: - Internals

    /// What a path segment or query value looks like.
    enum Kind: Equatable {
        case keep
        case email
        case uuid
        case id
        case token

        var placeholder: StaticString {
            switch self {
            case .keep: ""
            case .email: ":email"
            case .uuid: ":uuid"
            case .id: ":id"
            case .token: ":token"
            }
        }
    }

    /// Appends `segment` (as written, without `;` parameters) or its placeholder.
    private func appendSegment(_ segment: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        guard !segment.isEmpty else { return }
        let mark = output.count
        URLRedactor.appendDecoded(segment, to: &output)
        let (kind, extensionStart) = output.withUnsafeBytes {
            URLRedactor.classify(UnsafeRawBufferPointer(rebasing: $0[mark...]), extensions: true)
        }
        if kind == .keep {
            output.removeSubrange(mark...)
            output.append(contentsOf: segment)
            return
        }
        // Replace the decoded bytes before the extension's dot (or all of them) by the
        // placeholder; the decoded extension stays.
        let replaced = extensionStart.map { mark + $0 - 1 } ?? output.count
        let placeholder = kind.placeholder
        output.replaceSubrange(
            mark..<replaced,
            with: UnsafeRawBufferPointer(start: placeholder.utf8Start, count: placeholder.utf8CodeUnitCount))
    }

    /// Appends a kept query value, or its placeholder when it is an e-mail, UUID or token.
    private func appendValue(_ value: UnsafeRawBufferPointer, to output: inout [UInt8]) {
        let mark = output.count
        URLRedactor.appendDecoded(value, to: &output)
        let (kind, _) = output.withUnsafeBytes {
            URLRedactor.classify(UnsafeRawBufferPointer(rebasing: $0[mark...]), extensions: false)
        }
        output.removeSubrange(mark...)
        switch kind {
        case .email, .uuid, .token:
            let placeholder = kind.placeholder
            output.append(
                contentsOf: UnsafeRawBufferPointer(start: placeholder.utf8Start, count: placeholder.utf8CodeUnitCount))
        case .keep, .id:
            output.append(contentsOf: value)
        }
    }

    /// Whether the parameter named `name` (as written) is allowed. Uses the end of `scratch`
    /// for the decoded name and restores it.
    private func isAllowed(_ name: UnsafeRawBufferPointer, scratch: inout [UInt8]) -> Bool {
        let mark = scratch.count
        URLRedactor.appendDecoded(name, to: &scratch)
        defer { scratch.removeSubrange(mark...) }
        return scratch.withUnsafeBytes { all in
            let decoded = UnsafeRawBufferPointer(rebasing: all[mark...])
            if !keepsCampaignTags && URLRedactor.isCampaignTag(decoded) { return false }
            for exact in exactNames where exact.count == decoded.count {
                if zip(exact, decoded).allSatisfy({ $0 == URLRedactor.lower($1) }) { return true }
            }
            for prefix in prefixes where prefix.count <= decoded.count {
                if zip(prefix, decoded).allSatisfy({ $0 == URLRedactor.lower($1) }) { return true }
            }
            return false
        }
    }

    /// Whether a decoded parameter name starts with `utm_` (ASCII case-insensitive).
    static func isCampaignTag(_ name: UnsafeRawBufferPointer) -> Bool {
        name.count >= 4 && lower(name[0]) == UInt8(ascii: "u") && lower(name[1]) == UInt8(ascii: "t")
            && lower(name[2]) == UInt8(ascii: "m") && name[3] == UInt8(ascii: "_")
    }

    // MARK: - Campaign tags

    /// The values of a request target's campaign tags, as written (still percent-encoded):
    /// byte ranges in `target` of the first `utm_source`, `utm_medium` and `utm_campaign`
    /// parameters of its query (names ASCII case-insensitive, percent-decoded), nil for a tag
    /// the query lacks. Nil when it has none of the three (`utm_term` and `utm_content` alone
    /// make no campaign).
    ///
    /// - Complexity: O(n), no allocation.
    public static func campaignTags(_ target: UnsafeRawBufferPointer) -> CampaignTags? {
        let end = target.count
        var i = pathStart(target)
        while i < end && target[i] != UInt8(ascii: "?") && target[i] != UInt8(ascii: "#") { i += 1 }
        guard i < end, target[i] == UInt8(ascii: "?") else { return nil }
        var queryEnd = i + 1
        while queryEnd < end && target[queryEnd] != UInt8(ascii: "#") { queryEnd += 1 }
        var tags = CampaignTags()
        var found = false
        i += 1
        while i < queryEnd {
            var paramEnd = i
            while paramEnd < queryEnd && target[paramEnd] != UInt8(ascii: "&") { paramEnd += 1 }
            var equals = i
            while equals < paramEnd && target[equals] != UInt8(ascii: "=") { equals += 1 }
            let value = equals < paramEnd ? (equals + 1)..<paramEnd : paramEnd..<paramEnd
            switch campaignTag(UnsafeRawBufferPointer(rebasing: target[i..<equals])) {
            case .source?: if tags.source == nil { tags.source = value; found = true }
            case .medium?: if tags.medium == nil { tags.medium = value; found = true }
            case .campaign?: if tags.campaign == nil { tags.campaign = value; found = true }
            case nil: break
            }
            i = paramEnd + 1
        }
        return found ? tags : nil
    }

    /// The byte ranges of a target's campaign tag values (see `campaignTags(_:)`).
    public struct CampaignTags: Sendable, Equatable {
        public var source: Range<Int>?
        public var medium: Range<Int>?
        public var campaign: Range<Int>?
    }

    private enum CampaignTag { case source, medium, campaign }

    /// Which of the three tags a parameter name (as written) is.
    private static func campaignTag(_ name: UnsafeRawBufferPointer) -> CampaignTag? {
        if isName(name, "utm_source") { return .source }
        if isName(name, "utm_medium") { return .medium }
        if isName(name, "utm_campaign") { return .campaign }
        return nil
    }

    /// Whether `name`, percent-decoded, is `expected` (lower-case ASCII) ASCII
    /// case-insensitively.
    private static func isName(_ name: UnsafeRawBufferPointer, _ expected: StaticString) -> Bool {
        let count = expected.utf8CodeUnitCount
        var i = 0
        var n = 0
        while i < name.count {
            var b = name[i]
            if b == UInt8(ascii: "%"), i + 2 < name.count, let h = hex(name[i + 1]), let l = hex(name[i + 2]) {
                b = h << 4 | l
                i += 3
            } else {
                i += 1
            }
            guard n < count, lower(b) == expected.utf8Start[n] else { return false }
            n += 1
        }
        return n == count
    }

    /// Where the path starts: after `scheme://authority` for an absolute URL, else 0.
    static func pathStart(_ target: UnsafeRawBufferPointer) -> Int {
        guard let authority = schemeEnd(target) else { return 0 }
        var i = authority
        while i < target.count && target[i] != UInt8(ascii: "/") && target[i] != UInt8(ascii: "?")
            && target[i] != UInt8(ascii: "#")
        {
            i += 1
        }
        return i
    }

    /// The index after `scheme://`, when `text` starts with one.
    static func schemeEnd(_ text: UnsafeRawBufferPointer) -> Int? {
        guard let first = text.first, isLetter(first) else { return nil }
        var i = 1
        while i < text.count {
            let b = text[i]
            if isLetter(b) || isDigit(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") {
                i += 1
                continue
            }
            break
        }
        guard i + 3 <= text.count, text[i] == UInt8(ascii: ":"), text[i + 1] == UInt8(ascii: "/"),
            text[i + 2] == UInt8(ascii: "/")
        else { return nil }
        return i + 3
    }

    /// The host and port of the authority that starts at `authorityStart`: it ends at the
    /// first `/`, `?` or `#`, and any user info (up to its last `@`) is left out.
    static func hostAndPort(_ text: UnsafeRawBufferPointer, authorityStart: Int) -> Range<Int> {
        var hostStart = authorityStart
        var end = authorityStart
        while end < text.count {
            let b = text[end]
            if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            if b == UInt8(ascii: "@") { hostStart = end + 1 }
            end += 1
        }
        return hostStart..<end
    }

    /// Where the authority of a referrer starts: after `scheme://` or a leading `//`.
    static func authorityStart(_ text: UnsafeRawBufferPointer) -> Int? {
        if text.count >= 2 && text[0] == UInt8(ascii: "/") && text[1] == UInt8(ascii: "/") { return 2 }
        return schemeEnd(text)
    }

    /// Appends `bytes` with `%XX` sequences decoded; malformed `%` sequences are kept as is.
    /// With `plusIsSpace` (query values as forms encode them), `+` is a space.
    static func appendDecoded(_ bytes: UnsafeRawBufferPointer, plusIsSpace: Bool = false, to output: inout [UInt8]) {
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if plusIsSpace && b == UInt8(ascii: "+") {
                output.append(0x20)
                i += 1
                continue
            }
            if b == UInt8(ascii: "%") && i + 2 < bytes.count {
                if let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                    output.append(h << 4 | l)
                    i += 3
                    continue
                }
            }
            output.append(b)
            i += 1
        }
    }

    /// Classifies decoded bytes. `extensionStart` is the index after the `.` of a kept file
    /// extension, when the segment had one.
    static func classify(_ s: UnsafeRawBufferPointer, extensions: Bool) -> (kind: Kind, extensionStart: Int?) {
        if isEmail(s) { return (.email, nil) }
        var stem = s
        var extensionStart: Int? = nil
        if extensions, let dot = s.lastIndex(of: UInt8(ascii: ".")), dot > 0 {
            let ext = UnsafeRawBufferPointer(rebasing: s[(dot + 1)...])
            if (1...5).contains(ext.count), isLetter(ext[0]), ext.allSatisfy({ isLetter($0) || isDigit($0) }) {
                stem = UnsafeRawBufferPointer(rebasing: s[..<dot])
                extensionStart = dot + 1
            }
        }
        let kind: Kind
        if isUUID(stem) {
            kind = .uuid
        } else if isNumber(stem) {
            kind = .id
        } else if isHexToken(stem) || isBase64Token(stem) {
            kind = .token
        } else {
            kind = .keep
        }
        return (kind, kind == .keep ? nil : extensionStart)
    }

    static func isEmail(_ s: UnsafeRawBufferPointer) -> Bool {
        guard let at = s.lastIndex(of: UInt8(ascii: "@")), at > 0, at + 1 < s.count else { return false }
        for b in s[..<at] where b <= 0x20 || b == 0x7f { return false }
        var labels = 0
        var labelLength = 0
        for b in s[(at + 1)...] {
            if b == UInt8(ascii: ".") {
                guard labelLength > 0 else { return false }
                labels += 1
                labelLength = 0
            } else if isLetter(b) || isDigit(b) || b == UInt8(ascii: "-") || b >= 0x80 {
                labelLength += 1
            } else {
                return false
            }
        }
        guard labelLength > 0 else { return false }
        return labels + 1 >= 2
    }

    static func isUUID(_ s: UnsafeRawBufferPointer) -> Bool {
        guard s.count == 36 else { return false }
        for (i, b) in s.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard b == UInt8(ascii: "-") else { return false }
            } else {
                guard hex(b) != nil else { return false }
            }
        }
        return true
    }

    static func isNumber(_ s: UnsafeRawBufferPointer) -> Bool {
        var digits = 0
        var separators = 0
        for b in s {
            if isDigit(b) {
                digits += 1
            } else if b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "+")
                || b == UInt8(ascii: "_")
                || b == UInt8(ascii: ",") || b == UInt8(ascii: "(") || b == UInt8(ascii: ")")
            {
                separators += 1
            } else {
                return false
            }
        }
        return digits > 0 && (separators == 0 || digits >= 6)
    }

    static func isHexToken(_ s: UnsafeRawBufferPointer) -> Bool {
        s.count >= 16 && s.allSatisfy { hex($0) != nil }
    }

    static func isBase64Token(_ s: UnsafeRawBufferPointer) -> Bool {
        guard s.count >= 20 else { return false }
        var letters = 0
        var digits = 0
        var separators = 0
        for b in s {
            if isLetter(b) {
                letters += 1
            } else if isDigit(b) {
                digits += 1
            } else if isTokenSeparator(b) {
                separators += 1
            } else {
                return false
            }
        }
        guard letters > 0, digits > 0 else { return false }
        return separators == 0 || !isSlug(s)
    }

    /// Whether every part between separators reads as a word, a short number or a short
    /// alphanumeric (`how-to-bake-bread-in-10-minutes`, `iPhone-15-Pro-case`).
    static func isSlug(_ s: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < s.count {
            if isTokenSeparator(s[i]) {
                i += 1
                continue
            }
            var j = i
            var digits = 0
            var caseChanges = 0
            var previousUpper: Bool? = nil
            while j < s.count && !isTokenSeparator(s[j]) {
                let b = s[j]
                if isDigit(b) {
                    digits += 1
                } else {
                    let upper = b <= UInt8(ascii: "Z")
                    if let previousUpper, previousUpper != upper { caseChanges += 1 }
                    previousUpper = upper
                }
                j += 1
            }
            let length = j - i
            // word, Word, WORD, iPhone; or short: 10, 2026, mp3, h264, 4k.
            let wordLike = (digits == 0 && caseChanges <= 2) || length <= 5
            if !wordLike { return false }
            i = j
        }
        return true
    }

    @inline(__always) static func isTokenSeparator(_ b: UInt8) -> Bool {
        // `/` can only come from a decoded `%2F` (standard base64).
        b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "+")
            || b == UInt8(ascii: "=") || b == UInt8(ascii: "/")
    }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool {
        (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool {
        b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
    }

    @inline(__always) static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t")
    }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    @inline(__always) static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
