/// The "model" of a topology whose score is one of its features as it is (`model: {score:
/// NAME}`), such as an anomaly detector's output: it copies its one input.
public struct FeatureScoreKernel: ScoringKernel, Sendable {
    public let inputNames: [String]

    /// A kernel whose score is the feature `name`.
    public init(feature name: String) { inputNames = [name] }

    public mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        for row in 0..<rowCount { scores[row] = rows[row] }
    }
}
