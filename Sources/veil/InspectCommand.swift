import ArgumentParser
import Foundation
import VeilCore

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract:
            "Report what veil sees in logs: compression, format, lines, rejects, time range, e-mail events, serving times.",
        discussion: """
            Prints counts and line numbers only, never the content of a line (log lines hold raw \
            IP addresses). E-mail events are counted by kind: opens and clicks from log lines that \
            match the e-mail patterns, and opens, clicks and deliveries from e-mail event exports.

            Example: veil inspect access.log-20261128.zst --json
            """)

    @Argument(help: "Log files (plain, gzip, zstd, xz or bzip2; - for standard input).")
    var logs: [String]

    @OptionGroup var input: InputOptions
    @OptionGroup var email: EmailPatternOptions
    @OptionGroup var out: OutputOptions

    func run() throws {
        try Veil.guarded {
            var config = try input.configuration()
            if out.quiet || out.json { config.progress = nil }
            let emailConfiguration = try email.configuration()
            var reports: [InspectReport] = []
            var failed: VeilError?
            for path in logs {
                var sink = try EmailEventCounter(configuration: emailConfiguration)
                do {
                    let r = try Ingest.run(path: path, configuration: config, sink: &sink)
                    reports.append(
                        InspectReport(report: r, emailEvents: sink.counts, timedRequests: sink.timedRequests))
                    Terminal.clearProgress()
                    if !out.json && !out.quiet {
                        print(
                            Self.text(
                                r, email: sink.counts, timedRequests: sink.timedRequests, zoneNamed: input.logTz != nil,
                                haproxyOption: input.haproxyOption))
                    }
                } catch let e as VeilError {
                    failed = failed ?? e
                    reports.append(
                        InspectReport(
                            report: FileReport.failed(path, e), emailEvents: EmailEventCounts(), timedRequests: 0))
                    Terminal.error(e.description)
                }
            }
            if out.json { print(jsonString(reports)) }
            if failed != nil { throw ExitCode(1) }
        }
    }

    static func text(
        _ r: FileReport, email: EmailEventCounts, timedRequests: Int = 0, zoneNamed: Bool = false,
        haproxyOption: String? = nil
    ) -> String {
        var s = "\(r.file)\n"
        s += "  compression  \(r.compression) (\(megabytes(r.bytesIn)) in, \(megabytes(r.bytesOut)) out)\n"
        s += "  format       \(r.format)\(r.formatDetected ? " (detected)" : "")\n"
        switch r.envelope {
        case nil: break
        case "cri":
            s += "  envelope     cri: container log lines (Kubernetes), read after each header; stderr lines skipped\n"
        case "docker": s += "  envelope     docker: json-file log lines, read from each \"log\"; stderr lines skipped\n"
        case let envelope?:
            s += "  envelope     \(envelope): read after each header; other programs' messages skipped\n"
        }
        if r.userAgentsLogged == false {
            s += "  user agents  not logged: requests count as people's (browser unknown), none as bots'\n"
        }
        if r.requestsNamed == false { s += "  requests     \(requestsNotNamed(r))\n" }
        if let option = haproxyOption, r.format != "haproxy" {
            s += "  note         not HAProxy's log: \(option) not used\n"
        }
        if let zone = r.logTimeZone {
            s +=
                "  times        written without a zone, read as \(zone)\(zoneNamed ? "" : " (--log-tz names theirs)")\n"
        }
        s += "  lines        \(grouped(r.lines))\n"
        s += "  records      \(grouped(r.records))\n"
        if timedRequests > 0 { s += "  timed        \(grouped(timedRequests)) requests with a serving time\n" }
        if r.skipped > 0 {
            s +=
                "  skipped      \(grouped(r.skipped)) (directives, blank lines, e-mail events of other kinds, requests without a response, S3 and Cloud Storage lifecycle operations, HAProxy's messages and TCP connections, containers' stderr lines, other programs' syslog messages)\n"
        }
        if r.outsideWindow > 0 { s += "  outside      \(grouped(r.outsideWindow)) (--from/--until)\n" }
        s += "  rejected     \(grouped(r.rejected))\(r.rejected > 0 ? ": " + rejectSummary(r) : "")\n"
        for t in r.repaired {
            s +=
                "  kept         \(grouped(t.count)) \(t.reason) (lines \(t.firstLines.map(String.init).joined(separator: ", "))\(t.count > t.firstLines.count ? ", …" : ""))\n"
        }
        if let a = r.firstTimestamp, let b = r.lastTimestamp { s += "  time range   \(a) … \(b)\n" }
        s +=
            "  e-mail       \(grouped(email.opens)) opens, \(grouped(email.clicks)) clicks, \(grouped(email.delivered)) delivered\n"
        let secs = max(r.seconds, 1e-9)
        s +=
            "  throughput   \(String(format: "%.3f", r.seconds)) s, \(grouped(Int(Double(r.lines) / secs))) lines/s, \(String(format: "%.1f", Double(r.bytesOut) / secs / 1e6)) MB/s"
        return s
    }
}

/// One input's `veil inspect --json` object: the file report's members plus `email_events`
/// (`opens`, `clicks`, `delivered`) and `timed_requests` (requests with a serving time).
struct InspectReport: Encodable {
    var report: FileReport
    var emailEvents: EmailEventCounts
    var timedRequests: Int

    enum CodingKeys: String, CodingKey { case emailEvents, timedRequests }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(emailEvents, forKey: .emailEvents)
        try c.encode(timedRequests, forKey: .timedRequests)
    }
}
