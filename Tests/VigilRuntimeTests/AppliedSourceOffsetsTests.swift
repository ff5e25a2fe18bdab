import Testing
@testable import VigilRuntime

/// The guard against copies of applied events on a repartition topic.
struct AppliedSourceOffsetsTests {
    @Test func anEventAtOrBelowTheMarkOfItsSourcePartitionIsACopy() throws {
        var applied = AppliedSourceOffsets()
        // (partition, offset, whether it is new), in arrival order.
        let arrivals: [(Int32, Int64, Bool)] = [(0, 10, true), (1, 3, true), (0, 11, true), (0, 11, false), (0, 5, false), (1, 3, false), (0, 12, true)]
        for (partition, offset, new) in arrivals {
            let applies = applied.apply(partition: partition, offset: offset)
            #expect(applies == new, "source \(partition)@\(offset)")
        }
        let decoded = try AppliedSourceOffsets(decoding: applied.encoded)
        #expect(decoded == applied)
        #expect(decoded.offsets == [0: 12, 1: 3])
        #expect(throws: (any Error).self) { try AppliedSourceOffsets(decoding: applied.encoded + [0]) }
        #expect(throws: (any Error).self) { try AppliedSourceOffsets(decoding: Array(applied.encoded.dropLast())) }
    }
}
