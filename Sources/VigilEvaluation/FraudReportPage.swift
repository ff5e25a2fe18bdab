import Foundation

/// `report.html`: the fraud report as one self-contained page (inline SVG charts and CSS, no
/// script, no network), laid out to print on A4: the protocol, the metrics side by side, the
/// curves, score distributions, card precision and alerts by day, the alert outcome, the
/// challenger comparison and the drift of the period.
struct FraudReportPage {
    let report: FraudReport
    /// The charts, by file name (without `.svg`), in page order.
    let charts: [(name: String, svg: String)]

    init(report: FraudReport) {
        self.report = report
        charts = Self.makeCharts(report)
    }

    private var models: [ModelEvaluation] { [report.champion] + (report.challenger.map { [$0] } ?? []) }

    static func makeCharts(_ report: FraudReport) -> [(name: String, svg: String)] {
        let models = [report.champion] + (report.challenger.map { [$0] } ?? [])
        let colours = [SVGChart.palette[0], SVGChart.palette[1]]
        func name(_ model: ModelEvaluation) -> String { "\(model.role) (\(URL(fileURLWithPath: model.model).lastPathComponent))" }
        var charts: [(String, String)] = []
        let roc = SVGChart(title: "ROC curve", xLabel: "false positive rate", yLabel: "true positive rate", xRange: 0...1, yRange: 0...1)
        charts.append(("roc", roc.lines(models.enumerated().map { index, model in
            .init(name: "\(name(model)) AUC \(String(format: "%.3f", model.aucRoc))", points: model.rocCurve.map { ($0.x, $0.y) }, colour: colours[index])
        }, diagonal: true)))
        let pr = SVGChart(title: "Precision-recall curve", xLabel: "recall", yLabel: "precision", xRange: 0...1, yRange: 0...1)
        charts.append(("precision-recall", pr.lines(models.enumerated().map { index, model in
            .init(name: "\(name(model)) AP \(String(format: "%.3f", model.averagePrecision))", points: model.precisionRecallCurve.map { ($0.x, $0.y) }, colour: colours[index])
        })))
        for model in models {
            let histogram = model.scoreHistogram
            let bins = zip(histogram.edges, histogram.edges.dropFirst()).map { "\(SVGChart.short($0))–\(SVGChart.short($1))" }
            let positives = max(1, histogram.positive.reduce(0, +)), negatives = max(1, histogram.negative.reduce(0, +))
            let chart = SVGChart(title: "Scores by label, \(model.role) (share of each label's events per bin)", xLabel: "score", yLabel: "share of events",
                                 width: 960, height: 300, categories: bins)
            charts.append(("score-histogram-\(model.role)", chart.bars([
                .init(name: "fraud (\(positives))", points: histogram.positive.enumerated().map { (Double($0), Double($1) / Double(positives)) }, colour: SVGChart.palette[1]),
                .init(name: "genuine (\(negatives))", points: histogram.negative.enumerated().map { (Double($0), Double($1) / Double(negatives)) }, colour: SVGChart.palette[0]),
            ])))
        }
        if let days = report.champion.cardPrecision?.days, let k = report.champion.cardPrecision?.k {
            let chart = SVGChart(title: "Card precision@\(k) by day", xLabel: "day", yLabel: "card precision@\(k)", yRange: 0...1,
                                 categories: days.map { String($0.day.suffix(5)) })
            charts.append(("card-precision", chart.bars(models.enumerated().compactMap { index, model in
                model.cardPrecision.map { cards in
                    .init(name: "\(name(model)) mean \(String(format: "%.3f", cards.mean))", points: cards.days.enumerated().map { (Double($0), $1.precision) }, colour: colours[index])
                }
            })))
        }
        let alertDays = report.champion.alertsPerDay.map { String($0.day.suffix(5)) }
        let alertsChart = SVGChart(title: "Alerts per day", xLabel: "day", yLabel: "alerts", categories: alertDays)
        var alertSeries: [SVGChart.Series] = []
        for (index, model) in models.enumerated() {
            alertSeries.append(.init(name: "\(model.role) alerts", points: model.alertsPerDay.enumerated().map { (Double($0), Double($1.alerts)) }, colour: colours[index]))
            alertSeries.append(.init(name: "\(model.role) true alerts", points: model.alertsPerDay.enumerated().map { (Double($0), Double($1.trueAlerts)) }, colour: index == 0 ? "#9ecae1" : "#fc9272"))
        }
        charts.append(("alerts-per-day", alertsChart.bars(alertSeries)))
        if !report.drift.isEmpty {
            let days = report.drift.map { CalendarDay.text(CalendarDay.of($0.windowStartMs)) }
            var series: [SVGChart.Series] = []
            let features = report.drift[0].numeric.map(\.feature) + report.drift[0].categorical.map(\.feature) + (report.drift[0].score != nil ? ["score"] : [])
            for (index, feature) in features.enumerated() {
                let points = report.drift.enumerated().compactMap { day, record -> (x: Double, y: Double)? in
                    let psi = feature == "score" ? record.score?.psi
                        : record.numeric.first { $0.feature == feature }?.psi ?? record.categorical.first { $0.feature == feature }?.psi
                    return psi.map { (Double(day), $0) }
                }
                series.append(.init(name: feature, points: points, colour: SVGChart.palette[index % SVGChart.palette.count], dashed: index >= SVGChart.palette.count))
            }
            let chart = SVGChart(title: "Drift: PSI by day per feature (0.1 moderate, 0.25 major)", xLabel: "day", yLabel: "PSI", width: 960, height: 380,
                                 categories: days.map { String($0.suffix(5)) })
            charts.append(("drift-psi", chart.lines(series)))
        }
        return charts
    }

