/// A dense network (logistic regression, MLP) as a reader understood it, before
/// ``DenseKernel`` compiles it.
struct DenseModelSpec: Sendable {
    enum Activation: String, Sendable, CaseIterable {
        case identity, relu, tanh, sigmoid, softmax
    }

    /// `y = activation(x · weights + bias)`.
    struct Layer: Sendable {
        var inputs: Int
        var outputs: Int
        /// Row-major `inputs × outputs`, the layout of scikit-learn's `coefs_`.
        var weights: [Double]
        var bias: [Double]
        var activation: Activation
    }

    var inputNames: [String]
    var layers: [Layer]
    /// Which output of the last layer is the score.
    var outputIndex: Int

    /// Folds `x' = (x - mean) / scale` into the first layer: W' = W / scale (per input row),
    /// b' = b - Σ (mean / scale) W.
    mutating func foldStandardization(mean: [Double], scale: [Double]) throws(ModelFormatError) {
        guard var first = layers.first else { throw ModelFormatError("the model has no layers") }
        guard mean.count == first.inputs, scale.count == first.inputs else {
            throw ModelFormatError("standardization has \(mean.count) means and \(scale.count) scales for \(first.inputs) inputs")
        }
        for input in 0..<first.inputs {
            guard scale[input] != 0, scale[input].isFinite, mean[input].isFinite else {
                throw ModelFormatError("standardization of input \(input) has scale \(scale[input]) and mean \(mean[input])")
            }
            for output in 0..<first.outputs {
                let weight = first.weights[input * first.outputs + output] / scale[input]
                first.weights[input * first.outputs + output] = weight
                first.bias[output] -= mean[input] * weight
            }
        }
        layers[0] = first
    }

    /// Checks shapes so that the kernel can trust them.
    func validate() throws(ModelFormatError) {
        guard !layers.isEmpty else { throw ModelFormatError("the model has no layers") }
        guard layers[0].inputs == inputNames.count, !inputNames.isEmpty else {
            throw ModelFormatError("\(inputNames.count) input names for a first layer of \(layers[0].inputs) inputs")
        }
        for (index, layer) in layers.enumerated() {
            guard layer.inputs > 0, layer.outputs > 0, layer.weights.count == layer.inputs * layer.outputs,
                  layer.bias.count == layer.outputs
            else {
                throw ModelFormatError("layer \(index): \(layer.weights.count) weights and \(layer.bias.count) biases do not fit \(layer.inputs) inputs × \(layer.outputs) outputs")
            }
            if index > 0, layer.inputs != layers[index - 1].outputs {
                throw ModelFormatError("layer \(index) takes \(layer.inputs) inputs but layer \(index - 1) gives \(layers[index - 1].outputs)")
            }
            guard layer.weights.allSatisfy(\.isFinite), layer.bias.allSatisfy(\.isFinite) else {
                throw ModelFormatError("layer \(index) has a weight or bias that is not finite")
            }
        }
        guard outputIndex >= 0, outputIndex < layers[layers.count - 1].outputs else {
            throw ModelFormatError("output index \(outputIndex) is outside the last layer's \(layers[layers.count - 1].outputs) outputs")
        }
    }
}
