/// One reason for an event's score: a model input, its value, and how much it moved the
/// margin (its TreeSHAP contribution; positive pushes the score up).
public struct ReasonCode: Sendable, Equatable {
    /// The model input's name.
    public var feature: String
    /// The event's value of it (NaN when missing).
    public var value: Double
    /// Its contribution to the margin (log-odds for a logistic model).
    public var contribution: Double

    public init(feature: String, value: Double, contribution: Double) {
        self.feature = feature
        self.value = value
        self.contribution = contribution
    }
}
