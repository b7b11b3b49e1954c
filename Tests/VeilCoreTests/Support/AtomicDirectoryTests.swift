import Foundation
import Testing

@testable import VeilCore

/// The file-by-file replacement of an output directory that cannot be renamed (a mount point),
/// exercised on an ordinary directory: `inPlace: true` takes the same path.
@Suite("Output directories replaced in place")
struct AtomicDirectoryTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "veil-atomicdir-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func files(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[name] = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
        }
        return out
    }

    func write(_ dir: String, _ contents: [String: String], inPlace: Bool = true) throws(VeilError) {
        try AtomicDirectory.replace(dir, inPlace: inPlace, owned: { $0.hasSuffix(".csv") || $0 == "manifest.json" }) {
            (tmp) throws(VeilError) in
            for (name, text) in contents { try AtomicFile.write(Array(text.utf8), to: tmp + "/" + name) }
        }
    }

    /// A process id that is not running (a child that has exited and been reaped).
    func deadPID() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test(
        "the new set replaces the old: changed files rewritten, missing ones removed, no work directory left, the directory itself kept"
    )
    func replacesFileByFile() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o751)
        var before = stat()
        lstat(dir, &before)
        try write(dir, ["a.csv": "1", "b.csv": "old", "manifest.json": "{1}"])
        try write(dir, ["b.csv": "new", "c.csv": "3", "manifest.json": "{2}"])
        #expect(try files(dir) == ["b.csv": "new", "c.csv": "3", "manifest.json": "{2}"])
        var after = stat()
        lstat(dir, &after)
        #expect(after.st_ino == before.st_ino, "the directory is the same one (a mount point stays mounted)")
        #expect(after.st_mode & 0o7777 == 0o751)
    }

    @Test("a failing build changes nothing and leaves no work directory")
    func failedBuildChangesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try write(dir, ["a.csv": "1", "manifest.json": "{1}"], inPlace: false)
        #expect(throws: VeilError.self) {
            try AtomicDirectory.replace(dir, inPlace: true, owned: { _ in true }) { (tmp) throws(VeilError) in
                try AtomicFile.write(Array("partial".utf8), to: tmp + "/a.csv")
                throw VeilError(.io, "disk full")
            }
        }
        #expect(try files(dir) == ["a.csv": "1", "manifest.json": "{1}"])
    }

    @Test("a swap killed part way is finished by the next write, before its own: every file whole, the set complete")
    func killedSwapIsFinished() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try write(dir, ["a.csv": "1", "b.csv": "old", "stale.csv": "x", "manifest.json": "{1}"], inPlace: false)
        // What a run killed after moving b.csv leaves: its marked directory with the rest.
        let ready = dir + "/.out.ready-\(try deadPID())-7"
        try FileManager.default.createDirectory(atPath: ready, withIntermediateDirectories: false)
        try "a.csv\nb.csv\nc.csv\nmanifest.json\n".write(toFile: ready + "/.names", atomically: false, encoding: .utf8)
        try "2".write(toFile: ready + "/a.csv", atomically: false, encoding: .utf8)
        try "3".write(toFile: ready + "/c.csv", atomically: false, encoding: .utf8)
        try "{2}".write(toFile: ready + "/manifest.json", atomically: false, encoding: .utf8)
        try "new".write(toFile: dir + "/b.csv", atomically: false, encoding: .utf8)
        // And an unmarked work directory of a killed build.
        let tmp = dir + "/.out.tmp-\(try deadPID())-9"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        try "partial".write(toFile: tmp + "/a.csv", atomically: false, encoding: .utf8)

        // The next write finishes the killed swap first; a build that then fails leaves that set.
        #expect(throws: VeilError.self) {
            try AtomicDirectory.replace(dir, inPlace: true, owned: { $0.hasSuffix(".csv") || $0 == "manifest.json" }) {
                (_: String) throws(VeilError) in throw VeilError(.io, "bad input")
            }
        }
        #expect(try files(dir) == ["a.csv": "2", "b.csv": "new", "c.csv": "3", "manifest.json": "{2}"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test("a marked directory whose removal was cut short (its list gone) is removed, not kept forever")
    func markedDirectoryWithoutItsListIsRemoved() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try write(dir, ["a.csv": "1", "manifest.json": "{1}"], inPlace: false)
        // A run killed between removing the list and removing the emptied directory.
        let ready = dir + "/.out.ready-\(try deadPID())-0-7"
        try FileManager.default.createDirectory(atPath: ready, withIntermediateDirectories: false)
        try write(dir, ["a.csv": "2", "manifest.json": "{2}"])
        #expect(try files(dir) == ["a.csv": "2", "manifest.json": "{2}"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test("a leftover whose process id now belongs to a later process is a leftover; the tag holds the start time")
    func reusedProcessIdIsTold() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try write(dir, ["a.csv": "1", "manifest.json": "{1}"], inPlace: false)
        let parent = getppid()
        let started = try #require(WorkTag.startTime(of: parent))
        #expect(started > 0 && WorkTag.startTime(of: parent) == started)
        let me = try #require(WorkTag.startTime(of: getpid()))
        #expect(WorkTag.make().hasPrefix("\(getpid())-\(me)-"))
        // A swap killed part way by a process whose id the running parent has now.
        let reused = dir + "/.out.ready-\(parent)-\(started + 1)-7"
        try FileManager.default.createDirectory(atPath: reused, withIntermediateDirectories: false)
        try "a.csv\nmanifest.json\n".write(toFile: reused + "/.names", atomically: false, encoding: .utf8)
        try "2".write(toFile: reused + "/a.csv", atomically: false, encoding: .utf8)
        try "{2}".write(toFile: reused + "/manifest.json", atomically: false, encoding: .utf8)
        // Work of the running parent itself, with its own start time.
        let live = dir + "/.out.tmp-\(parent)-\(started)-9"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: false)
        #expect(throws: VeilError.self) {
            try AtomicDirectory.replace(dir, inPlace: true, owned: { $0.hasSuffix(".csv") || $0 == "manifest.json" }) {
                (_: String) throws(VeilError) in throw VeilError(.io, "bad input")
            }
        }
        #expect(try String(contentsOfFile: dir + "/a.csv", encoding: .utf8) == "2")
        #expect(try String(contentsOfFile: dir + "/manifest.json", encoding: .utf8) == "{2}")
        #expect(!FileManager.default.fileExists(atPath: reused))
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test(
        "mount points are found in /proc/self/mountinfo as well (a bind mount has its parent's device); the output's lock is no foreign file"
    )
    func mountPointsAndLocks() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(AtomicDirectory.isListedMountPoint("/proc"))
        #expect(AtomicDirectory.isListedMountPoint("/proc/"))
        #expect(!AtomicDirectory.isListedMountPoint(root))
        #expect(!AtomicDirectory.isListedMountPoint("/proc/self"))
        let dir = root + "/out"
        try write(dir, ["a.csv": "1"], inPlace: false)
        #expect(AtomicDirectory.isTolerated(".out.lock", in: dir))
        #expect(!AtomicDirectory.isTolerated(".other.lock", in: dir))
        try "".write(toFile: dir + "/.out.lock", atomically: false, encoding: .utf8)
        try write(dir, ["a.csv": "2"])
        #expect(FileManager.default.fileExists(atPath: dir + "/.out.lock"), "an in-place write leaves the lock alone")
        #expect(try String(contentsOfFile: dir + "/a.csv", encoding: .utf8) == "2")
    }

    @Test("a file's temporary copy left by a killed writer is removed by the next write of that file")
    func killedWritersTemporaryFiles() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let parent = getppid()
        let running = "\(parent)-\(try #require(WorkTag.startTime(of: parent)))-2"
        let names = [
            ".state.veilstate.tmp-\(try deadPID())-0-1", ".state.veilstate.tmp-\(try deadPID())-9",
            ".state.veilstate.tmp-\(running)", ".other.veilstate.tmp-\(try deadPID())-0-3",
        ]
        for name in names { try "partial".write(toFile: root + "/" + name, atomically: false, encoding: .utf8) }
        try AtomicFile.write(Array("whole".utf8), to: root + "/state.veilstate")
        let left = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        #expect(left == [names[3], names[2], "state.veilstate"].sorted())
    }

    @Test("work directories of a running writer are neither foreign files nor removed")
    func liveWorkDirectoriesAreLeftAlone() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/out"
        try write(dir, ["a.csv": "1"], inPlace: false)
        // A pid that runs: this process's parent.
        let live = dir + "/.out.tmp-\(getppid())-1"
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: false)
        try write(dir, ["a.csv": "2"])
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(try String(contentsOfFile: dir + "/a.csv", encoding: .utf8) == "2")
        #expect(AtomicDirectory.isWorkEntry(".out.tmp-1-2", of: dir))
        #expect(AtomicDirectory.isWorkEntry(".out.ready-1-2", of: dir + "/"))
        #expect(!AtomicDirectory.isWorkEntry(".out.old-1-2", of: dir))
        #expect(!AtomicDirectory.isWorkEntry(".other.tmp-1-2", of: dir))
    }

    @Test(
        "keepMode false applies the mode to an existing directory, replaced whole or in place",
        arguments: [false, true])
    func personalModeIsApplied(inPlace: Bool) throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/personal"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        chmod(dir, 0o755)
        try AtomicDirectory.replace(dir, mode: 0o700, keepMode: false, inPlace: inPlace, owned: { _ in false }) {
            (tmp) throws(VeilError) in try AtomicFile.write(Array("x".utf8), to: tmp + "/activity.csv", mode: 0o600)
        }
        var st = stat()
        lstat(dir, &st)
        #expect(st.st_mode & 0o7777 == 0o700)
        #expect(try files(dir) == ["activity.csv": "x"])
    }
}
