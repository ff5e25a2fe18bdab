import Foundation
import Testing
import VigilFeatures
import VigilKafka
import VigilTopology
@testable import VigilRuntime
import VigilTestSupport

/// The state budgets (`processing.max_keys`, `processing.max_state_bytes`) under `vigil run`,
/// against the real broker: keys beyond them are evicted least recently seen first, counted in
/// `vigil_keys_evicted_total`, and leave a tombstone in the changelog, so that a restore does not
/// bring them back. Memory under a key explosion is measured in bench/ (KeyExplosionBench), not here.
@Suite(.serialized)
struct StateBudgetTests {
    @Test func keysBeyondMaxKeysAreEvictedCountedAndTombstoned() async throws {
        try await Self.runFiveCustomers { $0.processing.maxKeys = 2 }
    }

    /// The byte budget, set to hold two one-event customers and not three, evicts the same keys
    /// as `max_keys: 2`, and the bytes it counts are published per stage.
    @Test func keysBeyondMaxStateBytesAreEvictedCountedAndTombstoned() async throws {
        try await Self.runFiveCustomers(checkingBudgetedBytes: true) { topology in
            // A one-event customer's charge, from an engine of the same stage and bounds.
            let engine = FeatureEngine(stage: topology.stages[0], configuration: FeatureEngine.Configuration(processing: topology.processing))
            var inputs = [Double](repeating: 10, count: engine.inputNames.count), features = [Double](repeating: 0, count: engine.featureNames.count)
            inputs.withUnsafeBufferPointer { inputs in
                features.withUnsafeMutableBufferPointer { features in _ = engine.process(key: .int(1), time: 1_000, inputs: inputs, into: features) }
            }
            let charge = engine.stateBytes
            #expect(charge > 0)
            topology.processing.maxStateBytes = 2 * charge + charge / 2
        }
    }

    /// Customers 1..5 once each, then 4 again, through the customer stage alone under the
    /// budget `configure` sets, which must hold two of them.
    static func runFiveCustomers(checkingBudgetedBytes: Bool = false, _ configure: @escaping @Sendable (inout Topology) -> Void) async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("budget")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            topology.stages = [topology.stages[0]]
            topology.stages[0].features = topology.stages[0].features.filter { $0.name.hasSuffix("1DAY_WINDOW") }
            topology.model = nil
            topology.drift = nil
            // The tombstones are `key_states` records (with `events` an eviction is a removal in
            // the stage's events record: OperationLogTests).
            topology.processing.changelog = .keyStates
            configure(&topology)
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
            var (records, bytes) = (0, 0)
            try PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger).read([TopicPartition(plan.changelogTopics[0], 0): KafkaOffset.beginning]) { message in
                guard let key = message.key, key.first != 0 else { return }
                last[String(decoding: key, as: UTF8.self)] = message.value != nil
                records += 1
                bytes += message.value?.count ?? 0
            }
            #expect(last == ["1": false, "2": false, "3": false, "4": true, "5": true], "the last changelog record of each customer: \(last)")
            // What the statistics say the changelog cost (the bench's bytes an event) is what it holds.
            let statistics = instance.runtime.statistics
            #expect(statistics.snapshotsWritten == 0 && statistics.transactionsAborted == 0)
            #expect(statistics.changelogRecords == records && statistics.changelogBytes == bytes && bytes > 0, "\(statistics.changelogRecords) records, \(statistics.changelogBytes) bytes counted; \(records), \(bytes) in the topic")
            if checkingBudgetedBytes, let budget = topology.processing.maxStateBytes {
                let line = instance.runtime.metrics.registry.render().split(separator: "\n").first { $0.hasPrefix("vigil_state_budgeted_bytes{") }
                let bytes = try #require(line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) })
                // Two customers held: within the budget, and more than one customer's charge.
                #expect(bytes <= budget && bytes * 5 > budget * 2, "\(line ?? "no gauge")")
            }
        }
    }
}
