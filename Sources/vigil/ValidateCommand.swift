import ArgumentParser
import VigilPipeline
import VigilTopology

/// `vigil validate`: Check topology files and report every error with file, line and column.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check topology files and report every error with file, line and column.",
        discussion: "Exits 0 only when every file is valid (a drift section's profile must exist, load and match it); errors go to standard error as FILE:LINE:COLUMN: error: MESSAGE."
    )

    @Argument(help: "Topology files (YAML).")
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one topology file") }
    }

    func run() throws {
        var failures = 0
        for file in files {
            do {
                let topology = try TopologyLoader.load(path: file)
                // The drift profile must also load and match the section.
                _ = try PipelineDriftMonitor.load(topology: topology)
                let stages = topology.stages.map { "\($0.name) by \($0.key)" }.joined(separator: ", ")
                let drift = topology.drift.map { drift in
                    ", drift: \(drift.features.count) features\(drift.monitorsScore ? " and the score" : "") per \(DurationText.text(drift.windowLength))"
                } ?? ""
                print("\(file): ok — topology '\(topology.name)', \(topology.featureNames.count) features, stages: \(stages)\(topology.model.map { ", model inputs: \($0.inputs.count)" } ?? "")\(drift)")
            } catch {
                failures += 1
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
