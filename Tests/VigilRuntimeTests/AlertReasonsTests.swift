import Foundation
import Testing
import VigilModels
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// Reason codes on alerts (`outputs.alerts.explain`): the pipeline explains an event with the
/// model's exact TreeSHAP contributions, and the alert record carries the top K.
@Suite struct AlertReasonsTests {
    /// A customer's burst of large purchases, then everyday ones, through the card-fraud topology.
    static func batch(_ pipeline: Pipeline) throws -> EventBatch {
        var batch = pipeline.makeBatch()
        let decoder = pipeline.makeDecoder()
        let amounts = [25.0, 31.5, 480.0, 512.25, 18.0, 730.0]
        for (index, amount) in amounts.enumerated() {
            let line = "{\"TRANSACTION_ID\":\(index),\"TX_DATETIME\":\"2018-08-08 0\(index):15:00\",\"CUSTOMER_ID\":7,\"TERMINAL_ID\":\(40 + index),\"TX_AMOUNT\":\(amount),\"TX_FRAUD\":0}"
            let rejection = Array(line.utf8).withUnsafeBufferPointer { decoder.appendJSON($0, provenance: Provenance(partition: 0, offset: Int64(index)), to: &batch) }
            #expect(rejection == nil)
        }
        return batch
    }

    @Test func alertsCarryTheTopContributionsInOrder() throws {
        let topology = try TopologyLoader.load(path: RepositoryFiles.cardFraudTopology)
        #expect(topology.outputs.alertExplain == 3)
        let path = try #require(topology.resolvedModelPath)
        var explainer = try ModelLoader.loadExplainer(path: path)
        let kernel = ExplainingKernel(scorer: try ModelLoader.load(path: path), explainer: explainer)
        let pipeline = try Pipeline(topology: topology, kernel: kernel)
        #expect(pipeline.explains)
        var batch = try Self.batch(pipeline)
        let output = pipeline.process(&batch)
        let encoder = ScoreRecordEncoder(topology: topology, layout: pipeline.layout)
        var record: [UInt8] = []
        for index in 0..<batch.count {
            let reasons = pipeline.reasons(batch, index: index)
            #expect(reasons.count == 3)
            // The same contributions as the explainer's, ranked largest first.
            let row = pipeline.modelInputs.map { batch.value(index, column: pipeline.layout.column(of: $0)!) }
            let contributions = explainer.contributions(row)
            let margin = contributions.reduce(0, +)
            #expect(abs(1 / (1 + exp(-margin)) - output.scores[index]) < 1e-9)
            let ranked = contributions.dropLast().enumerated().sorted { $0.element > $1.element }.prefix(3)
            #expect(reasons.map(\.feature) == ranked.map { pipeline.modelInputs[$0.offset] })
            #expect(zip(reasons.map(\.contribution), ranked.map(\.element)).allSatisfy { abs($0 - $1) < 1e-12 })
            #expect(reasons.map(\.value) == ranked.map { row[$0.offset] })
            #expect(pipeline.reasons(batch, index: index, top: 20).count == pipeline.modelInputs.count)

            encoder.encode(batch, index, id: "\(index)", score: output.scores[index], alert: true, reasons: reasons, into: &record)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(record)) as? [String: Any])
            let encoded = try #require(json["reasons"] as? [[String: Any]])
            #expect(encoded.map { $0["feature"] as? String } == reasons.map(\.feature))
            #expect(zip(encoded, reasons).allSatisfy { abs(($0["contribution"] as? Double ?? .nan) - $1.contribution) < 1e-12 })
            // Score records never carry reasons.
            encoder.encode(batch, index, id: "\(index)", score: output.scores[index], alert: false, into: &record)
            #expect((try JSONSerialization.jsonObject(with: Data(record)) as? [String: Any])?["reasons"] == nil)
        }
        // A large purchase after small ones is flagged by its amount.
        #expect(pipeline.reasons(batch, index: 5).contains { $0.feature == "TX_AMOUNT" })
    }

    @Test func withoutAnExplainerThereAreNoReasons() throws {
        let topology = try TopologyLoader.load(path: RepositoryFiles.cardFraudTopology)
        let pipeline = try Pipeline(topology: topology, kernel: try ModelLoader.load(path: try #require(topology.resolvedModelPath)))
        #expect(!pipeline.explains)
        var batch = try Self.batch(pipeline)
        _ = pipeline.process(&batch)
        #expect(pipeline.reasons(batch, index: 0).isEmpty)
    }
}
