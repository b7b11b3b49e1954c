import Testing

@testable import VeilCore

private let person = UserAgentClass(browser: .chrome, browserMajor: 120, os: .windows, device: .desktop)
private let crawler = UserAgentClass.bot(.googlebot)
private let gmailProxy = UserAgentClass.mailProxy(.googleImageProxy)

/// One request and the class it must get, with the reason.
struct ClassifyRequestCase: Sendable, CustomTestStringConvertible {
    let method: String
    let target: String
    let status: UInt16
    let agent: UserAgentClass
    let expected: RequestClass
    let reason: String

    init(
        _ method: String, _ target: String, _ status: UInt16, _ agent: UserAgentClass,
        _ expected: RequestClass, _ reason: String
    ) {
        self.method = method
        self.target = target
        self.status = status
        self.agent = agent
        self.expected = expected
        self.reason = reason
    }

    var testDescription: String { "\(method) \(target) \(status) → \(expected.label): \(reason)" }
}

private let requestTable: [ClassifyRequestCase] = [
    // Pageviews.
    ClassifyRequestCase("GET", "/", 200, person, .pageview, "home page"),
    ClassifyRequestCase("GET", "/blog/post-1", 200, person, .pageview, "page without extension"),
    ClassifyRequestCase("GET", "/index.html", 200, person, .pageview, "html is a page"),
    ClassifyRequestCase("GET", "/docs/report.pdf", 200, person, .pageview, "pdf is a document"),
    ClassifyRequestCase("GET", "/v1.2/docs", 200, person, .pageview, "dot in an earlier segment"),
    ClassifyRequestCase("GET", "/search?q=logo.png", 200, person, .pageview, "extension only from the path"),
    ClassifyRequestCase("GET", "/page#x.js", 200, person, .pageview, "fragment is not the path"),
    ClassifyRequestCase(
        "GET", "https://example.com", 200, person, .pageview, "absolute form: host is not an extension"),
    ClassifyRequestCase("GET", "https://example.com/about", 200, person, .pageview, "absolute form"),
    ClassifyRequestCase("HEAD", "/", 200, person, .pageview, "HEAD counts like GET"),
    ClassifyRequestCase("GET", "/", 304, person, .pageview, "not modified"),
    ClassifyRequestCase("GET", "/", 204, person, .pageview, "any 2xx"),
    ClassifyRequestCase("GET", "/", 0, person, .pageview, "no status logged"),
    ClassifyRequestCase("GET", "/file.", 200, person, .pageview, "empty extension"),
    // Assets.
    ClassifyRequestCase("GET", "/static/app.js?v=3", 200, person, .asset, "asset with a query"),
    ClassifyRequestCase("GET", "/static/APP.CSS", 200, person, .asset, "extension case-insensitive"),
    ClassifyRequestCase("GET", "/img/logo.png#top", 200, person, .asset, "asset with a fragment"),
    ClassifyRequestCase("GET", "/fonts/a.woff2", 304, person, .asset, "not-modified asset"),
    ClassifyRequestCase("GET", "/site.webmanifest", 200, person, .asset, "extension longer than 7 bytes"),
    ClassifyRequestCase("GET", "/robots.txt", 200, person, .asset, "machine-read text"),
    ClassifyRequestCase("GET", "https://example.com/app.js", 200, person, .asset, "absolute-form asset"),
    ClassifyRequestCase("GET", "/old.png", 301, person, .asset, "redirected asset"),
    ClassifyRequestCase("HEAD", "/video.mp4", 206, person, .asset, "partial content"),
    ClassifyRequestCase("GET", "/images/logo.png", 200, gmailProxy, .asset, "mail proxy fetching an image"),
    // Errors.
    ClassifyRequestCase("GET", "/missing", 404, person, .error, "not found is not a pageview"),
    ClassifyRequestCase("GET", "/boom", 500, person, .error, "server error"),
    ClassifyRequestCase("GET", "/app.js", 404, person, .error, "missing asset"),
    ClassifyRequestCase("POST", "/form", 403, person, .error, "error wins over method"),
    ClassifyRequestCase("GET", "/t/open.gif", 404, person, .error, "error wins over beacon"),
    ClassifyRequestCase("GET", "/c/x", 503, person, .error, "error wins over click"),
    // Bots.
    ClassifyRequestCase("GET", "/", 200, crawler, .bot, "bot fetching a page"),
    ClassifyRequestCase("GET", "/missing", 404, crawler, .bot, "bot wins over error"),
    ClassifyRequestCase("GET", "/app.css", 200, crawler, .bot, "bot wins over asset"),
    ClassifyRequestCase("GET", "/t/open.gif", 200, crawler, .bot, "bot wins over beacon"),
    ClassifyRequestCase("GET", "/c/abc", 302, .bot(.otherBot), .bot, "link scanner wins over click"),
    ClassifyRequestCase("POST", "/", 200, .noUserAgent, .bot, "no user agent"),
    // Beacons and clicks.
    ClassifyRequestCase("GET", "/t/open.gif?c=1&r=2", 200, person, .beacon, "open pixel with query"),
    ClassifyRequestCase("GET", "/t/open.gif", 200, gmailProxy, .beacon, "mail proxy fetching the beacon"),
    ClassifyRequestCase("GET", "/pixel.gif", 200, person, .beacon, "pixel prefix"),
    ClassifyRequestCase("POST", "/pixel", 204, person, .beacon, "sendBeacon POST"),
    ClassifyRequestCase("GET", "/c/abc/def", 302, person, .click, "click redirect"),
    ClassifyRequestCase("GET", "/r/xyz", 302, person, .click, "other click prefix"),
    ClassifyRequestCase("GET", "/c", 302, person, .other, "/c/* needs the slash"),
    ClassifyRequestCase("GET", "/c", 200, person, .pageview, "/c itself is a page"),
    // Other.
    ClassifyRequestCase("POST", "/", 200, person, .other, "POST is not a pageview"),
    ClassifyRequestCase("POST", "/api/items.json", 201, person, .other, "POST of an asset path"),
    ClassifyRequestCase("PUT", "/x", 200, person, .other, "PUT"),
    ClassifyRequestCase("OPTIONS", "*", 200, person, .other, "OPTIONS *"),
    ClassifyRequestCase("get", "/", 200, person, .other, "methods are case-sensitive"),
    ClassifyRequestCase("GET", "/", 301, person, .other, "redirect"),
    ClassifyRequestCase("GET", "/", 101, person, .other, "switching protocols"),
    ClassifyRequestCase("GET", "/", 600, person, .other, "status beyond 5xx"),
    ClassifyRequestCase("GET", "/news", 200, gmailProxy, .other, "mail proxy fetching a page"),
]

