import Foundation
import Testing

@testable import VeilCore

/// An input's fingerprint computed beside the reading thread (runs of two threads or more) must
/// be the one computed on it.
@Suite("Input fingerprints on a thread of their own")
struct BackgroundFingerprintTests {
    /// A sink that fails at its `failAt`-th record.
    struct FailingSink: RecordSink {
        var seen = 0
        let failAt: Int
        mutating func consume(_ record: inout LogRecord, line: UnsafeBufferPointer<UInt8>) throws(VeilError) {
            seen += 1
            if seen == failAt { throw VeilError(.io, "the sink gave up") }
        }
    }

    @Test("chunks of every size, empty ones too, in order: the SHA-256 of their concatenation")
    func chunks() {
        var rng = SystemRandomNumberGenerator()
        var all: [UInt8] = []
        let background = BackgroundFingerprint()
        // More chunks than the queue holds, so the reading side waits for the hashing one.
        for size in [0, 1, 55, 56, 63, 64, 65, 1 << 20, 0, 3]
            + (0..<40).map({ _ in Int.random(in: 0...60_000, using: &rng) })
        {
            var word = UInt64.random(in: 0...UInt64.max, using: &rng) | 1
            let chunk = (0..<size).map { _ in
                word ^= word << 13; word ^= word >> 7; word ^= word << 17
                return UInt8(truncatingIfNeeded: word)
            }
            all += chunk
            chunk.withUnsafeBytes { background.update($0) }
        }
        #expect(background.fingerprint() == Hasher256.fingerprint(of: all))
        let abc = BackgroundFingerprint()
        for piece in ["a", "", "bc"] { Array(piece.utf8).withUnsafeBytes { abc.update($0) } }
        #expect(abc.fingerprint() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// A combined log of `count` lines of about 220 bytes in `ws`, and its bytes.
    static func log(_ ws: StateTestWorkspace, lines count: Int) throws -> (path: String, bytes: [UInt8]) {
        let lines = (0..<count).map { i in
            "192.0.2.\(i % 250) - - [28/Nov/2026:10:\(10 + i % 50):00 +0000] \"GET /page/\(i % 900) HTTP/1.1\" 200 \(i) \"-\" \"Mozilla/5.0 (X11; Linux x86_64) \(String(repeating: "x", count: 100))\""
        }
        let path = try ws.write(lines, name: "input.log")
        return (path, try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
    }

    static func ingest(background: Bool) -> IngestConfiguration {
        var c = StateTestKit.combined
        c.fingerprintInBackground = background
        return c
    }

    @Test("Ingest gives the same report, fingerprint included, with the hashing beside it or on its own thread")
    func ingestReports() throws {
        let ws = try StateTestWorkspace()
        // About 3.5 MB: several raw reads of 1 MiB.
        let (path, file) = try Self.log(ws, lines: 16_000)
        var a = DiscardingSink(), b = DiscardingSink()
        var one = try Ingest.run(path: path, configuration: Self.ingest(background: false), sink: &a)
        var two = try Ingest.run(path: path, configuration: Self.ingest(background: true), sink: &b)
        #expect(file.count > 3 << 20)
        #expect(one.fingerprint == Hasher256.fingerprint(of: file))
        one.seconds = 0
        two.seconds = 0
        #expect(one == two)
    }

    @Test("an input that fails part way stops the hashing thread, and the next input is hashed from the start")
    func failingInput() throws {
        let ws = try StateTestWorkspace()
        let (path, file) = try Self.log(ws, lines: 20_000)
        for _ in 0..<5 {
            var failing = FailingSink(failAt: 15_000)
            #expect(throws: VeilError.self) {
                try Ingest.run(path: path, configuration: Self.ingest(background: true), sink: &failing)
            }
        }
        var sink = DiscardingSink()
        let report = try Ingest.run(path: path, configuration: Self.ingest(background: true), sink: &sink)
        #expect(report.fingerprint == Hasher256.fingerprint(of: file))
    }
}
