import Foundation
import Logging
import VigilKafka

/// Every transactional call of the runtime goes through here, so that each failure is
/// classified by the ``TransactionCycle`` in one place: retriable calls are retried as the cycle
/// allows, every other failure leaves the cycle `failed` (abort before anything else) or
/// `stopped`, and is thrown to the runtime's recovery.
final class TransactionDriver {
    /// The abort of the open transaction failed for good: the runtime must replace the
    /// producer (``replaceProducer(making:attempts:)``) and restore its partitions; nothing
    /// else goes on.
    struct AbortFailed: Error, CustomStringConvertible {
        let error: KafkaError
        var description: String { "\(error)" }
    }

    private(set) var producer: any TransactionalProducing
    private(set) var cycle: TransactionCycle
    /// Whether a transaction was begun and is neither committed nor aborted.
    private(set) var inTransaction = false
    private let logger: Logger
    private let clock = ContinuousClock()
    /// Runs a commit in the background (``startCommit(offsets:membership:)``).
    private let worker = CommitWorker()
    /// What the next transaction sent while the commit before it ran.
    private var held: HeldRecords

    /// `maxRecordBytes` is the producer's `message.max.bytes` (records held back while a commit
    /// runs are checked against it as the producer would).
    init(producer: any TransactionalProducing, cycle: TransactionCycle, maxRecordBytes: Int, logger: Logger) {
        self.producer = producer
        self.cycle = cycle
        self.logger = logger
        held = HeldRecords(maxRecordBytes: maxRecordBytes)
    }

    /// Whether a commit runs in the background (its outcome not yet collected).
    var commitUnderWay: Bool { worker.isRunning }
    /// Records held back for the transaction behind the commit under way.
    var heldRecords: Int { held.count }

    /// Begins a transaction when none is open; true when it did.
    func beginIfIdle() throws -> Bool {
        switch cycle.nextForBatch() {
        case .begin:
            try perform(.begin) { () throws(KafkaError) in try producer.beginTransaction() }
            inTransaction = true
            cycle.begun(now: clock.now)
            return true
        case .abortAndRewind:
            throw KafkaError(code: .state, message: "the open transaction failed and must be aborted first", severity: .abortRequired)
        case .replaceProducer(let cause):
            throw AbortFailed(error: cause)
        default:
            return false
        }
    }

    /// Counts input events into the open transaction (for its size bound).
    func took(events: Int) { cycle.took(events: events, now: clock.now) }

