/// veil-fixtures — deterministic generator of synthetic web-server traffic and its ground truth.
///
///     veil-fixtures generate [--output FILE] [--truth FILE.json] [--identifiers FILE]
///         [--lines N] [--seed S] [--visitors N] [--start YYYY-MM-DDTHH:MM:SSZ] [--days D]
///         [--format combined|common|combined_cookie|combined_cookie_xff|vhost_combined|vhost_common|
///                   json-caddy|json-nginx|json-traefik|json-traefik-default|json-cloudflare|w3c|
///                   nginx-custom|traefik_clf|aws_alb|aws_elb|aws_s3|haproxy|gcs|squid|
///                   json-sendgrid|json-mailgun]
///         [--sites a.example.com,b.example.org] [--malformed-share X] [--ipv6-share X]
///         [--bot-share X] [--cookie-share X] [--email-share X] [--scanner-share X] [--long-line]
///         [--utc-offset +HHMM]
///
/// The log is the source of every fixture in veil: visitors (stable address, browser and
/// maybe a `uid` cookie; some behind one NAT address) make visits of a few pageviews over a
/// Zipf-popular site map, each page followed by its assets; well-known bots crawl; newsletter
/// subscribers open tracking pixels (directly or through Gmail/Yahoo image proxies) and
/// follow click redirects; a share of lines is damaged on purpose. Timestamps increase over
/// the period along a day/night curve. Every address is in a documentation or benchmarking
/// range and every host name under example.com/.org/.net (referrers also name real search
/// engines and social sites).
///
/// `--truth` writes exact counts computed while generating, per site, UTC day and UTC hour,
/// with the definitions they follow written into the file (`definitions`). `--identifiers`
/// lists every identifier the log contains as `kind<TAB>value` (kinds: cookie, email, ip,
/// recipient, token, ua, user), for leak tests.
///
/// `--format json-sendgrid` or `json-mailgun` writes an e-mail service's event export instead:
/// the same subscribers receive the newsletter campaigns, open them (in person or through mail
/// proxies) and click; some sit behind security scanners. Its truth counts every campaign per
/// day as veil's `campaigns` and `campaign_links` tables do (see `EmailExport.swift`).
///
/// Same seed and options give byte-identical files on every platform: one xoshiro256**
/// generator seeded by SplitMix64 (never the system RNG or clock), integer arithmetic for all
/// sampling, numbers and dates formatted by hand, every output list sorted. The traffic
/// depends only on the seed and the traffic options, not on `--format` (formats without a
/// User-Agent field, i.e. `common`, get no bots or mail proxies).
///
/// Exit status: 0 success, 1 an output file could not be written, 2 bad usage.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(2, $0.baseAddress!, $0.count) }
}

do {
    switch try CommandLineParser.parse(Array(CommandLine.arguments.dropFirst())) {
    case .help:
        let bytes = Array((CommandLineParser.usage + "\n").utf8)
        bytes.withUnsafeBytes { _ = write(1, $0.baseAddress!, $0.count) }
    case .generate(let options):
        try FixtureGenerator(options: options).run()
    case .geoip(let output, let writer):
        var sink = try ByteSink(path: output)
        sink.buffer = writer.build()
        try sink.finish()
    }
} catch let error as UsageError {
    printError("veil-fixtures: \(error.message)\n\(CommandLineParser.usage)")
    exit(2)
} catch let error as GeneratorError {
    printError("veil-fixtures: \(error.message)")
    exit(1)
} catch {
    printError("veil-fixtures: \(error)")
    exit(1)
}
