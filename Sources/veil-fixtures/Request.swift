/// HTTP request methods the generator uses.
enum HTTPMethod: UInt8, Sendable {
    case get, head, post

    var bytes: StaticString {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        }
    }
}

/// What an e-mail tracking request is.
enum EmailEvent: Sendable {
    case none
    /// Pixel fetch `/t/open.gif?m=<campaign>&r=<recipient>`.
    case open(campaign: Int, subscriber: Int)
    /// Click redirect `/c/<campaign>/<link>?r=<recipient>`.
    case click(campaign: Int, link: Int, subscriber: Int)
}

/// Who sent a request.
enum Actor: Sendable {
    case visitor(Int)
    case bot(Int)
    case mailProxy(Int)
}

/// One generated request: what every format renders, and what the ground truth counts.
struct Request {
    var site = 0
    /// Unix time in milliseconds.
    var milliseconds: Int64 = 0
    var actor = Actor.visitor(0)
    var address = 0
    var bracketed = false
    var userAgent = 0
    /// `uid` cookie value sent (empty: none).
    var cookie: [UInt8] = []
    /// Corporate proxy address behind which the client sits (X-Forwarded-For), or -1.
    var forwardedVia = -1
    /// Authenticated user (empty: none).
    var user: [UInt8] = []
    var method = HTTPMethod.get
    var path: [UInt8] = []
    /// Query string without `?` (empty: none).
    var query: [UInt8] = []
    var http2 = false
    var status = 200
    var bytes = 0
    /// Referer URL (empty: none).
    var referrer: [UInt8] = []
    /// Page id when the path is a page of the site map, else -1.
    var page = -1
    var email = EmailEvent.none
    /// Session token carried in the query (for the identifier list), empty when none.
    var token: [UInt8] = []
    /// E-mail address carried in the path (for the identifier list), empty when none.
    var pathEmail: [UInt8] = []
}
