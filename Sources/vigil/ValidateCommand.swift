import ArgumentParser

/// `vigil validate`: Check topology files and report every error with file, line and column.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check topology files and report every error with file, line and column."
    )

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("validate", issue: 3)
    }
}
