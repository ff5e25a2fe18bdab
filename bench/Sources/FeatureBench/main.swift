// FeatureBench: the feature engine's throughput on the handbook's 1.75 M transactions through
// topologies/card-fraud.yaml (both stages, all 14 features). Decoding is done first and timed
// apart, so the figure compares with a peer computing features from an in-memory frame.
// Prints one JSON object; bench/python/feature_bench.py sets it beside pandas.
import ArgumentParser
import Foundation
import VigilCodec
import VigilFeatures
import VigilPipeline
import VigilTopology

struct FeatureBench: ParsableCommand {
    @Option(help: "The card-fraud topology.")
    var topology = "../topologies/card-fraud.yaml"

    @Option(help: "The transactions (CSV, optionally .lz4).")
    var input = "../../shared/data/fraud-handbook/transactions.csv.lz4"

    @Option(help: "Timed repetitions (the best is reported).")
    var repetitions = 3

    @Option(help: "Events per micro-batch.")
    var batchSize = 4096

    func run() throws {
        let loaded = try TopologyLoader.load(path: topology)
        let decodeStart = Date()
        let probe = try Pipeline(topology: loaded, recordsUndo: false)
        let decoder = probe.makeDecoder()
        let reader = CSVReader(source: try EncodedFile.openForReading(input))
        guard try reader.next() else { throw ValidationError("\(input) is empty") }
        let binding = try decoder.bind(header: reader.strings(), file: input)
        var batches: [EventBatch] = []
        var batch = probe.makeBatch(capacity: batchSize)
        var events = 0
        while try reader.next() {
            if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch) {
                throw ValidationError("\(input):\(reader.lineNumber): \(problem)")
            }
            events += 1
            if batch.count == batchSize { batches.append(batch); batch.removeAll() }
        }
        if batch.count > 0 { batches.append(batch) }
        let decodeSeconds = Date().timeIntervalSince(decodeStart)

        var best = Double.infinity
        var bestCPU = Double.infinity
        var footprints: [StateFootprint] = []
        var checksum = 0.0
        var featureHash: UInt64 = 0
        var lastPipeline: Pipeline?
        for _ in 0..<repetitions {
            let pipeline = try Pipeline(topology: loaded, recordsUndo: false)
            lastPipeline = pipeline
            var work = batches
            // Each batch gets its own storage before the clock starts.
            for index in work.indices { work[index].clearFeatures() }
            let start = DispatchTime.now().uptimeNanoseconds
            let cpuStart = Self.threadCPUSeconds()
            for index in work.indices { _ = pipeline.process(&work[index]) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            bestCPU = min(bestCPU, Self.threadCPUSeconds() - cpuStart)
            footprints = pipeline.engines.map(\.footprint)
            checksum = work.last!.features(of: work.last!.count - 1).reduce(0, +)
            featureHash = Self.hash(of: work)
        }
        // What a changelog record costs at the end of the history (state as mature as it gets):
        // every key's LZ4 snapshot, as the runtime writes one per key a transaction touched.
        var snapshotCount = 0, snapshotBytes = 0
        var snapshotSeconds = 0.0
        var snapshotByStage: [String: [String: Double]] = [:]
        if let pipeline = lastPipeline {
            let keysByStage = pipeline.engines.map(\.allKeys)
            for (stage, keys) in keysByStage.enumerated() {
                var bytes = 0
                let start = DispatchTime.now().uptimeNanoseconds
                for key in keys { bytes += pipeline.withSnapshot(stage: stage, key: key) { $0?.count ?? 0 } }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                snapshotByStage[loaded.stages[stage].name] = ["microseconds_per_key": seconds * 1e6 / Double(max(keys.count, 1)), "bytes_per_key": Double(bytes) / Double(max(keys.count, 1))]
                (snapshotSeconds, snapshotBytes, snapshotCount) = (snapshotSeconds + seconds, snapshotBytes + bytes, snapshotCount + keys.count)
            }
        }
        let stateBytes = footprints.map(\.bytes).reduce(0, +)
        let keys = footprints.map(\.keyCount).reduce(0, +)
        let result: [String: Any] = [
            "events": events,
            "seconds": best,
            "events_per_second": Double(events) / best,
            "cpu_seconds": bestCPU,
            "decode_seconds": decodeSeconds,
            "state_bytes": stateBytes,
            "keys": keys,
            "bytes_per_key": Double(stateBytes) / Double(max(keys, 1)),
            "bytes_per_key_by_stage": Dictionary(uniqueKeysWithValues: zip(loaded.stages.map(\.name), footprints.map(\.bytesPerKey))),
            "peak_rss_bytes": Self.peakResidentBytes(),
            "checksum": checksum,
            "features_fnv1a": String(featureHash, radix: 16),
            "snapshot_microseconds_per_key": snapshotSeconds * 1e6 / Double(max(snapshotCount, 1)),
            "snapshot_bytes_per_key": Double(snapshotBytes) / Double(max(snapshotCount, 1)),
            "snapshot_by_stage": snapshotByStage,
        ]
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// FNV-1a over the bit patterns of every event's features: equal hashes, bit-identical features.
    static func hash(of batches: [EventBatch]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for batch in batches {
            for index in 0..<batch.count {
                for value in batch.features(of: index) { hash = (hash ^ value.bitPattern) &* 0x100_0000_01b3 }
            }
        }
        return hash
    }

    /// CPU time of the calling thread: unlike the wall clock, it leaves out time the thread
    /// waited for the core while other processes ran on it.
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// The process's peak resident set (VmHWM), in bytes.
    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.filter(\.isNumber)
            return (Int(digits) ?? 0) * 1024
        }
        return 0
    }
}

FeatureBench.main()
