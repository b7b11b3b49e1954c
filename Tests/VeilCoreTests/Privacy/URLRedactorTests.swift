import Testing

@testable import VeilCore

@Suite("URLRedactor")
struct URLRedactorTests {
    let redactor = URLRedactor()

    @Test(
        "request targets",
        arguments: [
            // The example from the design.
            (
                "/users/jane.doe@example.com/orders/8812?token=ab12cd34ef56&utm_source=mail",
                "/users/:email/orders/:id?utm_source=mail"
            ),
            // E-mail addresses, also percent-encoded; the segment is tested decoded.
            ("/u/jane.doe%40example.com/profile", "/u/:email/profile"),
            ("/unsubscribe/JANE%2Bnews%40Example.CO.uk", "/unsubscribe/:email"),
            // UUIDs, either case.
            ("/orders/123e4567-e89b-12d3-a456-426614174000", "/orders/:uuid"),
            ("/orders/123E4567-E89B-12D3-A456-426614174000/items", "/orders/:uuid/items"),
            // Hex tokens (16+ hex digits), with an extension kept.
            ("/files/5d41402abc4b2a76b9719d911017c592", "/files/:token"),
            ("/photos/5d41402abc4b2a76b9719d911017c592.jpg", "/photos/:token.jpg"),
            ("/s/0123456789abcdef", "/s/:token"),
            // base64url and base64 tokens.
            ("/reset/q3Zx_9vK-Lm2Pw8rT5yB4A", "/reset/:token"),
            ("/confirm/dGhpcyBpcyBhIHRva2VuIQ", "/confirm/:token"),
            ("/confirm/ab3%2Bcd9%2Fxy7Q0a1b2c3d4e5f6g7", "/confirm/:token"),
            ("/auth/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N", "/auth/:token"),
            // Numbers: all digits, digits with an extension, long digit groups with separators.
            ("/api/v1/users/42", "/api/v1/users/:id"),
            ("/invoice/123.pdf", "/invoice/:id.pdf"),
            ("/p/2026-11-28", "/p/:id"),
            ("/call/+1-555-0100", "/call/:id"),
            ("/v/1.2", "/v/1.2"),
            // Words, slugs and short names are kept as written.
            ("/about/team", "/about/team"),
            ("/blog/how-to-bake-bread-in-10-minutes", "/blog/how-to-bake-bread-in-10-minutes"),
            ("/shop/iPhone-15-Pro-Max-leather-case", "/shop/iPhone-15-Pro-Max-leather-case"),
            ("/convert-mp3-to-wav-online-free-2026", "/convert-mp3-to-wav-online-free-2026"),
            ("/img/logo.png", "/img/logo.png"),
            ("/users/@jane", "/users/@jane"),
            ("/caf%C3%A9/menu", "/caf%C3%A9/menu"),
            ("/a//b/", "/a//b/"),
            // Fragments are dropped.
            ("/page#section-2", "/page"),
            ("/page?utm_source=x#jane@example.com", "/page?utm_source=x"),
            // Absolute URLs keep only their path; no path is `/`.
            ("https://www.example.com/path/42?utm_medium=email&x=1#frag", "/path/:id?utm_medium=email"),
            ("https://www.example.com", "/"),
            ("https://user:secret@www.example.com?utm_source=x", "/?utm_source=x"),
            ("", "/"),
            // Query: allowed names kept in order, values as written; `?` alone disappears.
            ("/search?", "/search"),
            ("/search?q=secret", "/search"),
            (
                "/landing?utm_source=news&ref=abc&utm_campaign=spring&utm_medium=email",
                "/landing?utm_source=news&utm_campaign=spring&utm_medium=email"
            ),
            ("/a?&&utm_source=x&&", "/a?utm_source=x"),
            ("/a?UTM_Source=Mail", "/a?UTM_Source=Mail"),
            ("/a?utm%5Fsource=mail", "/a?utm%5Fsource=mail"),
            ("/a?utm_term", "/a?utm_term"),
            ("/a?utm_campaign=2026&utm_content=hero+banner", "/a?utm_campaign=2026&utm_content=hero+banner"),
            // ...except values that are identifiers themselves.
            ("/track?utm_source=jane%40example.com", "/track?utm_source=:email"),
            ("/x?utm_content=123e4567-e89b-12d3-a456-426614174000", "/x?utm_content=:uuid"),
            ("/x?utm_term=5d41402abc4b2a76b9719d911017c592", "/x?utm_term=:token"),
            // Path parameters (session ids) are dropped.
            ("/cart;jsessionid=0123456789ABCDEF0123?x=1", "/cart"),
            // Other request-target forms are redacted like a path.
            ("*", "*"),
            ("jane@example.com", ":email"),
        ])
    func redact(target: String, expected: String) {
        #expect(redactor.redact(target) == expected)
    }

