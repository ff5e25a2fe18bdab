// Reason codes: the cost of an exact TreeSHAP explanation per event, beside scoring the same
// events, for the card-fraud model (XGBoost, 100 trees of depth 6) on one day of the handbook's
// transactions (2018-08-14, features from the replay). The peer, XGBoost's own
// predict(pred_contribs=True) on the same rows, is measured by python/explain_bench.py, which
// runs this executable and prints both. One thread; the figures are CPU time per event.
import ArgumentParser
import Foundation
import VigilModels
import VigilPipeline
import VigilReplay
import VigilTopology

@main
struct ExplainBench: ParsableCommand {
    @Option(help: "The card-fraud topology.")
    var topology = "../topologies/card-fraud.yaml"

    @Option(help: "The handbook's transactions.")
    var input = "../../shared/data/fraud-handbook/transactions.csv.lz4"

    @Option(help: "Write the model-input rows (CSV) here, for the Python peer.")
    var rowsOut: String?

    @Option(help: "Rounds over the rows.")
    var rounds = 3

    func run() throws {
        let loaded = try TopologyLoader.load(path: topology)
        let path = loaded.resolvedModelPath!
        var kernel = try ModelLoader.load(path: path)
        var explainer = try ModelLoader.loadExplainer(path: path)
        let from: Int64 = 1_534_204_800_000  // 2018-08-14
        var rows: [Double] = []
        let inputs = kernel.inputNames
        let layout = RowLayout(topology: loaded)
        let columns = inputs.map { layout.column(of: $0)! }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("explain-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = try EventReplay(topology: loaded).run(source: FileSource(path: input), outputPath: folder + "/rows.csv", from: from, until: from + 86_400_000,
                                                  observe: { batch, _, _ in
            for index in 0..<batch.count where batch.isLive(index) && batch.times[index] >= from {
                for column in columns { rows.append(batch.value(index, column: column)) }
            }
        })
        let count = rows.count / inputs.count
        if let rowsOut {
            var text = inputs.joined(separator: ",") + "\n"
            for row in 0..<count { text += rows[(row * inputs.count)..<((row + 1) * inputs.count)].map { $0.description }.joined(separator: ",") + "\n" }
            try text.write(toFile: rowsOut, atomically: true, encoding: .utf8)
        }
        func cpuSeconds() -> Double {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        }
        var contributions = [Double](repeating: 0, count: inputs.count + 1)
        var checksum = 0.0
        var explainBest = Double.infinity
        for _ in 0..<rounds {
            let start = cpuSeconds()
            rows.withUnsafeBufferPointer { rows in
                contributions.withUnsafeMutableBufferPointer { out in
                    for row in 0..<count {
                        explainer.contributions(row: UnsafeBufferPointer(rebasing: rows[(row * inputs.count)..<((row + 1) * inputs.count)]), into: out)
                        checksum += out[0]
                    }
                }
            }
            explainBest = min(explainBest, cpuSeconds() - start)
        }
        var scores = [Double](repeating: 0, count: count)
        var scoreBest = Double.infinity
        for _ in 0..<(rounds * 20) {
            let start = cpuSeconds()
            rows.withUnsafeBufferPointer { rows in
                scores.withUnsafeMutableBufferPointer { scores in
                    var first = 0
                    while first < count {
                        let size = min(1024, count - first)
                        kernel.score(rows: UnsafeBufferPointer(rebasing: rows[(first * inputs.count)..<((first + size) * inputs.count)]), rowCount: size,
                                     into: UnsafeMutableBufferPointer(rebasing: scores[first..<(first + size)]))
                        first += size
                    }
                }
            }
            scoreBest = min(scoreBest, cpuSeconds() - start)
        }
        print("rows\t\(count)")
        print("vigil_explain_us\t\(String(format: "%.1f", explainBest / Double(count) * 1e6))")
        print("vigil_score_us\t\(String(format: "%.3f", scoreBest / Double(count) * 1e6))")
        if checksum.isNaN { print("checksum\tNaN") }
    }
}
