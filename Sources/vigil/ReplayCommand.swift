import ArgumentParser
import Foundation
import Logging
import VigilEvaluation
import VigilModels
import VigilPipeline
import VigilKafka
import VigilReplay
import VigilRuntime
import VigilTopology

/// `vigil replay`: Replay events from a file or a topic through a topology, the same code path as live scoring.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay events from a file or a topic through a topology, the same code path as live scoring.",
        discussion: """
        Reads CSV (with a header) or JSON lines, plain or LZ4-framed (.lz4), or with --topic every partition of a \
        topic from its start to its end (read_committed, outside any consumer group; records decoded as \
        `vigil run` decodes them; partitions interleave as they are fetched), and writes one CSV row per event: \
        the source's id fields, every feature in topology order, and the score when the topology's model loads. \
        Events before --from still feed the windows (they need history) but are not written; events at or \
        after --until are skipped. Malformed rows are counted and reported with their line numbers (a topic's with \
        topic/partition@offset). \
        With --drift-output, the topology's drift section compares each window of [--from, --until) with its \
        reference profile and every drift record and alert goes to that JSON-lines file (the last window is \
        flushed at the end of the input). \
        With --report DIR, the events of [--from, --until) are judged against the label the topology's evaluation \
        section names, and DIR gets report.json, report.html (self-contained, printable) and the charts as SVG files: \
        AUC ROC, average precision, card precision@k per day, the alert rule's confusion matrix, precision, recall \
        and F1, alerts per day, score quantiles by label, and the period's drift. --challenger scores every event \
        with a second model in the same pass and compares the two (paired bootstrap intervals for the AUC and \
        average-precision differences); --require-better auc|ap exits 1 unless the interval's lower bound is at \
        least 0. --explain K adds the K inputs with the largest TreeSHAP contributions to each row (tree models).
        """
    )

    @Option(help: "The topology file.")
    var topology: String

    @Option(help: "The events: .csv, .jsonl (or .ndjson/.json), optionally .lz4.")
    var input: String?

    @Option(help: "Replay this topic instead of a file (the topology's source format).")
    var topic: String?

    @Option(name: .long, help: ArgumentHelp("With --topic: Kafka bootstrap servers (default: the --config file's, else 127.0.0.1:9092).", valueName: "host:port"))
    var bootstrap: String?

    @Option(name: .long, help: ArgumentHelp("With --topic: a service configuration file, for its Kafka settings (security properties).", valueName: "file"))
    var config: String?

    @Option(help: "Write rows for events at or after this time (YYYY-MM-DD[ HH:MM:SS], UTC, or epoch ms).")
    var from: String?

    @Option(help: "Skip events at or after this time (same forms as --from).")
    var until: String?

    @Option(help: "The output CSV (.csv, or .csv.lz4 to compress).")
    var output: String

    @Option(help: "Write drift records and alerts (JSON lines) here; needs a drift section in the topology.")
    var driftOutput: String?

    @Option(help: "Events per micro-batch.")
    var batchSize = 4096

    @Flag(help: "Write features only, even when the topology names a model.")
    var noScore = false

    @Option(help: ArgumentHelp("Score with this model file instead of the topology's (the champion).", valueName: "file"))
    var model: String?

    @Option(help: ArgumentHelp("Also score every event with this model and compare it with the champion in the report.", valueName: "file"))
    var challenger: String?

    @Option(help: ArgumentHelp("Write report.json, report.html and the charts (SVG) into this folder: a labelled fraud backtest (needs the topology's evaluation section), or an anomaly evaluation (F1, NAB) for a topology with detectors.", valueName: "dir"))
    var report: String?

    @Option(help: ArgumentHelp("With --report: positive labels from this time on make their entity known compromised (default: every replayed event's).", valueName: "time"))
    var knownFrom: String?

    @Option(help: ArgumentHelp("With --challenger: exit 1 unless the challenger is better on this metric (auc or ap): the bootstrap interval's lower bound must be at least 0.", valueName: "metric"))
    var requireBetter: String?

    @Option(help: ArgumentHelp("With --challenger: bootstrap replicates.", valueName: "n"))
    var bootstrapReplicates = 1000

    @Option(help: ArgumentHelp("With --challenger: the bootstrap's seed.", valueName: "n"))
    var seed: UInt64 = PairedBootstrap.defaultSeed

    @Option(help: ArgumentHelp("Add the K inputs with the largest TreeSHAP contributions to each row (XGBoost and LightGBM models).", valueName: "k"))
    var explain = 0

    @OptionGroup var anomalyReport: AnomalyReportOptions

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if (input == nil) == (topic == nil) { throw ValidationError("give one of --input FILE and --topic NAME") }
        if topic == nil, bootstrap != nil || config != nil { throw ValidationError("--bootstrap and --config go with --topic") }
        if noScore, model != nil || challenger != nil || report != nil || explain > 0 {
            throw ValidationError("--no-score cannot go with --model, --challenger, --report or --explain")
        }
        if explain < 0 { throw ValidationError("--explain must be 0 or more") }
        if knownFrom != nil, report == nil { throw ValidationError("--known-from goes with --report") }
        if let requireBetter {
            guard ["auc", "ap"].contains(requireBetter) else { throw ValidationError("--require-better takes auc or ap, not '\(requireBetter)'") }
            guard challenger != nil, report != nil else { throw ValidationError("--require-better needs --challenger and --report") }
        }
        if bootstrapReplicates < 1 { throw ValidationError("--bootstrap-replicates must be at least 1") }
    }

    /// The champion (the topology's model, or --model) and the challenger, as kernels and as
    /// the report names them; exits 1 with the reason when one does not load.
    private func loadModels(_ topology: Topology) throws -> (champion: (any ScoringKernel)?, challenger: (any ScoringKernel)?, names: [FraudReportBuilder.Model]) {
        do {
            var names: [FraudReportBuilder.Model] = []
            let champion: (any ScoringKernel)?
            if let model {
                champion = try ModelKernels.kernel(path: model, for: topology, explain: explain > 0)
                names.append(.init(file: model, version: URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent))
            } else {
                champion = try ModelKernels.kernel(for: topology, explain: explain > 0)
                if let path = topology.resolvedModelPath { names.append(.init(file: path, version: topology.model?.version ?? "")) }
            }
            // An anomaly report needs no model (a detector's output is the score), a backtest does.
            let backtest = report != nil && !anomalyReport.applies(to: topology)
            if champion == nil, topology.model?.scoreFeature == nil, backtest || challenger != nil || explain > 0 {
                printError(backtest
                    ? "error: --report: the topology '\(topology.name)' has no model to backtest and no anomaly detector; give a model with --model, or --anomaly-label to evaluate its score as an anomaly score"
                    : "error: the topology '\(topology.name)' has no model; give one with --model")
                throw ExitCode(1)
            }
            let second = try challenger.map { try ModelKernels.kernel(path: $0, for: topology) }
            if let challenger { names.append(.init(file: challenger, version: URL(fileURLWithPath: challenger).deletingPathExtension().lastPathComponent)) }
            return (champion, second, names)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// The labelled backtest of a scoring model (labels, card precision); anomaly topologies get
    /// ``AnomalyReportOptions``' report instead (see `run`).
    private func makeReport(_ topology: Topology, layout: RowLayout, models: [FraudReportBuilder.Model], from: Int64?, until: Int64?) throws -> any ReplayReport {
        let knownFromTime = try knownFrom.map { try ReplayConsole.time($0, option: "--known-from") }
        do {
            let drift = try PipelineDriftMonitor.load(topology: topology)
            return try FraudReportBuilder(topology: topology, layout: layout, input: topic ?? input ?? "", models: models, from: from, until: until,
                                          knownFrom: knownFromTime, drift: drift,
                                          bootstrap: PairedBootstrap(replicates: bootstrapReplicates, seed: seed))
        } catch let error as TopologyLoadError {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode(1)
        } catch {
            printError("error: --report: \(error)")
            throw ExitCode(1)
        }
    }

    /// The file, or the topic with the Kafka settings of --config and --bootstrap.
    private func makeSource() throws -> any ReplaySource {
        guard let topic else { return FileSource(path: input ?? "") }
        do {
            let kafka = try ServiceConfiguration.kafka(config: config, bootstrap: bootstrap, clientID: "vigil-replay")
            VigilLogging.bootstrap(level: .warning, format: .text, redactor: SecretRedactor(configuration: kafka))
            return TopicSource(topic: topic, kafka: kafka, logger: Logger(label: "vigil.replay"))
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    func run() throws {
        // The drift profile is only needed when drift records are asked for.
        let loaded = try ReplayConsole.loadTopology(topology, requireDriftProfile: driftOutput != nil || report != nil)
        var drift: DriftOutput?
        if let driftOutput {
            guard loaded.drift != nil else {
                printError("error: --drift-output: the topology '\(loaded.name)' (\(topology)) has no drift section")
                throw ExitCode(1)
            }
            if noScore, loaded.drift?.monitorsScore == true {
                printError("error: --drift-output with --no-score: the drift section watches the score; set `score: false` in it to watch features only")
                throw ExitCode(1)
            }
            do {
                drift = try PipelineDriftMonitor.load(topology: loaded).map { DriftOutput(monitor: $0, path: driftOutput) }
            } catch {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                throw ExitCode(1)
            }
        }
        let fromTime = try from.map { try ReplayConsole.time($0, option: "--from") }
        let untilTime = try until.map { try ReplayConsole.time($0, option: "--until") }
        // The same loading and input check as `vigil run`: a model that does not load is an error.
        let models = noScore ? (champion: nil, challenger: nil, names: []) : try loadModels(loaded)
        let replay: EventReplay
        do {
            replay = try EventReplay(topology: loaded, kernel: models.champion, challenger: models.challenger, batchSize: batchSize)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        // One report per run: an anomaly evaluation for topologies with detectors (or an
        // --anomaly-label), otherwise the labelled backtest of the evaluation section.
        let anomaly = try report.flatMap { _ in anomalyReport.applies(to: loaded) ? try anomalyReport.makeReport(for: loaded) : nil }
        var reportBuilder = try report.flatMap { _ in
            anomaly == nil ? try makeReport(loaded, layout: RowLayout(topology: loaded), models: models.names, from: fromTime, until: untilTime) : nil
        }
        let source = try makeSource()
        let summary = try ReplayConsole.withProgress { progress in
            try replay.run(source: source, outputPath: output, from: fromTime, until: untilTime, drift: drift, explain: explain,
                           observe: report == nil ? nil : { batch, scores, alerts in
                               reportBuilder?.observe(batch, scores: scores, alerts: alerts)
                               anomaly?.add(batch, scores: scores[0])
                           },
                           progress: progress)
        }
        if let report, let anomaly {
            printError(AnomalyReportOptions.describe(try anomaly.write(to: report), directory: report))
        }
        let inputName = topic ?? input ?? ""
        ReplayConsole.reportRows(of: summary, input: inputName)
        let rate = summary.seconds > 0 ? Double(summary.eventsRead) / summary.seconds : 0
        printError("""
            replayed \(summary.eventsRead) events in \(String(format: "%.1f", summary.seconds)) s (\(Int(rate)) events/s): \
            \(summary.rowsWritten) rows written to \(output), \(summary.malformedCount) malformed, \(summary.rejectedCount) rejected; \
            keys per stage: \(zip(loaded.stages, summary.keysPerStage).map { "\($0.name) \($1)" }.joined(separator: ", "))\
            \(summary.scored ? "" : "; no scores")\
            \(driftOutput.map { "; \(summary.driftRecords) drift records and \(summary.driftAlerts) drift alerts written to \($0)" } ?? "")
            """)
        guard let report, var builder = reportBuilder else { return }
        let written: ReportSummary
        do {
            written = try builder.write(to: report)
        } catch {
            printError("error: --report \(report): \(error)")
            throw ExitCode(1)
        }
        for line in written.lines { printError(line) }
        printError("report written to \(report)/report.json and \(report)/report.html")
        if let requireBetter, let metric = written.comparison?.metric(named: requireBetter), let lower = metric.lower {
            if lower < 0 {
                printError("--require-better \(requireBetter): the challenger is not better: the interval of the difference starts at \(String(format: "%+.4f", lower)), below 0")
                throw ExitCode(1)
            }
            printError("--require-better \(requireBetter): the challenger is better (interval of the difference from \(String(format: "%+.4f", lower)))")
        }
    }
}
