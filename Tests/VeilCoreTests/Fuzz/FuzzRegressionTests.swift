import Foundation
import Testing
import VeilFuzzTargets

/// Replays the inputs kept for the fuzz targets (Sources/VeilFuzzTargets, run by .ci/fuzz.sh):
/// every input that once crashed a target (Fixtures/fuzz/regressions/<target>/) and every seed
/// (Fixtures/fuzz/corpus/<target>/). A target traps on a bug, so a regression crashes this test
/// process; `veil-fuzz TARGET --replay FILE` then shows which input it was.
struct FuzzRegressionTests {
    static let fuzzFixtures: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/fuzz")
    }()

    static func files(_ kind: String, _ target: String) throws -> [URL] {
        let dir = fuzzFixtures.appendingPathComponent(kind).appendingPathComponent(target)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test(
        "every input that once crashed a fuzz target runs through it without a crash",
        arguments: FuzzTarget.all.map(\.name))
    func regressions(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        for file in try Self.files("regressions", name) {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test("every seed runs through its fuzz target without a crash", arguments: FuzzTarget.all.map(\.name))
    func seeds(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let seeds = try Self.files("corpus", name)
        #expect(!seeds.isEmpty, "no seeds in Fixtures/fuzz/corpus/\(name) (Fixtures/fuzz/make-seeds.sh makes them)")
        for file in seeds {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    @Test("fuzz fixture directories are named after targets")
    func directoryNames() throws {
        let names = Set(FuzzTarget.all.map(\.name))
        for kind in ["corpus", "regressions", "dict"] {
            let dir = Self.fuzzFixtures.appendingPathComponent(kind)
            guard FileManager.default.fileExists(atPath: dir.path) else { continue }
            for entry in try FileManager.default.contentsOfDirectory(atPath: dir.path) where !entry.hasPrefix(".") {
                let name = kind == "dict" ? String(entry.dropLast(".dict".count)) : entry
                #expect(names.contains(name), "Fixtures/fuzz/\(kind)/\(entry) names no fuzz target")
            }
        }
    }
}
