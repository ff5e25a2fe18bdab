import ArgumentParser
import Dispatch
import Foundation
import Logging
import VigilKafka
import VigilModels
import VigilRuntime
import VigilTopology

/// `vigil run`: the Kafka service.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Consume a topology's source topic and score it with exactly-once commits."
    )

    @Option(help: "The topology file.") var topology: String
    @Option(help: "Kafka bootstrap servers (host:port,…).") var bootstrap = "127.0.0.1:9092"
    @Option(help: "This instance's stable id (default: the host name). Restarts must reuse it.") var instanceID: String?
    @Option(help: "The consumer group (default: vigil.<topology name>).") var group: String?
    @Option(name: .customLong("property"), help: "A librdkafka property, name=value (repeatable): security.protocol, sasl.*, ssl.*, …")
    var properties: [String] = []
    @Option(help: "Seconds between full state snapshots per partition.") var snapshotInterval: Double = 60
    @Option(help: "The consumer group's session timeout, in seconds.") var sessionTimeout: Double = 10
    @Option(help: "Most input events in one transaction.") var maxTransactionEvents = 10_000
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func run() throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        let logger = Logger(label: "vigil.run")
        try LibrdkafkaVersion.requireSupported()
        let loaded = try TopologyLoader.load(path: topology)
        var kafka = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "vigil")
        for property in properties {
            guard let equals = property.firstIndex(of: "=") else {
                throw ValidationError("--property takes name=value, got '\(property)'")
            }
            kafka.properties[String(property[..<equals])] = String(property[property.index(after: equals)...])
        }
        var options = RuntimeOptions(kafka: kafka, instanceID: instanceID ?? ProcessInfo.processInfo.hostName)
        options.groupID = group
        options.batchSize = loaded.processing.batchSize
        options.batchDelay = .milliseconds(loaded.processing.batchDelay)
        options.commitInterval = .milliseconds(max(1, loaded.processing.commitInterval))
        options.snapshotInterval = .milliseconds(Int64(snapshotInterval * 1000))
        options.sessionTimeout = .milliseconds(Int64(sessionTimeout * 1000))
        options.maxEventsPerTransaction = maxTransactionEvents

        let runtime = try StreamRuntime(topology: loaded, options: options, logger: logger) {
            try ModelKernels.kernel(for: loaded)
        }
        let signals = [SIGTERM, SIGINT].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                logger.notice("signal \(signalNumber): finishing the batch, committing, leaving the group")
                runtime.requestStop()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        do {
            try runtime.run()
        } catch let error as KafkaError where error.isFenced {
            logger.critical("fenced: another instance with id '\(options.instanceID)' took over (\(error))")
            throw ExitCode(3)
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
    }
}