/// Runs `body` with the UTF-8 bytes of two strings.
private func withBytes<R>(
    _ a: String, _ b: String,
    _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>) -> R
) -> R {
    var a = a
    var b = b
    return a.withUTF8 { pa in b.withUTF8 { pb in body(pa, pb) } }
}

@Suite("Request classification")
struct RequestClassifierTests {
    let classifier = RequestClassifier()

    @Test("request table", arguments: requestTable)
    func table(_ row: ClassifyRequestCase) {
        let got = withBytes(row.method, row.target) {
            classifier.classify(method: $0, target: $1, status: row.status, agent: row.agent)
        }
        #expect(got == row.expected, "\(row.reason)")
    }

    @Test("every class is reachable from the table")
    func coverage() {
        #expect(Set(requestTable.map(\.expected)) == Set(RequestClass.allCases))
        #expect(Set(RequestClass.allCases.map(\.label)).count == RequestClass.allCases.count)
    }

    @Test("captures of a campaign click pattern")
    func capturingClick() throws {
        let config = RequestClassificationConfiguration(
            beaconPatterns: ["/o/{campaign}/{recipient}.gif"],
            clickPatterns: ["/go/{campaign}/{link}?r={recipient}", "/c/*"])
        let classifier = try RequestClassifier(configuration: config)
        let line = "GET /go/spring24/l7?utm_source=x&r=tok42 HTTP/1.1"
        let targetStart = 4
        let targetText = "/go/spring24/l7?utm_source=x&r=tok42"
        let result = withBytes("GET", targetText) {
            classifier.classifyCapturing(
                method: $0, target: $1, status: 302, agent: person, targetOffset: Int32(targetStart))
        }
        #expect(result.requestClass == .click)
        #expect(result.patternIndex == 0)
        #expect(result.captures.count == 3)
        let bytes = Array(line.utf8)
        func text(_ r: ByteRange) -> String {
            String(decoding: bytes[Int(r.start)..<Int(r.end)], as: UTF8.self)
        }
        #expect(text(result.captures[0]) == "spring24")
        #expect(text(result.captures[1]) == "l7")
        #expect(text(result.captures[2]) == "tok42")

        let open = withBytes("GET", "/o/c9/tokA.gif") {
            classifier.classifyCapturing(method: $0, target: $1, status: 200, agent: gmailProxy)
        }
        #expect(open.requestClass == .beacon)
        #expect(open.patternIndex == 0)
        #expect(open.captures.count == 2)
        #expect(open.captures[1] == ByteRange(6, 10))

        let fallback = withBytes("GET", "/c/other") {
            classifier.classifyCapturing(method: $0, target: $1, status: 302, agent: person)
        }
        #expect(fallback.requestClass == .click)
        #expect(fallback.patternIndex == 1)
        #expect(fallback.captures.count == 0)

        let page = withBytes("GET", "/") {
            classifier.classifyCapturing(method: $0, target: $1, status: 200, agent: person)
        }
        #expect(page == RequestClassification(.pageview))
    }

