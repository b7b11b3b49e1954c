extension TextFormat {
    /// Parses one line of Squid's native access log (`logformat squid`, the default of
    /// `access_log`):
    ///
    /// `time.ms elapsed client code/status bytes method URL user hierarchy/peer type`
    ///
    /// (`%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt`), fields between one or
    /// more spaces (the elapsed time is padded to six columns):
    /// `1795864454.108    180 192.0.2.10 TCP_MISS/200 13654 GET http://www.example.com/a - HIER_DIRECT/203.0.113.5 text/html`.
    ///
    /// - The time is epoch seconds with milliseconds, UTC. The elapsed time, the hierarchy and
    ///   the content type are not read.
    /// - The status follows the `/` of the result code; `000` (no response: an aborted or
    ///   refused transaction, `TCP_MISS_ABORTED/000`, `NONE_NONE/000`) is `.skip`, and so is
    ///   Squid's own traffic: ICAP (`REQMOD`, `RESPMOD`: an `icap_log` written in this format)
    ///   and the cache manager's `cache_object://` requests.
    /// - The URL is the request's target; an absolute URL's host names the site, as a load
    ///   balancer's does (a reverse proxy's `http://www.example.com/a`, a forward proxy's
    ///   destinations); a `CONNECT` names its `host:port` and has no target. Anything else
    ///   (`error:invalid-request`) names no site and is the target as written.
    /// - The user (`%[un`, an authenticated proxy user or ident) is kept as `user`, which is
    ///   never aggregated; `-` is none.
    /// - Squid logs no user agent and no referrer: the line has no user agent
    ///   (`LogRecord.userAgentLogged` false).
    /// - A line that ends before its content type is `.truncated`; a control byte is
    ///   `.binaryGarbage`; a time that is not an epoch is `.badTimestamp`; a result code
    ///   without `/` and three digits, or a status outside 100...599, is `.badStatus`; a size
    ///   that is not digits is `.badBytes`. Text after the content type is allowed.
    @inline(never)
    static func parseSquid(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, record: inout LogRecord) -> ParseResult {
        if ByteWords.hasControlByte(p, n) { return .reject(.binaryGarbage) }
        let line = UnsafeBufferPointer(start: p, count: n)
        var i = 0
        let time = squidWord(p, n, &i)
        let elapsed = squidWord(p, n, &i)  // milliseconds
        let client = squidWord(p, n, &i)
        let code = squidWord(p, n, &i)
        let bytes = squidWord(p, n, &i)
        let method = squidWord(p, n, &i)
        let url = squidWord(p, n, &i)
        let user = squidWord(p, n, &i)
        _ = squidWord(p, n, &i)  // hierarchy/peer
        let type = squidWord(p, n, &i)
        guard !type.isEmpty else { return .reject(.truncated) }
        guard let t = Timestamp.parseEpoch(time.slice(line)) else { return .reject(.badTimestamp) }
        record.duration = ServingTime.microseconds(elapsed.slice(line), unit: .milliseconds) ?? -1
        record.timestamp = t.seconds
        record.milliseconds = t.milliseconds
        // `TCP_MISS/200`: the status after the last `/`.
        var slash = Int(code.end) - 1
        while slash > Int(code.start) && p[slash] != UInt8(ascii: "/") { slash -= 1 }
        guard slash > Int(code.start) else { return .reject(.badStatus) }
        let statusText = UnsafeBufferPointer(rebasing: line[(slash + 1)..<Int(code.end)])
        if statusText.elementsEqual("000".utf8) {
            // Read as far as its time, as `--format auto` counts a format's own skipped lines.
            return .skip
        }
        // Squid's own traffic: ICAP (`REQMOD icap://…`, `RESPMOD`, an `icap_log` in the squid
        // format) and the cache manager (`cache_object://localhost/info`).
        if matches(method, "REQMOD", line) || matches(method, "RESPMOD", line)
            || url.count > 15
                && UnsafeBufferPointer(rebasing: line[Int(url.start)..<Int(url.start) + 15]).elementsEqual(
                    "cache_object://".utf8)
        {
            return .skip
        }
        guard let status = JSONLinesFormat.status(statusText) else { return .reject(.badStatus) }
        guard let size = JSONLinesFormat.integer(bytes.slice(line)) else { return .reject(.badBytes) }
        record.status = status
        record.bytes = size
        record.clientAddress = client
        record.method = method
        record.userAgentLogged = false
        if !(user.count == 1 && p[Int(user.start)] == UInt8(ascii: "-")) { record.user = user }
        if matches(method, "CONNECT", line) {
            // `CONNECT www.example.com:443`: the tunnel's host and port, no page.
            if isHost(line, Int(url.start), Int(url.end)) { record.site = url }
        } else {
            record.target = url
            record.site = requestURLHost(line, url)
        }
        return .record
    }

    /// Whether `r` holds `word`.
    @inline(__always)
    private static func matches(_ r: ByteRange, _ word: StaticString, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        r.count == word.utf8CodeUnitCount
            && r.slice(line).elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: r.count))
    }

    /// The next word of a Squid line from `i` (after any spaces), `i` moved past it; empty at
    /// the end of the line.
    @inline(__always)
    private static func squidWord(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ i: inout Int) -> ByteRange {
        while i < n && p[i] == 0x20 { i += 1 }
        let start = i
        i = ByteWords.find(0x20, p, i, n)
        return ByteRange(start, i)
    }
}
