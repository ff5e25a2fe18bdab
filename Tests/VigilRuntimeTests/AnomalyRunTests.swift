import Foundation
import Testing
import VigilCodec
import VigilKafka
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// The sensor-anomaly topology (a pca_baseline detector per experiment) in `vigil run`'s
/// runtime against the broker: its detectors' state goes to the changelog and snapshots like
/// any feature's, so an instance that takes over mid-stream restores it and scores every
/// later reading as a replay of the whole stream does.
@Suite(.serialized)
struct AnomalyRunTests {
    /// SKAB rows of three experiment files, round-robin (each key mid-baseline or mid-stream
    /// at any point), as comma-separated lines in the topology's field order.
    static func rows(_ files: [String], topology: Topology) throws -> [(id: String, customer: String, line: String)] {
        var perFile: [[(String, String, String)]] = []
        for file in files {
            let reader = CSVReader(source: try FileByteReader(path: RepositoryFiles.skab + "/\(file).csv"), delimiter: UInt8(ascii: ";"))
            guard try reader.next() else { throw FixtureError("\(file) is empty") }
            let header = reader.strings()
            var lines: [(String, String, String)] = []
            while try reader.next() {
                let fields = topology.source.fields.map { field in field.name == "experiment" ? file : reader.string(header.firstIndex(of: field.name)!) }
                lines.append(("\(file),\(fields[1])", file, fields.joined(separator: ",")))
            }
            perFile.append(lines)
        }
        var result: [(id: String, customer: String, line: String)] = []
        for index in 0..<(perFile.map(\.count).max() ?? 0) {
            for lines in perFile where index < lines.count { result.append(lines[index]) }
        }
        return result
    }

    @Test func aDetectorRunsLiveAndATakeoverRestoresItAsAReplayScores() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("anomaly")
            var topology = try TopologyLoader.load(path: RepositoryFiles.sensorAnomalyTopology).renamed(name, sourceTopics: ["\(name).rows"])
            topology.outputs.includeFeatures = true
            topology.source.delimiter = UInt8(ascii: ",")
            let events = try Self.rows(["valve1/1", "valve2/2", "other/3"], topology: topology)
            #expect(events.count > 3000)
            let source = topology.source.topics[0]
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 1)])
            let layout = RowLayout(topology: topology)
            #expect(layout.featureNames == ["ANOMALY", "ANOMALY_T2", "ANOMALY_Q"])

            // The first 2,000 readings (each key past its 400-reading baseline) on one instance...
            let half = 2000
            try RuntimeFixture.produce(Array(events[..<half]), to: source)
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", snapshotInterval: .milliseconds(300))
            _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: half)
            first.stop()
            #expect(first.failure == nil, "\(String(describing: first.failure))")
            // ...the rest on a new one, which restores the detectors' state from the changelog.
            try RuntimeFixture.produce(Array(events[half...]), to: source)
            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "b")
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            second.stop()
            #expect(second.failure == nil, "\(String(describing: second.failure))")
            #expect(second.runtime.statistics.restoredRecords >= 3, "three keys' state restored from the changelog")

            #expect(scores.count == events.count)
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "every reading scored once")
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) readings scored differently from a replay, e.g. \(mismatched.sorted().prefix(3))")
            // The detector scored: past the baselines, the alarms of the labelled anomalies.
            let late = scores.filter { !$0.features[1].isNaN }
            #expect(late.count >= events.count - 3 * 400)
            #expect(late.contains { $0.features[3] >= 0.5 } && late.contains { $0.features[3] < 0.5 })
            #expect(second.runtime.statistics.deadLettered == 0 && first.runtime.statistics.deadLettered == 0)
        }
    }
}
