/// Finds one named cookie in a `Cookie` request header, without allocating.
///
/// A header is `name=value` pairs separated by `;`, each optionally preceded by spaces or tabs
/// (`uid=abc; theme=dark`). W3C/IIS logs write spaces as `+` (`uid=abc;+theme=dark`), so with
/// `plusIsSpace` a `+` before a name is skipped too. Names compare byte for byte (cookie
/// names are case-sensitive). A value in double quotes is returned without them.
enum CookieHeader {
    /// The range of the value of the first cookie called `name` in `header` (a range of
    /// `line`), or an empty range when there is none.
    /// - Complexity: O(header length).
    static func value(
        named name: UnsafeBufferPointer<UInt8>, in line: UnsafeBufferPointer<UInt8>,
        _ header: ByteRange, plusIsSpace: Bool
    ) -> ByteRange {
        let end = Int(header.end)
        var i = Int(header.start)
        guard name.count > 0 else { return .empty }
        while i < end {
            // Skip separators before the name.
            while i < end {
                let c = line[i]
                if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t")
                    || (plusIsSpace && c == UInt8(ascii: "+"))
                {
                    i += 1
                } else {
                    break
                }
            }
            let nameStart = i
            while i < end, line[i] != UInt8(ascii: "="), line[i] != UInt8(ascii: ";") { i += 1 }
            let nameEnd = i
            if i < end, line[i] == UInt8(ascii: "=") {
                i += 1
                let valueStart = i
                while i < end, line[i] != UInt8(ascii: ";") { i += 1 }
                if nameEnd - nameStart == name.count
                    && Self.equal(line, nameStart, name)
                {
                    var s = valueStart, e = i
                    while e > s,
                        line[e - 1] == UInt8(ascii: " ") || line[e - 1] == UInt8(ascii: "\t")
                            || (plusIsSpace && line[e - 1] == UInt8(ascii: "+"))
                    {
                        e -= 1
                    }
                    if e - s >= 2, line[s] == UInt8(ascii: "\""), line[e - 1] == UInt8(ascii: "\"") {
                        s += 1
                        e -= 1
                    }
                    return ByteRange(s, e)
                }
            }
            i += 1  // past the `;` (or the end)
        }
        return .empty
    }

    @inline(__always)
    private static func equal(
        _ line: UnsafeBufferPointer<UInt8>, _ at: Int, _ name: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        for k in 0..<name.count where line[at + k] != name[k] { return false }
        return true
    }
}
