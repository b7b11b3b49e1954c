/// A JSON document built from plain values and written without Foundation.
///
/// `text` writes what `JSONSerialization` writes with `.prettyPrinted`, `.sortedKeys` and
/// `.withoutEscapingSlashes`, byte for byte, for the keys veil writes (lower-case ASCII letters
/// and `_`): members sorted by key, two spaces of indentation per level, `"key" : value`, an
/// empty array or object as its brackets around an empty line. Strings escape `"`, `\`, and
/// the bytes below 0x20 (`\b`, `\t`, `\n`, `\f`, `\r`, else `\u00xx`); everything else,
/// `/` and non-ASCII characters included, is written as it is (UTF-8).
///
/// `JSONSerialization` inspects every value with dynamic casts, and the first lookup of each
/// cast's protocol conformance scans the conformance records of the whole program: for the
/// release manifest, that was more work than the rest of a small release (about 22 million
/// instructions, some 6 ms, in the statically linked build).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    static func int(_ v: Int) -> JSONValue { .int(Int64(v)) }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// The pretty-printed text, without a final newline.
    var text: String {
        var out: [UInt8] = []
        write(to: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(to out: inout [UInt8], indent: Int) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .int(let v): out += String(v).utf8
        case .string(let s): Self.writeString(s, to: &out)
        case .array(let items):
            Self.writeContainer("[", "]", items.count, to: &out, indent: indent) { i, out in
                items[i].write(to: &out, indent: indent + 1)
            }
        case .object(let members):
            // Keys compared by their UTF-8 bytes.
            let keys = members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            Self.writeContainer("{", "}", keys.count, to: &out, indent: indent) { i, out in
                Self.writeString(keys[i], to: &out)
                out += " : ".utf8
                members[keys[i]]!.write(to: &out, indent: indent + 1)
            }
        }
    }

    private static func writeContainer(
        _ open: Unicode.Scalar, _ close: Unicode.Scalar, _ count: Int, to out: inout [UInt8], indent: Int,
        element: (Int, inout [UInt8]) -> Void
    ) {
        out.append(UInt8(ascii: open))
        out.append(UInt8(ascii: "\n"))
        for i in 0..<count {
            if i > 0 { out += ",\n".utf8 }
            out += repeatElement(UInt8(ascii: " "), count: 2 * (indent + 1))
            element(i, &out)
        }
        out.append(UInt8(ascii: "\n"))
        out += repeatElement(UInt8(ascii: " "), count: 2 * indent)
        out.append(UInt8(ascii: close))
    }

    private static func writeString(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x08: out += "\\b".utf8
            case 0x09: out += "\\t".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0C: out += "\\f".utf8
            case 0x0D: out += "\\r".utf8
            case ..<0x20: out += "\\u00".utf8 + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
