internal import CRdKafka
public import Logging

/// An idempotent, non-transactional producer (test data, tools, benchmarks). ``send(_:)``
/// queues; ``flush(timeout:)`` waits for delivery and reports the first failure. Blocking
/// methods must not run on the cooperative thread pool (see ``BlockingCall``).
public final class Producer: Sendable {
    private let core: ProducerCore
    public let configuration: ProducerConfiguration

    public init(configuration: ProducerConfiguration, logger: Logger = Logger(label: "vigil.kafka.producer")) throws(KafkaError) {
        precondition(configuration.transactionalID == nil, "use TransactionalProducer for a transactional id")
        self.configuration = configuration
        core = try ProducerCore(configuration: configuration, logger: logger)
    }

    /// Queues a record.
    public func send(_ record: ProducerRecord) throws(KafkaError) { try core.send(record) }

    /// Queues a record from bytes that only need to live for this call.
    public func send(
        topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil
    ) throws(KafkaError) {
        try core.send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp)
    }

    /// Waits until every queued record is delivered; throws the first delivery failure. Blocks.
    public func flush(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try core.flush(timeout: timeout)
        if let failure = core.takeDeliveryFailure() { throw failure }
    }

    /// How many records were delivered so far.
    public var deliveredCount: Int { core.deliveryState.delivered }
}
