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
        abstract: "Consume a topology's source topic and score it with exactly-once commits.",
        discussion: """
            Joins the consumer group vigil.<topology name> (or --group): instances started with the same topology \
            share the partitions. Serves Prometheus metrics on /metrics and liveness on /health. SIGTERM or SIGINT \
            finishes the batch, commits, leaves the group and exits 0; a fenced instance exits 3.
            """
    )

    @Option(help: "The topology file.") var topology: String
    @OptionGroup var service: ServiceOptions
    @Option(help: "The consumer group (default: vigil.<topology name>).") var group: String?
    @Option(help: "The consumer group's session timeout, in seconds.") var sessionTimeout: Double = 10
    @Option(help: "Seconds between full state snapshots per partition (overrides --state-snapshot-interval).") var snapshotInterval: Double?
    @Option(help: "Most input events in one transaction.") var maxTransactionEvents = 50_000
    @Flag(help: "The broker shows records of aborted transactions to read_committed readers (Tansu does, Kafka does not): guard against them.")
    var brokerShowsAbortedRecords = false
    @Flag(inversion: .prefixedNo, help: "Join the group as a static member (group.instance.id from the instance id).")
    var staticMembership = true
    @Flag(inversion: .prefixedNo, help: "Process the next batches while a transaction's commit runs in the background, holding their records back until it ends (RuntimeOptions.overlapsCommit; ignored with local delivery). --no-overlap-commit waits for each commit.")
    var overlapCommit = true
    @Flag(help: "Print the resolved service configuration (file, environment, secret files and flags; secrets as ***) and exit.")
    var printConfig = false

    func run() throws {
        // Before any client's threads exist (ProcessAllocator says why).
        let allocator = ProcessAllocator.prepareForStreamProcessing()
        let config: ServiceConfiguration
        do { config = try service.resolve() } catch { throw ValidationError("\(error)") }
        if printConfig {
            print(config.redactor.redact(config.description))
            return
        }
        VigilLogging.bootstrap(level: config.logLevel, format: config.logFormat, redactor: config.redactor)
        let logger = Logger(label: "vigil.run")
        logger.info("allocator: \(allocator)")
        try LibrdkafkaVersion.requireSupported()
        let loaded: Topology
        do { loaded = try TopologyLoader.load(path: topology) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        var options = RuntimeOptions(kafka: config.kafka, instanceID: config.instanceID)
        options.groupID = group
        options.apply(loaded.processing)
        // The topology's commit interval, unless the service configuration sets another.
        if config.commitInterval != ServiceConfiguration().commitInterval { options.commitInterval = config.commitInterval }
        options.snapshotInterval = snapshotInterval.map { .milliseconds(Int64($0 * 1000)) } ?? config.stateSnapshotInterval
        options.sessionTimeout = .milliseconds(Int64(sessionTimeout * 1000))
        options.maxEventsPerTransaction = maxTransactionEvents
        options.brokerShowsAbortedRecords = brokerShowsAbortedRecords
        options.staticMembership = staticMembership
        options.overlapsCommit = overlapCommit
        logger.info("configuration: \(config)")

        let runtime = try StreamRuntime(topology: loaded, options: options, logger: logger) {
            try ModelKernels.kernel(for: loaded)
        }
        let server = try MetricsServer(metrics: runtime.metrics, address: config.metricsAddress, logger: logger)
        defer { server.stop() }
        logger.info("metrics on http://\(server.address)/metrics")
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
