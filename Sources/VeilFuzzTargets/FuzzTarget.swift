/// One fuzz target: a name and a function that must return normally for every input.
///
/// A target feeds arbitrary bytes to one of veil's readers of untrusted input. Malformed input
/// must come back as a counted reject or a thrown `VeilError`; a trap (a failed precondition,
/// an out-of-range index, an overflow) or a memory error under AddressSanitizer is a bug. The
/// targets also check what the readers promise about their results (record ranges inside the
/// line, a decoded state that encodes and decodes again) and trap when a promise is broken, so
/// the fuzzer reports it like a crash.
///
/// Every target is deterministic: the same input always runs the same code.
public struct FuzzTarget: Sendable {
    /// The name `veil-fuzz` and the fixture directories use (`Fixtures/fuzz/corpus/<name>/`).
    public let name: String
    /// What the target feeds and to which reader, one line.
    public let summary: String
    private let body: @Sendable (UnsafeBufferPointer<UInt8>) -> Void

    init(_ name: String, _ summary: String, _ body: @escaping @Sendable (UnsafeBufferPointer<UInt8>) -> Void) {
        self.name = name
        self.summary = summary
        self.body = body
    }

    /// Runs the target on one input; traps on a bug.
    public func run(_ input: UnsafeBufferPointer<UInt8>) { body(input) }

    /// Runs the target on one input; traps on a bug.
    public func run(_ input: [UInt8]) { input.withUnsafeBufferPointer { body($0) } }

    /// Every target, in the order `veil-fuzz list` prints them.
    public static let all: [FuzzTarget] = [
        FuzzTarget(
            "text",
            "text presets (common, combined, vhost_combined, vhost_common, combined_cookie, combined_xff, "
                + "combined_cookie_xff, traefik_clf, aws_alb, aws_elb, aws_s3, haproxy, squid), one input = lines",
            TextTargets.presets),
        FuzzTarget("apache-format", "two compiled Apache LogFormat strings, one input = lines", TextTargets.apache),
        FuzzTarget("nginx-format", "two compiled nginx log_format strings, one input = lines", TextTargets.nginx),
        FuzzTarget(
            "format-string",
            "the Apache / nginx / --email-fields compiler on the first line, "
                + "then the compiled parser on the other lines", TextTargets.formatString),
        FuzzTarget("json", "JSON-lines presets caddy, nginx, traefik and auto, one input = lines", JSONTargets.access),
        FuzzTarget(
            "json-email", "JSON-lines e-mail presets sendgrid, mailgun and an --email-fields mapping",
            JSONTargets.email),
        FuzzTarget(
            "w3c", "W3C extended (IIS) with #Fields:/#Date: directives, and GCS usage logs, state kept across lines",
            W3CTarget.run),
        FuzzTarget("detect", "--format auto detection on the lines, then the detected parser", DetectTarget.run),
        FuzzTarget(
            "aggregate", "veil run in memory: detection, parsing, aggregation, state round trip, release",
            AggregateTarget.run),
        FuzzTarget("state", "StateCodec.decode of the raw bytes (magic, version, CRC-32C checked)", StateTargets.raw),
        FuzzTarget(
            "state-body", "StateCodec.decode of the input as a state body, header and CRC-32C made valid",
            StateTargets.body),
        FuzzTarget("identity-csv", "IdentityTable(bytes:file:) and CSVReader on the raw bytes", IdentityTarget.run),
        FuzzTarget(
            "lines", "ByteSource + LineReader (plain, gzip, zstd, xz, bzip2) at chunk sizes set by the first byte",
            LinesTarget.run),
        FuzzTarget(
            "geoip", "CountryDatabase (--geoip's MaxMind DB reader) on the raw bytes, then lookups", GeoIPTarget.run),
    ]

    /// The target called `name`, if any.
    public static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}
