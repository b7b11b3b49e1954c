/// Gives each distinct byte string a dense id; the string itself is made once, when the key is
/// first seen.
struct Interner: Sendable {
    private var table = ByteKeyedTable<UInt32>()
    private(set) var strings: [String] = []

    var count: Int { strings.count }

    @inline(__always)
    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let h = table.hash(bytes)
        if let i = table.find(bytes, hash: h) { return table.value(at: i) }
        return insertNew(bytes, hash: h)
    }

    mutating func intern(_ s: String) -> UInt32 {
        var s = s
        return s.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    /// The id of `s` if it is interned, without adding it.
    func intern(_ s: String, readOnly: Bool) -> UInt32? {
        var s = s
        return s.withUTF8 { b in
            let raw = UnsafeRawBufferPointer(b)
            return table.find(raw, hash: table.hash(raw)).map { table.value(at: $0) }
        }
    }

    @inline(never)
    private mutating func insertNew(_ bytes: UnsafeRawBufferPointer, hash: UInt64) -> UInt32 {
        let id = UInt32(strings.count)
        table.insert(bytes, hash: hash, value: id)
        strings.append(String(decoding: bytes, as: UTF8.self))
        return id
    }

    @inline(__always) func string(_ id: UInt32) -> String { strings[Int(id)] }

    /// Byte order of two interned strings.
    func isLess(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && strings[Int(a)].utf8.lexicographicallyPrecedes(strings[Int(b)].utf8)
    }
}
