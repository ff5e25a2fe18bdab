import Foundation
import Testing
import VigilKafka
@testable import VigilRuntime
import VigilTestSupport

/// The state budget (`processing.max_keys`) under `vigil run`, against the real broker: keys
/// beyond it are evicted least recently seen first, counted in `vigil_keys_evicted_total`, and
/// leave a tombstone in the changelog, so that a restore does not bring them back. Memory under
/// a key explosion is measured in bench/ (KeyExplosionBench), not here.
@Suite(.serialized)
struct StateBudgetTests {
    @Test func keysBeyondMaxKeysAreEvictedCountedAndTombstoned() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("budget")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // The customer stage only, two keys at most.
            topology.stages = [topology.stages[0]]
            topology.stages[0].features = topology.stages[0].features.filter { $0.name.hasSuffix("1DAY_WINDOW") }
            topology.model = nil
            topology.drift = nil
            topology.processing.maxKeys = 2
            let plan = try TopicPlan(topology: topology)
            let source = topology.source.topics[0]
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            // Customers 1..5 once each, then 4 again: 1, 2 and 3 are evicted (three evictions);
            // 4's second event finds its state (no eviction), 5 is still held.
            let customers = [1, 2, 3, 4, 5, 4]
            let lines = customers.enumerated().map { index, customer in
                (id: String(index + 1), customer: String(customer), line: "\(index + 1),2018-04-01 00:00:0\(index),\(customer),1,10.0,0")
            }
            try RuntimeFixture.produce(lines, to: source)
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: Int64(lines.count))
            instance.stop()
            #expect(instance.runtime.metrics.keysEvicted.value == 3)
            #expect(instance.runtime.metrics.registry.render().contains("vigil_keys_evicted_total 3\n"))
            var last: [String: Bool] = [:]
            try PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger).read([TopicPartition(plan.changelogTopics[0], 0): KafkaOffset.beginning]) { message in
                guard let key = message.key, key.first != 0 else { return }
                last[String(decoding: key, as: UTF8.self)] = message.value != nil
            }
            #expect(last == ["1": false, "2": false, "3": false, "4": true, "5": true], "the last changelog record of each customer: \(last)")
        }
    }
}
