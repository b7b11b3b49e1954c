/// The path and query of a request target, as offsets into the target's bytes.
///
/// Origin-form targets (`/a/b?c=d#e`) give the path up to the first `?` or `#` and the query
/// between `?` and `#`. Absolute-form targets (`https://example.com/a?b`) first skip the scheme
/// and authority: the path starts at the first `/` after `://` (and is empty when there is
/// none). Any other target (`*`, `example.com:443`, garbage) is its own path up to `?`/`#`.
/// Nothing is decoded: `%2F` stays three bytes.
struct RequestTarget: Sendable, Equatable {
    /// Path bytes `[pathStart, pathEnd)`.
    var pathStart: Int
    var pathEnd: Int
    /// Query bytes `[queryStart, queryEnd)` after the `?`; empty when there is no `?`.
    var queryStart: Int
    var queryEnd: Int

    /// Splits `target` into path and query.
    ///
    /// - Complexity: O(`target.count`), no allocation.
    init(_ target: UnsafeBufferPointer<UInt8>) {
        let n = target.count
        var start = 0
        if n > 0 && target[0] != UInt8(ascii: "/") {
            start = RequestTarget.pathStartOfAbsoluteForm(target) ?? 0
        }
        let i = RequestTarget.firstQueryOrFragment(target, from: start)
        pathStart = start
        pathEnd = i
        if i < n && target[i] == UInt8(ascii: "?") {
            queryStart = i + 1
            // Safe: `i < n`, so the buffer has a base address.
            queryEnd = ByteWords.firstOf(
                UInt8(ascii: "#"), UInt8(ascii: "#"), in: target.baseAddress!, from: i + 1, to: n)
        } else {
            queryStart = i
            queryEnd = i
        }
    }

    /// The index of the first `?` or `#` from `i`, or the count: eight bytes at a time.
    @inline(__always)
    private static func firstQueryOrFragment(_ target: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        guard let p = target.baseAddress else { return target.count }
        return ByteWords.firstOf(UInt8(ascii: "?"), UInt8(ascii: "#"), in: p, from: i, to: target.count)
    }

    /// For `scheme://authority/path…`, the offset of the path (the end of the authority when
    /// the path is empty); `nil` when `target` does not start with `scheme://`.
    private static func pathStartOfAbsoluteForm(_ target: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = target.count
        var i = 0
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        while i < n {
            let b = target[i]
            let isSchemeByte =
                ClassifyBytes.isLetter(b)
                || (i > 0
                    && (ClassifyBytes.isDigit(b) || b == UInt8(ascii: "+")
                        || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")))
            if !isSchemeByte { break }
            i += 1
        }
        guard i > 0, n - i >= 3, target[i] == UInt8(ascii: ":"), target[i + 1] == UInt8(ascii: "/"),
            target[i + 2] == UInt8(ascii: "/")
        else { return nil }
        i += 3
        while i < n {
            let b = target[i]
            if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") { break }
            i += 1
        }
        return i
    }
}
