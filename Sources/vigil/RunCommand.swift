import ArgumentParser

/// `vigil run`: Consume a topology's source topics and score them with exactly-once commits.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume a topology's source topics and score them with exactly-once commits."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("run", issue: 5)
    }
}
