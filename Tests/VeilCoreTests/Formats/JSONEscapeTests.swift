import Testing

@testable import VeilCore

/// `JSONEscape.undo`: one escape decoded in place, as both the JSON-lines parser and Docker's
/// `log` strings use it.
@Suite struct JSONEscapeTests {
    /// Every escape of `text` undone (the text between a string's quotes): the decoded bytes,
    /// or the failure.
    static func undoAll(_ text: String) -> Result<[UInt8], JSONEscape.Failure> {
        var bytes = Array(text.utf8)
        let n = bytes.count
        return bytes.withUnsafeMutableBufferPointer { b in
            let p = b.baseAddress!
            var r = 0, w = 0
            while r < n {
                if p[r] != UInt8(ascii: "\\") {
                    p[w] = p[r]
                    (r, w) = (r + 1, w + 1)
                    continue
                }
                do throws(JSONEscape.Failure) {
                    (r, w) = try JSONEscape.undo(p, at: r, end: n, to: w)
                } catch { return .failure(error) }
            }
            return .success(Array(b[..<w]))
        }
    }

    @Test(
        "escapes decoded: the short ones, \\u in 1 to 4 UTF-8 bytes, pairs, lone surrogates as U+FFFD",
        arguments: [
            (#"a\"b\\c\/d\b\f\n\r\t"#, "a\"b\\c/d\u{8}\u{C}\n\r\t"),
            (#"\u0041\u00e9\u20AC\ud83d\ude00"#, "Aé€😀"),
            (#"\ud800x"#, "\u{FFFD}x"),
            (#"\udc00"#, "\u{FFFD}"),
            // A high surrogate before an escape that is not a low one: that escape is its own.
            (#"\ud83d\u0041"#, "\u{FFFD}A"),
            (#"\ud83d\n"#, "\u{FFFD}\n"),
            (#"\ud83d"#, "\u{FFFD}"),
        ])
    func decodes(_ text: String, _ expected: String) throws {
        let result = try Self.undoAll(text).get()
        #expect(result == Array(expected.utf8), "\(text)")
    }

    @Test(
        "bad escapes: cut (truncated) or a byte that cannot be there, at its index",
        arguments: [
            (#"ab\"#, nil), (#"\u00"#, nil), (#"\ud83d\ude"#, nil),
            (#"ab\q"#, 3), (#"\u00g1"#, 4), (#"x\ud83d\u12z4"#, 11),
        ] as [(String, Int?)])
    func failures(_ text: String, _ badByte: Int?) {
        switch Self.undoAll(text) {
        case .success(let bytes): Issue.record("\(text) decoded to \(bytes)")
        case .failure(.truncated): #expect(badByte == nil, "\(text): truncated")
        case .failure(.badByte(let k)): #expect(badByte == k, "\(text): bad byte at \(k)")
        }
    }
}
