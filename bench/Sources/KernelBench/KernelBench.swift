// KernelBench: events/s of Vigil's scoring kernels at several batch sizes.
//
// Run by bench/python/kernel_bench.py, which trains the models, writes the rows and sets the
// kernels beside ONNX Runtime and the training libraries in one table. Standalone:
//   swift run -c release KernelBench --rows rows.f64 --model xgb=models/xgb.json ...
// Prints one tab-separated line per (model, variant, batch): name, variant, batch, events/s.
// Peers compiled to shared libraries (TL2cgen's C, lleaves' LLVM object code) are measured the
// same way with --peer NAME=KIND:PATH, called through dlopen (CompiledPeer): variant
// `peer:<library file name>`.
import ArgumentParser
import Foundation
import VigilModels

@main
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Events/s of Vigil's model kernels by batch size.")

    @Option(help: "Row pool: little-endian float64, row-major, the models' input count per row.")
    var rows: String

    @Option(help: "Number of inputs per row.")
    var inputs: Int = 15

    @Option(parsing: .upToNextOption, help: "NAME=PATH of each model to measure.")
    var model: [String]

    @Option(parsing: .upToNextOption, help: "Batch sizes.")
    var batch: [Int] = [1, 64, 256, 1024]

    @Option(help: "Seconds of scoring per measurement (best of three runs of a third each).")
    var seconds: Double = 1.5

    @Flag(help: "Also measure the other tree layout and dense precision.")
    var variants = false

    @Flag(help: "Divide by the thread's CPU time instead of wall time (for A/B runs on a busy machine).")
    var cpuTime = false

    @Option(parsing: .upToNextOption, help: "NAME=KIND:PATH of a peer's compiled model (KIND tl2cgen or lleaves) for model NAME.")
    var peer: [String] = []

    func run() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: rows))
        let pool: [Double] = data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        let poolRows = pool.count / inputs
        guard poolRows >= (batch.max() ?? 1) else { throw ValidationError("the row pool is smaller than the largest batch") }
        for entry in model {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--model takes NAME=PATH") }
            var configurations: [(String, ModelLoader.Options)] = [("default", .init())]
            if variants {
                // Each applies to one kind of kernel; the others are skipped below.
                configurations += [
                    ("breadthFirst", .init(treeLayout: .breadthFirst, treeTraversal: .walk)),
                    ("walk", .init(treeTraversal: .walk)),
                    ("quickScorer", .init(treeTraversal: .quickScorer)),
                    ("rankedScan", .init(treeTraversal: .rankedScan)),
                    ("sgemm", .init(densePrecision: .single)),
                    ("dgemm", .init(densePrecision: .double)),
                ]
            }
            for (variant, options) in configurations {
                var kernel = try ModelLoader.load(path: parts[1], options: options)
                if ["breadthFirst", "walk", "quickScorer", "rankedScan"].contains(variant), !(kernel is TreeEnsembleKernel) { continue }
                if variant == "sgemm" || variant == "dgemm", !(kernel is DenseKernel) { continue }
                guard kernel.inputNames.count == inputs else {
                    throw ValidationError("\(parts[1]) has \(kernel.inputNames.count) inputs, the rows \(inputs)")
                }
                for size in batch {
                    let rate = measure(pool: pool, poolRows: poolRows, batch: size) { rows, count, scores in
                        kernel.score(rows: UnsafeBufferPointer(start: rows, count: count * inputs), rowCount: count,
                                     into: UnsafeMutableBufferPointer(start: scores, count: count))
                    }
                    print("\(parts[0])\t\(variant)\t\(size)\t\(Int(rate))")
                }
            }
            for entry in peer where entry.hasPrefix(parts[0] + "=") {
                let spec = entry.dropFirst(parts[0].count + 1)
                guard let colon = spec.firstIndex(of: ":"), let kind = CompiledPeer.Kind(rawValue: String(spec[..<colon])) else {
                    throw ValidationError("--peer takes NAME=KIND:PATH with KIND tl2cgen or lleaves")
                }
                let path = String(spec[spec.index(after: colon)...])
                let compiled = try CompiledPeer(kind: kind, path: path, inputs: inputs)
                let label = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                for size in batch {
                    let rate = measure(pool: pool, poolRows: poolRows, batch: size) { rows, count, scores in
                        compiled.score(rows: rows, rowCount: count, into: scores)
                    }
                    print("\(parts[0])\tpeer:\(label)\t\(size)\t\(Int(rate))")
                }
            }
        }
    }

    /// Events/s: the best of three timed runs, each scoring consecutive batches from the pool.
    func measure(pool: [Double], poolRows: Int, batch: Int,
                 score: (UnsafePointer<Double>, Int, UnsafeMutablePointer<Double>) -> Void) -> Double {
        var scores = [Double](repeating: 0, count: batch)
        var best = 0.0
        var checksum = 0.0
        let clock = ContinuousClock()
        func threadSeconds() -> Double {
            var spec = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
            return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
        }
        for _ in 0..<3 {
            let cpuBegan = threadSeconds()
            var start = 0
            var events = 0
            let began = clock.now
            let budget = Duration.seconds(seconds / 3)
            while clock.now - began < budget {
                for _ in 0..<max(1, 4096 / batch) {
                    if start + batch > poolRows { start = 0 }
                    pool.withUnsafeBufferPointer { pool in
                        scores.withUnsafeMutableBufferPointer { scores in
                            score(pool.baseAddress! + start * inputs, batch, scores.baseAddress!)
                        }
                    }
                    checksum += scores[0]
                    start += batch
                    events += batch
                }
            }
            let elapsed = clock.now - began
            let seconds = cpuTime ? threadSeconds() - cpuBegan
                : Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            best = max(best, Double(events) / seconds)
        }
        // Keeps the optimiser from dropping the scoring.
        if checksum.isNaN { FileHandle.standardError.write(Data("checksum NaN\n".utf8)) }
        return best
    }
}
