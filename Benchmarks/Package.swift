// swift-tools-version: 6.1
import PackageDescription

// veil's micro-benchmarks and allocation gates, a package of their own so that the main package
// does not depend on the benchmark tooling. Run from this directory:
//   swift package --disable-sandbox benchmark                       # all metrics, all benchmarks
//   ./ci.sh                                                         # the CI allocation gate
let package = Package(
    name: "VeilBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named: a path dependency is otherwise known by its directory name, which differs
        // between checkouts (CI clones the repository into another folder).
        .package(name: "veil", path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // MARK: - Benchmarks
        .executableTarget(
            name: "VeilBenchmarks",
            dependencies: [
                .product(name: "VeilCore", package: "veil"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/VeilBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ]
)
