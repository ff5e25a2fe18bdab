// AnomalyBench: the anomaly detectors' throughput on one core through the pipeline that
// `vigil run` and `vigil replay` drive (per-key state in the feature engine), and the Isolation
// Forest kernel's, on a stream bench/python/anomaly_bench.py writes (key, time, eight channels).
// Decoding is done first and not timed. Prints one JSON object per line for the Python script,
// which sets them beside River's detectors and scikit-learn in the same run.
import ArgumentParser
import Foundation
import VigilCodec
import VigilFeatures
import VigilModels
import VigilPipeline
import VigilTopology

struct AnomalyBench: ParsableCommand {
    @Option(help: "The stream: CSV with key,time,x0..x7 (time in epoch ms).")
    var input: String

    @Option(help: "An Isolation Forest in Vigil's JSON form over x0..x7 (scripts/export-isolation-forest).")
    var iforest: String?

    @Option(help: "Timed repetitions (the best is reported).")
    var repetitions = 3

    @Option(help: "Events per micro-batch.")
    var batchSize = 4096

    static let channels = (0..<8).map { "x\($0)" }

    static func topology(_ detector: String) throws -> Topology {
        let fields = channels.map { "\($0): double" }.joined(separator: ", ")
        let limits = channels.map { "\($0): [0, 1]" }.joined(separator: ", ")
        let detectors: [String: String] = [
            "pca_baseline": "{ name: D, kind: pca_baseline, fields: [\(channels.joined(separator: ", "))], baseline: 400, smoothing: 0.3, confidence: 0.9999, average: 15 }",
            "gaussian_tail": "{ name: D, kind: gaussian_tail, fields: [x0] }",
            "half_space_trees": "{ name: D, kind: half_space_trees, fields: [\(channels.joined(separator: ", "))], trees: 10, height: 8, window: 250, seed: 42, limits: { \(limits) } }",
        ]
        let yaml = """
        name: bench
        source:
          topics: [bench]
          format: csv
          key: key
          timestamp: { field: time, format: epoch_millis }
          fields: { key: int, time: int, \(fields) }
        stages:
          - name: s
            key: key
            detectors:
              - \(detectors[detector]!)
        model:
          score: D
        processing:
          state_ttl: 3650d
        """
        return try TopologyLoader.load(yaml: yaml, file: "\(detector).yaml")
    }

    /// The stream decoded into `pipeline`'s batches (not timed), and its rows of x0..x7.
    func decode(_ text: [UInt8], for pipeline: Pipeline) throws -> (batches: [EventBatch], rows: [[Double]]) {
        let decoder = pipeline.makeDecoder()
        let reader = CSVReader(source: MemoryByteSource(text, name: input))
        guard try reader.next() else { throw ValidationError("\(input) is empty") }
        let binding = try decoder.bind(header: reader.strings(), file: input)
        var rows: [[Double]] = []
        var batches: [EventBatch] = []
        var batch = pipeline.makeBatch(capacity: batchSize)
        while try reader.next() {
            if let problem = decoder.appendCSV(reader, binding: binding, provenance: Provenance(partition: -1, offset: Int64(reader.lineNumber)), to: &batch) {
                throw ValidationError("\(input):\(reader.lineNumber): \(problem)")
            }
            rows.append((0..<8).map { reader.double($0 + 2) ?? .nan })
            if batch.count == batchSize { batches.append(batch); batch.removeAll() }
        }
        if batch.count > 0 { batches.append(batch) }
        return (batches, rows)
    }

    func run() throws {
        let text = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input)))
        var rows: [[Double]] = []
        var events = 0
        for detector in ["pca_baseline", "gaussian_tail", "half_space_trees"] {
            let topology = try Self.topology(detector)
            var best = Double.infinity
            var footprint: StateFootprint?
            var snapshotBytes = 0
            var checksum = 0.0
            for _ in 0..<repetitions {
                let pipeline = try Pipeline(topology: topology, recordsUndo: false)
                var work: [EventBatch]
                (work, rows) = try decode(text, for: pipeline)
                let start = DispatchTime.now().uptimeNanoseconds
                var sum = 0.0
                for index in work.indices {
                    let output = pipeline.process(&work[index])
                    for score in output.scores where score.isFinite { sum += score }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                best = min(best, seconds)
                events = rows.count
                checksum = sum
                let engine = pipeline.engines[0]
                footprint = engine.footprint
                snapshotBytes = engine.allKeys.reduce(0) { $0 + (engine.snapshot(key: $1)?.count ?? 0) }
            }
            print(#"{"detector": "\#(detector)", "events": \#(events), "seconds": \#(best), "events_per_second": \#(Double(events) / best), "keys": \#(footprint?.keyCount ?? 0), "state_bytes_per_key": \#(footprint?.bytesPerKey ?? 0), "snapshot_bytes_per_key": \#(Double(snapshotBytes) / Double(max(1, footprint?.keyCount ?? 0))), "score_sum": \#(checksum)}"#)
        }

        if let iforest {
            var kernel = try ModelLoader.load(path: iforest)
            let flat = rows.flatMap { $0 }
            var scores = [Double](repeating: .nan, count: batchSize)
            var best = Double.infinity
            var checksum = 0.0
            for _ in 0..<repetitions {
                let start = DispatchTime.now().uptimeNanoseconds
                var sum = 0.0
                flat.withUnsafeBufferPointer { all in
                    scores.withUnsafeMutableBufferPointer { out in
                        var row = 0
                        while row < events {
                            let count = min(batchSize, events - row)
                            kernel.score(rows: UnsafeBufferPointer(rebasing: all[(row * 8)..<((row + count) * 8)]), rowCount: count, into: out)
                            for index in 0..<count { sum += out[index] }
                            row += count
                        }
                    }
                }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                checksum = sum
            }
            print(#"{"detector": "isolation_forest", "events": \#(events), "seconds": \#(best), "events_per_second": \#(Double(events) / best), "keys": 0, "state_bytes_per_key": 0, "snapshot_bytes_per_key": 0, "score_sum": \#(checksum)}"#)
        }
    }
}

AnomalyBench.main()
