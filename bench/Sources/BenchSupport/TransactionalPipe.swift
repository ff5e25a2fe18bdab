import Foundation
import Logging
public import VigilKafka
import VigilRuntime

/// The raw exactly-once pipe: consume a topic and produce every record unchanged to another,
/// committing the consumed offsets in the same transaction every `transactionSize` records. No
/// processing at all, so it is the ceiling for any consume→transform→produce loop on a broker.
/// `PipeBench` prints it as its last row; `EndToEndBench` runs it over the runtime's own input.
public struct TransactionalPipe: Sendable {
    public var kafka: KafkaConfiguration
    public var transactionSize: Int
    public var logger: Logger

    public init(kafka: KafkaConfiguration, transactionSize: Int = 1000, logger: Logger) {
        self.kafka = kafka
        self.transactionSize = transactionSize
        self.logger = logger
    }

    public struct Result: Sendable {
        public var records: Int
        public var transactions: Int
        /// From the first poll after the group join to the last commit.
        public var time: Duration
        public var recordsPerSecond: Double { Double(records) / time.seconds }
    }

    /// Copies the first `messages` records of `input` (all `partitions` of it, from the start) to
    /// `output` in transactions. The group join is not timed: one poll joins, then the consumer
    /// seeks back to the start and the clock starts.
    public func run(input: String, output: String, partitions: Int32, messages: Int, group: String, transactionalID: String) throws -> Result {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: group)
        configuration.sessionTimeout = .seconds(6)
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.subscribe([input])
        let producer = try TransactionalProducer(
            configuration: ProducerConfiguration(kafka: kafka, transactionalID: transactionalID), logger: logger)
        try producer.initTransactions()
        _ = try consumer.withBatch(maxRecords: 1, timeout: .seconds(10)) { _ in 0 }
        try consumer.seek(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(input, $0), KafkaOffset.beginning) }))
        var looped = 0
        var transactions = 0
        let time = try ContinuousClock().measure {
            while looped < messages {
                try producer.beginTransaction()
                var next: [TopicPartition: Int64] = [:]
                var inTransaction = 0
                while inTransaction < transactionSize, looped + inTransaction < messages {
                    inTransaction += try consumer.withBatch(maxRecords: transactionSize - inTransaction, timeout: .milliseconds(500)) { batch in
                        for message in batch.messages {
                            try message.withKey { key in
                                try message.withValue { value in
                                    try producer.send(topic: output, partition: message.partition, key: key, value: value)
                                }
                            }
                            next[message.topicPartition] = message.offset + 1
                        }
                        return batch.messages.count
                    }
                }
                try producer.sendOffsetsToTransaction(next, groupMetadata: consumer.groupMetadata())
                try producer.commitTransaction()
                looped += inTransaction
                transactions += 1
            }
        }
        try consumer.close()
        return Result(records: looped, transactions: transactions, time: time)
    }
}

extension TransactionalPipe {
    /// One hop of a live pipe: every record read from `input` is copied to `output` (same key,
    /// same partition number), and for each of `sides` a record of that many incompressible
    /// bytes is written to that topic too under the same key — the write pattern of stages that
    /// send a changelog record per event (bench/README.md, "The floor of Vigil's write pattern").
    ///
    /// With `sidesPerTransaction`, each side topic gets one record per transaction and
    /// partition instead, of `bytes` times the records copied there: the pattern of
    /// `changelog: events`, one record a stage and transaction with each event's inputs.
    ///
    /// With `workPerRecord`, the hop's thread also spends that much CPU time per record copied
    /// (a spin on its own CPU clock after each poll's records): the pipe with a stand-in for a
    /// stream processor's work, so that a rate can be judged against the write pattern plus a
    /// given processing cost on the same cores (bench/README.md, "A stand-in for Vigil's work beside
    /// the two-hop pipe").
    ///
    /// With `outputBytes`, each copy's value is that many bytes: the record's value, cut there or
    /// repeated up to there (text as compressible as the input); with `provenanceHeaders`, each copy
    /// carries the three headers Vigil puts on a score record (the input's topic, partition and
    /// offset, under Vigil's names): the write pattern of Vigil's score records.
    public struct Hop: Sendable {
        public var input: String, output: String
        public var sides: [(topic: String, bytes: Int)]
        public var sidesPerTransaction: Bool
        public var workPerRecord: Duration
        public var outputBytes = 0
        public var provenanceHeaders = false
        public init(input: String, output: String, sides: [(topic: String, bytes: Int)] = [], sidesPerTransaction: Bool = false,
                    workPerRecord: Duration = .zero) {
            (self.input, self.output, self.sides, self.sidesPerTransaction) = (input, output, sides, sidesPerTransaction)
            self.workPerRecord = workPerRecord
        }
    }

