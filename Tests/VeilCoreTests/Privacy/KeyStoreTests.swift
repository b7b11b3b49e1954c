import Foundation
import Testing

@testable import VeilCore

@Suite("KeyStore")
struct KeyStoreTests {
    let now = privacyTimestamp(2026, 11, 28, 12)

    private func epoch(_ text: String) -> EpochID { EpochID(text)! }

    @Test("create: directory 0700, config 0600, opened again with its granularity")
    func create() throws {
        let temp = PrivacyTempDirectory()
        let path = temp.path + "/state/keys"  // the parent does not exist either
        let store = try KeyStore(path: path, granularity: .week, now: now)
        #expect(PrivacyTempDirectory.mode(path) == 0o700)
        #expect(PrivacyTempDirectory.mode(path + "/keystore.json") == 0o600)
        let opened = try KeyStore.open(path: path + "/")
        #expect(opened.granularity == .week)
        #expect(opened.created == now)
        #expect(opened.path == store.path)
        #expect(try opened.list().isEmpty)

        let again = #expect(throws: VeilError.self) { try KeyStore(path: path) }
        #expect(again?.code == .key)
        #expect(again?.message.contains("already exists") == true)
        let (reopened, created) = try KeyStore.openOrCreate(path: path, granularity: .day)
        #expect(!created && reopened.granularity == .week)
        let (fresh, freshCreated) = try KeyStore.openOrCreate(path: temp.path + "/other", now: now)
        #expect(freshCreated && fresh.granularity == .day)
    }

