public import VigilDrift

/// A scored model judged against labels: what `report.json` holds for each model. Field names
/// are the JSON's (camelCase, as drift records have them); docs/evaluation.md documents them.
public struct ModelEvaluation: Sendable, Codable, Equatable {
    /// `champion` or `challenger`.
    public var role: String
    /// The model file.
    public var model: String
    /// The model version the records carry.
    public var version: String
    /// Area under the ROC curve (scikit-learn's `roc_auc_score`).
    public var aucRoc: Double
    /// Average precision (scikit-learn's `average_precision_score`).
    public var averagePrecision: Double
    /// Card precision@k per day and its mean (nil without an entity).
    public var cardPrecision: CardPrecision?
    /// The alert rule's outcome against the labels.
    public var atAlertRule: AlertOutcome
    /// Alerts per day.
    public var alertsPerDay: [DayAlerts]
    /// Score quantiles of positive and negative events.
    public var scoreQuantiles: ScoreQuantiles
    /// Score histograms of positive and negative events.
    public var scoreHistogram: ScoreHistogram
    /// The ROC curve, (false positive rate, true positive rate), thinned for drawing.
    public var rocCurve: [CurvePoint]
    /// The precision-recall curve, (recall, precision), thinned for drawing.
    public var precisionRecallCurve: [CurvePoint]

    /// The confusion matrix, precision, recall and F1 of the alerts.
    public struct AlertOutcome: Sendable, Codable, Equatable {
        public var rule: String
        public var confusionMatrix: ConfusionMatrix
        public var precision: Double
        public var recall: Double
        public var f1: Double
    }

    /// One day's alerts.
    public struct DayAlerts: Sendable, Codable, Equatable {
        public var day: String
        public var events: Int
        public var alerts: Int
        /// Alerts on positive events.
        public var trueAlerts: Int
        public var positives: Int
    }

    public struct ScoreQuantiles: Sendable, Codable, Equatable {
        public var levels: [Double]
        public var positive: [Double]
        public var negative: [Double]
    }

    /// Counts per bin; `edges` has one more value than each count list.
    public struct ScoreHistogram: Sendable, Codable, Equatable {
        public var edges: [Double]
        public var positive: [Int]
        public var negative: [Int]
    }

    /// The quantile levels reported.
    public static let quantileLevels = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]

    /// Judges model `model` of `events`.
    public init(role: String, model file: String, version: String, rule: String, events: LabelledEvents, model: Int,
                ranked: RankedScores, topK: Int?, histogramEdges: [Double]) {
        self.role = role
        self.model = file
        self.version = version
        aucRoc = ranked.auc
        averagePrecision = ranked.averagePrecision
        let scores = events.scores[model]
        let alerts = events.alerts[model]
        let days = events.days
        cardPrecision = topK.map { CardPrecision(k: $0, days: days, entities: events.entities, scores: scores, labels: events.labels) }
        let matrix = ConfusionMatrix(alerts: alerts, labels: events.labels)
        atAlertRule = AlertOutcome(rule: rule, confusionMatrix: matrix, precision: matrix.precision, recall: matrix.recall, f1: matrix.f1)
        var perDay: [Int64: DayAlerts] = [:]
        for index in 0..<events.count {
            var day = perDay[days[index]] ?? DayAlerts(day: CalendarDay.text(days[index]), events: 0, alerts: 0, trueAlerts: 0, positives: 0)
            day.events += 1
            if alerts[index] { day.alerts += 1 }
            if alerts[index], events.labels[index] { day.trueAlerts += 1 }
            if events.labels[index] { day.positives += 1 }
            perDay[days[index]] = day
        }
        alertsPerDay = perDay.keys.sorted().map { perDay[$0]! }
        let positive = zip(scores, events.labels).filter(\.1).map(\.0)
        let negative = zip(scores, events.labels).filter { !$0.1 }.map(\.0)
        scoreQuantiles = ScoreQuantiles(levels: Self.quantileLevels, positive: Quantiles.linear(positive, levels: Self.quantileLevels),
                                         negative: Quantiles.linear(negative, levels: Self.quantileLevels))
        scoreHistogram = ScoreHistogram(edges: histogramEdges, positive: Self.histogram(positive, edges: histogramEdges),
                                        negative: Self.histogram(negative, edges: histogramEdges))
        rocCurve = ranked.rocCurve()
        precisionRecallCurve = ranked.precisionRecallCurve()
    }

    /// Counts of `values` in [edges[i], edges[i+1]) (the last bin closed).
    static func histogram(_ values: [Double], edges: [Double]) -> [Int] {
        var counts = [Int](repeating: 0, count: max(0, edges.count - 1))
        guard counts.count > 0 else { return counts }
        let low = edges[0]
        let width = (edges[edges.count - 1] - low) / Double(counts.count)
        for value in values where value.isFinite {
            let bin = width > 0 ? Int(((value - low) / width).rounded(.down)) : 0
            counts[min(max(bin, 0), counts.count - 1)] += 1
        }
        return counts
    }
}

