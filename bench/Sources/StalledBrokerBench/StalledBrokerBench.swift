// StalledBrokerBench: a broker that stops answering while input keeps arriving (issue 15,
// "slow or stuck downstream"). `vigil run` (the real executable, a process of its own) runs the
// card-fraud topology against the bench's broker while this process produces handbook
// transactions to its source topic at a steady rate; midway the broker process is frozen with
// SIGSTOP for a while and then let go with SIGCONT. The bench samples vigil's resident memory
// (/proc/PID/statm) and its /metrics throughout, waits until every event is scored or
// dead-lettered, stops vigil (which commits), and reads the scores and dead letters back:
// every transaction id must be there.
//
//   scripts/broker start 19720
//   cd bench && swift build -c release --product StalledBrokerBench && \
//     .build/release/StalledBrokerBench --bootstrap 127.0.0.1:19720
import ArgumentParser
import BenchSupport
import Foundation
import Logging
import VigilKafka
import VigilTopology

@main
struct StalledBrokerBench: ParsableCommand {
    @Option(help: "The broker (one of scripts/broker's).")
    var bootstrap = "127.0.0.1:19720"

    @Option(help: "The broker's pid (default: scripts/broker's pid file for the bootstrap's port).")
    var brokerPid: Int32?

    @Option(help: "The vigil executable.")
    var vigil = "../.build/release/vigil"

    @Option(help: "Where vigil serves /metrics.")
    var metricsAddress = "127.0.0.1:19726"

    @Option(help: "Events produced per second.")
    var rate = 4000

    @Option(help: "Seconds of input before the broker stops.")
    var before = 20.0

    @Option(parsing: .upToNextOption, help: "Seconds the broker stays stopped (SIGSTOP), one run each.")
    var stalls: [Double] = [20, 60]

    @Option(help: "Seconds of input after it resumes.")
    var after = 30.0

    @Option(parsing: .upToNextOption, help: "librdkafka properties for vigil (`--property`), e.g. queued.max.messages.kbytes=16384.")
    var vigilProperty: [String] = []

    @Option(help: "Seconds between resident-memory samples.")
    var sampleInterval = 0.25

    @Option(help: "Where to write the SVG charts (STALL: the run's stall in seconds).")
    var svg = "figures/stalled-broker-STALLs.svg"

    struct Sample {
        var seconds: Double
        var rss: Int
        var produced: Int
        var metrics: [String: Double]
    }

    func run() throws {
        for stall in stalls { try measure(stall: stall) }
    }

    func measure(stall: Double) throws {
        let logger = Logger(label: "bench")
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap)
        let port = bootstrap.split(separator: ":").last.map(String.init) ?? "19092"
        let pid = try brokerPid ?? Self.brokerPid(port: port)
        let name = "stall-\(Int(Date().timeIntervalSince1970))"
        let topologyPath = try Handbook.topologyFile(name: name)
        let topology = try TopologyLoader.load(path: topologyPath)
        let source = topology.source.topics[0]
        try Admin(configuration: kafka, logger: logger).createTopics([NewTopic(name: source, partitions: 1)])
        let total = Int(Double(rate) * (before + stall + after))
        let events = try Handbook.transactions(total)
        let uptimeBefore = ResidentMemory.uptime()

        let vigilProcess = try VigilProcess(executable: vigil, topologyPath: topologyPath, bootstrap: bootstrap, instanceID: "\(name)-a",
                                            metricsAddress: metricsAddress,
                                            extra: vigilProperty.flatMap { ["--property", $0] })
        let vigilPid = vigilProcess.pid
        let log = vigilProcess.logPath
        FileHandle.standardError.write(Data("vigil pid \(vigilPid), log \(log); broker pid \(pid)\n".utf8))

        // The input: `rate` events a second from a thread of its own, whatever the broker does
        // (while it is stopped the producer's own queue holds them, in this process, not vigil's).
        let produced = ProducedCount()
        let producerDone = DispatchSemaphore(value: 0)
        let producerThread = Thread {
            defer { producerDone.signal() }
            do {
                let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
                let start = ContinuousClock.now
                let perTick = max(1, rate / 100)
                var index = 0
                while index < events.count {
                    // Pacing the generator (10 ms ticks), not synchronisation.
                    let due = start + .milliseconds(10 * (index / perTick))
                    if ContinuousClock.now < due { Thread.sleep(forTimeInterval: (due - ContinuousClock.now).seconds) }
                    let end = min(events.count, index + perTick)
                    for event in events[index..<end] {
                        try producer.send(ProducerRecord(topic: source, key: Array(event.customer.utf8), value: Array(event.line.utf8)))
                    }
                    index = end
                    produced.set(index)
                }
                try producer.flush(timeout: .seconds(300))
            } catch {
                FileHandle.standardError.write(Data("producer: \(error)\n".utf8))
            }
        }
        producerThread.start()

