import VeilCore

/// JSON-lines access logs and e-mail event exports.
enum JSONTargets {
    static let accessFormats: [JSONLinesFormat] =
        [JSONLinesFormat.Preset.caddy, .nginx, .traefik, .cloudflare].map {
            JSONLinesFormat(preset: $0, cookieName: "uid")
        }
        + [JSONLinesFormat(preset: .auto)]

    static let emailFormats: [JSONLinesFormat] = {
        var formats = JSONLinesFormat.EmailPreset.allCases.map { JSONLinesFormat(emailPreset: $0) }
        do {
            formats.append(
                try JSONLinesFormat(
                    emailFields: "event=type,timestamp=ts,recipient=to.email,campaign=meta.campaign,"
                        + "url=link,ip=client.ip,user_agent=client.ua,automation=client.bot"))
        } catch {
            preconditionFailure("fuzz --email-fields mapping does not parse: \(error)")
        }
        return formats
    }()

    static func access(_ input: UnsafeBufferPointer<UInt8>) { run(accessFormats, input) }

    static func email(_ input: UnsafeBufferPointer<UInt8>) { run(emailFormats, input) }

    private static func run(_ formats: [JSONLinesFormat], _ input: UnsafeBufferPointer<UInt8>) {
        var formats = formats
        for line in FuzzInput.lines(input) {
            for i in formats.indices { FuzzInput.parse(&formats[i], line) }
        }
    }
}

/// W3C extended logs and Cloud Storage usage logs: directives and header rows change how later
/// lines parse, so one parser reads every line of an input in order.
enum W3CTarget {
    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        var withCookie = W3CFormat(cookieName: "uid")
        var plain = W3CFormat()
        var gcs = W3CFormat.gcsUsage()
        for line in FuzzInput.lines(input) {
            FuzzInput.parse(&withCookie, line)
            FuzzInput.parse(&plain, line)
            FuzzInput.parse(&gcs, line)
        }
    }
}

/// `--format auto`: detection from the lines (their envelope, then their format), then every
/// line through the detected parser (as `Ingest` does with its sample).
enum DetectTarget {
    static func run(_ input: UnsafeBufferPointer<UInt8>) {
        let lines = FuzzInput.lines(input)
        let detection = FormatDetector.detectEnveloped(lines.map { Array($0) })
        precondition(detection.parsed <= detection.sampled, "detection parsed more lines than it sampled")
        var format = detection.format
        for line in lines { FuzzInput.parse(&format, line) }
    }
}
