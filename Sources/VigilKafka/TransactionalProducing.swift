/// What a stream processor needs of a transactional producer: ``TransactionalProducer`` is the
/// real one. Tests put a fault-injecting wrapper in its place (through the runtime's client
/// factory) to make any call fail the way a broker would, without hooks in production code.
///
/// Every method blocks; see ``TransactionalProducer`` for what each does and how errors are
/// classified (``KafkaError/Severity``).
public protocol TransactionalProducing: AnyObject {
    func initTransactions(timeout: Duration) throws(KafkaError)
    func beginTransaction() throws(KafkaError)
    func send(_ record: ProducerRecord) throws(KafkaError)
    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader], timestamp: Int64?, tracked: Bool
    ) throws(KafkaError)
    func takeTrackedOffsets() -> [TopicPartition: Int64]
    func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata, timeout: Duration) throws(KafkaError)
    func commitTransaction(timeout: Duration) throws(KafkaError)
    func abortTransaction(timeout: Duration) throws(KafkaError)
    func flush(timeout: Duration) throws(KafkaError)
    /// Records queued locally and not yet delivered.
    var queuedRecords: Int { get }
    /// Ends the producer at once, purging what it still holds, before a replacement of the same
    /// transactional id initialises (see ``TransactionalProducer/close()``).
    func close()
}

extension TransactionalProducer: TransactionalProducing {}