    /// Queues a record in the open transaction. A record the client refuses as too large throws
    /// ``KafkaError/Code/messageSizeTooLarge`` without failing the transaction (the caller
    /// dead-letters the event); any other failure fails it.
    func send(topic: String, partition: Int32? = nil, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
              headers: [KafkaHeader] = [], timestamp: Int64? = nil, tracked: Bool = false) throws(KafkaError) {
        if case .committing = cycle.state {
            return try held.append(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, tracked: tracked)
        }
        do {
            try producer.send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, tracked: tracked)
        } catch where error.code == .messageSizeTooLarge {
            throw error
        } catch {
            _ = cycle.nextOnError(error, during: .send)
            throw error
        }
    }

    func send(_ record: ProducerRecord) throws(KafkaError) {
        if case .committing = cycle.state {
            return try Self.withBytes(record.key) { (key) throws(KafkaError) in
                try Self.withBytes(record.value) { (value) throws(KafkaError) in
                    try held.append(topic: record.topic, partition: record.partition, key: key, value: value, headers: record.headers,
                                    timestamp: record.timestamp, tracked: false)
                }
            }
        }
        do {
            try producer.send(record)
        } catch where error.code == .messageSizeTooLarge {
            throw error
        } catch {
            _ = cycle.nextOnError(error, during: .send)
            throw error
        }
    }

    /// Waits until every record queued so far is delivered (the transaction stays open).
    func flush() throws {
        try perform(.send) { () throws(KafkaError) in try producer.flush(timeout: .seconds(30)) }
    }

    /// Starts the commit of the open transaction in the background: its offsets (under the group
    /// membership `groupMetadata` gives), then the commit. Until ``awaitCommit(wait:offsets:confirm:groupMetadata:)``
    /// has collected its outcome, sends are held back for the next transaction, which begins
    /// once the commit has succeeded. `confirm` (throws when the instance may no longer commit
    /// for its partitions) is asked right before the start, and on the worker's thread again
    /// between the offsets and the commit, as the commit in the foreground asks it: the
    /// process can stand still in between, the worker's thread with it.
    func startCommit(offsets: [TopicPartition: Int64], confirm: @escaping @Sendable () throws(KafkaError) -> Void,
                     groupMetadata: () throws(KafkaError) -> ConsumerGroupMetadata) throws {
        precondition(!worker.isRunning, "a commit is under way already")
        try confirm()
        let metadata = offsets.isEmpty ? nil : try groupMetadata()
        cycle.commitStarted()
        worker.start(CommitWorker.Work(producer: producer, offsets: offsets, groupMetadata: metadata, confirm: confirm, timeout: .seconds(30)))
    }

    /// The outcome of the commit under way: nil while it runs (`wait` false), true once it
    /// has committed. A failed call is retried here as the cycle allows (in the foreground:
    /// the offsets when they failed, then the commit); any other failure throws, as
    /// ``commit(offsets:membership:)`` does, and leaves the cycle `failed` or `stopped`.
    /// After a success where the next transaction's events were processed meanwhile, that
    /// transaction is begun and its held records are sent (see ``beginHeld()``): the caller
    /// learns so from `cycle.state` being `open`.
    func awaitCommit(wait: Bool, offsets: [TopicPartition: Int64], confirm: () throws(KafkaError) -> Void,
                     groupMetadata: () throws(KafkaError) -> ConsumerGroupMetadata) throws -> Bool? {
        guard let outcome = wait ? worker.wait() : worker.poll() else { return wait ? true : nil }
        switch outcome {
        case .committed:
            break
        case .failed(let error, let call):
            switch cycle.nextOnError(error, during: call) {
            case .retry:
                logger.warning("\(call) failed, retrying: \(error)")
                // The offsets again only when they were what failed.
                try sendOffsetsAndCommit(call == .sendOffsets ? offsets : [:], confirm: confirm, groupMetadata: groupMetadata)
            case .stop(let fatal):
                held.removeAll()
                throw fatal
            default:
                held.removeAll()
                throw error
            }
        }
        inTransaction = false
        // Records held back make a next transaction too, even without events counted into it.
        pendingBegin = cycle.committed() || !held.isEmpty
        return true
    }

    /// Whether the next transaction's events were processed while the commit before it ran:
    /// it must begin (``beginHeld()``) before anything else is sent.
    private(set) var pendingBegin = false

    /// Begins the transaction whose events were processed while the commit before it ran,
    /// and sends what was held back for it.
    func beginHeld() throws {
        guard pendingBegin else { return }
        pendingBegin = false
        try perform(.begin) { () throws(KafkaError) in try producer.beginTransaction() }
        inTransaction = true
        cycle.begun(now: clock.now)
        try held.drain { (topic, partition, key, value, headers, timestamp, tracked) throws(KafkaError) in
            try send(topic: topic, partition: partition, key: key, value: value, headers: headers, timestamp: timestamp, tracked: tracked)
        }
    }

    /// Adds the offsets and commits, retrying retriable failures as the cycle allows.
    /// `confirm` throws when the instance can no longer commit for its partitions, and
    /// `groupMetadata` gives the group membership the offsets are committed under; the
    /// membership is confirmed again right before the commit itself, since the process can
    /// stand still in between (see ``FreezeWatch``).
    func commit(offsets: [TopicPartition: Int64], confirm: () throws(KafkaError) -> Void,
                groupMetadata: () throws(KafkaError) -> ConsumerGroupMetadata) throws {
        try sendOffsetsAndCommit(offsets, confirm: confirm, groupMetadata: groupMetadata)
        inTransaction = false
        cycle.committed()
    }

    /// The offsets (when there are any), then the commit, in the foreground: a commit's own
    /// sequence, and the resumption of one that failed in the background.
    private func sendOffsetsAndCommit(_ offsets: [TopicPartition: Int64], confirm: () throws(KafkaError) -> Void,
                                      groupMetadata: () throws(KafkaError) -> ConsumerGroupMetadata) throws {
        if !offsets.isEmpty {
            try confirm()
            let metadata = try groupMetadata()
            try perform(.sendOffsets) { () throws(KafkaError) in
                try producer.sendOffsetsToTransaction(offsets, groupMetadata: metadata, timeout: .seconds(30))
            }
        }
        try confirm()
        try perform(.commit) { () throws(KafkaError) in try producer.commitTransaction(timeout: .seconds(30)) }
    }

    /// Aborts the open transaction, if one was begun. Retriable failures are retried; an abort
    /// that cannot be completed throws ``AbortFailed`` (or, fenced, the fencing error).
    func abort() throws {
        held.removeAll()
        pendingBegin = false
        if inTransaction {
            try perform(.abort) { () throws(KafkaError) in try producer.abortTransaction(timeout: .seconds(30)) }
            inTransaction = false
        }
        cycle.aborted()
    }

    /// Something other than a transactional call failed inside the open transaction (the
    /// processing threw): the transaction must be aborted. Returns the error to stop with when
    /// the failure is fatal.
    func processingFailed(_ error: any Error) -> KafkaError? {
        if case .stop(let fatal) = cycle.nextOnError(error, during: .processing) { return fatal }
        return nil
    }

    /// Hands the transactional id over from the producer whose abort failed to a new one, in
    /// this order: the old producer is closed (what it still holds is purged: it belongs to
    /// the transaction being given up), then `makeProducer` makes the new one, whose
    /// initialisation ends the transaction the old one left open; the cycle starts afresh.
    /// Closing first leaves nothing of the old client running (retrying its own requests for
    /// the same id) while the new one initialises.
    /// A retriable failure of the initialisation is tried again, after 1 s, then 2 s: the
    /// coordinator answers CONCURRENT_TRANSACTIONS until the old transaction's markers are
    /// written, which needs the partition leaders that were just failing (Kafka Streams, too,
    /// retries a producer's initialisation that timed out).
    func replaceProducer(making makeProducer: () throws -> any TransactionalProducing, attempts: Int = 3) throws {
        producer.close()
        inTransaction = false
        let producer = try makeProducer()
        self.producer = producer
        var attempt = 1
        while case .failure(let failure) = Result(catching: { () throws(KafkaError) in try producer.initTransactions(timeout: .seconds(30)) }) {
            guard failure.severity == .retriable, attempt < attempts else { throw failure }
            logger.warning("initialising the replacement producer failed (attempt \(attempt) of \(attempts)), trying again: \(failure)")
            Thread.sleep(forTimeInterval: Double(attempt))  // the backoff itself, not a wait for a condition
            attempt += 1
        }
        cycle.producerReplaced()
    }

    /// Nothing more is committed, not even on the way out (an error escaped the loop).
    func stop() { cycle.stop() }

    private static func withBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws(KafkaError) -> R) throws(KafkaError) -> R {
        guard let bytes else { return try body(nil) }
        // Array.withUnsafeBytes does not carry a typed error through.
        return try bytes.withUnsafeBytes { buffer in Result { () throws(KafkaError) in try body(buffer) } }.get()
    }

    /// Makes a call, retrying it while the cycle says so; throws once it says otherwise.
    private func perform(_ call: TransactionCycle.Call, _ body: () throws(KafkaError) -> Void) throws {
        while true {
            do throws(KafkaError) {
                try body()
                return
            } catch {
                switch cycle.nextOnError(error, during: call) {
                case .retry:
                    logger.warning("\(call) failed, retrying: \(error)")
                    continue
                case .stop(let fatal):
                    throw fatal
                case .replaceProducer(let failure):
                    throw AbortFailed(error: failure)
                default:
                    throw error
                }
            }
        }
    }
}
