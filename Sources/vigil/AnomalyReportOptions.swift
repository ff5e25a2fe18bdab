import ArgumentParser
import VigilEvaluation
import VigilPipeline
import VigilTopology

/// `vigil replay --report DIR` on an anomaly topology (one with detectors, or given
/// --anomaly-label): which fields label the stream, and the report that collects the replay.
struct AnomalyReportOptions: ParsableArguments {
    @Option(help: ArgumentHelp("With --report on an anomaly topology: the source field that is 1 on anomalous rows (default: anomaly).", valueName: "field"))
    var anomalyLabel: String?

    @Option(help: ArgumentHelp("With --report: the source field that is 1 where an anomaly starts; NAB's windows then open there (with --nab-window).", valueName: "field"))
    var changepointLabel: String?

    @Option(help: ArgumentHelp("With --changepoint-label: how long NAB's window after each change point lasts (SKAB: 60s).", valueName: "duration"))
    var nabWindow: String?

    /// Whether `--report` on `topology` is an anomaly report.
    func applies(to topology: Topology) -> Bool {
        topology.hasDetectors || topology.model?.scoreFeature != nil || anomalyLabel != nil
    }

    /// The report collector, or a clear error about the labels.
    func makeReport(for topology: Topology) throws -> AnomalyReport {
        var window: Int64?
        if let nabWindow {
            guard let milliseconds = DurationText.milliseconds(nabWindow), milliseconds > 0 else {
                throw ValidationError("--nab-window must be a duration such as 60s or 5m")
            }
            window = milliseconds
        }
        if window != nil, changepointLabel == nil { throw ValidationError("--nab-window goes with --changepoint-label") }
        return try AnomalyReport(topology: topology, labelField: anomalyLabel ?? "anomaly", changepointField: changepointLabel, nabWindow: window ?? (changepointLabel == nil ? nil : 60_000))
    }

    /// One line about the written report.
    static func describe(_ summary: AnomalyReport.Summary, directory: String) -> String {
        let nab = ["standard", "reward_low_FP", "reward_low_FN"].compactMap { summary.nab[$0].map { String(format: "%.2f", $0.score) } }.joined(separator: " / ")
        return String(format: "anomaly report in %@: F1 %.3f, false alarms %.2f %%, missed %.2f %% at score >= %.2f; NAB (standard / low FP / low FN) %@",
                      directory, summary.f1, summary.falseAlarmRate, summary.missedAlarmRate, summary.threshold, nab)
    }
}
