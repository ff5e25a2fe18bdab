/// What a reader of assigned partitions needs of a consumer (restoring state, reading to
/// partition ends): ``Consumer`` is the real one. Tests wrap it to make a read fail, without
/// hooks in production code.
public protocol RecordFetching: AnyObject {
    /// Reads these partitions from these offsets, outside any group.
    func assign(_ offsets: [TopicPartition: Int64]) throws(KafkaError)
    /// Hands at most `maxRecords` fetched records (and partition ends and errors) to `body`.
    func withBatch<R>(maxRecords: Int, timeout: Duration, fill: Bool, _ body: (ConsumerBatch) throws -> R) throws -> R
    /// The low and high watermarks this reader's fetches last saw for `partition` (nil before any).
    func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)?
    /// Stops reading; safe to call more than once.
    func close() throws(KafkaError)
}

extension Consumer: RecordFetching {}
