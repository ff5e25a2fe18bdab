import ArgumentParser
import Foundation
import Logging
import VigilCodec
import VigilKafka
import VigilRuntime
import VigilTopology

/// `vigil demo`: the card-fraud topology end to end on a local broker, with sample events.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Produce sample card transactions to a local broker and score them live with the card-fraud topology.",
        discussion: """
            Each run uses topics of its own (card-fraud-demo-<time>.*), so runs never mix. It produces synthetic \
            transactions (the Fraud Detection Handbook's simulator, two fraud scenarios), runs the same runtime as \
            `vigil run` in this process with exactly-once commits, prints the alerts as they are committed, and \
            stops when every event is scored.
            """
    )

    @Option(help: "Kafka bootstrap servers.") var bootstrap = "127.0.0.1:19092"
    @Option(help: "The topology file.") var topology = "topologies/card-fraud.yaml"
    @Option(help: "How many sample transactions.") var events = 20_000
    @Option(help: "Transactions produced per second.") var rate = 4_000
    @Option(help: "How many alerts to print (the rest are counted).") var showAlerts = 15

    func run() throws {
        // Before any client's threads exist, as `vigil run` does.
        ProcessAllocator.prepareForStreamProcessing()
        let logger = {
            var logger = Logger(label: "vigil.demo")
            logger.logLevel = .warning
            return logger
        }()
        try LibrdkafkaVersion.requireSupported()
        var loaded: Topology
        do { loaded = try TopologyLoader.load(path: topology) } catch {
            printError("\(error)\n(run the demo from the repository's folder, or pass --topology)")
            throw ExitCode(1)
        }
        // The time, and a random suffix: two demos started in the same second (the test suite
        // runs two side by side) must not share topics.
        let runName = "\(loaded.name)-demo-\(Int(Date().timeIntervalSince1970))-\(UInt16.random(in: .min ... .max))"
        loaded = loaded.renamed(runName, sourceTopics: ["\(runName).transactions"])
        loaded.outputs.includeFeatures = true
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "vigil-demo")

        let admin = try Admin(configuration: kafka, logger: logger)
        _ = try admin.listTopics(timeout: .seconds(5))
        try admin.createTopics([NewTopic(name: loaded.source.topics[0], partitions: 2)])
        print("vigil demo: topology \(loaded.name) on \(bootstrap); \(events) sample transactions at \(rate)/s into \(loaded.source.topics[0])")

        var options = RuntimeOptions(kafka: kafka, instanceID: "demo")
        options.sessionTimeout = .seconds(2)
        options.apply(loaded.processing)
        // The demo's broker is Tansu, which shows records of aborted transactions and does not
        // assign partitions to static members.
        options.brokerShowsAbortedRecords = true
        options.staticMembership = false
        let topology = loaded
        let sourceTopic = loaded.source.topics[0]
        let runtime = try StreamRuntime(topology: topology, options: options, logger: logger) {
            try ModelKernels.kernel(for: topology)
        }
        let finished = DispatchSemaphore(value: 0)
        let failure = Locked<(any Error)?>(nil)
        Thread {
            do { try runtime.run() } catch { failure.value = error }
            finished.signal()
        }.start()

        let producing = DispatchSemaphore(value: 0)
        let total = events, perSecond = rate
        Thread {
            do {
                let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
                var generator = SampleTransactions()
                let clock = ContinuousClock()
                let start = clock.now
                for index in 0..<total {
                    let line = generator.next()!
                    let customer = line.split(separator: ",")[2]
                    try producer.send(ProducerRecord(topic: sourceTopic, key: Array(customer.utf8), value: Array(line.utf8)))
                    if index % 500 == 499 {
                        // Pace the stream: the demo shows live scoring, not a backlog.
                        let due = start + .milliseconds(Int64(index + 1) * 1000 / Int64(perSecond))
                        if due > clock.now { Thread.sleep(forTimeInterval: Double((due - clock.now).components.attoseconds) / 1e18 + Double((due - clock.now).components.seconds)) }
                    }
                }
                try producer.flush()
            } catch { failure.value = error }
            producing.signal()
        }.start()

        // Follow the alerts topic (read_committed: only what the transactions committed).
        var reader = ConsumerConfiguration(kafka: kafka, groupID: "\(runName).viewer")
        reader.sessionTimeout = .seconds(2)
        let alerts = try Consumer(configuration: reader, logger: logger)
        try alerts.assign([TopicPartition(loaded.outputs.alertsTopic, 0): KafkaOffset.beginning, TopicPartition(loaded.outputs.alertsTopic, 1): KafkaOffset.beginning])
        var shown = 0, alertCount = 0
        var lastReport = ContinuousClock.now
        let deadline = ContinuousClock.now + .seconds(Int64(max(60, events / max(rate, 1) * 4)))
        func show(_ records: [ConsumerRecord]) throws {
            for record in records where record.value != nil {
                alertCount += 1
                guard shown < showAlerts, case let .object(object) = try JSONParser.parse(record.value ?? []) else { continue }
                shown += 1
                let score = object["score"]?.doubleValue ?? .nan
                let amount = object["event"].flatMap { if case let .object(fields) = $0 { fields["TX_AMOUNT"]?.doubleValue } else { nil } }
                print(String(format: "  ALERT  tx %@  score %.3f  amount %@", object["id"]?.stringValue ?? "?", score, amount.map { String(format: "%.2f", $0) } ?? "?"))
            }
        }
        while ContinuousClock.now < deadline, failure.value == nil {
            try show(try alerts.poll(timeout: .milliseconds(200)))
            if ContinuousClock.now - lastReport >= .seconds(2) {
                lastReport = ContinuousClock.now
                let metrics = runtime.metrics
                print("  … scored \(metrics.eventsOut.value) of \(events), alerts \(alertCount), transactions \(metrics.transactionsCommitted.value)")
            }
            if runtime.metrics.eventsOut.value + UInt64(runtime.statistics.deadLettered) >= UInt64(events) { break }
        }
        producing.wait()
        runtime.requestStop()
        finished.wait()
        // The last alerts committed just before the stop.
        try show(try alerts.poll(maxRecords: 10_000, timeout: .milliseconds(500)))
        try alerts.close()
        if let error = failure.value {
            printError("vigil demo: \(error)")
            throw ExitCode(1)
        }
        let metrics = runtime.metrics
        print("""
            vigil demo: done. \(metrics.eventsOut.value) transactions scored exactly once in \(metrics.transactionsCommitted.value) transactions, \
            \(alertCount) alerts (score >= 0.5), \(runtime.statistics.deadLettered) dead letters.
            Topics: \(loaded.outputs.scoresTopic), \(loaded.outputs.alertsTopic); tail them with
              vigil tail \(loaded.outputs.alertsTopic) --bootstrap \(bootstrap) --from-beginning
            """)
    }
}

/// A value shared between the demo's threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
