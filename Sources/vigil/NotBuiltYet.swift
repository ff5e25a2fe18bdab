import ArgumentParser
import Foundation

/// Writes a line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Ends a subcommand whose capability has not landed yet: says so and exits with status 2.
func notBuiltYet(_ command: String, issue: Int) -> ExitCode {
    printError("vigil \(command): not built yet (issue #\(issue)); see README.md, section Status.")
    return ExitCode(2)
}
