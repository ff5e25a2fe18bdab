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
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // Hourly drift windows, so that the 3000 events (about eight hours) close several.
            topology.drift?.windowLength = 3_600_000
            let events = try RuntimeFixture.transactions(3000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            // One source partition: the run sees the events in file order, as the replay does.
            try admin.createTopics([NewTopic(name: topology.source.topics[0], partitions: 1)])
            try RuntimeFixture.produce(events, to: topology.source.topics[0])

            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let server = try MetricsServer(metrics: instance.runtime.metrics, address: ListenAddress(host: "127.0.0.1", port: 0))
            defer { server.stop() }
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            let metrics = try HTTPTestClient.get("/metrics", port: server.address.port)
            instance.stop()
            // What /metrics says agrees with what came out.
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("vigil_events_out_total \(events.count)\n"), "\(metrics.body.prefix(2000))")
            #expect(metrics.body.contains("vigil_state_keys{stage=\"customer\"}"))
            #expect(metrics.body.contains("vigil_commit_duration_seconds_count"))
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

            // Drift: the windows the run closed, record for record as a replay's monitor emits them.
            let expectedDrift = try RuntimeFixture.replayDriftLines(topology, events)
            #expect(expectedDrift.count >= 3, "the fixture spans several hourly windows")
            let drift = try RuntimeFixture.readValues(topology.outputs.driftTopic, count: expectedDrift.count)
            #expect(drift == expectedDrift)
        }
    }
}
