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
        guard let p = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        var mantissa: Int64 = 0
        var digits = 0
        // Decimal places kept in `mantissa` (negative), and integer digits past the 18 kept.
        var power = unit.microsecondsExponent
        while i < n {
            let d = p[i] &- UInt8(ascii: "0")
            guard d <= 9 else { break }
            if mantissa < 100_000_000_000_000_000 {
                mantissa = mantissa &* 10 &+ Int64(d)
            } else {
                power &+= 1
            }
            digits &+= 1
            i &+= 1
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i &+= 1
            while i < n {
                let d = p[i] &- UInt8(ascii: "0")
                guard d <= 9 else { break }
                if mantissa < 100_000_000_000_000_000 {
                    mantissa = mantissa &* 10 &+ Int64(d)
                    power &-= 1
                }
                digits &+= 1
                i &+= 1
            }
        }
        guard digits > 0 else { return nil }
        if i < n {
            guard p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") else { return nil }
            i &+= 1
            var negative = false
            if i < n && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) {
                negative = p[i] == UInt8(ascii: "-")
                i &+= 1
            }
            guard i < n else { return nil }
            var exponent = 0
            while i < n {
                let d = p[i] &- UInt8(ascii: "0")
                guard d <= 9 else { return nil }
                if exponent < 1000 { exponent = exponent &* 10 &+ Int(d) }
                i &+= 1
            }
            power &+= negative ? -exponent : exponent
        }
        return scaled(mantissa, power: power)
    }

    /// `mantissa` × 10^`power`, truncated; nil past `maximum`.
    @inline(__always)
    private static func scaled(_ mantissa: Int64, power: Int) -> Int64? {
        var value = mantissa
        var power = power
        while power < 0 && value > 0 {
            value /= 10
            power &+= 1
        }
        guard value > 0 else { return 0 }
        while power > 0 {
            let (m, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow, m <= maximum else { return nil }
            value = m
            power &-= 1
        }
        return value <= maximum ? value : nil
    }

    /// The longest duration taken (µs): about 31.7 years; anything longer is not a serving time.
    static let maximum: Int64 = 1_000_000_000_000_000
}
