import Testing

@testable import VeilCore

/// The combined family's fast path must give exactly what the format's steps give: the same
/// result, record, line bytes (after unescaping) and unterminated-quote counters, line by line.
@Suite struct CombinedFastPathTests {
    @Test("the combined family has a fast path; other formats do not")
    func shapes() throws {
        typealias Shape = CompiledFormat.CombinedShape
        #expect(TextFormat.preset("combined")?.compiled.combinedShape == Shape())
        #expect(TextFormat.preset("combined_cookie")?.compiled.combinedShape == Shape(tail: [.cookie]))
        #expect(TextFormat.preset("combined_xff")?.compiled.combinedShape == Shape(tail: [.forwardedFor]))
        #expect(TextFormat.preset("combined_cookie_xff")?.compiled.combinedShape == Shape(tail: [.cookie, .forwardedFor]))
        #expect(try TextFormat(apache: #"%a %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{Accept}i""#).compiled.combinedShape == Shape(tail: [.skip]))
        #expect(TextFormat.preset("common")?.compiled.combinedShape == Shape(common: true))
        #expect(TextFormat.preset("vhost_combined")?.compiled.combinedShape == Shape(vhost: true))
        #expect(try TextFormat(apache: #"%v:%p %h %l %u %t "%r" %>s %b"#).compiled.combinedShape == Shape(vhost: true, common: true))
        for other in [
            #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D"#,
            #"%h %l %u %t "%r" %>s %b %D "%{Referer}i" "%{User-Agent}i""#,
            #"%h %l %u %t "%r" %>s %b "%{User-Agent}i" "%{Referer}i""#,
            #"%h %l %u %{%d/%b/%Y:%H:%M:%S %z}t "%r" %>s %b "%{Referer}i" "%{User-Agent}i""#,
            #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{Host}i""#,
        ] {
            #expect(try TextFormat(apache: other).compiled.combinedShape == nil, "\(other)")
        }
    }

    static let valid = [
        #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "https://ref.example/x" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0" "c0ffee""#,
        #"[2001:db8::1]:443 - alice [28/Nov/2026:10:00:59 -0500] "POST /login HTTP/2.0" 302 - "-" "curl/8.5.0" "-""#,
        #"198.51.100.7:51234 - - [01/Jan/2026:00:00:00 +0130] "-" 408 0 "-" "-" "-""#,
        #"192.0.2.1 ident user [28/Nov/2026:23:59:60 +0000] "GET / HTTP/1.0" 599 123456789012345678 "-" "a" "b""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "\x16\x03\x01" 400 0 "-" "-" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /q\"uote HTTP/1.1" 200 1 "-" "UA \"quoted\" here" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA" "-" trailing text"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA never closed"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA" "cookie" "198.51.100.1, 10.0.0.1""#,
        #"-  - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "x "y" "UA" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:0:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000]] "GET /a HTTP/1.1" 200 1 "-" "UA" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 20 1 "-" "UA" "-""#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1234567890123456789 "-" "UA" "-""#,
        "192.0.2.1\t- - [28/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"UA\" \"-\"",
        "192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a\u{0} HTTP/1.1\" 200 1 \"-\" \"UA\" \"-\"",
    ]

    /// NCSA common lines: plain, dashes, addresses with ports, bad fields, trailing text.
    static let validCommon = [
        #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 512"#,
        #"[2001:db8::1]:443 - alice [28/Nov/2026:10:00:59 -0500] "POST /login HTTP/2.0" 302 -"#,
        #"198.51.100.7:51234 - - [01/Jan/2026:00:00:00 +0130] "-" 408 0"#,
        #"192.0.2.1 ident user [28/Nov/2026:23:59:60 +0000] "GET / HTTP/1.0" 599 123456789012345678"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /q"uote HTTP/1.1" 200 1"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 trailing text"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "UA""#,
        #"-  - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1"#,
        #"192.0.2.1 - - [28/Nov/2026:10:0:00 +0000] "GET /a HTTP/1.1" 200 1"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 20 1"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1234567890123456789"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 12x"#,
        #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 "#,
        "192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 1\t",
        "192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 200 1 \u{0}",
    ]

    /// A plain `combined` line (no fields after the user agent).
    static let plainCombined =
        #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "https://ref.example/x" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0""#

    /// `%v:%p ` heads: plain, a dash, an empty site or port, spaces, tabs and colons where
    /// they do not belong.
    static let vhostHeads = [
        "www.example.com:443 ", "-:80 ", ":443 ", "www.example.com: ", "www example.com:80 ", "www.example.com\t:80 ",
        "[::1]:80 ", "a:b:c ", "www.example.com:443  ", "www.example.com:4\u{0}43 ", "a-much-longer-virtual-host-name.example.org:8443 ",
    ]

    /// The lines to try for a format: its family's lines, with `%v:%p ` heads for the vhost
    /// formats.
    static func lines(_ format: String) -> [String] {
        switch format {
        case "common": validCommon
        case "vhost_combined": vhostHeads.map { $0 + plainCombined } + valid.map { vhostHeads[0] + $0 } + [plainCombined]
        case "vhost_common": validCommon.map { vhostHeads[0] + $0 } + vhostHeads.map { $0 + validCommon[0] }
        default: valid
        }
    }

