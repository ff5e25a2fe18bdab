/// One numeric feature's (or the score's) drift in one window, as it appears in a
/// ``DriftRecord``. The statistics are absent when the window had no non-missing value.
public struct NumericDrift: Codable, Sendable, Equatable {
    /// Feature name.
    public var feature: String
    /// Non-missing values in the window.
    public var count: Int
    /// Share of the window's events whose value was missing (NaN or infinite).
    public var missingShare: Double
    /// Window mean.
    public var mean: Double?
    /// Window population standard deviation.
    public var std: Double?
    /// Window minimum.
    public var min: Double?
    /// Window maximum.
    public var max: Double?
    /// Share of the window's values in each of the reference's bins.
    public var binProportions: [Double]?
    /// Population stability index over the reference bins (smoothing: see
    /// ``DriftStatistics/populationStabilityIndex(expected:actual:floor:)``).
    public var psi: Double?
    /// Kolmogorov–Smirnov statistic against the reference sketch.
    public var ks: Double?
    /// Jensen–Shannon distance (base 2) between the reference and window bin proportions.
    public var jensenShannon: Double?
    /// Wasserstein-1 distance against the reference sketch, in the feature's units.
    public var wasserstein: Double?
    /// `wasserstein` divided by the reference standard deviation; absent when that is 0.
    public var wassersteinNormalized: Double?
    /// Severity by PSI.
    public var severity: DriftSeverity

    /// A drift entry with no statistics yet.
    public init(feature: String, count: Int, missingShare: Double, severity: DriftSeverity) {
        self.feature = feature
        self.count = count
        self.missingShare = missingShare
        self.severity = severity
    }
}
