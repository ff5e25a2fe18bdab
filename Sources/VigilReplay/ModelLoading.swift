public import VigilModels
public import VigilTopology

/// The seam where a topology's model file becomes a ``ScoringKernel``. Model files and their
/// loading belong to the models issue (#4); until that lands, ``unavailable`` is the only
/// loader and replay writes features without scores (saying so).
public struct ModelLoader: Sendable {
    /// Loads the model of `spec` from the resolved file path.
    public let load: @Sendable (_ spec: ModelSpec, _ path: String) throws -> any ScoringKernel

    public init(load: @escaping @Sendable (_ spec: ModelSpec, _ path: String) throws -> any ScoringKernel) {
        self.load = load
    }

    /// A loader that loads nothing: model loading has not landed in this build.
    public static let unavailable = ModelLoader { spec, path in
        throw ModelLoadError(path: path, detail: "model loading is not part of this build yet (issue #4: `vigil score` and model kernels)")
    }
}

/// A model file that could not be turned into a kernel.
public struct ModelLoadError: Error, CustomStringConvertible {
    public var path: String
    public var detail: String

    public init(path: String, detail: String) {
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(path): \(detail)" }
}