        var samples: [Sample] = []
        let start = ContinuousClock.now
        var stoppedAt: Double?
        var resumedAt: Double?
        var lastScrape = start - .seconds(10)
        var lastMetrics: [String: Double] = [:]
        var scoredAll: Double?
        defer { if stoppedAt != nil && resumedAt == nil { kill(pid, SIGCONT) } }
        let deadline = start + .seconds(before + stall + after + 300)
        while ContinuousClock.now < deadline {
            let now = (ContinuousClock.now - start).seconds
            if stoppedAt == nil, now >= before {
                guard kill(pid, SIGSTOP) == 0 else { throw BenchError("cannot stop the broker (pid \(pid))") }
                stoppedAt = now
                FileHandle.standardError.write(Data("broker stopped at \(String(format: "%.1f", now)) s\n".utf8))
            }
            if let stoppedAt, resumedAt == nil, now >= stoppedAt + stall {
                kill(pid, SIGCONT)
                resumedAt = now
                FileHandle.standardError.write(Data("broker resumed at \(String(format: "%.1f", now)) s\n".utf8))
            }
            if ContinuousClock.now - lastScrape >= .seconds(1) {
                lastScrape = .now
                if let scraped = vigilProcess.scrapeMetrics() { lastMetrics = scraped }
            }
            samples.append(Sample(seconds: now, rss: vigilProcess.residentBytes, produced: produced.value, metrics: lastMetrics))
            // Done when the input is all produced and every event has its score or dead letter
            // (produced in a transaction; the stop below commits the last one).
            if resumedAt != nil, produced.value == events.count,
               (lastMetrics["vigil_events_out_total"] ?? 0) + (lastMetrics["vigil_events_dead_lettered_total"] ?? 0) >= Double(events.count) {
                scoredAll = now
                break
            }
            guard vigilProcess.process.isRunning else { throw BenchError("vigil ended (status \(vigilProcess.process.terminationStatus)); see \(log)") }
            Thread.sleep(forTimeInterval: sampleInterval)  // the sampling period
        }
        producerDone.wait()
        vigilProcess.stop()
        let uptimeAfter = ResidentMemory.uptime()

        // Every event scored or dead-lettered: read both topics back (read_committed).
        let reader = PartitionReader(kafka: kafka, logger: logger)
        var scoreRecords = 0
        var scoredIDs = Set<Int>()
        let admin = try Admin(configuration: kafka, logger: logger)
        let topics = try admin.listTopics()
        for topic in [topology.outputs.scoresTopic, topology.outputs.deadLetterTopic] {
            let partitions = topics[topic]?.partitionCount ?? 0
            let starts = Dictionary(uniqueKeysWithValues: (0..<Int32(partitions)).map { (TopicPartition(topic, $0), KafkaOffset.beginning) })
            try reader.read(starts) { message in
                scoreRecords += topic == topology.outputs.scoresTopic ? 1 : 0
                let id = message.value.flatMap { value in
                    value.withUnsafeBytes { bytes in topic == topology.outputs.scoresTopic ? Handbook.scoreID(bytes) : Handbook.lineID(bytes) }
                }
                if let id { scoredIDs.insert(id) }
            }
        }
        let expected = Set(events.compactMap { Int($0.id) })
        let missing = expected.subtracting(scoredIDs).count

