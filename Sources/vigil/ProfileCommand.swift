import ArgumentParser
import Foundation
import VigilDrift
import VigilModels
import VigilReplay
import VigilTopology

/// `vigil profile`: Build a topology's drift reference profile from a replay of its training period.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Build a topology's drift reference profile from a replay of its training period.",
        discussion: """
        Replays the input through the topology exactly as `vigil replay` does (events before --from still feed \
        the windows; events at or after --until are skipped) and profiles the drift section's watched features \
        and the model's score over the events in [--from, --until): quantile bin edges and shares, mean, std, \
        min, max, missing share, a fine quantile sketch, category shares. The profile is JSON (docs/drift.md); \
        point the drift section's `profile` at it.
        """
    )

    @Option(help: "The topology file; it needs a drift section.")
    var topology: String

    @Option(help: "The events: .csv, .jsonl (or .ndjson/.json), optionally .lz4.")
    var input: String

    @Option(help: "Profile events at or after this time (YYYY-MM-DD[ HH:MM:SS], UTC, or epoch ms).")
    var from: String?

    @Option(help: "Skip events at or after this time (same forms as --from).")
    var until: String?

    @Option(help: "The profile to write (JSON).")
    var output: String

    @Option(help: "Quantile bins per numeric feature, for PSI and Jensen–Shannon.")
    var bins = 10

    @Option(help: "Bins of the fine quantile sketch behind KS and Wasserstein (at least --bins).")
    var sketchResolution = 1000

    @Option(help: "Events per micro-batch.")
    var batchSize = 4096

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if bins < 2 { throw ValidationError("--bins must be at least 2") }
        if sketchResolution < bins { throw ValidationError("--sketch-resolution must be at least --bins") }
    }

    func run() throws {
        // The profile this command writes need not exist yet.
        let loaded = try ReplayConsole.loadTopology(topology, requireDriftProfile: false)
        guard let spec = loaded.drift else {
            printError("error: the topology '\(loaded.name)' (\(topology)) has no drift section: it names the features to profile")
            throw ExitCode(1)
        }
        let fromTime = try from.map { try ReplayConsole.time($0, option: "--from") }
        let untilTime = try until.map { try ReplayConsole.time($0, option: "--until") }
        let kernel = spec.monitorsScore ? try ReplayConsole.loadKernel(for: loaded) : nil
        let (profile, summary) = try ReplayConsole.withProgress { progress in
            let built = try EventReplay(topology: loaded, kernel: kernel, batchSize: batchSize).buildProfile(
                inputPath: input, from: fromTime, until: untilTime,
                configuration: .init(bins: bins, sketchResolution: sketchResolution), progress: progress)
            try built.profile.encodedJSON().write(to: URL(fileURLWithPath: output))
            return built
        }
        ReplayConsole.reportRows(of: summary, input: input)
        let period = [profile.periodStartMs, profile.periodEndMs].map { $0.map(Self.utc) ?? "?" }.joined(separator: " .. ")
        printError("""
            replayed \(summary.eventsRead) events in \(String(format: "%.1f", summary.seconds)) s: profiled \(profile.eventCount) \
            events (\(period)), \(profile.numeric.count) numeric and \(profile.categorical.count) categorical features\
            \(profile.score == nil ? "" : " and the score"); \(summary.malformedCount) malformed, \(summary.rejectedCount) rejected; \
            wrote \(output)
            """)
    }

    static func utc(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
