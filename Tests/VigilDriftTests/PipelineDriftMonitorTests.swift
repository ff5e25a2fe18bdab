import Foundation
import Testing
import VigilDrift
import VigilPipeline
import VigilTopology

/// ``PipelineDriftMonitor`` as the runtime drives it: live events of each batch in order, the
/// watched columns picked by the profile's names, categorical values by their text, and a
/// checkpoint restored when a transaction aborts.
@Suite struct PipelineDriftMonitorTests {
    static let hour: Int64 = 3_600_000
    static let yaml = """
        name: t
        source:
          topics: [in]
          format: json
          key: k
          timestamp: {field: ts, format: epoch_millis}
          fields: {k: string, ts: int, x: double, c: int}
          limits: {not_before: none}   # the events are days after the epoch
        stages:
          - name: s
            key: k
            features:
              - {name: m, kind: mean, field: x, window: 1h}
        drift:
          profile: profile.json
          window: 1h
          features: [m, c, x]
          categorical: [c]
          min_count: 10
        """

    /// Events of hour `hour`: x = 0..<count shifted by `shift`, c cycling over 0, 1, 2 (3 when `newCategory`).
    static func batch(_ pipeline: Pipeline, hour: Int64, count: Int, shift: Double = 0, newCategory: Bool = false) -> EventBatch {
        var batch = pipeline.makeBatch()
        let decoder = pipeline.makeDecoder()
        for index in 0..<count {
            let category = newCategory && index % 2 == 0 ? 3 : index % 3
            let json = #"{"k": "k\#(index % 7)", "ts": \#(hour * Self.hour + Int64(index) * 1000), "x": \#(Double(index) + shift), "c": \#(category)}"#
            let rejection = Array(json.utf8).withUnsafeBufferPointer {
                decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: Int64(index)), to: &batch)
            }
            precondition(rejection == nil, "\(rejection!)")
        }
        _ = pipeline.process(&batch)
        return batch
    }

    static func setUp() throws -> (folder: String, topology: Topology, pipeline: Pipeline) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pipeline-drift-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let unchecked = try TopologyLoader.load(yaml: yaml, file: "t.yaml", directory: folder, requireDriftProfile: false)
        let pipeline = try Pipeline(topology: unchecked)
        var builder = try PipelineProfileBuilder(topology: unchecked, configuration: .init(sketchResolution: 100))
        builder.add(batch(pipeline, hour: 0, count: 600), scores: [])
        let profile = try builder.build()
        #expect(profile.numericFeatures == ["m", "x"] && profile.categoricalFeatures == ["c"] && profile.score == nil)
        #expect(profile.categorical[0].categories == ["0", "1", "2"] && profile.eventCount == 600)
        try profile.encodedJSON().write(to: URL(fileURLWithPath: folder + "/profile.json"))
        let topology = try TopologyLoader.load(yaml: yaml, file: "t.yaml", directory: folder)
        return (folder, topology, try Pipeline(topology: topology))
    }

    @Test func observesLiveEventsAndRestoresACheckpoint() throws {
        let (folder, topology, pipeline) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var monitor = try #require(try PipelineDriftMonitor.load(topology: topology))
        #expect(monitor.topic == "t.drift")

        var first = Self.batch(pipeline, hour: 1, count: 300, shift: 400, newCategory: true)
        for index in 0..<50 { first.reject(index, Rejection(stage: "s", reason: "late")) }
        #expect(monitor.observe(first, scores: []).isEmpty)

        // A transaction opens, a batch of the next hour closes hour 1, the transaction aborts.
        let saved = monitor.checkpoint()
        let second = Self.batch(pipeline, hour: 2, count: 100)
        let emitted = monitor.observe(second, scores: [])
        #expect(emitted.count == 1)
        monitor.restore(saved)
        // Rewound and processed again: the same record and alerts.
        let again = monitor.observe(second, scores: [])
        #expect(again == emitted)

        let record = try #require(again.first?.record)
        #expect(record.windowStartMs == Self.hour && record.windowEndMs == 2 * Self.hour)
        #expect(record.count == 250)  // rejected events are not watched
        #expect(record.numeric.map(\.feature) == ["m", "x"] && record.categorical.map(\.feature) == ["c"])
        let x = record.numeric[1]
        #expect(x.count == 250 && x.min == 450 && x.max == 699)
        // Every other event has the category 3, unseen in the profile.
        let c = record.categorical[0]
        #expect(c.unseenShare == 0.5 && c.severity == .major)
        #expect(Set(again[0].alerts.map(\.feature)) == ["m", "x", "c"])
        let lines = try again[0].jsonLines().map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.count == 4 && lines[0].contains(#""type":"drift""#) && lines[1...].allSatisfy { $0.contains(#""type":"drift_alert""#) })

        let last = monitor.flush()
        #expect(last.count == 1 && last[0].record.count == 100 && last[0].record.numeric[1].max == 99)
        #expect(monitor.flush().isEmpty)
    }

    @Test func eventsBeforeFromAreSkipped() throws {
        let (folder, topology, pipeline) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var monitor = try #require(try PipelineDriftMonitor.load(topology: topology))
        let batch = Self.batch(pipeline, hour: 5, count: 200)
        #expect(monitor.observe(batch, scores: [], from: 5 * Self.hour + 150_000).isEmpty)
        #expect(monitor.flush().first?.record.count == 50)
    }
}
