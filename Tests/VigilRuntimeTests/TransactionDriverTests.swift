import Dispatch
import Logging
import Synchronization
import Testing
@testable import VigilRuntime
import VigilKafka

/// The driver's producer hand-over, without a broker: producers that write every call made
/// to them into one journal, so that the order of calls across producers shows.
struct TransactionDriverTests {
    final class Journal {
        var entries: [String] = []
    }

    final class JournalingProducer: TransactionalProducing {
        let name: String
        let journal: Journal
        /// Failures of the next aborts, in order.
        var abortFailures: [KafkaError] = []

        init(_ name: String, journal: Journal) {
            self.name = name
            self.journal = journal
        }

        private func note(_ call: String) { journal.entries.append("\(name).\(call)") }

        func initTransactions(timeout: Duration) throws(KafkaError) { note("init") }
        func beginTransaction() throws(KafkaError) { note("begin") }
        func send(_ record: ProducerRecord) throws(KafkaError) { note("send:\(record.value?.count ?? 0)") }
        func send(topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                  headers: [KafkaHeader], timestamp: Int64?, tracked: Bool) throws(KafkaError) { note("send:\(value?.count ?? 0)") }
        func takeTrackedOffsets() -> [TopicPartition: Int64] { [:] }
        func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata, timeout: Duration) throws(KafkaError) {
            note("sendOffsets")
        }
        /// Failures of the next commits, in order.
        var commitFailures: [KafkaError] = []
        /// Taken (and given back) by each commit: a test holds it to keep a commit running.
        let commitGate = DispatchSemaphore(value: 1)
        func commitTransaction(timeout: Duration) throws(KafkaError) {
            commitGate.wait()
            commitGate.signal()
            note("commit")
            if !commitFailures.isEmpty { throw commitFailures.removeFirst() }
        }
        func abortTransaction(timeout: Duration) throws(KafkaError) {
            note("abort")
            if !abortFailures.isEmpty { throw abortFailures.removeFirst() }
        }
        func flush(timeout: Duration) throws(KafkaError) { note("flush") }
        var queuedRecords: Int { 0 }
        func close() { note("close") }
    }

    static let retriable = KafkaError(code: .timedOut, message: "the request timed out", severity: .retriable)

    /// How often a membership check was made (from either thread).
    final class Confirmations: Sendable {
        let count = Atomic<Int>(0)
    }

    /// A driver over a journaling producer, with a transaction begun.
    static func openTransaction(maxRecordBytes: Int) -> (Journal, JournalingProducer, TransactionDriver) {
        let journal = Journal()
        let producer = JournalingProducer("p", journal: journal)
        let driver = TransactionDriver(producer: producer, cycle: TransactionCycle(commitInterval: .seconds(1), maxEvents: 100),
                                       maxRecordBytes: maxRecordBytes, logger: Logger(label: "test"))
        #expect((try? driver.beginIfIdle()) == true)
        return (journal, producer, driver)
    }

    /// No group membership is asked for: the commits here carry no offsets (a
    /// ``ConsumerGroupMetadata`` takes a Kafka client, which ThreadSanitizer cannot run beside).
    static func noMetadata() throws(KafkaError) -> ConsumerGroupMetadata {
        throw KafkaError(code: .state, message: "no offsets, no membership")
    }

    /// A commit in the background: what is sent while it runs is held back, nothing reaches the
    /// producer until the commit has succeeded, then the next transaction begins and the held
    /// records follow in order. A record the producer would refuse as too large is refused at
    /// once, as the producer does.
    @Test func recordsSentWhileACommitRunsFollowItsSuccessInTheNextTransaction() throws {
        let (journal, producer, driver) = Self.openTransaction(maxRecordBytes: 200)
        try driver.send(ProducerRecord(topic: "t", value: [1]))
        let offsets: [TopicPartition: Int64] = [:]
        let confirmed = Confirmations()
        producer.commitGate.wait()  // closed: the commit blocks until the test opens it
        try driver.startCommit(offsets: offsets, confirm: { confirmed.count.add(1, ordering: .relaxed) }, groupMetadata: Self.noMetadata)
        // Once before the start; the worker asks again before the commit (which the gate holds).
        #expect(confirmed.count.load(ordering: .relaxed) >= 1, "the membership is confirmed before the commit starts")
        #expect(driver.commitUnderWay)
        try driver.send(ProducerRecord(topic: "t", value: [2]))
        try driver.send(ProducerRecord(topic: "t", key: [9], value: Array(repeating: 3, count: 100), headers: [KafkaHeader("h", "v")]))
        #expect(throws: KafkaError.self) { try driver.send(ProducerRecord(topic: "t", value: Array(repeating: 4, count: 165))) }
        driver.took(events: 3)
        #expect(try driver.awaitCommit(wait: false, offsets: offsets, confirm: {}, groupMetadata: Self.noMetadata) == nil, "the commit is still running")
        producer.commitGate.signal()
        #expect(try driver.awaitCommit(wait: true, offsets: offsets, confirm: {}, groupMetadata: Self.noMetadata) == true)
        #expect(confirmed.count.load(ordering: .relaxed) == 2, "and again on the worker, right before the commit")
        #expect(driver.pendingBegin)
        try driver.beginHeld()
        #expect(journal.entries == ["p.begin", "p.send:1", "p.commit", "p.begin", "p.send:1", "p.send:100"])
        #expect(driver.inTransaction)
        if case .open(_, let events) = driver.cycle.state { #expect(events == 3) } else { Issue.record("not open: \(driver.cycle.state)") }
        // The size check is librdkafka's own: 36 bytes of framing, the key, the value, headers.
        #expect(HeldRecords.wireSize(key: 1, value: 100, headers: [KafkaHeader("h", "v")]) == 36 + 1 + 100 + 4)
    }

    /// A commit in the background that fails: nothing held is sent, the cycle is failed, and
    /// the abort that follows ends the committing transaction at the broker.
    @Test func aFailedBackgroundCommitSendsNothingHeldAndAborts() throws {
        let (journal, producer, driver) = Self.openTransaction(maxRecordBytes: 1_000)
        producer.commitFailures = [KafkaError(code: .state, message: "abortable", severity: .abortRequired)]
        try driver.startCommit(offsets: [:], confirm: {}, groupMetadata: Self.noMetadata)
        try driver.send(ProducerRecord(topic: "t", value: [2]))
        #expect(throws: KafkaError.self) { try driver.awaitCommit(wait: true, offsets: [:], confirm: {}, groupMetadata: Self.noMetadata) }
        #expect(driver.cycle.state == .failed)
        #expect(!driver.pendingBegin)
        try driver.abort()
        #expect(journal.entries == ["p.begin", "p.commit", "p.abort"])
        #expect(driver.cycle.state == .idle)
    }

    /// A commit in the background that fails with a retriable error is resumed in the
    /// foreground, as the cycle allows, and then counts as committed: the held records follow
    /// in the next transaction; nothing is aborted.
    @Test func aRetriableBackgroundCommitFailureIsRetried() throws {
        let (journal, producer, driver) = Self.openTransaction(maxRecordBytes: 1_000)
        producer.commitFailures = [Self.retriable]
        try driver.startCommit(offsets: [:], confirm: {}, groupMetadata: Self.noMetadata)
        try driver.send(ProducerRecord(topic: "t", value: [7, 7]))
        #expect(try driver.awaitCommit(wait: true, offsets: [:], confirm: {}, groupMetadata: Self.noMetadata) == true)
        #expect(driver.pendingBegin)
        try driver.beginHeld()
        #expect(journal.entries == ["p.begin", "p.commit", "p.commit", "p.begin", "p.send:2"])
        #expect(driver.inTransaction)
    }

    /// An abort that fails for good hands the transactional id over: the old producer is closed
    /// exactly once, before the new one is made and initialised, and only the new one is used
    /// afterwards; a second replacement closes the second producer, not the first again.
    @Test func aReplacementClosesTheOldProducerOnceBeforeTheNewOneInitialises() throws {
        let journal = Journal()
        let first = JournalingProducer("first", journal: journal)
        let driver = TransactionDriver(producer: first, cycle: TransactionCycle(commitInterval: .seconds(1), maxEvents: 100), maxRecordBytes: 1_000_000, logger: Logger(label: "test"))
        #expect(try driver.beginIfIdle())
        first.abortFailures = Array(repeating: Self.retriable, count: 4)
        #expect(throws: TransactionDriver.AbortFailed.self) { try driver.abort() }
        #expect(driver.cycle.state == .replacingProducer)

        let second = JournalingProducer("second", journal: journal)
        try driver.replaceProducer {
            journal.entries.append("make second")
            return second
        }
        #expect(driver.cycle.state == .idle)
        #expect(try driver.beginIfIdle())
        #expect(journal.entries == [
            "first.begin", "first.abort", "first.abort", "first.abort", "first.abort",
            "first.close", "make second", "second.init", "second.begin",
        ])

        journal.entries.removeAll()
        second.abortFailures = Array(repeating: Self.retriable, count: 4)
        #expect(throws: TransactionDriver.AbortFailed.self) { try driver.abort() }
        try driver.replaceProducer { JournalingProducer("third", journal: journal) }
        #expect(journal.entries == ["second.abort", "second.abort", "second.abort", "second.abort", "second.close", "third.init"])
    }
}
