internal import CRdKafka
public import Logging

/// A topic to create.
public struct NewTopic: Sendable, Equatable {
    public var name: String
    /// Number of partitions; at least 1.
    public var partitions: Int32 {
        didSet { precondition(partitions >= 1, "a topic needs at least one partition") }
    }
    /// Replication factor, or -1 for the broker's default.
    public var replicationFactor: Int32
    /// Topic configs such as `cleanup.policy=compact` or `retention.ms`.
    public var configs: [String: String]

    public init(name: String, partitions: Int32 = 1, replicationFactor: Int32 = -1, configs: [String: String] = [:]) {
        precondition(partitions >= 1, "a topic needs at least one partition")
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster says about a topic.
public struct TopicDescription: Sendable, Equatable {
    public var name: String
    public var partitionCount: Int
}

/// Topic administration and offset look-ups. Every method blocks until the cluster answers or
/// the timeout passes; a broker that cannot be reached gives an error that says so.
public final class Admin: Sendable {
    private let handle: RdKafkaHandle
    public let configuration: KafkaConfiguration

    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "vigil.kafka.admin")) throws(KafkaError) {
        try LibrdkafkaVersion.requireSupported()
        self.configuration = configuration
        handle = try RdKafkaHandle(kind: .producer, properties: configuration.librdkafkaProperties(), logger: logger)
    }

