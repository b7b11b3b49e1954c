/// Undoing one JSON string escape in place (RFC 8259 §7), for the JSON-lines parser and for
/// the `log` strings of Docker's `json-file` lines.
enum JSONEscape {
    /// What is wrong with an escape.
    enum Failure: Error {
        /// The line ends inside the escape.
        case truncated
        /// The byte at this index cannot be part of the escape (a letter JSON has no escape
        /// for, a non-hex digit of `\u`).
        case badByte(Int)
    }

    /// Decodes the escape whose backslash is at `p[r]` into `p[w...]` (`w <= r`: the decoded
    /// bytes are never longer than the escape) and returns where reading and writing go on.
    /// `\uD83D\uDE00` (a surrogate pair) is one scalar; a lone surrogate becomes U+FFFD, and
    /// an escape after a high surrogate that is not a low one is decoded on its own next.
    /// - Complexity: O(1).
    static func undo(
        _ p: UnsafeMutablePointer<UInt8>, at r: Int, end: Int, to w: Int
    ) throws(Failure) -> (read: Int, written: Int) {
        guard r + 1 < end else { throw .truncated }
        let out: UInt8
        switch p[r + 1] {
        case UInt8(ascii: "\""): out = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): out = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): out = UInt8(ascii: "/")
        case UInt8(ascii: "b"): out = 0x08
        case UInt8(ascii: "f"): out = 0x0C
        case UInt8(ascii: "n"): out = 0x0A
        case UInt8(ascii: "r"): out = 0x0D
        case UInt8(ascii: "t"): out = 0x09
        case UInt8(ascii: "u"):
            var scalar = try hex4(p, r + 2, end)
            var next = r + 6
            if scalar & 0xFC00 == 0xD800 {
                // A high surrogate: combined with a following low one, else U+FFFD.
                if next + 1 < end, p[next] == UInt8(ascii: "\\"), p[next + 1] == UInt8(ascii: "u") {
                    let low = try hex4(p, next + 2, end)
                    if low & 0xFC00 == 0xDC00 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        next += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if scalar & 0xFC00 == 0xDC00 {
                scalar = 0xFFFD
            }
            return (next, utf8(scalar, p, at: w))
        default: throw .badByte(r + 1)
        }
        p[w] = out
        return (r + 2, w + 1)
    }

    /// The four hex digits at `p[j..<j+4]`.
    private static func hex4(_ p: UnsafeMutablePointer<UInt8>, _ j: Int, _ end: Int) throws(Failure) -> UInt32 {
        guard j + 4 <= end else { throw .truncated }
        var v: UInt32 = 0
        for k in j..<(j + 4) {
            let c = p[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw .badByte(k)
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Writes `scalar` (not a surrogate) as UTF-8 at `p[w...]` and returns the next write
    /// position.
    private static func utf8(_ scalar: UInt32, _ p: UnsafeMutablePointer<UInt8>, at w: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            p[w] = UInt8(scalar)
            return w + 1
        case 0x80..<0x800:
            p[w] = 0xC0 | UInt8(scalar >> 6)
            p[w + 1] = 0x80 | UInt8(scalar & 0x3F)
            return w + 2
        case 0x800..<0x10000:
            p[w] = 0xE0 | UInt8(scalar >> 12)
            p[w + 1] = 0x80 | UInt8((scalar >> 6) & 0x3F)
            p[w + 2] = 0x80 | UInt8(scalar & 0x3F)
            return w + 3
        default:
            p[w] = 0xF0 | UInt8(scalar >> 18)
            p[w + 1] = 0x80 | UInt8((scalar >> 12) & 0x3F)
            p[w + 2] = 0x80 | UInt8((scalar >> 6) & 0x3F)
            p[w + 3] = 0x80 | UInt8(scalar & 0x3F)
            return w + 4
        }
    }
}
