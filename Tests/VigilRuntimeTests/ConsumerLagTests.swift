import Testing
import VigilKafka
import VigilTestSupport
@testable import VigilRuntime

@Suite(.serialized)
struct ConsumerLagTests {
    /// Lag comes from the consumer's own fetches: end of partition minus the position given.
    @Test func lagIsTheFetchedEndMinusThePosition() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("lag", partitions: 2)
            try TestBroker.produce((0..<10).map { ProducerRecord(topic: topic, partition: 0, value: Array("v\($0)".utf8)) })
            let consumer = try Consumer(
                configuration: ConsumerConfiguration(kafka: TestBroker.kafka, groupID: TestBroker.unique("lag")), logger: TestBroker.logger)
            defer { try? consumer.close() }
            let p0 = TopicPartition(topic, 0)
            let p1 = TopicPartition(topic, 1)
            try consumer.assign([p0: KafkaOffset.beginning])
            var seen = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while seen < 10, ContinuousClock.now < deadline { seen += try consumer.poll(timeout: .milliseconds(200)).count }
            #expect(seen == 10)

            let metrics = RuntimeMetrics()
            metrics.updateConsumerLag(consumer, positions: [p0: 4, p1: 0])
            #expect(metrics.consumerLag(topic: topic, partition: 0).value == 6)
            // Partition 1 was never fetched: its end is unknown, so no series.
            #expect(!metrics.registry.render().contains("partition=\"1\""))
            metrics.removeConsumerLag([p0])
            #expect(!metrics.registry.render().contains(topic))
        }
    }
}