    @Test("init uses an empty existing directory but refuses a non-empty one")
    func initExistingDirectory() throws {
        let temp = PrivacyTempDirectory()
        let empty = temp.path + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        PrivacyTempDirectory.setMode(empty, 0o755)
        _ = try KeyStore(path: empty, now: now)
        #expect(PrivacyTempDirectory.mode(empty) == 0o700)

        let full = temp.path + "/full"
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: false)
        _ = FileManager.default.createFile(atPath: full + "/notes.txt", contents: Data("x".utf8))
        let error = #expect(throws: VeilError.self) { try KeyStore(path: full) }
        #expect(error?.message.contains("not empty") == true)
        #expect(throws: VeilError.self) { try KeyStore.open(path: temp.path + "/missing") }
    }

    @Test("keys are created on demand, 32 bytes in a 0600 file, and read back unchanged")
    func keysOnDemand() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        let day = store.epochID(forTimestamp: now)
        #expect(day.description == "d-2026-11-28")

        let missing = #expect(throws: VeilError.self) { try store.key(for: day, create: false) }
        #expect(missing?.code == .key)
        #expect(missing?.message.contains("d-2026-11-28") == true)

        let key = try store.key(for: day, create: true)
        let file = store.path + "/d-2026-11-28.key"
        #expect(PrivacyTempDirectory.mode(file) == 0o600)
        let bytes = try #require(FileManager.default.contents(atPath: file))
        #expect(bytes.count == 32)
        #expect(key.material == Array(bytes))
        #expect(Set(bytes).count > 8, "key bytes look random")

        #expect(try store.key(for: day, create: true).material == key.material)
        #expect(try KeyStore.open(path: store.path).key(for: day, create: false).material == key.material)
        let nextDay = try store.key(for: epoch("d-2026-11-29"), create: true)
        #expect(nextDay.material != key.material)
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: store.path).sorted()
        #expect(names == ["d-2026-11-28.key", "d-2026-11-29.key", "keystore.json"])
    }

    @Test("rotate creates the current epoch's key once; list reports keys in time order")
    func rotateAndList() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", granularity: .hour, now: now)
        let (rotated, created) = try store.rotate(now: now)
        #expect(rotated.description == "h-2026-11-28T12" && created)
        let (same, createdAgain) = try store.rotate(now: now + 60)
        #expect(same == rotated && !createdAgain)
        _ = try store.key(for: epoch("h-2026-11-28T01"), create: true)
        _ = try store.key(for: epoch("h-2025-01-01T00"), create: true)
        let entries = try store.list()
        #expect(entries.map(\.epoch.description) == ["h-2025-01-01T00", "h-2026-11-28T01", "h-2026-11-28T12"])
        #expect(entries.allSatisfy { $0.status == .active && $0.created != nil && $0.shredded == nil })
    }

    @Test("a key file readable by others is refused with the chmod to run")
    func looseKeyFile() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        let day = epoch("d-2026-11-28")
        _ = try store.key(for: day, create: true)
        let file = store.path + "/d-2026-11-28.key"
        PrivacyTempDirectory.setMode(file, 0o644)

        let onOpen = #expect(throws: VeilError.self) { try KeyStore.open(path: store.path) }
        #expect(onOpen?.code == .key)
        #expect(onOpen?.message == "key file \(file) has mode 0644; run: chmod 600 \(file)")
        let onUse = #expect(throws: VeilError.self) { try store.key(for: day, create: true) }
        #expect(onUse?.message.contains("run: chmod 600 \(file)") == true)

        PrivacyTempDirectory.setMode(file, 0o600)
        #expect(throws: Never.self) { try KeyStore.open(path: store.path) }
    }

    @Test("a key directory open to others is refused with the chmod to run")
    func looseDirectory() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        PrivacyTempDirectory.setMode(store.path, 0o755)
        let error = #expect(throws: VeilError.self) { try KeyStore.open(path: store.path) }
        #expect(error?.message == "key store \(store.path) has mode 0755; run: chmod 700 \(store.path)")
        PrivacyTempDirectory.setMode(store.path, 0o750)
        #expect(throws: VeilError.self) { try KeyStore.open(path: store.path) }
        PrivacyTempDirectory.setMode(store.path, 0o700)
        #expect(throws: Never.self) { try KeyStore.open(path: store.path) }
    }

    @Test("a damaged key file is an error, never replaced")
    func damagedKey() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        let day = epoch("d-2026-11-28")
        PrivacyTempDirectory.writeKey(Array(repeating: 7, count: 31), store: store, epoch: day)
        let error = #expect(throws: VeilError.self) { try store.key(for: day, create: true) }
        #expect(error?.message.contains("31 bytes") == true)
        #expect(FileManager.default.contents(atPath: store.path + "/d-2026-11-28.key")?.count == 31)
    }

    @Test("shred removes keys of epochs older than the retention and leaves tombstones")
    func shred() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        // now is 2026-11-28T12:00Z; 30 days earlier is 2026-10-29T12:00Z.
        for id in ["d-2026-09-29", "d-2026-10-28", "d-2026-10-29", "d-2026-11-28"] {
            _ = try store.key(for: epoch(id), create: true)
        }
        let shredded = try store.shred(olderThan: 30 * 86400, now: now)
        #expect(shredded.map(\.description) == ["d-2026-09-29", "d-2026-10-28"])

        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: store.path + "/d-2026-09-29.key"))
        #expect(!fm.fileExists(atPath: store.path + "/d-2026-10-28.key"))
        #expect(fm.fileExists(atPath: store.path + "/d-2026-10-28.shredded"))
        #expect(fm.fileExists(atPath: store.path + "/d-2026-10-29.key"))
        #expect(PrivacyTempDirectory.mode(store.path + "/d-2026-10-28.shredded") == 0o600)

        let entries = try store.list()
        #expect(entries.map(\.status) == [.shredded, .shredded, .active, .active])
        #expect(entries[0].shredded == now && entries[0].created != nil)

        // Using a shredded epoch fails, whatever `create` says, and creates nothing.
        for create in [true, false] {
            let error = #expect(throws: VeilError.self) { try store.key(for: epoch("d-2026-10-28"), create: create) }
            #expect(error?.code == .key)
            #expect(
                error?.message == "key epoch d-2026-10-28 was shredded; data from that epoch can no longer be linked")
        }
        #expect(!fm.fileExists(atPath: store.path + "/d-2026-10-28.key"))
        let pseudonymizer = Pseudonymizer(keyStore: store)
        let viaPipeline = #expect(throws: VeilError.self) {
            try pseudonymizer.visitor(
                epoch: store.epochID(forTimestamp: privacyTimestamp(2026, 10, 28, 9)), site: "example.com",
                cookie: "c1", ip: "192.0.2.1", userAgent: "UA")
        }
        #expect(viaPipeline?.message.contains("d-2026-10-28 was shredded") == true)

        // Nothing more to do the second time.
        #expect(try store.shred(olderThan: 30 * 86400, now: now).isEmpty)
    }

    @Test(
        "a key's temporary copy left by a killed writer is destroyed by the next shred, or the next write of that key; a running writer's is left alone"
    )
    func killedWritersTemporaryKeys() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        _ = try store.key(for: epoch("d-2026-09-29"), create: true)
        let reaped = Process()
        reaped.executableURL = URL(fileURLWithPath: "/bin/true")
        try reaped.run()
        reaped.waitUntilExit()
        let dead = reaped.processIdentifier
        let parent = getppid()
        let running = "\(parent)-\(try #require(WorkTag.startTime(of: parent)))-6"
        func plant(_ name: String) -> String {
            let file = store.path + "/" + name
            _ = FileManager.default.createFile(
                atPath: file, contents: Data(Array(repeating: 0xA5, count: 32)), attributes: [.posixPermissions: 0o600])
            return file
        }
        let fm = FileManager.default
        let old = plant(".d-2026-09-29.key.tmp-\(dead)-0-5")
        let oldTombstone = plant(".d-2026-09-29.shredded.tmp-\(dead)-7")
        let live = plant(".d-2026-09-29.key.tmp-\(running)")
        let later = plant(".d-2026-12-01.key.tmp-\(dead)-0-8")
        // A write of another key leaves them; the write of their own key destroys the dead one.
        _ = try store.key(for: epoch("d-2026-11-30"), create: true)
        #expect(fm.fileExists(atPath: later) && fm.fileExists(atPath: old))
        _ = try store.key(for: epoch("d-2026-12-01"), create: true)
        #expect(!fm.fileExists(atPath: later))
        // A shred destroys every dead writer's temporary file, whatever its key's age.
        #expect(try store.shred(olderThan: 30 * 86400, now: now).map(\.description) == ["d-2026-09-29"])
        #expect(!fm.fileExists(atPath: old) && !fm.fileExists(atPath: oldTombstone))
        #expect(fm.fileExists(atPath: live), "a running process's temporary file is its own")
        #expect(try store.list().map(\.epoch.description) == ["d-2026-09-29", "d-2026-11-30", "d-2026-12-01"])
    }

    @Test("a shred interrupted after its tombstone is finished by the next one")
    func interruptedShred() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        let day = epoch("d-2026-01-05")
        _ = try store.key(for: day, create: true)
        _ = FileManager.default.createFile(
            atPath: store.path + "/d-2026-01-05.shredded", contents: Data("{}".utf8),
            attributes: [.posixPermissions: 0o600])
        #expect(try store.list().first?.status == .shredded)
        #expect(throws: VeilError.self) { try store.key(for: day, create: true) }
        #expect(try store.shred(olderThan: 365 * 86400, now: now).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store.path + "/d-2026-01-05.key"))
    }

    @Test("no key byte appears in any error, description or dump")
    func noKeyBytesInErrors() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        var keys: [EpochKey] = []
        for id in ["d-2026-09-01", "d-2026-11-27", "d-2026-11-28"] {
            keys.append(try store.key(for: epoch(id), create: true))
        }
        var texts: [String] = []
        func collect(_ body: () throws(VeilError) -> Void) {
            do { try body() } catch { texts += [error.description, String(reflecting: error), "\(error)"] }
        }
        collect { () throws(VeilError) in _ = try store.key(for: epoch("d-2020-01-01"), create: false) }
        _ = try store.shred(olderThan: 30 * 86400, now: now)
        collect { () throws(VeilError) in _ = try store.key(for: epoch("d-2026-09-01"), create: true) }
        PrivacyTempDirectory.setMode(store.path + "/d-2026-11-27.key", 0o640)
        collect { () throws(VeilError) in _ = try KeyStore.open(path: store.path) }
        collect { () throws(VeilError) in _ = try store.key(for: epoch("d-2026-11-27"), create: false) }
        PrivacyTempDirectory.setMode(store.path, 0o711)
        collect { () throws(VeilError) in _ = try KeyStore.open(path: store.path) }
        #expect(texts.count >= 12)
        for key in keys {
            var dumped = ""
            dump(key, to: &dumped)
            texts += [key.description, key.debugDescription, String(reflecting: key), dumped, "\(key)"]
        }
        for key in keys {
            let hex = key.material.map {
                String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16)
            }
            let hexString = hex.joined()
            let decimalList = key.material.map(String.init).joined(separator: ", ")
            let raw = String(decoding: key.material, as: UTF8.self)
            for text in texts {
                #expect(!text.lowercased().contains(hexString))
                #expect(!text.contains(hex[0..<8].joined()))
                #expect(!text.contains(decimalList))
                #expect(!text.contains(raw))
            }
        }
    }

    @Test("the key store may not be inside the output directory, nor the output inside the store")
    func notInsideOutput() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/out/keys", now: now)
        let inside = #expect(throws: VeilError.self) { try store.checkNotInside(temp.path + "/out") }
        #expect(inside?.code == .key)
        #expect(inside?.message.contains("inside output directory") == true)
        #expect(throws: VeilError.self) { try store.checkNotInside(temp.path + "/out/../out/") }
        #expect(throws: VeilError.self) { try store.checkNotInside(temp.path) }
        #expect(throws: VeilError.self) { try store.checkNotInside(temp.path + "/out/keys/rollups") }
        #expect(throws: Never.self) { try store.checkNotInside(temp.path + "/rollups") }
        #expect(throws: Never.self) { try store.checkNotInside(temp.path + "/out/keys-not") }
        // Through a symbolic link to the output directory.
        try FileManager.default.createSymbolicLink(atPath: temp.path + "/link", withDestinationPath: temp.path + "/out")
        #expect(throws: VeilError.self) { try store.checkNotInside(temp.path + "/link") }
    }

    @Test("concurrent creation of one epoch's key yields one key")
    func concurrentCreation() throws {
        let temp = PrivacyTempDirectory()
        let store = try KeyStore(path: temp.path + "/keys", now: now)
        let day = epoch("d-2026-11-28")
        let results = PrivacyResults()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let material = try? KeyStore.open(path: store.path).key(for: day, create: true).material
            results.add(material)
        }
        let all = results.values
        #expect(all.count == 8)
        #expect(all.allSatisfy { $0 != nil && $0 == all[0] })
        #expect(try store.key(for: day, create: false).material == all[0])
    }
}

/// Collects values from concurrent work.
final class PrivacyResults: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [[UInt8]?] = []
    func add(_ value: [UInt8]?) { lock.withLock { stored.append(value) } }
    var values: [[UInt8]?] { lock.withLock { stored } }
}
