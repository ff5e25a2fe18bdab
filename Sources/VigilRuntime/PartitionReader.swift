public import Logging
public import VigilKafka

/// Reads one partition from an offset to its end, outside any group: restoring state from a
/// changelog, finding the newest checkpoint. The end is where the broker reports partition EOF
/// during the fetch, not a ListOffsets answer (which some Kafka-compatible brokers get wrong).
public struct PartitionReader: Sendable {
    public var kafka: KafkaConfiguration
    public var isolationLevel: ConsumerConfiguration.IsolationLevel = .readCommitted
    public var logger: Logger

    public init(kafka: KafkaConfiguration, logger: Logger) {
        self.kafka = kafka
        self.logger = logger
    }

    /// Calls `body` for every record of `partition` from `offset` up to the end as of now, and
    /// returns how many it read. Blocks; gives up with an error after `timeout` without progress.
    @discardableResult
    public func read(
        _ partition: TopicPartition, from offset: Int64, timeout: Duration = .seconds(30),
        _ body: (ConsumedMessage) throws -> Void
    ) throws -> Int {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "vigil-reader")
        configuration.isolationLevel = isolationLevel
        configuration.reportsPartitionEOF = true
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign([partition: offset])
        var count = 0
        let clock = ContinuousClock()
        var lastProgress = clock.now
        while true {
            let reachedEnd = try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(100)) { batch in
                for error in batch.errors { logger.warning("reading \(partition): \(error)") }
                for message in batch.messages {
                    try body(message)
                    count += 1
                }
                if !batch.messages.isEmpty { lastProgress = clock.now }
                return batch.partitionEnds[partition] != nil
            }
            if reachedEnd { return count }
            if clock.now - lastProgress > timeout {
                throw KafkaError(code: .timedOut, message: "reading \(partition) from offset \(offset): no progress and no end of partition within \(timeout)")
            }
        }
    }
}
