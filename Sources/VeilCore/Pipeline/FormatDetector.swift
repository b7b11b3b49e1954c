/// Picks a log format from the first lines of a file.
///
/// Lines starting with `#Software`, `#Version`, `#Date` or `#Fields` mean W3C extended; lines
/// starting with `{` mean JSON lines; otherwise every text preset is tried on the sample and the
/// one that parses the most lines wins, the more specific preset first on a tie (a combined line
/// with a cookie field also parses as plain combined, since text after the last field is allowed).
public enum FormatDetector {
    /// Text presets from the most to the least specific.
    static let textCandidates = [
        "vhost_combined", "combined_cookie_xff", "combined_cookie", "combined_xff", "combined", "common",
    ]

    /// The detected format and how many of the sample lines it parsed.
    public struct Detection {
        public var format: AnyLogFormat
        public var parsed: Int
        public var sampled: Int
    }

    /// Detects a format from sample lines (each without its terminator).
    public static func detect(_ lines: [[UInt8]]) -> Detection {
        let sample = lines.filter { !$0.isEmpty }
        let first = sample.first ?? []
        if first.first == UInt8(ascii: "#") || first.starts(with: Array("#Fields".utf8)) {
            var f = W3CFormat()
            let n = count(&f, sample)
            return Detection(format: .w3c(f), parsed: n, sampled: sample.count)
        }
        if first.first == UInt8(ascii: "{") {
            var best: (AnyLogFormat, Int)? = nil
            for preset in [JSONLinesFormat.Preset.caddy, .traefik, .nginx, .auto] {
                var f = JSONLinesFormat(preset: preset)
                let n = count(&f, sample)
                if best == nil || n > best!.1 { best = (.json(JSONLinesFormat(preset: preset)), n) }
            }
            return Detection(format: best!.0, parsed: best!.1, sampled: sample.count)
        }
        var best: (AnyLogFormat, Int)? = nil
        for name in textCandidates {
            guard var f = TextFormat.preset(name) else { continue }
            let n = count(&f, sample)
            if best == nil || n > best!.1 { best = (.text(TextFormat.preset(name)!), n) }
        }
        return Detection(format: best!.0, parsed: best!.1, sampled: sample.count)
    }

    private static func count<F: LogFormat>(_ format: inout F, _ lines: [[UInt8]]) -> Int {
        var record = LogRecord()
        var n = 0
        for line in lines {
            var copy = line
            let r = copy.withUnsafeMutableBufferPointer { format.parse($0, into: &record) }
            if r == .record { n += 1 }
        }
        return n
    }
}
