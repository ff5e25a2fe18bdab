import Foundation
import Testing
import VigilCodec
import VigilFeatures
import VigilKafka
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// The exactly-once verifier, in the manner of Kafka Streams' `EosTestDriver` and
/// `streams_eos_test.py`: real `vigil run` processes and in-process instances of one group
/// score a paced stream over three source partitions while faults are injected — instances
/// joining and leaving under load, a zombie (SIGSTOP past the session timeout, then SIGCONT),
/// SIGKILL rounds, failover to an instance with another id, and an injected send failure and
/// restore failure — and then every output is checked by its provenance headers.
@Suite(.serialized)
struct ExactlyOnceVerifierTests {
    static let partitions: Int32 = 3
    static let maxTransactionEvents = 1000

    /// Where the group had committed when a fault was injected: duplicates on a broker that
    /// shows aborted records may only come from transactions open then.
    struct Fault {
        var name: String
        var committed: [Int32: Int64]
    }

    /// With either changelog (`processing.changelog`): whole key states, or the events replayed.
    @Test(arguments: ChangelogRecords.allCases)
    func everyEventIsScoredExactlyOnceUnderFaults(changelog: ChangelogRecords) async throws {
        do {
            try await Self.runVerifier(changelog: changelog)
        } catch let stall as BrokerStall where !TestBroker.completesOverlappingTransactions {
            // The test broker completes a transaction only once every transaction that wrote the
            // same partitions alongside it has ended (``TestBroker/completesOverlappingTransactions``),
            // and can keep a completed transaction listed as writing partitions, which holds back
            // every later commit there for good once its producer was killed (README, "Test
            // broker", with the probe that shows it): 8 of about 56 runs with `changelog: events`
            // on 2026-12-05/06, and 1 with key states (both cases of one CI run of 61345a2).
            // `stall(_:plan:started:)` throws this only when every record the instances wrote
            // became readable once they had stopped and the test had committed into each
            // partition held back, and after what was scored has been checked; on a broker that
            // completes transactions on their own, a stall fails.
            withKnownIssue("the test broker holds committed transactions back behind overlapping ones, for good behind a completed one it still lists", isIntermittent: true) {
                Issue.record("\(stall.detail)")
            }
        }
    }

