import ArgumentParser
import Foundation
import VigilModels
import VigilPipeline
import VigilReplay
import VigilTopology

/// `vigil replay`: Replay events from a file through a topology, the same code path as live scoring.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay events from a file through a topology, the same code path as live scoring.",
        discussion: """
        Reads CSV (with a header) or JSON lines, plain or LZ4-framed (.lz4), and writes one CSV row per event: \
        the source's id fields, every feature in topology order, and the score when the topology's model loads. \
        Events before --from still feed the windows (they need history) but are not written; events at or \
        after --until are skipped. Malformed rows are counted and reported with their line numbers. \
        With --drift-output, the topology's drift section compares each window of [--from, --until) with its \
        reference profile and every drift record and alert goes to that JSON-lines file (the last window is \
        flushed at the end of the input).
        """
    )

    @Option(help: "The topology file.")
    var topology: String

    @Option(help: "The events: .csv, .jsonl (or .ndjson/.json), optionally .lz4.")
    var input: String

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
    }

    func run() throws {
        let loaded: Topology
        do {
            // The drift profile is only needed when drift records are asked for.
            loaded = try TopologyLoader.load(path: topology, requireDriftProfile: driftOutput != nil)
        } catch {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode(1)
        }
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
        let fromTime = try from.map { try Self.time($0, option: "--from") }
        let untilTime = try until.map { try Self.time($0, option: "--until") }
        // The same loading and input check as `vigil run`: a model that does not load is an error.
        var kernel: (any ScoringKernel)?
        if !noScore {
            do {
                kernel = try ModelKernels.kernel(for: loaded)
            } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let progress: ((ReplayProgress) -> Void)? = terminal ? { Self.drawProgress($0) } : nil
        let replay: FileReplay
        let summary: ReplaySummary
        do {
            replay = try FileReplay(topology: loaded, kernel: kernel, batchSize: batchSize)
            summary = try replay.run(inputPath: input, outputPath: output, from: fromTime, until: untilTime,
                                     drift: drift, progress: progress)
        } catch {
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        for (line, reason) in summary.malformed { printError("\(input):\(line): malformed: \(reason)") }
        if summary.malformedCount > summary.malformed.count {
            printError("… and \(summary.malformedCount - summary.malformed.count) more malformed rows")
        }
        for (line, reason) in summary.rejected { printError("\(input):\(line): rejected: \(reason)") }
        let rate = summary.seconds > 0 ? Double(summary.eventsRead) / summary.seconds : 0
        printError("""
            replayed \(summary.eventsRead) events in \(String(format: "%.1f", summary.seconds)) s (\(Int(rate)) events/s): \
            \(summary.rowsWritten) rows written to \(output), \(summary.malformedCount) malformed, \(summary.rejectedCount) rejected; \
            keys per stage: \(zip(loaded.stages, summary.keysPerStage).map { "\($0.name) \($1)" }.joined(separator: ", "))\
            \(summary.scored ? "" : "; no scores")\
            \(driftOutput.map { "; \(summary.driftRecords) drift records and \(summary.driftAlerts) drift alerts written to \($0)" } ?? "")
            """)
    }

    static func time(_ text: String, option: String) throws -> Int64 {
        if let value = TimestampParser.parse(text, format: .datetime) { return value }
        if let value = Int64(text) { return value }
        throw ValidationError("\(option) '\(text)': expected YYYY-MM-DD[ HH:MM:SS] (UTC) or epoch milliseconds")
    }

    static func drawProgress(_ progress: ReplayProgress) {
        let rate = progress.elapsed > 0 ? Double(progress.eventsRead) / progress.elapsed : 0
        var line = "\r\u{1B}[K"
        if let total = progress.totalBytes, total > 0 {
            let fraction = min(1, Double(progress.bytesRead) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            let remaining = fraction > 0 ? progress.elapsed * (1 - fraction) / fraction : 0
            line += "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            line += String(format: "%3.0f%%  %@ events  %@ events/s  ETA %@", fraction * 100, "\(progress.eventsRead)", "\(Int(rate))", Self.clock(remaining))
        } else {
            line += "\(progress.eventsRead) events  \(Int(rate)) events/s"
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
