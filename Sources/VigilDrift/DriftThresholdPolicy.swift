/// Which thresholds apply to which feature, and how many values a window needs before its
/// drift is judged at all.
public struct DriftThresholdPolicy: Sendable, Equatable {
    /// Thresholds of features without an override.
    public var standard: DriftThresholds
    /// Per-feature overrides, by feature name (the score by its profile name, `"score"` by default).
    public var perFeature: [String: DriftThresholds]
    /// Fewest non-missing values a feature needs in a window for its severity to be anything
    /// but `.none` (default 100). Statistics are still reported below it; the guard exists
    /// because PSI over a handful of values is mostly noise (a nearly empty last window at
    /// the end of a replay, say).
    public var minimumCount: Int

    /// A policy; ``DriftMonitor`` rejects a negative `minimumCount`.
    public init(
        standard: DriftThresholds = .standard, perFeature: [String: DriftThresholds] = [:], minimumCount: Int = 100
    ) {
        self.standard = standard
        self.perFeature = perFeature
        self.minimumCount = minimumCount
    }

    /// The thresholds of `feature`.
    public func thresholds(for feature: String) -> DriftThresholds { perFeature[feature] ?? standard }
}