    /// Spins until this thread has used `nanoseconds` more CPU time (user and system), so that
    /// time the thread does not run does not count as work done (steal too, on this machine's
    /// kernel, which accounts paravirtual steal apart). The clock is a system call, read after
    /// every 200 square roots (about 0.2 µs): part of the time spent is the kernel's, all of it
    /// CPU; the work touches registers only, so it costs its neighbours less cache than a
    /// processor's would.
    static func spinCPU(nanoseconds: Int64) {
        guard nanoseconds > 0 else { return }
        let end = ThreadCPU.nanoseconds() + nanoseconds
        var sink = 0.0
        while ThreadCPU.nanoseconds() < end {
            for index in 0..<200 { sink += Double(index).squareRoot() }
        }
        if sink < 0 { print(sink) }  // keeps the inner loop from being optimised away
    }

    /// The same pipe run live, as the runtime runs: a poll takes what has been fetched (up to
    /// 500 records, waiting up to `batchDelay` only when nothing has arrived), a transaction
    /// opens with the first record and commits as soon as the input is drained (when
    /// `commitsWhenDrained`) or after `commitInterval`. Runs until `stop` answers true; returns
    /// the transactions committed. The floor under any exactly-once consume→produce hop's
    /// latency on a broker.
    public func runLive(input: String, output: String, group: String, transactionalID: String, fetchWait: Duration,
                        batchDelay: Duration = .milliseconds(20), commitInterval: Duration = .milliseconds(100),
                        stop: () -> Bool) throws -> Int {
        try runLive(hops: [Hop(input: input, output: output)], group: group, transactionalID: transactionalID, fetchWait: fetchWait,
                    batchDelay: batchDelay, commitInterval: commitInterval) { _ in stop() }
    }

