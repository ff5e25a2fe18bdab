// Restore time against state size and history length: the card-fraud topology runs over
// histories of increasing length (one instance each, from the start); then a fresh instance in
// the same group restores every partition's state, and the runtime's own "restored state" log
// (assignment to the end of the changelog read) gives the time. With snapshots (restore = newest
// committed snapshot + the changelog after it) and without (a snapshot interval longer than the
// run: restore replays the whole changelog, as Kafka Streams does on a broker that never
// compacts).
import ArgumentParser
import BenchSupport
import Foundation
import Logging
import VigilCodec
import VigilFeatures
import VigilKafka
import VigilPipeline
import VigilRuntime
import VigilTopology

@main
struct RestoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restore time of the card-fraud topology against state size and history length.")

    @Option(help: "Bootstrap servers.") var bootstrap = "127.0.0.1:19092"
    @Option(parsing: .upToNextOption, help: "History lengths (events) after which a fresh instance restores.")
    var history: [Int] = [100_000, 400_000, 1_600_000]
    @Option(parsing: .upToNextOption, help: "Snapshot intervals (s) to compare; a huge one means a full changelog replay.")
    var snapshotInterval: [Double] = [60, 10, 1_000_000]
    @Option(help: "Partitions of the source topic.") var partitions: Int32 = 1

    func run() throws {
        let capture = RestoreLogCapture()
        var logger = Logger(label: "restore-bench") { _ in RestoreLogHandler(capture: capture) }
        logger.logLevel = .info
        var quiet = Logger(label: "restore-bench.clients")
        quiet.logLevel = .error
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap, clientID: "restore-bench")
        let admin = try Admin(configuration: kafka, logger: quiet)
        let steps = history.sorted()
        let data = try Handbook.transactions(steps.last!)
        let sizes = try stateSizes(data: data, at: steps)
        print("loaded \(data.count) transactions; state at each step computed", to: &standardError)

        // One preloaded source topic per history length, shared by the runs of every interval.
        let suffix = UUID().uuidString.prefix(8).lowercased()
        var sources: [Int: String] = [:]
        for step in steps {
            let topic = "restore-\(suffix)-\(step).transactions"
            try admin.createTopics([NewTopic(name: topic, partitions: partitions)])
            try Handbook.produce(data[0..<step], to: topic, kafka: kafka, logger: quiet)
            sources[step] = topic
        }

        // Every instance snapshots each partition at its first commit and then every interval;
        // so that "no snapshots" really replays the whole changelog, each history is processed
        // by one instance from the start (its first snapshot holds one transaction's state).
        var rows: [(interval: Double, step: Int, restore: RestoreLogCapture.Restore, changelog: Int, snapshots: Int, processing: Double)] = []
        for interval in snapshotInterval {
            for step in steps {
                var topology = try Handbook.topology(name: "restore-\(suffix)-\(step)-\(Int(interval))")
                topology.source.topics = [sources[step]!]
                var options = Handbook.options(for: topology, kafka: kafka, instanceID: "processor")
                options.snapshotInterval = .milliseconds(Int64(interval * 1000))
                let started = ContinuousClock.now
                let instance = try RunningInstance(topology: topology, options: options, logger: logger)
                let done = instance.waitUntilCommitted(step, timeout: .seconds(1800))
                instance.stop()
                let processing = (ContinuousClock.now - started).seconds
                if let failure = instance.failure { throw BenchError("processing \(step) events failed: \(failure)") }
                guard done else { throw BenchError("the instance did not process \(step) events in time") }
                let statistics = instance.runtime.statistics
                print("interval \(interval) s: \(step) events in \(String(format: "%.1f", processing)) s, \(statistics.transactionsCommitted) transactions, \(statistics.snapshotsWritten) snapshots, \(statistics.changelogRecords) changelog records", to: &standardError)

                // A fresh instance in the same group restores every partition's state, then stops.
                let restoresBefore = capture.restores.count
                let restorer = try RunningInstance(topology: topology, options: Handbook.options(for: topology, kafka: kafka, instanceID: "restorer"), logger: logger)
                guard capture.waitForRestores(after: restoresBefore, timeout: .seconds(900)) else { throw BenchError("no restore logged") }
                restorer.stop()
                if let failure = restorer.failure { throw BenchError("the restoring instance failed: \(failure)") }
                let restore = capture.restores[capture.restores.count - 1]
                print("  restore: \(restore.records) records in \(restore.seconds) s from \(restore.fromSnapshots) snapshots", to: &standardError)
                rows.append((interval, step, restore, statistics.changelogRecords, statistics.snapshotsWritten, processing))
            }
        }
        try? admin.deleteTopics(Array(sources.values), ignoreMissing: true)

        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        print("""
        Broker: Tansu at \(bootstrap), \(partitions) partitions (a restore reads one changelog partition per stage and source partition); load average at the end: \(load)

        | history (events) | state: keys | state: LZ4 snapshot bytes | state: buffered events | snapshot interval | changelog records written | snapshots written | records restored | restore seconds |
        |---:|---:|---:|---:|---|---:|---:|---:|---:|
        """)
        for row in rows {
            let size = sizes[row.step]!
            let interval = row.interval >= 100_000 ? "none (full changelog replay)" : "\(Int(row.interval)) s"
            print("| \(row.step) | \(size.keys) | \(size.bytes) | \(size.events) | \(interval) | \(row.changelog) | \(row.snapshots) | \(row.restore.records) | \(String(format: "%.3f", row.restore.seconds)) |")
        }
    }

    /// Keys, LZ4 snapshot bytes and buffered events of the topology's state after each step,
    /// from a replay of the same events through the pipeline (what a full snapshot would hold).
    func stateSizes(data: [Handbook.Transaction], at steps: [Int]) throws -> [Int: (keys: Int, bytes: Int, events: Int)] {
        let topology = try Handbook.topology(name: "size")
        let pipeline = try Pipeline(topology: topology, kernel: nil, recordsUndo: false)
        let decoder = pipeline.makeDecoder()
        let binding = try decoder.bind(header: topology.source.fields.map(\.name), file: "handbook")
        var result: [Int: (Int, Int, Int)] = [:]
        var done = 0
        for step in steps {
            var start = done
            while start < step {
                let end = min(step, start + 50_000)
                let text = Array(data[start..<end].map(\.line).joined(separator: "\n").utf8)
                let reader = CSVReader(source: MemoryByteSource(text))
                var batch = pipeline.makeBatch(capacity: end - start)
                var line = start
                while try reader.next() {
                    if let rejection = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: 0, offset: Int64(line)), to: &batch) {
                        throw BenchError("line \(line): \(rejection)")
                    }
                    line += 1
                }
                _ = pipeline.process(&batch)
                start = end
            }
            done = step
            var keys = 0, bytes = 0
            for stage in pipeline.engines.indices {
                for key in pipeline.engines[stage].allKeys {
                    keys += 1
                    bytes += pipeline.snapshot(stage: stage, key: key)?.count ?? 0
                }
            }
            let events = pipeline.engines.reduce(0) { $0 + $1.footprint.bufferedEvents }
            result[step] = (keys, bytes, events)
        }
        return result
    }
}

