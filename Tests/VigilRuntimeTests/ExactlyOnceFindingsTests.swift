import Foundation
import Testing
@testable import VigilKafka
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// One test per finding of the exactly-once review of the runtime (issue 12), each injecting
/// the failure it guards against through the clients' protocols, against the real broker.
@Suite(.serialized)
struct ExactlyOnceFindingsTests {
    /// Finding 1: a send that fails for good (here: the producer is fenced mid-transaction)
    /// used to end the run, whose close revoked the partitions, whose revoke handler committed
    /// the half-done transaction: offsets past events that had no score. Now nothing is
    /// committed after a failure; the next incarnation does the events again.
    @Test func aFailedSendNeverCommitsAHalfDoneTransaction() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("failsend")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // Local delivery (opt-in): the transaction that consumes the source also sends its scores.
            topology.processing.localDelivery = true
            // Local delivery keeps key states in the changelog (events are chained by input offsets).
            topology.processing.changelog = .keyStates
            let source = topology.source.topics[0]
            let events = try RuntimeFixture.transactions(2000)
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            try RuntimeFixture.produce(events, to: source)
            let faults = FaultInjection()
            // Some scores go out in the transaction, then a send fails fatally.
            faults.fail(.send(topic: topology.outputs.scoresTopic), after: 700, with: FaultInjection.fatal)
            let failing = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
            failing.wait()
            #expect(faults.injectedCount(.send(topic: topology.outputs.scoresTopic)) == 1)
            #expect((failing.failure as? KafkaError)?.severity == .fatal, "\(String(describing: failing.failure))")

