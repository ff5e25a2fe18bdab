import Foundation
import Testing
import VigilEvaluation
import VigilModels
import VigilPipeline
import VigilReplay
import VigilTestSupport
import VigilTopology

/// The backtest check of issue 14: the committed models (scripts/backtest_card_fraud.py trains
/// them on `vigil replay` features of 2018-07-25..31) replayed on the test week 2018-08-08..14
/// through the card-fraud topology, judged as `vigil replay --report` judges them, reproduce the
/// Fraud Detection Handbook's published AUC ROC, average precision and card precision@100
/// within ±0.01, on the handbook's test set (58,264 transactions, 385 frauds once the cards
/// known to be compromised are left out). One replay of the 1.75M transactions, both models.
@Suite struct HandbookBacktestTests {
    static let published: [(model: String, auc: Double, averagePrecision: Double, cardPrecision: Double)] = [
        ("XGBoost", 0.862, 0.639, 0.273),
        ("logistic regression", 0.871, 0.606, 0.291),
    ]

    @Test func theCommittedModelsReproduceTheHandbooksResults() throws {
        let topology = try TopologyLoader.load(path: RepositoryFiles.cardFraudTopology)
        let champion = try ModelLoader.load(path: try #require(topology.resolvedModelPath))
        let challengerPath = RepositoryFiles.root + "/topologies/models/card-fraud-logreg.json"
        let challenger = try ModelLoader.load(path: challengerPath)
        let from: Int64 = 1_533_686_400_000  // 2018-08-08
        let until = from + 7 * 86_400_000
        let knownFrom = from - 14 * 86_400_000  // 2018-07-25, the training week's start
        var builder = try FraudReportBuilder(
            topology: topology, layout: RowLayout(topology: topology), input: RepositoryFiles.handbookTransactions,
            models: [.init(file: "xgboost", version: "1"), .init(file: "logreg", version: "1")],
            from: from, until: until, knownFrom: knownFrom, drift: nil, bootstrap: PairedBootstrap(replicates: 200))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-backtest-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let summary = try EventReplay(topology: topology, kernel: champion, challenger: challenger)
            .run(source: FileSource(path: RepositoryFiles.handbookTransactions), outputPath: folder + "/rows.csv", from: from, until: until,
                 observe: { batch, scores, alerts in builder.observe(batch, scores: scores, alerts: alerts) })
        #expect(summary.malformedCount == 0 && summary.rejectedCount == 0)
        let report = builder.finish()
        #expect(report.evaluation.events == 58_264 && report.evaluation.positives == 385)
        let challengerReport = try #require(report.challenger)
        for (evaluation, expected) in zip([report.champion, challengerReport], Self.published) {
            let cardPrecision = try #require(evaluation.cardPrecision)
            #expect(cardPrecision.days.count == 7 && cardPrecision.k == 100)
            #expect(abs(evaluation.aucRoc - expected.auc) <= 0.01, "\(expected.model) AUC \(evaluation.aucRoc)")
            #expect(abs(evaluation.averagePrecision - expected.averagePrecision) <= 0.01, "\(expected.model) AP \(evaluation.averagePrecision)")
            #expect(abs(cardPrecision.mean - expected.cardPrecision) <= 0.01, "\(expected.model) CP@100 \(cardPrecision.mean)")
        }
        // The comparison: the same events for both, a paired interval around each difference.
        let comparison = try #require(report.comparison)
        let auc = try #require(comparison.metric(named: "auc"))
        #expect(abs(auc.difference - (challengerReport.aucRoc - report.champion.aucRoc)) < 1e-12)
        #expect(try #require(auc.lower) <= auc.difference && auc.difference <= (try #require(auc.upper)))
        let agreement = comparison.alertAgreement
        #expect(agreement.both + agreement.championOnly + agreement.challengerOnly + agreement.neither == 58_264)
    }
}
