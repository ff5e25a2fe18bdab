import Foundation
import Testing
@testable import VigilModels

/// Vigil's small-GEMM microkernels against a plain float64 forward pass: shapes that exercise
/// the register tiles, leftover rows and leftover outputs, and a layer wide enough for OpenBLAS.
@Suite struct DenseMicrokernelTests {
    static func network(widths: [Int], seed: UInt64) -> DenseModelSpec {
        var generator = SplitMix64(seed: seed)
        var layers: [DenseModelSpec.Layer] = []
        for (index, (inputs, outputs)) in zip(widths, widths.dropFirst()).enumerated() {
            let scale = 1 / Double(inputs).squareRoot()
            layers.append(DenseModelSpec.Layer(
                inputs: inputs, outputs: outputs,
                weights: (0..<(inputs * outputs)).map { _ in generator.uniform() * scale },
                bias: (0..<outputs).map { _ in generator.uniform() * 0.1 },
                activation: index == widths.count - 2 ? .sigmoid : .relu))
        }
        return DenseModelSpec(inputNames: (0..<widths[0]).map { "x\($0)" }, layers: layers, outputIndex: 0)
    }

    static func reference(_ spec: DenseModelSpec, row: ArraySlice<Double>) -> Double {
        var values = Array(row)
        for layer in spec.layers {
            var next = layer.bias
            for j in 0..<layer.outputs {
                for k in 0..<layer.inputs { next[j] += values[k] * layer.weights[k * layer.outputs + j] }
                switch layer.activation {
                case .relu: next[j] = max(next[j], 0)
                case .sigmoid: next[j] = 1 / (1 + exp(-next[j]))
                default: Issue.record("unexpected activation")
                }
            }
            values = next
        }
        return values[0]
    }

    @Test(arguments: [[15, 64, 64, 1], [7, 33, 17, 5], [20, 300, 40, 1]])
    func microkernelsMatchAPlainForwardPass(widths: [Int]) throws {
        let spec = Self.network(widths: widths, seed: UInt64(widths.reduce(0, +)))
        var generator = SplitMix64(seed: 7)
        for rowCount in [2, 7, 64, 130] {
            let rows = (0..<(rowCount * widths[0])).map { _ in generator.uniform() * 3 }
            let expected = (0..<rowCount).map { Self.reference(spec, row: rows[($0 * widths[0])..<(($0 + 1) * widths[0])]) }
            for (precision, tolerance) in [(DenseKernel.Precision.double, 1e-12), (.single, 1e-5)] {
                var kernel = try DenseKernel(spec: spec, precision: precision)
                let scores = kernel.score(rows)
                let worst = zip(scores, expected).map { abs($0 - $1) }.max() ?? .nan
                #expect(worst <= tolerance, "\(widths) \(precision) rows \(rowCount) on \(DenseKernel.microkernelInstructionSet): worst \(worst)")
            }
        }
    }
}

extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}
