import Testing

@testable import VeilCore

/// A pattern, a target, and the captured texts (`nil`: no match), with the reason.
struct ClassifyPatternCase: Sendable, CustomTestStringConvertible {
    let pattern: String
    let target: String
    let expected: [String]?
    let reason: String

    init(_ pattern: String, _ target: String, _ expected: [String]?, _ reason: String) {
        self.pattern = pattern
        self.target = target
        self.expected = expected
        self.reason = reason
    }

    var testDescription: String { "\(pattern) ~ \(target): \(reason)" }
}

private let campaign = "/c/{campaign}/{link}?r={recipient}"

private let patternTable: [ClassifyPatternCase] = [
    ClassifyPatternCase(campaign, "/c/spring/l3?r=tok123", ["spring", "l3", "tok123"], "all captures"),
    ClassifyPatternCase(
        campaign, "/c/spring/l3?x=1&r=tok123&y=2", ["spring", "l3", "tok123"], "parameter among others"),
    ClassifyPatternCase(campaign, "/c/spring/l3?rr=a&r=b", ["spring", "l3", "b"], "name must match exactly"),
    ClassifyPatternCase(campaign, "/c/spring/l3?r=a&r=b", ["spring", "l3", "a"], "first parameter wins"),
    ClassifyPatternCase(campaign, "/c/spring/l3?r=a#frag", ["spring", "l3", "a"], "fragment ignored"),
    ClassifyPatternCase(campaign, "/c/s%20x/l3?r=a%40b", ["s%20x", "l3", "a%40b"], "nothing decoded"),
    ClassifyPatternCase(campaign, "https://example.com/c/s/l?r=t", ["s", "l", "t"], "absolute form"),
    ClassifyPatternCase(campaign, "/c/spring/l3", nil, "required parameter missing"),
    ClassifyPatternCase(campaign, "/c/spring/l3?r=", nil, "empty captured value"),
    ClassifyPatternCase(campaign, "/c/spring/l3?r", nil, "parameter without value for a capture"),
    ClassifyPatternCase(campaign, "/c/spring?r=a", nil, "segment missing"),
    ClassifyPatternCase(campaign, "/c/spring/l3/extra?r=a", nil, "extra segment"),
    ClassifyPatternCase(campaign, "/c/spring/l3/?r=a", nil, "trailing slash is an extra segment"),
    ClassifyPatternCase(campaign, "/c//l3?r=a", nil, "empty segment cannot be captured"),
    ClassifyPatternCase(campaign, "/C/spring/l3?r=a", nil, "case-sensitive literal"),
    ClassifyPatternCase("/t/open.gif*", "/t/open.gif", [], "star matches nothing"),
    ClassifyPatternCase("/t/open.gif*", "/t/open.gif?c=1", [], "query ignored without '?' in the pattern"),
    ClassifyPatternCase("/t/open.gif*", "/t/open.gif/x/y", [], "star spans segments"),
    ClassifyPatternCase("/t/open.gif*", "/t/open.png", nil, "different literal"),
    ClassifyPatternCase("/t/open.gif*", "/t/open.gi", nil, "shorter than the literal"),
    ClassifyPatternCase("/pixel*", "/pixel", [], "bare prefix"),
    ClassifyPatternCase("/pixel*", "/pixels/a", [], "prefix then more"),
    ClassifyPatternCase("/pixel*", "/pix", nil, "prefix cut short"),
    ClassifyPatternCase("/pixel*", "/a/pixel", nil, "anchored at the start"),
    ClassifyPatternCase("/c/*", "/c/", [], "empty rest"),
    ClassifyPatternCase("/c/*", "/c/a/b?x", [], "deep rest"),
    ClassifyPatternCase("/c/*", "/c", nil, "slash required"),
    ClassifyPatternCase("/c/*", "/cx/a", nil, "segment must be exactly c"),
    ClassifyPatternCase("/o/{id}.gif", "/o/abc.gif", ["abc"], "capture before a suffix"),
    ClassifyPatternCase("/o/{id}.gif", "/o/.gif", nil, "capture would be empty"),
    ClassifyPatternCase("/o/{id}.gif", "/o/abc.png", nil, "suffix differs"),
    ClassifyPatternCase("/o/open-{id}", "/o/open-42", ["42"], "capture after a prefix"),
    ClassifyPatternCase("/u/{user}?v=1", "/u/x?v=1", ["x"], "literal query value"),
    ClassifyPatternCase("/u/{user}?v=1", "/u/x?v=2", nil, "literal query value differs"),
    ClassifyPatternCase("/u/{user}?v=1", "/u/x?v=10", nil, "literal value is exact"),
    ClassifyPatternCase("/u/{user}?v=1", "/u/x?v", nil, "missing value"),
    ClassifyPatternCase("/p?flag", "/p?flag", [], "presence only"),
    ClassifyPatternCase("/p?flag", "/p?a=1&flag=yes", [], "presence with a value"),
    ClassifyPatternCase("/p?flag", "/p?flags=1", nil, "different name"),
    ClassifyPatternCase("/", "/", [], "root"),
    ClassifyPatternCase("/", "/a", nil, "root only"),
    ClassifyPatternCase("/", "", nil, "empty target"),
    ClassifyPatternCase("/", "*", nil, "asterisk-form target"),
    ClassifyPatternCase("/a/", "/a/", [], "trailing slash kept"),
    ClassifyPatternCase("/a/", "/a", nil, "trailing slash required"),
    ClassifyPatternCase("/x/{a}/{b}/{c}/{d}", "/x/1/2/3/4", ["1", "2", "3", "4"], "four captures"),
    ClassifyPatternCase("/q?b={b}&a={a}", "/q?a=1&b=2", ["2", "1"], "query captures in pattern order"),
]

