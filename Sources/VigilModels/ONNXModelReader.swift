import Foundation

/// Reads the ONNX subset that scikit-learn's exporter (skl2onnx) writes for logistic
/// regressions and MLP classifiers, without an ONNX runtime.
///
/// The reader follows the chain of tensors from the graph's single input: `Scaler`
/// (StandardScaler, folded into the first layer), `Cast`, `MatMul` + `Add` or `Gemm` (a dense
/// layer), `Relu`/`Tanh`/`Sigmoid`/`Softmax`/`Identity` (its activation), `LinearClassifier` /
/// `LinearRegressor` (a layer with its post-transform). The chain ends where a tensor has
/// several consumers or an operator outside this set (skl2onnx's probability columns, ArgMax,
/// ZipMap, labels); the score is the positive class's probability: output 0 of a one-output
/// last layer, output 1 of a two-class one, the last class of a larger softmax unless the model's
/// metadata says otherwise.
///
/// ONNX names one tensor input, not its columns: the input names come from the model metadata
/// entry `vigil.input_names` (comma-separated; skl2onnx models can carry it through
/// `metadata_props`), else they are `<input>[0]`, `<input>[1]`, …. Metadata `vigil.output_index`
/// overrides the output index.
enum ONNXModelReader {
    struct Node {
        var inputs: [String] = []
        var outputs: [String] = []
        var opType = ""
        var attributes: [String: Attribute] = [:]
    }

    struct Attribute {
        var float: Float?
        var integer: Int64?
        var string: String?
        var floats: [Float] = []
        var integers: [Int64] = []
        var stringCount = 0
    }

    struct Tensor {
        var name = ""
        var dims: [Int64] = []
        var values: [Double] = []
        var isDouble = false
    }

    struct Graph {
        var nodes: [Node] = []
        var initializers: [String: Tensor] = [:]
        var inputs: [(name: String, width: Int64?)] = []
        var metadata: [String: String] = [:]
    }

    /// The model and whether its weights are float64 (else float32, computed in single precision).
    static func read(_ bytes: [UInt8]) throws(ModelFormatError) -> (spec: DenseModelSpec, isDouble: Bool) {
        let graph = try parseModel(bytes)
        let featureInputs = graph.inputs.filter { graph.initializers[$0.name] == nil }
        guard featureInputs.count == 1, let input = featureInputs.first else {
            throw ModelFormatError("the graph has \(featureInputs.count) inputs; one tensor input of all features is supported")
        }
        var consumers: [String: [Int]] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for name in Set(node.inputs) { consumers[name, default: []].append(index) }
        }

        var layers: [DenseModelSpec.Layer] = []
        var scaler: (offset: [Double], multiplier: [Double])?
        var outputIndex: Int?
        var isDouble = false
        var current = input.name
        var width = input.width.flatMap { $0 > 0 ? Int($0) : nil }
        var biasAdded = true

