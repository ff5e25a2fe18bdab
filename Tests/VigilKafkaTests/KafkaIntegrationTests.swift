import Foundation
import Testing
import VigilKafka
import VigilTestSupport

/// Integration tests against the real broker (`scripts/broker start`). Serialized: group joins
/// and transactions are timing-sensitive on two cores.
@Suite(.serialized)
struct KafkaIntegrationTests {
    @Test func loadedLibrdkafkaIsNewEnough() {
        #expect(LibrdkafkaVersion.isSupported, "loaded librdkafka \(LibrdkafkaVersion.string)")
        #expect(LibrdkafkaVersion.number >= 0x0202_0000)
    }

    @Test func produceAndConsumeKeepsKeysHeadersAndTimestamps() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopics("roundtrip", partitions: 3)[0]
            let producer = try Producer(configuration: ProducerConfiguration(kafka: TestBroker.kafka), logger: TestBroker.logger)
            let sent = (0..<30).map { index in
                ProducerRecord(
                    topic: topic, partition: Int32(index % 3), key: Array("key-\(index)".utf8),
                    value: Array("value-\(index)".utf8),
                    headers: [KafkaHeader("source", "test"), KafkaHeader("index", "\(index)"), KafkaHeader("empty", nil)],
                    timestamp: 1_700_000_000_000 + Int64(index)
                )
            }
            for record in sent { try producer.send(record) }
            try producer.flush()
            #expect(producer.deliveredCount == 30)

            let consumer = try Consumer(configuration: TestBroker.consumerConfiguration(group: TestBroker.unique("g")), logger: TestBroker.logger)
            try consumer.subscribe([topic])
            let received = try TestBroker.consume(consumer, count: 30)
            try consumer.close()

