import Foundation
import Testing
@testable import VigilEvaluation

/// NAB's scoring on cases small enough to compute by hand.
struct NABScorerTests {
    /// Ten rows, one window [3, 6] (W = 4). Detections at threshold 0.5: rows 1 (before the
    /// window), 4 (inside: y = −(6 − 4 + 1)/4 = −0.75), 5 (inside, later: ignored) and 8 (after
    /// the window: y = (8 − 6)/(4 − 1) = 2/3).
    @Test func aHandComputedSeries() {
        let series = NABScorer.Series(scores: [0, 0.9, 0, 0.1, 0.7, 0.8, 0, 0, 0.6, 0], windows: [3...6])
        let standard = NABScorer.raw(series, profile: .standard, threshold: 0.5)
        let sigmoid = { (y: Double) in 2 / (1 + exp(5 * y)) - 1 }
        let tp = sigmoid(-0.75)  // 0.95404...
        let after = sigmoid(2.0 / 3.0)  // -0.93110...
        #expect(abs(tp - 0.9540452601799487) < 1e-12 && abs(after + 0.9311096086675776) < 1e-12)
        let expected = tp - 0.11 + 0.11 * after
        #expect(abs(standard.score - expected) < 1e-12)
        #expect(standard.truePositives == 1 && standard.falseNegatives == 0 && standard.falsePositives == 2)
        // Normalised: null −1, perfect σ(−1) = 0.98661...
        let normalised = NABScorer.normalised([series], profile: .standard, threshold: 0.5)
        #expect(abs(normalised - 100 * (expected + 1) / (sigmoid(-1) + 1)) < 1e-9)
        // Low FN: a missed window costs 2; here none is missed, so only the FP weight matters.
        let lowFP = NABScorer.raw(series, profile: .rewardLowFP, threshold: 0.5).score
        #expect(abs(lowFP - (tp - 0.22 + 0.22 * after)) < 1e-12)
        // Above every score nothing is detected: the null score.
        #expect(NABScorer.raw(series, profile: .rewardLowFN, threshold: 0.95).score == -2)
        #expect(NABScorer.normalised([series], profile: .standard, threshold: 0.95) == 0)
    }

    @Test func theSweepFindsTheBestThreshold() {
        let series = NABScorer.Series(scores: [0, 0.9, 0, 0.1, 0.7, 0.8, 0, 0, 0.6, 0], windows: [3...6])
        let best = NABScorer.sweep(series: [series], profile: .standard)
        // At 0.7 only rows 1 and 4, 5 detect... at 0.65 row 8 drops out; 0.7 keeps row 4 (TP) and row 1 (FP).
        let sigmoid = { (y: Double) in 2 / (1 + exp(5 * y)) - 1 }
        #expect(best.threshold == 0.7)
        #expect(abs(best.score - 100 * (sigmoid(-0.75) - 0.11 + 1) / (sigmoid(-1) + 1)) < 1e-9)
    }

    /// SKAB's change points: a detection is a row where the alarm switches.
    @Test func changesAsDetections() {
        let series = NABScorer.Series(scores: [0, 0, 1, 1, 1, 0, 0], windows: [2...3], detectsChanges: true)
        let result = NABScorer.raw(series, profile: .standard, threshold: 0.5)
        // On at row 2 (first row of the window, y = −1), off at row 5 (2 past, width 2: y = 2).
        let sigmoid = { (y: Double) in 2 / (1 + exp(5 * y)) - 1 }
        #expect(abs(result.score - (sigmoid(-1) + 0.11 * sigmoid(2))) < 1e-12)
        #expect(result.falsePositives == 1)
    }

    @Test func pointMetrics() {
        var metrics = AnomalyMetrics()
        for (label, alarm) in [(true, true), (true, true), (true, false), (false, true), (false, false), (false, false), (false, false)] {
            metrics.add(label: label, alarm: alarm)
        }
        #expect(abs(metrics.f1 - 2.0 / 3.0) < 1e-12)
        #expect(abs(metrics.falseAlarmRate - 25) < 1e-12)
        #expect(abs(metrics.missedAlarmRate - 100.0 / 3.0) < 1e-12)
    }
}
