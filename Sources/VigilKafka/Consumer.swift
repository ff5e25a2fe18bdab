internal import CRdKafka
public import Logging
import Synchronization

/// A Kafka group consumer. Its methods block (they wait on the network): call them from a
/// dedicated thread, or from async code through ``BlockingCall/run(_:)``, never directly on the
/// cooperative thread pool.
///
/// Records come in batches (`rd_kafka_consume_batch_queue`): a per-record call costs far more
/// than the record itself at the rates Vigil runs at.
public final class Consumer: @unchecked Sendable {
    private let handle: RdKafkaHandle
    /// The consumer queue; owned here and destroyed before the client.
    private let queue: OpaquePointer
    private let closed = Mutex(false)
    /// Whether a ``withBatch(maxRecords:timeout:fill:_:)`` is under way: the pointer array is
    /// one per consumer, so polls must not overlap.
    private let polling = Mutex(false)
    private var messagePointers = MessagePointerArray()
    private let logger: Logger
    public let configuration: ConsumerConfiguration

    /// Creates a consumer. `rebalanceHandler` is called on the polling thread whenever the
    /// group assigns, revokes or loses partitions (see ``RebalanceEvent``).
    public init(
        configuration: ConsumerConfiguration,
        logger: Logger = Logger(label: "vigil.kafka.consumer"),
        rebalanceHandler: (@Sendable (RebalanceEvent) -> Void)? = nil
    ) throws(KafkaError) {
        try LibrdkafkaVersion.requireSupported()
        self.configuration = configuration
        self.logger = logger
        handle = try RdKafkaHandle(kind: .consumer, properties: configuration.librdkafkaProperties(), logger: logger, rebalance: true)
        handle.context.rebalanceHandler.withLock { $0 = rebalanceHandler }
        queue = handle.withHandle { client in
            rd_kafka_poll_set_consumer(client)
            return rd_kafka_queue_get_consumer(client)!
        }
    }

    deinit {
        try? close()
        rd_kafka_queue_destroy(queue)
    }

    /// Replaces the rebalance handler.
    public func setRebalanceHandler(_ handler: (@Sendable (RebalanceEvent) -> Void)?) {
        handle.context.rebalanceHandler.withLock { $0 = handler }
    }

