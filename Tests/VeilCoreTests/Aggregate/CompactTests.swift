import Foundation
import Testing

@testable import VeilCore

/// `AggregateState.compact(threads:)`: the threads share the cells out, and the state is the
/// same whatever their number.
@Suite("Compacting a state's sketches on several threads")
struct CompactTests {
    /// A state straight from counting (not compacted): 2,400 distinct pages, each seen by a
    /// few of 90 visitors over a day, so several thousand cells hold sketches with entries
    /// still in their insert tables.
    static func uncompacted(_ ws: StateTestWorkspace) throws -> AggregateState {
        var rng = StateTestRNG(seed: 41)
        let start = StateTestKit.time(2026, 11, 28, 0)
        var requests: [StateTestRequest] = []
        for i in 0..<9_000 {
            let v = rng.int(90)
            requests.append(
                StateTestRequest(
                    ip: StateTestKit.address(v),
                    userAgent: StateTestKit.humanAgents[v % StateTestKit.humanAgents.count],
                    time: start + Int64(i) * 9, path: "/guide/" + Self.word(rng.int(2_400))))
        }
        let path = try ws.write(requests.map(\.line), name: "items.log")
        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(path: path, configuration: StateTestKit.combined, sink: &aggregator)
        return aggregator.state
    }

    /// `n` in letters (`a`, `b`, ..., `ba`, ...): paths the redactor keeps as they are (it
    /// masks number-like segments).
    static func word(_ n: Int) -> String {
        var n = n
        var letters: [Character] = []
        repeat {
            letters.append(Character(UnicodeScalar(UInt8(97 + n % 26))))
            n /= 26
        } while n > 0
        return String(letters.reversed())
    }

    static func isCompact(_ s: AggregateState) -> Bool {
        s.cells.allSatisfy { $0.visitors.isCompact && $0.clients.isCompact }
    }

    @Test("1, 2, 3 and 8 threads compact every cell and leave the same state as one thread", arguments: [1, 2, 3, 8])
    func sameStateOnAnyThreads(threads: Int) throws {
        let ws = try StateTestWorkspace()
        let counted = try Self.uncompacted(ws)
        // Enough cells for 8 threads (runs of 64, at least 4 runs per thread), most not compact.
        #expect(counted.cellCount >= 8 * 4 * 64)
        #expect(counted.cells.filter { !$0.visitors.isCompact }.count > counted.cellCount / 2)

        var one = counted
        one.compact(threads: 1)
        var many = counted
        many.compact(threads: threads)
        #expect(Self.isCompact(one) && Self.isCompact(many))
        #expect(many.cells == one.cells)
        #expect(StateTestKit.encodeIgnoringInputs(many) == StateTestKit.encodeIgnoringInputs(one))
        // The state compacted was a copy: the counted one still has its insert tables.
        #expect(!Self.isCompact(counted))
        // And compacting changes no estimate.
        for (a, b) in zip(counted.cells, many.cells) where a.visitors.estimate != b.visitors.estimate {
            Issue.record("a cell's visitor estimate changed")
            break
        }
    }

    @Test("a state with fewer cells than a thread's share is compacted on the calling thread alone")
    func smallStates() throws {
        let ws = try StateTestWorkspace()
        let lines = (0..<40).map {
            StateTestRequest(
                ip: StateTestKit.address($0), userAgent: StateTestKit.firefox,
                time: StateTestKit.time(2026, 11, 28, 12) + Int64($0), path: "/p\($0 % 7)"
            ).line
        }
        var aggregator = try Aggregator(configuration: AggregationConfiguration(), pseudonymizer: ws.pseudonymizer())
        _ = try Ingest.run(
            path: try ws.write(lines, name: "small.log"), configuration: StateTestKit.combined, sink: &aggregator)
        var s = aggregator.state
        #expect(s.cellCount < 4 * 64)
        s.compact(threads: 4)
        #expect(Self.isCompact(s))
        #expect(s.cells == aggregator.state.cells)
    }
}
