public import Foundation

/// The drift of one closed window against the reference profile: one record per window on
/// the `<name>.drift` topic (and in the replay's drift file). `docs/drift.md` documents the
/// JSON field by field.
public struct DriftRecord: Codable, Sendable, Equatable {
    /// The `formatVersion` this build writes.
    public static let currentFormatVersion = 1

    /// Layout version of the record.
    public var formatVersion: Int
    /// Always `"drift"`, so that records and alerts can share a stream and still be told apart.
    public var type: String
    /// Monitor name (usually the topology name).
    public var name: String
    /// Name of the reference profile compared with.
    public var profile: String
    /// Window start, inclusive, in milliseconds since the Unix epoch.
    public var windowStartMs: Int64
    /// Window end, exclusive, in milliseconds since the Unix epoch.
    public var windowEndMs: Int64
    /// Events in the window.
    public var count: Int
    /// Events that arrived after their window had closed: counted here, in the window open
    /// when they arrived, but left out of every distribution.
    public var lateCount: Int
    /// Per numeric feature, in profile order.
    public var numeric: [NumericDrift]
    /// Per categorical feature, in profile order.
    public var categorical: [CategoricalDrift]
    /// The score's drift, when the profile has a score.
    public var score: NumericDrift?
    /// The highest severity among the features and the score.
    public var severity: DriftSeverity

    /// Compact JSON on one line with sorted keys: a Kafka record value or a line of a JSONL file.
    public func jsonLine() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