    /// The parser for a preset name, or `vhost_common` (`%v:%p` before NCSA common).
    static func parser(_ format: String) -> TextFormat {
        if format == "vhost_common" {
            return try! TextFormat(apache: #"%v:%p %h %l %u %t "%r" %>s %b"#)  // Safe: a valid format.
        }
        return TextFormat.preset(format)!  // Safe: the tests name presets.
    }

    /// Parses `line` with and without the fast path and expects the same outcome.
    func expectSame(_ formatName: String, _ line: [UInt8], _ note: @autoclosure () -> String) {
        var fast = Self.parser(formatName)
        var steps = fast
        steps.usesCombinedFastPath = false
        var a = line, b = line
        var ra = LogRecord(), rb = LogRecord()
        let resultA = a.withUnsafeMutableBufferPointer { fast.parse($0, into: &ra) }
        let resultB = b.withUnsafeMutableBufferPointer { steps.parse($0, into: &rb) }
        #expect(resultA == resultB, "\(note())")
        if resultA == .record && resultB == .record { #expect(ra == rb, "\(note())") }
        #expect(a == b, "\(note())")
        #expect(fast.lastRecordHadUnterminatedQuote == steps.lastRecordHadUnterminatedQuote, "\(note())")
        #expect(fast.unterminatedQuoteCount == steps.unterminatedQuoteCount, "\(note())")
    }

    @Test("hand-picked lines: plain, dashes, IPv6 with port, escapes, stray quotes, trailing text, bad fields",
          arguments: ["combined", "combined_cookie", "combined_cookie_xff", "combined_xff", "common", "vhost_combined", "vhost_common"])
    func handPicked(_ format: String) {
        for line in Self.lines(format) {
            expectSame(format, Array(line.utf8), line)
            // Every prefix, so each field meets the end of the line.
            let bytes = Array(line.utf8)
            for cut in 0..<bytes.count { expectSame(format, Array(bytes[..<cut]), "\(line) cut at \(cut)") }
        }
    }

    @Test("20,000 mutated lines: bytes replaced, inserted or deleted with structural and control bytes",
          arguments: ["combined", "combined_cookie", "common", "vhost_combined"])
    func mutated(_ format: String) {
        var rng = StateTestRNG(seed: format == "combined" ? 11 : format == "combined_cookie" ? 12 : UInt64(format.utf8.count))
        let alphabet: [UInt8] = Array(#" "\[]-:/+x0959aZ"#.utf8) + [0x00, 0x09, 0x0D, 0x16, 0x7F, 0xC3, 0xFF, 0x5C, 0x5C]
        let lines = Self.lines(format)
        for n in 0..<20_000 {
            var line = Array(lines[n % 4].utf8)
            for _ in 0..<Int(rng.next() % 3) + 1 {
                let at = Int(rng.next() % UInt64(line.count))
                let b = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: line[at] = b
                case 1: line.insert(b, at: at)
                default: line.remove(at: at)
                }
                if line.isEmpty { break }
            }
            expectSame(format, line, "line \(n): \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    /// A quoted field scanned to the very end of the line (16 and 8 bytes at a time) must not
    /// look at the byte after it: the same line followed by different bytes parses alike.
    @Test("a quoted field that runs to the end of the line never reads past it", arguments: [true, false])
    func neverReadsPastTheLine(_ fastPath: Bool) {
        for format in ["combined", "combined_cookie", "common"] {
            for length in 0..<80 {
                let line = Array((#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" ""#
                    + String(repeating: "a", count: length)).utf8)
                var outcomes: [String] = []
                for after in [UInt8(ascii: "\""), UInt8(ascii: " "), UInt8(ascii: "\\"), 0] {
                    var buffer = line + [after, after, UInt8(ascii: " "), after]
                    var parser = TextFormat.preset(format)!
                    parser.usesCombinedFastPath = fastPath
                    var record = LogRecord()
                    let result = buffer.withUnsafeMutableBufferPointer {
                        parser.parse(UnsafeMutableBufferPointer(rebasing: $0[0..<line.count]), into: &record)
                    }
                    outcomes.append("\(result) \(record) \(parser.lastRecordHadUnterminatedQuote)")
                }
                #expect(Set(outcomes).count == 1, "\(format), \(length) bytes: \(outcomes)")
            }
        }
    }

    @Test("lines of the fixture generator's traffic take the fast path and give the steps' records")
    func generatedTraffic() {
        // The fast path is taken: a plain line of each shape is recognised without the steps.
        for (format, line) in [
            ("combined_cookie", Self.valid[0]), ("common", Self.validCommon[0]),
            ("vhost_combined", Self.vhostHeads[0] + Self.plainCombined),
            ("vhost_common", Self.vhostHeads[0] + Self.validCommon[0]), ("vhost_combined", "-:80 " + Self.plainCombined),
        ] {
            let fast = Self.parser(format)
            let shape = fast.compiled.combinedShape!
            var record = LogRecord()
            var bytes = Array(line.utf8)
            let taken = bytes.withUnsafeMutableBufferPointer { p in
                var cache = CLFTimestampCache()
                return shape.tail.withUnsafeBufferPointer { tail in
                    TextFormat.runCombined(
                        vhost: shape.vhost, common: shape.common, tail: tail, line: p.baseAddress!, count: p.count,
                        record: &record, cache: &cache)
                }
            }
            #expect(taken, "\(format): \(line)")
        }
        for request in StateTestLog(seed: 5, visitors: 200).requests {
            expectSame("combined", Array(request.line.utf8), request.line)
            expectSame("combined_cookie", Array((request.line + #" "id-\#(request.ip)""#).utf8), request.line)
            expectSame("vhost_combined", Array(("shop.example.net:443 " + request.line).utf8), request.line)
        }
    }
}
