import Foundation
import Testing
import VigilKafka
import VigilPipeline
@testable import VigilRuntime
import VigilTestSupport
import VigilTopology

/// The runtime against the real broker. Serialized: each test runs instances and group joins.
@Suite(.serialized)
struct StreamRuntimeTests {
    @Test func cardFraudRunEqualsReplayOnTheSameEvents() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("e2e")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            // Hourly drift windows, so that the 3000 events (about eight hours) close several.
            topology.drift?.windowLength = 3_600_000
            // Local delivery (opt-in) is part of what this run covers.
            topology.processing.localDelivery = true
            // Local delivery keeps key states in the changelog (events are chained by input offsets).
            topology.processing.changelog = .keyStates
            let events = try RuntimeFixture.transactions(3000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            // One source partition: the run sees the events in file order, as the replay does.
            try admin.createTopics([NewTopic(name: topology.source.topics[0], partitions: 1)])
            try RuntimeFixture.produce(Array(events[..<1000]), to: topology.source.topics[0])

            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let server = try MetricsServer(metrics: instance.runtime.metrics, address: ListenAddress(host: "127.0.0.1", port: 0))
            defer { server.stop() }
            let layout = RowLayout(topology: topology)
            // The first events go through the repartition topic, behind the barrier the instance
            // sends when it is assigned the source; once that is read, the rest are handed to the
            // terminal stage inside the instance.
            _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: 1000)
            try RuntimeFixture.produce(Array(events[1000...]), to: topology.source.topics[0])
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            let metrics = try HTTPTestClient.get("/metrics", port: server.address.port)
            instance.stop()
            // What /metrics says agrees with what came out.
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("vigil_events_out_total \(events.count)\n"), "\(metrics.body.prefix(2000))")
            // The bytes the byte budget counts, per stage, beside the keys held (their values are
            // refreshed at most once a second, so a run this short may show the restore's).
            for stage in topology.stages.map(\.name) {
                #expect(metrics.body.contains("vigil_state_budgeted_bytes{stage=\"\(stage)\"} "), "no budgeted bytes for \(stage)")
            }
            #expect(metrics.body.contains("vigil_state_keys{stage=\"customer\"}"))
            #expect(metrics.body.contains("vigil_commit_duration_seconds_count"))
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")

            let expected = try RuntimeFixture.replayFeatures(topology, events)
            #expect(scores.count == events.count)
            #expect(scores.allSatisfy { $0.features.count == layout.featureNames.count + 1 }, "every record carries a score")
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)))
            var mismatches = 0
            for record in scores {
                guard let reference = expected[record.id] else { mismatches += 1; continue }
                for (a, b) in zip(record.features, reference) where !(abs(a - b) <= 1e-9 || (a.isNaN && b.isNaN)) { mismatches += 1 }
            }
            #expect(mismatches == 0)
            #expect(instance.runtime.statistics.deadLettered == 0)
            let statistics = instance.runtime.statistics
            // Everything produced after the first 1000 were scored skipped the topic.
            #expect(statistics.deliveredLocally >= 2000 && statistics.forwarded >= 1 && statistics.deliveredLocally + statistics.forwarded == events.count,
                    "\(statistics.deliveredLocally) delivered locally, \(statistics.forwarded) through the topic")

            // Drift: the windows the run closed, record for record as a replay's monitor emits them.
            let expectedDrift = try RuntimeFixture.replayDriftLines(topology, events)
            #expect(expectedDrift.count >= 3, "the fixture spans several hourly windows")
            let drift = try RuntimeFixture.readValues(topology.outputs.driftTopic, count: expectedDrift.count)
            #expect(drift == expectedDrift)
        }
    }

    /// Stages keyed customer → terminal → customer again: two repartition hops, over two
    /// partitions, so that one source partition's events reach the last stage through both
    /// terminal partitions. Every event is scored once, with the features a replay computes.
    @Test func threeSegmentsOverTwoPartitionsScoreEveryEventOnce() async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("hops")
            let repository = RuntimeFixture.repository.appendingPathComponent("topologies")
            var yaml = try String(contentsOf: repository.appendingPathComponent("card-fraud.yaml"), encoding: .utf8)
            let third = """
              - name: customer_again
                key: CUSTOMER_ID
                features:
                  - { name: CUSTOMER_AGAIN_NB_TX_1DAY_WINDOW, kind: count, window: 1d, delay: 1d }
                  - { name: CUSTOMER_AGAIN_MAX_AMOUNT_7DAY_WINDOW, kind: max, field: TX_AMOUNT, window: 7d, delay: 1d }

            model:
            """
            yaml = yaml.replacingOccurrences(of: "\nmodel:\n", with: "\n" + third + "\n")
            // Two source partitions reach the later stages interleaved: allow them to be out of
            // order (the runtime keeps source partitions within half the lateness, 12 h, of each
            // other). The third stage's windows end a day before each event, so an event that
            // arrives there after a later one (through the other terminal partition) changes no
            // feature, and live features can equal a replay's.
            let topology = RuntimeFixture.renamed(
                try TopologyLoader.load(yaml: yaml, file: "three-segments.yaml", directory: repository.path), name: name, lateness: 86_400_000)
            #expect(try TopicPlan(topology: topology).segments.count == 3)

            let events = try RuntimeFixture.transactions(3000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: topology.source.topics[0], partitions: 2)])
            try RuntimeFixture.produce(events, to: topology.source.topics[0])
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a")
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count)
            instance.stop()
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")
            #expect(instance.runtime.statistics.deadLettered == 0)
            // Nothing is a copy unless a transaction aborted (none is injected here; a busy
            // broker can still time one out).
            let statistics = instance.runtime.statistics
            #expect(statistics.duplicatesSkipped == 0 || statistics.transactionsAborted > 0,
                    "\(statistics.duplicatesSkipped) copies skipped with \(statistics.transactionsAborted) transactions aborted, \(statistics.refetchedSkipped) records handed out again dropped")
            print("three segments: \(statistics.duplicatesSkipped) copies skipped, \(statistics.transactionsAborted) aborted, \(statistics.refetchedSkipped) refetched records dropped, \(statistics.rebalances) rebalances")
            #expect(scores.count == events.count)
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "every event scored once")
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            let differing = mismatched.prefix(3).map { id in
                let record = scores.first { $0.id == id }!
                return zip(layout.featureNames + ["score"], zip(record.features, expected[id] ?? [])).filter { $0.1.0 != $0.1.1 }.map { "\($0.0): \($0.1.0) vs \($0.1.1)" }
            }
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features, e.g. \(differing)")
        }
    }

    /// Two commits fail with an abortable error: each transaction is aborted, the state of the
    /// partitions it changed cleared and restored from the changelogs, the input rewound to the
    /// committed offsets and processed again. Through the repartition topic only, the failing
    /// transactions carry the first repartitioned events (which this broker shows although
    /// aborted) and the terminal stage's work on them; with local delivery, they are the first
    /// after the switch, whose terminal-stage state changes came from events handed over inside
    /// the instance.
    ///
    /// With `slowCommits`, every commit takes 1.5 s (a busy broker): longer than the local
    /// delivery coordinator waits for the repartition topic to catch up with its barriers, so
    /// events go both ways around the aborts. Without local delivery, the commits run in the
    /// background (``RuntimeOptions/overlapsCommit``): batches are processed behind the slow
    /// commits, and a failed one is aborted together with what ran behind it.
    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func anAbortedTransactionIsRolledBackAndDoneAgain(localDelivery: Bool, slowCommits: Bool) async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("abort")
            var topology = try RuntimeFixture.topology(name: name, lateness: 0)
            topology.processing.localDelivery = localDelivery
            // Local delivery keeps key states in the changelog (events are chained by input offsets).
            if localDelivery { topology.processing.changelog = .keyStates }
            // The commits in the background with card-fraud's changelog records.
            if slowCommits, !localDelivery { topology.processing.changelog = .events }
            let events = try RuntimeFixture.transactions(3000)
            let source = topology.source.topics[0]
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 1)])
            let layout = RowLayout(topology: topology)
            let instance: RuntimeFixture.RunningInstance
            let faults = FaultInjection()
            if slowCommits { faults.slow(.commit, by: .milliseconds(1500)) }
            if localDelivery {
                try RuntimeFixture.produce(Array(events[..<1000]), to: source)
                instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
                _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: 1000)
                faults.fail(.commit, count: 2, with: FaultInjection.abortable)
                try RuntimeFixture.produce(Array(events[1000...]), to: source)
            } else if slowCommits {
                // The input arrives while the slow commits run, so batches are processed behind
                // them. The two that fail are the third and fourth: by then the transactions
                // read the repartition topic too, and the terminal stage's applied marks (its
                // guard against copies) must go back with them, past the batches behind them.
                try RuntimeFixture.produce(Array(events[..<1000]), to: source)
                faults.fail(.commit, count: 2, after: 2, with: FaultInjection.abortable)
                instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
                // The rest arrives while the commits, the failing ones among them, run.
                let started = ContinuousClock.now + .seconds(60)
                while faults.callCount(.commit) == 0, ContinuousClock.now < started { Thread.sleep(forTimeInterval: 0.01) }
                #expect(faults.callCount(.commit) > 0, "no commit began within 60 s")
                for start in stride(from: 1000, to: events.count, by: 100) {
                    try RuntimeFixture.produce(Array(events[start..<min(start + 100, events.count)]), to: source)
                    Thread.sleep(forTimeInterval: 0.25)  // pacing the input over the commits, not waiting for a condition
                }
            } else {
                try RuntimeFixture.produce(events, to: source)
                faults.fail(.commit, count: 2, with: FaultInjection.abortable)
                instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
            }
            // Done when the group has committed the source to its end and the repartition topic
            // to its end (but a transaction marker). Polling for a condition, with a deadline.
            let repartition = try TopicPlan(topology: topology).segments[1].inputTopic
            let deadline = ContinuousClock.now + .seconds(120)
            var done = false
            while !done, ContinuousClock.now < deadline {
                let source = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] ?? -1
                let staged = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: repartition, partitions: 1)[0] ?? -1
                if source == Int64(events.count), staged > 0 {
                    done = try staged >= RuntimeFixture.endOffset(of: TopicPartition(repartition, 0)) - 1
                }
                if !done { Thread.sleep(forTimeInterval: 0.1) }
            }
            #expect(done, "the source and the repartition topic were not committed to their ends within 120 s")
            instance.stop()
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")
            let statistics = instance.runtime.statistics
            #expect(statistics.transactionsAborted == 2)
            // Each abort cleared the state of the partitions it changed and restored it from the
            // changelogs (no undo records are kept).
            #expect(statistics.restoredAfterAbort >= 2, "\(statistics.restoredAfterAbort) partitions restored after the aborts")
            // Nothing is dead-lettered: on this broker the terminal stage also reads the aborted
            // transactions' repartitioned events, and skips the copies done again after the rewind
            // (duplicatesSkipped) instead of refusing them as late.
            #expect(statistics.deadLettered == 0)
            print("abort test (local delivery \(localDelivery), slow commits \(slowCommits)): \(statistics.transactionsAborted) aborted, \(statistics.deliveredLocally) delivered locally, \(statistics.duplicatesSkipped) repartitioned copies skipped, \(statistics.batchesBehindCommit) batches behind a commit, \(statistics.rolledBackBehindCommit) rolled back behind a failed one, \(statistics.eventsRolledBack) events rolled back, \(statistics.restoredAfterAbort) partitions restored after them")

            #expect(localDelivery == (statistics.deliveredLocally > 0), "\(statistics.deliveredLocally) delivered locally")
            if slowCommits, !localDelivery {
                #expect(statistics.batchesBehindCommit > 0, "no batch ran behind a commit")
                #expect(statistics.rolledBackBehindCommit > 0, "no transaction behind a failed commit was rolled back with it")
            }
            faults.slow(.commit, by: .zero)

            // This broker shows aborted records to read_committed readers, so the topic holds the
            // aborted transactions' scores too — those sent before the abort (librdkafka drops
            // what it had not sent yet).
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: statistics.scored, within: .seconds(10))
            #expect(scores.count <= statistics.scored)
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "every event has a score")
            // Scores twice only for events of an aborted transaction that had reached the
            // terminal stage (how many did depends on timing).
            let duplicates = scores.count - events.count
            #expect(statistics.eventsRolledBack > 0)
            #expect(duplicates <= statistics.eventsRolledBack, "\(duplicates) duplicate scores, \(statistics.eventsRolledBack) events in the aborted transactions")
            if !TestBroker.showsAbortedRecords { #expect(duplicates == 0, "a broker that hides aborted records shows no duplicates") }
            // Every record, from an aborted transaction or from the one that did it again, carries
            // the features a replay computes: the restore after each abort gave the state back
            // exactly (a customer state left with an aborted batch in it would count those events
            // twice for every later event of the customer that day).
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features: \(RuntimeFixture.describeMismatches(scores, expected: expected))")
        }
    }

    /// Aborts that come faster than the snapshot interval (a flaky broker) do not put a
    /// partition's snapshots off: an abort's restore keeps its snapshot time (a finding of the
    /// review of the restore on abort, 2026-12-06; a restore that started the interval again
    /// left a partition unsnapshotted for as long as the aborts came). Events stream in; a send
    /// of scores fails again 0.5 s after the last abort once a commit has succeeded since, each
    /// abort restoring the terminal stage's partition (the one that sends the scores). The
    /// failing sends are during processing, so no restore passes over a changelog record of an
    /// aborted transaction (which on this broker has the partition snapshotted next anyway).
    /// Read from the instance's debug log: when that partition was restored and snapshotted.
    @Test func abortsFasterThanTheSnapshotIntervalDoNotPutSnapshotsOff() async throws {
        try await BlockingCall.run {
            let (_, topology, source) = try RuntimeFixture.freshTopology("abortsnap", lateness: 0, partitions: 1)
            let events = try RuntimeFixture.transactions(8000)
            try RuntimeFixture.produce(Array(events[..<200]), to: source)
            let faults = FaultInjection()
            let interval = 4.0
            let instanceName = "snap\(UUID().uuidString.prefix(6))"
            let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: instanceName, snapshotInterval: .seconds(interval), faults: faults, logFile: true)
            let log = RuntimeFixture.vigilLogs.value.last { $0.instance == instanceName }!.path
            try RuntimeFixture.waitUntil("the first commit", within: .seconds(60)) { instance.runtime.statistics.transactionsCommitted > 0 }
            let scoresTopic = topology.outputs.scoresTopic
            let repartition = try TopicPlan(topology: topology).segments[1].inputTopic
            // Seconds of the day of each log line that restores the terminal stage's partition
            // after an abort, and of the first commit that snapshots it.
            func timeline() -> (restores: [Double], snapshot: Double?) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                var restores: [Double] = []
                for line in text.split(separator: "\n") {
                    let clock = line.split(separator: "T").dropFirst().first?.prefix(12).split(separator: ":").compactMap { Double($0) } ?? []
                    guard clock.count == 3 else { continue }
                    let seconds = clock[0] * 3600 + clock[1] * 60 + clock[2]
                    if line.contains("whose state the aborted transaction changed"), line.contains("\(repartition)/0") { restores.append(seconds) }
                    if line.contains("committed "), let list = line.range(of: "snapshots ["), line[list.upperBound...].contains("segment 1 partition 0") { return (restores, seconds) }
                }
                return (restores, nil)
            }
            var produced = 200
            var lastFailure = ContinuousClock.now
            var committedAtFailure = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while timeline().snapshot == nil, ContinuousClock.now < deadline, produced < events.count {
                try RuntimeFixture.produce(Array(events[produced..<(produced + 50)]), to: source)
                produced += 50
                let now = instance.runtime.statistics
                if ContinuousClock.now - lastFailure >= .milliseconds(500), now.transactionsAborted == faults.injectedCount(.send(topic: scoresTopic)),
                   now.transactionsCommitted > committedAtFailure {
                    faults.fail(.send(topic: scoresTopic), with: FaultInjection.abortable)
                    lastFailure = ContinuousClock.now
                    committedAtFailure = now.transactionsCommitted
                }
                Thread.sleep(forTimeInterval: 0.05)  // pacing the input, not waiting for a condition
            }
            let (restores, snapshot) = timeline()
            print("aborts and snapshots: the terminal stage's partition restored after aborts at \(restores), snapshotted at \(snapshot.map { "\($0)" } ?? "-") (seconds of the day)")
            #expect(snapshot != nil, "the terminal stage's partition not snapshotted within 30 s of aborts every 0.5–2 s, against an interval of \(interval) s")
            if let snapshot {
                let before = restores.filter { $0 < snapshot }
                #expect(before.count >= 2, "\(before.count) restores after aborts before the snapshot: too few to tell")
                // Had each restore started the interval again, the snapshot would have needed an
                // interval without an abort.
                #expect(before.last.map { snapshot - $0 < interval } ?? false, "the snapshot came \(before.last.map { snapshot - $0 } ?? -1) s after the last restore")
            }
            // The rest arrives without faults; every event is scored with a replay's features.
            try RuntimeFixture.produce(Array(events[produced...]), to: source)
            let layout = RowLayout(topology: topology)
            let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(60)) {
                Set($0.map(\.id)).count == events.count
            }
            instance.stop()
            #expect(instance.failure == nil, "\(String(describing: instance.failure))")
            #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "every event has a score")
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: try RuntimeFixture.replayFeatures(topology, events))
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features")
        }
    }

    /// A commit fails and its abort then fails for good (four retriable failures: the test
    /// broker, restarted during a commit, refused every epoch bump librdkafka asked for): the
    /// runtime does not stop; it replaces its producer with a new one of the same transactional
    /// id and restores its partitions from the committed offsets and changelogs, and every
    /// event ends up scored with the features a replay computes.
    @Test func anAbortThatFailsForGoodReplacesTheProducer() async throws {
        try await BlockingCall.run {
            let run = try Self.runWithAReplacedProducer("replace") { faults, _ in
                faults.fail(.commit, count: 1, with: FaultInjection.abortable)
            }
            #expect(run.faults.injectedCount(.commit) == 1)
            #expect(run.statistics.transactionsAborted == 1)
            // On this broker the failed transaction's scores may be visible (it was never
            // aborted; the new producer's initialisation ended it): duplicates only from it.
            #expect(run.duplicates <= run.statistics.eventsRolledBack, "\(run.duplicates) duplicate scores, \(run.statistics.eventsRolledBack) events in the failed transaction")
            if !TestBroker.showsAbortedRecords { #expect(run.duplicates == 0) }
        }
    }

    /// A commit that went through but whose answer was lost (the client reports a failure), and
    /// whose abort is then refused (librdkafka refuses an abort while the commit call is in
    /// progress): after the replacement the runtime reads the group's offsets, finds the
    /// transaction committed, and keeps it — no abort counted, nothing rolled back (its drift
    /// statistics stay), nothing scored twice, on any broker.
    @Test func aCommitWhoseAnswerWasLostIsKeptAfterTheReplacement() async throws {
        try await BlockingCall.run {
            let run = try Self.runWithAReplacedProducer("lost-answer") { faults, topology in
                // A transaction that scores (and feeds the drift monitor), not only one that forwards.
                faults.loseCommitAnswer(ofTransactionWriting: topology.outputs.scoresTopic, with: FaultInjection.abortable)
            }
            #expect(run.faults.injectedCount(.commitAnswer) == 1)
            #expect(run.statistics.transactionsAborted == 0, "the transaction committed: it is not counted as aborted")
            #expect(run.statistics.eventsRolledBack == 0)
            #expect(run.duplicates == 0, "\(run.duplicates) events scored twice: the restore must start behind the committed transaction")
            // The drift monitor kept the committed transaction's events: the windows it closed
            // afterwards count them, record for record as a replay's monitor does.
            let expectedDrift = try RuntimeFixture.replayDriftLines(run.topology, run.events)
            #expect(expectedDrift.count >= 3, "the fixture spans several hourly windows")
            let drift = try RuntimeFixture.readValues(run.topology.outputs.driftTopic, count: expectedDrift.count)
            #expect(drift == expectedDrift)
        }
    }

    /// What ``runWithAReplacedProducer(_:inject:)`` saw.
    struct ReplacementRun {
        var topology: Topology
        var events: [(id: String, customer: String, line: String)]
        var faults: FaultInjection
        var statistics: RuntimeStatistics
        var duplicates: Int
    }

    /// Runs an instance over 3,000 events; after the first 1,000 are scored, `inject` sets a
    /// failure of the next commit, the abort then fails four times (the producer is replaced)
    /// and the replacement's initialisation times out once (it is tried again); the last 1,000
    /// come after the replacement. Checks that the
    /// instance goes on, restores, and scores every event with a replay's features.
    static func runWithAReplacedProducer(_ prefix: String, inject: (FaultInjection, Topology) -> Void) throws -> ReplacementRun {
        let name = RuntimeFixture.unique(prefix)
        var topology = try RuntimeFixture.topology(name: name, lateness: 0)
        // Hourly drift windows, so that the 3000 events (about eight hours) close several.
        topology.drift?.windowLength = 3_600_000
        let events = try RuntimeFixture.transactions(3000)
        let source = topology.source.topics[0]
        let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
        try admin.createTopics([NewTopic(name: source, partitions: 1)])
        let layout = RowLayout(topology: topology)
        let faults = FaultInjection()
        try RuntimeFixture.produce(Array(events[..<1000]), to: source)
        let instance = try RuntimeFixture.RunningInstance(topology: topology, instance: "a", faults: faults)
        _ = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: 1000)
        let restoredBefore = instance.runtime.statistics.restoredRecords
        inject(faults, topology)
        faults.fail(.abort, count: 4, with: FaultInjection.retriable)
        faults.fail(.initialise, count: 1, with: FaultInjection.retriable)
        try RuntimeFixture.produce(Array(events[1000..<2000]), to: source)
        // The rest once the producer is replaced: windows the failed transaction's events fall
        // in close after it, so the drift records show whether the monitor kept or dropped them.
        let replaced = ContinuousClock.now + .seconds(60)
        while faults.callCount(.initialise) < 3, ContinuousClock.now < replaced, instance.failure == nil {
            Thread.sleep(forTimeInterval: 0.05)  // polling a condition, with a deadline
        }
        try RuntimeFixture.produce(Array(events[2000...]), to: source)

        let repartition = try TopicPlan(topology: topology).segments[1].inputTopic
        let deadline = ContinuousClock.now + .seconds(120)
        var done = false
        while !done, ContinuousClock.now < deadline, instance.failure == nil {
            let source = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 1)[0] ?? -1
            let staged = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: repartition, partitions: 1)[0] ?? -1
            if source == Int64(events.count), staged > 0 {
                done = try staged >= RuntimeFixture.endOffset(of: TopicPartition(repartition, 0)) - 1
            }
            if !done { Thread.sleep(forTimeInterval: 0.1) }  // polling a condition, with a deadline
        }
        #expect(done, "the source and the repartition topic were not committed to their ends within 120 s: \(String(describing: instance.failure))")
        instance.stop()
        #expect(instance.failure == nil, "the runtime stopped instead of replacing its producer: \(String(describing: instance.failure))")
        #expect(faults.injectedCount(.abort) == 4, "the abort is tried four times (three retries) before the producer is replaced")
        #expect(faults.injectedCount(.initialise) == 1)
        #expect(faults.callCount(.initialise) == 3, "the start's, the replacement's that timed out, and its retry")
        #expect(faults.callCount(.close) == 1, "the replaced producer is closed once (not again when its replacement's initialisation is retried)")
        let statistics = instance.runtime.statistics
        #expect(statistics.restoredRecords > restoredBefore, "the partitions are restored from the changelogs after the replacement")

        let scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: events.count, within: .seconds(10))
        #expect(Set(scores.map(\.id)) == Set(events.map(\.id)), "every event has a score")
        let expected = try RuntimeFixture.replayFeatures(topology, events)
        let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
        #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features: \(RuntimeFixture.describeMismatches(scores, expected: expected))")
        return ReplacementRun(topology: topology, events: events, faults: faults, statistics: statistics, duplicates: scores.count - events.count)
    }
}