    /// The live pipe over several hops at once, as one runtime instance runs a topology with a
    /// repartition topic: one consumer of every hop's input, one transactional producer, each
    /// transaction copying what the poll took from each input to its output. With two hops
    /// (source → middle → output) a record crosses two transactions, as an event of a
    /// two-stage topology does. `stop` is asked after each round with the records the last hop
    /// copied in committed transactions so far; `onFirstRecords` is called when the first poll
    /// returns records; `onCommitted` with how long each transaction's offsets and commit took.
    public func runLive(hops: [Hop], group: String, transactionalID: String, fetchWait: Duration,
                        batchDelay: Duration = .milliseconds(20), commitInterval: Duration = .milliseconds(100),
                        commitsWhenDrained: Bool = true, overlapsCommit: Bool = false, onFirstRecords: () -> Void = {}, onCommit: (Int) -> Void = { _ in },
                        onCommitted: (Duration) -> Void = { _ in }, stop: (Int) -> Bool) throws -> Int {
        // With overlapsCommit the commit runs on a thread of its own while the loop polls and
        // works on; what it polls meanwhile is held (copied) and sent into the next transaction
        // once the commit ends, as the runtime's `overlapsCommit` does. Side records are then
        // written only once a transaction (`sidesPerTransaction`), just before its commit starts,
        // as the runtime writes its changelog.
        precondition(!overlapsCommit || hops.allSatisfy { $0.sides.isEmpty || $0.sidesPerTransaction },
                     "a pipe that overlaps its commit writes side records only once a transaction")
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: group)
        configuration.sessionTimeout = .seconds(6)
        configuration.kafka.properties["fetch.wait.max.ms"] = String(Int(fetchWait / .milliseconds(1)))
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.subscribe(hops.map(\.input))
        // Each input's hop, looked up once per record (the pipe is the peer: no work of its own).
        let routes = Dictionary(uniqueKeysWithValues: hops.indices.map { (hops[$0].input, $0) })
        // Random bytes, as an LZ4 state is: the producer's own LZ4 finds nothing to take out.
        var generator = SystemRandomNumberGenerator()
        let largestSide = hops.contains(where: \.sidesPerTransaction) ? Self.largestSideRecord : hops.flatMap { $0.sides.map(\.bytes) }.max() ?? 1
        let sideValue = (0..<max(1, largestSide)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // Records copied by each hop with side records a transaction, per partition.
        var sideCounts = [[Int32: Int]](repeating: [:], count: hops.count)
        // The same for records held while a commit runs: they count in the next transaction.
        var heldSideCounts = [[Int32: Int]](repeating: [:], count: hops.count)
        var padded: [UInt8] = []
        // The runtime's own header writer, one a hop: the copies cost what Vigil's score records do.
        var provenance = hops.map { ProvenanceHeaders(topic: $0.input) }
        /// A copy's value and headers as `hop` writes them (``Hop/outputBytes``, ``Hop/provenanceHeaders``).
        func withOutput<R>(of message: ConsumedMessage, hop hopIndex: Int, _ body: (UnsafeRawBufferPointer?, [KafkaHeader]) throws -> R) throws -> R {
            let hop = hops[hopIndex]
            let headers = hop.provenanceHeaders ? provenance[hopIndex].headers(partition: message.partition, offset: message.offset) : []
            return try message.withValue { value in
                guard let value, !value.isEmpty, hop.outputBytes > 0, value.count != hop.outputBytes else { return try body(value, headers) }
                padded.removeAll(keepingCapacity: true)
                while padded.count < hop.outputBytes { padded.append(contentsOf: value.prefix(hop.outputBytes - padded.count)) }
                return try padded.withUnsafeBytes { try body($0, headers) }
            }
        }
        /// Each side topic's record of this transaction, per partition (`sidesPerTransaction`).
        func sendSidesPerTransaction() throws {
            for (hopIndex, counts) in sideCounts.enumerated() where !counts.isEmpty {
                for (side, bytes) in hops[hopIndex].sides {
                    for (partition, count) in counts {
                        let size = min(bytes * count, sideValue.count)
                        try Self.sideKey.withUnsafeBytes { key in
                            try sideValue.withUnsafeBytes { try producer.send(topic: side, partition: partition, key: key, value: UnsafeRawBufferPointer(rebasing: $0[..<size])) }
                        }
                    }
                }
            }
            for hopIndex in sideCounts.indices { sideCounts[hopIndex].removeAll(keepingCapacity: true) }
        }
        var producerConfiguration = ProducerConfiguration(kafka: kafka, transactionalID: transactionalID)
        producerConfiguration.linger = .milliseconds(1)
        let producer = try TransactionalProducer(configuration: producerConfiguration, logger: logger)
        try producer.initTransactions()
        let clock = ContinuousClock()
        var next: [TopicPartition: Int64] = [:]
        var openedAt: ContinuousClock.Instant?
        var transactions = 0
        var inTransaction = 0
        var copied = 0
        var started = false
        let lastInput = hops[hops.count - 1].input
        let workNanoseconds = hops.map { Int64($0.workPerRecord / .nanoseconds(1)) }
        var inFlight: CommitInFlight?
        var committing = 0
        // What a poll brings while a commit runs: keys and values one after the other in one
        // buffer reused from commit to commit, as the runtime holds them (not two arrays and a
        // record each, which made the floor dearer than the runtime: bench/README.md, "Without
        // drift, and without compression …").
        var heldBytes: [UInt8] = []
        var held: [(hop: Int, partition: Int32, key: Range<Int>?, value: Range<Int>?, headers: [KafkaHeader])] = []
        func holdBytes(_ bytes: UnsafeRawBufferPointer?) -> Range<Int>? {
            guard let bytes else { return nil }
            let start = heldBytes.count
            heldBytes.append(contentsOf: bytes)
            return start..<heldBytes.count
        }
        // One serial queue for the commits, as the runtime's CommitWorker has: not a thread
        // started for each commit (0.33 µs an event of thread starts at 115,329/s under perf,
        // bench/README.md, "The two stages on two threads").
        let commitQueue = DispatchQueue(label: "vigil.pipe.commit")
        /// Counts the commit under way once it has ended, and sends what was held meanwhile
        /// into a new transaction (not when the loop is stopping: nothing would commit it).
        func finishCommit(_ flight: CommitInFlight, sendsHeld: Bool = true) throws {
            if let error = flight.error { throw error }
            onCommitted(flight.took)
            inFlight = nil
            transactions += 1
            copied += committing
            committing = 0
            onCommit(copied)
            guard sendsHeld, !held.isEmpty else { return }
            try producer.beginTransaction()
            openedAt = clock.now
            try heldBytes.withUnsafeBytes { buffer in
                for record in held {
                    try producer.send(topic: hops[record.hop].output, partition: record.partition,
                                      key: record.key.map { UnsafeRawBufferPointer(rebasing: buffer[$0]) },
                                      value: record.value.map { UnsafeRawBufferPointer(rebasing: buffer[$0]) }, headers: record.headers)
                }
            }
            held.removeAll(keepingCapacity: true)
            heldBytes.removeAll(keepingCapacity: true)
            // Everything since the commit started was held, and the side records were sent before it.
            assert(sideCounts.allSatisfy(\.isEmpty))
            swap(&sideCounts, &heldSideCounts)
        }
        while !stop(copied) {
            if let flight = inFlight, flight.done.wait(timeout: .now()) == .success { try finishCommit(flight) }
            let holding = inFlight != nil
            let drained = try consumer.withBatch(maxRecords: 500, timeout: holding ? .milliseconds(1) : batchDelay, fill: false) { batch in
                if !batch.messages.isEmpty, !started {
                    onFirstRecords()
                    started = true
                }
                if !batch.messages.isEmpty, openedAt == nil, !holding {
                    try producer.beginTransaction()
                    openedAt = clock.now
                }
                var work: Int64 = 0
                defer { Self.spinCPU(nanoseconds: work) }
                for message in batch.messages {
                    let hopIndex = routes[message.topic]!
                    let hop = hops[hopIndex]
                    work += workNanoseconds[hopIndex]
                    if holding {
                        try withOutput(of: message, hop: hopIndex) { value, headers in
                            held.append((hopIndex, message.partition, message.withKey { holdBytes($0) }, holdBytes(value), headers))
                        }
                        if hop.sidesPerTransaction, !hop.sides.isEmpty { heldSideCounts[hopIndex][message.partition, default: 0] += 1 }
                        next[message.topicPartition] = message.offset + 1
                        if message.topic == lastInput { inTransaction += 1 }
                        continue
                    }
                    try message.withKey { key in
                        try withOutput(of: message, hop: hopIndex) { value, headers in
                            try producer.send(topic: hop.output, partition: message.partition, key: key, value: value, headers: headers)
                            if hop.sidesPerTransaction {
                                if !hop.sides.isEmpty { sideCounts[hopIndex][message.partition, default: 0] += 1 }
                            } else {
                                for (side, bytes) in hop.sides {
                                    try sideValue.withUnsafeBytes { try producer.send(topic: side, partition: message.partition, key: key, value: UnsafeRawBufferPointer(rebasing: $0[..<bytes])) }
                                }
                            }
                        }
                    }
                    next[message.topicPartition] = message.offset + 1
                    if message.topic == lastInput { inTransaction += 1 }
                }
                return batch.messages.count < 500
            }
            let due = openedAt.map { (commitsWhenDrained && drained) || clock.now - $0 >= commitInterval } ?? false
            if overlapsCommit, inFlight == nil, due {
                try sendSidesPerTransaction()
                let flight = CommitInFlight()
                let offsets = next
                let metadata = try consumer.groupMetadata()
                commitQueue.async {
                    let start = ContinuousClock.now
                    do throws(KafkaError) {
                        try producer.sendOffsetsToTransaction(offsets, groupMetadata: metadata)
                        try producer.commitTransaction()
                    } catch {
                        flight.error = error
                    }
                    flight.took = ContinuousClock.now - start
                    flight.done.signal()
                }
                inFlight = flight
                next.removeAll()
                openedAt = nil
                committing = inTransaction
                inTransaction = 0
            } else if !overlapsCommit, due {
                try sendSidesPerTransaction()
                let commitStart = clock.now
                try producer.sendOffsetsToTransaction(next, groupMetadata: consumer.groupMetadata())
                try producer.commitTransaction()
                onCommitted(clock.now - commitStart)
                next.removeAll()
                openedAt = nil
                transactions += 1
                copied += inTransaction
                inTransaction = 0
                onCommit(copied)
            }
        }
        if let flight = inFlight {
            flight.done.wait()
            try finishCommit(flight, sendsHeld: false)
        }
        try consumer.close()
        return transactions
    }

