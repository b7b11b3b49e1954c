import Foundation

@testable import VeilCore

/// A fresh directory under the system temporary directory, removed on deinit.
final class PrivacyTempDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "veil-privacy-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The permission bits of `file`.
    static func mode(_ file: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func setMode(_ file: String, _ mode: Int) {
        try! FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
    }

    /// Writes a key file with chosen bytes (mode 0600) for `epoch`.
    static func writeKey(_ bytes: [UInt8], store: KeyStore, epoch: EpochID) {
        let file = store.path + "/\(epoch).key"
        let ok = FileManager.default.createFile(
            atPath: file, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
        precondition(ok, "cannot write \(file)")
    }
}

/// Seconds since 1970 of a UTC date and time.
func privacyTimestamp(_ y: Int64, _ m: Int64, _ d: Int64, _ h: Int64 = 0, _ min: Int64 = 0, _ s: Int64 = 0) -> Int64 {
    EpochCalendar.days(fromCivil: y, m, d) * 86400 + h * 3600 + min * 60 + s
}
