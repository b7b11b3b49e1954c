/// Writes RFC 4180 CSV: comma separators, CRLF line ends, fields quoted with `"` when they hold
/// a comma, quote, CR or LF (a quote inside is doubled), UTF-8.
///
/// Cells that a spreadsheet would take as a formula — starting with `=`, `+`, `-`, `@`, tab or
/// CR — get a leading `'` (OWASP's advice for CSV injection). Numbers veil writes are never
/// negative, so they are left alone.
public struct CSVWriter {
    public private(set) var text = ""

    public init(header: [String]) {
        append(header)
    }

    public mutating func append(_ row: [String]) {
        for (i, field) in row.enumerated() {
            if i > 0 { text += "," }
            text += Self.escape(field)
        }
        text += "\r\n"
    }

    /// One field, neutralised and quoted as needed.
    public static func escape(_ field: String) -> String {
        var f = field
        if let c = f.utf8.first,
            c == UInt8(ascii: "=") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "@") || c == 0x09 || c == 0x0D
        {
            f = "'" + f
        }
        if f.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
            var q = "\""
            for ch in f.unicodeScalars {
                if ch == "\"" { q += "\"" }
                q.unicodeScalars.append(ch)
            }
            return q + "\""
        }
        return f
    }
}
