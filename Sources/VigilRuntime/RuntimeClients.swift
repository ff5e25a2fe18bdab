public import Logging
public import VigilKafka

/// How a ``StreamRuntime`` makes the Kafka clients that the exactly-once path depends on: the
/// transactional producer and the readers of changelog and checkpoint partitions. ``kafka``
/// makes the real ones; tests wrap them to inject the failures a broker can produce (a send, a
/// commit or an abort that fails, a restore read that fails) through these protocols, with no
/// hook in production code.
public struct RuntimeClients: Sendable {
    public var makeProducer: @Sendable (ProducerConfiguration, Logger) throws -> any TransactionalProducing
    public var makeReader: @Sendable (ConsumerConfiguration, Logger) throws -> any RecordFetching

    public init(
        makeProducer: @escaping @Sendable (ProducerConfiguration, Logger) throws -> any TransactionalProducing,
        makeReader: @escaping @Sendable (ConsumerConfiguration, Logger) throws -> any RecordFetching
    ) {
        self.makeProducer = makeProducer
        self.makeReader = makeReader
    }

    /// The real clients.
    public static let kafka = RuntimeClients(
        makeProducer: { try TransactionalProducer(configuration: $0, logger: $1) },
        makeReader: { try Consumer(configuration: $0, logger: $1) }
    )
}
