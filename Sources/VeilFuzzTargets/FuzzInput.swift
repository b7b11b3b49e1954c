import VeilCore

/// Helpers that turn one fuzz input into what veil's readers take.
enum FuzzInput {
    /// The lines of `input` as `LineReader` splits them: separated by `\n`, one `\r` before the
    /// `\n` (or at the very end) dropped, a last line without a terminator kept.
    static func lines(_ input: UnsafeBufferPointer<UInt8>) -> [UnsafeBufferPointer<UInt8>] {
        var out: [UnsafeBufferPointer<UInt8>] = []
        var start = 0
        let n = input.count
        while start < n {
            var end = start
            while end < n && input[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && input[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            out.append(UnsafeBufferPointer(rebasing: input[start..<lineEnd]))
            start = end + 1
        }
        return out
    }

    /// The first line of `input` (up to the first `\n`) and everything after it.
    static func splitFirstLine(_ input: UnsafeBufferPointer<UInt8>)
        -> (first: UnsafeBufferPointer<UInt8>, rest: UnsafeBufferPointer<UInt8>)
    {
        var i = 0
        while i < input.count && input[i] != 0x0A { i += 1 }
        let rest = i < input.count ? i + 1 : i
        return (UnsafeBufferPointer(rebasing: input[0..<i]), UnsafeBufferPointer(rebasing: input[rest...]))
    }

    /// Calls `body` with a private copy of `bytes` in an allocation of exactly their size, so
    /// AddressSanitizer reports a parser reading past the end of its line.
    static func withCopy<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeMutableBufferPointer<UInt8>) -> R) -> R
    {
        let storage = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        defer { storage.deallocate() }
        let copy = UnsafeMutableBufferPointer(rebasing: storage[0..<bytes.count])
        if !bytes.isEmpty { _ = copy.initialize(from: bytes) }
        return body(copy)
    }

    /// Parses a private copy of `line` with `format` and checks the record it fills.
    static func parse<F: LogFormat>(_ format: inout F, _ line: UnsafeBufferPointer<UInt8>) {
        withCopy(line) { buffer in
            var record = LogRecord()
            var result: ParseResult? = format.parse(buffer, into: &record)
            while let r = result {
                if r == .record { RecordCheck.check(record, in: UnsafeBufferPointer(buffer), parser: format.name) }
                result = format.parseNext(buffer, into: &record)
            }
        }
    }

    /// Parses a private copy of `line` with whichever parser `format` holds.
    static func parse(_ format: inout AnyLogFormat, _ line: UnsafeBufferPointer<UInt8>) {
        switch format {
        case .text(var f):
            parse(&f, line)
            format = .text(f)
        case .json(var f):
            parse(&f, line)
            format = .json(f)
        case .w3c(var f):
            parse(&f, line)
            format = .w3c(f)
        }
    }

    /// `bytes` as a `String` (invalid UTF-8 replaced), as a command-line argument would arrive.
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
