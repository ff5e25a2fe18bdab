import Logging
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
        func send(_ record: ProducerRecord) throws(KafkaError) { note("send") }
        func send(topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                  headers: [KafkaHeader], timestamp: Int64?, tracked: Bool) throws(KafkaError) { note("send") }
        func takeTrackedOffsets() -> [TopicPartition: Int64] { [:] }
        func sendOffsetsToTransaction(_ offsets: [TopicPartition: Int64], groupMetadata: ConsumerGroupMetadata, timeout: Duration) throws(KafkaError) {
            note("sendOffsets")
        }
        func commitTransaction(timeout: Duration) throws(KafkaError) { note("commit") }
        func abortTransaction(timeout: Duration) throws(KafkaError) {
            note("abort")
            if !abortFailures.isEmpty { throw abortFailures.removeFirst() }
        }
        func flush(timeout: Duration) throws(KafkaError) { note("flush") }
        var queuedRecords: Int { 0 }
        func close() { note("close") }
    }

    static let retriable = KafkaError(code: .timedOut, message: "the request timed out", severity: .retriable)

    /// An abort that fails for good hands the transactional id over: the old producer is closed
    /// exactly once, before the new one is made and initialised, and only the new one is used
    /// afterwards; a second replacement closes the second producer, not the first again.
    @Test func aReplacementClosesTheOldProducerOnceBeforeTheNewOneInitialises() throws {
        let journal = Journal()
        let first = JournalingProducer("first", journal: journal)
        let driver = TransactionDriver(producer: first, cycle: TransactionCycle(commitInterval: .seconds(1), maxEvents: 100), logger: Logger(label: "test"))
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
