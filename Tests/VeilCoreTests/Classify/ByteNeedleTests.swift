import Testing

@testable import VeilCore

@Suite("Byte needles")
struct ByteNeedleTests {
    /// Runs `body` with the bytes of `text`.
    private func bytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var text = text
        return text.withUTF8(body)
    }

    @Test("single needle: case-insensitive, from an offset, at the edges")
    func single() {
        let needle = ByteNeedle("Bot")
        let rows: [(String, Int, Int?, String)] = [
            ("bot", 0, 0, "whole haystack"),
            ("xBOT", 0, 1, "upper case at the end"),
            ("bo", 0, nil, "haystack shorter than the needle"),
            ("", 0, nil, "empty haystack"),
            ("bot bot", 1, 4, "search from an offset"),
            ("bot", 5, nil, "offset past the end"),
            ("b\u{00F6}t", 0, nil, "non-ASCII byte"),
        ]
        for (hay, from, expected, reason) in rows {
            #expect(bytes(hay) { needle.firstIndex(in: $0, from: from) } == expected, "\(reason)")
        }
    }

    @Test("set: list order wins over position, anchors restrict where tokens match")
    func set() {
        let set = ByteNeedleSet([
            (text: "alpha", anchor: .anywhere), (text: "beta", anchor: .start),
            (text: "gamma", anchor: .wordStart), (text: "al", anchor: .anywhere),
        ])
        let rows: [(String, Int?, String)] = [
            ("xx gamma alpha", 0, "earlier token in list order wins although later in the text"),
            ("ALPHA", 0, "case-insensitive"),
            ("beta", 1, "anchored token at offset 0"),
            ("x beta", nil, "anchored token elsewhere"),
            ("x-Gamma", 2, "word start after a non-letter"),
            ("xgamma", nil, "not at a word start"),
            ("xal", 3, "short token anywhere"),
            ("a", nil, "one byte"),
            ("", nil, "empty"),
        ]
        for (hay, expected, reason) in rows {
            #expect(bytes(hay) { set.firstMatch(in: $0) } == expected, "\(reason)")
        }
        let ends: [Int32] = bytes("gamma alphal") { hay in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: set.count) { ends in
                set.scan(hay, ends: ends)
                return Array(ends)
            }
        }
        #expect(ends == [11, -1, 5, 8], "first occurrence of each token, end offsets")
    }
}
