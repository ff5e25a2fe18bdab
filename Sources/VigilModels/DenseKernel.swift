import COpenBLAS
import CVigilKernels
import Foundation

/// A compiled dense network (logistic regression, MLP) that scores a batch with OpenBLAS.
///
/// Each layer is one gemm over the batch (`activations · weights`) followed by a single pass
/// that adds the bias and applies the activation; a batch of one row uses gemv instead.
/// Narrow layers (both sides at most ``smallLayerLimit`` wide, the usual fraud model) use
/// Vigil's own small-GEMM microkernels (`CVigilKernels`, AVX-512 or AVX2 chosen at run time)
/// instead of OpenBLAS, whose kernel choice depends on recognising the processor: Debian's
/// 0.3.21 falls back to its SSE3 kernels on current Xeons (bench/README.md, "Model kernels"). All
/// buffers are allocated at load time for ``chunkRows`` rows, and larger batches are scored in
/// chunks of that many rows, so scoring never allocates.
///
/// Precision: ``Precision/double`` (dgemm) reproduces scikit-learn, which computes in float64,
/// to about 1e-15; ``Precision/single`` (sgemm) matches ONNX Runtime on float32 ONNX models.
/// The loader picks double for Vigil's JSON format and single for ONNX files (see
/// ``ModelLoader/Options``). A NaN input makes the row's score NaN: dense models have no
/// missing-value rule.
public struct DenseKernel: ScoringKernel {
    /// The arithmetic the kernel computes in.
    public enum Precision: String, Sendable, CaseIterable {
        /// float32: OpenBLAS sgemm/sgemv.
        case single
        /// float64: OpenBLAS dgemm/dgemv.
        case double
    }

    public let inputNames: [String]
    public let precision: Precision
    /// The most rows scored by one gemm; larger batches are split.
    public let chunkRows: Int
    /// The layers' widths, inputs first (for example [15, 64, 64, 1]).
    public let layerWidths: [Int]
    /// The widest layer (inputs or outputs) that Vigil's microkernels compute; wider layers
    /// go to OpenBLAS.
    public static let smallLayerLimit = 256
    /// The instruction set of Vigil's microkernels on this processor: avx512, avx2 or portable.
    public static var microkernelInstructionSet: String { String(cString: vigil_gemm_isa()) }
    var single: DenseNetwork<Float>?
    var double: DenseNetwork<Double>?

    init(spec: DenseModelSpec, precision: Precision, chunkRows: Int = 512) throws(ModelFormatError) {
        try spec.validate()
        inputNames = spec.inputNames
        self.precision = precision
        self.chunkRows = max(1, chunkRows)
        layerWidths = [spec.layers[0].inputs] + spec.layers.map(\.outputs)
        switch precision {
        case .single: single = DenseNetwork(spec: spec, chunkRows: self.chunkRows)
        case .double: double = DenseNetwork(spec: spec, chunkRows: self.chunkRows)
        }
    }

    public mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        let featureCount = inputNames.count
        precondition(rows.count >= rowCount * featureCount, "rows holds fewer than rowCount × inputNames.count values")
        precondition(scores.count >= rowCount, "scores holds fewer than rowCount values")
        guard rowCount > 0, let rowBase = rows.baseAddress, let scoreBase = scores.baseAddress else { return }
        var start = 0
        while start < rowCount {
            let count = min(chunkRows, rowCount - start)
            let input = rowBase + start * featureCount
            let output = scoreBase + start
            // Optional chaining mutates the payload in place, so the buffers are not copied.
            single?.score(input, count: count, into: output)
            double?.score(input, count: count, into: output)
            start += count
        }
    }
}

/// The numeric types OpenBLAS has gemm and gemv for.
protocol BLASScalar: BinaryFloatingPoint, Sendable {
    init(_ value: Double)
    var asDouble: Double { get }
    static func gemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Self>, weights: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>)
    static func gemv(inputs: Int, outputs: Int, weights: UnsafePointer<Self>, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)
    /// gemm by Vigil's microkernels, for narrow layers.
    /// c = a · weights + bias, clamped at 0 when `relu` (Vigil's microkernels, bias and ReLU fused).
    static func smallGemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Self>, weights: UnsafePointer<Self>,
                          bias: UnsafePointer<Self>, relu: Bool, c: UnsafeMutablePointer<Self>)
    static func exponential(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
}

extension Float: BLASScalar {
    var asDouble: Double { Double(self) }
    static func gemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Float>, weights: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(rows), blasint(outputs), blasint(inputs),
                    1, a, blasint(inputs), weights, blasint(outputs), 0, c, blasint(outputs))
    }
    static func gemv(inputs: Int, outputs: Int, weights: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasTrans, blasint(inputs), blasint(outputs), 1, weights, blasint(outputs), x, 1, 0, y, 1)
    }
    static func smallGemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                          bias: UnsafePointer<Float>, relu: Bool, c: UnsafeMutablePointer<Float>) {
        vigil_gemm_f32(rows, inputs, outputs, a, weights, bias, relu ? 1 : 0, c)
    }
    static func exponential(_ x: Float) -> Float { expf(x) }
    static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
}

