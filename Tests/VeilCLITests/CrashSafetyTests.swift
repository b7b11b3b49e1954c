import Foundation
import Testing

/// Outputs survive a process killed mid-write, concurrent writers, and planted symlinks.
@Suite(.serialized)
struct CrashSafetyTests {
    /// Every visible (not hidden) file of a directory with its bytes.
    func snapshot(_ dir: String) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for name in CLI.list(dir) where !name.hasPrefix(".") { out[name] = try CLI.read(dir + "/" + name) }
        return out
    }

    /// Starts `veil args`, kills it with SIGKILL after `delay` seconds (if still running).
    func runAndKill(_ args: [String], after delay: Double) throws -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try CLI.binary("veil"))
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        usleep(useconds_t(delay * 1_000_000))
        let killed = p.isRunning && kill(p.processIdentifier, SIGKILL) == 0
        p.waitUntilExit()
        return killed && p.terminationReason == .uncaughtSignal
    }

    /// A generated 3-day log in `dir`, a key store, and the log's state file.
    func aggregated(in dir: String) throws -> (log: String, keys: String, state: String) {
        let log = try CLI.generate(format: "combined_cookie", lines: 40_000, seed: 5, extra: ["--days", "3"], in: dir)
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        let state = dir + "/s.veilstate"
        #expect(try CLI.veil(["aggregate", log.log, "-o", state, "--keys", keys, "--quiet"]).status == 0)
        return (log.log, keys, state)
    }

    @Test func killingReportAtRandomPointsNeverBreaksThePreviousRollups() throws {
        let dir = try CLI.tempDir(prefix: "veil-kill")
        defer { CLI.remove(dir) }
        let (_, _, state) = try aggregated(in: dir)

        // Two different good versions of the output (k=2 and k=3).
        let out = dir + "/rollups"
        var versions: [[String: [UInt8]]] = []
        var seconds = 0.0
        for k in ["2", "3"] {
            let started = Date()
            let r = try CLI.veil(["report", state, "-o", out, "--k", k, "--quiet"])
            seconds = max(seconds, Date().timeIntervalSince(started))
            #expect(r.status == 0, "\(r)")
            versions.append(try snapshot(out))
        }
        #expect(versions[0] != versions[1] && versions[0].count > 10)

        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for i in 0..<40 {
            let k = i % 2 == 0 ? "2" : "3"
            let delay = Double.random(in: 0...(seconds * 1.1), using: &rng)
            if try runAndKill(["report", state, "-o", out, "--k", k, "--quiet"], after: delay) { kills += 1 }
            let now = try snapshot(out)
            #expect(
                now == versions[0] || now == versions[1], "after a kill at \(delay) s the rollups are one whole version"
            )
            let manifest =
                try JSONSerialization.jsonObject(with: Data(CLI.read(out + "/manifest.json"))) as? [String: Any]
            #expect(manifest?["classification"] as? String == "anonymous")
        }
        #expect(kills >= 10, "most runs should be killed while running (\(kills) of 40)")

        // A run that completes cleans up what killed runs left behind.
        #expect(try CLI.veil(["report", state, "-o", out, "--k", "2", "--quiet"]).status == 0)
        #expect(try snapshot(out) == versions[0])
        let leftovers = CLI.list(dir).filter { $0.hasPrefix(".rollups") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(CLI.list(out).allSatisfy { !$0.hasPrefix(".") })
    }

    /// A volume or a container's bind mount cannot be renamed: its files are replaced one by
    /// one. Each file is whole after any kill, and a completed run leaves one whole version.
    @Test(
        "an output directory that is a mount point is replaced file by file, crash-safe file by file",
        .enabled(if: CLI.canMountTmpfs, "mounting a tmpfs needs root with CAP_SYS_ADMIN"))
    func mountPointOutput() throws {
        let dir = try CLI.tempDir(prefix: "veil-mount")
        defer { CLI.remove(dir) }
        let (log, keys, state) = try aggregated(in: dir)

        // The two versions as written into an ordinary directory.
        var versions: [[String: [UInt8]]] = []
        for k in ["2", "3"] {
            let plain = dir + "/plain-" + k
            #expect(try CLI.veil(["report", state, "-o", plain, "--k", k, "--quiet"]).status == 0)
            versions.append(try snapshot(plain))
        }
        #expect(versions[0] != versions[1])

        let out = dir + "/rollups"
        #expect(mkdir(out, 0o755) == 0)
        try #require(CLI.mountTmpfs(out))
        defer { CLI.unmount(out) }
        // A volume's own directory, which veil accepts there and leaves alone.
        #expect(mkdir(out + "/lost+found", 0o700) == 0)
        func mounted(_ dir: String) throws -> [String: [UInt8]] {
            #expect(CLI.exists(dir + "/lost+found"))
            var out: [String: [UInt8]] = [:]
            for name in CLI.list(dir) where !name.hasPrefix(".") && name != "lost+found" {
                out[name] = try CLI.read(dir + "/" + name)
            }
            return out
        }
        var seconds = 0.0
        for (i, k) in ["2", "3"].enumerated() {
            let started = Date()
            let r = try CLI.veil(["report", state, "-o", out, "--k", k, "--quiet"])
            seconds = max(seconds, Date().timeIntervalSince(started))
            #expect(r.status == 0, "\(r)")
            #expect(try mounted(out) == versions[i])
        }
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for i in 0..<30 {
            let k = i % 2 == 0 ? "2" : "3"
            if try runAndKill(
                ["report", state, "-o", out, "--k", k, "--quiet"],
                after: Double.random(in: 0...(seconds * 1.1), using: &rng))
            {
                kills += 1
            }
            for (name, bytes) in try mounted(out) {
                #expect(
                    bytes == versions[0][name] || bytes == versions[1][name],
                    "\(name) is one whole version after a kill")
            }
        }
        #expect(kills >= 5, "most runs should be killed while running (\(kills) of 30)")
        // A completed run finishes what killed runs left and leaves one whole version.
        #expect(try CLI.veil(["report", state, "-o", out, "--k", "3", "--quiet"]).status == 0)
        #expect(try mounted(out) == versions[1])
        #expect(CLI.list(out).allSatisfy { !$0.hasPrefix(".") }, "\(CLI.list(out))")
        // A DP release (its own output check) accepts the mount point too.
        let dp = try CLI.veil(["report", state, "-o", out, "--dp-epsilon", "1", "--keys", keys, "--quiet"])
        #expect(dp.status == 0, "\(dp)")
        #expect(CLI.exists(out + "/manifest.json") && CLI.exists(out + "/lost+found"))
        // A bind mount of the same file system (the same device as its parent) is found by the
        // rename failing, and replaced file by file as well.
        let source = dir + "/bind-source", bound = dir + "/bound"
        #expect(mkdir(source, 0o755) == 0 && mkdir(bound, 0o755) == 0)
        try #require(CLI.bindMount(source, on: bound))
        defer { CLI.unmount(bound) }
        for (i, k) in ["2", "3"].enumerated() {
            let r = try CLI.veil(["report", state, "-o", bound, "--k", k, "--quiet"])
            #expect(r.status == 0, "\(r)")
            #expect(try snapshot(bound) == versions[i])
            #expect(try snapshot(source) == versions[i], "the files went into the mounted directory")
        }
        #expect(CLI.list(bound).allSatisfy { !$0.hasPrefix(".") } && !CLI.list(dir).contains { $0.hasPrefix(".bound") })
        // `veil run` into the mount point works too.
        #expect(try CLI.veil(["run", log, "-o", out, "--keys", keys, "--k", "2", "--quiet"]).status == 0)
        #expect(try mounted(out) == versions[0])
    }

    /// Whether this test process can run a copy of veil as `nobody` (root, `setpriv`) in a
    /// temporary directory that `nobody` may enter.
    static let canRunAsNobody: Bool = {
        guard getuid() == 0, CLI.exists("/usr/bin/setpriv"), let binary = try? CLI.read(try CLI.binary("veil")),
            let dir = try? CLI.tempDir(prefix: "veil-nobody-probe")
        else { return false }
        defer { CLI.remove(dir) }
        chmod(dir, 0o755)
        guard (try? CLI.write(binary, to: dir + "/veil")) != nil, chmod(dir + "/veil", 0o755) == 0 else { return false }
        let r = try? CLI.run(
            "/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", dir + "/veil", "--version"])
        return r?.status == 0
    }()

    /// A container's volume written by a user other than root: the mount point is theirs, its
    /// parent is not writable for them. The lock goes inside the mount point, as the files do.
    @Test(
        "an output directory that is a mount point is written by a user who cannot write its parent; the lock is inside it",
        .enabled(
            if: CLI.canMountTmpfs && canRunAsNobody,
            "needs root with CAP_SYS_ADMIN, setpriv, and a temporary directory where nobody can run veil"))
    func mountPointOfAnotherUser() throws {
        let dir = try CLI.tempDir(prefix: "veil-volume")
        defer { CLI.remove(dir) }
        chmod(dir, 0o755)
        let (_, _, state) = try aggregated(in: dir)
        chmod(state, 0o644)
        let plain = dir + "/plain"
        #expect(try CLI.veil(["report", state, "-o", plain, "--k", "2", "--quiet"]).status == 0)
        let expected = try snapshot(plain)
        // The binary where `nobody` may run it.
        let binary = dir + "/veil"
        try CLI.write(try CLI.read(try CLI.binary("veil")), to: binary)
        chmod(binary, 0o755)
        let out = dir + "/volume"
        #expect(mkdir(out, 0o755) == 0)
        try #require(CLI.mountTmpfs(out))
        defer { CLI.unmount(out) }
        #expect(chown(out, 65534, 65534) == 0)
        let asNobody = [
            "--reuid=65534", "--regid=65534", "--clear-groups", binary, "report", state, "-o", out, "--k", "2",
            "--quiet",
        ]
        for _ in 0..<2 {
            let r = try CLI.run("/usr/bin/setpriv", asNobody)
            #expect(r.status == 0, "\(r)")
            #expect(try snapshot(out) == expected)
        }
        #expect(
            !CLI.exists(dir + "/.volume.lock") && !CLI.exists(out + "/.volume.lock"), "the lock goes with its holder")
        // While another process holds the lock inside the mount point, a writer fails clearly.
        let fd = open(out + "/.volume.lock", O_RDWR | O_CREAT, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(fchown(fd, 65534, 65534) == 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let second = try CLI.run("/usr/bin/setpriv", asNobody)
        #expect(second.status == 1, "\(second)")
        #expect(String(decoding: second.stderr, as: UTF8.self).contains("another veil process is writing"), "\(second)")
        #expect(try snapshot(out) == expected)
    }

    @Test func anOutputDirectoryWithATrailingSlashIsReplacedAsWell() throws {
        let dir = try CLI.tempDir(prefix: "veil-slash")
        defer { CLI.remove(dir) }
        let log = try CLI.generate(format: "combined", lines: 2000, seed: 2, in: dir)
        #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        for k in ["2", "3"] {
            let r = try CLI.veil([
                "run", log.log, "-o", dir + "/rollups/", "--keys", dir + "/keys", "--k", k, "--quiet",
            ])
            #expect(r.status == 0, "\(r)")
            // The operator's permissions on the directory survive its replacement.
            chmod(dir + "/rollups", 0o750)
        }
        #expect(try CLI.mode(dir + "/rollups") == 0o750)
        #expect(CLI.exists(dir + "/rollups/manifest.json"))
        #expect(CLI.list(dir + "/rollups").allSatisfy { !$0.hasPrefix(".") })
        #expect(!CLI.list(dir).contains { $0.hasPrefix(".rollups") })
    }

    @Test func killingAggregateNeverLeavesAPartialStateFile() throws {
        let dir = try CLI.tempDir(prefix: "veil-kill-state")
        defer { CLI.remove(dir) }
        let a = try CLI.generate(format: "combined", lines: 30_000, seed: 1, in: dir, name: "a")
        let b = try CLI.generate(format: "combined", lines: 30_000, seed: 2, in: dir, name: "b")
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        let state = dir + "/day.veilstate"
        var versions: [[UInt8]] = []
        var seconds = 0.0
        for log in [a.log, b.log] {
            let started = Date()
            #expect(try CLI.veil(["aggregate", log, "-o", state, "--keys", keys, "--quiet"]).status == 0)
            seconds = max(seconds, Date().timeIntervalSince(started))
            versions.append(try CLI.read(state))
        }
        for i in 0..<20 {
            let log = i % 2 == 0 ? a.log : b.log
            _ = try runAndKill(
                ["aggregate", log, "-o", state, "--keys", keys, "--quiet"],
                after: Double.random(in: 0...(seconds * 1.1)))
            let now = try CLI.read(state)
            #expect(now == versions[0] || now == versions[1])
        }
    }

    @Test("veil merge takes the output's lock too: a merge into a locked output fails clearly and writes nothing")
    func mergeWaitsForNobody() throws {
        let dir = try CLI.tempDir(prefix: "veil-merge-lock")
        defer { CLI.remove(dir) }
        #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        for (i, seed) in [21, 22].enumerated() {
            let log = try CLI.generate(format: "combined", lines: 2_000, seed: UInt64(seed), in: dir, name: "log\(i)")
            #expect(
                try CLI.veil(["aggregate", log.log, "-o", dir + "/s\(i).veilstate", "--keys", dir + "/keys", "--quiet"])
                    .status == 0)
        }
        let out = dir + "/all.veilstate"
        // Another writer holds the lock (flock(1) on the lock file veil uses, held by the process
        // that `sleep` replaces, so terminating it releases the lock).
        _ = try CLI.tool("flock", package: "util-linux")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9>\"$0\" && flock 9 && exec sleep 60", dir + "/.all.veilstate.lock"]
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        var waited = 0.0
        while !CLI.exists(dir + "/.all.veilstate.lock") && waited < 10 {
            Thread.sleep(forTimeInterval: 0.05); waited += 0.05
        }
        Thread.sleep(forTimeInterval: 0.2)
        let refused = try CLI.veil(["merge", dir + "/s0.veilstate", dir + "/s1.veilstate", "-o", out])
        #expect(refused.status == 1, "\(refused)")
        #expect(
            String(decoding: refused.stderr, as: UTF8.self).contains("another veil process is writing"), "\(refused)")
        #expect(!CLI.exists(out))
        holder.terminate()
        holder.waitUntilExit()
        let merged = try CLI.veil(["merge", dir + "/s0.veilstate", dir + "/s1.veilstate", "-o", out, "--quiet"])
        #expect(merged.status == 0, "\(merged)")
        #expect(CLI.exists(out))
    }

    @Test(arguments: ["run", "aggregate"])
    func twoWritersOfOneOutputOneWinsTheOtherFailsClearly(_ command: String) throws {
        let dir = try CLI.tempDir(prefix: "veil-lock")
        defer { CLI.remove(dir) }
        let log = try CLI.generate(format: "combined", lines: 150_000, seed: 9, in: dir)
        let out = dir + (command == "run" ? "/rollups" : "/day.veilstate")
        #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys"]).status == 0)
        let results = try [0, 1].map { _ in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try CLI.binary("veil"))
            p.arguments = [command, log.log, "-o", out, "--threads", "1", "--keys", dir + "/keys"]
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return (p, err)
        }.map { (p, err) -> (Int32, String) in
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let statuses = results.map(\.0).sorted()
        #expect(statuses == [0, 1], "\(results)")
        let loser: String = results.first(where: { $0.0 == 1 }).map { $0.1 } ?? ""
        #expect(loser.contains("another veil process is writing"), "\(loser)")
        if command == "run" {
            let manifest =
                try JSONSerialization.jsonObject(with: Data(CLI.read(out + "/manifest.json"))) as? [String: Any]
            #expect(manifest?["classification"] as? String == "anonymous")
        } else {
            // The winner's state is whole: it reports.
            #expect(try CLI.veil(["report", out, "-o", dir + "/r", "--quiet"]).status == 0)
        }
        #expect(!CLI.list(dir).contains { $0.hasSuffix(".lock") }, "the lock file goes with its holder")
    }

    @Test func outputsNeverFollowAPlantedSymlink() throws {
        let dir = try CLI.tempDir(prefix: "veil-symlink")
        defer { CLI.remove(dir) }
        let log = try CLI.generate(format: "combined", lines: 2000, seed: 4, in: dir)
        let keys = dir + "/keys"
        #expect(try CLI.veil(["keys", "init", "--keys", keys]).status == 0)
        let elsewhere = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try CLI.write(Array("precious".utf8), to: elsewhere + "/precious.txt")

        // The rollup directory is a symlink to another directory: refused, target untouched.
        try FileManager.default.createSymbolicLink(atPath: dir + "/rollups", withDestinationPath: elsewhere)
        let r = try CLI.veil(["run", log.log, "-o", dir + "/rollups", "--keys", keys])
        #expect(r.status == 2 && r.stderrText.contains("symbolic link"), "\(r)")
        #expect(CLI.list(elsewhere) == ["precious.txt"])

        // A state path that is a symlink to a file: the link is replaced, its target untouched.
        try FileManager.default.createSymbolicLink(
            atPath: dir + "/s.veilstate", withDestinationPath: elsewhere + "/precious.txt")
        #expect(
            try CLI.veil(["aggregate", log.log, "-o", dir + "/s.veilstate", "--keys", keys, "--quiet"]).status == 0)
        #expect(try CLI.read(elsewhere + "/precious.txt") == Array("precious".utf8))
        let attrs = try FileManager.default.attributesOfItem(atPath: dir + "/s.veilstate")
        #expect(attrs[.type] as? FileAttributeType == .typeRegular)

        // A key file replaced by a symlink is refused.
        let keyFile = try #require(CLI.list(keys).first { $0.hasSuffix(".key") })
        try FileManager.default.removeItem(atPath: keys + "/" + keyFile)
        try FileManager.default.createSymbolicLink(
            atPath: keys + "/" + keyFile, withDestinationPath: elsewhere + "/precious.txt")
        let k = try CLI.veil(["aggregate", log.log, "-o", dir + "/t.veilstate", "--keys", keys, "--quiet"])
        #expect(k.status == 1, "\(k)")
        #expect(try CLI.read(elsewhere + "/precious.txt") == Array("precious".utf8))

        // A directory with files veil did not write is not replaced.
        try FileManager.default.createDirectory(atPath: dir + "/mixed", withIntermediateDirectories: true)
        try CLI.write(Array("notes".utf8), to: dir + "/mixed/notes.txt")
        #expect(try CLI.veil(["keys", "init", "--keys", dir + "/keys3"]).status == 0)
        let m = try CLI.veil(["run", log.log, "-o", dir + "/mixed", "--keys", dir + "/keys3"])
        #expect(m.status == 2 && m.stderrText.contains("notes.txt"), "\(m)")
        #expect(CLI.list(dir + "/mixed") == ["notes.txt"])
    }
}
