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
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // MARK: - Library
        .target(
            name: "VeilCore",
            dependencies: [
                "CZstd",
                "CZlib",
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

        // MARK: - Tests
        .testTarget(
            name: "VeilCoreTests",
            dependencies: ["VeilCore"],
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
