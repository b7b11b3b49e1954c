import CByteScan

/// The request target of an object store's path-style request without its bucket.
///
/// Amazon S3 and Google Cloud Storage take a request for an object in two ways: with the bucket
/// in the host name (`GET /a/b.html` to `BUCKET.s3.amazonaws.com`, a website endpoint or a
/// custom domain) or in the path (`GET /BUCKET/a/b.html` to `s3.amazonaws.com` or
/// `storage.googleapis.com`). Their logs name the bucket in a field of its own, which names the
/// site; dropping it from the path makes both ways one page.
enum BucketPath {
    /// `target` without a leading `/BUCKET` (`/BUCKET/a.html` → `/a.html`; `/BUCKET` and
    /// `/BUCKET?…` → `/`, the query dropped with it: a listing of the bucket's root); unchanged
    /// when it does not start with `/`, the bucket's name and then `/`, `?` or its end.
    /// Reads `line` only.
    /// - Complexity: O(bucket length).
    static func target(_ line: UnsafePointer<UInt8>, _ target: ByteRange, bucket: ByteRange) -> ByteRange {
        let s = Int(target.start), count = bucket.count
        guard count > 0, target.count > count, line[s] == UInt8(ascii: "/"),
            veil_same_bytes(line + s + 1, line + Int(bucket.start), count) != 0
        else { return target }
        let after = s + 1 + count
        if after == Int(target.end) || line[after] == UInt8(ascii: "?") { return ByteRange(s, s + 1) }
        return line[after] == UInt8(ascii: "/") ? ByteRange(after, Int(target.end)) : target
    }
}
