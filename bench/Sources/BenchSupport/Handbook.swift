import Foundation
public import Logging
import VigilCodec
import VigilPipeline
public import VigilKafka
public import VigilModels
public import VigilRuntime
public import VigilTopology

/// What the runtime benchmarks share: the handbook transactions as source records, the
/// card-fraud topology under a fresh name, and a runtime instance on a thread of its own.
public enum Handbook {
    /// The repository (the parent of `bench/`).
    public static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let defaultData = repository.deletingLastPathComponent()
        .appendingPathComponent("shared/data/fraud-handbook/transactions.csv.lz4").path

    public struct Transaction: Sendable {
        public var id: String
        public var customer: String
        public var line: String
    }

    /// The first `count` handbook transactions as CSV lines in the topology's field order; with
    /// `repeating`, past the file's end its rows again with later ids and times.
    public static func transactions(_ count: Int, path: String = defaultData, repeating: Bool = false) throws -> [Transaction] {
        guard FileManager.default.fileExists(atPath: path) else { throw BenchError("the handbook data is missing at \(path)") }
        let reader = CSVReader(source: LZ4FrameReader(source: try FileByteReader(path: path)))
        guard try reader.next() else { throw BenchError("empty transactions file \(path)") }
        let header = reader.strings()
        let columns = try ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"].map { name in
            guard let index = header.firstIndex(of: name) else { throw BenchError("\(path): no column \(name)") }
            return index
        }
        var result: [Transaction] = []
        result.reserveCapacity(count)
        while result.count < count, try reader.next() {
            let fields = columns.map { reader.string($0) }
            result.append(Transaction(id: fields[0], customer: fields[2], line: fields.joined(separator: ",")))
        }
        // Past the file's end, its rows again, a cycle later: ids after the largest and times
        // `cycleDays` later (27 weeks: a whole number of weeks, past the file's 183 days), so that
        // every customer's and terminal's events stay in time order, every id is unique, and the
        // weekday and time of day (the weekend and night features) stay the same.
        let fileRows = result.count
        guard repeating, result.count < count, fileRows > 0 else { return result }
        let idStep = result.lazy.map { Int($0.id)! }.max()! + 1
        var cycle = 1
        while result.count < count {
            for row in 0..<min(fileRows, count - result.count) {
                var fields = result[row].line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                fields[0] = String(Int(fields[0])! + cycle * idStep)
                fields[1] = shiftedTime(fields[1], days: cycle * cycleDays)
                result.append(Transaction(id: fields[0], customer: fields[2], line: fields.joined(separator: ",")))
            }
            cycle += 1
        }
        return result
    }

    /// Days between the handbook's rows and their copies a cycle later, in ``transactions(_:path:repeating:)``.
    static let cycleDays = 27 * 7

    /// `time` ("YYYY-MM-DD HH:MM:SS", UTC) `days` later, read and written as the runtime reads
    /// and writes event times.
    static func shiftedTime(_ time: String, days: Int) -> String {
        TimestampParser.format(TimestampParser.parse(time, format: .datetime)! + Int64(days) * 86_400_000)
    }

    /// Produces the lines to `topic`, keyed by customer, and waits for every delivery.
    public static func produce(_ events: ArraySlice<Transaction>, to topic: String, kafka: KafkaConfiguration, logger: Logger) throws {
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        for event in events {
            try producer.send(ProducerRecord(topic: topic, key: Array(event.customer.utf8), value: Array(event.line.utf8)))
        }
        try producer.flush(timeout: .seconds(300))
    }

    /// The card-fraud topology under `name`, reading `<name>.transactions`. Events of one
    /// customer arrive in time order, but the terminal stage merges the source partitions
    /// through the repartition topic, and from a preloaded backlog one partition can run days
    /// ahead of another (a fetch holds thousands of records); so the stages allow 6 days of
    /// lateness. Below the terminal features' 7-day delay, lateness changes no feature value.
    public static func topology(name: String, lateness: Int64 = 6 * 86_400_000) throws -> Topology {
        var topology = try TopologyLoader.load(path: repository.appendingPathComponent("topologies/card-fraud.yaml").path)
            .renamed(name, sourceTopics: ["\(name).transactions"])
        topology.processing.allowedLateness = lateness
        return topology
    }

    /// The card-fraud topology file under `name`, reading `<name>.transactions`, with `edit`
    /// applied to its text, written in a folder of its own with copies of its model and drift
    /// profile (their paths are relative to the file and may not leave its folder): for a
    /// `vigil run` process. Returns the file's path.
    public static func topologyFile(name: String, edit: (String) -> String = { $0 }) throws -> String {
        let original = repository.appendingPathComponent("topologies/card-fraud.yaml")
        var text = try String(contentsOf: original, encoding: .utf8)
        text = text.replacingOccurrences(of: "name: card-fraud", with: "name: \(name)")
        text = text.replacingOccurrences(of: "topics: [transactions]", with: "topics: [\(name).transactions]")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-topology-\(name)")
        for relative in ["models/card-fraud-xgboost.json", "profiles/card-fraud.json"] {
            let target = folder.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: target.path) {
                try FileManager.default.copyItem(at: original.deletingLastPathComponent().appendingPathComponent(relative), to: target)
            }
        }
        let file = folder.appendingPathComponent("\(name).yaml")
        try edit(text).write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    public static func kernel(_ topology: Topology) throws -> (any ScoringKernel)? {
        guard let path = topology.resolvedModelPath else { return nil }
        return try ModelLoader.load(path: path)
    }
}

