import Foundation
import Synchronization
public import VigilKafka

/// Failures a test asks for, shared between the test's thread and the clients it wraps: the
/// next calls of a kind fail with a given error, as a broker or the client library would make
/// them fail. Faults go through the clients' protocols (``TransactionalProducing``,
/// ``RecordFetching``), never through hooks in production code.
public final class FaultInjection: Sendable {
    /// A kind of call that can be made to fail.
    public enum Call: Hashable, Sendable {
        case initialise, begin, sendOffsets, commit, abort
        /// The answer to a commit that went through (a lost response: the broker committed, the client reports a failure).
        case commitAnswer
        /// A record sent to a topic (any topic when nil).
        case send(topic: String?)
        /// A batch read by a restore reader.
        case read
        /// A producer closed (counted, never failed: closing cannot fail).
        case close
    }

    private struct Pending {
        var skip: Int
        var count: Int
        var error: KafkaError
    }

    private let pending = Mutex<[Call: Pending]>([:])
    private let injected = Mutex<[Call: Int]>([:])
    private let delays = Mutex<[Call: Duration]>([:])
    private let calls = Mutex<[Call: Int]>([:])
    private let commitAnswerTopic = Mutex<String?>(nil)

    public init() {}

    /// After `skip` more calls of this kind succeed, the next `count` fail with `error`.
    public func fail(_ call: Call, count: Int = 1, after skip: Int = 0, with error: KafkaError) {
        pending.withLock { $0[call] = Pending(skip: skip, count: count, error: error) }
    }

    /// The answer of the next commit of a transaction that wrote to `topic` is lost: the
    /// transaction commits, and the client reports `error`.
    public func loseCommitAnswer(ofTransactionWriting topic: String, with error: KafkaError) {
        commitAnswerTopic.withLock { $0 = topic }
        fail(.commitAnswer, with: error)
    }

    /// Whether a commit answer fault applies to a transaction that wrote to `topics`.
    func commitAnswerApplies(wrote topics: Set<String>) -> Bool {
        commitAnswerTopic.withLock { topic in topic.map { topics.contains($0) } ?? true }
    }

    /// How many failures of this kind were injected so far.
    public func injectedCount(_ call: Call) -> Int { injected.withLock { $0[call] ?? 0 } }

    /// Every call of this kind takes `delay` longer (a slow broker), until set back to zero.
    public func slow(_ call: Call, by delay: Duration) { delays.withLock { $0[call] = delay } }

    /// How many calls of this kind were made so far.
    public func callCount(_ call: Call) -> Int { calls.withLock { $0[call] ?? 0 } }

    /// Counts a call of this kind.
    func count(_ call: Call) { calls.withLock { $0[call, default: 0] += 1 } }

    /// Throws the fault due for a call of this kind, if one is.
    func check(_ call: Call) throws(KafkaError) {
        count(call)
        if let delay = delays.withLock({ $0[call] }), delay > .zero {
            // The injected fault is the slowness itself: a broker that takes this long to answer.
            Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
        }
        let error: KafkaError? = pending.withLock { pending in
            guard var fault = pending[call] else { return nil }
            if fault.skip > 0 {
                fault.skip -= 1
                pending[call] = fault
                return nil
            }
            fault.count -= 1
            pending[call] = fault.count > 0 ? fault : nil
            return fault.error
        }
        if let error {
            injected.withLock { $0[call, default: 0] += 1 }
            throw error
        }
    }

    /// Checks a send to `topic`: a fault for that topic, else one for any topic.
    func checkSend(topic: String) throws(KafkaError) {
        let forTopic = pending.withLock { $0[.send(topic: topic)] != nil }
        try check(forTopic ? .send(topic: topic) : .send(topic: nil))
    }