    /// Joins the group and subscribes to these topics.
    public func subscribe(_ topics: [String]) throws(KafkaError) {
        let list = TopicPartitionList(capacity: topics.count)
        for topic in topics { list.add(TopicPartition(topic, -1), offset: KafkaOffset.invalid) }
        let error = handle.withHandle { rd_kafka_subscribe($0, list.pointer) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "subscribe to \(topics.joined(separator: ", "))") }
    }

    /// Reads these partitions from these offsets without joining a group (replay, tail).
    public func assign(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        let list = TopicPartitionList(offsets)
        let error = handle.withHandle { rd_kafka_assign($0, list.pointer) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "assign") }
    }

    /// The partitions currently assigned to this consumer.
    public func assignment() throws(KafkaError) -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = handle.withHandle { rd_kafka_assignment($0, &list) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(error, "assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return TopicPartitionList.entries(of: list).map(\.0).sorted()
    }

    /// Hands at most `maxRecords` records to `body`, read in place. Rebalance handlers run
    /// inside this call. A fatal client error throws.
    ///
    /// With `fill` true it waits up to `timeout` for `maxRecords` records (librdkafka's batch
    /// consume). With `fill` false it takes the records already fetched, and waits up to
    /// `timeout` only when there are none: the batch then holds what arrived first, without
    /// waiting for more (a stream processor's poll, for latency).
    public func withBatch<R>(
        maxRecords: Int, timeout: Duration, fill: Bool = true, _ body: (ConsumerBatch) throws -> R
    ) throws -> R {
        precondition(maxRecords > 0, "maxRecords must be positive")
        try ensureOpen()
        let overlapping = polling.withLock { polling in
            defer { polling = true }
            return polling
        }
        precondition(!overlapping, "Consumer.withBatch called while another withBatch of the same consumer is under way")
        defer { polling.withLock { $0 = false } }
        let buffer = messagePointers.reserve(maxRecords)
        let timeoutMs = Int32(timeout.milliseconds)
        var count: Int
        if fill {
            count = rd_kafka_consume_batch_queue(queue, timeoutMs, buffer, maxRecords)
        } else {
            count = rd_kafka_consume_batch_queue(queue, 0, buffer, maxRecords)
            if count == 0 {
                count = rd_kafka_consume_batch_queue(queue, timeoutMs, buffer, 1)
                if count == 1, maxRecords > 1 {
                    let more = rd_kafka_consume_batch_queue(queue, 0, buffer + 1, maxRecords - 1)
                    if more > 0 { count += more }
                }
            }
        }
        guard count >= 0 else { throw KafkaError(rd_kafka_last_error(), "poll") }
        defer { for index in 0..<count { rd_kafka_message_destroy(buffer[index]) } }

        var messages: [ConsumedMessage] = []
        messages.reserveCapacity(count)
        var ends: [TopicPartition: Int64] = [:]
        var errors: [KafkaError] = []
        var topicNames: [OpaquePointer: String] = [:]
        // Records come in runs of one partition: the previous record's topic answers most.
        var previous: (topic: OpaquePointer, name: String)?
        for index in 0..<count {
            guard let message = buffer[index] else { continue }
            let topic = message.pointee.rkt.map { rkt in
                if let previous, previous.topic == rkt { return previous.name }
                let name: String
                if let known = topicNames[rkt] {
                    name = known
                } else {
                    name = String(cString: rd_kafka_topic_name(rkt))
                    topicNames[rkt] = name
                }
                previous = (rkt, name)
                return name
            } ?? ""
            switch message.pointee.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                messages.append(ConsumedMessage(message: message, topic: topic))
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                ends[TopicPartition(topic, message.pointee.partition)] = message.pointee.offset
            default:
                let text = message.pointee.payload.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: message.pointee.len), as: UTF8.self)
                } ?? ""
                var error = KafkaError(message.pointee.err, topic.isEmpty ? "consumer" : "consumer, \(topic)/\(message.pointee.partition)")
                if !text.isEmpty { error = KafkaError(code: error.code, message: "\(error.message) (\(text))") }
                errors.append(error)
            }
        }
        try throwIfFatal()
        return try body(ConsumerBatch(messages: messages, partitionEnds: ends, errors: errors))
    }

    /// Polls and copies the records out (simple callers; hot paths use ``withBatch(maxRecords:timeout:_:)``).
    public func poll(maxRecords: Int = 1000, timeout: Duration) throws -> [ConsumerRecord] {
        try withBatch(maxRecords: maxRecords, timeout: timeout) { batch in
            for error in batch.errors { logger.warning("\(error)") }
            return batch.messages.map(\.record)
        }
    }

    /// Moves the fetch position of these partitions (used to rewind after an aborted transaction).
    public func seek(_ offsets: [TopicPartition: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) {
        let list = TopicPartitionList(offsets)
        if let failure = handle.withHandle({ rd_kafka_seek_partitions($0, list.pointer, Int32(timeout.milliseconds)) }) {
            throw KafkaError(consuming: failure, "seek")
        }
        try list.throwFirstError("seek")
    }

    /// The next offset this consumer will read for each partition (`KafkaOffset.invalid` when unknown).
    public func position(_ partitions: [TopicPartition]) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = TopicPartitionList(partitions)
        let error = handle.withHandle { rd_kafka_position($0, list.pointer) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "position") }
        return Dictionary(list.entries.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    /// The group's committed offsets for these partitions (`KafkaOffset.invalid` where none). Blocks.
    public func committed(_ partitions: [TopicPartition], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = TopicPartitionList(partitions)
        let error = handle.withHandle { rd_kafka_committed($0, list.pointer, Int32(timeout.milliseconds)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw handle.explain(KafkaError(error, "committed offsets")) }
        try list.throwFirstError("committed offsets")
        return Dictionary(list.entries.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    /// Commits offsets for the group outside any transaction (offset = next record to read). Blocks.
    public func commit(_ offsets: [TopicPartition: Int64]) throws(KafkaError) {
        let list = TopicPartitionList(offsets)
        let error = handle.withHandle { rd_kafka_commit($0, list.pointer, 0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw handle.explain(KafkaError(error, "commit")) }
        try list.throwFirstError("commit")
    }

    /// Whether the group has taken this consumer's partitions away without a revoke: its
    /// session expired (librdkafka counts the time since the last heartbeat answer) or the
    /// coordinator no longer knows it. Until the rebalance handler hears of it, the consumer
    /// is a zombie: whatever it commits for those partitions races their new owner.
    public var assignmentLost: Bool { handle.withHandle { rd_kafka_assignment_lost($0) } != 0 }

    /// The group membership that a transaction needs to commit offsets for this consumer.
    public func groupMetadata() throws(KafkaError) -> ConsumerGroupMetadata {
        guard let pointer = handle.withHandle({ rd_kafka_consumer_group_metadata($0) }) else {
            throw KafkaError(code: .state, message: "this consumer has no group metadata (is group.id set?)")
        }
        return ConsumerGroupMetadata(taking: pointer)
    }

    /// Stops fetching these partitions until ``resume(_:)``, keeping them assigned.
    public func pause(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = TopicPartitionList(partitions)
        let error = handle.withHandle { rd_kafka_pause_partitions($0, list.pointer) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "pause") }
    }

    /// Fetches these paused partitions again.
    public func resume(_ partitions: [TopicPartition]) throws(KafkaError) {
        let list = TopicPartitionList(partitions)
        let error = handle.withHandle { rd_kafka_resume_partitions($0, list.pointer) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "resume") }
    }

    /// The low and high watermarks last seen by this consumer's fetches (no request is sent).
    /// Unlike a ListOffsets request, these come from fetch responses, so they are right even on
    /// brokers whose "latest offset" answer is not.
    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? {
        var low: Int64 = KafkaOffset.invalid
        var high: Int64 = KafkaOffset.invalid
        let error = handle.withHandle { rd_kafka_get_watermark_offsets($0, partition.topic, partition.partition, &low, &high) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high != KafkaOffset.invalid else { return nil }
        return (low, high)
    }

    /// Leaves the group (revoking partitions through the rebalance handler) and stops fetching.
    /// Safe to call more than once. Blocks until the group has been left.
    public func close() throws(KafkaError) {
        let wasClosed = closed.withLock { value in
            defer { value = true }
            return value
        }
        guard !wasClosed else { return }
        if let failure = handle.withHandle({ rd_kafka_consumer_close_queue($0, queue) }) {
            throw KafkaError(consuming: failure, "close")
        }
        // Serve the queue until the close (and its final rebalance) has completed.
        while handle.withHandle({ rd_kafka_consumer_closed($0) }) == 0 {
            if let event = rd_kafka_queue_poll(queue, 100) {
                if rd_kafka_event_type(event) == RD_KAFKA_EVENT_REBALANCE {
                    let error = rd_kafka_event_error(event)
                    let partitions = rd_kafka_event_topic_partition_list(event)
                    handle.withHandle { rebalanceCallback($0, error, partitions, rd_kafka_opaque($0)) }
                }
                rd_kafka_event_destroy(event)
            }
        }
    }

    private func ensureOpen() throws(KafkaError) {
        if closed.withLock({ $0 }) { throw KafkaError(code: .closed, message: "the consumer is closed") }
    }

    private func throwIfFatal() throws(KafkaError) {
        var text = CStringBuffer()
        let error = handle.withHandle { rd_kafka_fatal_error($0, &text.storage, text.count) }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(code: KafkaError.Code(error), message: "fatal consumer error: \(text.string)", severity: .fatal)
        }
    }
}