/// A ``StreamRuntime`` on a thread of its own, recording when each transaction committed.
public final class RunningInstance: @unchecked Sendable {
    public let runtime: StreamRuntime
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var commitLog: [(time: ContinuousClock.Instant, statistics: RuntimeStatistics, cpuSeconds: Double)] = []
    private var waiters: [(Int, DispatchSemaphore)] = []
    public private(set) var failure: (any Error)?

    public init(topology: Topology, options: RuntimeOptions, logger: Logger) throws {
        runtime = try StreamRuntime(topology: topology, options: options, logger: logger) { try Handbook.kernel(topology) }
        runtime.onCommit = { [unowned self] statistics in self.committed(statistics) }
        let thread = Thread { [self] in
            do { try runtime.run() } catch { lock.withLock { failure = error } }
            finished.signal()
            lock.withLock { for (_, semaphore) in waiters { semaphore.signal() } }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func committed(_ statistics: RuntimeStatistics) {
        let now = ContinuousClock.now
        // onCommit runs on the runtime's thread: its own CPU time so far.
        let cpu = ThreadCPU.seconds()
        lock.withLock {
            commitLog.append((now, statistics, cpu))
            waiters.removeAll { target, semaphore in
                guard statistics.scored + statistics.deadLettered >= target else { return false }
                semaphore.signal()
                return true
            }
        }
    }

    /// Every commit so far: when, the counts after it, and the CPU time the runtime's thread had used.
    public var commits: [(time: ContinuousClock.Instant, statistics: RuntimeStatistics, cpuSeconds: Double)] { lock.withLock { commitLog } }

    /// Waits until `count` events are scored or dead-lettered and committed; false on timeout.
    public func waitUntilCommitted(_ count: Int, timeout: Duration) -> Bool {
        let semaphore = DispatchSemaphore(value: 0)
        let done: Bool = lock.withLock {
            if let last = commitLog.last, last.statistics.scored + last.statistics.deadLettered >= count { return true }
            if failure != nil { return true }
            waiters.append((count, semaphore))
            return false
        }
        if done { return true }
        return semaphore.wait(timeout: .now() + timeout.seconds) == .success && failure == nil
    }

    /// Asks it to stop and waits until it has committed and left the group.
    public func stop() {
        runtime.requestStop()
        finished.wait()
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Handbook {
    /// Runtime options as `vigil run` makes them from the topology's `processing` section.
    public static func options(for topology: Topology, kafka: KafkaConfiguration, instanceID: String, overlapsCommit: Bool = true) -> RuntimeOptions {
        var options = RuntimeOptions(kafka: kafka, instanceID: instanceID)
        options.apply(topology.processing)
        options.overlapsCommit = overlapsCommit
        options.sessionTimeout = .seconds(2)
        // The bench's broker is Tansu, which shows records of aborted transactions and does not
        // assign partitions to static members.
        options.brokerShowsAbortedRecords = true
        options.staticMembership = false
        return options
    }

    /// Waits until `topic` exists (the runtime creates its outputs on its own thread); its partition count.
    public static func waitForTopic(_ topic: String, admin: Admin, within deadline: Duration = .seconds(60)) throws -> Int32 {
        var partitions = 0
        guard try waitUntil(within: deadline, { partitions = try admin.listTopics()[topic]?.partitionCount ?? 0; return partitions > 0 }) else {
            throw BenchError("topic \(topic) did not appear within \(deadline)")
        }
        return Int32(partitions)
    }

    /// Polls `condition` every `interval` until it holds (true) or `deadline` has passed (false).
    public static func waitUntil(within deadline: Duration, every interval: Duration = .milliseconds(50), _ condition: () throws -> Bool) rethrows -> Bool {
        let end = ContinuousClock.now + deadline
        while true {
            if try condition() { return true }
            guard ContinuousClock.now < end else { return false }
            Thread.sleep(forTimeInterval: interval.seconds)  // polling for a condition, with a deadline
        }
    }

    /// The transaction id of a handbook CSV line: its first field.
    public static func lineID(_ value: UnsafeRawBufferPointer?) -> Int? {
        guard let value, !value.isEmpty else { return nil }
        var result = 0
        for byte in value {
            if byte == UInt8(ascii: ",") { return result }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return nil
    }

    /// The `"id"` of a score record (Vigil's and the Quix peer's JSON both start with it) as an integer.
    public static func scoreID(_ value: UnsafeRawBufferPointer?) -> Int? {
        guard let value else { return nil }
        let prefix = Array(#"{"id":"#.utf8)
        guard value.count > prefix.count + 2, value.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var index = prefix.count
        if value[index] == UInt8(ascii: " ") { index += 1 }
        guard value[index] == UInt8(ascii: "\"") else { return nil }
        index += 1
        var result = 0
        var digits = 0
        while index < value.count, value[index] >= 48, value[index] <= 57 {
            result = result * 10 + Int(value[index] - 48)
            index += 1
            digits += 1
        }
        return digits > 0 && index < value.count && value[index] == UInt8(ascii: "\"") ? result : nil
    }
}
