import BenchSupport
import Foundation
import Logging
import VigilCodec
import VigilKafka

/// The key explosion through `vigil run` (a process of its own) against a broker: the
/// synthetic transactions are produced to a fresh source topic, then `vigil run` processes them
/// with exactly-once transactions, changelogs and snapshots, its resident memory sampled from
/// outside, beside the same number of events over the steady population. Shows that what the
/// runtime adds per key (changelog writer, record collector, undo records) is bounded by the
/// transaction, not by the keys it has seen.
struct RuntimeKeyExplosion {
    var bootstrap: String
    var vigil: String
    var metricsAddress: String
    var events: Int
    var keys: Int
    var maxKeys: Int
    /// processing.max_state_bytes in MiB (0: none).
    var maxStateMib: Int = 0
    var draw: SyntheticTransactions.KeyDraw
    var label: String
    var days: Int
    var stateTTLDays: Int
    var sampleInterval: Double

    struct Sample {
        var seconds: Double
        var rss: Int
        var scored: Double
        var keys: Double
        var evicted: Double
    }

    struct Outcome {
        var label: String
        var samples: [Sample]
        var seconds: Double
        var rssAtFirstScore: Int
        var rssPeak: Int
        var metrics: [String: Double]
    }

    func run() throws -> Outcome {
        let logger = Logger(label: "bench")
        let kafka = KafkaConfiguration(bootstrapServers: bootstrap)
        let name = "keys-\(label)-\(Int(Date().timeIntervalSince1970))"
        let maxKeys = self.maxKeys
        let byteBudget = maxStateMib > 0 ? "\n  max_state_bytes: \(maxStateMib)MiB" : ""
        let stateTTLDays = self.stateTTLDays
        let topologyPath = try Handbook.topologyFile(name: name) { text in
            text.replacingOccurrences(of: "max_keys: 1000000", with: "max_keys: \(maxKeys)\(byteBudget)")
                .replacingOccurrences(of: "state_ttl: 39d", with: "state_ttl: \(stateTTLDays)d")
        }
        let source = "\(name).transactions"
        try Admin(configuration: kafka, logger: logger).createTopics([NewTopic(name: source, partitions: 1)])
        // The whole stream's times, as in the in-process runs, over the first `events` events.
        let generator = SyntheticTransactions(events: events, draw: draw, startMillis: 1_522_540_800_000, spanMillis: Int64(days) * 86_400_000)
        let producer = try Producer(configuration: ProducerConfiguration(kafka: kafka), logger: logger)
        let lines = LineReader(source: generator)
        _ = try lines.next()  // the header
        while let line = try lines.next() {
            // Keyed by customer, the third field, as the handbook's records are.
            var commas = 0
            var start = 0
            var end = line.count
            for (index, byte) in line.enumerated() where byte == UInt8(ascii: ",") {
                commas += 1
                if commas == 2 { start = index + 1 }
                if commas == 3 { end = index; break }
            }
            try producer.send(ProducerRecord(topic: source, key: Array(line[start..<end]), value: Array(line)))
        }
        try producer.flush(timeout: .seconds(600))
        FileHandle.standardError.write(Data("runtime \(label): \(events) events produced to \(source)\n".utf8))

        let vigilProcess = try VigilProcess(executable: vigil, topologyPath: topologyPath, bootstrap: bootstrap, instanceID: "\(name)-a",
                                            metricsAddress: metricsAddress)
        defer { vigilProcess.stop() }
        let start = ContinuousClock.now
        var samples: [Sample] = []
        var metrics: [String: Double] = [:]
        var lastScrape = start - .seconds(10)
        var done: Double?
        while ContinuousClock.now - start < .seconds(1800) {
            if ContinuousClock.now - lastScrape >= .seconds(1) {
                lastScrape = .now
                if let scraped = vigilProcess.scrapeMetrics() { metrics = scraped }
            }
            let now = (ContinuousClock.now - start).seconds
            samples.append(Sample(seconds: now, rss: vigilProcess.residentBytes, scored: metrics["vigil_events_out_total"] ?? 0,
                                  keys: metrics["vigil_state_keys"] ?? 0, evicted: metrics["vigil_keys_evicted_total"] ?? 0))
            if samples.count % 40 == 0 {
                FileHandle.standardError.write(Data("runtime \(label): \(Int(now)) s, scored \(Int(metrics["vigil_events_out_total"] ?? 0)), RSS \(samples.last!.rss >> 20) MiB, keys \(Int(metrics["vigil_state_keys"] ?? 0))\n".utf8))
            }
            // Every event has its score (produced in a transaction; the stop commits the last one).
            if (metrics["vigil_events_out_total"] ?? 0) + (metrics["vigil_events_dead_lettered_total"] ?? 0) >= Double(events) {
                done = now
                break
            }
            guard vigilProcess.process.isRunning else { throw BenchError("vigil ended; see \(vigilProcess.logPath)") }
            Thread.sleep(forTimeInterval: sampleInterval)  // the sampling period
        }
        guard let done else { throw BenchError("vigil did not score all \(events) events within 30 minutes; see \(vigilProcess.logPath)") }
        let firstScored = samples.first { $0.scored > 0 }
        return Outcome(label: label, samples: samples, seconds: done - (firstScored?.seconds ?? 0), rssAtFirstScore: firstScored?.rss ?? 0,
                       rssPeak: samples.map(\.rss).max() ?? 0, metrics: metrics)
    }
}