    /// The classifier tries its patterns only when the byte after the path's first `/` is one a
    /// pattern allows; the outcome must be that of trying every pattern in order.
    @Test(
        "the first-byte test before the patterns changes no outcome",
        arguments: [
            ["/t/open.gif*", "/pixel*"] as [String], ["/o/{campaign}/{recipient}.gif"], ["/{campaign}/o.gif"],
            ["/*"], ["/x{id}/open.gif", "/p*"], [],
        ])
    func firstByteTestChangesNothing(beacons: [String]) throws {
        let classifier = try RequestClassifier(
            configuration: RequestClassificationConfiguration(beaconPatterns: beacons, clickPatterns: ["/c/*", "/r/*"]))
        let targets = [
            "/", "", "*", "/t/open.gif", "/t/open.gif?c=1", "/pixel", "/pixel.png", "/o/c9/tok.gif", "/c/x", "/c/a/b",
            "/r/",
            "/r", "/blog/a", "/xabc/open.gif", "/x/open.gif", "/camp/o.gif", "https://h.example/t/open.gif",
            "https://h.example", "/?q=1", "//t/open.gif", "/T/open.gif", "/\u{e9}t\u{e9}",
        ]
        var tried = 0
        for target in targets {
            let got = withBytes("GET", target) {
                classifier.classifyCapturing(method: $0, target: $1, status: 200, agent: person)
            }
            // Reference: every beacon pattern, then every click pattern, in order.
            var expected: RequestClassification?
            withBytes("GET", target) { _, t in
                for (i, p) in classifier.beaconPatterns.enumerated() where expected == nil {
                    if let c = p.match(t) { expected = RequestClassification(.beacon, patternIndex: i, captures: c) }
                }
                for (i, p) in classifier.clickPatterns.enumerated() where expected == nil {
                    if let c = p.match(t) { expected = RequestClassification(.click, patternIndex: i, captures: c) }
                }
            }
            if let expected {
                tried += 1
                #expect(got == expected, "\(target)")
            } else {
                #expect(got.requestClass != .beacon && got.requestClass != .click, "\(target): \(got)")
            }
        }
        #expect(tried >= 3, "too few targets match a pattern")
    }

