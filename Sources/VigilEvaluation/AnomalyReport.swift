import Foundation
import VigilFeatures
public import VigilPipeline
public import VigilTopology

/// The evaluation of an anomaly topology's replay on a labelled stream (`vigil replay
/// --report DIR`): it collects each series' times, plotted value, score and labels from the
/// replayed batches, and writes `anomaly-report.json` (F1, false- and missed-alarm rates at
/// the alert threshold; NAB's three profiles with their swept thresholds, and at the alert
/// threshold) and `anomaly-report.html` (the series, the score and the labelled windows drawn
/// together, inline SVG, no network).
///
/// A series is a key of the topology's first stage. Labels: `labelField` (1: anomalous row)
/// marks the rows F1 is counted on, and its runs of 1 are NAB's windows; with
/// `changepointField` and `nabWindow` (ms), NAB's windows open at each change point and last
/// `nabWindow`, and a detection is a switch of the alarm (SKAB's change-point protocol).
public final class AnomalyReport {
    /// A series as collected.
    public struct Series: Sendable {
        public var key: String
        public var times: [Int64] = []
        public var values: [Double] = []
        public var scores: [Double] = []
        public var labels: [Bool] = []
        public var changepoints: [Bool] = []
    }

    public let topology: Topology
    public let labelField: String
    public let changepointField: String?
    public let nabWindow: Int64?
    /// The alert threshold on the score (from the rule `score >= t`; 0.5 otherwise).
    public let threshold: Double
    public private(set) var series: [Series] = []
    private var seriesIndex: [String: Int] = [:]
    private let labelColumn: Int
    private let changepointColumn: Int?
    private let valueColumn: Int
    private let valueName: String

    /// A report on `topology`'s replay; throws naming a label field the topology lacks.
    public init(topology: Topology, labelField: String, changepointField: String?, nabWindow: Int64?) throws {
        let layout = RowLayout(topology: topology)
        guard let label = layout.column(of: labelField), topology.source.field(named: labelField) != nil else {
            throw PipelineError.input("--report: the topology '\(topology.name)' has no source field '\(labelField)' for the anomaly labels")
        }
        self.topology = topology
        self.labelField = labelField
        labelColumn = label
        self.changepointField = changepointField
        if let changepointField {
            guard let column = layout.column(of: changepointField) else {
                throw PipelineError.input("--report: the topology '\(topology.name)' has no field '\(changepointField)' for the change points")
            }
            changepointColumn = column
        } else {
            changepointColumn = nil
        }
        self.nabWindow = nabWindow
        // The plotted value: the first field the first detector reads, else the first numeric field.
        let plotted = topology.stages.first?.detectors.first?.fields.first
            ?? topology.model?.inputs.first
            ?? topology.source.fields.first { $0.type.isNumeric && $0.name != labelField }?.name ?? labelField
        valueName = plotted
        valueColumn = layout.column(of: plotted) ?? label
        let rule = topology.outputs.alertRule?.conditions.first { $0.subject == "score" && ($0.comparison == .greaterOrEqual || $0.comparison == .greater) }
        threshold = rule?.threshold ?? 0.5
    }

    /// Collects a replayed batch (its live events, in order) with its scores.
    public func add(_ batch: EventBatch, scores: [Double]) {
        for index in 0..<batch.count where batch.isLive(index) {
            let key = topology.stages.isEmpty ? "" : batch.key(index, stage: 0).description
            let position: Int
            if let known = seriesIndex[key] {
                position = known
            } else {
                position = series.count
                seriesIndex[key] = position
                series.append(Series(key: key))
            }
            series[position].times.append(batch.times[index])
            series[position].values.append(batch.value(index, column: valueColumn))
            series[position].scores.append(scores.isEmpty ? .nan : scores[index])
            series[position].labels.append(batch.value(index, column: labelColumn) == 1)
            series[position].changepoints.append(changepointColumn.map { batch.value(index, column: $0) == 1 } ?? false)
        }
    }

