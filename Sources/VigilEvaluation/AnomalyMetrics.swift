/// Point-wise detection counts at an alert threshold and the rates SKAB reports.
public struct AnomalyMetrics: Sendable, Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0
    public var trueNegatives = 0

    public init() {}

    /// Adds one row: its label (1: anomalous) and whether it alarmed.
    public mutating func add(label: Bool, alarm: Bool) {
        switch (label, alarm) {
        case (true, true): truePositives += 1
        case (false, true): falsePositives += 1
        case (true, false): falseNegatives += 1
        case (false, false): trueNegatives += 1
        }
    }

    /// F1 = TP / (TP + (FP + FN)/2).
    public var f1: Double { Double(truePositives) / (Double(truePositives) + Double(falsePositives + falseNegatives) / 2) }
    /// False-alarm rate, FP / (FP + TN), in %.
    public var falseAlarmRate: Double { 100 * Double(falsePositives) / Double(falsePositives + trueNegatives) }
    /// Missed-alarm rate, FN / (FN + TP), in %.
    public var missedAlarmRate: Double { 100 * Double(falseNegatives) / Double(falseNegatives + truePositives) }
}