        report(stall: stall, samples: samples, stoppedAt: stoppedAt ?? .nan, resumedAt: resumedAt ?? .nan, scoredAll: scoredAll,
               total: events.count, scoreRecords: scoreRecords, distinct: scoredIDs.intersection(expected).count, missing: missing,
               uptimeBefore: uptimeBefore, uptimeAfter: uptimeAfter, log: log)
        try chart(stall: stall, samples: samples, stoppedAt: stoppedAt ?? 0, resumedAt: resumedAt ?? 0)
    }

    func report(stall: Double, samples: [Sample], stoppedAt: Double, resumedAt: Double, scoredAll: Double?, total: Int, scoreRecords: Int,
                distinct: Int, missing: Int, uptimeBefore: String, uptimeAfter: String, log: String) {
        func mib(_ bytes: Int) -> String { String(format: "%.0f", Double(bytes) / 1_048_576) }
        func phase(_ name: String, _ range: Range<Double>) -> String {
            let inside = samples.filter { range.contains($0.seconds) }
            guard let first = inside.first, let last = inside.last else { return "| \(name) | – | – | – | – | – |" }
            let rss = inside.map(\.rss).sorted()
            let out = (last.metrics["vigil_events_out_total"] ?? 0) - (first.metrics["vigil_events_out_total"] ?? 0)
            return "| \(name) | \(String(format: "%.1f–%.1f", first.seconds, last.seconds)) | \(mib(rss.first!)) | \(mib(rss[rss.count / 2])) | \(mib(rss.last!)) | \(Int(out)) |"
        }
        let end = samples.last?.seconds ?? 0
        print("StalledBrokerBench: `vigil run`\(vigilProperty.isEmpty ? "" : " with " + vigilProperty.joined(separator: ", ")) (card-fraud, 1 source partition) at \(rate) events/s of input for \(String(format: "%.0f", before + stall + after)) s; the broker stopped (SIGSTOP) for \(String(format: "%.0f", stall)) s; RSS of the vigil process; vigil's log: \(log)")
        print()
        print("uptime before: \(uptimeBefore)")
        print()
        print("| phase | seconds | RSS min (MiB) | RSS median (MiB) | RSS max (MiB) | score records produced (vigil_events_out_total) |")
        print("|---|---|---:|---:|---:|---:|")
        print(phase("before the stop", 0..<stoppedAt))
        print(phase("broker stopped", stoppedAt..<resumedAt))
        print(phase("after it resumes", resumedAt..<(end + 1)))
        print()
        // Input not yet scored (produced minus vigil_events_out_total), and when it first fell
        // below one second of input after the broker came back.
        let lags = samples.map { (seconds: $0.seconds, lag: Double($0.produced) - ($0.metrics["vigil_events_out_total"] ?? 0)) }
        let maxLag = lags.map(\.lag).max() ?? 0
        let caughtUp = lags.first { $0.seconds > resumedAt && $0.lag <= Double(rate) }.map { String(format: "%.1f s after the broker resumed", $0.seconds - resumedAt) } ?? "never"
        print("Largest backlog (produced, not yet scored): \(Int(maxLag)) events; back within one second of input: \(caughtUp).")
        let last = samples.last?.metrics ?? [:]
        let recovery = scoredAll.map { String(format: "%.1f s after the broker resumed", $0 - resumedAt) } ?? "NOT within the deadline"
        print("Events produced: \(total); every one scored or dead-lettered (vigil's counters): \(recovery). Transaction ids scored or dead-lettered: \(distinct) of \(total) (missing: \(missing)); score records read (read_committed; Tansu also shows records of aborted transactions): \(scoreRecords).")
        print("vigil metrics at the end: transactions committed \(Int(last["vigil_transactions_committed_total"] ?? 0)), aborted \(Int(last["vigil_transactions_aborted_total"] ?? 0)), back-pressure pauses \(Int(last["vigil_backpressure_pauses_total"] ?? 0)), rebalances \(Int(last["vigil_rebalances_total"] ?? 0)).")
        print()
        print("uptime after: \(uptimeAfter)")
        print()
    }

    func chart(stall: Double, samples: [Sample], stoppedAt: Double, resumedAt: Double) throws {
        let markers = [(x: stoppedAt, label: "SIGSTOP"), (x: resumedAt, label: "SIGCONT")]
        let chart = TimeSeriesChart(title: "vigil run while the broker stops answering for \(Int(stall)) s", xLabel: "seconds", panels: [
            .init(title: "Resident memory of the vigil process (MiB)", yLabel: "MiB",
                  series: [.init(name: "vigil RSS", colour: TimeSeriesChart.palette[1], points: samples.map { ($0.seconds, Double($0.rss) / 1_048_576) })],
                  markers: markers),
            .init(title: "Events produced, and scored (vigil_events_out_total), thousands", yLabel: "events (k)", series: [
                .init(name: "produced (input)", colour: TimeSeriesChart.palette[0], points: samples.map { ($0.seconds, Double($0.produced) / 1000) }),
                .init(name: "scored", colour: TimeSeriesChart.palette[2],
                      points: samples.map { ($0.seconds, ($0.metrics["vigil_events_out_total"] ?? 0) / 1000) }),
            ], markers: markers),
        ])
        let path = svg.replacingOccurrences(of: "STALL", with: String(Int(stall)))
        try chart.svg().write(toFile: path, atomically: true, encoding: .utf8)
        print("Chart: \(path)")
    }

    // MARK: Helpers

    static func brokerPid(port: String) throws -> Int32 {
        let path = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/vigil/broker-\(port).pid").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw BenchError("no broker pid file at \(path): start it with scripts/broker start \(port), or pass --broker-pid")
        }
        return pid
    }
}
