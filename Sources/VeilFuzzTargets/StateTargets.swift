import VeilCore

/// The state file decoder, and what `veil merge` and `veil report` do next with a state it
/// accepted.
enum StateTargets {
    /// The input as a whole file: most mutations stop at the magic, version or checksum.
    static func raw(_ input: UnsafeBufferPointer<UInt8>) {
        decodeAndUse(Array(input))
    }

    /// The input as a format version and the body of a file (after magic and version, before
    /// the CRC-32C), which this target wraps in a valid header and checksum so that mutations
    /// reach the decoder proper. The first byte is the version (2 to the current one, the
    /// older layouts veil still reads; any other byte stands for one of them); a seed for it is
    /// a state file's version byte, then the file without its first 10 and last 4 bytes.
    static func body(_ input: UnsafeBufferPointer<UInt8>) {
        guard let first = input.first else { return }
        let newest = StateCodec.version
        let version = (2...newest).contains(UInt16(first)) ? UInt16(first) : UInt16(first) % (newest - 1) + 2
        decodeAndUse(wrap(UnsafeBufferPointer(rebasing: input.dropFirst()), version: version))
    }

    /// Magic, `version`, `body`, CRC-32C of all that.
    static func wrap(_ body: UnsafeBufferPointer<UInt8>, version: UInt16 = StateCodec.version) -> [UInt8] {
        var bytes = StateCodec.magic
        bytes.append(UInt8(truncatingIfNeeded: version))
        bytes.append(UInt8(truncatingIfNeeded: version >> 8))
        bytes.append(contentsOf: body)
        let crc = CRC32C.checksum(bytes)
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        return bytes
    }

    /// Decodes; a state that decodes must encode to a file that decodes to the same encoding,
    /// and must survive a merge, a release and a differentially private release.
    static func decodeAndUse(_ bytes: [UInt8]) {
        let state: AggregateState
        do throws(VeilError) {
            state = try StateCodec.decode(bytes, file: "fuzz.veilstate")
        } catch {
            return
        }
        let encoded = StateCodec.encode(state)
        let again: AggregateState
        do throws(VeilError) {
            again = try StateCodec.decode(encoded, file: "re-encoded.veilstate")
        } catch {
            preconditionFailure("a decoded state encodes to bytes that do not decode: \(error.message)")
        }
        precondition(StateCodec.encode(again) == encoded, "encode(decode(encode(s))) differs from encode(s)")

        var merged = AggregateState(configuration: state.configuration)
        do throws(VeilError) {
            try merged.merge(state)
            try merged.merge(AggregateState(configuration: state.configuration))
        } catch {
            preconditionFailure("merging a decoded state into an empty one failed: \(error.message)")
        }
        if state.inputs.isEmpty {
            // No input fingerprints: merge accepts the state with itself (counts double).
            var twice = state
            try? twice.merge(state)
        }
        if var release = try? Release(state: state, configuration: ReleaseConfiguration()) {
            _ = try? release.tables()
        }
        // `veil report --dp-epsilon 1` with every table.
        if var dp = try? DPRelease(state: state, parameters: DPParameters(epsilon: PrivacyAmount(units: 1_000_000_000)))
        {
            _ = dp.tables(noiseKey: DPNoiseKey(bytes: [UInt8](repeating: 7, count: 32)), releaseID: "fuzz")
        }
    }
}
