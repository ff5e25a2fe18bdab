internal import CRdKafka

/// Owns an `rd_kafka_topic_partition_list_t` and destroys it exactly once.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int = 4) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    /// A list of partitions with offsets (`KafkaOffset.invalid` where none is meant).
    convenience init(_ offsets: [TopicPartition: Int64]) {
        self.init(capacity: offsets.count)
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) { add(partition, offset: offset) }
    }

    convenience init(_ partitions: [TopicPartition]) {
        self.init(Dictionary(partitions.map { ($0, KafkaOffset.invalid) }, uniquingKeysWith: { a, _ in a }))
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    func add(_ partition: TopicPartition, offset: Int64) {
        let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)!
        element.pointee.offset = offset
    }

    /// The partitions with their offsets and per-partition errors.
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return (TopicPartition(String(cString: element.topic), element.partition), element.offset, element.err)
        }
    }

    var entries: [(TopicPartition, Int64, rd_kafka_resp_err_t)] { Self.entries(of: pointer) }

    /// Throws the first per-partition error, naming the partition.
    func throwFirstError(_ context: String) throws(KafkaError) {
        if let (partition, _, error) = entries.first(where: { $0.2 != RD_KAFKA_RESP_ERR_NO_ERROR }) {
            throw KafkaError(error, "\(context) for \(partition)")
        }
    }
}
