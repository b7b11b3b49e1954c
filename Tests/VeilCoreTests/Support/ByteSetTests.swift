import Testing

@testable import VeilCore

@Suite("ByteSet: a set of byte values")
struct ByteSetTests {
    @Test("membership equals a Set<UInt8> for values in each of the four words; all and isFull")
    func membership() {
        let members: [UInt8] = [0, 1, 47, 63, 64, 99, 127, 128, 191, 192, 200, 255]
        var s = ByteSet()
        #expect((0...255).allSatisfy { !s.contains(UInt8($0)) })
        for b in members { s.insert(b) }
        let reference = Set(members)
        for b in 0...255 { #expect(s.contains(UInt8(b)) == reference.contains(UInt8(b)), "\(b)") }
        #expect(!s.isFull)
        #expect(ByteSet.all.isFull && (0...255).allSatisfy { ByteSet.all.contains(UInt8($0)) })
        var every = ByteSet()
        for b in 0...255 { every.insert(UInt8(b)) }
        #expect(every.isFull)
    }
}
