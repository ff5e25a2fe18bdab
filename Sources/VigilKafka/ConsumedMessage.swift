internal import CRdKafka

/// A record inside a polled batch, read in place from librdkafka's buffer: nothing is copied
/// until asked for. Valid only inside the `withBatch` call that handed it out.
public struct ConsumedMessage {
    let message: UnsafeMutablePointer<rd_kafka_message_t>
    /// The record's topic.
    public let topic: String

    /// The record's partition.
    public var partition: Int32 { message.pointee.partition }
    /// The record's offset.
    public var offset: Int64 { message.pointee.offset }
    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    /// The record's timestamp in milliseconds since the epoch, or nil when it has none.
    public var timestamp: Int64? {
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let value = rd_kafka_message_timestamp(message, &type)
        return type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : value
    }

    /// Scoped access to the value's bytes (nil for a null value).
    public func withValue<R, E: Error>(_ body: (UnsafeRawBufferPointer?) throws(E) -> R) throws(E) -> R {
        guard let payload = message.pointee.payload else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: payload, count: message.pointee.len))
    }

    /// Scoped access to the key's bytes (nil for a null key).
    public func withKey<R, E: Error>(_ body: (UnsafeRawBufferPointer?) throws(E) -> R) throws(E) -> R {
        guard let key = message.pointee.key else { return try body(nil) }
        return try body(UnsafeRawBufferPointer(start: key, count: message.pointee.key_len))
    }

    /// The value, copied.
    public var value: [UInt8]? { withValue { $0.map { Array($0) } } }
    /// The key, copied.
    public var key: [UInt8]? { withKey { $0.map { Array($0) } } }

    /// The headers, copied.
    public var headers: [KafkaHeader] {
        var headers: OpaquePointer?
        guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            result.append(KafkaHeader(name.map { String(cString: $0) } ?? "", bytes))
            index += 1
        }
        return result
    }

    /// The whole record, copied out of the batch.
    public var record: ConsumerRecord {
        ConsumerRecord(topic: topic, partition: partition, offset: offset, key: key, value: value, headers: headers, timestamp: timestamp)
    }
}

/// What one poll returned: records, and the partitions whose end was reached (when the
/// consumer reports partition EOF), plus non-fatal consumer errors (for example a subscribed
/// topic that does not exist yet).
public struct ConsumerBatch {
    /// The records, in the order librdkafka delivered them (per partition, in offset order).
    public let messages: [ConsumedMessage]
    /// Partitions whose end was reached during this poll, with the end offset.
    public let partitionEnds: [TopicPartition: Int64]
    /// Errors reported instead of records; the consumer goes on after them.
    public let errors: [KafkaError]
}
