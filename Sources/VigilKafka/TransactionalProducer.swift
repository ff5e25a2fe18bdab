internal import CRdKafka
public import Logging

/// A transactional producer: records and consumed offsets commit together or not at all.
///
/// Errors carry a ``KafkaError/Severity``: `.retriable` (call again), `.abortRequired` (call
/// ``abortTransaction(timeout:)``, rewind the input, go on) or `.fatal` (this producer was fenced
/// by a newer instance with the same transactional id, or cannot go on: stop).
/// Every method blocks; call from a dedicated thread or through ``BlockingCall``.
public final class TransactionalProducer: Sendable {
    private let core: ProducerCore
    public let configuration: ProducerConfiguration

    /// Creates the producer; call ``initTransactions(timeout:)`` before the first transaction.
    public init(configuration: ProducerConfiguration, logger: Logger = Logger(label: "vigil.kafka.transactional-producer")) throws(KafkaError) {
        guard configuration.transactionalID != nil else {
            throw KafkaError(code: .invalidConfiguration, message: "a transactional producer needs a transactional id")
        }
        self.configuration = configuration
        core = try ProducerCore(configuration: configuration, logger: logger)
    }

    /// Registers the transactional id with the broker: fences any older producer with the same
    /// id and ends (aborts) the transaction it left open.
    public func initTransactions(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try ensureOpen()
        if let failure = core.handle.withHandle({ rd_kafka_init_transactions($0, Int32(timeout.milliseconds)) }) {
            throw core.handle.explain(KafkaError(consuming: failure, "init transactions (\(configuration.transactionalID ?? ""))"))
        }
    }

    /// Opens a transaction.
    public func beginTransaction() throws(KafkaError) {
        try ensureOpen()
        if let failure = core.handle.withHandle({ rd_kafka_begin_transaction($0) }) {
            throw KafkaError(consuming: failure, "begin transaction")
        }
    }

    /// Queues a record in the open transaction.
    public func send(_ record: ProducerRecord) throws(KafkaError) {
        try ensureOpen()
        try core.send(record)
    }

    /// Queues a record from bytes that only need to live for this call. With `tracked`, its
    /// offset is reported by ``takeTrackedOffsets()`` once delivered (after ``flush(timeout:)``).
    public func send(
        topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader] = [], timestamp: Int64? = nil, tracked: Bool = false
    ) throws(KafkaError) {
        try ensureOpen()
        try core.send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, tracked: tracked)
    }

    /// The lowest offset per partition of the tracked records delivered since the last call
    /// (for example where a state snapshot starts in its changelog partition).
    public func takeTrackedOffsets() -> [TopicPartition: Int64] { core.takeTrackedOffsets() }

    /// Adds the consumer's next offsets (last processed + 1) to the open transaction, so that
    /// they commit with its records. The group metadata fences zombie instances (KIP-447).
    public func sendOffsetsToTransaction(
        _ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata, timeout: Duration = .seconds(30)
    ) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        try ensureOpen()
        let list = TopicPartitionList(offsets)
        let failure = groupMetadata.withPointer { metadata in
            core.handle.withHandle { rd_kafka_send_offsets_to_transaction($0, list.pointer, metadata, Int32(timeout.milliseconds)) }
        }
        if let failure { throw KafkaError(consuming: failure, "send offsets to transaction") }
    }

    /// Flushes and commits the open transaction.
    public func commitTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try ensureOpen()
        if let failure = core.handle.withHandle({ rd_kafka_commit_transaction($0, Int32(timeout.milliseconds)) }) {
            throw core.handle.explain(KafkaError(consuming: failure, "commit transaction"))
        }
        _ = core.takeDeliveryFailure()
    }

    /// Aborts the open transaction: its records are marked aborted and its offsets are not committed.
    public func abortTransaction(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try ensureOpen()
        if let failure = core.handle.withHandle({ rd_kafka_abort_transaction($0, Int32(timeout.milliseconds)) }) {
            throw core.handle.explain(KafkaError(consuming: failure, "abort transaction"))
        }
        _ = core.takeDeliveryFailure()
    }

    /// Waits until every record queued so far is acknowledged by the broker (the transaction
    /// stays open). Throws the first delivery failure.
    public func flush(timeout: Duration = .seconds(30)) throws(KafkaError) {
        try ensureOpen()
        try core.flush(timeout: timeout)
        if let failure = core.takeDeliveryFailure() { throw failure }
    }

    /// Serves delivery reports for up to `timeout` (keeps the local queue from filling between commits).
    public func poll(timeout: Duration = .zero) {
        guard !core.handle.isDestroyed else { return }
        core.handle.poll(timeoutMs: Int32(timeout.milliseconds))
    }

    /// Records queued locally and not yet delivered (for back-pressure).
    public var queuedRecords: Int { core.handle.isDestroyed ? 0 : core.queuedRecords }

    /// Ends this producer at once, so that nothing of it runs on when a replacement of the same
    /// transactional id initialises: the records it still holds, queued or in flight, are
    /// purged rather than flushed (they belong to a transaction being given up: aborted,
    /// fenced, or about to be ended by the replacement, so waiting for them is waiting for
    /// nothing, and a fenced producer's would never be delivered), and the client is destroyed
    /// (`rd_kafka_purge`, then `rd_kafka_destroy`, which does not flush). Later calls throw
    /// ``KafkaError/Code/closed``; a second close does nothing. No other call may be under way.
    public func close() {
        guard !core.handle.isDestroyed else { return }
        _ = core.handle.withHandle { rd_kafka_purge($0, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT) }
        // Serves the purged records' delivery reports, so that the destroy finds none left.
        core.handle.poll(timeoutMs: 0)
        core.handle.destroy()
    }

    private func ensureOpen() throws(KafkaError) {
        if core.handle.isDestroyed { throw KafkaError(code: .closed, message: "the producer is closed") }
    }
}
