import ArgumentParser
import Foundation
import Logging
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
        flushed at the end of the input).
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

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if (input == nil) == (topic == nil) { throw ValidationError("give one of --input FILE and --topic NAME") }
        if topic == nil, bootstrap != nil || config != nil { throw ValidationError("--bootstrap and --config go with --topic") }
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
        let loaded = try ReplayConsole.loadTopology(topology, requireDriftProfile: driftOutput != nil)
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
        let kernel = noScore ? nil : try ReplayConsole.loadKernel(for: loaded)
        let source = try makeSource()
        let summary = try ReplayConsole.withProgress { progress in
            try EventReplay(topology: loaded, kernel: kernel, batchSize: batchSize)
                .run(source: source, outputPath: output, from: fromTime, until: untilTime, drift: drift, progress: progress)
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
    }
}
