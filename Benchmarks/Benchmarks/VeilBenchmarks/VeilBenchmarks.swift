import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark("Harness.empty") { _ in }
}
