import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization
import VigilKafka
import VigilRuntime

/// `vigil tail`: Print the records of a topic (for example the alerts) as they arrive.
struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the records of a topic (for example the alerts) as they arrive.",
        discussion: """
            Reads without joining a consumer group and commits nothing, with read_committed. By \
            default it starts at the end of each partition, so only records produced from now on \
            are printed; the end is taken from the brokers' fetch answers (the high watermark), \
            not from a "latest offset" request, which some Kafka-compatible brokers answer wrongly.

            alert (the default on a terminal): Vigil's score and alert records as one readable \
            line each: event time (UTC), key, score (red from 0.9, yellow from 0.5), model version \
            and the alert's reasons with their contributions; other records as text.
            json (the default when standard output is not a terminal): one object per line with \
            topic, partition, offset, timestamp, key, value (the raw record), headers \
            (key_base64/value_base64 for bytes that are not UTF-8).
            text: one line per record, `topic/partition@offset key value`, then ` | name=value …` \
            for headers; (null) for a null key or value, 0x… for bytes that are not UTF-8.

            Filters: --min-score keeps score and alert records scoring at least that; --key keeps \
            one key (an alert's key is its event id); --from TIME reads from the beginning and \
            keeps records whose event time is at or after TIME.

            Exits 0 after --max records or on SIGINT/SIGTERM.
            """
    )

    @Argument(help: "The topic to read.")
    var topic: String

    @Option(name: .long, help: ArgumentHelp("Kafka bootstrap servers (default: the --config file's, else 127.0.0.1:9092).", valueName: "host:port"))
    var bootstrap: String?

    @Option(name: .long, help: ArgumentHelp("A service configuration file, for its Kafka settings (security properties).", valueName: "file"))
    var config: String?

    @Flag(name: .long, help: "Start at the oldest record instead of the end.")
    var fromBeginning = false

    @Option(name: .long, help: ArgumentHelp("Read only this partition.", valueName: "n"))
    var partition: Int32?

    @Option(name: .long, help: ArgumentHelp("Output format: alert, json or text (default: alert on a terminal, json otherwise).", valueName: "format"))
    var format: String?

    @Option(name: .long, help: ArgumentHelp("Only score and alert records with at least this score.", valueName: "score"))
    var minScore: Double?

    @Option(name: .long, help: ArgumentHelp("Only records with this key.", valueName: "key"))
    var key: String?

    @Option(name: .long, help: ArgumentHelp("Only records with an event time at or after this (YYYY-MM-DD[ HH:MM:SS] UTC, or epoch ms); reads from the beginning.", valueName: "time"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("Exit after this many records.", valueName: "n"))
    var max: Int?

    func validate() throws {
        if let format, TopicTail.Format(rawValue: format) == nil { throw ValidationError("--format must be alert, json or text, not \(format)") }
        if let from { _ = try ReplayConsole.time(from, option: "--from") }
        if let max, max < 1 { throw ValidationError("--max must be at least 1") }
        if let partition, partition < 0 { throw ValidationError("--partition must be 0 or more") }
    }

    func run() throws {
        // Records go to stdout; anything else (warnings, librdkafka's complaints) to stderr.
        let logger = Logger(label: "vigil.tail")
        do {
            let kafka = try ServiceConfiguration.kafka(config: config, bootstrap: bootstrap, clientID: "vigil-tail")
            VigilLogging.bootstrap(level: .warning, format: .text, redactor: SecretRedactor(configuration: kafka))
            var tail = TopicTail(topic: topic, kafka: kafka)
            tail.fromBeginning = fromBeginning
            tail.partition = partition
            let terminal = isatty(STDOUT_FILENO) == 1
            tail.format = format.flatMap(TopicTail.Format.init(rawValue:)) ?? (terminal ? .alert : .json)
            tail.colour = terminal
            tail.minimumScore = minScore
            tail.key = key
            tail.fromTime = try from.map { try ReplayConsole.time($0, option: "--from") }
            tail.maxRecords = max

            installStopSignals()
            try tail.run(logger: logger, shouldStop: { stopRequested.load(ordering: .relaxed) }) { line in
                writeLine(line)
            }
        } catch {
            printError("vigil tail: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Set by SIGINT/SIGTERM; the tail checks it between polls.
private let stopRequested = Atomic<Bool>(false)

private func installStopSignals() {
    // An atomic store is async-signal-safe; the handler captures nothing.
    let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
}

/// Writes one line to stdout, unbuffered, so a pipe sees each record as it arrives.
private func writeLine(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return
        }
        written += count
    }
}