/// Bad patterns, each with the reason.
private let badPatterns: [(String, String)] = [
    ("", "empty"),
    ("c/{x}", "no leading slash"),
    ("/c/{", "unclosed brace"),
    ("/c/}", "closing brace alone"),
    ("/c/{}", "empty capture name"),
    ("/c/{a b}", "space in capture name"),
    ("/c/{a}{b}", "two captures in one segment"),
    ("/c/{a}/{a}", "duplicate capture name"),
    ("/{a}/{b}/{c}/{d}/{e}", "five captures"),
    ("/c/*/x", "star before another segment"),
    ("/c/*x", "star inside a segment"),
    ("/c/{a}*", "star and capture in one segment"),
    ("/x?{a}=1", "capture as a query name"),
    ("/x?=v", "empty query name"),
    ("/x?a=pre{b}", "capture inside a query value"),
    ("/x?a={b", "unclosed query capture"),
    ("/x#y", "fragment"),
]

@Suite("URL patterns")
struct URLPatternTests {
    @Test("captures table", arguments: patternTable)
    func captures(_ row: ClassifyPatternCase) throws {
        let pattern = try URLPattern(row.pattern)
        var target = row.target
        let got: [String]? = target.withUTF8 { bytes in
            guard let captures = pattern.match(bytes) else { return nil }
            return (0..<captures.count).map { i in
                String(decoding: captures[i].slice(bytes), as: UTF8.self)
            }
        }
        #expect(got == row.expected, "\(row.reason)")
    }

    @Test("bad patterns are rejected")
    func bad() {
        for (text, reason) in badPatterns {
            #expect(throws: VeilError.self, "\(reason)") { try URLPattern(text) }
        }
    }