    /// Errors as librdkafka classifies them.
    public static let abortable = KafkaError(code: .state, message: "injected: the broker refused the transaction", severity: .abortRequired)
    public static let retriable = KafkaError(code: .timedOut, message: "injected: the request timed out", severity: .retriable)
    public static let fatal = KafkaError(code: .fenced, message: "injected: a newer producer fenced this one", severity: .fatal)
    public static let queueFull = KafkaError(code: .queueFull, message: "injected: local queue full", severity: .plain)
    public static let tooLarge = KafkaError(code: .messageSizeTooLarge, message: "injected: message size too large", severity: .plain)
    public static let readFailure = KafkaError(code: .transport, message: "injected: broker transport failure while restoring", severity: .plain)
}

/// A transactional producer whose calls fail where a ``FaultInjection`` says, and otherwise do
/// what the real producer does.
public final class FaultInjectingProducer: TransactionalProducing {
    private let wrapped: any TransactionalProducing
    private let faults: FaultInjection
    /// The topics the open transaction wrote to.
    private let written = Mutex<Set<String>>([])

    public init(wrapping wrapped: any TransactionalProducing, faults: FaultInjection) {
        self.wrapped = wrapped
        self.faults = faults
    }

    public func initTransactions(timeout: Duration) throws(KafkaError) {
        try faults.check(.initialise)
        try wrapped.initTransactions(timeout: timeout)
    }

    public func beginTransaction() throws(KafkaError) {
        try faults.check(.begin)
        try wrapped.beginTransaction()
        written.withLock { $0.removeAll() }
    }

    public func send(_ record: ProducerRecord) throws(KafkaError) {
        try faults.checkSend(topic: record.topic)
        try wrapped.send(record)
        written.withLock { _ = $0.insert(record.topic) }
    }

    public func send(topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                     headers: [KafkaHeader], timestamp: Int64?, tracked: Bool) throws(KafkaError) {
        try faults.checkSend(topic: topic)
        try wrapped.send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, tracked: tracked)
        written.withLock { _ = $0.insert(topic) }
    }

    public func takeTrackedOffsets() -> [TopicPartition: Int64] { wrapped.takeTrackedOffsets() }

    public func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata, timeout: Duration) throws(KafkaError) {
        try faults.check(.sendOffsets)
        try wrapped.sendOffsetsToTransaction(offsets, groupMetadata: groupMetadata, timeout: timeout)
    }

    public func commitTransaction(timeout: Duration) throws(KafkaError) {
        try faults.check(.commit)
        try wrapped.commitTransaction(timeout: timeout)
        if faults.commitAnswerApplies(wrote: written.withLock { $0 }) { try faults.check(.commitAnswer) }
    }

    public func abortTransaction(timeout: Duration) throws(KafkaError) {
        try faults.check(.abort)
        try wrapped.abortTransaction(timeout: timeout)
    }

    public func flush(timeout: Duration) throws(KafkaError) { try wrapped.flush(timeout: timeout) }

    public var queuedRecords: Int { wrapped.queuedRecords }

    public func close() {
        faults.count(.close)
        wrapped.close()
    }
}

/// A reader of assigned partitions whose reads fail where a ``FaultInjection`` says.
public final class FaultInjectingReader: RecordFetching {
    private let wrapped: any RecordFetching
    private let faults: FaultInjection

    public init(wrapping wrapped: any RecordFetching, faults: FaultInjection) {
        self.wrapped = wrapped
        self.faults = faults
    }

    public func assign(_ offsets: [TopicPartition: Int64]) throws(KafkaError) { try wrapped.assign(offsets) }

    public func withBatch<R>(maxRecords: Int, timeout: Duration, fill: Bool, _ body: (ConsumerBatch) throws -> R) throws -> R {
        try faults.check(.read)
        return try wrapped.withBatch(maxRecords: maxRecords, timeout: timeout, fill: fill, body)
    }

    public func cachedWatermarks(_ partition: TopicPartition) -> (low: Int64, high: Int64)? { wrapped.cachedWatermarks(partition) }

    public func close() throws(KafkaError) { try wrapped.close() }
}
