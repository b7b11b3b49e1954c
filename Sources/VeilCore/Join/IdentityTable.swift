/// One account of an identity table, with every identifier given for it.
public struct Identity: Sendable, Equatable {
    public var accountID: String
    public var cookies: [[UInt8]] = []
    public var emails: [[UInt8]] = []
    public var recipientTokens: [[UInt8]] = []
    /// The account opted out of marketing: never joined for a `marketing` purpose.
    public var marketingOptOut = false
    /// Never joined for any purpose (for example an account known to belong to a child).
    public var restricted = false
    /// 1-based line of the account's first row.
    public var line: Int
}

/// The identity table of `veil join`: a CSV file mapping `account_id` to any of `cookie_id`,
/// `email` and `recipient_token`, with optional `marketing_opt_out` and `restricted` columns.
///
/// Column names are matched case-insensitively and without surrounding spaces; other columns
/// are ignored. An account may have several rows (one per device cookie, say): their
/// identifiers add up, and it is opted out or restricted when any row says so. Booleans are
/// `true`/`false`, `yes`/`no`, `y`/`n`, `1`/`0` (any case) or empty (false).
public struct IdentityTable: Sendable {
    /// Accounts in order of first appearance.
    public private(set) var accounts: [Identity] = []
    /// `sha256:<hex>` of the file's bytes, for the audit record.
    public let fingerprint: String
    /// Where the table came from.
    public let file: String

    /// Recognised column names.
    public static let columns = [
        "account_id", "cookie_id", "email", "recipient_token", "marketing_opt_out", "restricted",
    ]

    /// Reads and parses an identity table.
    public static func read(_ path: String) throws(VeilError) -> IdentityTable {
        try IdentityTable(bytes: AtomicFile.read(path), file: path)
    }

    /// Parses an identity table.
    /// - Throws: `VeilError(.badInput)` naming the line and byte offset of a broken record, a
    ///   missing `account_id` column or value, or a bad boolean — never a field's content.
    public init(bytes: [UInt8], file: String) throws(VeilError) {
        self.file = file
        fingerprint = Hasher256.fingerprint(of: bytes)
        var reader = CSVReader(bytes: bytes, file: file)
        guard let header = try reader.next() else {
            throw VeilError(
                .badInput, "the identity table is empty (it needs a header row with account_id)", file: file)
        }
        var index: [String: Int] = [:]
        for (i, raw) in header.fields.enumerated() {
            guard let name = String(validating: raw, as: UTF8.self) else {
                throw VeilError(.badInput, "header column \(i + 1) is not UTF-8", file: file, line: header.line)
            }
            let key = name.trimmingASCIISpaces().lowercased()
            if Self.columns.contains(key) {
                guard index[key] == nil else {
                    throw VeilError(
                        .badInput, "column \(key) appears twice in the header", file: file, line: header.line)
                }
                index[key] = i
            }
        }
        guard let accountColumn = index["account_id"] else {
            throw VeilError(.badInput, "the header has no account_id column", file: file, line: header.line)
        }
        guard index["cookie_id"] != nil || index["email"] != nil || index["recipient_token"] != nil else {
            throw VeilError(
                .badInput, "the header needs at least one of cookie_id, email, recipient_token", file: file,
                line: header.line)
        }
        var byAccount: [String: Int] = [:]
        while let record = try reader.next() {
            guard record.fields.count == header.fields.count else {
                throw VeilError(
                    .badInput,
                    "record has \(record.fields.count) fields, the header has \(header.fields.count)",
                    file: file, line: record.line, byteOffset: record.byteOffset)
            }
            func value(_ column: String) -> [UInt8]? {
                guard let i = index[column] else { return nil }
                let v = record.fields[i].trimmingASCIISpaces()
                return v.isEmpty ? nil : v
            }
            func flag(_ column: String) throws(VeilError) -> Bool {
                guard let v = value(column) else { return false }
                switch String(decoding: v, as: UTF8.self).lowercased() {
                case "true", "yes", "y", "1": return true
                case "false", "no", "n", "0": return false
                default:
                    throw VeilError(
                        .badInput, "column \(column) must be true/false, yes/no or 1/0", file: file, line: record.line,
                        byteOffset: record.byteOffset)
                }
            }
            guard let idBytes = value("account_id"), let id = String(validating: idBytes, as: UTF8.self) else {
                throw VeilError(
                    .badInput,
                    record.fields[accountColumn].isEmpty ? "account_id is empty" : "account_id is not UTF-8",
                    file: file, line: record.line, byteOffset: record.byteOffset)
            }
            let optOut = try flag("marketing_opt_out")
            let restricted = try flag("restricted")
            let a: Int
            if let existing = byAccount[id] {
                a = existing
            } else {
                a = accounts.count
                byAccount[id] = a
                accounts.append(Identity(accountID: id, line: record.line))
            }
            if let c = value("cookie_id"), !accounts[a].cookies.contains(c) { accounts[a].cookies.append(c) }
            if let e = value("email"), !accounts[a].emails.contains(e) { accounts[a].emails.append(e) }
            if let t = value("recipient_token"), !accounts[a].recipientTokens.contains(t) {
                accounts[a].recipientTokens.append(t)
            }
            accounts[a].marketingOptOut = accounts[a].marketingOptOut || optOut
            accounts[a].restricted = accounts[a].restricted || restricted
        }
    }
}

extension Array where Element == UInt8 {
    func trimmingASCIISpaces() -> [UInt8] {
        var s = startIndex
        var e = endIndex
        while s < e && (self[s] == 0x20 || self[s] == 0x09) { s += 1 }
        while e > s && (self[e - 1] == 0x20 || self[e - 1] == 0x09) { e -= 1 }
        return Array(self[s..<e])
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        String(decoding: Array(utf8).trimmingASCIISpaces(), as: UTF8.self)
    }
}