    /// Creates topics. With `ignoreExisting`, a topic that already exists is not an error.
    public func createTopics(_ topics: [NewTopic], ignoreExisting: Bool = false, timeout: Duration = .seconds(30)) throws(KafkaError) {
        guard !topics.isEmpty else { return }
        var errorText = CStringBuffer()
        var newTopics: [OpaquePointer?] = []
        defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, topic.partitions, topic.replicationFactor, &errorText.storage, errorText.count) else {
                throw KafkaError(code: .invalidConfiguration, message: "topic \(topic.name): \(errorText.string)")
            }
            newTopics.append(newTopic)
            for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                let error = rd_kafka_NewTopic_set_config(newTopic, name, value)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(error, "topic \(topic.name) config \(name)") }
            }
        }
        let results = try request(RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout: timeout, what: "create topics") { client, options, queue in
            newTopics.withUnsafeMutableBufferPointer { rd_kafka_CreateTopics(client, $0.baseAddress, $0.count, options, queue) }
        } result: { event in
            var count = 0
            let result = rd_kafka_event_CreateTopics_result(event)
            let items = rd_kafka_CreateTopics_result_topics(result, &count)
            return Self.topicResults(items, count)
        }
        for (name, error, text) in results where error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if ignoreExisting && error == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS { continue }
            throw KafkaError(code: KafkaError.Code(error), message: "create topic \(name): \(text)")
        }
    }

    /// Deletes topics. With `ignoreMissing`, a topic that does not exist is not an error.
    public func deleteTopics(_ names: [String], ignoreMissing: Bool = false, timeout: Duration = .seconds(30)) throws(KafkaError) {
        guard !names.isEmpty else { return }
        var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
        defer { for deletion in deletions { rd_kafka_DeleteTopic_destroy(deletion) } }
        let results = try request(RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout: timeout, what: "delete topics") { client, options, queue in
            deletions.withUnsafeMutableBufferPointer { rd_kafka_DeleteTopics(client, $0.baseAddress, $0.count, options, queue) }
        } result: { event in
            var count = 0
            let result = rd_kafka_event_DeleteTopics_result(event)
            let items = rd_kafka_DeleteTopics_result_topics(result, &count)
            return Self.topicResults(items, count)
        }
        for (name, error, text) in results where error != RD_KAFKA_RESP_ERR_NO_ERROR {
            if ignoreMissing && error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART { continue }
            throw KafkaError(code: KafkaError.Code(error), message: "delete topic \(name): \(text)")
        }
    }

    /// The cluster's topics and their partition counts, by name. Also a connectivity check: an
    /// unreachable cluster gives an error naming the bootstrap servers.
    public func listTopics(timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: TopicDescription] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = handle.withHandle { rd_kafka_metadata($0, 1, nil, &metadata, Int32(timeout.milliseconds)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw handle.explain(KafkaError(error, "could not reach Kafka at \(configuration.bootstrapServers) within \(timeout)"))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [String: TopicDescription] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let name = String(cString: topic.topic)
            topics[name] = TopicDescription(name: name, partitionCount: Int(topic.partition_cnt))
        }
        return topics
    }

    /// The low and high watermarks of a partition, asked of the partition's leader.
    /// Note: some Kafka-compatible brokers answer "latest" wrongly; a consumer's
    /// ``Consumer/cachedWatermarks(_:)`` comes from fetches instead.
    public func watermarks(_ partition: TopicPartition, timeout: Duration = .seconds(10)) throws(KafkaError) -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let error = handle.withHandle {
            rd_kafka_query_watermark_offsets($0, partition.topic, partition.partition, &low, &high, Int32(timeout.milliseconds))
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw handle.explain(KafkaError(error, "watermarks of \(partition)")) }
        return (low, high)
    }

    /// For each partition, the earliest offset whose timestamp is at or after the given time
    /// (milliseconds since the epoch); `KafkaOffset.end` where no record is that new.
    public func offsetsForTimes(_ times: [TopicPartition: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) -> [TopicPartition: Int64] {
        let list = TopicPartitionList(times)
        let error = handle.withHandle { rd_kafka_offsets_for_times($0, list.pointer, Int32(timeout.milliseconds)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw handle.explain(KafkaError(error, "offsets for times")) }
        try list.throwFirstError("offsets for times")
        return Dictionary(list.entries.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
    }

    /// The configurations of topics (`cleanup.policy`, `retention.ms`, …), by topic name; a topic
    /// the broker reports an error for is left out.
    public func describeTopicConfigs(_ names: [String], timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: [String: String]] {
        guard !names.isEmpty else { return [:] }
        var resources: [OpaquePointer?] = names.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
        defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
        return try request(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout: timeout, what: "describe topic configs") { client, options, queue in
            resources.withUnsafeMutableBufferPointer { rd_kafka_DescribeConfigs(client, $0.baseAddress, $0.count, options, queue) }
        } result: { event in
            var count = 0
            guard let result = rd_kafka_event_DescribeConfigs_result(event),
                  let items = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return [:] }
            var configs: [String: [String: String]] = [:]
            for index in 0..<count {
                guard let resource = items[index], rd_kafka_ConfigResource_error(resource) == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                var entryCount = 0
                guard let entries = rd_kafka_ConfigResource_configs(resource, &entryCount) else { continue }
                var values: [String: String] = [:]
                for position in 0..<entryCount {
                    guard let entry = entries[position], let name = rd_kafka_ConfigEntry_name(entry) else { continue }
                    values[String(cString: name)] = rd_kafka_ConfigEntry_value(entry).map { String(cString: $0) } ?? ""
                }
                configs[String(cString: rd_kafka_ConfigResource_name(resource))] = values
            }
            return configs
        }
    }

    /// Deletes the records of each partition before the given offset (exclusive): a repartition
    /// topic purged up to its committed offsets, as Kafka Streams does. Brokers without
    /// DeleteRecords answer with an error.
    public func deleteRecords(before offsets: [TopicPartition: Int64], timeout: Duration = .seconds(10)) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartitionList(offsets)
        var deletion: OpaquePointer? = rd_kafka_DeleteRecords_new(list.pointer)
        defer { rd_kafka_DeleteRecords_destroy(deletion) }
        let failures: [(TopicPartition, rd_kafka_resp_err_t)] = try request(RD_KAFKA_ADMIN_OP_DELETERECORDS, timeout: timeout, what: "delete records") { client, options, queue in
            withUnsafeMutablePointer(to: &deletion) { rd_kafka_DeleteRecords(client, $0, 1, options, queue) }
        } result: { event in
            guard let result = rd_kafka_event_DeleteRecords_result(event), let partitions = rd_kafka_DeleteRecords_result_offsets(result) else { return [] }
            return (0..<Int(partitions.pointee.cnt)).compactMap { index in
                let item = partitions.pointee.elems[index]
                guard item.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
                return (TopicPartition(String(cString: item.topic), item.partition), item.err)
            }
        }
        if let (partition, error) = failures.first { throw KafkaError(error, "delete records of \(partition)") }
    }

    // MARK: - Plumbing

    private static func topicResults(_ items: UnsafeMutablePointer<OpaquePointer?>?, _ count: Int) -> [(String, rd_kafka_resp_err_t, String)] {
        guard let items else { return [] }
        return (0..<count).compactMap { index in
            guard let item = items[index] else { return nil }
            let text = rd_kafka_topic_result_error_string(item).map { String(cString: $0) } ?? ""
            return (String(cString: rd_kafka_topic_result_name(item)), rd_kafka_topic_result_error(item), text)
        }
    }

    /// Sends one admin request and waits for its result event on a private queue.
    private func request<T>(
        _ operation: rd_kafka_admin_op_t, timeout: Duration, what: String,
        send: (OpaquePointer, OpaquePointer, OpaquePointer) -> Void,
        result: (OpaquePointer) -> T
    ) throws(KafkaError) -> T {
        try handle.withHandle { (client) throws(KafkaError) -> T in
            let options = rd_kafka_AdminOptions_new(client, operation)!
            defer { rd_kafka_AdminOptions_destroy(options) }
            var errorText = CStringBuffer()
            _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.milliseconds), &errorText.storage, errorText.count)
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, Int32(timeout.milliseconds), &errorText.storage, errorText.count)
            let queue = rd_kafka_queue_new(client)!
            defer { rd_kafka_queue_destroy(queue) }
            send(client, options, queue)
            // The request itself times out after `timeout`; allow a little more for the event.
            guard let event = rd_kafka_queue_poll(queue, Int32(timeout.milliseconds + 5000)) else {
                throw handle.explain(KafkaError(code: .timedOut, message: "\(what): no answer from \(configuration.bootstrapServers) within \(timeout)"))
            }
            defer { rd_kafka_event_destroy(event) }
            let error = rd_kafka_event_error(event)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
                throw handle.explain(KafkaError(code: KafkaError.Code(error), message: "\(what) at \(configuration.bootstrapServers): \(text)"))
            }
            return result(event)
        }
    }
}