    @Test("a custom allow-list: exact names and prefixes, case-insensitive")
    func customAllowList() {
        let custom = URLRedactor(queryAllowList: ["page", "ref_*"])
        #expect(
            custom.redact("/a?page=2&utm_source=x&ref_site=blog&REF_x=1&pages=3") == "/a?page=2&ref_site=blog&REF_x=1")
        #expect(URLRedactor(queryAllowList: []).redact("/a?utm_source=x") == "/a")
    }

    @Test("a redactor for page paths drops campaign tags whatever the allow-list says")
    func pathsDropCampaignTags() {
        let paths = URLRedactor(queryAllowList: ["utm_*", "page", "*"], keepsCampaignTags: false)
        #expect(paths.redact("/a?utm_source=x&page=2&UTM_Medium=y&utm%5Fcampaign=z&q=1") == "/a?page=2&q=1")
        #expect(paths.redact("/a?utm_source=x") == "/a")
        #expect(paths.redact("/a?utmx=1&utm=2") == "/a?utmx=1&utm=2")
        #expect(redactor.redact("/a?utm_source=x&page=2") == "/a?utm_source=x", "links keep them")
    }

    @Test("the output buffer is reused: redacting into it replaces its contents")
    func bufferReuse() {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        let capacity = output.capacity
        for (target, expected) in [("/users/42?utm_source=a", "/users/:id?utm_source=a"), ("/x", "/x")] {
            Array(target.utf8).withUnsafeBytes { redactor.redact($0, into: &output) }
            #expect(String(decoding: output, as: UTF8.self) == expected)
        }
        #expect(output.capacity == capacity)
    }

    @Test("typed-buffer entry points give the same results as the string ones")
    func typedBuffers() {
        let target = Array("/users/jane.doe@example.com?utm_source=x&id=5".utf8)
        #expect(target.withUnsafeBufferPointer { redactor.redact($0) } == "/users/:email?utm_source=x")
        let referrer = Array("https://WWW.example.com/x".utf8)
        #expect(referrer.withUnsafeBufferPointer { redactor.referrerHost($0) } == "www.example.com")
        #expect(Array("-".utf8).withUnsafeBufferPointer { redactor.referrerHost($0) } == nil)
    }

    @Test(
        "referrer hosts",
        arguments: [
            ("https://www.Example.com:8443/path?q=jane@example.com", "www.example.com"),
            ("http://user:pw@example.org/", "example.org"),
            ("android-app://com.google.android.gm/", "com.google.android.gm"),
            ("android-app://com.google.android.gm", "com.google.android.gm"),
            ("//cdn.example.net/x", "cdn.example.net"),
            ("https://example.com./", "example.com"),
            (" https://example.com ", "example.com"),
            ("http://203.0.113.5/page", ":ip"),
            ("http://[2001:db8::1]:8080/", ":ip"),
        ])
    func referrer(input: String, expected: String) {
        #expect(redactor.referrerHost(input) == expected)
    }

    @Test(
        "referrers without a host",
        arguments: [
            ("-", "dash"),
            ("", "empty"),
            ("   ", "blank"),
            ("/relative/path", "relative"),
            ("example.com/path", "no scheme"),
            ("https://", "nothing after the scheme"),
            ("https:///path", "empty host"),
            ("mailto:jane@example.com", "no authority"),
            ("http://exa mple.com/", "space in the host"),
            ("http://%65xample.com/", "percent in the host"),
            ("http://:8080/", "port only"),
        ])
    func noReferrer(input: String, reason: String) {
        #expect(redactor.referrerHost(input) == nil, "\(reason)")
    }
}