    /// The signature the fetch gap is excused by, read from log lines as the runtime writes them
    /// (the reads of the CI run of 2026-12-06 at 3f5313c, which passed over r0@5489...5491):
    /// a read from below an offset to above it in one ownership is a pass-over; one across an
    /// assignment, or a read that handed the offset out, is not. A restore (after an assignment
    /// or an abort) sets where the partition is read from next, its committed offset: a read
    /// from there over the offset is a pass-over, a restore that set it past the offset is not.
    @Test func readsPassingOverAnOffsetAreFoundInTheLogs() throws {
        let topic = "eos-test\(UUID().uuidString.prefix(8)).repartition.terminal"
        let lines = [
            "2026-12-06T10:13:08.113Z debug vigil.run: handed [\"\(topic)/0@5472...5484\"]",
            "2026-12-06T10:13:08.207Z debug vigil.run: handed [\"\(topic)/0@5486...5488\", \"other.topic/0@1...9\"]",
            "2026-12-06T10:13:08.252Z debug vigil.run: handed [\"\(topic)/0@5492...5497\"]",
            "2026-12-06T10:13:08.260Z debug vigil.run: handed [\"\(topic)/1@100...110\"]",
            "2026-12-06T10:13:09.000Z info vigil.run: partitions revoked: \(topic)/1",
            "2026-12-06T10:13:09.500Z info vigil.run: partitions assigned: \(topic)/1",
            "2026-12-06T10:13:09.600Z debug vigil.run: handed [\"\(topic)/1@200...210\"]",
            "2026-12-06T10:13:10.000Z info vigil.run: restoring 1 partitions whose state the aborted transaction changed: [\(topic)/1]",
            #"2026-12-06T10:13:10.100Z info vigil.run: restored state applied="[]" committed="[\"\#(topic)/1@205\", \"other.topic/1@9\"]" from_snapshots=1"#,
            "2026-12-06T10:13:10.200Z debug vigil.run: handed [\"\(topic)/1@300...310\"]",
            #"2026-12-06T10:13:10.300Z info vigil.run: restored state applied="[]" committed="[\"\#(topic)/1@400\"]" from_snapshots=1"#,
            "2026-12-06T10:13:10.400Z debug vigil.run: handed [\"\(topic)/1@420...430\"]",
            "2026-12-06T10:13:10.500Z debug vigil.run: handed [\"\(topic)/1@431...433\", \"\(topic)/1@437...440\", \"other.topic/1@10...12\"]",
            "2026-12-06T10:13:10.600Z debug vigil.run: handed [\"\(topic)/1@441...450\"]",
            "2026-12-06T10:13:10.700Z warning vigil.run: consumer, \(topic)/1 (Local: Bad message format) [_BAD_MSG]",
            "2026-12-06T10:13:10.800Z debug vigil.run: handed [\"\(topic)/1@460...470\"]",
        ]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-reads-\(UUID().uuidString.prefix(8)).log").path
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        RuntimeFixture.vigilLogs.withValue { $0.append(("reads", 0, path)) }
        let reads = Self.handedRanges(topic: topic)
        #expect(reads.map(\.offsets) == [5472...5484, 5486...5488, 5492...5497, 100...110, 200...210, 204...204, 300...310, 399...399, 420...430, 431...433, 437...440, 441...450, 460...470])
        #expect(reads.map(\.isSeek) == [false, false, false, false, false, true, false, true, false, false, false, false, false])
        #expect(Self.readsPassOver(reads, partition: 0, offset: 5489))
        #expect(Self.readsPassOver(reads, partition: 0, offset: 5491))
        #expect(!Self.readsPassOver(reads, partition: 0, offset: 5487), "handed out")
        #expect(!Self.readsPassOver(reads, partition: 0, offset: 5498), "not passed yet")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 150), "across a revocation and an assignment")
        #expect(!Self.readsPassOver(reads, partition: 2, offset: 5489), "another partition")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 250), "read from the restored offset, 205, over it")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 207), "handed before the restore (its transaction aborted), passed over after it")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 350), "a restore that set the partition past it (400): not the broker's")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 410), "read from the restored offset, 400, over it")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 435), "a hole inside one poll")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 432), "handed out in a poll with a hole")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 434), "the hole's first offset")
        #expect(Self.readsPassOver(reads, partition: 1, offset: 436), "the hole's last offset")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 433), "the run before the hole ends there")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 437), "the run after the hole starts there")
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 455), "a consumer error between the reads: not the broker's gap")
    }

    /// The runtime's "handed" line names each run of consecutive offsets, so that a hole inside
    /// one poll (the broker's fetch gap, or a transaction's marker) shows in it.
    @Test func offsetsAreLoggedAsRunsOfConsecutiveOnes() throws {
        #expect(StreamRuntime.offsetRuns([Int64]()) == [])
        #expect(StreamRuntime.offsetRuns([7]) == [7...7])
        #expect(StreamRuntime.offsetRuns([3784, 3785, 3786, 3787, 3791, 3792, 3798]) == [3784...3787, 3791...3792, 3798...3798])
        // The line as the runtime writes it reads back as those runs.
        let topic = "eos-test\(UUID().uuidString.prefix(8)).repartition.terminal"
        let entries = StreamRuntime.handedEntries(TopicPartition(topic, 1), offsets: [3784, 3785, 3786, 3787, 3791, 3792, 3798])
            + StreamRuntime.handedEntries(TopicPartition("other.topic", 1), offsets: [3789])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-handed-\(UUID().uuidString.prefix(8)).log").path
        try "2026-12-07T05:00:00.000Z debug vigil.run: handed \(entries)".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        RuntimeFixture.vigilLogs.withValue { $0.append(("handed", 0, path)) }
        let reads = Self.handedRanges(topic: topic)
        #expect(reads.map(\.offsets) == [3784...3787, 3791...3792, 3798...3798])
        #expect(Self.readsPassOver(reads, partition: 1, offset: 3789))
        #expect(!Self.readsPassOver(reads, partition: 1, offset: 3792))
    }

    /// A verifier run stopped by the test broker: commits it holds back, none an instance left open.
    struct BrokerStall: Error { var detail: String }

    /// The error for a run that stopped making progress. On a broker that does not complete
    /// overlapping transactions on their own, a stall is the broker's (``BrokerStall``)
    /// only when every record the instances wrote into the topology's partitions becomes
    /// readable once every instance has stopped (gracefully, each committing and leaving; the
    /// transactional ids of those the test killed initialised again, which ends what they left
    /// open, as Kafka's transaction timeout would) and the test has committed into each
    /// partition held back (``HeldBackRelease``); the test's own commits may stay held back
    /// behind a completed transaction the broker still lists (README, "Test broker"). Anything
    /// else fails the test: a transaction left open by an instance that stopped gracefully or
    /// had to be killed by the stop (naming the instance whose id, initialised again, releases
    /// it), and any stall on another broker.
    static func stall(_ detail: String, plan: TopicPlan, started: RuntimeFixture.StartedInstances) -> any Error {
        let open = RuntimeFixture.openTransactionRecords(["v1", "v2", "v4", "v5"])
        guard !TestBroker.completesOverlappingTransactions else { return FixtureError("\(detail)\n\(open)") }
        let topicPartitions = plan.createdTopics.flatMap { topic in (0..<partitions).map { TopicPartition(topic, $0) } }
        let held = RuntimeFixture.heldBackPartitions(topicPartitions)
        guard !held.isEmpty else { return FixtureError("\(detail)\nno partition held back\n\(open)") }
        started.stopGracefully()
        let failed = started.failed
        guard failed.isEmpty else { return FixtureError("\(detail)\ninstances failed: \(failed.joined(separator: "; "))\n\(open)") }
        var release = HeldBackRelease(partitions: topicPartitions, plan: plan)
        release.reinitialise(started.killedByTheTest)
        release.commitUntilSettled()
        let heldBefore = "held back at the stall: \(HeldBackRelease.describe(held))"
        if release.instanceRecordsHeld.isEmpty {
            return BrokerStall(detail: """
                \(detail)
                \(heldBefore)
                every instance's record readable once the instances stopped (ids of those the test killed initialised \
                again: \(release.reinitialised)) and the test committed into each partition; its own commits still held \
                back: \(HeldBackRelease.describe(release.onlyOwnHeld))
                \(open)
                """)
        }
        // A transaction an instance left open: say whose, trying each other id in turn.
        let stillHeld = HeldBackRelease.describe(release.instanceRecordsHeld)
        var culprit = "none of the instances' ids, initialised again, released them (an instance's transaction that wrote only partitions behind a completed transaction the broker still lists cannot complete: those where only the test's own commits are held back: \(HeldBackRelease.describe(release.onlyOwnHeld)))"
        for instance in started.notKilled + started.killedByTheStop {
            release.reinitialise([instance])
            release.commitUntilSettled()
            if release.instanceRecordsHeld.isEmpty {
                let how = started.killedByTheStop.contains(instance) ? "did not stop within 20 s of SIGTERM" : "stopped gracefully"
                culprit = "initialising \(instance)'s transactional id again released them: \(instance) \(how) and left a transaction open"
                break
            }
        }
        return FixtureError("""
            \(detail)
            \(heldBefore)
            still held back with every instance stopped and the ids of those the test killed initialised again: \(stillHeld); \(culprit)
            \(release.problems.joined(separator: "\n"))
            \(open)
            """)
    }

    static func runVerifier(changelog: ChangelogRecords) async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("eos")
            let file = try RuntimeFixture.topologyFile(name: name, lateness: "2d", changelog: changelog)
            let topology = try TopologyLoader.load(path: file)
            let source = topology.source.topics[0]
            let plan = try TopicPlan(topology: topology)
            let group = "vigil.\(name)"
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: Self.partitions)])

            // The input: handbook transactions, each customer's in one partition, with bad
            // records among them, produced at about 400 events/s (faster than real time: a day
            // of transactions every ~25 s).
            let events = try RuntimeFixture.transactions(16_000)
            var records: [(partition: Int32, key: String, line: String, bad: Bool)] = []
            for (index, event) in events.enumerated() {
                records.append((Int32(Int(event.customer)! % Int(Self.partitions)), event.customer, event.line, false))
                if index % 2000 == 1000 {
                    records.append((Int32(index / 2000 % Int(Self.partitions)), "bad", "\(9_000_000 + index),not a time,1,2,3.0,0", true))
                }
            }
            let input = records
            let producing = DispatchSemaphore(value: 0)
            let producerFailure = LockedBox<(any Error)?>(nil)
            let produced = LockedBox<[Int32: Int64]>([:])
            let badOffsets = LockedBox<Set<Int64>>([])  // partition * 10^9 + offset of each bad record
            Thread {
                do {
                    let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
                    for chunk in stride(from: 0, to: input.count, by: 40) {
                        for record in input[chunk..<min(chunk + 40, input.count)] {
                            try producer.send(ProducerRecord(topic: source, partition: record.partition, key: Array(record.key.utf8), value: Array(record.line.utf8)))
                        }
                        try producer.flush()
                        Thread.sleep(forTimeInterval: 0.1)  // pacing of the input, not synchronisation
                    }
                } catch { producerFailure.value = error }
                producing.signal()
            }.start()
            // Offsets are given per partition in production order: work them out from the records.
            var next: [Int32: Int64] = [:]
            var bad = Set<Int64>()
            var offsetOf: [String: (Int32, Int64)] = [:]
            for record in records {
                let offset = next[record.partition, default: 0]
                next[record.partition] = offset + 1
                if record.bad { bad.insert(Int64(record.partition) * 1_000_000_000 + offset) } else {
                    offsetOf[String(record.line.prefix { $0 != "," })] = (record.partition, offset)
                }
            }
            badOffsets.value = bad
            produced.value = next

            var faults: [Fault] = []
            func noteFault(_ what: String) throws {
                faults.append(Fault(name: what, committed: try RuntimeFixture.committedOffsets(group: group, topic: source, partitions: Self.partitions)))
            }
            func committedTotal() throws -> Int64 {
                try RuntimeFixture.committedOffsets(group: group, topic: source, partitions: Self.partitions).values.reduce(0) { $0 + max($1, 0) }
            }
            let started = RuntimeFixture.StartedInstances()
            defer { started.end() }
            /// The error for a stall (``stall(_:plan:started:)``); where it is the broker's, what
            /// the instances scored is checked all the same (``verify``, not for completeness).
            func stalled(_ detail: String) -> any Error {
                let error = Self.stall(detail, plan: plan, started: started)
                guard error is BrokerStall else { return error }
                do {
                    try Self.verify(topology: topology, events: events, offsetOf: offsetOf, badOffsets: badOffsets.value, faults: faults, group: group, complete: false)
                } catch {
                    return FixtureError("\(detail)\nchecking what was scored before the stall failed: \(error)")
                }
                return error
            }
            /// Waits until the group commits more than it had, so that each fault lands on a working group.
            func awaitProgress(within deadline: Duration = .seconds(60)) throws {
                let before = try committedTotal()
                let clock = ContinuousClock()
                let end = clock.now + deadline
                while try committedTotal() <= before {
                    guard clock.now < end else {
                        // Say what each process was doing (a restore waiting for a transaction left open, …).
                        throw stalled("no progress past \(before) committed offsets within \(deadline)\n\(RuntimeFixture.vigilLogTails(["v1", "v2", "v4"]))")
                    }
                    Thread.sleep(forTimeInterval: 0.1)  // polling a condition, with a deadline
                }
            }
            let extra = ["--snapshot-interval", "1", "--max-transaction-events", "\(Self.maxTransactionEvents)"]
            func inProcess(_ id: String, faults injected: FaultInjection? = nil) throws -> RuntimeFixture.RunningInstance {
                started.keep(try RuntimeFixture.RunningInstance(topology: topology, instance: id, snapshotInterval: .seconds(1), faults: injected, logFile: true) {
                    $0.maxEventsPerTransaction = Self.maxTransactionEvents
                })
            }

            // 1. Two processes; a third instance joins under load and leaves.
            var first = try started.startVigil(topologyFile: file, instance: "v1", extra: extra, logLevel: "debug")
            var second = try started.startVigil(topologyFile: file, instance: "v2", extra: extra, logLevel: "debug")
            try awaitProgress()
            let third = try inProcess("v3")
            try awaitProgress()
            try noteFault("v3 leaves")
            third.stop()
            #expect(third.failure == nil, "\(String(describing: third.failure))")
            try awaitProgress()

            // 2. An instance whose sends fail once (the transaction aborts) and whose first
            // restore read fails (its partitions wait and are restored again).
            try awaitProgress()
            let injected = FaultInjection()
            injected.fail(.read, with: FaultInjection.readFailure)
            try noteFault("v5 joins with a failing send")
            // Any send: v5 may own only source partitions, whose events go to the repartition topic.
            injected.fail(.send(topic: nil), after: 50, with: FaultInjection.abortable)
            let fifth = try inProcess("v5", faults: injected)
            try RuntimeFixture.waitUntil("v5's injected faults to fire") { injected.injectedCount(.read) == 1 && injected.injectedCount(.send(topic: nil)) == 1 }

            // 3. A zombie: v1 stops past the session timeout (2 s), its partitions move to v2,
            // then it wakes up and must be fenced, not commit.
            try noteFault("v1 stopped (zombie)")
            try Self.signal(first, SIGSTOP)
            Thread.sleep(forTimeInterval: 5)  // the fault itself: a process frozen past the session timeout
            try Self.signal(first, SIGCONT)
            try awaitProgress()

            // 4. Four SIGKILL rounds on v2, restarted with the same id (it fences its predecessor);
            // with the failover below, five kills.
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<4 {
                try awaitProgress()
                Thread.sleep(forTimeInterval: Double.random(in: 0...1.0, using: &generator))  // a random moment: mid-batch, mid-commit, mid-snapshot
                try noteFault("v2 killed")
                try Self.signal(second, SIGKILL)
                second.waitUntilExit()
                second = try started.startVigil(topologyFile: file, instance: "v2", extra: extra, logLevel: "debug")
            }

            // 5. Failover: v1 dies and an instance with another id takes its place.
            try awaitProgress()
            try noteFault("v1 killed, v4 replaces it")
            // The zombie woke to find its partitions gone: it aborted and rejoined (or, had its
            // producer been fenced, exited); either way it dies here.
            if first.isRunning { try Self.signal(first, SIGKILL) }
            first.waitUntilExit()
            first = try started.startVigil(topologyFile: file, instance: "v4", extra: extra, logLevel: "debug")
            if !TestBroker.timesOutTransactions {
                // A transaction v1 left open holds the last stable offset of every partition it
                // wrote until the broker times it out (10 s, transaction.timeout.ms): restores
                // reading past it wait, the terminal stage reads no further. This broker never
                // times transactions out, so what Kafka does 10 s after the kill is done here by
                // hand: v1's transactional id is initialised again, which aborts it.
                Thread.sleep(forTimeInterval: 10)  // the fault: a transaction left open for as long as the timeout
                let timeout = try TransactionalProducer(
                    configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: "vigil.\(name).v1"), logger: RuntimeFixture.logger)
                try timeout.initTransactions()
            }

            producing.wait()
            #expect(producerFailure.value == nil)
            let total = produced.value.values.reduce(0, +)
            do {
                try RuntimeFixture.waitForCommitted(group: group, topic: source, partitions: Self.partitions, total: total, within: .seconds(120))
                // The source read to its end is not the end: the terminal stage may still be
                // reading the last events' copies from the repartition topic (seen on a loaded
                // machine: the instances stopped first, and the last events of each partition
                // had no score). Wait until no record lies beyond the group's committed offsets
                // there either (by reading: the end of a partition written in transactions is
                // one or more commit or abort markers).
                let repartition = plan.segments[1].inputTopic
                var beyond = -1
                var repartitionCommitted: [Int32: Int64] = [:]
                do {
                    try RuntimeFixture.waitUntil("end of the repartition topic's reading", within: .seconds(60)) {
                        repartitionCommitted = (try? RuntimeFixture.committedOffsets(group: group, topic: repartition, partitions: Self.partitions)) ?? [:]
                        let starts = Dictionary(uniqueKeysWithValues: (0..<Self.partitions).map { (TopicPartition(repartition, $0), max(repartitionCommitted[$0] ?? 0, 0)) })
                        beyond = (try? PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger).read(starts) { _ in }) ?? -1
                        return beyond == 0
                    }
                } catch {
                    throw FixtureError("\(error): \(beyond) records beyond the committed offsets \(repartitionCommitted.sorted { $0.key < $1.key }.map(\.value))")
                }
            } catch {
                // Say where the group stopped and what each instance was doing.
                let committed = (try? RuntimeFixture.committedOffsets(group: group, topic: source, partitions: Self.partitions)) ?? [:]
                throw stalled("""
                    \(error); committed by partition \(committed.sorted { $0.key < $1.key }.map(\.value)), produced \(produced.value.sorted { $0.key < $1.key }.map(\.value)); \
                    v5 \(fifth.runtime.statistics)
                    \(RuntimeFixture.vigilLogTails(["v1", "v2", "v4"]))
                    """)
            }
            fifth.stop()
            for process in [first, second] {
                try Self.signal(process, SIGTERM)
                process.waitUntilExit()
            }
            #expect(fifth.failure == nil, "\(String(describing: fifth.failure))")
            #expect(injected.injectedCount(.read) == 1 && injected.injectedCount(.send(topic: nil)) == 1,
                    "the injected faults fired: \(injected.injectedCount(.read)) read, \(injected.injectedCount(.send(topic: nil))) send")

            try Self.verify(topology: topology, events: events, offsetOf: offsetOf, badOffsets: badOffsets.value, faults: faults, group: group)
        }
    }

    /// Sends a signal to a `vigil run` process (never to a process group: pid 0 would be ours).
    static func signal(_ process: Process, _ signal: Int32) throws {
        guard process.processIdentifier > 0, process.isRunning else { throw FixtureError("vigil run is not running (status \(process.terminationStatus))") }
        kill(process.processIdentifier, signal)
    }

    /// The checks, by the provenance headers of what was committed. Not `complete` (a run that
    /// stalled on the broker): what was scored and dead-lettered is checked, not that every
    /// input was, nor the restored state.
    static func verify(topology: Topology, events: [(id: String, customer: String, line: String)], offsetOf: [String: (Int32, Int64)],
                       badOffsets: Set<Int64>, faults: [Fault], group: String, complete: Bool = true) throws {
        let layout = RowLayout(topology: topology)
        let readScores = {
            try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(15)) {
                Set($0.map(\.id)).count >= events.count
            }
        }
        var scores = try readScores()
        // A reader of the test broker can be passed over a committed batch (README, "Test
        // broker"); that happened to this read once (CI, 2026-12-06: 169 scores of one
        // transaction, all in one partition of the scores topic, missing). A score any fresh
        // reader finds is committed: a second read takes the scores of the events the first
        // missed, and the run says how many it found.
        if Set(scores.map(\.id)).count < events.count {
            let first = Set(scores.map(\.id))
            let found = try readScores().filter { !first.contains($0.id) }
            print("verifier: a second read of the scores found \(Set(found.map(\.id)).count) of the \(events.count - first.count) events the first read had no score for")
            scores += found
            // Evidence for the next diagnosis, not an excuse: whether the scores still missing
            // are in the topic at all, as records a read_committed reader is not shown (an
            // aborted or held-back transaction), or not there (CI, 2026-12-07: the 34 scores
            // of one committed transaction's batch for one partition, missing from both reads).
            let known = Set(scores.map(\.id))
            if known.count < events.count {
                let uncommitted = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max,
                                                                within: .seconds(15), until: { Set($0.map(\.id)).count >= events.count },
                                                                isolation: .readUncommitted).filter { !known.contains($0.id) }
                let places = Dictionary(grouping: uncommitted, by: \.partition).mapValues { records in records.map(\.offset).sorted() }
                    .sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value.first!)...\($0.value.last!) (\($0.value.count))" }
                print("verifier: a read_uncommitted read of the scores found \(Set(uncommitted.map(\.id)).count) of the \(events.count - known.count) events no read_committed read had a score for, at \(places)")
            }
        }
        // Every input is scored.
        let scoredIDs = Set(scores.map(\.id))
        let unscored = events.filter { !scoredIDs.contains($0.id) }
        let terminalColumn = topology.source.fields.firstIndex { $0.name == "TERMINAL_ID" } ?? 3
        // Where an unscored event's trail ends. Its source record is committed (the group
        // read the source to its end), and if a committed copy of it is in the repartition
        // topic too, which the terminal stage read to its end, the copy was never handed to
        // the stage. The test broker does that (Tansu 0.6, 2 of about 40 runs on a loaded machine):
        // with librdkafka's fetch debugging on, the owner's log showed a read_committed fetch
        // answered "MaxOffset 712, LSO 712" whose records were offsets 696–702 and the
        // commit marker at 711 — the committed batch at 703–710 was not in it, so the
        // consumer went on from 712 and never saw it (no abort list, no aborted batch; a
        // fresh reader sees the batch): the broker left a committed batch out of a fetch
        // whose end lay past it. Reproduced without Vigil (bench/probes/fetch-gap): the broker
        // moves a partition's high watermark past a batch before it stores the batch, and a
        // fetch in between returns the stored batches beyond it (README, "Test broker").
        // Recorded as a known issue on that broker, and only with that
        // signature, read from the instances' own logs: every unscored event has a committed
        // copy, no instance logged skipping it as a copy, and some instance's reads of that
        // partition (the runtime's "handed" debug lines) went from below the copy to above it
        // in one step. A copy handed over and then not scored (no read passing over it), an
        // event without a committed copy, or any unscored event on a broker that hides aborted
        // records (a conformant one), fails.
        var excusedTerminalKeys = Set<String>()
        if complete, !unscored.isEmpty {
            var ranges: [Int32: (Int64, Int64, Int)] = [:]
            for event in unscored { if let (p, o) = offsetOf[event.id] { let r = ranges[p] ?? (o, o, 0); ranges[p] = (min(r.0, o), max(r.1, o), r.2 + 1) } }
            // Where each unscored event went behind the source: its repartition partition.
            let targets = unscored.map { event -> String in
                var terminal = String(event.line.split(separator: ",", omittingEmptySubsequences: false)[terminalColumn])
                let target = terminal.withUTF8 { SegmentProcessor.partition(of: UnsafeRawBufferPointer($0), count: partitions) }
                return "\(event.id)@\(offsetOf[event.id].map { "\($0.0):\($0.1)" } ?? "?")->r\(target)"
            }
            let repartitionTopic = try TopicPlan(topology: topology).segments[1].inputTopic
            let copied = try repartitionedSources(topology: topology)
            let skipped = skippedCopies(repartitionTopic: repartitionTopic)
            let reads = handedRanges(topic: repartitionTopic)
            let copiesOf = { (event: (id: String, customer: String, line: String)) -> [(partition: Int32, offset: Int64)] in
                offsetOf[event.id].flatMap { copied[Int64($0.0) * 1_000_000_000 + $0.1] } ?? []
            }
            var handedButUnscored: [String] = []
            let passedOver = unscored.filter { event in
                guard let (partition, offset) = offsetOf[event.id] else { return false }
                let copies = copiesOf(event)
                guard !copies.isEmpty, !skipped.contains(where: { $0.partition == partition && $0.offsets.contains(offset) }) else { return false }
                if copies.contains(where: { copy in Self.readsPassOver(reads, partition: copy.partition, offset: copy.offset) }) { return true }
                let handed = copies.filter { copy in reads.contains { !$0.isSeek && $0.partition == copy.partition && $0.offsets.contains(copy.offset) } }
                if !handed.isEmpty { handedButUnscored.append("\(event.id): \(handed.map { "r\($0.partition)@\($0.offset)" })") }
                return false
            }
            let copies = unscored.prefix(20).map { event in "\(event.id): \(copiesOf(event).map { "r\($0.partition)@\($0.offset)" })" }
            let detail = "\(unscored.count) events have no score: \(targets.prefix(20)); their committed copies \(copies); by partition (first, last, count): \(ranges); faults \(faults.map { "\($0.name) \($0.committed.sorted { $0.key < $1.key }.map(\.value))" })"
            if passedOver.count == unscored.count, TestBroker.showsAbortedRecords {
                excusedTerminalKeys = Set(passedOver.map { String($0.line.split(separator: ",", omittingEmptySubsequences: false)[terminalColumn]) })
                withKnownIssue("committed repartitioned records never handed to their reader by a broker that shows aborted records", isIntermittent: true) {
                    Issue.record("\(detail); each has a committed copy in the repartition topic that a reader passed over without being handed it")
                }
            } else {
                Issue.record("\(detail); \(unscored.count - passedOver.count) are not a read passing over a committed copy: handed over and not scored \(handedButUnscored.prefix(20)); no copy in the repartition topic, skipped by a `vigil run` as a copy, or no read passed over it for the rest")
            }
        }
        // Scores carry the provenance of their event.
        let misplaced = scores.filter { record in offsetOf[record.id].map { $0 != record.source ?? (-1, -1) } ?? true }
        #expect(misplaced.isEmpty, "\(misplaced.count) scores name another source record than their event's")

        // None twice, except — on a broker that shows aborted records — inside the offsets of a
        // transaction open at a fault: at or after the committed offset then, within the two
        // transactions a fault can catch (one may commit between the note and the fault).
        var seen: [String: Int] = [:]
        for record in scores { seen[record.id, default: 0] += 1 }
        let duplicated = seen.filter { $0.value > 1 }.map(\.key)
        if TestBroker.showsAbortedRecords {
            let window = Int64(3 * maxTransactionEvents)
            let unexplained = duplicated.filter { id in
                guard let (partition, offset) = offsetOf[id] else { return true }
                return !faults.contains { fault in
                    let committed = max(fault.committed[partition] ?? 0, 0)
                    return offset >= committed && offset < committed + window
                }
            }
            #expect(unexplained.isEmpty, "\(unexplained.count) of \(duplicated.count) duplicates lie outside every transaction open at a fault, e.g. \(unexplained.prefix(3))")
        } else {
            #expect(duplicated.isEmpty, "\(duplicated.count) events scored twice on a broker that hides aborted records")
        }

        // Every score equals a replay's, except late ones (scored unplaced), which are rare.
        let late = Set(scores.filter(\.late).map(\.id))
        let expected = try RuntimeFixture.replayFeatures(topology, events)
        let mismatched = RuntimeFixture.mismatchedIDs(scores.filter { !late.contains($0.id) }, expected: expected)
        #expect(mismatched.isEmpty, "\(mismatched.count) events scored with other features than a replay, e.g. \(mismatched.prefix(3))")
        #expect(late.count * 100 <= events.count, "\(late.count) of \(events.count) events scored late")

        // Alerts are the rule applied to the scores.
        // Not the test's own commits into held partitions (``RuntimeFixture/nudge(_:)``).
        let alerts = try RuntimeFixture.readAll(topology.outputs.alertsTopic, partitions: partitions).filter { !($0.key.map { $0.elementsEqual(RuntimeFixture.nudgeKey) } ?? false) }
        let alerted = Set(alerts.map { String(decoding: $0.key ?? [], as: UTF8.self) })
        let threshold = topology.outputs.alertRule!.conditions[0].threshold
        let shouldAlert = Set(scores.filter { ($0.features.last ?? 0) >= threshold }.map(\.id))
        #expect(alerted == shouldAlert, "\(alerted.symmetricDifference(shouldAlert).count) events differ between the alerts and the rule on the scores")

        // The dead letters are the bad inputs.
        let letters = try RuntimeFixture.readAll(topology.outputs.deadLetterTopic, partitions: partitions)
        let lettered = Set(letters.compactMap { letter -> Int64? in
            guard let partition = letter.header(RecordHeaders.sourcePartition)?.stringValue.flatMap({ Int64($0) }),
                  let offset = letter.header(RecordHeaders.sourceOffset)?.stringValue.flatMap({ Int64($0) }) else { return nil }
            return partition * 1_000_000_000 + offset
        })
        if complete {
            #expect(lettered == badOffsets, "dead letters \(lettered.count), bad inputs \(badOffsets.count)")
            // Each partition's restored state equals a replay of what was committed, key by key.
            // (The terminal state of keys whose events the broker never handed over cannot match.)
            try verifyRestoredState(topology: topology, events: events.filter { !late.contains($0.id) }, group: group, excusedTerminalKeys: excusedTerminalKeys)
        } else {
            #expect(lettered.isSubset(of: badOffsets), "\(lettered.subtracting(badOffsets).count) dead letters of inputs that are not bad")
        }
        print("verifier\(complete ? "" : " (stalled: what was scored)"): \(events.count) events, \(unscored.count) unscored, \(scores.count) score records, \(duplicated.count) duplicated (broker shows aborted records: \(TestBroker.showsAbortedRecords)), \(late.count) late, \(alerts.count) alerts, \(letters.count) dead letters; faults: \(faults.map(\.name))")
    }

    /// One read of a partition by one instance in one assignment (``handedRanges(topic:)``).
    typealias Read = (log: String, partition: Int32, offsets: ClosedRange<Int64>, isSeek: Bool)

    /// What the consumer handed each instance of the test from `topic`, read from the runtime's
    /// debug lines (`handed ["topic/P@A...B", …]`, one per poll, an entry per run of consecutive
    /// offsets, so that a hole inside a poll reads as a pass-over), in each log's order. `log`
    /// names the log and the assignment: it changes at each "partitions assigned" or
    /// "partitions revoked" line, and at a consumer error on the topic, so that reads compared
    /// as consecutive belong to one ownership of the partition with nothing dropped between them. A completed restore ("restored state … committed=[…]", after
    /// an assignment or an abort) seeks its partitions to their committed offsets: it comes as
    /// a seek (`isSeek`), the offset before the committed one, where the next read must go on.
    static func handedRanges(topic: String) -> [Read] {
        var found: [Read] = []
        let prefix = "\(topic)/"
        for entry in RuntimeFixture.vigilLogs.value {
            guard let text = try? String(contentsOfFile: entry.path, encoding: .utf8) else { continue }
            var assignment = 0
            for line in text.split(separator: "\n") {
                // A record the consumer dropped with an error (a message set it could not read,
                // an offset reset) is not the broker's gap: its warning breaks the chain of reads,
                // so that a hole across it is never read as a pass-over.
                if line.contains("partitions assigned") || line.contains("partitions revoked") || line.contains("consumer, \(prefix)") { assignment += 1; continue }
                let log = "\(entry.path)#\(assignment)"
                if line.contains("restored state"), let committed = line.range(of: "committed=") {
                    let list = line[committed.upperBound...].prefix { $0 != "]" }
                    for part in list.split(whereSeparator: { "\"\\[, ".contains($0) }) where part.hasPrefix(prefix) {
                        guard let (partition, committed) = partitionOffsets(part.dropFirst(prefix.count)), committed.lowerBound > 0 else { continue }
                        found.append((log, partition, (committed.lowerBound - 1)...(committed.lowerBound - 1), true))
                    }
                    continue
                }
                guard line.contains("handed ["), line.contains(prefix) else { continue }
                for part in line.split(separator: "\"") where part.hasPrefix(prefix) {
                    guard let (partition, offsets) = partitionOffsets(part.dropFirst(prefix.count)) else { continue }
                    found.append((log, partition, offsets, false))
                }
            }
        }
        return found
    }

    /// Whether one instance's consecutive reads of `partition` went from below `offset` to above
    /// it in one step: the consumer passed over that offset without handing it out.
    static func readsPassOver(_ reads: [Read], partition: Int32, offset: Int64) -> Bool {
        var last: [String: ClosedRange<Int64>] = [:]
        for read in reads where read.partition == partition {
            if !read.isSeek, let previous = last[read.log], previous.upperBound < offset, read.offsets.lowerBound > offset { return true }
            last[read.log] = read.offsets
        }
        return false
    }

    /// A partition's offsets as the runtime's log lines spell them, `P@A...B`, or one offset,
    /// `P@A` (a restore's committed offset), as `A...A`.
    static func partitionOffsets(_ text: Substring) -> (partition: Int32, offsets: ClosedRange<Int64>)? {
        let fields = text.split(separator: "@")
        guard fields.count == 2, let partition = Int32(fields[0]) else { return nil }
        let bounds = fields[1].components(separatedBy: "...")
        guard (1...2).contains(bounds.count), let low = Int64(bounds[0]), let high = Int64(bounds[bounds.count - 1]), low <= high else { return nil }
        return (partition, low...high)
    }

    /// The source offsets each `vigil run` of the test logged skipping at the terminal
    /// stage's duplicate guard ("skipped N repartitioned events of … : source P@A...B, …").
    static func skippedCopies(repartitionTopic: String) -> [(partition: Int32, offsets: ClosedRange<Int64>)] {
        var found: [(partition: Int32, offsets: ClosedRange<Int64>)] = []
        for entry in RuntimeFixture.vigilLogs.value {
            guard let text = try? String(contentsOfFile: entry.path, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.contains("repartitioned events of \(repartitionTopic)/") {
                for part in line.split(separator: " ") where part.contains("@") && part.contains("...") {
                    guard let place = partitionOffsets(Substring(part.trimmingCharacters(in: CharacterSet(charactersIn: ",;")))) else { continue }
                    found.append(place)
                }
            }
        }
        return found
    }

    /// The source records (partition * 10^9 + offset) of which the repartition topic holds a
    /// committed copy, read as a new reader would.
    /// Where each source event's committed copies lie in the repartition topic
    /// (`r<partition>@<offset>`), by source partition × 1e9 + offset: what a reader that passed
    /// over them was not handed (compare with the instances' "handed" debug lines).
    static func repartitionedSources(topology: Topology) throws -> [Int64: [(partition: Int32, offset: Int64)]] {
        let topic = try TopicPlan(topology: topology).segments[1].inputTopic
        let pipeline = try Pipeline(topology: topology, kernel: nil, recordsUndo: false)
        var sources: [Int64: [(partition: Int32, offset: Int64)]] = [:]
        for record in try RuntimeFixture.readAll(topic, partitions: partitions) {
            guard let value = record.value, !value.isEmpty else { continue }
            var batch = pipeline.makeBatch(capacity: 1)
            try batch.appendEncoded(value)
            let provenance = batch.provenance[0]
            sources[Int64(provenance.partition) * 1_000_000_000 + provenance.offset, default: []].append((record.partition, record.offset))
        }
        return sources
    }

    /// Restores every partition as a new owner would, and compares each key's state with a
    /// replay of the events (those scored late changed no state, so they are left out): both
    /// engines get the same probe event after the stream, and must give the same features.
    static func verifyRestoredState(topology: Topology, events: [(id: String, customer: String, line: String)], group: String,
                                    excusedTerminalKeys: Set<String> = []) throws {
        let plan = try TopicPlan(topology: topology)
        let store = PipelineStore(topology: topology) { try RuntimeFixture.kernel(topology) }
        let committedReader = try Consumer(configuration: ConsumerConfiguration(kafka: RuntimeFixture.kafka, groupID: group), logger: RuntimeFixture.logger)
        defer { try? committedReader.close() }
        let restorer = StateRestorer(
            plan: plan, topology: topology, partitionCount: partitions, pipelines: store,
            context: StateRestorer.Context(
                committed: { try committedReader.committed($0) },
                makeReader: {
                    var configuration = ConsumerConfiguration(kafka: RuntimeFixture.kafka, groupID: "verifier-restore")
                    configuration.reportsPartitionEOF = true
                    configuration.offsetReset = .error
                    return try Consumer(configuration: configuration, logger: RuntimeFixture.logger)
                }),
            checksSourceOffsets: TestBroker.showsAbortedRecords, metrics: RuntimeMetrics(), logger: RuntimeFixture.logger)
        let inputs = plan.segments.flatMap { segment in (0..<partitions).map { TopicPartition(segment.inputTopic, $0) } }
        restorer.enqueue(inputs)
        let clock = ContinuousClock()
        let end = clock.now + .seconds(60)
        var restored = 0
        while restored < inputs.count, clock.now < end { restored += restorer.step(until: clock.now + .milliseconds(200)).count }
        // Seen once (the CI run of 2026-12-07 00:08 on 3d36298, changelog: events, every event
        // scored): no partition restored in 60 s and no failure. Say what the restore waited
        // for and which of the partitions it reads a read_committed reader cannot read to
        // their end (a transaction left open, or one the test broker still lists).
        let restoreTopics = plan.changelogTopics + [plan.checkpointTopic]
        let stuck = restored < inputs.count
            ? "; waiting: \(restorer.waiting ?? "-"); held back: \(HeldBackRelease.describe(RuntimeFixture.heldBackPartitions(restoreTopics.flatMap { topic in (0..<partitions).map { TopicPartition(topic, $0) } })))"
            : ""
        #expect(restored == inputs.count && restorer.lastFailure == nil, "\(restored) of \(inputs.count) partitions restored: \(restorer.lastFailure ?? "")\(stuck)")

        let replay = try Pipeline(topology: topology, kernel: nil, recordsUndo: false)
        var batch = replay.makeBatch(capacity: events.count)
        let decoder = replay.makeDecoder()
        let binding = try decoder.bind(header: topology.source.fields.map(\.name), file: "verifier")
        let reader = CSVReader(source: MemoryByteSource(Array(events.map(\.line).joined(separator: "\n").utf8)))
        while try reader.next() { _ = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: 0, offset: 0), to: &batch) }
        _ = replay.process(&batch)
        let probeTime = (batch.times.max() ?? 0) + 1

        var differing: [String] = []
        var keys = 0
        for (segmentIndex, segment) in plan.segments.enumerated() {
            for stage in segment.stages {
                let expectedKeys = Set(replay.engines[stage].allKeys)
                var restoredKeys = Set<StateKey>()
                let excused = segmentIndex == 1 ? excusedTerminalKeys : []
                for partition in 0..<partitions {
                    guard let pipeline = store[partition] else { continue }
                    for key in pipeline.engines[stage].allKeys where !excused.contains(key.description) {
                        restoredKeys.insert(key)
                        var text = key.description
                        let owner = segmentIndex == 0
                            ? Int32(Int(text)! % Int(partitions))
                            : text.withUTF8 { SegmentProcessor.partition(of: UnsafeRawBufferPointer($0), count: partitions) }
                        if owner != partition { differing.append("stage \(stage) key \(key) restored in partition \(partition), owned by \(owner)") }
                        let a = probe(pipeline.engines[stage], key: key, at: probeTime)
                        let b = probe(replay.engines[stage], key: key, at: probeTime)
                        keys += 1
                        if zip(a, b).contains(where: { !(abs($0 - $1) <= 1e-9 || ($0.isNaN && $1.isNaN)) }) {
                            differing.append("stage \(stage) key \(key): \(a) vs \(b)")
                        }
                    }
                }
                let missing = expectedKeys.subtracting(restoredKeys).filter { !excused.contains($0.description) }
                if !missing.isEmpty {
                    differing.append("stage \(stage): \(missing.count) keys not restored, e.g. \(missing.prefix(3).map(\.description))")
                    print("verifier: where the unrestored keys of stage \(stage) are:\n\(try traceKeys(missing.map(\.description), stage: stage, segment: segmentIndex, plan: plan, group: group))")
                }
            }
        }
        #expect(keys > 0 && differing.isEmpty, "\(differing.count) differences in \(keys) restored keys, e.g. \(differing.prefix(5))")
    }

    /// Where the changelog records of `keys` lie (a diagnosis of a failed restored-state
    /// comparison): per changelog partition, the newest checkpoint's start, the group's
    /// committed offsets, and each key's records read committed and uncommitted with the
    /// offsets their headers carry — so a failure says whether the records were never
    /// committed (the runtime's loss) or are committed and were not read (the reader's).
    static func traceKeys(_ keys: [String], stage: Int, segment: Int, plan: TopicPlan, group: String) throws -> String {
        let wanted = Set(keys)
        let topic = plan.changelogTopics[stage]
        let starts = Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), KafkaOffset.beginning) })
        func records(_ isolation: ConsumerConfiguration.IsolationLevel) throws -> [Int32: [(key: String, offset: Int64, headers: String)]] {
            var reader = PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            reader.isolationLevel = isolation
            var found: [Int32: [(key: String, offset: Int64, headers: String)]] = [:]
            try reader.read(starts) { message in
                let record = message.record
                let key = String(decoding: record.key ?? [], as: UTF8.self)
                let isMarker = record.key?.first == 0
                guard wanted.contains(key) || isMarker else { return }
                let headers = record.headers.map { "\($0.name)=\($0.stringValue ?? "?")" }.joined(separator: " ")
                found[record.partition, default: []].append((isMarker ? "<\(key.dropFirst())>" : key, record.offset, headers + (record.value == nil ? " tombstone" : "")))
            }
            return found
        }
        let committedRead = try records(.readCommitted)
        let uncommittedRead = try records(.readUncommitted)
        var checkpoints: [Int32: [(Int64, String)]] = [:]
        try PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            .read(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(plan.checkpointTopic, $0), KafkaOffset.beginning) })) { message in
                let text = String(decoding: message.record.value ?? [], as: UTF8.self)
                if text.contains("segment=\(segment) ") { checkpoints[message.record.partition, default: []].append((message.record.offset, text)) }
            }
        let inputTopic = plan.segments[segment].inputTopic
        let committed = try RuntimeFixture.committedOffsets(group: group, topic: inputTopic, partitions: partitions)
        let sourceCommitted = try RuntimeFixture.committedOffsets(group: group, topic: plan.segments[0].inputTopic, partitions: partitions)
        var lines = ["committed: \(inputTopic) \(committed.sorted { $0.key < $1.key }), source \(sourceCommitted.sorted { $0.key < $1.key })"]
        for partition in 0..<partitions {
            let inCommitted = committedRead[partition] ?? []
            let inAll = uncommittedRead[partition] ?? []
            let missingHere = Set(inAll.map(\.key)).intersection(wanted)
            guard !missingHere.isEmpty else { continue }
            lines.append("\(topic)/\(partition): checkpoints (offset, value) \(checkpoints[partition] ?? [])")
            // Each snapshot (from its marker to the next), with how many of the keys it holds.
            let markers = inCommitted.filter { $0.key == "<vigil.snapshot>" }
            for (index, marker) in markers.enumerated() {
                let end = index + 1 < markers.count ? markers[index + 1].offset : Int64.max
                let held = Set(inCommitted.filter { $0.offset > marker.offset && $0.offset < end && missingHere.contains($0.key) }.map(\.key)).count
                lines.append("  snapshot @\(marker.offset) [\(marker.headers)]: holds \(held) of the \(missingHere.count) keys by the next snapshot")
            }
            for key in missingHere.sorted().prefix(12) {
                let committedOffsets = inCommitted.filter { $0.key == key }.map { "\($0.offset) [\($0.headers)]" }
                let allOffsets = inAll.filter { $0.key == key }.map { "\($0.offset) [\($0.headers)]" }
                lines.append("  key \(key): read committed \(committedOffsets); read uncommitted \(allOffsets)")
            }
        }
        let nowhere = wanted.subtracting(uncommittedRead.values.flatMap { $0.map(\.key) })
        if !nowhere.isEmpty { lines.append("in no changelog record at all: \(nowhere.count), e.g. \(nowhere.sorted().prefix(5))") }
        return lines.joined(separator: "\n")
    }

    /// The features an engine gives a probe event of `key` at `time` (inputs 1.0): equal for
    /// two engines whose state for the key is the same.
    static func probe(_ engine: FeatureEngine, key: StateKey, at time: Int64) -> [Double] {
        let inputs = Array(repeating: 1.0, count: engine.inputNames.count)
        var features = Array(repeating: Double.nan, count: engine.featureNames.count)
        _ = inputs.withUnsafeBufferPointer { input in
            features.withUnsafeMutableBufferPointer { engine.process(key: key, time: time, inputs: input, into: $0) }
        }
        return features
    }
}