    func chart(_ name: String) -> String { charts.first { $0.name == name }?.svg ?? "" }

    var html: String {
        var page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>Vigil report: \(e(report.topology))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 1000px; margin: 24px auto; padding: 0 16px; font-size: 14px; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; border-bottom: 2px solid #1f77b4; padding-bottom: 3px; margin-top: 28px; }
        table { border-collapse: collapse; margin: 8px 0 12px; } th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
        th { background: #f2f5f9; } td.name, th.name { text-align: left; }
        .muted { color: #666; } .win { font-weight: bold; color: #2ca02c; } .lose { color: #d62728; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; } .charts svg { max-width: 100%; height: auto; border: 1px solid #eee; }
        section { break-inside: avoid; page-break-inside: avoid; }
        @media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { break-after: avoid; } svg { max-width: 100% !important; } }
        @page { size: A4; margin: 14mm; }
        </style></head><body>
        <h1>Model evaluation: \(e(report.topology))</h1>
        <p class="muted">Vigil replay report · input \(e(report.input)) · period \(e(report.period.from ?? "start")) to \(e(report.period.until ?? "end")) (events \(e(report.period.firstEvent ?? "–")) to \(e(report.period.lastEvent ?? "–")), UTC)</p>
        """
        page += protocolSection + metricsSection
        page += "<section><h2>Curves</h2><div class=\"charts\">\(chart("roc"))\(chart("precision-recall"))</div></section>"
        page += "<section><h2>Score distributions by label</h2><div class=\"charts\">"
        page += models.map { chart("score-histogram-\($0.role)") }.joined()
        page += "</div>\(quantileTable)</section>"
        if report.champion.cardPrecision != nil {
            page += "<section><h2>Card precision@\(report.champion.cardPrecision!.k) by day</h2><div class=\"charts\">\(chart("card-precision"))</div>\(cardPrecisionTable)</section>"
        }
        page += "<section><h2>Alerts per day and the alert rule</h2><div class=\"charts\">\(chart("alerts-per-day"))</div>\(alertTables)</section>"
        if report.comparison != nil { page += comparisonSection }
        page += driftSection + notes + "</body></html>\n"
        return page
    }

    private var protocolSection: String {
        let protocolInfo = report.evaluation
        var rows = [("Label field", protocolInfo.label), ("Events judged", "\(protocolInfo.events)"), ("Positive events", "\(protocolInfo.positives) (\(percent(Double(protocolInfo.positives) / Double(max(protocolInfo.events, 1)))))")]
        if let entity = protocolInfo.entity { rows.append(("Entity (cards)", entity)) }
        if let delay = protocolInfo.knownLabelDelayDays {
            rows.append(("Known-compromised removal", "labels known \(delay) days later; positives from \(protocolInfo.knownFrom ?? "the start of the replay") count"))
            rows.append(("Events left out (entity known compromised)", "\(protocolInfo.excludedKnownCompromised)"))
        }
        rows.append(("Events left out (no label / no score)", "\(protocolInfo.unlabelled) / \(protocolInfo.unscored)"))
        for model in models { rows.append(("\(model.role.capitalized) model", "\(model.model) (version \(model.version))")) }
        return "<section><h2>Protocol</h2><table>" + rows.map { "<tr><th class=\"name\">\(e($0.0))</th><td class=\"name\">\(e($0.1))</td></tr>" }.joined() + "</table></section>"
    }

    private var metricsSection: String {
        var html = "<section><h2>Metrics</h2><table><tr><th class=\"name\">metric</th><th>champion</th>"
        if report.challenger != nil { html += "<th>challenger</th><th>difference</th><th>\(Int((report.comparison?.bootstrap.confidence ?? 0.95) * 100))% interval</th><th>winner</th>" }
        html += "</tr>"
        let names = ["aucRoc": "AUC ROC", "averagePrecision": "Average precision", "precision": "Precision at the rule", "recall": "Recall at the rule", "f1": "F1 at the rule"]
        if let comparison = report.comparison {
            for metric in comparison.metrics {
                let label = names[metric.metric] ?? metric.metric.replacingOccurrences(of: "cardPrecisionAt", with: "Card precision@")
                let interval = metric.lower.map { "[\(signed($0)), \(signed(metric.upper!))]" } ?? "–"
                let winnerClass = metric.winner == "challenger" ? "win" : metric.winner == "champion" ? "lose" : "muted"
                html += "<tr><td class=\"name\">\(e(label))</td><td>\(number(metric.champion))</td><td>\(number(metric.challenger))</td><td>\(signed(metric.difference))</td><td>\(interval)</td><td class=\"\(winnerClass)\">\(metric.winner)</td></tr>"
            }
        } else {
            let model = report.champion
            var rows = [("AUC ROC", model.aucRoc), ("Average precision", model.averagePrecision)]
            if let cards = model.cardPrecision { rows.append(("Card precision@\(cards.k) (mean of days)", cards.mean)) }
            rows += [("Precision at the rule", model.atAlertRule.precision), ("Recall at the rule", model.atAlertRule.recall), ("F1 at the rule", model.atAlertRule.f1)]
            html += rows.map { "<tr><td class=\"name\">\(e($0.0))</td><td>\(number($0.1))</td></tr>" }.joined()
        }
        return html + "</table></section>"
    }

    private var quantileTable: String {
        var html = "<table><tr><th class=\"name\">score quantile</th>"
        html += report.champion.scoreQuantiles.levels.map { "<th>\(Int(($0 * 100).rounded()))%</th>" }.joined() + "</tr>"
        for model in models {
            for (label, values) in [("fraud", model.scoreQuantiles.positive), ("genuine", model.scoreQuantiles.negative)] {
                html += "<tr><td class=\"name\">\(model.role), \(label)</td>" + values.map { "<td>\(number($0))</td>" }.joined() + "</tr>"
            }
        }
        return html + "</table>"
    }

    private var cardPrecisionTable: String {
        var html = "<table><tr><th class=\"name\">day</th>"
        for model in models { html += "<th>\(model.role) CP@k</th><th>detected</th>" }
        html += "<th>compromised cards</th><th>cards</th></tr>"
        guard let days = report.champion.cardPrecision?.days else { return "" }
        for (index, day) in days.enumerated() {
            html += "<tr><td class=\"name\">\(day.day)</td>"
            for model in models {
                let value = model.cardPrecision?.days[index]
                html += "<td>\(value.map { number($0.precision) } ?? "–")</td><td>\(value?.detectedCards ?? 0)</td>"
            }
            html += "<td>\(day.compromisedCards)</td><td>\(day.cards)</td></tr>"
        }
        return html + "</table>"
    }

    private var alertTables: String {
        var html = "<table><tr><th class=\"name\">model</th><th>rule</th><th>true positives</th><th>false positives</th><th>false negatives</th><th>true negatives</th><th>precision</th><th>recall</th><th>F1</th></tr>"
        for model in models {
            let matrix = model.atAlertRule.confusionMatrix
            html += "<tr><td class=\"name\">\(model.role)</td><td class=\"name\">\(e(model.atAlertRule.rule))</td><td>\(matrix.truePositives)</td><td>\(matrix.falsePositives)</td><td>\(matrix.falseNegatives)</td><td>\(matrix.trueNegatives)</td><td>\(number(model.atAlertRule.precision))</td><td>\(number(model.atAlertRule.recall))</td><td>\(number(model.atAlertRule.f1))</td></tr>"
        }
        html += "</table><table><tr><th class=\"name\">day</th><th>events</th><th>frauds</th>"
        for model in models { html += "<th>\(model.role) alerts</th><th>true alerts</th>" }
        html += "</tr>"
        for (index, day) in report.champion.alertsPerDay.enumerated() {
            html += "<tr><td class=\"name\">\(day.day)</td><td>\(day.events)</td><td>\(day.positives)</td>"
            for model in models { html += "<td>\(model.alertsPerDay[index].alerts)</td><td>\(model.alertsPerDay[index].trueAlerts)</td>" }
            html += "</tr>"
        }
        return html + "</table>"
    }

    private var comparisonSection: String {
        guard let comparison = report.comparison else { return "" }
        let agreement = comparison.alertAgreement
        var html = "<section><h2>Champion versus challenger</h2>"
        html += "<p>Both scored the same \(report.evaluation.events) events in one pass. Intervals: \(e(comparison.bootstrap.method)), \(comparison.bootstrap.replicates) replicates, seed \(comparison.bootstrap.seed); a model wins AUC ROC or average precision only when the interval of the difference excludes 0.</p>"
        html += "<table><tr><th class=\"name\">alerts</th><th>challenger alerts</th><th>challenger silent</th></tr>"
        html += "<tr><th class=\"name\">champion alerts</th><td>\(agreement.both)</td><td>\(agreement.championOnly)</td></tr>"
        html += "<tr><th class=\"name\">champion silent</th><td>\(agreement.challengerOnly)</td><td>\(agreement.neither)</td></tr></table>"
        html += "<p>Agreement \(percent(agreement.agreement)), Cohen's κ \(number(agreement.cohenKappa)).</p>"
        html += "<table><tr><th class=\"name\">event</th><th class=\"name\">time</th><th>label</th><th>champion</th><th>challenger</th><th>difference</th></tr>"
        for item in comparison.largestDisagreements {
            html += "<tr><td class=\"name\">\(e(item.id))</td><td class=\"name\">\(e(item.time))</td><td>\(item.label ? "fraud" : "genuine")</td><td>\(number(item.championScore))</td><td>\(number(item.challengerScore))</td><td>\(signed(item.challengerScore - item.championScore))</td></tr>"
        }
        return html + "</table></section>"
    }

    private var driftSection: String {
        guard !report.drift.isEmpty else {
            return "<section><h2>Drift</h2><p class=\"muted\">The topology has no drift section: no drift records for the period.</p></section>"
        }
        var html = "<section><h2>Drift against the reference profile</h2><div class=\"charts\">\(chart("drift-psi"))</div>"
        html += "<table><tr><th class=\"name\">day</th><th>events</th><th>severity</th><th class=\"name\">features at moderate or major</th></tr>"
        for record in report.drift {
            let flagged = record.numeric.filter { $0.severity.rawValue != "none" }.map { "\($0.feature) \(number($0.psi ?? .nan))" }
                + record.categorical.filter { $0.severity.rawValue != "none" }.map { "\($0.feature) \(number($0.psi ?? .nan))" }
            html += "<tr><td class=\"name\">\(CalendarDay.text(CalendarDay.of(record.windowStartMs)))</td><td>\(record.count)</td><td>\(record.severity.rawValue)</td><td class=\"name\">\(e(flagged.joined(separator: ", ")))</td></tr>"
        }
        return html + "</table></section>"
    }

    private var notes: String {
        """
        <section><h2>Definitions</h2><ul class="muted">
        <li>AUC ROC and average precision as scikit-learn computes them (roc_auc_score; average_precision_score, Σ (Rₙ − Rₙ₋₁) Pₙ without interpolation).</li>
        <li>Card precision@k as the Fraud Detection Handbook defines it: each day the k cards with the highest score (a card's score is its highest transaction score that day), the share of compromised cards among them; cards detected on an earlier day are left out; mean over the days.</li>
        <li>Precision, recall and F1 at the topology's alert rule; alerts per day count the judged events that met it.</li>
        <li>Score quantiles: linear interpolation between order statistics (numpy's default).</li>
        </ul></section>
        """
    }

    private func e(_ text: String) -> String { HTMLText.escape(text) }
    private func number(_ value: Double) -> String { value.isNaN ? "–" : String(format: "%.4f", value) }
    private func signed(_ value: Double) -> String { value.isNaN ? "–" : String(format: "%+.4f", value) }
    private func percent(_ value: Double) -> String { String(format: "%.2f%%", value * 100) }
}

extension SVGChart {
    /// A bin edge, short.
    static func short(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}
