/// A paired bootstrap of the difference between two models scored on the same events
/// (challenger minus champion), for AUC ROC and average precision.
///
/// Each replicate draws `n` events with replacement from the `n` evaluated events — event
/// `next() % n` of a ``SplitMix64`` seeded with ``seed``, `n` draws per replicate, replicates
/// one after another from the one generator — and computes both models' metrics on that same
/// resample (paired: the models are compared on identical events, so what they share
/// cancels). The interval is the percentile interval of the replicates' differences
/// (numpy's linear quantiles at (1 − confidence)/2 and (1 + confidence)/2). A replicate
/// without a positive or without a negative event has no AUC and is left out (counted in
/// ``Interval/replicates``). The same seed gives the same interval on the same events.
public struct PairedBootstrap: Sendable {
    /// A difference with its interval.
    public struct Interval: Sendable, Codable, Equatable {
        /// Challenger minus champion on all events.
        public var difference: Double
        /// The interval's lower bound.
        public var lower: Double
        /// The interval's upper bound.
        public var upper: Double
        /// Replicates that gave a value.
        public var replicates: Int
    }

    /// Resamples; 1,000 by default.
    public var replicates: Int
    /// The interval's coverage; 0.95 by default.
    public var confidence: Double
    /// The generator's seed.
    public var seed: UInt64

    /// The default seed: any fixed number would do; this one is the handbook's first test day.
    public static let defaultSeed: UInt64 = 20_180_808

    public init(replicates: Int = 1000, confidence: Double = 0.95, seed: UInt64 = Self.defaultSeed) {
        precondition(replicates > 0 && confidence > 0 && confidence < 1)
        self.replicates = replicates
        self.confidence = confidence
        self.seed = seed
    }

    /// The AUC ROC and average precision differences of `challenger` over `champion`, ranked
    /// over the same events with the same labels.
    public func compare(champion: RankedScores, challenger: RankedScores) -> (auc: Interval, averagePrecision: Interval) {
        precondition(champion.count == challenger.count && champion.labels == challenger.labels, "the models must be ranked over the same events")
        let count = champion.count
        let full = (champion.metrics(weights: nil), challenger.metrics(weights: nil))
        var aucDifferences: [Double] = []
        var precisionDifferences: [Double] = []
        aucDifferences.reserveCapacity(replicates)
        precisionDifferences.reserveCapacity(replicates)
        var generator = SplitMix64(seed: seed)
        var weights = [Int32](repeating: 0, count: count)
        if count > 0 {
            for _ in 0..<replicates {
                for index in weights.indices { weights[index] = 0 }
                for _ in 0..<count { weights[Int(generator.next() % UInt64(count))] += 1 }
                let (first, second) = weights.withUnsafeBufferPointer { weights in
                    (champion.metrics(weights: weights), challenger.metrics(weights: weights))
                }
                if !first.auc.isNaN, !second.auc.isNaN { aucDifferences.append(second.auc - first.auc) }
                if !first.averagePrecision.isNaN, !second.averagePrecision.isNaN {
                    precisionDifferences.append(second.averagePrecision - first.averagePrecision)
                }
            }
        }
        return (interval(full.1.auc - full.0.auc, aucDifferences),
                interval(full.1.averagePrecision - full.0.averagePrecision, precisionDifferences))
    }

    private func interval(_ difference: Double, _ replicates: [Double]) -> Interval {
        let sorted = replicates.sorted()
        return Interval(difference: difference, lower: Quantiles.linear(sorted: sorted, level: (1 - confidence) / 2),
                        upper: Quantiles.linear(sorted: sorted, level: (1 + confidence) / 2), replicates: sorted.count)
    }
}