        chain: while let next = consumers[current], next.count == 1 {
            let node = graph.nodes[next[0]]
            let place = "\(node.opType) node producing '\(node.outputs.first ?? "?")'"
            func initializer(_ position: Int) throws(ModelFormatError) -> Tensor {
                guard position < node.inputs.count, let tensor = graph.initializers[node.inputs[position]] else {
                    throw ModelFormatError("\(place): input \(position) is not a constant")
                }
                if tensor.isDouble { isDouble = true }
                return tensor
            }
            func setActivation(_ activation: DenseModelSpec.Activation) throws(ModelFormatError) {
                guard let last = layers.indices.last, layers[last].activation == .identity else {
                    throw ModelFormatError("\(place): an activation must follow a dense layer")
                }
                layers[last].activation = activation
            }
            switch node.opType {
            case "Scaler":
                guard layers.isEmpty, scaler == nil, let features = width else {
                    throw ModelFormatError("\(place): a Scaler is supported only first, on an input of known width")
                }
                func broadcast(_ values: [Float], _ name: String) throws(ModelFormatError) -> [Double] {
                    if values.count == 1 { return Array(repeating: Double(values[0]), count: features) }
                    guard values.count == features else {
                        throw ModelFormatError("\(place): \(name) has \(values.count) values for \(features) inputs")
                    }
                    return values.map(Double.init)
                }
                let attributes = node.attributes
                scaler = (try broadcast(attributes["offset"]?.floats ?? [0], "offset"),
                          try broadcast(attributes["scale"]?.floats ?? [1], "scale"))
            case "Cast", "Identity":
                break
            case "MatMul":
                let weights = try initializer(1)
                guard weights.dims.count == 2, let inputs = Int(exactly: weights.dims[0]), let outputs = Int(exactly: weights.dims[1]) else {
                    throw ModelFormatError("\(place): weights are not a matrix")
                }
                layers.append(DenseModelSpec.Layer(inputs: inputs, outputs: outputs, weights: weights.values,
                                                   bias: Array(repeating: 0, count: max(outputs, 0)), activation: .identity))
                biasAdded = false
            case "Add":
                let bias = try initializer(node.inputs.first == current ? 1 : 0)
                guard let last = layers.indices.last, !biasAdded, layers[last].activation == .identity,
                      bias.values.count == layers[last].outputs
                else {
                    throw ModelFormatError("\(place): Add is supported only as the bias of a MatMul")
                }
                layers[last].bias = bias.values
                biasAdded = true
            case "Gemm":
                guard node.inputs.first == current, (node.attributes["transA"]?.integer ?? 0) == 0 else {
                    throw ModelFormatError("\(place): only Gemm(x, W, b) without transA is supported")
                }
                let weights = try initializer(1)
                let transposed = (node.attributes["transB"]?.integer ?? 0) != 0
                let alpha = Double(node.attributes["alpha"]?.float ?? 1)
                let beta = Double(node.attributes["beta"]?.float ?? 1)
                guard weights.dims.count == 2, let rows = Int(exactly: weights.dims[0]), let columns = Int(exactly: weights.dims[1]),
                      rows > 0, columns > 0, weights.values.count == rows * columns
                else {
                    throw ModelFormatError("\(place): weights are not a matrix")
                }
                let (inputs, outputs) = transposed ? (columns, rows) : (rows, columns)
                var matrix = [Double](repeating: 0, count: inputs * outputs)
                for i in 0..<inputs {
                    for o in 0..<outputs {
                        matrix[i * outputs + o] = alpha * (transposed ? weights.values[o * columns + i] : weights.values[i * columns + o])
                    }
                }
                var bias = [Double](repeating: 0, count: outputs)
                if node.inputs.count > 2 {
                    let c = try initializer(2)
                    guard c.values.count == outputs || c.values.count == 1 else {
                        throw ModelFormatError("\(place): bias has \(c.values.count) values for \(outputs) outputs")
                    }
                    bias = (0..<outputs).map { beta * c.values[c.values.count == 1 ? 0 : $0] }
                }
                layers.append(DenseModelSpec.Layer(inputs: inputs, outputs: outputs, weights: matrix, bias: bias, activation: .identity))
                biasAdded = true
            case "Relu": try setActivation(.relu)
            case "Tanh": try setActivation(.tanh)
            case "Sigmoid": try setActivation(.sigmoid)
            case "Softmax": try setActivation(.softmax)
            case "LinearClassifier", "LinearRegressor":
                guard let features = layers.last?.outputs ?? width, features > 0 else {
                    throw ModelFormatError("\(place): the input width is unknown")
                }
                let coefficients = node.attributes["coefficients"]?.floats.map(Double.init) ?? []
                let intercepts = node.attributes["intercepts"]?.floats.map(Double.init) ?? []
                guard !coefficients.isEmpty, coefficients.count % features == 0 else {
                    throw ModelFormatError("\(place): \(coefficients.count) coefficients for \(features) inputs")
                }
                let outputs = coefficients.count / features
                guard intercepts.isEmpty || intercepts.count == outputs else {
                    throw ModelFormatError("\(place): \(intercepts.count) intercepts for \(outputs) outputs")
                }
                // ONNX stores one row of coefficients per class; the layer wants inputs × outputs.
                var matrix = [Double](repeating: 0, count: features * outputs)
                for o in 0..<outputs {
                    for i in 0..<features { matrix[i * outputs + o] = coefficients[o * features + i] }
                }
                let transform = node.attributes["post_transform"]?.string ?? "NONE"
                let activation: DenseModelSpec.Activation
                switch transform {
                case "NONE": activation = .identity
                case "LOGISTIC": activation = .sigmoid
                case "SOFTMAX": activation = .softmax
                default: throw ModelFormatError("\(place): post_transform \(transform) is not supported")
                }
                layers.append(DenseModelSpec.Layer(inputs: features, outputs: outputs, weights: matrix,
                                                   bias: intercepts.isEmpty ? Array(repeating: 0, count: outputs) : intercepts,
                                                   activation: activation))
                outputIndex = outputs == 2 ? 1 : outputs - 1
                break chain
            default:
                break chain
            }
            if let last = layers.last { width = last.outputs }
            guard let output = node.outputs.first, !output.isEmpty else { throw ModelFormatError("\(place) has no output") }
            current = output
        }

