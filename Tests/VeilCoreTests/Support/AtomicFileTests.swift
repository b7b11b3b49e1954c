import Foundation
import Testing

@testable import VeilCore

/// `AtomicFile.read` sizes its reads from the file: every length around its chunk sizes, and
/// files that report no size (`/proc`), come back whole.
@Suite("Whole files read back")
struct AtomicFileTests {
    @Test("lengths 0, 1, 4095…4097, 1 MiB ± 1 and 3 MiB + 5 read back byte for byte")
    func lengths() throws {
        let dir = NSTemporaryDirectory() + "veil-atomicfile-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for length in [0, 1, 4095, 4096, 4097, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20 + 5] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 8) }
            let path = dir + "/f\(length)"
            try AtomicFile.write(bytes, to: path)
            let back = try AtomicFile.read(path)
            #expect(back.count == length)
            #expect(back == bytes, "length \(length)")
        }
    }

    @Test("a /proc file, which reports a size of 0, reads whole")
    func procFile() throws {
        let stat = try AtomicFile.read("/proc/self/stat")
        let text = String(decoding: stat, as: UTF8.self)
        #expect(text.hasPrefix("\(getpid()) ("))
        // Field 22 (the start time) and on: the whole line was read, not a prefix.
        let fields = text[text.lastIndex(of: ")")!...].split(separator: " ")
        #expect(fields.count > 20)
        #expect(text.hasSuffix("\n"))
    }

    @Test(
        "a file written into an unpublished directory: its bytes and mode, no temporary name; an existing file is left alone"
    )
    func unpublished() throws {
        let dir = NSTemporaryDirectory() + "veil-atomicfile-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try AtomicFile.writeUnpublished(bytes, to: dir + "/a.csv")
        try AtomicFile.writeUnpublished("personal", to: dir + "/b.csv", mode: 0o600)
        #expect(try AtomicFile.read(dir + "/a.csv") == bytes)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a.csv", "b.csv"])
        var st = stat()
        #expect(stat(dir + "/a.csv", &st) == 0 && st.st_mode & 0o777 == 0o644)
        #expect(stat(dir + "/b.csv", &st) == 0 && st.st_mode & 0o777 == 0o600)
        let e = #expect(throws: VeilError.self) { try AtomicFile.writeUnpublished("new", to: dir + "/a.csv") }
        #expect(e?.description.contains(dir + "/a.csv") == true)
        #expect(try AtomicFile.read(dir + "/a.csv") == bytes, "an existing file is never overwritten")
    }

    @Test("a missing file is an error that names it")
    func missing() {
        let path = NSTemporaryDirectory() + "veil-missing-" + UUID().uuidString
        #expect {
            _ = try AtomicFile.read(path)
        } throws: { error in
            (error as? VeilError)?.description.contains(path) == true
        }
    }
}
