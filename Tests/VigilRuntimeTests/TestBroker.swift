import Foundation
import Logging
import VigilKafka

/// The broker the integration tests run against: `scripts/broker start` (Tansu on loopback),
/// or any Kafka named by VIGIL_TEST_BOOTSTRAP.
enum TestBroker {
    static let bootstrap = ProcessInfo.processInfo.environment["VIGIL_TEST_BOOTSTRAP"] ?? "127.0.0.1:19092"

    static var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: bootstrap, clientID: "vigil-runtime-tests") }

    static let logger: Logger = {
        var logger = Logger(label: "vigil.tests")
        logger.logLevel = .error
        return logger
    }()

    /// A name no other test (or earlier run against the same broker) uses.
    static func unique(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Creates a fresh topic and returns its name.
    static func createTopic(_ prefix: String, partitions: Int32) throws -> String {
        let name = unique(prefix)
        try Admin(configuration: kafka, logger: logger).createTopics([NewTopic(name: name, partitions: partitions)])
        return name
    }

    /// Produces the records and waits until they are all delivered.
    static func produce(_ records: [ProducerRecord]) throws {
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        for record in records { try producer.send(record) }
        try producer.flush()
    }

    /// Runs a body of blocking Kafka calls off the cooperative thread pool.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingCall.run(body)
    }
}
