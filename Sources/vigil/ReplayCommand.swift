import ArgumentParser

/// `vigil replay`: Replay events from a file through a topology, the same code path as live scoring.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay events from a file through a topology, the same code path as live scoring."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("replay", issue: 3)
    }
}
