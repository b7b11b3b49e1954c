/// A minimal JSON tree with ordered object members, printed deterministically.
indirect enum JSONValue {
    case int(Int)
    case bool(Bool)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    private var isScalar: Bool {
        switch self {
        case .int, .bool: true
        case .string(let s): s.utf8.count <= 60
        case .array(let items): items.isEmpty
        case .object(let members): members.isEmpty
        }
    }

    /// Pretty-printed text: two-space indentation; an array or object whose members are all
    /// scalars (numbers, booleans, strings of at most 60 bytes) is written on one line.
    func rendered() -> String {
        var out = ""
        write(into: &out, indent: 0)
        out += "\n"
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .int(let v): out += String(v)
        case .bool(let v): out += v ? "true" : "false"
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            if items.allSatisfy(\.isScalar) {
                out += "["
                for (i, item) in items.enumerated() {
                    if i > 0 { out += ", " }
                    item.write(into: &out, indent: indent)
                }
                out += "]"
            } else {
                out += "[\n"
                for (i, item) in items.enumerated() {
                    out += String(repeating: " ", count: indent + 2)
                    item.write(into: &out, indent: indent + 2)
                    out += i + 1 < items.count ? ",\n" : "\n"
                }
                out += String(repeating: " ", count: indent) + "]"
            }
        case .object(let members):
            if members.allSatisfy(\.1.isScalar) {
                out += "{"
                for (i, (key, value)) in members.enumerated() {
                    if i > 0 { out += ", " }
                    Self.writeString(key, into: &out)
                    out += ": "
                    value.write(into: &out, indent: indent)
                }
                out += "}"
            } else {
                out += "{\n"
                for (i, (key, value)) in members.enumerated() {
                    out += String(repeating: " ", count: indent + 2)
                    Self.writeString(key, into: &out)
                    out += ": "
                    value.write(into: &out, indent: indent + 2)
                    out += i + 1 < members.count ? ",\n" : "\n"
                }
                out += String(repeating: " ", count: indent) + "}"
            }
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