/// The runtime's "restored state" log lines (it measures restore from assignment to the end of
/// the changelog read itself), and everything at warning or above to standard error.
final class RestoreLogCapture: @unchecked Sendable {
    struct Restore { var seconds: Double; var records: Int; var fromSnapshots: Int }
    private let lock = NSLock()
    private var list: [Restore] = []

    var restores: [Restore] { lock.withLock { list } }

    func add(_ restore: Restore) { lock.withLock { list.append(restore) } }

    func waitForRestores(after count: Int, timeout: Duration) -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if lock.withLock({ list.count > count }) { return true }
            Thread.sleep(forTimeInterval: 0.01)  // polling for a condition, with a deadline
        }
        return false
    }
}

struct RestoreLogHandler: LogHandler {
    let capture: RestoreLogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        if event.message.description == "restored state", let metadata = event.metadata {
            // "seconds" is a Duration's description: "0.123456 seconds".
            let seconds = metadata["seconds"].flatMap { Double("\($0)".split(separator: " ").first ?? "") } ?? .nan
            let records = metadata["records"].flatMap { Int("\($0)") } ?? -1
            let fromSnapshots = metadata["from_snapshots"].flatMap { Int("\($0)") } ?? -1
            capture.add(.init(seconds: seconds, records: records, fromSnapshots: fromSnapshots))
        } else if event.level >= .warning {
            print("[\(event.level)] \(event.message)", to: &standardError)
        }
    }
}

nonisolated(unsafe) var standardError = FileHandleOutputStream(FileHandle.standardError)
struct FileHandleOutputStream: TextOutputStream {
    let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }
    mutating func write(_ string: String) { handle.write(Data(string.utf8)) }
}
