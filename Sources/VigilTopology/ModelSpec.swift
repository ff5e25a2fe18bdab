/// The model that scores a topology's feature rows.
public struct ModelSpec: Sendable, Equatable {
    /// The model file, relative to the topology file's folder unless absolute.
    public var path: String
    /// The model's inputs in its column order: source fields, derived features or stage features.
    public var inputs: [String]
    /// A version tag written with every score.
    public var version: String

    public init(path: String, inputs: [String], version: String) {
        self.path = path
        self.inputs = inputs
        self.version = version
    }
}
