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

    /// Records of local deliveries carry the source offsets their transaction consumed up to;
    /// checkpoints carry them too, and read back as written (older checkpoints have none).
    @Test func sourceOffsetTagsAndCheckpointsReadBackAsWritten() throws {
        #expect(RecordHeaders.encodeOffsets([3: 72, 0: 150]) == "0:150,3:72")
        #expect(RecordHeaders.decodeOffsets("0:150,3:72") == [0: 150, 3: 72])
        #expect(RecordHeaders.decodeOffsets("") == [:])
        #expect(RecordHeaders.decodeOffsets("0:150,x") == nil && RecordHeaders.decodeOffsets("0:a") == nil)
        let tagged = Checkpoint(segment: 1, stateOffset: 40, changelogOffsets: [1: 900], sourceOffsets: [0: 150, 1: 7])
        #expect(String(decoding: tagged.encoded, as: UTF8.self) == "v1 segment=1 offset=40 1:900 sources=0:150,1:7")
        #expect(Checkpoint(decoding: tagged.encoded) == tagged)
        let plain = Checkpoint(segment: 0, stateOffset: 12, changelogOffsets: [0: 5])
        #expect(String(decoding: plain.encoded, as: UTF8.self) == "v1 segment=0 offset=12 0:5")
        #expect(Checkpoint(decoding: plain.encoded) == plain)
        #expect(Checkpoint(decoding: Array("v1 segment=1 offset=40 1:900 sources=0:x".utf8)) == nil)
    }
}
