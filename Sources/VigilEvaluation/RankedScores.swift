/// A model's scores over labelled events, ranked once: what the threshold-free metrics (AUC
/// ROC, average precision, their curves) and their bootstrap need.
///
/// The definitions are scikit-learn's: the distinct scores, in decreasing order, are the
/// thresholds; at each, the events scoring at or above it are flagged (`_binary_clf_curve`).
/// AUC ROC is the trapezoidal area under (false positive rate, true positive rate), which
/// counts a tie between a positive and a negative as half (`roc_auc_score`); average
/// precision is Σₙ (Rₙ − Rₙ₋₁) Pₙ over the thresholds, without interpolation
/// (`average_precision_score`). Weights are whole multiplicities (a bootstrap resample draws
/// an event several times or not at all), so a weighted metric is the metric of the
/// resampled events.
public struct RankedScores: Sendable {
    /// Event indices by decreasing score.
    let order: [Int32]
    /// For each run of equal scores in ``order``, where it ends (exclusive).
    let runEnds: [Int32]
    /// The labels, in event order.
    let labels: [Bool]
    /// The scores, in event order.
    public let scores: [Double]

    /// Ranks `scores` (no NaN) of events labelled `labels` (true: positive).
    public init(scores: [Double], labels: [Bool]) {
        precondition(scores.count == labels.count, "one label per score")
        precondition(scores.count < Int(Int32.max), "too many events")
        precondition(!scores.contains { $0.isNaN }, "NaN scores are not ranked")
        self.scores = scores
        self.labels = labels
        let order = (0..<Int32(scores.count)).sorted { (first: Int32, second: Int32) -> Bool in
            let a = scores[Int(first)], b = scores[Int(second)]
            return a > b || (a == b && first < second)
        }
        var ends: [Int32] = []
        for position in order.indices {
            let isLast = position + 1 == order.count
            if isLast || scores[Int(order[position + 1])] != scores[Int(order[position])] { ends.append(Int32(position + 1)) }
        }
        self.order = order
        runEnds = ends
    }

    /// Events ranked.
    public var count: Int { scores.count }
    /// Positive events.
    public var positives: Int { labels.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// Area under the ROC curve; NaN without positives or without negatives.
    public var auc: Double { metrics(weights: nil).auc }
    /// Average precision; NaN without positives.
    public var averagePrecision: Double { metrics(weights: nil).averagePrecision }

    /// Both metrics in one pass, with each event counted `weights[event]` times (nil: once).
    func metrics(weights: UnsafeBufferPointer<Int32>?) -> (auc: Double, averagePrecision: Double) {
        var truePositives = 0.0
        var falsePositives = 0.0
        var area = 0.0
        var precisionSum = 0.0
        var start = 0
        order.withUnsafeBufferPointer { order in
            labels.withUnsafeBufferPointer { labels in
                for end in runEnds {
                    var positives = 0.0
                    var negatives = 0.0
                    for position in start..<Int(end) {
                        let event = Int(order[position])
                        let weight = weights.map { Double($0[event]) } ?? 1
                        if labels[event] { positives += weight } else { negatives += weight }
                    }
                    start = Int(end)
                    if positives == 0, negatives == 0 { continue }
                    // Trapezoid between this threshold's point and the previous one.
                    area += negatives * (2 * truePositives + positives)
                    truePositives += positives
                    falsePositives += negatives
                    precisionSum += positives * truePositives / (truePositives + falsePositives)
                }
            }
        }
        let auc = truePositives > 0 && falsePositives > 0 ? area / (2 * truePositives * falsePositives) : .nan
        let averagePrecision = truePositives > 0 ? precisionSum / truePositives : .nan
        return (auc, averagePrecision)
    }

    /// The ROC curve, (false positive rate, true positive rate) from (0, 0) to (1, 1), one
    /// point per threshold, thinned to points at least `resolution` apart (for drawing).
    public func rocCurve(resolution: Double = 0.002) -> [CurvePoint] {
        let (positives, negatives) = totals()
        var points = [CurvePoint(x: 0, y: 0)]
        for (truePositives, falsePositives) in cumulativeCounts() {
            points.append(CurvePoint(x: falsePositives / max(negatives, 1), y: truePositives / max(positives, 1)))
        }
        return CurvePoint.thinned(points, resolution: resolution)
    }

    /// The precision-recall curve, (recall, precision), one point per threshold, thinned to
    /// points at least `resolution` apart.
    public func precisionRecallCurve(resolution: Double = 0.002) -> [CurvePoint] {
        let (positives, _) = totals()
        var points: [CurvePoint] = []
        for (truePositives, falsePositives) in cumulativeCounts() {
            points.append(CurvePoint(x: truePositives / max(positives, 1), y: truePositives / (truePositives + falsePositives)))
        }
        return CurvePoint.thinned(points, resolution: resolution)
    }

    private func totals() -> (positives: Double, negatives: Double) {
        let positives = Double(self.positives)
        return (positives, Double(count) - positives)
    }

    /// (true positives, false positives) at each threshold, decreasing.
    private func cumulativeCounts() -> [(Double, Double)] {
        var result: [(Double, Double)] = []
        result.reserveCapacity(runEnds.count)
        var truePositives = 0.0
        var falsePositives = 0.0
        var start = 0
        for end in runEnds {
            for position in start..<Int(end) {
                if labels[Int(order[position])] { truePositives += 1 } else { falsePositives += 1 }
            }
            start = Int(end)
            result.append((truePositives, falsePositives))
        }
        return result
    }
}

/// A point of a curve in the unit square.
public struct CurvePoint: Sendable, Codable, Equatable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }

    /// `points` with those closer than `resolution` (in both coordinates) to the last kept one
    /// left out; the first and last are always kept.
    static func thinned(_ points: [CurvePoint], resolution: Double) -> [CurvePoint] {
        guard points.count > 2 else { return points }
        var kept = [points[0]]
        for point in points.dropFirst().dropLast() {
            let last = kept[kept.count - 1]
            if abs(point.x - last.x) >= resolution || abs(point.y - last.y) >= resolution { kept.append(point) }
        }
        kept.append(points[points.count - 1])
        return kept
    }
}
