/// What one request counts as in the rollups; exactly one class per request.
///
/// `RequestClassifier.classify` resolves overlaps in this order, the first rule that applies
/// deciding:
/// 1. `bot`: the user agent is a bot (any method, status or path). A bot fetching a page, a
///    beacon or a click link is `bot`, so bot requests are counted once, apart from people.
/// 2. `error`: status 400...599. A 404 page is an error, not a pageview; a beacon or click
///    link answered with an error is an error too (nothing was served).
/// 3. `beacon`: the path matches a beacon pattern, any method. Mail-proxy fetches of a beacon
///    are beacons (the pipeline counts them as proxy opens, humans' as human opens).
/// 4. `click`: the path matches a click-redirect pattern, any method.
/// 5. `other`: the method is not `GET` or `HEAD` (POST, PUT, OPTIONS, ...), or the status is
///    600 or above.
/// 6. `asset`: the path's extension is an asset extension (status below 400).
/// 7. `other`: the user agent is a mail proxy (a proxy fetching a page is not a person).
/// 8. `pageview`: status 2xx or 304 (or 0, meaning the log has no status).
/// 9. `other`: everything else (1xx, redirects other than 304).
public enum RequestClass: UInt8, Sendable, Hashable, CaseIterable {
    case pageview
    case asset
    case bot
    case error
    case beacon
    case click
    case other

    /// Stable lower-case label used in CSV output.
    public var label: String {
        switch self {
        case .pageview: "pageview"
        case .asset: "asset"
        case .bot: "bot"
        case .error: "error"
        case .beacon: "beacon"
        case .click: "click"
        case .other: "other"
        }
    }
}
