import ArgumentParser
import VigilKafka
import VigilRuntime

/// The `vigil` command: a streaming inference processor for Kafka.
@main
struct Vigil: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Streaming inference on Kafka: windowed features, compiled models, exactly-once scores.",
        subcommands: [
            RunCommand.self, ReplayCommand.self, ProfileCommand.self, ScoreCommand.self, TailCommand.self,
            ValidateCommand.self, DemoCommand.self,
        ]
    )

    @Flag(name: .long, help: "Print Vigil's version, the librdkafka version it loaded and the allocator it runs on.")
    var version = false

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print("vigil \(Vigil.version)")
        print("librdkafka \(LibrdkafkaVersion.string)")
        print("allocator: \(ProcessAllocator.current)")
        do {
            try LibrdkafkaVersion.requireSupported()
        } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
    }
}