    /// A commit running on the commit queue: how it ended and how long it took, read by the
    /// loop once `done` is signalled (the semaphore orders the writes before the reads, hence
    /// unchecked).
    final class CommitInFlight: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var error: KafkaError?
        var took: Duration = .zero
    }

    /// The largest side record a transaction writes with `sidesPerTransaction` (under
    /// librdkafka's default `message.max.bytes`, 1 MB).
    static let largestSideRecord = 900_000
    /// The key of the side records written once a transaction.
    static let sideKey = Array("transaction".utf8)

    /// The live pipe over a preloaded backlog of `messages` records in `input`, with the
    /// runtime's commit policy (`commitInterval`, commit when drained) instead of a fixed
    /// number of records per transaction: the peer of the runtime's throughput with the same
    /// transactions. With `middle`, two hops (input → middle → output), as every event of a
    /// two-stage topology crosses its repartition topic. Timed from the first poll that returns
    /// records (the group join is before it) to the commit that copies the last record to
    /// `output`, every record counted. (Timed from the first commit, as the runtime is, the
    /// figure depends on how much of the backlog the consumer had prefetched into the first
    /// transaction: 31k-726k records/s over the same 200k records in one session.)
    public func runBacklog(input: String, middle: String? = nil, output: String, messages: Int, group: String, transactionalID: String,
                           commitInterval: Duration, batchDelay: Duration = .milliseconds(20)) throws -> Result {
        let clock = ContinuousClock()
        var first: ContinuousClock.Instant?
        var last: ContinuousClock.Instant?
        let hops = middle.map { [Hop(input: input, output: $0), Hop(input: $0, output: output)] } ?? [Hop(input: input, output: output)]
        let transactions = try runLive(hops: hops, group: group, transactionalID: transactionalID,
                                       fetchWait: batchDelay, batchDelay: batchDelay, commitInterval: commitInterval,
                                       onFirstRecords: { first = clock.now }, onCommit: { _ in last = clock.now }, stop: { $0 >= messages })
        guard let first, let last else { return Result(records: 0, transactions: 0, time: .zero) }
        return Result(records: messages, transactions: transactions, time: last - first)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
