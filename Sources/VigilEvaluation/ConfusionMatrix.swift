/// Alerts against labels: the confusion matrix at the alert rule, and the precision, recall
/// and F1 that follow (scikit-learn's definitions; 0 where a denominator is 0, as its
/// `zero_division` default warns and gives).
public struct ConfusionMatrix: Sendable, Codable, Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var trueNegatives = 0
    public var falseNegatives = 0

    /// Counts `alerts` (predicted positive) against `labels`.
    public init(alerts: [Bool], labels: [Bool]) {
        precondition(alerts.count == labels.count)
        for (alert, label) in zip(alerts, labels) {
            switch (alert, label) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (false, true): falseNegatives += 1
            }
        }
    }

    /// TP / (TP + FP).
    public var precision: Double { Self.ratio(truePositives, truePositives + falsePositives) }
    /// TP / (TP + FN).
    public var recall: Double { Self.ratio(truePositives, truePositives + falseNegatives) }
    /// 2 TP / (2 TP + FP + FN).
    public var f1: Double { Self.ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}
