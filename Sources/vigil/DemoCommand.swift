import ArgumentParser

/// `vigil demo`: Start a local broker, produce sample events and run the card-fraud topology on them.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a local broker, produce sample events and run the card-fraud topology on them."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("demo", issue: 5)
    }
}
