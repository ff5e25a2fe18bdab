import Foundation

/// Loads a model file into the kernel that scores it.
///
/// ```swift
/// var kernel = try ModelLoader.load(path: "topologies/models/card-fraud-xgboost.json")
/// try InputNameCheck(model: kernel.inputNames, available: featureNames).requireComplete(file: path)
/// kernel.score(rows: rows, rowCount: n, into: scores)
/// ```
/// Every failure is a ``ModelLoadError`` naming the file and what is wrong; no input crashes
/// the loader.
public enum ModelLoader {
    /// Choices made when compiling a model; the defaults are the measured best.
    public struct Options: Sendable, Equatable {
        /// The format, or nil to detect it from the file's content and extension.
        public var format: ModelFormat?
        /// Node order of tree ensembles.
        public var treeLayout: TreeEnsembleKernel.Layout
        /// How tree ensembles are scored (QuickScorer where it applies, or the walk).
        public var treeTraversal: TreeEnsembleKernel.Traversal
        /// Precision of dense models, or nil for the format's own: single (sgemm) for Vigil's
        /// JSON and float32 ONNX files, double for float64 ONNX files. Single stays within 1e-6
        /// of scikit-learn on the fidelity fixtures; choose double for unscaled inputs large
        /// enough that float32 cannot carry them to 1e-6.
        public var densePrecision: DenseKernel.Precision?

        /// Creates options; every parameter has its documented default.
        public init(format: ModelFormat? = nil, treeLayout: TreeEnsembleKernel.Layout = .depthFirst,
                    treeTraversal: TreeEnsembleKernel.Traversal = .automatic, densePrecision: DenseKernel.Precision? = nil) {
            self.format = format
            self.treeLayout = treeLayout
            self.treeTraversal = treeTraversal
            self.densePrecision = densePrecision
        }
    }

    /// Loads the model at `path`.
    public static func load(path: String, options: Options = Options()) throws(ModelLoadError) -> any ScoringKernel {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelLoadError(file: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        return try load(bytes: [UInt8](data), name: path, options: options)
    }

    /// Loads a model from `bytes`; `name` stands for the file in errors and format detection.
    public static func load(bytes: [UInt8], name: String, options: Options = Options()) throws(ModelLoadError) -> any ScoringKernel {
        guard !bytes.isEmpty else { throw ModelLoadError(file: name, reason: "the file is empty") }
        guard let format = options.format ?? ModelFormat.detect(bytes: bytes, fileName: name) else {
            throw ModelLoadError(file: name, reason: "not a model Vigil reads (expected XGBoost JSON, LightGBM text, Vigil dense or Isolation Forest JSON, or ONNX)")
        }
        do {
            switch format {
            case .xgboostJSON:
                return try TreeEnsembleKernel(spec: XGBoostModelReader.read(bytes), layout: options.treeLayout, traversal: options.treeTraversal)
            case .lightGBMText:
                return try TreeEnsembleKernel(spec: LightGBMModelReader.read(bytes), layout: options.treeLayout, traversal: options.treeTraversal)
            case .vigilDenseJSON:
                return try DenseKernel(spec: DenseModelReader.read(bytes), precision: options.densePrecision ?? .single)
            case .onnx:
                let (spec, isDouble) = try ONNXModelReader.read(bytes)
                return try DenseKernel(spec: spec, precision: options.densePrecision ?? (isDouble ? .double : .single))
            case .vigilIsolationForestJSON:
                return try IsolationForestKernel(json: bytes)
            }
        } catch {
            throw ModelLoadError(file: name, reason: "not a valid \(format) model: \(error.reason)")
        }
    }
}

extension ModelLoader {
    /// Loads the tree ensemble at `path` (XGBoost JSON or LightGBM text) for explanations
    /// (``TreeExplainer``); other formats, and files without cover statistics, are an error.
    public static func loadExplainer(path: String) throws(ModelLoadError) -> TreeExplainer {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ModelLoadError(file: path, reason: "cannot read the file (\(error.localizedDescription))")
        }
        let bytes = [UInt8](data)
        guard let format = ModelFormat.detect(bytes: bytes, fileName: path) else {
            throw ModelLoadError(file: path, reason: "not a model Vigil reads (expected XGBoost JSON, LightGBM text, Vigil dense JSON or ONNX)")
        }
        do throws(ModelFormatError) {
            switch format {
            case .xgboostJSON: return try TreeExplainer(spec: XGBoostModelReader.read(bytes))
            case .lightGBMText: return try TreeExplainer(spec: LightGBMModelReader.read(bytes))
            case .vigilDenseJSON, .onnx, .vigilIsolationForestJSON:
                throw ModelFormatError("explanations (TreeSHAP) need a tree ensemble (XGBoost or LightGBM); this is a \(format) model")
            }
        } catch {
            throw ModelLoadError(file: path, reason: "cannot explain this \(format) model: \(error.reason)")
        }
    }
}
