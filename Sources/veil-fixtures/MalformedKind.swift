/// The kinds of damaged lines the generator writes, labelled like veil's reject reasons.
enum MalformedKind: Int, CaseIterable, Sendable {
    case badTimestamp
    case badStatus
    case unbalancedQuote
    case truncated
    case binaryGarbage
    case lineTooLong

    var label: String {
        switch self {
        case .badTimestamp: "bad-timestamp"
        case .badStatus: "bad-status"
        case .unbalancedQuote: "unbalanced-quote"
        case .truncated: "truncated"
        case .binaryGarbage: "binary-garbage"
        case .lineTooLong: "line-too-long"
        }
    }

    /// How the line is made, for the truth file's definitions.
    var construction: String {
        switch self {
        case .badTimestamp:
            "a well-formed line whose month is 'Xyz' (CLF) or whose month digit is 'X' (ISO/W3C dates; "
                + "Caddy's numeric ts becomes such a string)"
        case .badStatus: "a well-formed line whose status is '2x0' (a JSON string in JSON formats)"
        case .unbalancedQuote:
            "a well-formed line whose first quoted field lost its closing '\"' (its opening one in the AWS "
                + "load balancer formats and haproxy; w3c and squid have no quotes: bad-status instead)"
        case .truncated:
            "a line cut inside its request target (after at least one byte of it; haproxy: inside its "
                + "captured headers, before the request); nothing follows"
        case .binaryGarbage: "24-200 random bytes starting with NUL, with more NULs, no CR or LF"
        case .lineTooLong:
            "one otherwise valid GET /search line of exactly 102400 bytes before its newline (--long-line)"
        }
    }
}
