/// Settings of a ``Producer`` or ``TransactionalProducer``.
public struct ProducerConfiguration: Sendable, Equatable {
    /// Compression of record batches on the wire.
    public enum Compression: String, Sendable {
        case none, gzip, snappy, lz4, zstd
    }

    /// Connection settings.
    public var kafka: KafkaConfiguration
    /// `linger.ms`: how long a batch waits for more records. Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// `compression.type`. Default ``Compression/lz4``.
    public var compression: Compression = .lz4
    /// `queue.buffering.max.messages`: records held before `send` waits for deliveries. Default 1,000,000.
    public var maxQueuedMessages: Int = 1_000_000 {
        didSet { precondition(maxQueuedMessages > 0, "the queue must hold at least one message") }
    }
    /// `transactional.id`: set for a ``TransactionalProducer``; nil for a plain one. Stable per
    /// instance, so that a restarted instance fences its predecessor and ends its open transaction.
    public var transactionalID: String? {
        didSet { precondition(transactionalID.map { !$0.isEmpty } ?? true, "a transactional id must not be empty") }
    }
    /// `transaction.timeout.ms`: how long the broker lets a transaction stay open. Default 60 s.
    public var transactionTimeout: Duration = .seconds(60)
    /// How long `send` waits for room when the local queue is full (serving delivery reports
    /// meanwhile) before it fails with ``KafkaError/Code/queueFull``. Default 30 s.
    public var queueFullTimeout: Duration = .seconds(30)
    /// `message.max.bytes`: the largest record the client sends; a larger one fails at once with
    /// ``KafkaError/Code/messageSizeTooLarge``. Default 1,000,000 (librdkafka's and Kafka's).
    public var maxMessageBytes: Int = 1_000_000

    /// Creates a producer configuration.
    public init(kafka: KafkaConfiguration, transactionalID: String? = nil) {
        precondition(transactionalID.map { !$0.isEmpty } ?? true, "a transactional id must not be empty")
        self.kafka = kafka
        self.transactionalID = transactionalID
    }

    func librdkafkaProperties() -> [(String, String)] {
        let base = kafka.librdkafkaProperties()
        var derived: [(String, String)] = [
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("linger.ms", String(linger.milliseconds)),
            ("compression.type", compression.rawValue),
            ("queue.buffering.max.messages", String(maxQueuedMessages)),
            ("message.max.bytes", String(maxMessageBytes)),
        ]
        if let transactionalID {
            derived += [
                ("transactional.id", transactionalID),
                ("transaction.timeout.ms", String(transactionTimeout.milliseconds)),
            ]
        }
        return Array(base.prefix(2)) + derived + base.dropFirst(2)
    }
}