/// The fraud report (`report.json`): the period, the protocol, each model judged, their
/// comparison, and the drift of the period.
public struct FraudReport: Sendable, Codable, Equatable {
    /// The `formatVersion` this build writes.
    public static let currentFormatVersion = 1

    public var formatVersion = Self.currentFormatVersion
    /// Always `fraud` (the anomaly report is another kind).
    public var kind = "fraud"
    public var topology: String
    /// The replayed file or topic.
    public var input: String
    public var period: Period
    public var evaluation: TestProtocol
    public var champion: ModelEvaluation
    public var challenger: ModelEvaluation?
    public var comparison: ModelComparison?
    /// The drift records of the period's windows (the topology's drift section), oldest first.
    public var drift: [DriftRecord]

    /// What was replayed and judged.
    public struct Period: Sendable, Codable, Equatable {
        /// `--from` and `--until` as given (UTC), nil when not.
        public var from: String?
        public var until: String?
        /// The first and last judged events' times.
        public var firstEvent: String?
        public var lastEvent: String?
    }

    /// The evaluation protocol and what it left out.
    public struct TestProtocol: Sendable, Codable, Equatable {
        public var label: String
        public var entity: String?
        public var topK: Int?
        /// Days after which a positive label is known (the known-compromised removal), nil when off.
        public var knownLabelDelayDays: Int?
        /// Positive labels from this time on count as known (`--known-from`), nil: all.
        public var knownFrom: String?
        /// Events judged.
        public var events: Int
        /// Positive events judged.
        public var positives: Int
        /// Events left out: their entity was known to be compromised.
        public var excludedKnownCompromised: Int
        /// Events left out: no label.
        public var unlabelled: Int
        /// Events left out: a model gave no score.
        public var unscored: Int
    }
}

/// How a challenger compares with the champion on the same events.
public struct ModelComparison: Sendable, Codable, Equatable {
    /// How the intervals were made.
    public var bootstrap: Bootstrap
    /// Every metric side by side, with which model wins it.
    public var metrics: [MetricComparison]
    /// How often the two models' alerts agree.
    public var alertAgreement: AlertAgreement
    /// The events whose two scores differ most.
    public var largestDisagreements: [Disagreement]

    public struct Bootstrap: Sendable, Codable, Equatable {
        public var method: String
        public var replicates: Int
        public var confidence: Double
        public var seed: UInt64
    }

    /// One metric of both models. For AUC ROC and average precision, `lower`/`upper` bound the
    /// difference (paired bootstrap) and a model wins only when the interval excludes 0
    /// (`tie` otherwise); for the others the larger value wins.
    public struct MetricComparison: Sendable, Codable, Equatable {
        public var metric: String
        public var champion: Double
        public var challenger: Double
        /// Challenger minus champion.
        public var difference: Double
        public var lower: Double?
        public var upper: Double?
        /// `challenger`, `champion` or `tie`.
        public var winner: String
    }

    public struct AlertAgreement: Sendable, Codable, Equatable {
        public var both: Int
        public var championOnly: Int
        public var challengerOnly: Int
        public var neither: Int
        /// Share of events on which they agree.
        public var agreement: Double
        /// Cohen's kappa of the two alert decisions (agreement beyond chance).
        public var cohenKappa: Double
    }

