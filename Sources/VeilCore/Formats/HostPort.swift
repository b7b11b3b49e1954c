/// Strips brackets and ports from a client address as logs write it.
///
/// | written                | result          |
/// |------------------------|-----------------|
/// | `[2001:db8::1]:443`    | `2001:db8::1`   |
/// | `[2001:db8::1]`        | `2001:db8::1`   |
/// | `192.0.2.1:5678`       | `192.0.2.1`     |
/// | `2001:db8::1`          | unchanged (more than one `:`, no brackets: no port) |
/// | `host.example.com`     | unchanged       |
/// | `host.example.com:80`  | `host.example.com` |
///
/// A port is removed only when exactly one `:` is present and only digits follow it. A `[`
/// without a matching `]` leaves the range unchanged. The address itself is not validated.
public enum HostPort {
    /// The part of `r` that is the address, without brackets or port.
    /// - Complexity: O(`r.count`).
    @inlinable
    public static func address(in line: UnsafeBufferPointer<UInt8>, _ r: ByteRange) -> ByteRange {
        let start = Int(r.start), end = Int(r.end)
        guard start < end else { return r }
        if line[start] == UInt8(ascii: "[") {
            var i = start + 1
            while i < end {
                if line[i] == UInt8(ascii: "]") { return ByteRange(start + 1, i) }
                i += 1
            }
            return r
        }
        var colon = -1
        var i = start
        while i < end {
            if line[i] == UInt8(ascii: ":") {
                if colon >= 0 { return r }  // Two or more colons: IPv6 without port.
                colon = i
            }
            i += 1
        }
        guard colon >= 0, colon + 1 < end else { return r }
        i = colon + 1
        while i < end {
            guard line[i] &- UInt8(ascii: "0") <= 9 else { return r }
            i += 1
        }
        return ByteRange(start, colon)
    }

    /// The part of `r` before its port, for a field that always ends in `:port` (AWS load
    /// balancers' `client:port`, which writes an IPv6 address without brackets:
    /// `2001:db8::7:50718` → `2001:db8::7`). A bracketed address is read as `address(in:_:)`
    /// reads it; a field without `:` and digits at its end is returned unchanged.
    /// - Complexity: O(`r.count`).
    public static func addressBeforePort(in line: UnsafeBufferPointer<UInt8>, _ r: ByteRange) -> ByteRange {
        let start = Int(r.start), end = Int(r.end)
        guard start < end else { return r }
        if line[start] == UInt8(ascii: "[") { return address(in: line, r) }
        var i = end - 1
        while i > start && line[i] &- UInt8(ascii: "0") <= 9 { i -= 1 }
        guard i > start, i < end - 1, line[i] == UInt8(ascii: ":") else { return r }
        return ByteRange(start, i)
    }
}
