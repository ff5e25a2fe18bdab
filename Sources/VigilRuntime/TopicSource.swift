public import Logging
public import VigilKafka
public import VigilPipeline
public import VigilReplay
public import VigilTopology

/// Events from a topic, for `vigil replay --topic`: every partition from its start to its end
/// (read_committed; records produced while the replay reads may be included), decoded as
/// `vigil run` decodes them (``SourceRecordDecoder``), outside any consumer group (nothing is
/// committed). Each partition's records come in offset order; partitions interleave as they
/// are fetched, as they do live, so with more than one partition a stage keyed differently
/// from the source may see its events in another order than a live run did. A record that does not decode is reported with its partition and offset where the
/// runtime would dead-letter it.
public final class TopicSource: ReplaySource {
    /// The topic replayed.
    public let topic: String
    private let kafka: KafkaConfiguration
    private let logger: Logger
    private var bytesRead = 0

    public init(topic: String, kafka: KafkaConfiguration, logger: Logger) {
        self.topic = topic
        self.kafka = kafka
        self.logger = logger
    }

    public var position: ReplayPosition { ReplayPosition(bytesRead: bytesRead, totalBytes: nil) }

    public func read(topology: Topology, pipeline: Pipeline, into feed: ReplayFeed) throws {
        let admin = try Admin(configuration: kafka, logger: logger)
        guard let partitions = try admin.listTopics()[topic]?.partitionCount else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "topic '\(topic)' does not exist at \(kafka.bootstrapServers)")
        }
        let decoder = SourceRecordDecoder(topology: topology, pipeline: pipeline, topic: topic)
        let starts = Dictionary(uniqueKeysWithValues: (0..<Int32(partitions)).map { (TopicPartition(topic, $0), KafkaOffset.beginning) })
        // Decoded into a batch of its own, then handed to the feed event by event: the feed
        // processes its batch whenever it fills, which cannot happen while the decoder writes.
        var decoded = pipeline.makeBatch(capacity: 10_000)
        try PartitionReader(kafka: kafka, logger: logger).readBatches(starts) { messages in
            for message in messages {
                feed.noteRecord()
                bytesRead += message.withValue { $0?.count ?? 0 }
            }
            decoded.removeAll()
            var rejected: [(Int, Rejection)] = []
            try decoder.decode(messages, into: &decoded, accepted: { _ in }) { index, rejection in rejected.append((index, rejection)) }
            for (index, rejection) in rejected {
                feed.malformed(.record(partition: messages[index].partition, offset: messages[index].offset), rejection.reason)
            }
            for index in 0..<decoded.count {
                feed.batch.append(index, of: decoded)
                try feed.appended()
            }
        }
    }
}
