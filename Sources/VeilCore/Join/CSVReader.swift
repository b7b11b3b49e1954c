/// One record of a CSV file: its fields as raw bytes and where it starts.
public struct CSVRecord: Sendable, Equatable {
    public var fields: [[UInt8]]
    /// 1-based line number of the record's first byte (a quoted field may span lines).
    public var line: Int
    /// Byte offset of the record's first byte in the file.
    public var byteOffset: Int64
}

/// An RFC 4180 reader over bytes in memory.
///
/// Separators are `,` between fields and `\n` or `\r\n` between records (a lone `\r` is
/// data). A field that starts with `"` is quoted: it ends at the next `"` not followed by
/// another `"`, and may hold commas, `\r` and `\n`; `""` inside stands for one `"`. A UTF-8
/// byte order mark at the very start is skipped. Empty lines between records are skipped; the
/// last record needs no line break.
///
/// Errors name the file, the line and the byte offset, never a field's content (an identity
/// table holds personal data).
public struct CSVReader {
    private let bytes: [UInt8]
    private let file: String
    private var position: Int
    private var line = 1

    /// - Parameters:
    ///   - bytes: The whole file.
    ///   - file: Its name, for error messages.
    public init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    /// The next record, or nil at the end of the file.
    /// - Throws: `VeilError(.badInput)` for a quote inside an unquoted field, text after a
    ///   closing quote, or a quoted field that never ends.
    public mutating func next() throws(VeilError) -> CSVRecord? {
        // Skip empty lines.
        while position < bytes.count {
            if bytes[position] == 0x0A {
                position += 1
                line += 1
            } else if bytes[position] == 0x0D, position + 1 < bytes.count, bytes[position + 1] == 0x0A {
                position += 2
                line += 1
            } else {
                break
            }
        }
        guard position < bytes.count else { return nil }
        let record = CSVRecord(fields: [], line: line, byteOffset: Int64(position))
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        while true {
            if position < bytes.count, bytes[position] == 0x22 {
                let openLine = line
                let openOffset = position
                position += 1
                while true {
                    guard position < bytes.count else {
                        throw VeilError(
                            .badInput, "quoted field never ends (the quote opens here)", file: file, line: openLine,
                            byteOffset: Int64(openOffset))
                    }
                    let b = bytes[position]
                    if b == 0x22 {
                        if position + 1 < bytes.count, bytes[position + 1] == 0x22 {
                            field.append(0x22)
                            position += 2
                            continue
                        }
                        position += 1
                        break
                    }
                    if b == 0x0A { line += 1 }
                    field.append(b)
                    position += 1
                }
                // After a closing quote: a separator or the end.
                if position < bytes.count {
                    let b = bytes[position]
                    let crlf = b == 0x0D && position + 1 < bytes.count && bytes[position + 1] == 0x0A
                    guard b == 0x2C || b == 0x0A || crlf else {
                        throw VeilError(
                            .badInput,
                            "text after the closing quote of a field (a field with quotes must be quoted whole)",
                            file: file, line: line, byteOffset: Int64(position))
                    }
                }
            } else {
                while position < bytes.count {
                    let b = bytes[position]
                    if b == 0x2C || b == 0x0A { break }
                    if b == 0x0D, position + 1 < bytes.count, bytes[position + 1] == 0x0A { break }
                    if b == 0x22 {
                        throw VeilError(
                            .badInput, "quote inside an unquoted field (quote the field and double the quote)",
                            file: file, line: line, byteOffset: Int64(position))
                    }
                    field.append(b)
                    position += 1
                }
            }
            fields.append(field)
            field = []
            guard position < bytes.count else { break }
            let b = bytes[position]
            if b == 0x2C {
                position += 1
                continue
            }
            position += b == 0x0D ? 2 : 1
            line += 1
            break
        }
        var r = record
        r.fields = fields
        return r
    }
}
