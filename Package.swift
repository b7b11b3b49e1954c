// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "veil",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "VeilCore", targets: ["VeilCore"]),
        .executable(name: "veil", targets: ["veil"]),
        .executable(name: "veil-fixtures", targets: ["veil-fixtures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // MARK: - C libraries (module maps and shims only)
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // ISA-L (igzip): gzip decompression, about three times zlib's speed.
        .systemLibrary(
            name: "CIsal",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        // liblzma and libbz2: xz and bzip2 decompression, for logs rotated with those tools.
        .systemLibrary(
            name: "CLzma",
            pkgConfig: "liblzma",
            providers: [.apt(["liblzma-dev"])]
        ),
        .systemLibrary(
            name: "CBzip2",
            providers: [.apt(["libbz2-dev"])]
        ),
        // OpenSSL's SHA-256 with its state as a plain struct, for the keyed HMAC of pseudonyms.
        .systemLibrary(
            name: "CLibcrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Header-only: SSE2 byte scans for the text parser.
        .systemLibrary(name: "CByteScan"),

        // MARK: - Library
        .target(
            name: "VeilCore",
            dependencies: [
                "CZstd",
                "CIsal",
                "CLzma",
                "CBzip2",
                "CLibcrypto",
                "CByteScan",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Executables
        .executableTarget(
            name: "veil",
            dependencies: [
                "VeilCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "veil-fixtures",
            dependencies: [],
            swiftSettings: swiftSettings
        ),

        // MARK: - Fuzzing
        // The targets are a library so that `swift test` replays every saved crash input
        // (Tests/VeilCoreTests/Fuzz). `veil-fuzz` runs them under libFuzzer when built by
        // .ci/fuzz.sh, which adds the sanitizer flags; a plain build replays inputs.
        .target(
            name: "VeilFuzzTargets",
            dependencies: ["VeilCore"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "veil-fuzz",
            dependencies: ["VeilFuzzTargets"],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(
            name: "VeilCoreTests",
            dependencies: ["VeilCore", "VeilFuzzTargets"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VeilCLITests",
            dependencies: ["VeilCore"],
            exclude: ["csv_contract.py"],
            swiftSettings: swiftSettings
        ),
    ]
)
