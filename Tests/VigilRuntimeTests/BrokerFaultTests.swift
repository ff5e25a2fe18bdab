import Foundation
import Testing
import VigilKafka
import VigilPipeline
import VigilRuntime
import VigilTestSupport
import VigilTopology

/// Faults of the world around `vigil run`, black-box (the service as a process): the broker
/// restarted mid-stream on persistent storage (Tansu on S3 storage, a loopback moto server),
/// and a broker that is not there yet when the service starts.
@Suite(.serialized)
struct BrokerFaultTests {
    /// Three broker restarts under a steady stream, with commits every 20 ms (a restart then
    /// lands inside an open transaction, most often inside a commit): the service stays up,
    /// does not spin, resumes, and in the end every event has a score with the features a
    /// replay computes, checked by each score's provenance (source partition and offset).
    /// Duplicates may come only from transactions open at a restart (this broker shows aborted
    /// records to read_committed readers): at most one transaction's events per restart.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VIGIL_TEST_BROKER_RESTARTS"] == "1", """
        off by default (set VIGIL_TEST_BROKER_RESTARTS=1; VIGIL_TEST_RESTART_LOG_LEVEL=debug for the service's \
        debug log, written to a file the test names): 1-4 minutes, and not steady on the test broker's S3 storage, \
        whose high watermark lags the log (measured 2026-12-05: 7 after 26 one-record batches; 1,082 for a \
        changelog partition holding records up to 1,251), so a restore there never reaches a partition's end and \
        waits for good (2 of 10 runs with a 2 s session timeout, where a restart cost the group its member). With a \
        30 s session timeout (a restart keeps the member): 4 of 6 runs scored every event once; in the other two \
        the consumer got no records for minutes (once from its first fetch, before any restart: librdkafka's fetch \
        debugging shows the source partitions fetched at offset 0 every 170 ms for 8 minutes, while a new consumer \
        read 1,012 records from offset 0 of the same partition; not diagnosed, seen only on this storage). \
        The abort the broker refused after a restart during a commit (another 1 of 10) no longer stops vigil run: \
        it replaces its producer (StreamRuntimeTests.anAbortThatFailsForGoodReplacesTheProducer).
        """))
    func brokerRestartsMidStreamLoseNothing() async throws {
        try await BlockingCall.run {
            try LocalServices.script("moto", ["start", String(LocalServices.restartStoragePort)])
            defer { LocalServices.stopStorage(port: LocalServices.restartStoragePort) }
            let storage = try LocalServices.storageEnvironment(port: LocalServices.restartStoragePort)
            let port = LocalServices.restartPort
            try LocalServices.script("broker", ["start", String(port)], environment: storage)
            defer { LocalServices.stopBroker(port: port) }
            let kafka = LocalServices.kafka(port: port)

            let name = RuntimeFixture.unique("restart")
            let file = try RuntimeFixture.topologyFile(name: name, lateness: "7d")
            let topology = try TopologyLoader.load(path: file)
            let source = topology.source.topics[0]
            try Admin(configuration: kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: source, partitions: 2)])
            let events = try RuntimeFixture.transactions(3000)
            let maxTransactionEvents = 500

            // A steady stream: 10 events every 100 ms (about 30 s, longer than three restarts take
            // here, so that each lands mid-stream), on a thread of its own; the
            // producer retries through the restarts.
            let producing = DispatchSemaphore(value: 0)
            let producerFailure = LockedBox<(any Error)?>(nil)
            Thread {
                do {
                    for chunk in stride(from: 0, to: events.count, by: 10) {
                        try RuntimeFixture.produce(Array(events[chunk..<min(chunk + 10, events.count)]), to: source, kafka: kafka)
                        Thread.sleep(forTimeInterval: 0.1)  // pacing of the input, not synchronisation
                    }
                } catch { producerFailure.value = error }
                producing.signal()
            }.start()

            let vigil = try VigilProcess([
                "run", "--topology", file, "--bootstrap", kafka.bootstrapServers, "--instance-id", "restart", "--session-timeout", "30",
                "--metrics-address", "127.0.0.1:0", "--commit-interval", "20ms", "--max-transaction-events", "\(maxTransactionEvents)",
                "--log-level", Self.logLevel,
            ] + (ProcessInfo.processInfo.environment["VIGIL_TEST_RESTART_DEBUG"].map { ["--property", "debug=\($0)"] } ?? []))
            defer { vigil.stop() }
            let restarts = 3
            var committedAtRestarts: [Int64] = []
            for _ in 0..<restarts {
                // Once the service has committed something since the last restart.
                let before = committedAtRestarts.last ?? 0
                let end = ContinuousClock.now + .seconds(120)
                var committed: Int64 = 0
                while ContinuousClock.now < end {
                    committed = (try? RuntimeFixture.committedOffsets(group: "vigil.\(name)", topic: source, partitions: 2, kafka: kafka))?
                        .values.reduce(0) { $0 + max($1, 0) } ?? 0
                    if committed > before { break }
                    Thread.sleep(forTimeInterval: 0.05)  // polling a condition, with a deadline
                }
                #expect(committed > before, "no commit since the last restart: \(vigil.errors.suffix(2000))")
                committedAtRestarts.append(committed)
                try LocalServices.script("broker", ["stop", String(port)])
                try LocalServices.script("broker", ["start", String(port)], environment: storage)
                #expect(vigil.process.isRunning, "vigil run exited at a broker restart: \(vigil.errors.suffix(3000))")
            }
            producing.wait()
            #expect(producerFailure.value == nil, "\(String(describing: producerFailure.value))")

            let layout = RowLayout(topology: topology)
            var scores: [RuntimeFixture.ScoreRecord] = []
            let ids = Set(events.map(\.id))
            let end = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < end, vigil.process.isRunning {
                scores = try RuntimeFixture.readScores(topology.outputs.scoresTopic, featureNames: layout.featureNames, atLeast: .max, within: .seconds(2), kafka: kafka)
                if Set(scores.map(\.id)).isSuperset(of: ids) { break }
            }
            #expect(vigil.process.isRunning, "vigil run stopped: \(vigil.errors.suffix(3000))")
            #expect(vigil.stop() == 0, "\(vigil.errors.suffix(3000))")
            let output = vigil.errors
            let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(name).log").path
            try output.write(toFile: logFile, atomically: true, encoding: .utf8)
            print("broker restarts: vigil run's log (\(Self.logLevel)) in \(logFile)")

            // Nothing lost: every source offset has a score, by provenance.
            let produced = try (0..<2).map { try RuntimeFixture.endOffset(of: TopicPartition(source, Int32($0)), kafka: kafka) }
            var expectedSources = Set<String>()
            for partition in 0..<2 { for offset in 0..<produced[partition] { expectedSources.insert("\(partition)@\(offset)") } }
            let scoredSources = scores.compactMap { $0.source.map { "\($0.partition)@\($0.offset)" } }
            let missing = expectedSources.subtracting(scoredSources)
            #expect(missing.isEmpty, "\(missing.count) source records have no score, e.g. \(missing.sorted().prefix(5)); vigil run's log: \(output.suffix(4000))")
            #expect(Set(scores.map(\.id)) == ids)
            // Scored twice only by transactions open at a restart.
            let duplicates = scoredSources.count - Set(scoredSources).count
            #expect(duplicates <= restarts * maxTransactionEvents, "\(duplicates) duplicate scores")
            // The state survived: every score carries the features a replay of the events computes.
            let expected = try RuntimeFixture.replayFeatures(topology, events)
            let mismatched = RuntimeFixture.mismatchedIDs(scores, expected: expected)
            #expect(mismatched.isEmpty, "\(mismatched.count) events scored with wrong features: \(RuntimeFixture.describeMismatches(scores, expected: expected)); vigil run's log: \(output.suffix(3000))")
            // A clear log, not a flood: a few lines per restart.
            let lines = output.split(separator: "\n")
            #expect(Self.logLevel != "warning" || lines.count < 200 * restarts, "\(lines.count) log lines for \(restarts) restarts: \(lines.suffix(20).joined(separator: "\n"))")
            print("broker restarts: \(events.count) events, \(scores.count) score records, \(duplicates) duplicates, committed at the restarts \(committedAtRestarts), \(lines.count) log lines")
        }
    }
    /// The service's log level in the restart test: warning (its log is then checked for a
    /// flood), or what `VIGIL_TEST_RESTART_LOG_LEVEL` says when a failure needs its debug log
    /// (with `VIGIL_TEST_RESTART_DEBUG=fetch,consumer`, librdkafka's debugging contexts too).
    static var logLevel: String { ProcessInfo.processInfo.environment["VIGIL_TEST_RESTART_LOG_LEVEL"] ?? "warning" }

    /// `vigil run` started before its broker: it waits and retries with backoff, logging the
    /// wait a few times rather than on every retry, `/health` says it is not ready (503 with
    /// the reason) while it waits, and processing starts once the broker appears.
    @Test
    func aBrokerThatIsNotThereYetIsWaitedFor() async throws {
        try await BlockingCall.run {
            let port = LocalServices.latePort
            LocalServices.stopBroker(port: port)
            let name = RuntimeFixture.unique("late")
            let file = try RuntimeFixture.topologyFile(name: name, lateness: "7d")
            let vigil = try VigilProcess([
                "run", "--topology", file, "--bootstrap", "127.0.0.1:\(port)", "--instance-id", "late", "--session-timeout", "2",
                "--metrics-address", "127.0.0.1:0", "--log-level", "info",
            ])
            defer { vigil.stop() }
            #expect(vigil.waitForOutput(containing: "metrics on http://", within: .seconds(30)))
            let metricsPort = try #require(vigil.errors.split(separator: "\n").lazy.compactMap { line -> UInt16? in
                guard let range = line.range(of: "metrics on http://127.0.0.1:") else { return nil }
                return UInt16(line[range.upperBound...].prefix { $0.isNumber })
            }.first)

            // Not ready while the broker is missing, with the reason; still running after 20 s.
            let waitEnd = ContinuousClock.now + .seconds(20)
            var sawNotReady = false
            while ContinuousClock.now < waitEnd, vigil.process.isRunning {
                if let health = try? HTTPTestClient.get("/health", port: metricsPort), health.status == 503 { sawNotReady = true }
                Thread.sleep(forTimeInterval: 0.5)  // polling a condition over a fixed window
            }
            #expect(vigil.process.isRunning, "vigil run gave up: \(vigil.errors.suffix(2000))")
            #expect(sawNotReady, "/health should answer 503 while the broker is missing")
            // A few lines about the wait, not one per retry.
            let waitingLines = vigil.errors.split(separator: "\n").filter { $0.contains("127.0.0.1:\(port)") }
            #expect(waitingLines.count <= 10, "\(waitingLines.count) lines in 20 s: \(waitingLines.prefix(5))")

            // The broker appears; the service starts processing.
            try LocalServices.script("broker", ["start", String(port)])
            defer { LocalServices.stopBroker(port: port) }
            let kafka = LocalServices.kafka(port: port)
            try Admin(configuration: kafka, logger: RuntimeFixture.logger).createTopics([NewTopic(name: "\(name).transactions", partitions: 1)])
            let events = try RuntimeFixture.transactions(100)
            try RuntimeFixture.produce(events, to: "\(name).transactions", kafka: kafka)
            let ids = try SecureBrokerTests.readIDs(kafka: kafka, topic: "\(name).scores", count: events.count)
            #expect(Set(ids) == Set(events.map(\.id)))
            #expect(try HTTPTestClient.get("/health", port: metricsPort).status == 200)
            #expect(vigil.stop() == 0)
        }
    }
}
