import VigilCodec
/// Reads Vigil's JSON format for dense models (logistic regression and MLPs).
///
/// ```json
/// {
///   "format": "vigil-dense",
///   "version": 1,
///   "inputs": ["amount", "count_1d"],
///   "standardize": {"mean": [31.2, 5.1], "scale": [12.0, 3.3]},
///   "layers": [
///     {"weights": [[0.1, -0.2], [0.3, 0.4]], "bias": [0.0, 0.1], "activation": "relu"},
///     {"weights": [[1.5], [-0.7]], "bias": [0.2], "activation": "sigmoid"}
///   ],
///   "output_index": 0
/// }
/// ```
/// - `inputs`: the model's input names, in row order.
/// - `standardize` (optional): scikit-learn StandardScaler's `mean_` and `scale_`; the model sees
///   `(x - mean) / scale`. It is folded into the first layer at load time.
/// - `layers`: each computes `activation(x · weights + bias)`; `weights` has one row per input
///   of the layer and one column per output (scikit-learn's `coefs_[i]`), `bias` one value per
///   output (`intercepts_[i]`). Activations: `identity`, `relu`, `tanh`, `sigmoid`, `softmax`
///   (softmax over the layer's outputs, for the last layer of a multi-class model).
/// - `output_index` (optional): which output of the last layer is the score; defaults to the
///   last one (the positive class of a softmax over two classes).
///
/// A logistic regression is one layer with `sigmoid`: `weights` = `coef_.T`, `bias` = `intercept_`.
enum DenseModelReader {
    static let formatName = "vigil-dense"

    static func read(_ bytes: [UInt8]) throws(ModelFormatError) -> DenseModelSpec {
        let root = try JSONValue.parseModel(bytes)
        guard try root.requireString("format", at: "") == formatName else {
            throw ModelFormatError(".format is not \"\(formatName)\"")
        }
        let version = try root.requireNumber("version", at: "")
        guard version == 1 else { throw ModelFormatError(".version \(version) is not supported (1 is)") }
        let inputs = try root.requireStrings("inputs", at: "")
        var layers: [DenseModelSpec.Layer] = []
        for (index, layer) in try root.requireArray("layers", at: "").enumerated() {
            let path = ".layers[\(index)]"
            let rows = try layer.requireArray("weights", at: path)
            var weights: [Double] = []
            var outputs = -1
            for (rowIndex, row) in rows.enumerated() {
                guard let values = row.array else { throw ModelFormatError("\(path).weights[\(rowIndex)] is not an array") }
                if outputs == -1 { outputs = values.count }
                guard values.count == outputs else {
                    throw ModelFormatError("\(path).weights[\(rowIndex)] has \(values.count) values, the first row \(outputs)")
                }
                for (column, value) in values.enumerated() {
                    guard let number = value.strictNumber else {
                        throw ModelFormatError("\(path).weights[\(rowIndex)][\(column)] is not a number")
                    }
                    weights.append(number)
                }
            }
            let name = try layer.requireString("activation", at: path)
            guard let activation = DenseModelSpec.Activation(rawValue: name) else {
                throw ModelFormatError("\(path).activation \"\(name)\" is not one of \(DenseModelSpec.Activation.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            layers.append(DenseModelSpec.Layer(inputs: rows.count, outputs: max(outputs, 0), weights: weights,
                                               bias: try layer.requireNumbers("bias", at: path), activation: activation))
        }
        guard let last = layers.last else { throw ModelFormatError(".layers is empty") }
        let outputIndex: Int
        if let index = root["output_index"] {
            guard let number = index.number, let integer = Int(exactly: number) else {
                throw ModelFormatError(".output_index is not an integer")
            }
            outputIndex = integer
        } else {
            outputIndex = last.outputs - 1
        }
        var spec = DenseModelSpec(inputNames: inputs, layers: layers, outputIndex: outputIndex)
        try spec.validate()
        if let standardize = root["standardize"] {
            try spec.foldStandardization(mean: try standardize.requireNumbers("mean", at: ".standardize"),
                                         scale: try standardize.requireNumbers("scale", at: ".standardize"))
        }
        return spec
    }
}
