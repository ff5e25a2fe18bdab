import Foundation
public import Logging
public import VigilKafka

/// The broker the integration tests run against (shared by every test target): `scripts/broker start` (Tansu on loopback),
/// or any Kafka named by VIGIL_TEST_BOOTSTRAP.
public enum TestBroker {
    public static let bootstrap = ProcessInfo.processInfo.environment["VIGIL_TEST_BOOTSTRAP"] ?? "127.0.0.1:19092"

    public static var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: bootstrap, clientID: "vigil-tests") }

    public static let logger: Logger = {
        var logger = Logger(label: "vigil.tests")
        logger.logLevel = .error
        return logger
    }()

    /// A name no other test (or earlier run against the same broker) uses.
    public static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Creates a fresh topic and returns its name.
    public static func createTopic(_ prefix: String, partitions: Int32) throws -> String {
        try createTopics(prefix, partitions: partitions)[0]
    }

    /// Produces the records and waits until they are all delivered.
    public static func produce(_ records: [ProducerRecord]) throws {
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        for record in records { try producer.send(record) }
        try producer.flush()
    }

    /// Creates fresh topics and returns their names.
    public static func createTopics(_ prefix: String, count: Int = 1, partitions: Int32) throws -> [String] {
        let admin = try Admin(configuration: kafka, logger: logger)
        let names = (0..<count).map { _ in unique(prefix) }
        try admin.createTopics(names.map { NewTopic(name: $0, partitions: partitions) })
        return names
    }

    public static func consumerConfiguration(group: String) -> ConsumerConfiguration {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: group)
        // Tansu holds a group's first join for about half the session timeout.
        configuration.sessionTimeout = .seconds(2)
        configuration.heartbeatInterval = .milliseconds(300)
        return configuration
    }

    /// Polls until `count` records have arrived or `deadline` passes.
    public static func consume(_ consumer: Consumer, count: Int, within deadline: Duration = .seconds(30)) throws -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while records.count < count, clock.now < end {
            records += try consumer.poll(maxRecords: 1000, timeout: .milliseconds(200))
        }
        return records
    }

    /// Whether the broker aborts a transaction left open longer than its `transaction.timeout.ms`.
    /// Tansu 0.6 never does (its README lists it; measured: a transaction left open by a killed
    /// producer holds the last stable offset of its partitions for good), so this is false
    /// unless VIGIL_TEST_BROKER_TIMES_OUT_TRANSACTIONS=1 says the broker is a Kafka. Finding out
    /// would take a probe as long as the broker's abort check interval (10 s on Kafka).
    public static let timesOutTransactions = ProcessInfo.processInfo.environment["VIGIL_TEST_BROKER_TIMES_OUT_TRANSACTIONS"] == "1"

    /// Whether the broker shows records of aborted transactions to read_committed readers (Tansu
    /// does; Kafka does not): found out once per test run by aborting a transaction and reading
    /// its topic. Tests run the runtime with ``RuntimeOptions/brokerShowsAbortedRecords`` set to
    /// this, and bound duplicates by it.
    public static let showsAbortedRecords: Bool = {
        do {
            let topic = try createTopic("aborted-probe", partitions: 1)
            var configuration = ProducerConfiguration(kafka: kafka, transactionalID: unique("aborted-probe"))
            configuration.linger = .zero
            let producer = try TransactionalProducer(configuration: configuration, logger: logger)
            try producer.initTransactions()
            try producer.beginTransaction()
            try producer.send(ProducerRecord(topic: topic, value: Array("aborted".utf8)))
            try producer.flush()
            try producer.abortTransaction()
            var seen = false
            _ = try PartitionReader(kafka: kafka, logger: logger).read([TopicPartition(topic, 0): KafkaOffset.beginning]) { _ in seen = true }
            return seen
        } catch {
            fatalError("probing whether the test broker at \(bootstrap) shows aborted records failed: \(error)")
        }
    }()

    /// Whether a committed transaction is visible to read_committed readers while another
    /// producer's transaction, begun after it, is still open in the same partition. Kafka
    /// completes every transaction on its own (the last stable offset stops at the open one's
    /// first record, after the committed one's). Tansu 0.6 does not: its EndTxn marks a
    /// transaction committed only once every transaction that wrote the same partitions earlier
    /// or alongside it has ended too (`overlapping_transactions` in its `dynostore.rs`), and a
    /// producer's next transaction reuses the same record, keeping the first one's start offset.
    /// Busy instances writing shared partitions (the repartition topic, the scores, a checkpoint
    /// partition) can then hold each other's commits back, the last stable offset and the
    /// group's committed offsets with them, for as long as none of them pauses between
    /// transactions (`KafkaIntegrationTests`, five rounds of two alternating producers: nothing
    /// readable until both had ended). Found out once per test run.
    public static let completesOverlappingTransactions: Bool = {
        do {
            let topic = try createTopic("overlap-probe", partitions: 1)
            func producer() throws -> TransactionalProducer {
                var configuration = ProducerConfiguration(kafka: kafka, transactionalID: unique("overlap-probe"))
                configuration.linger = .zero
                let producer = try TransactionalProducer(configuration: configuration, logger: logger)
                try producer.initTransactions()
                return producer
            }
            let first = try producer(), second = try producer()
            for (producer, value) in [(first, "first"), (second, "second")] {
                try producer.beginTransaction()
                try producer.send(ProducerRecord(topic: topic, value: Array(value.utf8)))
                try producer.flush()
            }
            try first.commitTransaction()
            // Kafka answers EndTxn before its markers are written (KAFKA-9878): a read right after
            // the commit may still end before "first". Read again for up to 5 s.
            var seen: [String] = []
            let deadline = ContinuousClock.now + .seconds(5)
            repeat {
                seen = []
                _ = try PartitionReader(kafka: kafka, logger: logger).read([TopicPartition(topic, 0): KafkaOffset.beginning]) { message in
                    seen.append(String(decoding: message.value ?? [], as: UTF8.self))
                }
                if seen == ["first"] { break }
                Thread.sleep(forTimeInterval: 0.2)  // polling a condition, with a deadline
            } while ContinuousClock.now < deadline
            try second.commitTransaction()
            return seen == ["first"]
        } catch {
            fatalError("probing whether the test broker at \(bootstrap) completes overlapping transactions failed: \(error)")
        }
    }()

    /// Runs a body of blocking Kafka calls off the cooperative thread pool.
    public static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingCall.run(body)
    }
}
