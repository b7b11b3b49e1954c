import VeilCore

/// Text formats: the NCSA presets, compiled Apache and nginx format strings, and the format
/// string compiler itself.
enum TextTargets {
    /// Apache `LogFormat` strings beyond the presets: CLF time without brackets, ISO time,
    /// epoch microseconds, `%U%q`, `%{c}a`, headers, cookies, skipped fields.
    static let apacheFormats: [CompiledFormat] = compile([
        #"%v %a %l %u [%{%d/%b/%Y:%H:%M:%S %z}t] "%m %U%q %H" %>s %B %D "%{Referer}i" "%{User-Agent}i""#,
        #"%{%Y-%m-%dT%H:%M:%S%z}t %{usec}t %{c}a %{X-Forwarded-For}i "%r" %s %O %T "%{Host}i" "%{User-Agent}i" "%{uid}C""#,
    ]) { s throws(VeilError) in try CompiledFormat.apache(s) }

    /// nginx `log_format` strings: the generator's `nginx-custom` layout and one with ISO time,
    /// `$msec`, `$uri$is_args$args`, skipped variables and `$host` last.
    static let nginxFormats: [CompiledFormat] = compile([
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$cookie_uid""#,
        #"$time_iso8601 $msec $remote_addr "$request_method $uri$is_args$args $server_protocol" $status $bytes_sent $request_time "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $host"#,
    ]) { s throws(VeilError) in try CompiledFormat.nginx(s) }

    private static func compile(
        _ strings: [String], _ compiler: (String) throws(VeilError) -> CompiledFormat
    ) -> [CompiledFormat] {
        strings.map { s in
            do {
                return try compiler(s)
            } catch {
                preconditionFailure("fuzz format \(s) does not compile: \(error)")
            }
        }
    }

    /// Every preset, plus `combined` with the unterminated-final-quote tolerance off and
    /// `haproxy` reading captured headers (more names than a line has values) in a zone with
    /// summer time.
    static func presets(_ input: UnsafeBufferPointer<UInt8>) {
        var formats = TextFormat.presetNames.compactMap { TextFormat.preset($0) }
        if var strict = TextFormat.preset("combined") {
            strict.toleratesUnterminatedFinalQuote = false
            formats.append(strict)
        }
        formats.append(haproxyWithHeaders())
        run(&formats, input)
        combinedFastPath(input)
    }

    static func haproxyWithHeaders() -> TextFormat {
        var configuration = HAProxyConfiguration()
        do {
            try configuration.setCapturedRequestHeaders("host,user-agent,x-request-id,referer,x-forwarded-for")
            try configuration.setCookieName("uid")
        } catch {
            preconditionFailure("fuzz HAProxy configuration: \(error)")
        }
        var format = TextFormat.preset("haproxy")!
        format.configure(haproxy: configuration)
        format.setLogTimeZone("Europe/Berlin")
        return format
    }

    /// The combined family's fast path against the steps: same result, record, bytes and
    /// unterminated-quote flag on every line.
    private static func combinedFastPath(_ input: UnsafeBufferPointer<UInt8>) {
        let formats =
            ["combined", "combined_cookie", "combined_cookie_xff", "common", "vhost_combined", "vhost_common"]
            .compactMap { TextFormat.preset($0) }
        for format in formats {
            let name = format.name
            var fast = format
            var steps = fast
            steps.usesCombinedFastPath = false
            for line in FuzzInput.lines(input) {
                var a = Array(line), b = Array(line)
                var ra = LogRecord(), rb = LogRecord()
                let resultA = a.withUnsafeMutableBufferPointer { fast.parse($0, into: &ra) }
                let resultB = b.withUnsafeMutableBufferPointer { steps.parse($0, into: &rb) }
                precondition(resultA == resultB, "\(name): fast path \(resultA), steps \(resultB)")
                precondition(resultA != .record || ra == rb, "\(name): fast path record differs")
                precondition(a == b, "\(name): fast path bytes differ")
                precondition(
                    fast.lastRecordHadUnterminatedQuote == steps.lastRecordHadUnterminatedQuote, "\(name): flag differs"
                )
            }
        }
    }

    static func apache(_ input: UnsafeBufferPointer<UInt8>) {
        var formats = apacheFormats.map { TextFormat($0) }
        run(&formats, input)
    }

    static func nginx(_ input: UnsafeBufferPointer<UInt8>) {
        var formats = nginxFormats.map { TextFormat($0) }
        run(&formats, input)
    }

    /// Each line through every parser; parsers keep their state (the timestamp cache) from
    /// line to line, as in a file.
    private static func run(_ formats: inout [TextFormat], _ input: UnsafeBufferPointer<UInt8>) {
        for line in FuzzInput.lines(input) {
            for i in formats.indices { FuzzInput.parse(&formats[i], line) }
        }
    }

    /// The first byte picks the compiler (`% 4`: Apache, nginx, `--email-fields` alone,
    /// `--email-fields` over a preset); the rest of the first line is the string given to it;
    /// when it compiles, the other lines go through the compiled parser.
    static func formatString(_ input: UnsafeBufferPointer<UInt8>) {
        guard let selector = input.first else { return }
        let (spec, rest) = FuzzInput.splitFirstLine(UnsafeBufferPointer(rebasing: input[1...]))
        let string = FuzzInput.string(spec)
        let lines = FuzzInput.lines(rest)
        switch selector % 4 {
        case 0, 1:
            let compiled: CompiledFormat
            do throws(VeilError) {
                compiled = selector % 4 == 0 ? try CompiledFormat.apache(string) : try CompiledFormat.nginx(string)
            } catch {
                return
            }
            precondition(!compiled.name.isEmpty)
            var format = TextFormat(compiled)
            format.toleratesUnterminatedFinalQuote = selector & 0x80 == 0
            for line in lines { FuzzInput.parse(&format, line) }
        default:
            let base: JSONLinesFormat.EmailPreset? =
                selector % 4 == 2 ? nil : (selector & 0x80 == 0 ? .sendgrid : .mailgun)
            guard var format = try? JSONLinesFormat(emailFields: string, base: base) else { return }
            for line in lines { FuzzInput.parse(&format, line) }
        }
    }
}
