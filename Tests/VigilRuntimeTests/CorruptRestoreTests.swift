import Foundation
import Testing
import VigilFeatures
import VigilKafka
import VigilPipeline
import VigilRuntime

/// A corrupt changelog record met during restore stops the instance with an error naming the
/// record (topic/partition@offset), what is wrong with it and what to do; it never crashes and
/// never starts the partition with a silently empty state.
@Suite(.serialized)
struct CorruptRestoreTests {
    @Test func aCorruptChangelogRecordStopsTheRestoreNamingItsPlace() async throws {
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

            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            try RebalanceAndDeadLetterTests.waitUntil { second.failure != nil }
            second.stop()
            let failure = try #require(second.failure)
            let record = try #require(failure as? RecordError, "\(failure)")
            #expect(record.topic == changelog && record.partition == 0 && record.offset == corruptOffset)
            let text = "\(failure)"
            #expect(text.hasPrefix("\(changelog)/0@\(corruptOffset): state record of 8 bytes cannot be restored: "), "\(text)")
            #expect(text.contains("vigil run --group"), "what to do: \(text)")
            #expect(record.underlying is StateSnapshotError)
        }
    }
}
