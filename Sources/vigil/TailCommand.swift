import ArgumentParser

/// `vigil tail`: Print the records of a topic (for example the alerts) as they arrive.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the records of a topic (for example the alerts) as they arrive."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("tail", issue: 5)
    }
}