extension Double: BLASScalar {
    var asDouble: Double { self }
    static func gemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Double>, weights: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(rows), blasint(outputs), blasint(inputs),
                    1, a, blasint(inputs), weights, blasint(outputs), 0, c, blasint(outputs))
    }
    static func gemv(inputs: Int, outputs: Int, weights: UnsafePointer<Double>, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_dgemv(CblasRowMajor, CblasTrans, blasint(inputs), blasint(outputs), 1, weights, blasint(outputs), x, 1, 0, y, 1)
    }
    static func smallGemm(rows: Int, inputs: Int, outputs: Int, a: UnsafePointer<Double>, weights: UnsafePointer<Double>,
                          bias: UnsafePointer<Double>, relu: Bool, c: UnsafeMutablePointer<Double>) {
        vigil_gemm_f64(rows, inputs, outputs, a, weights, bias, relu ? 1 : 0, c)
    }
    static func exponential(_ x: Double) -> Double { exp(x) }
    static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
}

/// The weights and scratch buffers of a ``DenseKernel`` in one precision.
struct DenseNetwork<Scalar: BLASScalar> {
    struct Layer {
        var inputs: Int
        var outputs: Int
        var weights: [Scalar]
        var bias: [Scalar]
        var activation: DenseModelSpec.Activation
        /// What the activation pass adds after a microkernel, which has added the bias already.
        var noBias: [Scalar]
    }

    let layers: [Layer]
    let outputIndex: Int
    let chunkRows: Int
    /// Two ping-pong activation buffers of chunkRows × the widest layer (the input included).
    var front: [Scalar]
    var back: [Scalar]

    init(spec: DenseModelSpec, chunkRows: Int) {
        layers = spec.layers.map {
            Layer(inputs: $0.inputs, outputs: $0.outputs, weights: $0.weights.map(Scalar.init),
                  bias: $0.bias.map(Scalar.init), activation: $0.activation, noBias: [Scalar](repeating: 0, count: $0.outputs))
        }
        outputIndex = spec.outputIndex
        self.chunkRows = chunkRows
        let widest = spec.layers.map { max($0.inputs, $0.outputs) }.max() ?? 1
        front = [Scalar](repeating: 0, count: chunkRows * widest)
        back = [Scalar](repeating: 0, count: chunkRows * widest)
    }

    mutating func score(_ rows: UnsafePointer<Double>, count: Int, into scores: UnsafeMutablePointer<Double>) {
        let layers = self.layers
        let outputIndex = self.outputIndex
        front.withUnsafeMutableBufferPointer { front in
            back.withUnsafeMutableBufferPointer { back in
                var input = front.baseAddress!
                var output = back.baseAddress!
                let inputWidth = layers[0].inputs
                if Scalar.self == Double.self {
                    // float64 rows are already in the kernel's precision: the first gemm reads them in place.
                    Self.forward(layers[0], rows: count, input: UnsafeRawPointer(rows).assumingMemoryBound(to: Scalar.self), output: output)
                } else {
                    for index in 0..<(count * inputWidth) { input[index] = Scalar(rows[index]) }
                    Self.forward(layers[0], rows: count, input: input, output: output)
                }
                for layer in layers.dropFirst() {
                    swap(&input, &output)
                    Self.forward(layer, rows: count, input: input, output: output)
                }
                let width = layers[layers.count - 1].outputs
                for row in 0..<count {
                    scores[row] = output[row * width + outputIndex].asDouble
                }
            }
        }
    }

    /// One layer: gemm (gemv for one row), then bias and activation in one pass.
    static func forward(_ layer: Layer, rows: Int, input: UnsafePointer<Scalar>, output: UnsafeMutablePointer<Scalar>) {
        // The microkernels add the bias and apply ReLU themselves (one pass over the output).
        let fused = rows > 1 && layer.inputs <= DenseKernel.smallLayerLimit && layer.outputs <= DenseKernel.smallLayerLimit
        layer.weights.withUnsafeBufferPointer { weights in
            layer.bias.withUnsafeBufferPointer { bias in
                if rows == 1 {
                    Scalar.gemv(inputs: layer.inputs, outputs: layer.outputs, weights: weights.baseAddress!, x: input, y: output)
                } else if fused {
                    Scalar.smallGemm(rows: rows, inputs: layer.inputs, outputs: layer.outputs, a: input, weights: weights.baseAddress!,
                                     bias: bias.baseAddress!, relu: layer.activation == .relu, c: output)
                } else {
                    Scalar.gemm(rows: rows, inputs: layer.inputs, outputs: layer.outputs, a: input, weights: weights.baseAddress!, c: output)
                }
            }
        }
        if fused && (layer.activation == .identity || layer.activation == .relu) { return }
        let width = layer.outputs
        // After the microkernels the bias is in already.
        (fused ? layer.noBias : layer.bias).withUnsafeBufferPointer { bias in
            for row in 0..<rows {
                let values = output + row * width
                switch layer.activation {
                case .identity:
                    for j in 0..<width { values[j] += bias[j] }
                case .relu:
                    for j in 0..<width { values[j] = max(values[j] + bias[j], 0) }
                case .tanh:
                    for j in 0..<width { values[j] = Scalar.hyperbolicTangent(values[j] + bias[j]) }
                case .sigmoid:
                    for j in 0..<width { values[j] = 1 / (1 + Scalar.exponential(-(values[j] + bias[j]))) }
                case .softmax:
                    var largest = -Scalar.infinity
                    for j in 0..<width {
                        values[j] += bias[j]
                        largest = max(largest, values[j])
                    }
                    var total: Scalar = 0
                    for j in 0..<width {
                        values[j] = Scalar.exponential(values[j] - largest)
                        total += values[j]
                    }
                    for j in 0..<width { values[j] /= total }
                }
            }
        }
    }
}
