import Foundation
import Testing
import VigilCodec
import VigilFeatures
import VigilPipeline
import VigilReplay
import VigilTopology

/// The card-fraud topology against the handbook's own features: all 67,240 reference rows ×
/// 14 features within 1e-6, computed by streaming every transaction from 2018-04-01.
@Suite(.serialized) struct CardFraudExactnessTests {
    static let referenceRows = 67_240

    @Test func pipelineReproducesTheHandbookFeatures() throws {
        let reference = try TestData.featuresByID(csvPath: TestData.require(TestData.referenceFeatures), idColumn: "TRANSACTION_ID")
        #expect(reference.count == Self.referenceRows)
        let topology = try TopologyLoader.load(path: TestData.cardFraudTopology)
        #expect(topology.featureNames == TestData.handbookFeatures)
        let pipeline = try Pipeline(topology: topology, recordsUndo: false)
        let decoder = pipeline.makeDecoder()
        let reader = CSVReader(source: try EncodedFile.openForReading(TestData.require(TestData.transactions)))
        #expect(try reader.next())
        let binding = try decoder.bind(header: reader.strings(), file: TestData.transactions)
        var batch = pipeline.makeBatch(capacity: 4096)
        var computed: [Int64: [Double]] = [:]
        var events = 0
        func flush() {
            _ = pipeline.process(&batch)
            for index in 0..<batch.count {
                #expect(batch.isLive(index), "event \(index) rejected: \(String(describing: batch.rejections[index]))")
                let id = Int64(batch.ids(of: index).first!)!
                if reference[id] != nil { computed[id] = Array(batch.features(of: index)) }
            }
            batch.removeAll()
        }
        while try reader.next() {
            let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch)
            #expect(problem == nil, "line \(reader.lineNumber): \(String(describing: problem))")
            events += 1
            if batch.count == 4096 { flush() }
        }
        flush()
        #expect(events == 1_754_155)
        let result = TestData.compare(computed, reference: reference)
        #expect(result.missing == 0)
        #expect(result.mismatches == 0, "\(result.mismatches) mismatches, e.g.:\n\(result.examples.joined(separator: "\n"))")
    }

    @Test func replayWritesTheSameNumbers() throws {
        let reference = try TestData.featuresByID(csvPath: TestData.require(TestData.referenceFeatures), idColumn: "TRANSACTION_ID")
        let topology = try TopologyLoader.load(path: TestData.cardFraudTopology)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-replay-\(UUID().uuidString).csv.lz4").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let replay = try EventReplay(topology: topology)
        let summary = try replay.run(inputPath: TestData.require(TestData.transactions), outputPath: output,
                                     from: TimestampParser.parse("2018-07-25", format: .datetime),
                                     until: TimestampParser.parse("2018-08-01", format: .datetime))
        #expect(summary.malformedCount == 0)
        #expect(summary.rejectedCount == 0)
        #expect(summary.rowsWritten == Self.referenceRows)
        let written = try TestData.featuresByID(csvPath: output, idColumn: "TRANSACTION_ID")
        #expect(written.count == Self.referenceRows)
        let result = TestData.compare(written, reference: reference)
        #expect(result.missing == 0)
        #expect(result.mismatches == 0, "\(result.mismatches) mismatches, e.g.:\n\(result.examples.joined(separator: "\n"))")
    }
}
