import Testing
@testable import VigilRuntime

/// The chain of events records a restore replays (`processing.changelog: events`), as data: on
/// a broker that shows aborted records, a record whose input the next one covers again is left
/// out; on any broker, a record starting before what the state reflects is.
@Suite struct EventChainTests {
    static func record(_ from: Int64, _ to: Int64, _ tag: UInt8) -> EventChain.Record {
        EventChain.Record(from: from, to: to, value: [tag], place: "changelog/0@\(tag)")
    }

    /// Feeds records in log order; returns the tags applied, in order, and the tags passed over.
    static func run(_ records: [(EventChain.Record, Int)], position: Int64? = nil) -> (applied: [UInt8], passedOver: [UInt8], chain: EventChain) {
        var chain = EventChain(position: position)
        var applied: [UInt8] = [], passedOver: [UInt8] = []
        for (record, slot) in records {
            let step = chain.next(record, slot: slot)
            if let record = step.apply { applied += record.value }
            for record in [step.aborted, step.stale].compactMap({ $0 }) { passedOver += record.value }
        }
        if let record = chain.flush() { applied += record.value }
        return (applied, passedOver, chain)
    }

    @Test func committedRecordsAreAppliedInOrder() {
        let result = Self.run([(Self.record(0, 10, 1), 0), (Self.record(10, 25, 2), 1), (Self.record(25, 26, 3), 2)])
        #expect(result.applied == [1, 2, 3])
        #expect(result.passedOver.isEmpty)
        #expect(result.chain.position == 26)
        #expect(result.chain.highestSlot == 2)
    }

    @Test func aRecordCoveredAgainByTheNextWasAborted() {
        // 10..<20 aborted, retried as 10..<20 and aborted again, then committed as 10..<18.
        let result = Self.run([(Self.record(0, 10, 1), 0), (Self.record(10, 20, 2), 1), (Self.record(10, 20, 3), 1), (Self.record(10, 18, 4), 1),
                               (Self.record(18, 30, 5), 2)])
        #expect(result.applied == [1, 4, 5])
        #expect(result.passedOver == [2, 3])
        #expect(result.chain.position == 30)
    }

    @Test func nothingIsAppliedBeforeTheNextRecordOrTheEndConfirmsIt() {
        var chain = EventChain(position: 100)
        #expect(chain.next(Self.record(100, 110, 1), slot: 0) == EventChain.Step())
        #expect(chain.pending?.value == [1])
        #expect(chain.position == 100)
        let step = chain.next(Self.record(110, 120, 2), slot: 1)
        #expect(step.apply?.value == [1])
        #expect(chain.position == 110)
        #expect(chain.flush()?.value == [2])
        #expect(chain.flush() == nil)
        #expect(chain.position == 120)
    }

    @Test func aRecordBeforeWhatTheSnapshotReflectsIsLeftOut() {
        // The snapshot reflects input below 50: a record of 40..<50 shown after it is stale.
        let result = Self.run([(Self.record(40, 50, 1), 3), (Self.record(50, 60, 2), 0)], position: 50)
        #expect(result.applied == [2])
        #expect(result.passedOver == [1])
        #expect(result.chain.highestSlot == 3)
    }
    @Test func aRecordStraddlingWhereTheStateStandsIsNotSkipped() {
        // The state stands at 20 (a snapshot's); a record of 10..<30 cannot build on it.
        var chain = EventChain(position: 20)
        let step = chain.next(Self.record(10, 30, 1), slot: 0)
        #expect(step.straddles?.value == [1])
        #expect(step.stale == nil && step.apply == nil)
        #expect(chain.flush() == nil)
    }
    @Test func aGapInTheInputIsTakenAsItComes() {
        // 10..<15 wrote no events record (its stage fell back to key states): the chain goes on.
        let result = Self.run([(Self.record(0, 10, 1), 0), (Self.record(15, 20, 2), 1)])
        #expect(result.applied == [1, 2])
        #expect(result.chain.position == 20)
    }
}
