public import VigilPipeline

/// A report made from a replay (`vigil replay --report DIR`): it sees every processed batch
/// and then writes its files into the folder. The fraud report (``FraudReportBuilder``) is
/// one kind; the command picks the kind from the topology.
public protocol ReplayReport {
    /// Takes a processed batch (events before `--from` included, for the state they feed):
    /// `scores[model]` one per event, `alerts[model]` the events that met the alert rule with
    /// that model's scores; model 0 is the champion.
    mutating func observe(_ batch: EventBatch, scores: [[Double]], alerts: [[Int]])

    /// Finishes the report and writes `report.json`, `report.html` and the charts as SVG files
    /// into `directory` (created if missing).
    mutating func write(to directory: String) throws -> ReportSummary
}

/// What the command tells about a written report.
public struct ReportSummary: Sendable {
    /// Lines for the terminal: the headline figures.
    public var lines: [String]
    /// The challenger comparison, when a challenger was scored (for `--require-better`).
    public var comparison: ModelComparison?

    public init(lines: [String], comparison: ModelComparison? = nil) {
        self.lines = lines
        self.comparison = comparison
    }
}
