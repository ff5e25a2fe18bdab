/// One partition of a topic.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)/\(partition)" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// Special offsets understood by ``Consumer/seek(_:timeout:)`` and friends.
public enum KafkaOffset {
    /// The oldest record of the partition.
    public static let beginning: Int64 = -2
    /// The end of the partition (the next record produced).
    public static let end: Int64 = -1
    /// No offset (for example, nothing committed yet).
    public static let invalid: Int64 = -1001
}