    @Test("custom asset extensions replace the defaults")
    func customExtensions() throws {
        let classifier = try RequestClassifier(
            configuration: RequestClassificationConfiguration(
                assetExtensions: [".PDF", "verylongext1"], beaconPatterns: [], clickPatterns: []))
        let rows: [(String, RequestClass, String)] = [
            ("/a.pdf", .asset, "leading dot and upper case accepted in the configuration"),
            ("/a.js", .pageview, "js no longer listed"),
            ("/a.VeryLongExt1", .asset, "long extension, case-insensitive"),
            ("/a.verylongext2", .pageview, "same length, different bytes"),
            ("/t/open.gif", .pageview, "no beacon patterns"),
        ]
        for (target, expected, reason) in rows {
            let got = withBytes("GET", target) {
                classifier.classify(method: $0, target: $1, status: 200, agent: person)
            }
            #expect(got == expected, "\(reason)")
        }
    }

    @Test("300 configured extensions: exactly those (any case) are assets, every other 1-8 letter one is not")
    func manyExtensions() throws {
        var rng = StateTestRNG(seed: 99)
        func word(_ length: Int) -> String {
            String((0..<length).map { _ in Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(rng.next() % 6))) })
        }
        var configured = Set<String>()
        while configured.count < 300 { configured.insert(word(Int(rng.next() % 8) + 1)) }
        let classifier = try RequestClassifier(
            configuration: RequestClassificationConfiguration(
                assetExtensions: Array(configured), beaconPatterns: [], clickPatterns: []))
        for length in 1...8 {
            for _ in 0..<400 {
                let ext = word(length)
                let target = "/x." + (rng.next() % 2 == 0 ? ext : ext.uppercased()) + "?v=1"
                let isAsset = target.withCString { c in
                    UnsafeRawPointer(c).withMemoryRebound(to: UInt8.self, capacity: target.utf8.count) {
                        classifier.hasAssetExtension(UnsafeBufferPointer(start: $0, count: target.utf8.count))
                    }
                }
                #expect(isAsset == configured.contains(ext), "\(target)")
            }
        }
    }

    @Test("an extension packed from one word load equals the byte-wise packing, for every byte value")
    func packedFromWord() {
        var rng = StateTestRNG(seed: 7)
        // Every byte value once in each position, then random windows; the bytes next to the
        // letter ranges ('@', '[', '`', '{') and high bytes are the ones a carry would spoil.
        var windows: [[UInt8]] = (0..<256).map { b in (0..<8).map { UInt8(truncatingIfNeeded: b &+ $0 &* 37) } }
        for _ in 0..<2000 { windows.append((0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }
        for window in windows {
            for length in 1...7 {
                let (word, bytes) = window.withUnsafeBufferPointer { w in
                    (
                        RequestClassifier.packedExtension(endingAt: w.baseAddress! + 8, length: length),
                        RequestClassifier.packedExtension(UnsafeBufferPointer(rebasing: w[(8 - length)...]))
                    )
                }
                #expect(word == bytes, "\(window) length \(length)")
            }
        }
    }

    @Test("bad configurations are rejected with a usage error")
    func badConfigurations() {
        let rows: [(RequestClassificationConfiguration, String)] = [
            (.init(assetExtensions: [""]), "empty extension"),
            (.init(assetExtensions: ["."]), "only a dot"),
            (.init(assetExtensions: ["tar.gz"]), "dot inside"),
            (.init(assetExtensions: ["j s"]), "space"),
            (.init(assetExtensions: ["abcdefghijklmnopq"]), "17 bytes"),
            (.init(assetExtensions: ["jpé"]), "non-ASCII"),
            (.init(beaconPatterns: ["pixel"]), "pattern without leading slash"),
            (.init(clickPatterns: ["/c/{"]), "unclosed brace"),
        ]
        for (config, reason) in rows {
            #expect(throws: VeilError.self, "\(reason)") { try RequestClassifier(configuration: config) }
            do {
                _ = try RequestClassifier(configuration: config)
            } catch let error as VeilError {
                #expect(error.code == .usage, "\(reason)")
            } catch {
                Issue.record("unexpected error type for \(reason)")
            }
        }
    }
}
