import Foundation
import Testing
import VigilKafka
import VigilPipeline
import VigilRuntime
import VigilTopology

/// kill -9 at random moments under a steady stream, then check that nothing was lost, that the
/// restored state is right, and that duplicates stay within the transactions open at the kills.
@Suite(.serialized)
struct CrashLoopTests {
    /// With either changelog (`processing.changelog`): whole key states, or the events replayed.
    @Test(arguments: ChangelogRecords.allCases)
    func killNineAtRandomMomentsLosesNothing(changelog: ChangelogRecords) async throws {
        try await BlockingCall.run {
            let name = RuntimeFixture.unique("crash")
            let file = try RuntimeFixture.topologyFile(name: name, lateness: "7d", changelog: changelog)
            let topology = try TopologyLoader.load(path: file)
            let source = topology.source.topics[0]
            let events = try RuntimeFixture.transactions(12_000)
            let admin = try Admin(configuration: RuntimeFixture.kafka, logger: RuntimeFixture.logger)
            try admin.createTopics([NewTopic(name: source, partitions: 2)])
            let maxTransactionEvents = 1000

            // A steady stream: 60 events every 100 ms (about 20 s), on a thread of its own.
            let producing = DispatchSemaphore(value: 0)
            let producerFailure = LockedBox<(any Error)?>(nil)
            Thread {
                do {
                    for chunk in stride(from: 0, to: events.count, by: 60) {
                        try RuntimeFixture.produce(Array(events[chunk..<min(chunk + 60, events.count)]), to: source)
                        Thread.sleep(forTimeInterval: 0.1)  // pacing of the input, not synchronisation
                    }
                } catch { producerFailure.value = error }
                producing.signal()
            }.start()

            let started = RuntimeFixture.StartedInstances()
            defer { started.end() }
            var generator = SystemRandomNumberGenerator()
            let kills = 5
            var committedAtKills: [Int64] = []
            for round in 0..<kills {
                let process = try started.startVigil(
                    topologyFile: file, instance: "crash", extra: ["--snapshot-interval", "1", "--max-transaction-events", "\(maxTransactionEvents)"])
                if round == 0 {
                    // The first kill lands while the instance joins the group and restores.
                    Thread.sleep(forTimeInterval: Double.random(in: 0.5...2.0, using: &generator))
                } else {
                    // The others land at a random moment once the instance has committed
                    // something of its own: mid-batch, mid-commit or mid-snapshot.
                    let before = committedAtKills.last ?? 0
                    let clock = ContinuousClock()
                    let end = clock.now + .seconds(90)
                    while clock.now < end {
                        let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 2)
                        if committed.values.reduce(0, { $0 + max($1, 0) }) > before { break }
                        Thread.sleep(forTimeInterval: 0.05)  // polling a condition, with a deadline
                    }
                    Thread.sleep(forTimeInterval: Double.random(in: 0...1.5, using: &generator))
                }
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                #expect(process.terminationReason == .uncaughtSignal)
                let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 2)
                committedAtKills.append(committed.values.reduce(0) { $0 + max($1, 0) })
            }
            // The kills must have hit a running instance with state behind it, or nothing was restored.
            #expect(committedAtKills.filter { $0 > 0 && $0 < Int64(events.count) }.count >= 3, "committed at the kills: \(committedAtKills)")
            producing.wait()
            #expect(producerFailure.value == nil)

            // A final instance finishes the stream and stops cleanly.
            let final = try started.startVigil(topologyFile: file, instance: "crash", extra: ["--max-transaction-events", "\(maxTransactionEvents)"])
            let layout = RowLayout(topology: topology)
            let ids = Set(events.map(\.id))
            var scores: [RuntimeFixture.ScoreRecord] = []
            let clock = ContinuousClock()
            let end = clock.now + .seconds(120)
            while clock.now < end {
                scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(2))
                if Set(scores.map(\.id)).isSuperset(of: ids) { break }
            }
            kill(final.processIdentifier, SIGTERM)
            final.waitUntilExit()
            #expect(final.terminationStatus == 0)

            // Everything consumed is committed, and every input has a score.
            let committed = try RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 2)
            #expect((committed[0] ?? 0) + (committed[1] ?? 0) == Int64(events.count))
            let scored = Set(scores.map(\.id))
            #expect(scored.isSuperset(of: ids), "\(ids.subtracting(scored).count) events have no score")

            // The restored state is right: every score, before and after each kill, carries the
            // features a replay of the same events computes.
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features, e.g. \(mismatched.prefix(3))")

            // Duplicates come only from transactions open at a kill (this broker shows aborted
            // records to read_committed readers): at most one transaction's events per kill.
            let duplicates = scores.count - scored.count
            #expect(duplicates <= kills * maxTransactionEvents, "\(duplicates) duplicate scores")
            // Every event crossed the repartition topic (local delivery is off by default), so the
            // kills hit both transactions of an event: the one that forwards it and the one that
            // scores it.
            let repartition = try TopicPlan(topology: topology).segments[1].inputTopic
            let repartitioned = try (0..<2).map { try RuntimeFixture.endOffset(of: TopicPartition(repartition, Int32($0))) }.reduce(0, +)
            #expect(repartitioned >= Int64(events.count), "\(repartitioned) records in the repartition topic for \(events.count) events")
            print("crash loop: \(events.count) events, \(scores.count) score records, \(duplicates) duplicates after \(kills) kills; committed at the kills: \(committedAtKills); \(repartitioned) records in the repartition topic")
        }
    }
}

/// A value shared with a thread.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    /// Changes the value under the lock (a read-modify-write through `value` is not atomic).
    func withValue<Result>(_ body: (inout Value) -> Result) -> Result { lock.withLock { body(&stored) } }
}