    public struct Disagreement: Sendable, Codable, Equatable {
        public var id: String
        public var time: String
        public var label: Bool
        public var championScore: Double
        public var challengerScore: Double
    }

    /// Compares model 1 (challenger) with model 0 (champion) of `events`.
    public init(events: LabelledEvents, champion: ModelEvaluation, challenger: ModelEvaluation, rankedChampion: RankedScores,
                rankedChallenger: RankedScores, bootstrap: PairedBootstrap, disagreements: Int = 20) {
        self.bootstrap = Bootstrap(method: "paired percentile bootstrap over events (SplitMix64, index = next() % n)",
                                   replicates: bootstrap.replicates, confidence: bootstrap.confidence, seed: bootstrap.seed)
        let (auc, precision) = bootstrap.compare(champion: rankedChampion, challenger: rankedChallenger)
        func significant(_ name: String, _ first: Double, _ second: Double, _ interval: PairedBootstrap.Interval) -> MetricComparison {
            let winner = interval.lower > 0 ? "challenger" : interval.upper < 0 ? "champion" : "tie"
            return MetricComparison(metric: name, champion: first, challenger: second, difference: second - first,
                                    lower: interval.lower, upper: interval.upper, winner: winner)
        }
        func larger(_ name: String, _ first: Double, _ second: Double) -> MetricComparison {
            MetricComparison(metric: name, champion: first, challenger: second, difference: second - first, lower: nil, upper: nil,
                             winner: second > first ? "challenger" : second < first ? "champion" : "tie")
        }
        var metrics = [
            significant("aucRoc", champion.aucRoc, challenger.aucRoc, auc),
            significant("averagePrecision", champion.averagePrecision, challenger.averagePrecision, precision),
        ]
        if let first = champion.cardPrecision, let second = challenger.cardPrecision {
            metrics.append(larger("cardPrecisionAt\(first.k)", first.mean, second.mean))
        }
        metrics.append(larger("precision", champion.atAlertRule.precision, challenger.atAlertRule.precision))
        metrics.append(larger("recall", champion.atAlertRule.recall, challenger.atAlertRule.recall))
        metrics.append(larger("f1", champion.atAlertRule.f1, challenger.atAlertRule.f1))
        self.metrics = metrics

        var both = 0, championOnly = 0, challengerOnly = 0, neither = 0
        for (first, second) in zip(events.alerts[0], events.alerts[1]) {
            switch (first, second) {
            case (true, true): both += 1
            case (true, false): championOnly += 1
            case (false, true): challengerOnly += 1
            case (false, false): neither += 1
            }
        }
        let total = Double(max(events.count, 1))
        let observed = Double(both + neither) / total
        let expected = (Double(both + championOnly) * Double(both + challengerOnly) + Double(neither + challengerOnly) * Double(neither + championOnly)) / (total * total)
        alertAgreement = AlertAgreement(both: both, championOnly: championOnly, challengerOnly: challengerOnly, neither: neither,
                                        agreement: observed, cohenKappa: expected < 1 ? (observed - expected) / (1 - expected) : 1)
        let first = events.scores[0], second = events.scores[1]
        let order = events.times.indices.sorted { abs(first[$0] - second[$0]) > abs(first[$1] - second[$1]) || (abs(first[$0] - second[$0]) == abs(first[$1] - second[$1]) && $0 < $1) }
        largestDisagreements = order.prefix(disagreements).map {
            Disagreement(id: events.ids[$0], time: CalendarDay.timeText(events.times[$0]), label: events.labels[$0],
                         championScore: first[$0], challengerScore: second[$0])
        }
    }

    /// The comparison of `metric` (`auc`/`aucRoc` or `ap`/`averagePrecision`), if made.
    public func metric(named name: String) -> MetricComparison? {
        let canonical = ["auc": "aucRoc", "ap": "averagePrecision"][name] ?? name
        return metrics.first { $0.metric == canonical }
    }
}
