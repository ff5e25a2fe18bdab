import Foundation

/// The self-contained HTML page of an ``AnomalyReport``: the metrics, then per series an inline
/// SVG of the plotted value and the score over time, with the labelled windows shaded, the
/// alert threshold drawn and the alarms marked. No script, no network.
struct AnomalyReportPage {
    let report: AnomalyReport
    let summary: AnomalyReport.Summary
    let valueName: String
    /// At most this many points per line (every n-th row beyond it).
    static let maximumPoints = 2000

    func html() -> String {
        var page = """
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>Vigil anomaly report: \(escape(summary.topology))</title>
        <style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}
        td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f4f4f4}h2{margin-top:28px;font-size:16px}
        .legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle}</style>
        </head><body><h1>Anomaly report: \(escape(summary.topology))</h1>
        <p>\(summary.series) series, \(summary.rows) rows; alert threshold score ≥ \(format(summary.threshold)).</p>
        <table><tr><th>F1</th><th>false-alarm rate</th><th>missed-alarm rate</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th></tr>
        <tr><td>\(format(summary.f1))</td><td>\(format(summary.falseAlarmRate)) %</td><td>\(format(summary.missedAlarmRate)) %</td>
        <td>\(summary.truePositives)</td><td>\(summary.falsePositives)</td><td>\(summary.falseNegatives)</td><td>\(summary.trueNegatives)</td></tr></table>
        <p>NAB over \(summary.windows) windows; detections: \(escape(summary.nabDetections)).</p>
        <table><tr><th>profile</th><th>best score</th><th>at threshold</th><th>score at the alert threshold</th></tr>
        """
        for name in ["standard", "reward_low_FP", "reward_low_FN"] {
            guard let result = summary.nab[name] else { continue }
            page += "<tr><td>\(name)</td><td>\(format(result.score))</td><td>\(format(result.threshold))</td><td>\(format(result.scoreAtAlertThreshold))</td></tr>"
        }
        page += """
        </table><p class="legend"><span><i class="sw" style="background:#f6c6c6"></i>labelled anomaly</span>
        \(report.changepointField == nil ? "" : "<span><i class=\"sw\" style=\"background:#4e9a06\"></i>NAB window</span>")
        <span><i class="sw" style="background:#3465a4"></i>\(escape(valueName))</span><span><i class="sw" style="background:#e07b00"></i>score</span>
        <span><i class="sw" style="background:#a40000"></i>alarm</span></p>
        """
        for series in report.series { page += chart(series) }
        return page + "</body></html>\n"
    }

    private func chart(_ series: AnomalyReport.Series) -> String {
        let width = 1100.0, height = 220.0, split = 130.0
        let count = series.times.count
        guard count > 1 else { return "" }
        let step = max(1, count / Self.maximumPoints)
        let first = Double(series.times.first!), last = Double(max(series.times.last!, series.times.first! + 1))
        func x(_ row: Int) -> Double { (Double(series.times[row]) - first) / (last - first) * width }
        let values = series.values.filter { $0.isFinite }
        let low = values.min() ?? 0, high = max(values.max() ?? 1, low + 1e-12)
        var svg = "<h2>\(escape(series.key.isEmpty ? "(one series)" : series.key))</h2>"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" style=\"border:1px solid #ddd\">"
        for run in AnomalyReport.runs(of: series.labels) {
            let left = x(run.lowerBound), right = max(x(run.upperBound), left + 1)
            svg += "<rect x=\"\(format(left))\" y=\"0\" width=\"\(format(right - left))\" height=\"\(Int(height))\" fill=\"#f6c6c6\"/>"
        }
        // NAB's windows, when they are not the labelled runs themselves: a band along the top.
        if report.changepointField != nil {
            for window in report.windows(of: series) {
                let left = x(window.lowerBound), right = max(x(window.upperBound), left + 1)
                svg += "<rect x=\"\(format(left))\" y=\"0\" width=\"\(format(right - left))\" height=\"8\" fill=\"#4e9a06\"/>"
            }
        }
        var valuePath = "", scorePath = ""
        for row in stride(from: 0, to: count, by: step) {
            if series.values[row].isFinite {
                let y = split - 5 - (series.values[row] - low) / (high - low) * (split - 10)
                valuePath += (valuePath.isEmpty ? "M" : "L") + "\(format(x(row))),\(format(y))"
            }
            if series.scores[row].isFinite {
                let y = height - 5 - min(1, max(0, series.scores[row])) * (height - split - 10)
                scorePath += (scorePath.isEmpty ? "M" : "L") + "\(format(x(row))),\(format(y))"
            }
        }
        svg += "<path d=\"\(valuePath)\" fill=\"none\" stroke=\"#3465a4\" stroke-width=\"1\"/>"
        svg += "<line x1=\"0\" x2=\"\(Int(width))\" y1=\"\(format(split))\" y2=\"\(format(split))\" stroke=\"#999\"/>"
        let thresholdY = height - 5 - min(1, max(0, summary.threshold)) * (height - split - 10)
        svg += "<line x1=\"0\" x2=\"\(Int(width))\" y1=\"\(format(thresholdY))\" y2=\"\(format(thresholdY))\" stroke=\"#a40000\" stroke-dasharray=\"4 3\"/>"
        svg += "<path d=\"\(scorePath)\" fill=\"none\" stroke=\"#e07b00\" stroke-width=\"1\"/>"
        var alarms = ""
        for row in 0..<count where series.scores[row] >= summary.threshold && (row == 0 || !(series.scores[row - 1] >= summary.threshold)) {
            alarms += "M\(format(x(row))),\(format(split))V\(Int(height))"
        }
        svg += "<path d=\"\(alarms)\" stroke=\"#a40000\" stroke-width=\"1\"/>"
        return svg + "</svg>"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private func format(_ value: Double) -> String { value.isFinite ? String(format: "%.3f", value) : "–" }
}
