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
            try write(first, slot: 0, from: -1, to: 10, commit: true)
            try write(aborted, slot: 1, from: 10, to: 20, commit: false)
            try write(retried, slot: 1, from: 10, to: 18, commit: true)

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
            // The next record takes the place after the highest read.
            #expect(done.nextEventSlot == 2)

            let restoredEngine = try #require(store[0]).engines[stage]
            #expect(Set(restoredEngine.allKeys) == Set(engine.allKeys))
            for key in engine.allKeys { #expect(restoredEngine.snapshot(key: key) == engine.snapshot(key: key), "key \(key)") }
            #expect(restorer.restoredRecords == 2)
        }
    }
}
