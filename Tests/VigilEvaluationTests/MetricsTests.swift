import Foundation
import Testing
@testable import VigilEvaluation

/// The metrics against scikit-learn, numpy and the handbook's own code on the committed
/// fixture (Fixtures/make_metrics.py), to 1e-9.
@Suite struct MetricsTests {
    struct Bootstrap: Decodable, Sendable {
        var replicates: Int
        var seed: UInt64
        /// [lower, upper, replicates used]
        var auc: [Double]
        var averagePrecision: [Double]
    }

    struct Case: Decodable, Sendable {
        var name: String
        var k: Int
        var day: [Int64]
        var card: [Int64]
        var label: [Int]
        var score: [Double]
        var challenger: [Double]
        var alert: [Int]
        var auc: Double
        var averagePrecision: Double
        var confusion: [Int]
        var precision: Double
        var recall: Double
        var f1: Double
        var quantilesPositive: [Double]
        var quantilesNegative: [Double]
        var cardPrecisionPerDay: [Double]
        var cardPrecisionMean: Double
        var compromisedCardsPerDay: [Int]
        var bootstrap: Bootstrap
        var labels: [Bool] { label.map { $0 != 0 } }
        var alerts: [Bool] { alert.map { $0 != 0 } }
    }

    struct Fixture: Decodable, Sendable {
        var levels: [Double]
        var cases: [Case]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/metrics.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static var caseNames: [String] { fixture.cases.map(\.name) }
    static func named(_ name: String) -> Case { fixture.cases.first { $0.name == name }! }

    @Test(arguments: caseNames)
    func aucAndAveragePrecisionMatchScikitLearn(name: String) {
        let item = Self.named(name)
        let ranked = RankedScores(scores: item.score, labels: item.labels)
        #expect(abs(ranked.auc - item.auc) <= 1e-9, "AUC \(ranked.auc) vs \(item.auc)")
        #expect(abs(ranked.averagePrecision - item.averagePrecision) <= 1e-9,
                "AP \(ranked.averagePrecision) vs \(item.averagePrecision)")
    }

    @Test(arguments: caseNames)
    func confusionMatrixAndRatesMatchScikitLearn(name: String) {
        let item = Self.named(name)
        let matrix = ConfusionMatrix(alerts: item.alerts, labels: item.labels)
        let expected = item.confusion
        #expect([matrix.truePositives, matrix.falsePositives, matrix.trueNegatives, matrix.falseNegatives] == expected)
        #expect(abs(matrix.precision - item.precision) <= 1e-9)
        #expect(abs(matrix.recall - item.recall) <= 1e-9)
        #expect(abs(matrix.f1 - item.f1) <= 1e-9)
    }

    @Test(arguments: caseNames)
    func quantilesMatchNumpy(name: String) {
        let item = Self.named(name)
        let positive = zip(item.score, item.labels).filter(\.1).map(\.0)
        let negative = zip(item.score, item.labels).filter { !$0.1 }.map(\.0)
        for (mine, theirs) in zip(Quantiles.linear(positive, levels: Self.fixture.levels), item.quantilesPositive) {
            #expect(abs(mine - theirs) <= 1e-9, "\(mine) vs \(theirs)")
        }
        for (mine, theirs) in zip(Quantiles.linear(negative, levels: Self.fixture.levels), item.quantilesNegative) {
            #expect(abs(mine - theirs) <= 1e-9, "\(mine) vs \(theirs)")
        }
    }

    @Test(arguments: caseNames)
    func cardPrecisionMatchesTheHandbook(name: String) {
        let item = Self.named(name)
        let cards = CardPrecision(k: item.k, days: item.day, entities: item.card, scores: item.score, labels: item.labels)
        let expected = item.cardPrecisionPerDay
        #expect(cards.days.count == expected.count)
        for (day, value) in zip(cards.days, expected) { #expect(abs(day.precision - value) <= 1e-9, "\(day.day): \(day.precision) vs \(value)") }
        #expect(abs(cards.mean - item.cardPrecisionMean) <= 1e-9)
        #expect(cards.days.map(\.compromisedCards) == item.compromisedCardsPerDay)
        #expect(cards.days.first?.day == "2018-08-08")
    }

    @Test(arguments: caseNames)
    func pairedBootstrapMatchesTheSameResamplesInPython(name: String) {
        let item = Self.named(name)
        let settings = item.bootstrap
        let bootstrap = PairedBootstrap(replicates: settings.replicates, seed: settings.seed)
        let (auc, precision) = bootstrap.compare(champion: RankedScores(scores: item.score, labels: item.labels),
                                                 challenger: RankedScores(scores: item.challenger, labels: item.labels))
        for (interval, key) in [(auc, "auc"), (precision, "averagePrecision")] {
            let expected = key == "auc" ? settings.auc : settings.averagePrecision
            #expect(abs(interval.lower - expected[0]) <= 1e-9, "\(key) lower \(interval.lower) vs \(expected[0])")
            #expect(abs(interval.upper - expected[1]) <= 1e-9, "\(key) upper \(interval.upper) vs \(expected[1])")
            #expect(interval.replicates == Int(expected[2]))
            #expect(interval.lower <= interval.difference && interval.difference <= interval.upper)
        }
    }

    @Test func theBootstrapIsSeededAndPaired() {
        let item = Self.named("fraud-like")
        let champion = RankedScores(scores: item.score, labels: item.labels)
        let challenger = RankedScores(scores: item.challenger, labels: item.labels)
        let first = PairedBootstrap(replicates: 50, seed: 7).compare(champion: champion, challenger: challenger)
        let again = PairedBootstrap(replicates: 50, seed: 7).compare(champion: champion, challenger: challenger)
        let other = PairedBootstrap(replicates: 50, seed: 8).compare(champion: champion, challenger: challenger)
        #expect(first.auc == again.auc && first.averagePrecision == again.averagePrecision)
        #expect(first.auc != other.auc)
        // A model against itself: every paired replicate differs by exactly 0.
        let same = PairedBootstrap(replicates: 50, seed: 7).compare(champion: champion, challenger: champion)
        #expect(same.auc.lower == 0 && same.auc.upper == 0 && same.averagePrecision.lower == 0 && same.averagePrecision.upper == 0)
    }

    @Test func curvesRunFromCornerToCorner() {
        let item = Self.named("fraud-like")
        let ranked = RankedScores(scores: item.score, labels: item.labels)
        let roc = ranked.rocCurve()
        #expect(roc.first == CurvePoint(x: 0, y: 0) && roc.last == CurvePoint(x: 1, y: 1))
        #expect(zip(roc, roc.dropFirst()).allSatisfy { $0.x <= $1.x && $0.y <= $1.y })
        let pr = ranked.precisionRecallCurve()
        #expect(pr.last?.x == 1)
        // The trapezoids under the thinned curve stay close to the exact area.
        let area = zip(roc, roc.dropFirst()).reduce(0) { $0 + ($1.1.x - $1.0.x) * ($1.1.y + $1.0.y) / 2 }
        #expect(abs(area - ranked.auc) < 0.01)
    }

    @Test func calendarDaysAreUTC() {
        #expect(CalendarDay.text(17751) == "2018-08-08")
        #expect(CalendarDay.text(0) == "1970-01-01")
        #expect(CalendarDay.text(-1) == "1969-12-31")
        #expect(CalendarDay.timeText(1_533_686_400_000 + 3_723_000) == "2018-08-08 01:02:03")
        #expect(CalendarDay.of(-1) == -1)
    }
}
