import ArgumentParser
import Foundation
import VeilCore

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the key store: one secret key per epoch.",
        discussion: """
            Pseudonyms are keyed with the key of the record's own epoch (a UTC day by default). \
            Shredding a key makes the pseudonymous data of its epoch unlinkable for good. The \
            directory must be mode 0700 and key files 0600.
            """,
        subcommands: [Init.self, Ensure.self, List.self, Rotate.self, Shred.self])

    struct KeyOptions: ParsableArguments {
        @Option(name: .long, help: "Key store directory (default: $VEIL_KEYS or ~/.local/share/veil/keys).")
        var keys: String?

        var path: String { keys ?? defaultKeyStorePath() }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a key store.",
            discussion: "Example: veil keys init --keys /etc/veil/keys --epoch day")

        @OptionGroup var options: KeyOptions

        @Option(name: .long, help: "Epoch length: hour, day, week or month.")
        var epoch = "day"

        func run() throws {
            try Veil.guarded {
                guard let g = EpochGranularity(rawValue: epoch) else {
                    throw VeilError(.usage, "--epoch must be hour, day, week or month")
                }
                let store = try KeyStore(path: options.path, granularity: g)
                print("created key store \(store.path) (one key per \(g.rawValue))")
            }
        }
    }

    struct Ensure: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ensure",
            abstract: "Create the missing keys of every epoch in a time range.",
            discussion: """
                Run this before logs are aggregated with copies of the store (`veil aggregate \
                --no-new-keys` on cluster workers): a key created in a copy differs from copy to \
                copy, so the same visitor would get different pseudonyms. Every epoch that \
                overlaps [--from, --until) gets a key; existing keys are kept. When an epoch of \
                the range was shredded, nothing is created and the command fails naming it. \
                With --check nothing is created: the command fails naming the epochs without a key.

                Example: veil keys ensure --keys /etc/veil/keys --from 2026-11-01 --until 2026-12-01
                """)

        @OptionGroup var options: KeyOptions

        @Option(name: .long, help: "Start of the range, UTC (2026-11-28 or 2026-11-28T06:00:00Z).")
        var from: String

        @Option(name: .long, help: "End of the range, UTC, exclusive.")
        var until: String

        @Flag(
            name: .long,
            help: "Create nothing: fail naming the epochs of the range that have no key (for a read-only copy).")
        var check = false

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func validate() throws {
            let f = try parseTime(from, flag: "--from")
            let u = try parseTime(until, flag: "--until")
            guard f < u else { throw ValidationError("--from must be before --until") }
        }

        func run() throws {
            try Veil.guarded {
                let store = try KeyStore.open(path: options.path)
                let epochs = try store.ensureKeys(
                    from: try parseTime(from, flag: "--from"), until: try parseTime(until, flag: "--until"),
                    create: !check)
                let created = epochs.filter(\.created).count
                if json {
                    struct E: Encodable { var epoch: String; var created: Bool }
                    struct Summary: Encodable {
                        var keyStore: String; var created: Int; var existing: Int; var epochs: [E]
                    }
                    print(
                        jsonString(
                            Summary(
                                keyStore: store.path, created: created, existing: epochs.count - created,
                                epochs: epochs.map { E(epoch: $0.epoch.description, created: $0.created) })))
                } else {
                    let span =
                        epochs.count == 1
                        ? "\(epochs[0].epoch)" : "\(epochs[0].epoch) … \(epochs[epochs.count - 1].epoch)"
                    print(
                        "\(span): created \(created) key\(created == 1 ? "" : "s"), \(epochs.count - created) already existed (key store \(store.path))"
                    )
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List epochs and whether their keys exist.")

        @OptionGroup var options: KeyOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            try Veil.guarded {
                let store = try KeyStore.open(path: options.path)
                let entries = try store.list()
                if json {
                    struct E: Encodable {
                        var epoch: String; var status: String; var created: String?; var shredded: String?
                    }
                    print(
                        jsonString(
                            entries.map {
                                E(
                                    epoch: $0.epoch.description, status: $0.status.rawValue,
                                    created: $0.created.map(ISOTime.string), shredded: $0.shredded.map(ISOTime.string))
                            }))
                } else {
                    print("key store \(store.path), one key per \(store.granularity.rawValue)")
                    for e in entries {
                        let when =
                            e.status == .shredded
                            ? "shredded \(e.shredded.map(ISOTime.string) ?? "")"
                            : "created \(e.created.map(ISOTime.string) ?? "")"
                        print("  \(e.epoch)  \(e.status.rawValue)  \(when)")
                    }
                }
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate", abstract: "Create the key of the current epoch now.")

        @OptionGroup var options: KeyOptions

        func run() throws {
            try Veil.guarded {
                let store = try KeyStore.open(path: options.path)
                let (epoch, created) = try store.rotate()
                print(created ? "created key for epoch \(epoch)" : "key for epoch \(epoch) already exists")
            }
        }
    }

    struct Shred: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shred",
            abstract: "Destroy keys of epochs older than a given age.",
            discussion: "Example: veil keys shred --older-than 30d   (units: h, d, w)")

        @OptionGroup var options: KeyOptions

        @Option(name: .long, help: "Age, e.g. 30d, 12h, 8w.")
        var olderThan: String

        func run() throws {
            try Veil.guarded {
                let seconds = try parseAge(olderThan)
                let store = try KeyStore.open(path: options.path)
                let gone = try store.shred(olderThan: seconds)
                if gone.isEmpty {
                    print("no keys older than \(olderThan)")
                } else {
                    print(
                        "shredded \(gone.count) key\(gone.count == 1 ? "" : "s"); these epochs can no longer be linked:"
                    )
                    for e in gone { print("  \(e)") }
                }
            }
        }
    }
}

/// Parses `30d`, `12h`, `8w` into seconds.
func parseAge(_ s: String) throws -> Int64 {
    guard let unit = s.last, let n = Int64(s.dropLast()), n >= 0 else {
        throw VeilError(.usage, "age '\(s)' must be a number followed by h, d or w (e.g. 30d)")
    }
    switch unit {
    case "h": return n * 3600
    case "d": return n * 86_400
    case "w": return n * 7 * 86_400
    default: throw VeilError(.usage, "age '\(s)' must end in h, d or w (e.g. 30d)")
    }
}
