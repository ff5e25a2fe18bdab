/// PSI thresholds of one feature. A window's PSI at or above `moderate` is moderate drift,
/// at or above `major` major drift.
public struct DriftThresholds: Codable, Sendable, Equatable {
    /// Moderate-drift threshold (default 0.1, the customary "some shift" level).
    public let moderate: Double
    /// Major-drift threshold (default 0.25, the customary "significant shift" level).
    public let major: Double

    /// Throws unless `0 < moderate ≤ major`, both finite.
    public init(moderate: Double = 0.1, major: Double = 0.25) throws {
        guard moderate.isFinite, major.isFinite, moderate > 0, moderate <= major else {
            throw DriftError.invalidConfiguration(
                "PSI thresholds need 0 < moderate ≤ major, got moderate \(moderate), major \(major)")
        }
        self.init(checkedModerate: moderate, major: major)
    }

    private init(checkedModerate moderate: Double, major: Double) {
        self.moderate = moderate
        self.major = major
    }

    /// The defaults: 0.1 moderate, 0.25 major.
    public static let standard = DriftThresholds(checkedModerate: 0.1, major: 0.25)

    /// The severity of a PSI value.
    public func severity(psi: Double) -> DriftSeverity {
        if psi >= major { return .major }
        if psi >= moderate { return .moderate }
        return .none
    }

    /// The threshold a severity stands for (nil for `.none`).
    public func threshold(for severity: DriftSeverity) -> Double? {
        switch severity {
        case .none: nil
        case .moderate: moderate
        case .major: major
        }
    }
}
