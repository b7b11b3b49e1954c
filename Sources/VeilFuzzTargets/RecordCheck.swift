import VeilCore

/// What every parser promises about a record it returns, and the per-line steps that read the
/// record next (as `Aggregator` does), run on it so that they see parser output for hostile
/// lines too.
enum RecordCheck {
    static let urls = URLRedactor()
    static let agents = UserAgentClassifier()
    static let requests = RequestClassifier()

    /// Traps when `record` breaks a promise of `LogRecord`; then runs the consumers.
    static func check(_ record: LogRecord, in line: UnsafeBufferPointer<UInt8>, parser: String) {
        let ranges: [(String, ByteRange)] = [
            ("site", record.site), ("clientAddress", record.clientAddress), ("forwardedFor", record.forwardedFor),
            ("user", record.user), ("method", record.method), ("target", record.target),
            ("protocolVersion", record.protocolVersion), ("referrer", record.referrer),
            ("userAgent", record.userAgent), ("cookie", record.cookie), ("recipient", record.recipient),
            ("campaign", record.campaign),
        ]
        for (field, r) in ranges {
            precondition(
                r.start >= 0 && r.start <= r.end && Int(r.end) <= line.count,
                "\(parser): record.\(field) \(r.start)..<\(r.end) is outside the \(line.count)-byte line")
        }
        precondition(
            record.status == 0 || (100...599).contains(record.status),
            "\(parser): record.status \(record.status) is outside 100...599")
        precondition(record.bytes >= 0, "\(parser): record.bytes \(record.bytes) is negative")
        precondition(
            (0..<1000).contains(record.milliseconds),
            "\(parser): record.milliseconds \(record.milliseconds) is outside 0..<1000")
        consume(record, line)
    }

    /// The per-line work of aggregation that needs no key: address parsing and truncation,
    /// URL and referrer redaction, user-agent and request classification.
    static func consume(_ record: LogRecord, _ line: UnsafeBufferPointer<UInt8>) {
        let address = record.clientAddress.slice(line)
        if let ip = IPAddress(UnsafeRawBufferPointer(address)) {
            _ = ip.truncated()
            _ = ip.embeddedIPv4
        }
        let chain = record.forwardedFor.slice(line)
        if let r = IPAddress.firstClientRange(inForwardedFor: chain) {
            precondition(r.lowerBound >= 0 && r.upperBound <= chain.count, "forwarded-for range outside the chain")
        }
        _ = IPAddress.firstClient(inForwardedFor: UnsafeRawBufferPointer(chain))
        var out: [UInt8] = []
        let target = record.target.slice(line)
        urls.redact(UnsafeRawBufferPointer(target), into: &out)
        _ = urls.referrerHost(UnsafeRawBufferPointer(record.referrer.slice(line)), into: &out)
        let agent = agents.classify(record.userAgent.slice(line))
        _ = requests.classifyCapturing(
            method: record.method.slice(line), target: target, status: record.status, agent: agent,
            targetOffset: record.target.start)
    }
}