    @Test("capture names and offsets into the line")
    func namesAndOffsets() throws {
        let pattern = try URLPattern(campaign)
        #expect(pattern.captureNames == ["campaign", "link", "recipient"])
        #expect(pattern.captureIndex(named: "recipient") == 2)
        #expect(pattern.captureIndex(named: "nope") == nil)
        #expect(pattern.description == campaign)

        let line = Array("GET /c/ab/cd?r=ef HTTP/1.1".utf8)
        let targetRange = ByteRange(4, 17)
        let captures = try #require(
            line.withUnsafeBufferPointer { whole in
                pattern.match(targetRange.slice(whole), baseOffset: targetRange.start)
            })
        #expect(captures[0] == ByteRange(7, 9))
        #expect(captures[1] == ByteRange(10, 12))
        #expect(captures[2] == ByteRange(15, 17))
    }

    @Test("request targets split into path and query")
    func targetParts() {
        let rows: [(String, String, String, String)] = [
            ("/a/b?c=d#e", "/a/b", "c=d", "origin form"),
            ("/a#b?c", "/a", "", "fragment before question mark"),
            ("/a?", "/a", "", "empty query"),
            ("http://example.com/x?y", "/x", "y", "absolute form"),
            ("https://example.com?y", "", "y", "absolute form without path"),
            ("https://example.com", "", "", "absolute form, host only"),
            ("*", "*", "", "asterisk form"),
            ("example.com:443", "example.com:443", "", "authority form"),
            ("1http://x/y", "1http://x/y", "", "scheme must start with a letter"),
            ("", "", "", "empty"),
        ]
        for (target, path, query, reason) in rows {
            var t = target
            let (gotPath, gotQuery) = t.withUTF8 { bytes in
                let parts = RequestTarget(bytes)
                return (
                    String(decoding: bytes[parts.pathStart..<parts.pathEnd], as: UTF8.self),
                    String(decoding: bytes[parts.queryStart..<parts.queryEnd], as: UTF8.self)
                )
            }
            #expect(gotPath == path, "\(reason)")
            #expect(gotQuery == query, "\(reason)")
        }
    }

    @Test("the path ends at the first ? or # at any offset (eight bytes at a time), after any bytes")
    func pathEndAtEveryOffset() {
        // Bytes around '?' (0x3F) and '#' (0x23) in value, and high bytes, which a word scan
        // must not mistake for either.
        let filler: [UInt8] = [0x2F, 0x61, 0x3E, 0x40, 0x22, 0x24, 0x80, 0xBF, 0xFF, 0x00, 0x7F]
        for length in 1...40 {
            for at in 0..<length {
                for mark in [UInt8(ascii: "?"), UInt8(ascii: "#")] {
                    var target = (0..<length).map { filler[($0 &* 7 &+ length) % filler.count] }
                    target[0] = UInt8(ascii: "/")
                    if at > 0 { target[at] = mark }
                    if at + 3 < length { target[at + 3] = mark == 0x3F ? 0x23 : 0x3F }
                    let expectedEnd = target.firstIndex { $0 == 0x3F || $0 == 0x23 } ?? length
                    let parts = target.withUnsafeBufferPointer { RequestTarget($0) }
                    #expect(parts.pathStart == 0 && parts.pathEnd == expectedEnd, "length \(length), mark at \(at)")
                }
            }
        }
    }

    @Test("the query ends at the first # after the ? at any offset (eight bytes at a time)")
    func queryEndAtEveryOffset() {
        let filler: [UInt8] = [0x61, 0x22, 0x24, 0x3D, 0x26, 0x80, 0xFF, 0x00, 0x3F]
        for length in 2...40 {
            for at in 2..<length {
                var target = (0..<length).map { filler[($0 &* 5 &+ length) % filler.count] }
                target[0] = UInt8(ascii: "/")
                target[1] = UInt8(ascii: "?")
                target[at] = UInt8(ascii: "#")
                if at + 2 < length { target[at + 2] = UInt8(ascii: "#") }
                let parts = target.withUnsafeBufferPointer { RequestTarget($0) }
                #expect(parts.queryStart == 2 && parts.queryEnd == at, "length \(length), # at \(at)")
            }
            // No `#`: the query runs to the end.
            var target = (0..<length).map { filler[($0 &* 5 &+ length) % filler.count] }
            target[0] = UInt8(ascii: "/")
            target[1] = UInt8(ascii: "?")
            let parts = target.withUnsafeBufferPointer { RequestTarget($0) }
            #expect(parts.queryEnd == length, "length \(length), no #")
        }
    }
}
