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
        #expect(
            TextFormat.preset("combined_cookie_xff")?.compiled.combinedShape == Shape(tail: [.cookie, .forwardedFor]))
        #expect(
            try TextFormat(apache: #"%a %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" "%{Accept}i""#).compiled
                .combinedShape == Shape(tail: [.skip]))
        #expect(TextFormat.preset("common")?.compiled.combinedShape == Shape(common: true))
        #expect(TextFormat.preset("vhost_combined")?.compiled.combinedShape == Shape(vhost: true))
        #expect(
            try TextFormat(apache: #"%v:%p %h %l %u %t "%r" %>s %b"#).compiled.combinedShape
                == Shape(vhost: true, common: true))
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
        "[::1]:80 ", "2001:db8::2:443 ", "a:b:c ", "www.example.com:443  ", "www.example.com:4\u{0}43 ",
        "a-much-longer-virtual-host-name.example.org:8443 ",
    ]

    /// The lines to try for a format: its family's lines, with `%v:%p ` heads for the vhost
    /// formats.
    static func lines(_ format: String) -> [String] {
        switch format {
        case "common": validCommon
        case "vhost_combined":
            vhostHeads.map { $0 + plainCombined } + valid.map { vhostHeads[0] + $0 } + [plainCombined]
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

    @Test(
        "hand-picked lines: plain, dashes, IPv6 with port, escapes, stray quotes, trailing text, bad fields",
        arguments: [
            "combined", "combined_cookie", "combined_cookie_xff", "combined_xff", "common", "vhost_combined",
            "vhost_common",
        ])
    func handPicked(_ format: String) {
        for line in Self.lines(format) {
            expectSame(format, Array(line.utf8), line)
            // Every prefix, so each field meets the end of the line.
            let bytes = Array(line.utf8)
            for cut in 0..<bytes.count { expectSame(format, Array(bytes[..<cut]), "\(line) cut at \(cut)") }
        }
    }

    /// Replaces, inserts or deletes a random byte of `line` (one of `alphabet`) `times` times,
    /// stopping early if the line empties.
    static func mutate(_ line: inout [UInt8], times: Int, alphabet: [UInt8], rng: inout StateTestRNG) {
        for _ in 0..<times where !line.isEmpty {
            let at = Int(rng.next() % UInt64(line.count))
            let b = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            switch rng.next() % 3 {
            case 0: line[at] = b
            case 1: line.insert(b, at: at)
            default: line.remove(at: at)
            }
        }
    }

    @Test(
        "20,000 mutated lines: bytes replaced, inserted or deleted with structural and control bytes",
        arguments: ["combined", "combined_cookie", "common", "vhost_combined"])
    func mutated(_ format: String) {
        var rng = StateTestRNG(
            seed: format == "combined" ? 11 : format == "combined_cookie" ? 12 : UInt64(format.utf8.count))
        let alphabet: [UInt8] =
            Array(#" "\[]-:/+x0959aZ"#.utf8) + [0x00, 0x09, 0x0D, 0x16, 0x7F, 0xC3, 0xFF, 0x5C, 0x5C]
        let lines = Self.lines(format)
        for n in 0..<20_000 {
            var line = Array(lines[n % 4].utf8)
            Self.mutate(&line, times: Int(rng.next() % 3) + 1, alphabet: alphabet, rng: &rng)
            expectSame(format, line, "line \(n): \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    /// A quoted field scanned to the very end of the line (16 and 8 bytes at a time) must not
    /// look at the byte after it: the same line followed by different bytes parses alike.
    @Test("a quoted field that runs to the end of the line never reads past it", arguments: [true, false])
    func neverReadsPastTheLine(_ fastPath: Bool) {
        for format in ["combined", "combined_cookie", "common"] {
            for length in 0..<80 {
                let line = Array(
                    (#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" ""#
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
            ("vhost_common", Self.vhostHeads[0] + Self.validCommon[0]),
            ("vhost_combined", "-:80 " + Self.plainCombined),
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

    /// Runs the mask scan alone on `line` for `format` (a combined-family preset other than
    /// NCSA common, which the mask scan does not take); when it takes
    /// the line, `runCombined` must take it too, with the same record and bytes.
    /// - Returns: whether the mask scan took the line.
    @discardableResult
    func expectMaskedAgrees(_ format: String, _ line: [UInt8], _ note: @autoclosure () -> String) -> Bool {
        let shape = Self.parser(format).compiled.combinedShape!
        var a = line, b = line
        var ra = LogRecord(), rb = LogRecord()
        var cacheA = CLFTimestampCache(), cacheB = CLFTimestampCache()
        let masked = shape.tail.withUnsafeBufferPointer { tail in
            a.withUnsafeMutableBufferPointer { p in
                TextFormat.runCombinedMasked(
                    vhost: shape.vhost, tail: tail, line: p.baseAddress!, count: p.count, record: &ra, cache: &cacheA)
            }
        }
        let scanned = shape.tail.withUnsafeBufferPointer { tail in
            b.withUnsafeMutableBufferPointer { p in
                TextFormat.runCombined(
                    vhost: shape.vhost, common: shape.common, tail: tail, line: p.baseAddress!, count: p.count,
                    record: &rb, cache: &cacheB)
            }
        }
        if masked {
            #expect(scanned, "\(note())")
            #expect(ra == rb, "\(note())")
        } else {
            #expect(ra == LogRecord(), "a declined line leaves the record alone: \(note())")
        }
        #expect(a == b, "\(note())")
        return masked
    }

    @Test(
        "the mask scan takes plain lines of 64 to 1,024 bytes, at every length across a block edge, and gives runCombined's record"
    )
    func maskedTakesPlainLines() {
        for format in ["combined", "combined_cookie", "combined_cookie_xff", "vhost_combined"] {
            let site = format.hasPrefix("vhost") ? "www.example.com:443 " : ""
            let end =
                switch format {
                case "combined_cookie": #" "-" "Mozilla/5.0 (X11)" "c0ffee""#
                case "combined_cookie_xff": #" "https://ref.example/" "Mozilla/5.0 (X11)" "-" "198.51.100.1""#
                default: #" "-" "Mozilla/5.0 (X11)""#
                }
            var taken: [Int] = []
            for extra in 0..<300 {
                let target = "/a" + String(repeating: "b", count: extra)
                let line = Array(
                    (site + #"203.0.113.9 - - [28/Nov/2026:10:00:00 +0000] "GET \#(target) HTTP/1.1" 200 512"# + end)
                        .utf8)
                if expectMaskedAgrees(format, line, "\(format), \(line.count) bytes") { taken.append(line.count) }
                expectSame(format, line, "\(format), \(line.count) bytes")
            }
            // Every line from 64 bytes on.
            #expect(taken.count == taken.last! - max(64, taken.first!) + 1, "\(format)")
            #expect(taken.first == 64 || (taken.first! > 64 && taken.count == 300), "\(format)")
        }
        // Control bytes inside quoted fields, which runCombined allows too.
        let controls =
            "192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] \"GET /a\u{1} HTTP/1.1\" 200 1 \"-\" \"Mozilla/5.0\t(X11)\" \"c\u{0}\""
        #expect(expectMaskedAgrees("combined_cookie", Array(controls.utf8), controls))
        for request in StateTestLog(seed: 7, visitors: 200).requests {
            #expect(expectMaskedAgrees("combined", Array(request.line.utf8), request.line))
            let cookie = Array((request.line + #" "id-\#(request.ip)""#).utf8)
            #expect(expectMaskedAgrees("combined_cookie", cookie, request.line))
        }
    }

    @Test(
        "the mask scan declines what it cannot vouch for and runCombined still takes it",
        arguments: [
            // A quote in an unquoted field: not the request's opening quote first.
            #"192.0.2.1 - "bob" [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "Mozilla/5.0 (X11)" "c""#,
            // A backslash outside the quoted fields (where runCombined allows it).
            #"192.0.2.1 - us\er [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" "Mozilla/5.0 (X11)" "c""#,
            // `%h %l %u` past the first 64 bytes.
            #"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff - a-very-long-user-name-for-this [28/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "UA" "c""#,
            // Over 1,024 bytes.
            #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 1 "-" ""#
                + String(repeating: "u", count: 1_000) + #"" "c""#,
            // Under 64 bytes.
            #"1.2.3.4 - - [28/Nov/2026:10:00:00 +0000] "-" 200 1 "-" "" """#,
        ])
    func maskedDeclines(_ line: String) {
        #expect(!expectMaskedAgrees("combined_cookie", Array(line.utf8), line))
        var record = LogRecord()
        var bytes = Array(line.utf8)
        let shape = Self.parser("combined_cookie").compiled.combinedShape!
        var cache = CLFTimestampCache()
        let scanned = shape.tail.withUnsafeBufferPointer { tail in
            bytes.withUnsafeMutableBufferPointer { p in
                TextFormat.runCombined(
                    vhost: false, common: false, tail: tail, line: p.baseAddress!, count: p.count, record: &record,
                    cache: &cache)
            }
        }
        #expect(scanned)
        expectSame("combined_cookie", Array(line.utf8), line)
    }

    @Test("20,000 mutated lines through the mask scan: whenever it takes one, runCombined takes it alike")
    func maskedMutated() {
        var rng = StateTestRNG(seed: 21)
        let alphabet: [UInt8] = Array(#" "\[]-:/+x0959aZ"#.utf8) + [0x00, 0x09, 0x0D, 0x16, 0x7F, 0xC3, 0xFF, 0x5C]
        let lines = [Self.valid[0], Self.valid[8], Self.valid[1]].map { Array($0.utf8) }
        let others = [
            ("vhost_combined", Self.vhostHeads[0] + Self.plainCombined),
            ("vhost_combined", Self.vhostHeads[10] + Self.valid[0]),
        ]
        var taken = 0
        for n in 0..<20_000 {
            let (other, otherLine) = others[n % others.count]
            var mutated = Array(otherLine.utf8)
            for _ in 0..<Int(rng.next() % 2) + 1 {
                let at = Int(rng.next() % UInt64(mutated.count))
                mutated[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            if expectMaskedAgrees(
                other, mutated, "\(other) line \(n): \(String(decoding: mutated, as: UTF8.self).debugDescription)")
            {
                taken += 1
            }
            var line = lines[n % lines.count]
            Self.mutate(&line, times: Int(rng.next() % 2) + 1, alphabet: alphabet, rng: &rng)
            for format in ["combined_cookie", "combined_cookie_xff"] {
                if expectMaskedAgrees(
                    format, line, "line \(n): \(String(decoding: line, as: UTF8.self).debugDescription)")
                {
                    taken += 1
                }
            }
        }
        // Many mutations leave a line plain (a letter for a letter), so the scan is exercised.
        #expect(taken > 4_000)
    }

    @Test("a %b field of every length from 1 to 20, digits or one byte off at each place, reads as the steps read it")
    func byteCounts() {
        // The bytes around the digits (`/`, `:`), letters, a dash, a space and high bytes.
        let strays: [UInt8] = [0x2F, 0x3A, 0x2D, 0x41, 0x20, 0x00, 0x80, 0xC9, 0xFF, 0x36 ^ 0x80]
        for format in ["combined_cookie", "common"] {
            for count in 1...20 {
                let digits = (0..<count).map { UInt8(ascii: "1") + UInt8($0 % 9) }
                var fields = [digits, Array(repeating: UInt8(ascii: "-"), count: count)]
                for at in 0..<count {
                    for stray in strays {
                        var field = digits
                        field[at] = stray
                        fields.append(field)
                    }
                }
                for field in fields {
                    let head = Array(#"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 "#.utf8)
                    let end = format == "common" ? [] : Array(#" "-" "Mozilla/5.0 (X11; Linux x86_64)" "c""#.utf8)
                    let line = head + field + end
                    expectSame(format, line, "\(format) %b \(field)")
                    if format == "combined_cookie" { expectMaskedAgrees(format, line, "%b \(field)") }
                }
            }
        }
        // The values themselves, through the mask scan.
        for (field, value) in [
            ("0", 0), ("7", 7), ("-", 0), ("10", 10), ("99999999", 99_999_999), ("123456789", 123_456_789),
            ("00000042", 42),
        ] {
            let line =
                #"192.0.2.1 - - [28/Nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 \#(field) "-" "Mozilla/5.0 (X11)" "c""#
            var bytes = Array(line.utf8)
            var record = LogRecord()
            var parser = Self.parser("combined_cookie")
            #expect(bytes.withUnsafeMutableBufferPointer { parser.parse($0, into: &record) } == .record)
            #expect(record.bytes == Int64(value), "\(field)")
        }
    }
}
