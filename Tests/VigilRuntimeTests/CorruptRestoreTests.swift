import Foundation
import Testing
import VigilFeatures
import VigilKafka
import VigilPipeline
import VigilRuntime

/// A corrupt changelog record met during restore is reported with the record's place
/// (topic/partition@offset), what is wrong with it and what to do; it never crashes the
/// instance and never starts the partition with a silently empty state.
@Suite(.serialized)
struct CorruptRestoreTests {
    @Test func aCorruptChangelogRecordHoldsThePartitionNamingItsPlace() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("corrupt")
            let topology = try RuntimeFixture.topology(name: name, lateness: 7 * 86_400_000)
            let source = topology.source.topics[0]
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            let events = try RuntimeFixture.transactions(50)
            try RuntimeFixture.produce(events, to: source)
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            first.stop()
            #expect(first.failure == nil)

            // A record of the customer stage's changelog that reflects committed input (its
            // state offset is below the committed one) but whose state is garbage.
            let changelog = "\(name).changelog.customer"
            let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
            try producer.send(ProducerRecord(topic: changelog, partition: 0, key: Array("596".utf8), value: [0x10, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF],
                                             headers: [KafkaHeader(RecordHeaders.stateOffset, "1")]))
            try producer.flush()
            let corruptOffset = try RuntimeFixture.endOffset(of: TopicPartition(changelog, 0)) - 1

            // The instance keeps running, the partition stays paused (no state is made up), and
            // /health says which record and why, while the restore is retried with a backoff.
            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            try RuntimeFixture.waitUntil { second.runtime.metrics.health.unhealthyReason != nil || second.failure != nil }
            let reason = second.runtime.metrics.health.unhealthyReason ?? ""
            let more = try RuntimeFixture.transactions(60).suffix(10)
            try RuntimeFixture.produce(Array(more), to: source)
            let scoredBefore = second.runtime.statistics.scored
            second.stop()
            #expect(second.failure == nil, "\(String(describing: second.failure))")
            #expect(reason.contains("\(changelog)/0@\(corruptOffset)"), "\(reason)")
            #expect(reason.contains("state record of 8 bytes cannot be restored: "), "\(reason)")
            #expect(reason.contains("new name"), "what to do: \(reason)")
            #expect(scoredBefore == 0, "the partition was processed without its state")
        }
    }
}
