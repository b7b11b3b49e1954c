import Foundation
import Testing

@testable import VeilCore

struct AuditLogTests {
    func withLog(_ body: (AuditLog, String) throws -> Void) throws {
        let dir = NSTemporaryDirectory() + "veil-audit-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try body(AuditLog(path: dir + "/audit.log"), dir)
    }

    func lines(_ log: AuditLog) throws -> [String] {
        String(decoding: try AtomicFile.read(log.path), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func write(_ lines: [String], _ log: AuditLog) throws {
        try AtomicFile.write(lines.map { $0 + "\n" }.joined(), to: log.path, mode: 0o600)
    }

    @Test func recordsChainAndVerify() throws {
        try withLog { log, _ in
            var entries: [AuditEntry] = []
            for i in 1...5 {
                entries.append(try log.append(["action": "join", "purpose": "p\(i)"], now: 1_800_000_000))
            }
            #expect(entries.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(Set(entries.map(\.hash)).count == 5)
            let v = try log.verify()
            #expect(v.isIntact && v.records == 5 && v.last == entries.last)
            let mode = try FileManager.default.attributesOfItem(atPath: log.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let first = try JSONSerialization.jsonObject(with: Data(try lines(log)[0].utf8)) as! [String: Any]
            #expect(first["prev"] as? String == AuditLog.genesis)
            #expect(first["time"] as? String == "2027-01-15T08:00:00Z")
        }
    }

    @Test(arguments: [1, 3, 5])
    func anEditedRecordIsFoundAtItsPosition(_ position: Int) throws {
        try withLog { log, _ in
            for i in 1...5 { try log.append(["purpose": "p\(i)", "rows": i]) }
            var l = try lines(log)
            l[position - 1] = l[position - 1].replacingOccurrences(of: "\"rows\":\(position)", with: "\"rows\":99")
            try write(l, log)
            let v = try log.verify()
            #expect(v.problem?.position == position, "\(String(describing: v.problem))")
            #expect(v.problem?.message.contains("changed") == true)
            #expect(v.records == position - 1)
            // Appending to a broken chain is refused.
            #expect(throws: VeilError.self) { try log.append(["purpose": "more"]) }
        }
    }

    @Test(arguments: [1, 2, 4, 5])
    func aDeletedRecordIsFoundAtItsPosition(_ position: Int) throws {
        try withLog { log, _ in
            for i in 1...5 { try log.append(["purpose": "p\(i)"]) }
            var l = try lines(log)
            l.remove(at: position - 1)
            try write(l, log)
            #expect(try log.verify().problem?.position == position)
        }
    }

    @Test func aRecordAppendedOutOfBandOrAHalfWrittenLineIsFound() throws {
        try withLog { log, _ in
            for i in 1...3 { try log.append(["purpose": "p\(i)"]) }
            let l = try lines(log)
            try write(l + [l[2]], log)
            #expect(try log.verify().problem?.position == 4)
            try AtomicFile.write(l.map { $0 + "\n" }.joined() + "{\"seq\":4", to: log.path, mode: 0o600)
            #expect(try log.verify().problem?.message.contains("incomplete") == true)
        }
    }

    @Test func anUnwritableLogThrowsBeforeAnythingElse() throws {
        try withLog { _, dir in
            try AtomicFile.write("x", to: dir + "/file")
            #expect(throws: VeilError.self) { try AuditLog(path: dir + "/file/audit.log").append(["purpose": "p"]) }
            #expect(throws: VeilError.self) { try AuditLog(path: dir).append(["purpose": "p"]) }
        }
    }
}
