/// How long a request took to serve, as logs write it: a decimal number in some unit (nginx's
/// `$request_time` in seconds with milliseconds, `0.123`; Apache's `%D` in microseconds;
/// IIS's `time-taken` in milliseconds; Caddy's `duration` a JSON number of seconds, which may
/// be written with an exponent, `1.5e-05`; Traefik's `Duration` in nanoseconds).
enum ServingTime {
    /// The unit a field writes.
    enum Unit: Sendable {
        case seconds, milliseconds, microseconds, nanoseconds

        /// log₁₀ of the microseconds in one of the unit.
        var microsecondsExponent: Int {
            switch self {
            case .seconds: 6
            case .milliseconds: 3
            case .microseconds: 0
            case .nanoseconds: -3
            }
        }
    }

    /// The duration `bytes` write in `unit`, in whole microseconds (truncated): digits with an
    /// optional `.` and fraction, and an optional exponent (`e` or `E`, a sign, digits). Nil
    /// for anything else — a sign (ALB's `-1`: not measured), `-`, an empty field, text — and
    /// for a duration past about 31 years.
    /// - Complexity: O(n) in the field's length; does not allocate.
    static func microseconds(_ bytes: UnsafeBufferPointer<UInt8>, unit: Unit) -> Int64? {
        let n = bytes.count
        var i = 0
        var mantissa: Int64 = 0
        var digits = 0
        var scale = 0  // decimal places of `mantissa` kept after the point, negated
        var ignored = 0  // integer digits past the 18 kept (each multiplies by 10)
        var sawPoint = false
        while i < n {
            let b = bytes[i]
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits += 1
                if mantissa < 100_000_000_000_000_000 {
                    mantissa = mantissa * 10 + Int64(b &- UInt8(ascii: "0"))
                    if sawPoint { scale -= 1 }
                } else if !sawPoint {
                    ignored += 1
                }
            } else if b == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        var exponent = 0
        if i < n {
            guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return nil }
            i += 1
            var negative = false
            if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
                negative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < n else { return nil }
            while i < n {
                let d = bytes[i]
                guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") else { return nil }
                if exponent < 1000 { exponent = exponent * 10 + Int(d &- UInt8(ascii: "0")) }
                i += 1
            }
            if negative { exponent = -exponent }
        }
        var power = scale + ignored + exponent + unit.microsecondsExponent
        var value = mantissa
        while power < 0 && value > 0 {
            value /= 10
            power += 1
        }
        guard value > 0 else { return 0 }
        while power > 0 {
            let (m, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow, m <= maximum else { return nil }
            value = m
            power -= 1
        }
        return value <= maximum ? value : nil
    }

    /// The longest duration taken (µs): about 31.7 years; anything longer is not a serving time.
    static let maximum: Int64 = 1_000_000_000_000_000
}
