import Foundation

/// The Numenta Anomaly Benchmark's scoring rule (Lavin & Ahmad 2015) over one or more series.
///
/// Each series has labelled anomaly windows (row ranges). A detection inside a window earns
/// A_tp · σ(y), y = −(r − i + 1)/W for row i of window [l, r] of width W = r − l + 1, σ(y) =
/// 2/(1 + e^{5y}) − 1 (earlier is worth more), and only the window's best (first) detection
/// counts; a window without one costs A_fn; a detection outside every window costs A_fp · σ(y)
/// with y its distance past the preceding window over that window's width − 1 (−1 before any
/// window, and beyond 3 widths), so a late detection just after a window costs little. The raw
/// scores of all series are summed and normalised, 100 · (S − S_null)/(S_perfect − S_null),
/// where the null detector detects nothing and the perfect one detects every window's first row.
/// ``sweep(series:profile:thresholds:)`` picks the threshold that maximises it, as NAB does
/// once per detector and profile over the whole corpus.
public struct NABScorer: Sendable {
    /// Weights of one application profile.
    public struct Profile: Sendable, Equatable {
        public var name: String
        public var truePositive: Double
        public var falsePositive: Double
        public var falseNegative: Double

        public static let standard = Profile(name: "standard", truePositive: 1, falsePositive: 0.11, falseNegative: 1)
        public static let rewardLowFP = Profile(name: "reward_low_FP", truePositive: 1, falsePositive: 0.22, falseNegative: 1)
        public static let rewardLowFN = Profile(name: "reward_low_FN", truePositive: 1, falsePositive: 0.11, falseNegative: 2)
        public static let all = [standard, rewardLowFP, rewardLowFN]
    }

    /// One series: its scores by row and its windows (inclusive row ranges, ascending, disjoint).
    public struct Series: Sendable {
        public var scores: [Double]
        public var windows: [ClosedRange<Int>]
        /// Whether a detection is a row at or above the threshold (NAB), or a row where that
        /// alarm switches on or off (SKAB's change points: |diff|, the first row as itself).
        public var detectsChanges: Bool

        public init(scores: [Double], windows: [ClosedRange<Int>], detectsChanges: Bool = false) {
            self.scores = scores
            self.windows = windows
            self.detectsChanges = detectsChanges
        }
    }

    /// The scaled sigmoid.
    public static func sigmoid(_ y: Double) -> Double {
        if y > 3 { return -1 }
        return 2 / (1 + exp(5 * y)) - 1
    }

    /// The raw score of `series` at `threshold` under `profile`, and the counts behind it.
    public static func raw(_ series: Series, profile: Profile, threshold: Double) -> (score: Double, truePositives: Int, falseNegatives: Int, falsePositives: Int) {
        var score = 0.0
        var windowIndex = 0
        var best = -Double.infinity
        var hits = 0, falsePositives = 0
        var previous: ClosedRange<Int>?
        var wasOn = false
        for (row, value) in series.scores.enumerated() {
            let on = value >= threshold
            let detected = series.detectsChanges ? on != wasOn : on
            wasOn = on
            while windowIndex < series.windows.count, series.windows[windowIndex].upperBound < row {
                if best > -.infinity { score += profile.truePositive * best; hits += 1 } else { score -= profile.falseNegative }
                best = -.infinity
                previous = series.windows[windowIndex]
                windowIndex += 1
            }
            guard detected else { continue }
            if windowIndex < series.windows.count, series.windows[windowIndex].contains(row) {
                let window = series.windows[windowIndex]
                let width = Double(window.count)
                best = max(best, sigmoid(-Double(window.upperBound - row + 1) / width))
            } else if let previous {
                let y = Double(row - previous.upperBound) / Double(max(1, previous.count - 1))
                score += profile.falsePositive * sigmoid(y)
                falsePositives += 1
            } else {
                score -= profile.falsePositive
                falsePositives += 1
            }
        }
        while windowIndex < series.windows.count {
            if best > -.infinity { score += profile.truePositive * best; hits += 1 } else { score -= profile.falseNegative }
            best = -.infinity
            windowIndex += 1
        }
        let windows = series.windows.count
        return (score, hits, windows - hits, falsePositives)
    }

    /// The normalised score of all `series` at `threshold`.
    public static func normalised(_ series: [Series], profile: Profile, threshold: Double) -> Double {
        var total = 0.0, null = 0.0, perfect = 0.0
        for item in series {
            total += raw(item, profile: profile, threshold: threshold).score
            null -= profile.falseNegative * Double(item.windows.count)
            perfect += profile.truePositive * Double(item.windows.count) * sigmoid(-1)
        }
        guard perfect > null else { return 0 }
        return 100 * (total - null) / (perfect - null)
    }

    /// The best normalised score over `thresholds` (default: every distinct score, or 1,001
    /// quantiles of them when there are more), with its threshold.
    public static func sweep(series: [Series], profile: Profile, thresholds: [Double]? = nil) -> (score: Double, threshold: Double) {
        let candidates = thresholds ?? candidateThresholds(series)
        var best = (score: -Double.infinity, threshold: Double.nan)
        for threshold in candidates {
            let score = normalised(series, profile: profile, threshold: threshold)
            if score > best.score { best = (score, threshold) }
        }
        return best
    }

    static func candidateThresholds(_ series: [Series]) -> [Double] {
        let values = Array(Set(series.flatMap { $0.scores }.filter { !$0.isNaN })).sorted()
        guard values.count > 1001 else { return values + [.infinity] }
        return (0...1000).map { values[$0 * (values.count - 1) / 1000] } + [.infinity]
    }
}
