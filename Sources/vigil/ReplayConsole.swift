import ArgumentParser
import Foundation
import VigilModels
import VigilPipeline
import VigilReplay
import VigilTopology

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// What the replay commands (`vigil replay`, `vigil profile`) share: loading the topology
/// and model with every problem on standard error, the progress line on a terminal, and the
/// report of rows that were not replayed.
enum ReplayConsole {
    /// The topology at `path`; otherwise prints its diagnostics and exits 1.
    static func loadTopology(_ path: String, requireDriftProfile: Bool) throws -> Topology {
        do {
            return try TopologyLoader.load(path: path, requireDriftProfile: requireDriftProfile)
        } catch {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode(1)
        }
    }

    /// The topology's model as a kernel, checked as `vigil run` checks it; otherwise exits 1.
    static func loadKernel(for topology: Topology) throws -> (any ScoringKernel)? {
        do {
            return try ModelKernels.kernel(for: topology)
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }

    /// Runs `replay` with a progress line on a terminal (nil progress otherwise), clearing the
    /// line when it ends; an error is printed and exits 1.
    static func withProgress<Result>(_ replay: (((ReplayProgress) -> Void)?) throws -> Result) throws -> Result {
        let terminal = isatty(STDERR_FILENO) == 1
        let result: Result
        do {
            result = try replay(terminal ? { drawProgress($0) } : nil)
        } catch {
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        return result
    }

    /// The rows of `input` the replay could not read or refused, as `file:line: reason` (or
    /// `topic/partition@offset: reason`).
    static func reportRows(of summary: ReplaySummary, input: String) {
        for (place, reason) in summary.malformed { printError("\(place.describe(in: input)): malformed: \(reason)") }
        if summary.malformedCount > summary.malformed.count {
            printError("… and \(summary.malformedCount - summary.malformed.count) more malformed rows")
        }
        for (place, reason) in summary.rejected { printError("\(place.describe(in: input)): rejected: \(reason)") }
    }

    /// A `--from`/`--until` value: `YYYY-MM-DD[ HH:MM:SS]` (UTC) or epoch milliseconds.
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
            line += String(format: "%3.0f%%  %@ events  %@ events/s  ETA %@", fraction * 100, "\(progress.eventsRead)", "\(Int(rate))", clock(remaining))
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
