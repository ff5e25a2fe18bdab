/// How far a feature has drifted in a window, by its PSI against the feature's thresholds.
public enum DriftSeverity: String, Codable, Sendable, Comparable, CaseIterable {
    /// Below the moderate threshold, or too few values in the window to judge.
    case none
    /// At or above the moderate threshold, below the major one.
    case moderate
    /// At or above the major threshold.
    case major

    private var rank: Int {
        switch self {
        case .none: 0
        case .moderate: 1
        case .major: 2
        }
    }

    public static func < (lhs: DriftSeverity, rhs: DriftSeverity) -> Bool { lhs.rank < rhs.rank }
}