            #expect(received.count == 30)
            let byIndex = Dictionary(uniqueKeysWithValues: received.map { (Int($0.header("index")!.stringValue!)!, $0) })
            for (index, record) in sent.enumerated() {
                let got = try #require(byIndex[index])
                #expect(got.key == record.key)
                #expect(got.value == record.value)
                #expect(got.partition == record.partition)
                #expect(got.timestamp == record.timestamp)
                #expect(got.headers == record.headers)
            }
            // Within a partition, offsets follow the order of sending.
            for partition in Int32(0)..<3 {
                let offsets = received.filter { $0.partition == partition }.sorted { $0.offset < $1.offset }
                #expect(offsets.map { Int($0.header("index")!.stringValue!)! } == offsets.map { Int($0.header("index")!.stringValue!)! }.sorted())
                #expect(offsets.map(\.offset) == Array(0..<10))
            }
        }
    }

    @Test func transactionCommitsOutputsAndGroupOffsetsTogether() async throws {
        try await TestBroker.blocking {
            let topics = try TestBroker.createTopics("txn", count: 2, partitions: 2)
            let (input, output) = (topics[0], topics[1])
            try Self.produceInput(topic: input, count: 40)

            let group = TestBroker.unique("txn-group")
            let consumer = try Consumer(configuration: TestBroker.consumerConfiguration(group: group), logger: TestBroker.logger)
            try consumer.subscribe([input])
            let producer = try TransactionalProducer(
                configuration: ProducerConfiguration(kafka: TestBroker.kafka, transactionalID: TestBroker.unique("tid")), logger: TestBroker.logger)
            try producer.initTransactions()

            var processed = 0
            let clock = ContinuousClock()
            let end = clock.now + .seconds(30)
            while processed < 40, clock.now < end {
                let records = try consumer.poll(maxRecords: 15, timeout: .milliseconds(200))
                guard !records.isEmpty else { continue }
                try producer.beginTransaction()
                var next: [TopicPartition: Int64] = [:]
                for record in records {
                    let upper = String(decoding: record.value!, as: UTF8.self).uppercased()
                    try producer.send(ProducerRecord(topic: output, key: record.key, value: Array(upper.utf8)))
                    next[record.topicPartition] = record.offset + 1
                }
                try producer.sendOffsetsToTransaction(next, groupMetadata: consumer.groupMetadata())
                try producer.commitTransaction()
                processed += records.count
            }
            #expect(processed == 40)
            let committed = try consumer.committed([TopicPartition(input, 0), TopicPartition(input, 1)])
            #expect(committed[TopicPartition(input, 0)] == 20)
            #expect(committed[TopicPartition(input, 1)] == 20)
            try consumer.close()

            let reader = try Consumer(configuration: TestBroker.consumerConfiguration(group: TestBroker.unique("reader")), logger: TestBroker.logger)
            try reader.subscribe([output])
            let outputs = try TestBroker.consume(reader, count: 40)
            try reader.close()
            #expect(Set(outputs.map { String(decoding: $0.value!, as: UTF8.self) }) == Set((0..<40).map { "EVENT-\($0)" }))
        }
    }

    @Test func abortedTransactionLeavesGroupOffsetsUnchanged() async throws {
        try await TestBroker.blocking {
            let topics = try TestBroker.createTopics("abort", count: 2, partitions: 1)
            let (input, output) = (topics[0], topics[1])
            try Self.produceInput(topic: input, count: 10, partitions: 1)
            let group = TestBroker.unique("abort-group")
            let consumer = try Consumer(configuration: TestBroker.consumerConfiguration(group: group), logger: TestBroker.logger)
            try consumer.subscribe([input])
            let producer = try TransactionalProducer(
                configuration: ProducerConfiguration(kafka: TestBroker.kafka, transactionalID: TestBroker.unique("tid")), logger: TestBroker.logger)
            try producer.initTransactions()
            let partition = TopicPartition(input, 0)

            // First transaction: 4 records, committed.
            var records = try TestBroker.consume(consumer, count: 10)
            #expect(records.count == 10)
            try producer.beginTransaction()
            for record in records.prefix(4) { try producer.send(ProducerRecord(topic: output, value: record.value)) }
            // The offset of a tracked record is known once it is delivered.
            try Array("marker".utf8).withUnsafeBytes { try producer.send(topic: output, partition: 0, key: nil, value: $0, tracked: true) }
            try producer.flush()
            #expect(producer.takeTrackedOffsets() == [TopicPartition(output, 0): 4])
            try producer.sendOffsetsToTransaction([partition: 4], groupMetadata: consumer.groupMetadata())
            try producer.commitTransaction()
            #expect(try consumer.committed([partition])[partition] == 4)

            // Second transaction: the rest, aborted. The group offset must stay at 4.
            try producer.beginTransaction()
            for record in records.dropFirst(4) { try producer.send(ProducerRecord(topic: output, value: record.value)) }
            try producer.sendOffsetsToTransaction([partition: 10], groupMetadata: consumer.groupMetadata())
            try producer.abortTransaction()
            #expect(try consumer.committed([partition])[partition] == 4)

            // Rewinding to the committed offset replays exactly the aborted records.
            try consumer.seek([partition: 4])
            records = try TestBroker.consume(consumer, count: 6)
            #expect(records.map(\.offset) == Array(4..<10))
            try consumer.close()
            // Tansu lets read_committed readers see aborted records, so the output topic's
            // content is not asserted here; the group offset is what decides the replay.
        }
    }

    @Test func secondProducerWithSameTransactionalIDFencesTheFirst() async throws {
        try await TestBroker.blocking {
            let output = try TestBroker.createTopics("fence", partitions: 1)[0]
            let id = TestBroker.unique("tid")
            let configuration = ProducerConfiguration(kafka: TestBroker.kafka, transactionalID: id)
            let first = try TransactionalProducer(configuration: configuration, logger: TestBroker.logger)
            try first.initTransactions()
            try first.beginTransaction()

            let second = try TransactionalProducer(configuration: configuration, logger: TestBroker.logger)
            try second.initTransactions()

            // The first producer's records now carry a stale epoch: the broker refuses them and
            // the producer reports itself fenced. (On Tansu, a fenced producer's EndTxn of
            // records already written before the fence is never answered, so the test fences
            // before the first write; on Kafka both orders end in PRODUCER_FENCED.)
            try first.send(ProducerRecord(topic: output, value: Array("from the first".utf8)))
            let error = #expect(throws: KafkaError.self) { try first.commitTransaction(timeout: .seconds(10)) }
            #expect(error?.severity == .fatal, "got \(String(describing: error))")
            #expect(error?.isFenced == true)

            // The newer producer works normally.
            try second.beginTransaction()
            try second.send(ProducerRecord(topic: output, value: Array("from the second".utf8)))
            try second.commitTransaction()
        }
    }

    /// Two producers whose transactions in one partition alternate, each beginning its next
    /// before the other commits (as busy instances writing a shared partition do): on Kafka each
    /// commit is readable at once, up to the other's open transaction. The test broker holds every
    /// commit back while an overlapping transaction is open
    /// (``TestBroker/completesOverlappingTransactions``): measured here, nothing readable after
    /// five rounds of commits. Either way everything is readable once both have ended.
    @Test func committedTransactionsAreReadableWhileAnotherProducersTransactionIsOpen() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopic("overlap", partitions: 1)
            let a = try Self.transactionalProducer(), b = try Self.transactionalProducer()
            try Self.write(a, "a0", to: [topic])
            var committed: [String] = []
            var heldBack: [Int] = []  // rounds after which a committed record was not readable
            for round in 0..<5 {
                try Self.write(b, "b\(round)", to: [topic])
                try a.commitTransaction()  // b's transaction is open
                committed.append("a\(round)")
                try Self.write(a, "a\(round + 1)", to: [topic])
                try b.commitTransaction()  // a's next transaction is open
                committed.append("b\(round)")
                if try Self.readable(topic, expecting: committed) != committed { heldBack.append(round) }
            }
            try a.commitTransaction()
            committed.append("a5")
            #expect(try Self.readable(topic, expecting: committed) == committed)
            try Self.expectOrKnownIssue(heldBack.isEmpty, "committed records not readable after rounds \(heldBack) of 5")
        }
    }

    /// Three committed transactions, and what two of them wrote to one partition never readable:
    /// x writes P; z writes P and Q; x commits while z is open; w writes Q; z commits while w is
    /// open; w commits. On the test broker w's end completes z and itself, but not x, which
    /// overlapped only z, and nothing writes P again: P stays held back for good, and so would
    /// the group offsets x committed. The verifier's runs that stopped for good (source offsets
    /// never committed to the end, a restore waiting on a checkpoint partition) came from this.
    @Test func everyCommittedTransactionIsReadableOnceItsProducersAreIdle() async throws {
        try await TestBroker.blocking {
            let topics = try TestBroker.createTopics("overlap-idle", count: 2, partitions: 1)
            let (p, q) = (topics[0], topics[1])
            let x = try Self.transactionalProducer(), z = try Self.transactionalProducer(), w = try Self.transactionalProducer()
            try Self.write(x, "x", to: [p])
            try Self.write(z, "z", to: [p, q])
            try x.commitTransaction()
            try Self.write(w, "w", to: [q])
            try z.commitTransaction()
            try w.commitTransaction()
            #expect(try Self.readable(q, expecting: ["z", "w"]) == ["z", "w"])
            let readableP = try Self.readable(p, expecting: ["x", "z"])
            try Self.expectOrKnownIssue(readableP == ["x", "z"], "P reads \(readableP) with its two transactions committed and every producer idle")
            // A transaction committed into P afterwards completes what was held back there, on
            // either broker (the verifier's stall check relies on it to tell the broker's hold
            // from a transaction nobody ended).
            let n = try Self.transactionalProducer()
            try Self.write(n, "n", to: [p])
            try n.commitTransaction()
            #expect(try Self.readable(p, expecting: ["x", "z", "n"]) == ["x", "z", "n"])
        }
    }

    static func transactionalProducer() throws -> TransactionalProducer {
        var configuration = ProducerConfiguration(kafka: TestBroker.kafka, transactionalID: TestBroker.unique("overlap"))
        configuration.linger = .zero
        let producer = try TransactionalProducer(configuration: configuration, logger: TestBroker.logger)
        try producer.initTransactions()
        return producer
    }

    /// Begins a transaction and writes `value` to each topic's partition 0, delivered.
    static func write(_ producer: TransactionalProducer, _ value: String, to topics: [String]) throws {
        try producer.beginTransaction()
        for topic in topics { try producer.send(ProducerRecord(topic: topic, partition: 0, value: Array(value.utf8))) }
        try producer.flush()
    }

    /// The values a read_committed reader reads of partition 0 of `topic`, to its end: read
    /// again for up to 3 s until they are `expected` where the broker completes overlapping
    /// transactions (Kafka writes a commit's markers after answering it, KAFKA-9878); once
    /// on the test broker, whose answer does not change while the producers wait.
    static func readable(_ topic: String, expecting expected: [String]) throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(3)
        while true {
            var values: [String] = []
            try PartitionReader(kafka: TestBroker.kafka, logger: TestBroker.logger).read([TopicPartition(topic, 0): KafkaOffset.beginning]) {
                values.append(String(decoding: $0.value ?? [], as: UTF8.self))
            }
            if values == expected || !TestBroker.completesOverlappingTransactions || ContinuousClock.now >= deadline { return values }
            Thread.sleep(forTimeInterval: 0.1)  // polling a condition, with a deadline
        }
    }

    /// Expects `condition`; a known issue on a broker that does not complete overlapping transactions on their own.
    static func expectOrKnownIssue(_ condition: Bool, _ detail: String) throws {
        if TestBroker.completesOverlappingTransactions {
            #expect(condition, "\(detail)")
        } else {
            withKnownIssue("the test broker completes a transaction only once the transactions overlapping it have ended") {
                #expect(condition, "\(detail)")
            }
        }
    }

    /// A producer closed with records of its open transaction still queued (a long linger
    /// keeps them there) purges them and is destroyed at once: librdkafka, which warns when a
    /// producer is destroyed holding records ("Producer terminating with N messages"), finds
    /// none; later calls fail as closed; a new producer of the same transactional id initialises
    /// and commits.
    @Test func closingATransactionalProducerPurgesWhatItHolds() async throws {
        try await TestBroker.blocking {
            let output = try TestBroker.createTopics("close", partitions: 1)[0]
            var configuration = ProducerConfiguration(kafka: TestBroker.kafka, transactionalID: TestBroker.unique("tid"))
            configuration.linger = .seconds(10)  // below message.timeout.ms; the test is over long before
            let log = CapturedLog()
            let first = try TransactionalProducer(configuration: configuration, logger: log.logger(label: "first"))
            try first.initTransactions()
            try first.beginTransaction()
            for index in 0..<100 { try first.send(ProducerRecord(topic: output, value: Array("given up \(index)".utf8))) }
            #expect(first.queuedRecords >= 100)
            first.close()
            #expect(!log.all.contains { $0.contains("terminating") }, "\(log.all.filter { $0.contains("terminating") })")
            #expect(first.queuedRecords == 0)
            let error = #expect(throws: KafkaError.self) { try first.beginTransaction() }
            #expect(error?.code == .closed)
            first.close()

            configuration.linger = .milliseconds(5)
            let second = try TransactionalProducer(configuration: configuration, logger: TestBroker.logger)
            try second.initTransactions()
            try second.beginTransaction()
            try second.send(ProducerRecord(topic: output, value: Array("from the second".utf8)))
            try second.commitTransaction()
        }
    }

    @Test func twoConsumersSplitPartitionsAndRebalanceWhenOneLeaves() async throws {
        try await TestBroker.blocking {
            let topic = try TestBroker.createTopics("rebalance", partitions: 4)[0]
            let group = TestBroker.unique("rebalance-group")
            let eventsA = EventLog()
            let a = try Consumer(configuration: TestBroker.consumerConfiguration(group: group), logger: TestBroker.logger) { eventsA.append($0) }
            try a.subscribe([topic])
            try Self.pollUntil([a]) { try a.assignment().count == 4 }

            let b = try Consumer(configuration: TestBroker.consumerConfiguration(group: group), logger: TestBroker.logger)
            try b.subscribe([topic])
            try Self.pollUntil([a, b]) {
                let (ownA, ownB) = (Set(try a.assignment()), Set(try b.assignment()))
                return ownA.count == 2 && ownB.count == 2 && ownA.isDisjoint(with: ownB)
            }
            // Cooperative: A gave up two partitions and kept two, without a full revocation.
            #expect(eventsA.events.contains { if case .revoked(let p) = $0 { return p.count == 2 } else { return false } })

            try b.close()
            try Self.pollUntil([a]) { try a.assignment().count == 4 }
            #expect(Set(try a.assignment()) == Set((0..<4).map { TopicPartition(topic, $0) }))
            try a.close()
        }
    }

    @Test func unreachableBrokerGivesAClearErrorNotAHang() async throws {
        try await TestBroker.blocking {
            let admin = try Admin(configuration: KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), logger: TestBroker.logger)
            let clock = ContinuousClock()
            let start = clock.now
            let error = #expect(throws: KafkaError.self) { _ = try admin.listTopics(timeout: .seconds(2)) }
            #expect(error?.message.contains("127.0.0.1:1") == true, "got \(String(describing: error))")
            #expect(clock.now - start < .seconds(10))
        }
    }

    @Test func badPropertyNamesTheProperty() throws {
        var kafka = TestBroker.kafka
        kafka.properties = ["no.such.property": "1"]
        let error = #expect(throws: KafkaError.self) { _ = try Consumer(configuration: ConsumerConfiguration(kafka: kafka, groupID: "g")) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("no.such.property") == true, "got \(String(describing: error))")

        kafka.properties = ["sasl.password": "hunter2", "message.max.bytes": "not-a-number"]
        let badValue = #expect(throws: KafkaError.self) { _ = try Producer(configuration: ProducerConfiguration(kafka: kafka)) }
        #expect(badValue?.message.contains("message.max.bytes") == true, "got \(String(describing: badValue))")
        #expect(kafka.description.contains("hunter2") == false)
        #expect(kafka.description.contains("sasl.password=***"))
    }

    // MARK: - Helpers

    static func produceInput(topic: String, count: Int, partitions: Int32 = 2) throws {
        let producer = try Producer(configuration: ProducerConfiguration(kafka: TestBroker.kafka), logger: TestBroker.logger)
        for index in 0..<count {
            try producer.send(ProducerRecord(topic: topic, partition: Int32(index) % partitions, key: Array("k\(index)".utf8), value: Array("event-\(index)".utf8)))
        }
        try producer.flush()
    }

    /// Polls the consumers (serving their rebalances) until the condition holds; fails after 30 s.
    static func pollUntil(_ consumers: [Consumer], _ condition: () throws -> Bool) throws {
        let clock = ContinuousClock()
        let end = clock.now + .seconds(30)
        while clock.now < end {
            if try condition() { return }
            for consumer in consumers { _ = try consumer.poll(maxRecords: 100, timeout: .milliseconds(100)) }
        }
        Issue.record("condition not reached within 30 s")
    }
}

/// Rebalance events seen by a handler (called on the polling thread).
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [RebalanceEvent] = []
    func append(_ event: RebalanceEvent) { lock.withLock { stored.append(event) } }
    var events: [RebalanceEvent] { lock.withLock { stored } }
}