        guard let last = layers.last else {
            throw ModelFormatError("found no dense layer (MatMul, Gemm or LinearClassifier) after the input '\(input.name)'")
        }
        if let text = graph.metadata["vigil.output_index"] {
            guard let index = Int(text) else { throw ModelFormatError("metadata vigil.output_index \"\(text)\" is not an integer") }
            outputIndex = index
        }
        let featureCount = layers[0].inputs
        let names: [String]
        if let list = graph.metadata["vigil.input_names"] {
            names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        } else {
            names = (0..<featureCount).map { "\(input.name)[\($0)]" }
        }
        var spec = DenseModelSpec(inputNames: names, layers: layers,
                                  outputIndex: outputIndex ?? (last.outputs == 2 ? 1 : last.outputs - 1))
        try spec.validate()
        if let scaler {
            try spec.foldStandardization(mean: scaler.offset, scale: scaler.multiplier.map { 1 / $0 })
        }
        return (spec, isDouble)
    }

    // MARK: - Protobuf messages

    static func parseModel(_ bytes: [UInt8]) throws(ModelFormatError) -> Graph {
        var reader = ProtobufReader(bytes[...])
        var graph: Graph?
        var metadata: [String: String] = [:]
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (7, .bytes(let data)):
                graph = try parseGraph(data)
            case (14, .bytes(let data)):
                var entry = ProtobufReader(data)
                var key = "", text = ""
                while let (entryField, entryValue) = try entry.next() {
                    if entryField == 1 { key = entryValue.string ?? "" }
                    if entryField == 2 { text = entryValue.string ?? "" }
                }
                metadata[key] = text
            default:
                break
            }
        }
        guard var graph else { throw ModelFormatError("not an ONNX model: no graph") }
        graph.metadata = metadata
        return graph
    }

    static func parseGraph(_ data: ArraySlice<UInt8>) throws(ModelFormatError) -> Graph {
        var reader = ProtobufReader(data)
        var graph = Graph()
        while let (field, value) = try reader.next() {
            guard case .bytes(let data) = value else { continue }
            switch field {
            case 1: graph.nodes.append(try parseNode(data))
            case 5:
                let tensor = try parseTensor(data)
                graph.initializers[tensor.name] = tensor
            case 11: graph.inputs.append(try parseValueInfo(data))
            default: break
            }
        }
        return graph
    }

    static func parseNode(_ data: ArraySlice<UInt8>) throws(ModelFormatError) -> Node {
        var reader = ProtobufReader(data)
        var node = Node()
        while let (field, value) = try reader.next() {
            switch field {
            case 1: node.inputs.append(value.string ?? "")
            case 2: node.outputs.append(value.string ?? "")
            case 4: node.opType = value.string ?? ""
            case 5:
                guard case .bytes(let data) = value else { continue }
                let (name, attribute) = try parseAttribute(data)
                node.attributes[name] = attribute
            default: break
            }
        }
        return node
    }

    static func parseAttribute(_ data: ArraySlice<UInt8>) throws(ModelFormatError) -> (String, Attribute) {
        var reader = ProtobufReader(data)
        var name = ""
        var attribute = Attribute()
        while let (field, value) = try reader.next() {
            switch field {
            case 1: name = value.string ?? ""
            case 2: attribute.float = try value.floats().first
            case 3: attribute.integer = value.integer
            case 4: attribute.string = value.string
            case 7: attribute.floats += try value.floats()
            case 8: attribute.integers += try value.integers()
            case 9: attribute.stringCount += 1
            default: break
            }
        }
        return (name, attribute)
    }

    static func parseTensor(_ data: ArraySlice<UInt8>) throws(ModelFormatError) -> Tensor {
        var reader = ProtobufReader(data)
        var tensor = Tensor()
        var dataType: Int64 = 0
        var raw: ArraySlice<UInt8>?
        var floats: [Float] = [], doubles: [Double] = [], integers: [Int64] = []
        while let (field, value) = try reader.next() {
            switch field {
            case 1: tensor.dims += try value.integers()
            case 2: dataType = value.integer ?? 0
            case 4: floats += try value.floats()
            case 5, 7: integers += try value.integers()
            case 8: tensor.name = value.string ?? ""
            case 9: if case .bytes(let data) = value { raw = data }
            case 10: doubles += try value.doubles()
            default: break
            }
        }
        switch dataType {
        case 1:  // FLOAT
            if let raw { floats = try ProtobufReader.Value.bytes(raw).floats() }
            tensor.values = floats.map(Double.init)
        case 11:  // DOUBLE
            if let raw { doubles = try ProtobufReader.Value.bytes(raw).doubles() }
            tensor.values = doubles
            tensor.isDouble = true
        default:
            // Integer and string tensors (class labels, shapes) are not weights; keep what is cheap.
            tensor.values = integers.map(Double.init)
        }
        let expected = tensor.dims.reduce(Int64(1)) { $0.multipliedReportingOverflow(by: max($1, 0)).partialValue }
        if dataType == 1 || dataType == 11, Int64(tensor.values.count) != expected {
            throw ModelFormatError("tensor '\(tensor.name)' has \(tensor.values.count) values for shape \(tensor.dims)")
        }
        return tensor
    }

    static func parseValueInfo(_ data: ArraySlice<UInt8>) throws(ModelFormatError) -> (name: String, width: Int64?) {
        var reader = ProtobufReader(data)
        var name = ""
        var dims: [Int64?] = []
        while let (field, value) = try reader.next() {
            if field == 1 { name = value.string ?? "" }
            guard field == 2, case .bytes(let typeData) = value else { continue }
            // TypeProto.tensor_type(1).shape(2).dim(1).dim_value(1)
            var typeReader = ProtobufReader(typeData)
            while let (typeField, typeValue) = try typeReader.next() {
                guard typeField == 1, case .bytes(let tensorData) = typeValue else { continue }
                var tensorReader = ProtobufReader(tensorData)
                while let (tensorField, tensorValue) = try tensorReader.next() {
                    guard tensorField == 2, case .bytes(let shapeData) = tensorValue else { continue }
                    var shapeReader = ProtobufReader(shapeData)
                    while let (shapeField, shapeValue) = try shapeReader.next() {
                        guard shapeField == 1, case .bytes(let dimData) = shapeValue else { continue }
                        var dimReader = ProtobufReader(dimData)
                        var dim: Int64?
                        while let (dimField, dimValue) = try dimReader.next() {
                            if dimField == 1 { dim = dimValue.integer }
                        }
                        dims.append(dim)
                    }
                }
            }
        }
        return (name, dims.count == 2 ? dims[1] : nil)
    }
}
