public import Logging

/// Reads partitions from given offsets to their ends, outside any group: restoring state from
/// changelogs, finding the newest checkpoints, replaying a topic. The end is where the broker
/// reports partition EOF during the fetch, not a ListOffsets answer (which some
/// Kafka-compatible brokers get wrong). All partitions of one call are read together by one consumer, so restoring many
/// partitions costs one fetch round trip, not one per partition.
public struct PartitionReader: Sendable {
    public var kafka: KafkaConfiguration
    public var isolationLevel: ConsumerConfiguration.IsolationLevel = .readCommitted
    public var logger: Logger

    public init(kafka: KafkaConfiguration, logger: Logger) {
        self.kafka = kafka
        self.logger = logger
    }

    /// Calls `body` for every record of the partitions from their start offsets up to their
    /// ends as of now (in offset order within each partition), and returns how many it read.
    /// Blocks; gives up with an error after `timeout` without progress.
    @discardableResult
    public func read(
        _ starts: [TopicPartition: Int64], timeout: Duration = .seconds(30),
        _ body: (ConsumedMessage) throws -> Void
    ) throws -> Int {
        try readBatches(starts, timeout: timeout) { messages in
            for message in messages { try body(message) }
        }
    }

    /// The same, a fetched batch at a time (the messages are valid only inside `body`).
    @discardableResult
    public func readBatches(
        _ starts: [TopicPartition: Int64], timeout: Duration = .seconds(30),
        _ body: ([ConsumedMessage]) throws -> Void
    ) throws -> Int {
        guard !starts.isEmpty else { return 0 }
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: "vigil-reader")
        configuration.isolationLevel = isolationLevel
        configuration.reportsPartitionEOF = true
        // An empty fetch at the end answers at once instead of waiting for data.
        configuration.kafka.properties["fetch.wait.max.ms"] = configuration.kafka.properties["fetch.wait.max.ms"] ?? "10"
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign(starts)
        var remaining = Set(starts.keys)
        var count = 0
        let clock = ContinuousClock()
        var lastProgress = clock.now
        while !remaining.isEmpty {
            try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(100)) { batch in
                for error in batch.errors { logger.warning("reading \(starts.keys.sorted().map(\.description).joined(separator: ", ")): \(error)") }
                let messages = batch.messages.filter { remaining.contains($0.topicPartition) }
                if !messages.isEmpty { try body(messages) }
                count += messages.count
                for partition in batch.partitionEnds.keys { remaining.remove(partition) }
                if !batch.messages.isEmpty || !batch.partitionEnds.isEmpty { lastProgress = clock.now }
            }
            if clock.now - lastProgress > timeout {
                throw KafkaError(code: .timedOut, message: "reading \(remaining.sorted().map(\.description).joined(separator: ", ")): no progress and no end of partition within \(timeout)")
            }
        }
        return count
    }
}