            // Every source offset below the committed one has a score: nothing was committed
            // past an event without one. (This broker shows records of transactions left open,
            // so scores of the abandoned transaction may be there too; they only add.)
            let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] ?? 0
            let layout = RowLayout(topology: topology)
            let early = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: Int(max(committed, 0)), within: .seconds(20))
            let scoredOffsets = Set(early.compactMap { $0.source?.offset })
            let unscored = (0..<max(committed, 0)).filter { !scoredOffsets.contains($0) }
            #expect(unscored.isEmpty, "committed offset \(committed), but \(unscored.count) events below it have no score, e.g. \(unscored.prefix(5))")
            #expect(committed < Int64(events.count), "the failing transaction must not have committed")

            // The next incarnation (same id: it fences the old one and ends its transaction) does the rest.
            let next = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(30)) {
                Set($0.map(\.id)).count == events.count
            }
            next.stop()
            #expect(next.failure == nil)
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: try RuntimeFixture.replayFeatures(topology, events))
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features")
            #expect(try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] == Int64(events.count))
        }
    }

    /// A zombie's snapshot (found by the verifier): a transaction holding only the snapshot of
    /// an idle partition committed no offsets, so neither the runtime's membership check nor,
    /// on Kafka, the coordinator's generation check (KIP-447) applied to it. A zombie woken
    /// from SIGSTOP committed one for a partition whose new owner had processed 630 records
    /// further, and every later restore started from that stale snapshot. Now every
    /// transaction that writes a partition's state commits that partition's offset with it.
    @Test func aSnapshotOfAnIdlePartitionCommitsUnderTheGroupsMembership() async throws {
        try await BlockingCall.run {
            let (_, topology, source) = try RuntimeFixture.freshTopology("idlesnap", lateness: 0, partitions: 1)
            let events = try RuntimeFixture.transactions(500)
            try RuntimeFixture.produce(events, to: source)
            let faults = FaultInjection()
            // The first snapshot is due an interval after the first commit: by then the events
            // are processed (about a second), and it comes in a transaction of its own.
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", snapshotInterval: .seconds(3), faults: faults)
            try RuntimeFixture.waitUntil("every event scored", within: .seconds(60)) { instance.runtime.statistics.scored >= events.count }
            let processed = instance.runtime.statistics
            try RuntimeFixture.waitUntil("an idle snapshot", within: .seconds(20)) {
                let now = instance.runtime.statistics
                return now.transactionsCommitted > processed.transactionsCommitted && now.snapshotsWritten > processed.snapshotsWritten
            }
            #expect(instance.runtime.statistics.eventsIn == processed.eventsIn, "a transaction of its own, with no events")
            instance.stop()
            #expect(instance.failure == nil)
            #expect(faults.callCount(.commit) == faults.callCount(.sendOffsets),
                    "\(faults.callCount(.commit)) commits, \(faults.callCount(.sendOffsets)) of them with offsets")
        }
    }

    /// Finding 5 and back-pressure: transactional calls outside the commit — begin, a send that
    /// finds the producer's queue full, the offsets — fail once each, and a commit fails with a
    /// retriable error. Each failure goes through the cycle: the first three abort, rewind and
    /// go on (the full queue also pauses consumption for a while), the retriable one is retried
    /// without an abort. Every event ends up scored once with the features of a replay.
    @Test func everyTransactionalCallFailsThroughTheCycle() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("calls")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // Local delivery (opt-in): the transaction that consumes the source also sends its scores.
            topology.processing.localDelivery = true
            // Local delivery keeps key states in the changelog (events are chained by input offsets).
            topology.processing.changelog = .keyStates
            let source = topology.source.topics[0]
            let events = try RuntimeFixture.transactions(3000)
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            try RuntimeFixture.produce(events, to: source)
            let faults = FaultInjection()
            faults.fail(.begin, after: 1, with: FaultInjection.abortable)
            faults.fail(.send(topic: topology.outputs.alertsTopic), with: FaultInjection.queueFull)
            faults.fail(.send(topic: topology.outputs.scoresTopic), after: 1500, with: FaultInjection.queueFull)
            faults.fail(.sendOffsets, after: 3, with: FaultInjection.abortable)
            faults.fail(.commit, after: 2, with: FaultInjection.retriable)
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
            let layout = RowLayout(topology: topology)
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: Int64(events.count))
            instance.stop()
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")
            for call in [FaultInjection.Call.begin, .sendOffsets, .commit, .send(topic: topology.outputs.scoresTopic)] {
                #expect(faults.injectedCount(call) == 1, "\(call): \(faults.callCount(call)) calls")
            }
            let statistics = instance.runtime.statistics
            let aborts = 3 + faults.injectedCount(.send(topic: topology.outputs.alertsTopic))
            #expect(statistics.transactionsAborted == aborts, "begin, the sends and the offsets abort; a retried commit does not")
            #expect(instance.runtime.metrics.backPressurePauses.value >= 1, "a full queue pauses consumption")
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(10)) {
                Set($0.map(\.id)).count == events.count
            }
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "\(Set(scores.map(\.id)).count) of \(events.count) scored; \(statistics)")
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: try RuntimeFixture.replayFeatures(topology, events))
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features: a rollback left state behind")
            if !TestBroker.showsAbortedRecords { #expect(scores.count == events.count, "duplicates on a broker that hides aborted records") }
        }
    }

    /// Finding 2 and 4: a restore that fails (a read error, injected) never lets a batch of its
    /// partitions through from empty state: they stay paused and the restore is tried again.
    /// And a restore that is slow (every read takes 1.5 s) runs in steps between polls, so the
    /// instance keeps polling and stays in the group (max.poll.interval.ms 3 s), where a restore
    /// inside the rebalance callback would block the poll for the whole restore.
    @Test func aFailedOrSlowRestoreNeverLetsABatchThroughAndKeepsPolling() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("restore")
            let topology = try RuntimeFixture.topology(name: name, lateness: 0)
            let source = topology.source.topics[0]
            let events = try RuntimeFixture.transactions(4000)
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            let layout = RowLayout(topology: topology)
            try RuntimeFixture.produce(Array(events[..<2000]), to: source)
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: 2000)
            first.stop()

            // The next instance's first restore read fails; every read is slow.
            try RuntimeFixture.produce(Array(events[2000...]), to: source)
            let faults = FaultInjection()
            faults.fail(.read, with: FaultInjection.readFailure)
            faults.slow(.read, by: .milliseconds(1500))
            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "b", faults: faults) { options in
                options.maxPollInterval = .seconds(3)
            }
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: Int64(events.count), within: .seconds(90))
            faults.slow(.read, by: .zero)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(10)) {
                Set($0.map(\.id)).count == events.count
            }
            second.stop()
            #expect(second.failure == nil, "\(String(describing: second.failure))")
            #expect(faults.injectedCount(.read) == 1)
            #expect(second.runtime.metrics.restoreFailures.value == 1)
            // The slow restore took at least two reads of 1.5 s after the failed one (and the
            // failed one took 1.5 s too): done inside a rebalance callback it would have blocked
            // the poll past 3 s.
            #expect(faults.callCount(.read) >= 3, "\(faults.callCount(.read)) reads")
            #expect(second.runtime.metrics.rebalances.labels("lost").value == 0, "the member was dropped from the group")
            #expect(second.runtime.statistics.restoredRecords > 0)
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: try RuntimeFixture.replayFeatures(topology, events))
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored from a state that was not restored")
        }
    }

    /// Finding 3: internal topics get explicit configurations (changelogs and checkpoints
    /// compacted, repartition topics kept), every changelog record is keyed (so compaction can
    /// work), and a checkpoint that points where the changelog has no records is never taken
    /// for an empty state: the partition stays paused and /health says why. (Tansu answers a
    /// fetch past the end with nothing rather than OFFSET_OUT_OF_RANGE, and has no retention or
    /// DeleteRecords to remove records with; on Kafka the reader's auto.offset.reset=error turns
    /// a missing offset into a restore failure with the same effect.)
    @Test func internalTopicsAreConfiguredKeyedAndRestoresRefuseMissingRecords() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("topics")
            let topology = try RuntimeFixture.topology(name: name, lateness: 0)
            let plan = try TopicPlan(topology: topology)
            let source = topology.source.topics[0]
            let events = try RuntimeFixture.transactions(1000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 1)])
            try RuntimeFixture.produce(events, to: source)
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", snapshotInterval: .milliseconds(1))
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: Int64(events.count))
            first.stop()

            let configs = try admin.describeTopicConfigs(plan.changelogTopics + [plan.checkpointTopic, plan.segments[1].inputTopic])
            for topic in plan.changelogTopics + [plan.checkpointTopic] {
                #expect(configs[topic]?["cleanup.policy"] == "compact", "\(topic): \(configs[topic] ?? [:])")
            }
            #expect(configs[plan.segments[1].inputTopic]?["retention.ms"] == "-1")
            #expect(InternalTopics.problems(plan, partitions: 1, configs: configs).isEmpty)
            var unkeyed = 0
            var records = 0
            for topic in plan.changelogTopics {
                try PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger).read([TopicPartition(topic, 0): KafkaOffset.beginning]) { message in
                    records += 1
                    if message.key == nil { unkeyed += 1 }
                }
            }
            #expect(records > 0 && unkeyed == 0, "\(unkeyed) of \(records) changelog records have no key")
            #expect(first.runtime.statistics.snapshotsWritten > 0, "snapshot markers and applied offsets are among them")

            // A checkpoint pointing far past the changelog's end, for the committed state.
            let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] ?? 0
            let forged = Checkpoint(segment: 0, stateOffset: committed, changelogOffsets: [0: 1_000_000_000])
            try TestBroker.produce([ProducerRecord(topic: plan.checkpointTopic, partition: 0, key: Array("segment-0".utf8), value: forged.encoded)])
            let more = try RuntimeFixture.transactions(1100).suffix(100)
            try RuntimeFixture.produce(Array(more), to: source)
            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "b")
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(40)
            while second.runtime.metrics.health.unhealthyReason == nil, clock.now < deadline {
                Thread.sleep(forTimeInterval: 0.2)  // polling a condition, with a deadline
            }
            let reason = second.runtime.metrics.health.unhealthyReason ?? ""
            let afterScores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: RowLayout(topology: topology).featureNames, atLeast: .max, within: .seconds(2))
            second.stop()
            #expect(reason.contains("restoring") && reason.contains("\(plan.changelogTopics[0])/0"), "health: '\(reason)'")
            #expect(!afterScores.contains { more.map(\.id).contains($0.id) }, "no event of the partition is scored while its restore cannot complete")
            #expect(try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] == committed)
        }
    }

    /// Finding 6: state_ttl is enforced. With a one-day window and a two-day TTL, a customer
    /// idle for more than two days of event time is dropped: its state leaves memory and a
    /// tombstone goes to the changelog in the same transaction.
    @Test func idleKeysExpireAfterTheStateTTLWithATombstone() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("ttl")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // One stage only, with a one-day window: the loader's least TTL is one day.
            topology.stages = [topology.stages[0]]
            topology.stages[0].features = topology.stages[0].features.filter { $0.name.hasSuffix("1DAY_WINDOW") }
            topology.model = nil
            topology.drift = nil
            topology.processing.stateTTL = 2 * 86_400_000
            // The tombstone is a `key_states` record (with `events` an expiry is a removal in the
            // stage's events record: OperationLogTests).
            topology.processing.changelog = .keyStates
            let plan = try TopicPlan(topology: topology)
            let source = topology.source.topics[0]
            try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 1)])
            let lines = [
                ("1", "7", "1,2018-04-01 00:00:00,7,1,10.0,0"),
                ("2", "8", "2,2018-04-01 00:00:01,8,1,20.0,0"),
                ("3", "8", "3,2018-04-04 00:00:00,8,1,30.0,0"),
            ].map { (id: $0.0, customer: $0.1, line: $0.2) }
            try RuntimeFixture.produce(Array(lines[..<2]), to: source)
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: 2)
            // Both keys are held; then three days of event time pass (customer 8's next event).
            // A second later in wall time the next commit may expire (expiry runs at most once a second).
            Thread.sleep(forTimeInterval: 1.1)  // the expiry's own once-a-second pacing, not synchronisation
            try RuntimeFixture.produce([lines[2]], to: source)
            try RuntimeFixture.waitForCommitted(group: "vigil.\(name)", topic: source, partitions: 1, total: 3)
            instance.stop()
            #expect(instance.runtime.metrics.keysExpired.value == 1)
            var last: [String: Bool] = [:]
            try PartitionReader(kafka: RuntimeFixture.kafka, logger: RuntimeFixture.logger).read([TopicPartition(plan.changelogTopics[0], 0): KafkaOffset.beginning]) { message in
                guard let key = message.key, key.first != 0 else { return }
                last[String(decoding: key, as: UTF8.self)] = message.value != nil
            }
            #expect(last["7"] == false, "customer 7's last changelog record is a tombstone")
            #expect(last["8"] == true)
        }
    }

    /// Finding 7: an idle source partition written in transactions ends with a commit marker,
    /// which is never a record: judged by the offset after the last record it looked forever
    /// behind, and held every partition ahead of it in event time paused. Partition 1 gets a few
    /// old events in a transaction and goes idle; partition 0's later events must all be scored.
    @Test func anIdleTransactionalPartitionDoesNotHoldTheOthers() async throws {
        try await BlockingCall.run {
            let (_, topology, source) = try RuntimeFixture.freshTopology("align", lateness: 3_600_000, partitions: 2)
            let events = try RuntimeFixture.transactions(3000)
            var configuration = ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: RuntimeFixture.unique("writer"))
            configuration.linger = .zero
            let writer = try TransactionalProducer(configuration: configuration, logger: RuntimeFixture.logger)
            try writer.initTransactions()
            try writer.beginTransaction()
            for event in events[..<5] {
                try writer.send(ProducerRecord(topic: source, partition: 1, key: Array(event.customer.utf8), value: Array(event.line.utf8)))
            }
            try writer.commitTransaction()
            // Partition 0: events days later than partition 1's.
            let later = Array(events[2000...])
            let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
            for event in later { try producer.send(ProducerRecord(topic: source, partition: 0, key: Array(event.customer.utf8), value: Array(event.line.utf8))) }
            try producer.flush()
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(30)) {
                Set($0.map(\.id)).count == later.count + 5
            }
            instance.stop()
            #expect(Set(scores.map(\.id)) == Set(events[..<5].map(\.id) + later.map(\.id)), "\(Set(scores.map(\.id)).count) of \(later.count + 5) scored")
        }
    }

    /// Finding 8, restore side: a transaction left open in a changelog (a dead instance's, or a
    /// zombie's) ends a read_committed read at its start, below the high watermark, and what
    /// later owners commit behind it comes after. A restore waits for it to end — as KIP-447's
    /// stable offsets make a new owner wait on Kafka — instead of stopping there, which would
    /// lose every later committed record at the next restore. Tansu never times a transaction
    /// out, so the test ends it as the broker would, by initialising its transactional id again.
    @Test func aRestoreWaitsForATransactionLeftOpenInTheChangelog() async throws {
        try await BlockingCall.run {
            let (name, topology, source) = try RuntimeFixture.freshTopology("open", lateness: 86_400_000, partitions: 1)
            let plan = try TopicPlan(topology: topology)
            let group = "vigil.\(name)"
            let events = try RuntimeFixture.transactions(3000)
            let layout = RowLayout(topology: topology)
            /// Waits until the first `count` events are scored (through the repartition topic).
            func awaitScored(_ count: Int) throws -> [RuntimeFixture.ScoreRecord] {
                try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(60)) {
                    Set($0.map(\.id)).count >= count
                }
            }
            try RuntimeFixture.produce(Array(events[..<1000]), to: source)
            let first = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            _ = try awaitScored(1000)
            first.stop()

            // A transaction left open in the customer stage's changelog.
            var configuration = ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: RuntimeFixture.unique("dead"))
            configuration.linger = .zero
            let dead = try TransactionalProducer(configuration: configuration, logger: RuntimeFixture.logger)
            try dead.initTransactions()
            try dead.beginTransaction()
            try dead.send(ProducerRecord(topic: plan.changelogTopics[0], partition: 0, key: [0] + Array("open".utf8), value: nil))
            try dead.flush()

            // The next owner waits, says why, and scores nothing meanwhile.
            try RuntimeFixture.produce(Array(events[1000..<2000]), to: source)
            let second = try RuntimeFixture.RunningInstance(topology: topology, instance: "b")
            try RuntimeFixture.waitUntil("the restore's reason on /health", within: .seconds(30)) {
                second.runtime.metrics.health.unhealthyReason?.contains("is open at \(plan.changelogTopics[0])/0@") ?? false
            }
            #expect(try RuntimeFixture.committedOffsets(group: group, topic: source, partitions: 1)[0] == 1000, "nothing committed while the restore cannot be complete")
            #expect(second.runtime.statistics.scored == 0)

            // The transaction ends (Kafka: transaction.timeout.ms after its last call).
            _ = try TransactionalProducer(configuration: configuration, logger: RuntimeFixture.logger).initTransactions()
            _ = try awaitScored(2000)
            second.stop()

            // A third owner restores what the second committed behind the transaction.
            try RuntimeFixture.produce(Array(events[2000...]), to: source)
            let third = try RuntimeFixture.RunningInstance(topology: topology, instance: "c")
            let scores = try awaitScored(events.count)
            third.stop()
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let lastWave = Set(events[2000...].map(\.id))
            let mismatched = RuntimeFixture.mismatchedIDs(scores.filter { lastWave.contains($0.id) }, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events of the last wave scored with other features than a replay: \(RuntimeFixture.describeMismatches(scores, expected: expected))")
        }
    }

    /// A source partition that has never held a record has no position and no committed
    /// offset: it is caught up (its log starts where it ends), not the oldest partition with
    /// records waiting, which would hold every other partition of the instance forever.
    @Test func anEmptySourcePartitionDoesNotHoldTheOthers() async throws {
        try await BlockingCall.run {
            let (_, topology, source) = try RuntimeFixture.freshTopology("empty", lateness: 3_600_000, partitions: 3)
            let events = try RuntimeFixture.transactions(2000)
            let producer = try Producer(configuration: ProducerConfiguration(kafka: RuntimeFixture.kafka), logger: RuntimeFixture.logger)
            func produce(_ part: ArraySlice<(id: String, customer: String, line: String)>) throws {
                for event in part {
                    try producer.send(ProducerRecord(topic: source, partition: Int32(Int(event.customer)! % 2), key: Array(event.customer.utf8), value: Array(event.line.utf8)))
                }
                try producer.flush()
            }
            // Two waves, so that the second arrives after partitions 0 and 1 have event times.
            try produce(events[..<1000])
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(30)) {
                Set($0.map(\.id)).count == 1000
            }
            try produce(events[1000...])
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(30)) {
                Set($0.map(\.id)).count == events.count
            }
            instance.stop()
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "\(Set(scores.map(\.id)).count) of \(events.count) scored with partition 2 empty")
        }
    }

    /// Finding 8's settings: a dead instance's transaction blocks readers for at most 10 s, and
    /// instances join as static members where the broker supports it.
    @Test func transactionsTimeOutInTenSecondsAndMembersAreStatic() {
        let options = RuntimeOptions(kafka: RuntimeFixture.kafka, instanceID: "x")
        #expect(options.transactionTimeout == .seconds(10))
        #expect(options.staticMembership)
        var producer = ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: "t")
        producer.transactionTimeout = options.transactionTimeout
        #expect(producer.librdkafkaProperties().contains { $0 == ("transaction.timeout.ms", "10000") })
        var consumer = ConsumerConfiguration(kafka: RuntimeFixture.kafka, groupID: "g")
        consumer.groupInstanceID = "vigil.t.x"
        #expect(consumer.librdkafkaProperties().contains { $0 == ("group.instance.id", "vigil.t.x") })
    }
}
