/// Which paths are assets, tracking beacons and click redirects.
///
/// Patterns use `URLPattern` syntax: literal segments, `{name}` capturing one segment (or the
/// part of it between a literal prefix and suffix), `*` ending the path and matching the rest,
/// and `?name={capture}` query conditions.
public struct RequestClassificationConfiguration: Sendable, Hashable {
    /// File extensions (without the dot, compared case-insensitively) whose requests are
    /// assets rather than pageviews.
    public var assetExtensions: [String]
    /// Patterns of open-tracking beacons ("clear GIFs").
    public var beaconPatterns: [String]
    /// Patterns of click-redirect links.
    public var clickPatterns: [String]

    public init(
        assetExtensions: [String] = Self.defaultAssetExtensions,
        beaconPatterns: [String] = Self.defaultBeaconPatterns,
        clickPatterns: [String] = Self.defaultClickPatterns
    ) {
        self.assetExtensions = assetExtensions
        self.beaconPatterns = beaconPatterns
        self.clickPatterns = clickPatterns
    }

    /// Styles, scripts, images, fonts, media, data files, feeds and archives.
    ///
    /// Documents a person reads (`html`, `php`, `pdf`, `doc`, `docx`, `xls`, `xlsx`, `ppt`,
    /// `pptx`, `odt`, ...) are not assets: a successful GET of one is a pageview. Machine-read
    /// text files (`txt`: `robots.txt`, `ads.txt`; `json`, `xml`, feeds, `webmanifest`) are.
    public static let defaultAssetExtensions: [String] = [
        // Styles, scripts, source maps, WebAssembly.
        "css", "js", "mjs", "cjs", "map", "wasm",
        // Images.
        "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "apng",
        "jxl", "heic",
        // Fonts.
        "woff", "woff2", "ttf", "otf", "eot",
        // Audio and video, HLS playlists and segments.
        "mp4", "webm", "ogg", "ogv", "oga", "mp3", "m4a", "m4v", "mov", "wav", "flac", "aac",
        "opus", "m3u8", "ts",
        // Data, feeds, machine-read text.
        "json", "xml", "rss", "atom", "txt", "csv", "webmanifest",
        // Archives, installers, disk images.
        "zip", "gz", "tgz", "bz2", "xz", "7z", "rar", "tar", "dmg", "exe", "msi", "deb", "rpm",
        "apk", "iso", "pkg",
    ]

    /// `/t/open.gif*` (the open pixel, with anything after it) and `/pixel*` (`/pixel`,
    /// `/pixel.gif`, `/pixel/…`).
    public static let defaultBeaconPatterns: [String] = ["/t/open.gif*", "/pixel*"]

    /// `/c/*` and `/r/*`: anything under `/c/` or `/r/`.
    public static let defaultClickPatterns: [String] = ["/c/*", "/r/*"]
}
