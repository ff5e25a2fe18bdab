import Foundation
import Testing
import VigilKafka
import VigilPipeline
import VigilRuntime
import VigilTopology

/// The runtime against the real broker. Serialized: each test runs instances and group joins.
@Suite(.serialized)
struct StreamRuntimeTests {
    @Test func cardFraudRunEqualsReplayOnTheSameEvents() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("e2e")
            let topology = try RuntimeFixture.topology(name: name, lateness: 0)
            let events = try RuntimeFixture.transactions(3000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            // One source partition: the run sees the events in file order, as the replay does.
            try admin.createTopics([NewTopic(name: topology.source.topics[0], partitions: 1)])
            try RuntimeFixture.produce(events, to: topology.source.topics[0])

            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            instance.stop()
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")

            let expected = try RuntimeFixture.replayFeatures(topology, events)
            #expect(scores.count == events.count)
            #expect(scores.allSatisfy { $0.features.count == layout.featureNames.count + 1 }, "every record carries a score")
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            var mismatches = 0
            for record in scores {
                guard let reference = expected[record.id] else { mismatches += 1; continue }
                for (a, b) in zip(record.features, reference) where !(abs(a - b) <= 1e-9 || (a.isNaN && b.isNaN)) { mismatches += 1 }
            }
            #expect(mismatches == 0)
            #expect(instance.runtime.statistics.deadLettered == 0)
        }
    }
}
