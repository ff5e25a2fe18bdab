public import Foundation

/// Raised for each feature (or the score) whose PSI in a closed window is at or above its
/// moderate threshold. Alerts are level-triggered, one per drifting feature per window;
/// `previousSeverity` lets a consumer keep only changes.
public struct DriftAlert: Codable, Sendable, Equatable {
    /// The `formatVersion` this build writes.
    public static let currentFormatVersion = 1

    /// Layout version of the alert.
    public var formatVersion: Int
    /// Always `"drift_alert"`.
    public var type: String
    /// Monitor name (usually the topology name).
    public var name: String
    /// Name of the reference profile compared with.
    public var profile: String
    /// Window start, inclusive, in milliseconds since the Unix epoch.
    public var windowStartMs: Int64
    /// Window end, exclusive, in milliseconds since the Unix epoch.
    public var windowEndMs: Int64
    /// Feature name (the score's profile name for the score).
    public var feature: String
    /// `"numeric"`, `"categorical"` or `"score"`.
    public var role: String
    /// The statistic compared with the threshold; `"psi"`.
    public var statistic: String
    /// Its value in the window.
    public var value: Double
    /// The threshold crossed (the highest one at or below `value`).
    public var threshold: Double
    /// `"moderate"` or `"major"`.
    public var severity: DriftSeverity
    /// The feature's severity in the previous closed window (`"none"` for the first).
    public var previousSeverity: DriftSeverity
    /// Non-missing values of the feature in the window.
    public var count: Int

    /// Compact JSON on one line with sorted keys.
    public func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
