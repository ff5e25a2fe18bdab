import ArgumentParser

/// `vigil score`: Score the rows of a CSV file with a model.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the rows of a CSV file with a model."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("score", issue: 4)
    }
}
