import Foundation
import Testing
import VigilFeatures
import VigilKafka
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// `processing.changelog: events`: a restore replays the events records after the snapshot in
/// order, through the stage, and leaves out a record whose transaction was aborted. A
/// read_committed read on Kafka never shows one; the test broker shows some (not this one, in
/// the runs so far: a build that applied aborted records passed this test too), so leaving them
/// out by the chain of input offsets is tested without a broker, in `EventChainTests`.
@Suite(.serialized)
struct EventsChangelogRestoreTests {
    /// Three transactions write stage 0's events records: committed (input 0..<10), aborted
    /// (10..<20), and its retry, committed (10..<18). The restored stage equals the one that
    /// lived through the first and the third, key by key and bit for bit.
    @Test func aRestoreReplaysTheCommittedEventsRecordsAndNotAnAbortedOne() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("events")
            let topology = try TopologyLoader.load(path: try RuntimeFixture.topologyFile(name: name, lateness: "2d", changelog: .events))
            let plan = try TopicPlan(topology: topology)
            let stage = plan.segments[0].stages[0]
            let changelog = plan.changelogTopics[stage]
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
                .createTopics([NewTopic(name: changelog, partitions: 1), NewTopic(name: plan.checkpointTopic, partitions: 1)])

            // The live stage: three batches, the second rolled back.
            let live = try Pipeline(topology: topology, kernel: nil, recordsUndo: true)
            let engine = live.engines[stage]
            var time: Int64 = 1_700_000_000_000
            func batch(_ events: Int, keep: Bool) -> [UInt8] {
                engine.beginBatch()
                var inputs = [Double](repeating: 0, count: max(1, engine.inputNames.count))
                var features = [Double](repeating: 0, count: engine.featureNames.count)
                for index in 0..<events {
                    time += 60_000
                    for column in inputs.indices { inputs[column] = Double((index * 37 + column) % 500) / 3 }
                    _ = inputs.withUnsafeBufferPointer { inputs in
                        features.withUnsafeMutableBufferPointer { engine.process(key: .int(Int64(index % 7)), time: time, inputs: inputs, into: $0) }
                    }
                }
                let operations = engine.withOperations { Array($0) }
                if keep { engine.commitBatch() } else { engine.rollbackBatch() }
                return operations
            }
            let first = batch(40, keep: true)
            let aborted = batch(25, keep: false)
            let retried = batch(30, keep: true)

            var configuration = ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: RuntimeFixture.unique("events-writer"))
            configuration.linger = .zero
            let writer = try TransactionalProducer(configuration: configuration, logger: RuntimeFixture.logger)
            defer { writer.close() }
            try writer.initTransactions()
            func write(_ operations: [UInt8], slot: Int, from: Int64, to: Int64, commit: Bool) throws {
                try writer.beginTransaction()
                try writer.send(ProducerRecord(topic: changelog, partition: 0, key: ChangelogWriter.eventsKey(slot: slot), value: operations,
                                               headers: ChangelogWriter.headers(stateOffset: to, sourceOffsets: [:]) + [KafkaHeader(RecordHeaders.eventsFrom, String(from))]))
                if commit { try writer.commitTransaction() } else { try writer.abortTransaction() }
            }
            try write(first, slot: 0, from: 0, to: 10, commit: true)
            try write(aborted, slot: 1, from: 10, to: 20, commit: false)
            try write(retried, slot: 1, from: 10, to: 18, commit: true)
            // A key's state past the committed offset, as a snapshot that did not commit leaves
            // on a broker that shows aborted records: not applied, and the partition is to be
            // snapshotted next.
            try writer.beginTransaction()
            try writer.send(ProducerRecord(topic: changelog, partition: 0, key: Array("3".utf8), value: engine.snapshot(key: .int(3)),
                                           headers: ChangelogWriter.headers(stateOffset: 25, sourceOffsets: [:])))
            try writer.commitTransaction()

            let store = PipelineStore(topology: topology) { nil }
            let input = TopicPartition(plan.segments[0].inputTopic, 0)
            let restorer = StateRestorer(
                plan: plan, topology: topology, partitionCount: 1, pipelines: store,
                context: StateRestorer.Context(
                    committed: { _ in [input: 18] },
                    makeReader: {
                        var configuration = ConsumerConfiguration(kafka: RuntimeFixture.kafka, groupID: RuntimeFixture.unique("events-restore"))
                        configuration.reportsPartitionEOF = true
                        configuration.offsetReset = .error
                        return try Consumer(configuration: configuration, logger: RuntimeFixture.logger)
                    }),
                checksSourceOffsets: TestBroker.showsAbortedRecords, metrics: RuntimeMetrics(), logger: RuntimeFixture.logger)
            restorer.enqueue([input])
            let clock = ContinuousClock()
            let end = clock.now + .seconds(30)
            var restored: [StateRestorer.Restored] = []
            while restored.isEmpty, clock.now < end { restored = restorer.step(until: clock.now + .milliseconds(200)) }
            #expect(restorer.lastFailure == nil, "\(restorer.lastFailure ?? "")")
            let done = try #require(restored.first)
            #expect(done.committed == 18)
            #expect(done.passedOverUnfinished)
            // The next record takes the place after the highest read.
            #expect(done.nextEventSlot == 2)

            let restoredEngine = try #require(store[0]).engines[stage]
            #expect(Set(restoredEngine.allKeys) == Set(engine.allKeys))
            for key in engine.allKeys { #expect(restoredEngine.snapshot(key: key) == engine.snapshot(key: key), "key \(key)") }
            #expect(restorer.restoredRecords == 2)
        }
    }
    /// A transaction whose events record would not fit the producer's record size writes that
    /// stage's touched keys' states instead; a second instance restores from the mix (no
    /// snapshot yet) and scores the next events as a replay of all of them does.
    @Test func anEventsRecordTooLargeForARecordFallsBackToKeyStates() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("events-large")
            let topology = try RuntimeFixture.topology(name: name, lateness: 0)
            #expect(topology.processing.changelog == .events)
            let events = try RuntimeFixture.transactions(2000)
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: topology.source.topics[0], partitions: 1)])
            try RuntimeFixture.produce(Array(events[..<1000]), to: topology.source.topics[0])
            let layout = RowLayout(topology: topology)
            // 4,000-byte records: events records of more than about 200 events do not fit.
            let small: (inout RuntimeOptions) -> Void = { $0.maxRecordBytes = 4_000 }
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", configure: small)
            _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: 1000)
            first.stop()
            let statistics = first.runtime.statistics
            #expect(first.failure == nil, "\(String(describing: first.failure))")
            // Whole states were written for the large transactions (one record per key touched).
            #expect(statistics.changelogRecords > 200, "\(statistics.changelogRecords) changelog records for \(statistics.transactionsCommitted) transactions")

            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "b", configure: small)
            try RuntimeFixture.produce(Array(events[1000...]), to: topology.source.topics[0])
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            second.stop()
            #expect(second.failure == nil, "\(String(describing: second.failure))")
            #expect(second.runtime.statistics.restoredRecords > 0)
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let later = Set(events[1000...].map(\.id))
            var compared = 0, mismatches = 0
            for record in scores where later.contains(record.id) {
                compared += 1
                guard let reference = expected[record.id] else { mismatches += 1; continue }
                for (a, b) in zip(record.features, reference) where !(abs(a - b) <= 1e-9 || (a.isNaN && b.isNaN)) { mismatches += 1 }
            }
            #expect(compared >= 1000 && mismatches == 0, "\(mismatches) mismatched features in \(compared) scores after the restore")
        }
    }
}