    /// NAB's windows of a series: the label runs, or `nabWindow` after each change point.
    func windows(of series: Series) -> [ClosedRange<Int>] {
        var windows: [ClosedRange<Int>] = []
        if let nabWindow, changepointField != nil {
            for (row, isChange) in series.changepoints.enumerated() where isChange {
                let end = series.times[row] + nabWindow
                var last = row
                while last + 1 < series.times.count, series.times[last + 1] <= end { last += 1 }
                // Overlapping windows: the later one starts after the earlier (SKAB's rule).
                let start = max(row, (windows.last?.upperBound ?? -1) + 1)
                if start <= last { windows.append(start...last) }
            }
        } else {
            windows = Self.runs(of: series.labels)
        }
        return windows
    }

    /// The runs of true rows.
    static func runs(of labels: [Bool]) -> [ClosedRange<Int>] {
        var runs: [ClosedRange<Int>] = []
        var start: Int?
        for (row, label) in labels.enumerated() {
            if label, start == nil { start = row }
            if !label, let first = start { runs.append(first...(row - 1)); start = nil }
        }
        if let first = start { runs.append(first...(labels.count - 1)) }
        return runs
    }

    /// What the report says.
    public struct Summary: Sendable, Codable {
        public var topology: String
        public var threshold: Double
        public var series: Int
        public var rows: Int
        public var f1: Double
        public var falseAlarmRate: Double
        public var missedAlarmRate: Double
        public var truePositives: Int
        public var falsePositives: Int
        public var falseNegatives: Int
        public var trueNegatives: Int
        public var windows: Int
        public var nabDetections: String
        /// Per profile: the best normalised score, its threshold, and the score at the alert threshold.
        public var nab: [String: NABResult]
    }

    public struct NABResult: Sendable, Codable {
        public var score: Double
        public var threshold: Double
        public var scoreAtAlertThreshold: Double
    }

    /// Computes the metrics.
    public func summary() -> Summary {
        var metrics = AnomalyMetrics()
        for item in series {
            for (label, score) in zip(item.labels, item.scores) { metrics.add(label: label, alarm: score >= threshold) }
        }
        let changes = changepointField != nil && nabWindow != nil
        let nabSeries = series.map { NABScorer.Series(scores: $0.scores.map { $0.isNaN ? -.infinity : $0 }, windows: windows(of: $0), detectsChanges: changes) }
        var nab: [String: NABResult] = [:]
        for profile in NABScorer.Profile.all {
            let best = NABScorer.sweep(series: nabSeries, profile: profile)
            nab[profile.name] = NABResult(score: best.score, threshold: best.threshold,
                                          scoreAtAlertThreshold: NABScorer.normalised(nabSeries, profile: profile, threshold: threshold))
        }
        return Summary(topology: topology.name, threshold: threshold, series: series.count, rows: series.reduce(0) { $0 + $1.times.count },
                       f1: metrics.f1, falseAlarmRate: metrics.falseAlarmRate, missedAlarmRate: metrics.missedAlarmRate,
                       truePositives: metrics.truePositives, falsePositives: metrics.falsePositives,
                       falseNegatives: metrics.falseNegatives, trueNegatives: metrics.trueNegatives,
                       windows: nabSeries.reduce(0) { $0 + $1.windows.count },
                       nabDetections: changes ? "alarm switches (change points), windows of \(nabWindow! / 1000) s after each" : "rows at or above the threshold, windows = labelled runs",
                       nab: nab)
    }

    /// Writes `anomaly-report.json` and `anomaly-report.html` into `directory` (created if needed).
    @discardableResult
    public func write(to directory: String) throws -> Summary {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let summary = self.summary()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // A stream without labelled rows (or without alarms) has undefined rates.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        try encoder.encode(summary).write(to: URL(fileURLWithPath: directory + "/anomaly-report.json"))
        let html = AnomalyReportPage(report: self, summary: summary, valueName: valueName).html()
        try Data(html.utf8).write(to: URL(fileURLWithPath: directory + "/anomaly-report.html"))
        return summary
    }
}
