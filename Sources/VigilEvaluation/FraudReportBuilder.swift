import Foundation
import VigilDrift
public import VigilPipeline
public import VigilTopology

/// Builds the fraud report of a replay: collects the labelled events (``EvaluationCollector``)
/// and the period's drift records, then judges each model and compares them.
public struct FraudReportBuilder: ReplayReport {
    /// A model the replay scores with.
    public struct Model: Sendable {
        public var file: String
        public var version: String
        public init(file: String, version: String) {
            self.file = file
            self.version = version
        }
    }

    private var collector: EvaluationCollector
    private var drift: PipelineDriftMonitor?
    private var driftRecords: [DriftRecord] = []
    private let topology: Topology
    private let input: String
    private let models: [Model]
    private let from: Int64?
    private let until: Int64?
    private let knownFrom: Int64?
    private let bootstrap: PairedBootstrap
    /// The report, once written.
    public private(set) var report: FraudReport?

    /// A report of `topology` (with an `evaluation` section) on `input`, judging `models`
    /// (the champion, then a challenger if any) over [from, until); `drift`, when given, adds
    /// the period's drift records (the champion's scores feed its score watch).
    public init(topology: Topology, layout: RowLayout, input: String, models: [Model], from: Int64?, until: Int64?, knownFrom: Int64?,
                drift: PipelineDriftMonitor?, bootstrap: PairedBootstrap = PairedBootstrap()) throws(EvaluationError) {
        precondition((1...2).contains(models.count), "a champion and at most one challenger")
        collector = try EvaluationCollector(topology: topology, layout: layout, models: models.count, from: from, knownFrom: knownFrom)
        self.drift = drift
        self.topology = topology
        self.input = input
        self.models = models
        self.from = from
        self.until = until
        self.knownFrom = knownFrom
        self.bootstrap = bootstrap
    }

    public mutating func observe(_ batch: EventBatch, scores: [[Double]], alerts: [[Int]]) {
        collector.add(batch, scores: scores, alerts: alerts)
        if drift != nil { driftRecords += drift!.observe(batch, scores: scores.first ?? [], from: from).map(\.record) }
    }

    /// Judges the collected events.
    public mutating func finish() -> FraudReport {
        if drift != nil { driftRecords += drift!.flush().map(\.record) }
        let events = collector.events
        let spec = collector.spec
        let rule = topology.outputs.alertRule?.description ?? "(no alert rule)"
        let ranked = events.scores.map { RankedScores(scores: $0, labels: events.labels) }
        let edges = Self.histogramEdges(events.scores)
        let topK = collector.hasEntities ? spec.topK : nil
        let roles = ["champion", "challenger"]
        let evaluations = models.indices.map { model in
            ModelEvaluation(role: roles[model], model: models[model].file, version: models[model].version, rule: rule, events: events,
                            model: model, ranked: ranked[model], topK: topK, histogramEdges: edges)
        }
        let comparison = evaluations.count == 2
            ? ModelComparison(events: events, champion: evaluations[0], challenger: evaluations[1], rankedChampion: ranked[0],
                              rankedChallenger: ranked[1], bootstrap: bootstrap)
            : nil
        let report = FraudReport(
            topology: topology.name, input: input,
            period: .init(from: from.map(CalendarDay.timeText), until: until.map(CalendarDay.timeText),
                          firstEvent: collector.firstTime.map(CalendarDay.timeText), lastEvent: collector.lastTime.map(CalendarDay.timeText)),
            evaluation: .init(label: spec.label, entity: spec.entity, topK: topK,
                              knownLabelDelayDays: collector.hasEntities ? spec.knownLabelDelay.map { Int($0 / CalendarDay.millisecondsPerDay) } : nil,
                              knownFrom: knownFrom.map(CalendarDay.timeText), events: events.count,
                              positives: events.labels.reduce(0) { $0 + ($1 ? 1 : 0) }, excludedKnownCompromised: collector.excludedKnown,
                              unlabelled: collector.unlabelled, unscored: collector.unscored),
            champion: evaluations[0], challenger: evaluations.count > 1 ? evaluations[1] : nil, comparison: comparison,
            drift: driftRecords)
        self.report = report
        return report
    }

    public mutating func write(to directory: String) throws -> ReportSummary {
        let report = finish()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try encoder.encode(report).write(to: URL(fileURLWithPath: directory + "/report.json"))
        let page = FraudReportPage(report: report)
        for (name, svg) in page.charts { try Data(svg.utf8).write(to: URL(fileURLWithPath: directory + "/\(name).svg")) }
        try Data(page.html.utf8).write(to: URL(fileURLWithPath: directory + "/report.html"))
        return ReportSummary(lines: Self.summary(report), comparison: report.comparison)
    }

    /// Twenty equal bins over [0, 1] for probabilities, else over the scores' range.
    static func histogramEdges(_ scores: [[Double]]) -> [Double] {
        let all = scores.joined().filter(\.isFinite)
        let low = all.min() ?? 0, high = all.max() ?? 1
        let (start, end) = low >= 0 && high <= 1 ? (0.0, 1.0) : (low, high > low ? high : low + 1)
        return (0...20).map { start + (end - start) * Double($0) / 20 }
    }

    static func summary(_ report: FraudReport) -> [String] {
        func line(_ model: ModelEvaluation) -> String {
            var text = "\(model.role) \(model.model): AUC ROC \(String(format: "%.4f", model.aucRoc)), average precision \(String(format: "%.4f", model.averagePrecision))"
            if let cards = model.cardPrecision { text += ", card precision@\(cards.k) \(String(format: "%.4f", cards.mean))" }
            let matrix = model.atAlertRule
            text += "; at \(matrix.rule): precision \(String(format: "%.3f", matrix.precision)), recall \(String(format: "%.3f", matrix.recall)), F1 \(String(format: "%.3f", matrix.f1))"
            return text
        }
        var lines = ["\(report.evaluation.events) events judged (\(report.evaluation.positives) positive; \(report.evaluation.excludedKnownCompromised) left out as known compromised, \(report.evaluation.unlabelled) unlabelled)"]
        lines.append(line(report.champion))
        if let challenger = report.challenger { lines.append(line(challenger)) }
        if let comparison = report.comparison {
            for metric in comparison.metrics where metric.lower != nil {
                lines.append("challenger − champion \(metric.metric): \(String(format: "%+.4f", metric.difference)) [\(String(format: "%+.4f", metric.lower!)), \(String(format: "%+.4f", metric.upper!))] → \(metric.winner)")
            }
        }
        return lines
    }
}
