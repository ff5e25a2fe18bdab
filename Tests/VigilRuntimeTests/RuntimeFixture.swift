import Foundation
import Logging
import VigilCodec
import VigilKafka
import VigilModels
import VigilPipeline
import VigilRuntime
import VigilTestSupport
import VigilTopology

/// What the runtime tests share: the broker, the card-fraud topology renamed per test, the
/// first transactions of the handbook data as source records, and a replay of them.
enum RuntimeFixture {
    static var bootstrap: String { TestBroker.bootstrap }
    static var kafka: KafkaConfiguration { TestBroker.kafka }
    static let repository = URL(fileURLWithPath: RepositoryFiles.root)
    static var transactionsPath: String { RepositoryFiles.handbookTransactions }

    static let logger: Logger = {
        var logger = Logger(label: "vigil.runtime-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        return logger
    }()

    static func unique(_ prefix: String) -> String { TestBroker.unique(prefix) }

    /// The card-fraud topology under a fresh name and source topic, writing features with scores.
    static func topology(name: String, lateness: Int64 = 86_400_000) throws -> Topology {
        try renamed(TopologyLoader.load(path: repository.appendingPathComponent("topologies/card-fraud.yaml").path), name: name, lateness: lateness)
    }

    /// Waits for `condition`, polling, for at most `deadline`; throws naming `what` after it.
    static func waitUntil(_ what: String = "the condition", within deadline: Duration = .seconds(60), _ condition: () -> Bool) throws {
        let end = ContinuousClock.now + deadline
        while !condition() {
            guard ContinuousClock.now < end else { throw FixtureError("no \(what) within \(deadline)") }
            Thread.sleep(forTimeInterval: 0.05)  // polling a condition, with a deadline
        }
    }

    /// The card-fraud topology under a fresh name, with its source topic created with
    /// `partitions` partitions: what most runtime tests start from.
    static func freshTopology(_ prefix: String, lateness: Int64, partitions: Int32) throws -> (name: String, topology: Topology, source: String) {
        let name = unique(prefix)
        let topology = try self.topology(name: name, lateness: lateness)
        let source = topology.source.topics[0]
        try Admin(configuration: kafka, logger: logger).createTopics([NewTopic(name: source, partitions: partitions)])
        return (name, topology, source)
    }

    /// `topology` under a fresh name (its own topics), with features in the score records.
    static func renamed(_ original: Topology, name: String, lateness: Int64) -> Topology {
        var topology = original.renamed(name, sourceTopics: ["\(name).transactions"])
        topology.outputs.includeFeatures = true
        topology.processing.allowedLateness = lateness
        return topology
    }

    /// The first `count` handbook transactions as CSV lines in the topology's field order, with
    /// their customer id (the source key).
    static func transactions(_ count: Int) throws -> [(id: String, customer: String, line: String)] {
        guard FileManager.default.fileExists(atPath: transactionsPath) else {
            throw FixtureError("the handbook data is missing at \(transactionsPath)")
        }
        let reader = CSVReader(source: LZ4FrameReader(source: try FileByteReader(path: transactionsPath)))
        guard try reader.next() else { throw FixtureError("empty transactions file") }
        let header = reader.strings()
        let columns = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"].map { header.firstIndex(of: $0)! }
        var result: [(String, String, String)] = []
        while result.count < count, try reader.next() {
            let fields = columns.map { reader.string($0) }
            result.append((fields[0], fields[2], fields.joined(separator: ",")))
        }
        return result
    }

    /// Produces the lines to the source topic, keyed by customer.
    static func produce(_ events: [(id: String, customer: String, line: String)], to topic: String, kafka: KafkaConfiguration = RuntimeFixture.kafka) throws {
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        for event in events {
            try producer.send(ProducerRecord(topic: topic, key: Array(event.customer.utf8), value: Array(event.line.utf8)))
        }
        try producer.flush()
    }

    /// The topology's model as a kernel.
    static func kernel(_ topology: Topology) throws -> (any ScoringKernel)? {
        guard let path = topology.resolvedModelPath else { return nil }
        return try ModelLoader.load(path: path)
    }

    /// The features and score a replay of the same lines computes, by transaction id (the score last).
    static func replayFeatures(_ topology: Topology, _ events: [(id: String, customer: String, line: String)]) throws -> [String: [Double]] {
        let pipeline = try Pipeline(topology: topology, kernel: try kernel(topology), recordsUndo: false)
        let decoder = pipeline.makeDecoder()
        let binding = try decoder.bind(header: topology.source.fields.map(\.name), file: "fixture")
        let text = Array(events.map(\.line).joined(separator: "\n").utf8)
        let reader = CSVReader(source: MemoryByteSource(text))
        var batch = pipeline.makeBatch(capacity: events.count)
        var line = 0
        while try reader.next() {
            if let rejection = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: 0, offset: Int64(line)), to: &batch) {
                throw FixtureError("fixture line \(line) does not decode: \(rejection)")
            }
            line += 1
        }
        let output = pipeline.process(&batch)
        var features: [String: [Double]] = [:]
        for index in 0..<batch.count {
            features[batch.ids(of: index).joined(separator: ",")] = Array(batch.features(of: index)) + (output.scores.isEmpty ? [] : [output.scores[index]])
        }
        return features
    }

    /// The drift lines (records, then their alerts) a replay's monitor emits for windows the
    /// events close, without the final flush (a live run never flushes a window still open).
    static func replayDriftLines(_ topology: Topology, _ events: [(id: String, customer: String, line: String)]) throws -> [String] {
        guard var monitor = try PipelineDriftMonitor.load(topology: topology) else { return [] }
        let pipeline = try Pipeline(topology: topology, kernel: try kernel(topology), recordsUndo: false)
        let decoder = pipeline.makeDecoder()
        let binding = try decoder.bind(header: topology.source.fields.map(\.name), file: "fixture")
        let reader = CSVReader(source: MemoryByteSource(Array(events.map(\.line).joined(separator: "\n").utf8)))
        var batch = pipeline.makeBatch(capacity: events.count)
        while try reader.next() {
            _ = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: 0, offset: 0), to: &batch)
        }
        let output = pipeline.process(&batch)
        return try monitor.observe(batch, scores: output.scores).flatMap { try $0.jsonLines() }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// The values of a single-partition topic, from the start, once `count` have arrived.
    static func readValues(_ topic: String, count: Int, within deadline: Duration = .seconds(60)) throws -> [String] {
        let consumer = try Consumer(configuration: ConsumerConfiguration(kafka: kafka, groupID: unique("reader")), logger: logger)
        defer { try? consumer.close() }
        try consumer.assign([TopicPartition(topic, 0): KafkaOffset.beginning])
        var values: [String] = []
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while values.count < count, clock.now < end {
            values += try consumer.poll(timeout: .milliseconds(200)).map { String(decoding: $0.value ?? [], as: UTF8.self) }
        }
        return values
    }

    /// A score record as read back.
    struct ScoreRecord {
        var id: String
        var features: [Double]
        var partition: Int32
        var offset: Int64
        /// Flagged late: scored unplaced, further behind its key's newest event than the allowed lateness.
        var late = false
        /// The source partition and offset of the event (provenance headers).
        var source: (partition: Int32, offset: Int64)? = nil
    }

    /// The ids of score records whose features and score differ from `expected` by more than
    /// 1e-9 (NaN matching NaN), or that `expected` lacks.
    static func mismatchedIDs(_ scores: [ScoreRecord], expected: [String: [Double]]) -> Set<String> {
        var mismatched = Set<String>()
        for record in scores {
            guard let reference = expected[record.id] else { mismatched.insert(record.id); continue }
            if zip(record.features, reference).contains(where: { !(abs($0 - $1) <= 1e-9 || ($0.isNaN && $1.isNaN)) }) { mismatched.insert(record.id) }
        }
        return mismatched
    }

    /// The first `limit` mismatched records, each with the features a replay gives and where
    /// it came from, in source order: what a failure message needs to tell state lost from
    /// state applied twice.
    static func describeMismatches(_ scores: [ScoreRecord], expected: [String: [Double]], limit: Int = 3) -> String {
        let mismatched = mismatchedIDs(scores, expected: expected)
        let records = scores.filter { mismatched.contains($0.id) }.sorted { ($0.source?.partition ?? 0, $0.source?.offset ?? 0) < ($1.source?.partition ?? 0, $1.source?.offset ?? 0) }
        return records.prefix(limit).map { record in
            "\(record.id) from \(record.source.map { "\($0.partition)@\($0.offset)" } ?? "?") scored at \(record.partition)@\(record.offset)\(record.late ? " late" : ""): \(record.features) vs replay \(expected[record.id] ?? [])"
        }.joined(separator: "; ")
    }

    /// Every record of a topic's partitions, from the start to the end (read_committed).
    static func readAll(_ topic: String, partitions: Int32) throws -> [ConsumerRecord] {
        var records: [ConsumerRecord] = []
        try PartitionReader(kafka: kafka, logger: logger).read(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), KafkaOffset.beginning) })) {
            records.append($0.record)
        }
        return records
    }

    /// Polls until the group has committed `total` source offsets over the partitions (or fails after the deadline).
    static func waitForCommitted(group: String, topic: String, partitions: Int32, total: Int64, within deadline: Duration = .seconds(60)) throws {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while true {
            let committed = try committedOffsets(group: group, topic: topic, partitions: partitions).values.reduce(0) { $0 + max($1, 0) }
            if committed >= total { return }
            guard clock.now < end else { throw FixtureError("\(group) committed \(committed) of \(total) offsets of \(topic) within \(deadline)") }
            Thread.sleep(forTimeInterval: 0.1)  // polling a condition, with a deadline
        }
    }

    /// Reads the scores topic from the start until `count` records have arrived, or `done` says
    /// what has arrived is enough (or the deadline).
    static func readScores(_ topic: String, featureNames: [String], atLeast count: Int, within deadline: Duration = .seconds(60),
                           until done: ([ScoreRecord]) -> Bool = { _ in false }, kafka: KafkaConfiguration = RuntimeFixture.kafka,
                           isolation: ConsumerConfiguration.IsolationLevel = .readCommitted) throws -> [ScoreRecord] {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: unique("reader"))
        configuration.reportsPartitionEOF = false
        configuration.isolationLevel = isolation
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        // The runtime creates its output topics when it starts, on its own thread: wait for them.
        let admin = try Admin(configuration: kafka, logger: logger)
        var partitions = 0
        let waitEnd = ContinuousClock().now + .seconds(30)
        while partitions == 0 {
            partitions = try admin.listTopics()[topic]?.partitionCount ?? 0
            if partitions == 0 {
                guard ContinuousClock().now < waitEnd else { throw FixtureError("topic \(topic) was not created within 30 s") }
                Thread.sleep(forTimeInterval: 0.05)  // polling for a condition, with a deadline
            }
        }
        try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<Int32(partitions)).map { (TopicPartition(topic, $0), KafkaOffset.beginning) }))
        var records: [ScoreRecord] = []
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while records.count < count, clock.now < end {
            let polled = try consumer.poll(maxRecords: 5000, timeout: .milliseconds(200))
            // The verifier's own commits into held partitions (``nudge(_:)``) are not scores.
            for record in polled where !(record.key.map { $0.elementsEqual(nudgeKey) } ?? false) {
                guard case let .object(object) = try JSONParser.parse(record.value ?? []),
                      let id = object["id"]?.stringValue, case let .object(features)? = object["features"] else {
                    throw FixtureError("score record \(record.partition)@\(record.offset) is not what Vigil writes")
                }
                let score = object["score"].map { $0.doubleValue ?? .nan }
                let late = object["late"].map { if case .bool(true) = $0 { return true } else { return false } } ?? false
                let sourcePartition = record.headers.first { $0.name == RecordHeaders.sourcePartition }?.stringValue.flatMap { Int32($0) }
                let sourceOffset = record.headers.first { $0.name == RecordHeaders.sourceOffset }?.stringValue.flatMap { Int64($0) }
                records.append(ScoreRecord(
                    id: id, features: featureNames.map { features[$0]?.doubleValue ?? .nan } + (score.map { [$0] } ?? []),
                    partition: record.partition, offset: record.offset, late: late,
                    source: sourcePartition.flatMap { partition in sourceOffset.map { (partition, $0) } }))
            }
            if !polled.isEmpty, done(records) { break }
        }
        return records
    }

    /// Options as `vigil run` derives them from the topology, for the test broker.
    static func options(topology: Topology, instance: String) -> RuntimeOptions {
        var options = RuntimeOptions(kafka: kafka, instanceID: instance)
        options.apply(topology.processing)
        options.commitInterval = .milliseconds(100)
        options.sessionTimeout = .seconds(2)
        options.brokerShowsAbortedRecords = TestBroker.showsAbortedRecords
        options.staticMembership = staticMembership
        for (name, value) in runtimeProperties { options.kafka.properties[name] = value }
        return options
    }

    /// librdkafka properties for every runtime the tests start, in process or as `vigil run`
    /// (`VIGIL_TEST_RUNTIME_PROPERTIES="fetch.queue.backoff.ms=20,…"`): to run the exactly-once
    /// tests under a user's client settings.
    static let runtimeProperties: [(String, String)] = (ProcessInfo.processInfo.environment["VIGIL_TEST_RUNTIME_PROPERTIES"] ?? "")
        .split(separator: ",").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }

    /// Whether instances join as static members. Tansu 0.6 never assigns partitions to a
    /// second static member of a group (measured: the first gives up half its partitions, the
    /// second gets none within 20 s), so the tests join dynamically unless
    /// VIGIL_TEST_STATIC_MEMBERSHIP=1 (for a Kafka that supports KIP-345).
    static let staticMembership = ProcessInfo.processInfo.environment["VIGIL_TEST_STATIC_MEMBERSHIP"] == "1"

    /// The real clients, wrapped to fail where `faults` says.
    static func clients(_ faults: FaultInjection) -> RuntimeClients {
        RuntimeClients(
            makeProducer: { FaultInjectingProducer(wrapping: try TransactionalProducer(configuration: $0, logger: $1), faults: faults) },
            makeReader: { FaultInjectingReader(wrapping: try Consumer(configuration: $0, logger: $1), faults: faults) })
    }

    /// Runs a runtime on a thread of its own until stopped.
    final class RunningInstance: @unchecked Sendable {
        let runtime: StreamRuntime
        private let finished = DispatchSemaphore(value: 0)
        private(set) var failure: (any Error)?

        /// `faults` makes its clients fail where asked; `configure` adjusts its options.
        /// `logFile` takes its log at debug level (kept for diagnosis, as a `vigil run`'s is).
        init(topology: Topology, instance: String, snapshotInterval: Duration = .seconds(60), faults: FaultInjection? = nil,
             logFile: Bool = false, configure: (inout RuntimeOptions) -> Void = { _ in }) throws {
            var options = RuntimeFixture.options(topology: topology, instance: instance)
            options.snapshotInterval = snapshotInterval
            configure(&options)
            runtime = try StreamRuntime(topology: topology, options: options, logger: logFile ? RuntimeFixture.fileLogger(instance: instance) : RuntimeFixture.logger,
                                        clients: faults.map(RuntimeFixture.clients) ?? .kafka) { try RuntimeFixture.kernel(topology) }
            let thread = Thread { [self] in
                do { try runtime.run() } catch { failure = error }
                finished.signal()
            }
            thread.start()
        }

        /// Asks it to stop and waits until it has committed and left the group.
        func stop() {
            runtime.requestStop()
            wait()
        }

        /// Asks it to stop and waits at most `deadline`; false when it is still running.
        func stop(within deadline: Duration) -> Bool {
            runtime.requestStop()
            let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
            guard finished.wait(timeout: .now() + seconds) == .success else { return false }
            finished.signal()
            return true
        }

        /// Waits until its run ends (stopped, or failed: see ``failure``).
        func wait() {
            finished.wait()
            finished.signal()
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension RuntimeFixture {
    /// The built `vigil` executable beside the test bundle.
    /// Runs the `vigil` executable to its end: its exit status, standard output and standard
    /// error (through files, so that neither stream can fill and stall it).
    static func runVigil(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputFile = folder.appendingPathComponent("out"), errorFile = folder.appendingPathComponent("err")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil), FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw FixtureError("cannot create output files in \(folder.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try vigilExecutable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: outputFile, encoding: .utf8), try String(contentsOf: errorFile, encoding: .utf8))
    }

    static var vigilExecutable: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("vigil").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw FixtureError("the vigil executable is not built beside \(directory.path); run the tests with `swift test` (it builds every product)")
        }
    }

    /// Writes the card-fraud topology under a fresh name to a temporary file, for a `vigil run` process.
    static func topologyFile(name: String, lateness: String, stateTTL: String = "45d", changelog: ChangelogRecords = .keyStates) throws -> String {
        let original = repository.appendingPathComponent("topologies/card-fraud.yaml")
        var text = try String(contentsOf: original, encoding: .utf8)
        text = text.replacingOccurrences(of: "name: card-fraud", with: "name: \(name)")
        text = text.replacingOccurrences(of: "topics: [transactions]", with: "topics: [\(name).transactions]")
        text = text.replacingOccurrences(of: "outputs:\n", with: "outputs:\n  include_features: true\n")
        text = text.replacingOccurrences(of: #"  allowed_lateness: [^\n]*\n"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"  state_ttl: [^\n]*\n"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"  changelog: [^\n]*\n"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: "processing:\n", with: "processing:\n  allowed_lateness: \(lateness)\n  state_ttl: \(stateTTL)\n  changelog: \(changelog.rawValue)\n")
        // Model and drift profile paths are relative to the topology's folder, and must stay
        // inside it (PathConfinement): the copy gets a folder of its own with copies of both.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-topology-\(name)")
        for relative in ["models/card-fraud-xgboost.json", "profiles/card-fraud.json"] {
            let target = folder.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.copyItem(at: original.deletingLastPathComponent().appendingPathComponent(relative), to: target)
            }
        }
        let file = folder.appendingPathComponent("\(name).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    /// Starts `vigil run` as a process of its own.
    static func startVigil(topologyFile: String, instance: String, extra: [String] = [], logLevel: String = "error") throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try vigilExecutable)
        process.arguments = ["run", "--topology", topologyFile, "--bootstrap", bootstrap, "--instance-id", instance,
                             "--session-timeout", "2", "--log-level", logLevel, "--metrics-address", "127.0.0.1:0"]
            + (TestBroker.showsAbortedRecords ? ["--broker-shows-aborted-records"] : [])
            + (staticMembership ? [] : ["--no-static-membership"]) + extra
            // librdkafka's own debug contexts in the process's log (diagnosis only).
            + (ProcessInfo.processInfo.environment["VIGIL_TEST_RDKAFKA_DEBUG"].flatMap { $0.isEmpty ? nil : ["--property", "debug=\($0)"] } ?? [])
            + runtimeProperties.flatMap { ["--property", "\($0.0)=\($0.1)"] }
        process.standardOutput = FileHandle.nullDevice
        // Not the test runner's own stderr: a process left behind by a test that died would hold
        // it open, and `swift test` would wait for it forever.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(instance)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        vigilLogs.withValue { $0.append((instance, process.processIdentifier, log.path)) }
        return process
    }

    /// The `vigil run` processes and in-process instances one test started. Whatever still runs
    /// when the test ends is killed (processes) or stopped (instances), also when the test throws
    /// part way: a verifier run that failed left two processes writing to the broker for minutes.
    final class StartedInstances {
        private var processes: [(instance: String, process: Process)] = []
        private var instances: [RunningInstance] = []
        /// Instance ids whose process the graceful stop had to kill (it did not exit within 20 s).
        private(set) var killedByTheStop: [String] = []
        /// In-process instances the graceful stop gave up on after 60 s (their threads still run).
        private var stuck: [String] = []

        /// Starts `vigil run` as a process of its own (``RuntimeFixture/startVigil(topologyFile:instance:extra:logLevel:)``).
        func startVigil(topologyFile: String, instance: String, extra: [String] = [], logLevel: String = "error") throws -> Process {
            let process = try RuntimeFixture.startVigil(topologyFile: topologyFile, instance: instance, extra: extra, logLevel: logLevel)
            processes.append((instance, process))
            return process
        }

        /// Keeps an in-process instance, to be stopped at the end.
        func keep(_ instance: RunningInstance) -> RunningInstance {
            instances.append(instance)
            return instance
        }

        /// Stops every process still running with SIGTERM (each finishes its batch, commits and
        /// leaves; SIGKILL after 20 s, noted in ``killedByTheStop``) and every in-process
        /// instance: none that stops this way leaves a transaction open.
        func stopGracefully() {
            for (_, process) in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
            let deadline = ContinuousClock.now + .seconds(20)
            for (instance, process) in processes {
                while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }  // awaiting exit, with a deadline
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    killedByTheStop.append(instance)
                }
                process.waitUntilExit()
            }
            for instance in instances where !instance.stop(within: .seconds(60)) {
                stuck.append(instance.runtime.options.instanceID)
            }
        }

        /// The instance ids whose last process was killed (by the test or by the graceful stop's
        /// fallback) and not followed by another with the same id: a transaction such a process
        /// had open stays open until the broker times it out or the id is initialised again.
        var killedLast: [String] {
            var last: [String: Process] = [:]
            for (instance, process) in processes { last[instance] = process }
            return last.filter { !$0.value.isRunning && $0.value.terminationReason == .uncaughtSignal && $0.value.terminationStatus == SIGKILL }
                .keys.sorted()
        }

        /// ``killedLast`` without the ones the graceful stop killed.
        var killedByTheTest: [String] { killedLast.filter { !killedByTheStop.contains($0) } }

        /// The instance ids whose last process was not killed (it exited on SIGTERM, or on its
        /// own), and those of in-process instances.
        var notKilled: [String] {
            let processIDs = Set(processes.map(\.instance)).subtracting(killedLast)
            return (processIDs.union(instances.map(\.runtime.options.instanceID))).sorted()
        }

        /// Instances that failed on their own: a `vigil run` ended by a signal other than the
        /// test's SIGKILL or SIGTERM (a trap or an abort), an in-process instance with a failure.
        var failed: [String] {
            let processes = processes.map(\.process).filter {
                !$0.isRunning && $0.terminationReason == .uncaughtSignal && $0.terminationStatus != SIGKILL && $0.terminationStatus != SIGTERM
            }
            return processes.map { "vigil run (pid \($0.processIdentifier)) ended by signal \($0.terminationStatus)" }
                + instances.compactMap { instance in instance.failure.map { "in-process instance: \($0)" } }
                + stuck.map { "in-process instance \($0) did not stop within 60 s" }
        }

        /// Kills every process still running and stops every instance (stopping twice is harmless;
        /// an instance still running after 60 s is left to its thread).
        func end() {
            for (_, process) in processes where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            for instance in instances { _ = instance.stop(within: .seconds(60)) }
        }
    }

    /// The log file of every `vigil run` started: instance id, pid, path.
    /// A debug-level logger of an in-process instance into a file of its own, listed with the
    /// `vigil run` logs (``vigilLogs``, pid 0).
    static func fileLogger(instance: String) throws -> Logger {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(instance)-\(UUID().uuidString.prefix(8)).log").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        vigilLogs.withValue { $0.append((instance, 0, path)) }
        let lock = NSLock()
        let sink = LogSink { line in lock.withLock { handle.write(Data((line + "\n").utf8)) } }
        return Logger(label: "vigil.\(instance)") { VigilLogHandler(label: $0, level: .debug, sink: sink) }
    }

    static let vigilLogs = LockedBox<[(instance: String, pid: Int32, path: String)]>([])

    /// The last `lines` lines of the logs of the `vigil run` processes started for `instances`,
    /// for a failure message that says what the processes were doing.
    static func vigilLogTails(_ instances: Set<String>, lines: Int = 15) -> String {
        vigilLogs.value.filter { instances.contains($0.instance) }.map { entry in
            let text = (try? String(contentsOfFile: entry.path, encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: "\n")
            return "--- \(entry.instance) (pid \(entry.pid), \(entry.path)):\n\(tail)"
        }.joined(separator: "\n")
    }

    /// What lies at the transactions the logs of `instances` say a restore waits on ("a
    /// transaction of another instance is open at topic/partition@offset"): the first records
    /// from there, read uncommitted, with their headers — which instance's transaction it is
    /// (the state offset a record carries, a snapshot's checkpoint) when one never ends.
    static func openTransactionRecords(_ instances: Set<String>, records: Int = 4) -> String {
        var places = Set<String>()
        for entry in vigilLogs.value where instances.contains(entry.instance) {
            let text = (try? String(contentsOfFile: entry.path, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let range = line.range(of: "is open at ") else { continue }
                let rest = line[range.upperBound...].prefix { $0 != ";" }
                for place in rest.split(separator: ",") { places.insert(place.trimmingCharacters(in: .whitespaces)) }
            }
        }
        var reader = PartitionReader(kafka: kafka, logger: logger)
        reader.isolationLevel = .readUncommitted
        return places.sorted().map { place in
            let parts = place.split(separator: "@")
            guard parts.count == 2, let offset = Int64(parts[1]), let slash = parts[0].lastIndex(of: "/"),
                  let number = Int32(parts[0][parts[0].index(after: slash)...]) else { return "\(place): not a place" }
            let topic = String(parts[0][..<slash])
            var lines: [String] = []
            do {
                try reader.read([TopicPartition(topic, number): offset], timeout: .seconds(5)) { message in
                    guard lines.count < records else { return }
                    let value = message.value.map { String(decoding: $0.prefix(60), as: UTF8.self) } ?? "(none)"
                    let key = message.key.map { String(decoding: $0.prefix(40), as: UTF8.self) } ?? "(none)"
                    let headers = message.headers.map { "\($0.name)=\($0.stringValue ?? "?")" }.joined(separator: " ")
                    lines.append("  @\(message.offset) key \(key.debugDescription) value \(value.debugDescription) \(headers)")
                }
            } catch { lines.append("  (read failed: \(error))") }
            return "open transaction at \(place):\n" + lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The records of a partition a read_committed reader cannot read yet.
    struct HeldBack {
        /// Records a read_committed reader reads.
        var visible: Int
        /// Records there are (a read_uncommitted reader reads them all).
        var total: Int
        /// Records held back that an instance wrote (not the test's own, ``nudge(_:)``).
        var instanceRecords: Int
        /// Whether the partition could not be read in time (counted as held back, records unknown).
        var unreadable = false

        static let unknown = HeldBack(visible: 0, total: 0, instanceRecords: 1, unreadable: true)
    }

    /// The partitions among `partitions` that a read_committed reader cannot read to their
    /// end: a transaction there the broker has not completed. On a broker that shows aborted
    /// records (the test broker) the two readers differ only there. The committed records are
    /// read first, so a record written between the two reads never hides a held one; a
    /// partition that cannot be read in time counts as held back.
    static func heldBackPartitions(_ partitions: [TopicPartition]) -> [TopicPartition: HeldBack] {
        var held: [TopicPartition: HeldBack] = [:]
        for partition in partitions {
            let start = [partition: KafkaOffset.beginning]
            var visible = Set<Int64>()
            var isNudge: [Int64: Bool] = [:]  // every record's offset: whether it is one of the test's own
            var uncommitted = PartitionReader(kafka: kafka, logger: logger)
            uncommitted.isolationLevel = .readUncommitted
            guard (try? PartitionReader(kafka: kafka, logger: logger).read(start, timeout: .seconds(5), { visible.insert($0.offset) })) != nil,
                  (try? uncommitted.read(start, timeout: .seconds(5), { isNudge[$0.offset] = $0.key.map { $0.elementsEqual(nudgeKey) } ?? false })) != nil
            else {
                held[partition] = .unknown
                continue
            }
            let heldBack = isNudge.filter { !visible.contains($0.key) }
            guard !heldBack.isEmpty else { continue }
            held[partition] = HeldBack(visible: visible.count, total: isNudge.count, instanceRecords: heldBack.values.filter { !$0 }.count)
        }
        return held
    }

    /// The key of ``nudge(_:)``'s records.
    static let nudgeKey = Array("\u{0}vigil.test.nudge".utf8)

    /// Commits, in a transaction of its own, a tombstone of a key no stage uses (``nudgeKey``)
    /// to `partition`. On the test broker its end completes every transaction overlapping it
    /// there that has ended (committed or aborted), each as a whole, in every partition it
    /// wrote, provided all of them have ended (its overlap rule); otherwise it is held back
    /// itself (README, "Test broker").
    static func nudge(_ partition: TopicPartition) throws {
        var configuration = ProducerConfiguration(kafka: kafka, transactionalID: unique("nudge"))
        configuration.linger = .zero
        let producer = try TransactionalProducer(configuration: configuration, logger: logger)
        defer { producer.close() }
        try producer.initTransactions()
        try producer.beginTransaction()
        try producer.send(ProducerRecord(topic: partition.topic, partition: partition.partition, key: nudgeKey, value: nil))
        try producer.commitTransaction()
    }

    /// The group's committed offsets for the source partitions.
    /// The offset after the last record of `partition`, markers included, from the partition
    /// end a fetch reports (this broker answers ListOffsets "latest" wrongly).
    static func endOffset(of partition: TopicPartition, within deadline: Duration = .seconds(30), kafka: KafkaConfiguration = RuntimeFixture.kafka) throws -> Int64 {
        var configuration = ConsumerConfiguration(kafka: kafka, groupID: unique("end"))
        configuration.reportsPartitionEOF = true
        configuration.isolationLevel = .readUncommitted
        let consumer = try Consumer(configuration: configuration, logger: logger)
        defer { try? consumer.close() }
        try consumer.assign([partition: KafkaOffset.beginning])
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            let found: Int64? = try consumer.withBatch(maxRecords: 10_000, timeout: .milliseconds(200)) { $0.partitionEnds[partition] }
            if let found { return found }
        }
        throw FixtureError("no end of \(partition) within \(deadline)")
    }

    static func committedOffsets(group: String, topic: String, partitions: Int32, kafka: KafkaConfiguration = RuntimeFixture.kafka) throws -> [Int32: Int64] {
        let consumer = try Consumer(configuration: ConsumerConfiguration(kafka: kafka, groupID: group), logger: logger)
        defer { try? consumer.close() }
        let committed = try consumer.committed((0..<partitions).map { TopicPartition(topic, $0) })
        return Dictionary(uniqueKeysWithValues: committed.map { ($0.key.partition, $0.value) })
    }
}
