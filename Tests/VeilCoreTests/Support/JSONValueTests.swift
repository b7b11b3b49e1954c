import Foundation
import Testing

@testable import VeilCore

@Suite("JSONValue: pretty-printed JSON without Foundation")
struct JSONValueTests {
    /// The same document as Foundation objects.
    static func foundation(_ v: JSONValue) -> Any {
        switch v {
        case .null: NSNull()
        case .bool(let b): b
        case .int(let i): i
        case .string(let s): s
        case .array(let items): items.map(foundation)
        case .object(let members): members.mapValues(foundation)
        }
    }

    /// What `JSONSerialization` writes for `v` with the options the manifest used.
    static func serialized(_ v: JSONValue) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: foundation(v), options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    @Test(
        "the text equals JSONSerialization's (pretty, sorted keys, slashes as they are)",
        arguments: [
            // (document, what it exercises)
            (JSONValue.object([:]), "an empty object"),
            (.object(["a": .array([])]), "an empty array inside an object"),
            (.object(["a": .object([:]), "b": .array([.object([:]), .array([])])]), "empty containers, nested"),
            (.object(["k": .null, "t": .bool(true), "f": .bool(false)]), "null and booleans"),
            (
                .object(["min": .int(Int64.min), "max": .int(Int64.max), "zero": .int(0), "neg": .int(-42)]),
                "integers at their limits"
            ),
            (.object(["s": .string("a/b \"q\" back\\slash")]), "quotes, backslashes, slashes"),
            (
                .object(["s": .string("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}")]),
                "every kind of control byte, and DEL"
            ),
            (.object(["s": .string("é € 😀 \u{2028}")]), "non-ASCII characters"),
            (
                .object(["rows": .int(1), "rows_suppressed": .int(2), "rows_folded_into_other": .int(3), "r": .int(4)]),
                "keys that are prefixes of others, with `_`"
            ),
            (
                .object(["z": .array([.object(["y": .strings(["b", "a"]), "x": .int(1)])]), "a": .string("")]),
                "members sorted at every level, array order kept"
            ),
        ])
    func matchesFoundation(document: JSONValue, why: String) throws {
        #expect(try document.text == Self.serialized(document), "\(why)")
    }

    @Test("a release's manifest is the bytes JSONSerialization wrote for it")
    func manifest() throws {
        let ws = try StateTestWorkspace()
        let name = "odd \"name\" \\ \t é.log"
        let state = try ws.aggregate(StateTestLog(seed: 0x3A41).requests, name: name)
        var c = ReleaseConfiguration()
        c.k = 2
        let dir = ws.directory + "/out"
        _ = try RollupWriter.write(state, to: dir, configuration: c)
        let written = try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8)
        var release = try Release(state: state, configuration: c)
        let tables = try release.tables()
        let value = RollupWriter.manifestValue(state, tables, c)
        #expect(written == (try Self.serialized(value)) + "\n")
        // Parsed by Foundation and written again, it is the same bytes.
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])
        let again = try JSONSerialization.data(
            withJSONObject: parsed, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        #expect(String(decoding: again, as: UTF8.self) + "\n" == written)
        #expect((parsed["tables"] as? [String: Any])?.count == tables.count)
        #expect(((parsed["inputs"] as? [[String: Any]])?.first?["name"] as? String)?.hasSuffix("/" + name) == true)
    }
}
