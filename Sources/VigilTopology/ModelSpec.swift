/// The model that scores a topology's feature rows: a model file, or (`score: NAME`) a
/// feature taken as the score as it is, such as an anomaly detector's output.
public struct ModelSpec: Sendable, Equatable {
    /// The model file, relative to the topology file's folder unless absolute ("" with ``scoreFeature``).
    public var path: String
    /// The feature that is the score, instead of a model file (its only input).
    public var scoreFeature: String?
    /// The model's inputs in its column order: source fields, derived features or stage features.
    public var inputs: [String]
    /// A version tag written with every score.
    public var version: String

    public init(path: String, inputs: [String], version: String) {
        self.path = path
        self.inputs = inputs
        self.version = version
    }

    /// A score that is the feature `name` as it is.
    public init(scoreFeature name: String, version: String) {
        path = ""
        inputs = [name]
        scoreFeature = name
        self.version = version
    }
}
