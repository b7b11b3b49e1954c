import VeilCore

/// The identity table of `veil join` and the RFC 4180 reader under it.
enum IdentityTarget {
    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        let bytes = Array(input)
        var reader = CSVReader(bytes: bytes, file: "fuzz.csv")
        var records = 0
        var lastOffset: Int64 = -1
        while true {
            let record: CSVRecord?
            do throws(VeilError) {
                record = try reader.next()
            } catch {
                break
            }
            guard let record else { break }
            records += 1
            // Every record starts past the previous one, so reading always ends.
            precondition(
                record.byteOffset > lastOffset && record.byteOffset < Int64(max(bytes.count, 1)),
                "CSV record \(records) starts at byte \(record.byteOffset), after \(lastOffset)")
            precondition(record.line >= 1 && record.line <= records + bytes.count, "CSV record line \(record.line)")
            lastOffset = record.byteOffset
        }
        if let table = try? IdentityTable(bytes: bytes, file: "fuzz.csv") {
            precondition(table.fingerprint.hasPrefix("sha256:"))
            for account in table.accounts {
                precondition(!account.accountID.isEmpty, "an account with an empty id")
            }
        }
    }
}
