/// One categorical feature's drift in one window, as it appears in a ``DriftRecord``. The
/// statistics are absent when the window had no non-missing value.
public struct CategoricalDrift: Codable, Sendable, Equatable {
    /// Feature name.
    public var feature: String
    /// Non-missing values in the window.
    public var count: Int
    /// Share of the window's events whose value was missing (nil).
    public var missingShare: Double
    /// Share of the window's values in categories the reference never saw.
    public var unseenShare: Double?
    /// Population stability index over the reference categories plus one bin for unseen ones.
    public var psi: Double?
    /// Jensen–Shannon distance (base 2) over the same bins.
    public var jensenShannon: Double?
    /// Chi-square goodness-of-fit statistic of the window counts against the reference
    /// shares (absent when there is a single bin).
    public var chiSquare: Double?
    /// Degrees of freedom of `chiSquare`.
    public var chiSquareDegreesOfFreedom: Int?
    /// Upper-tail p-value of `chiSquare`.
    public var chiSquarePValue: Double?
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
