public import Foundation

/// The training-time distribution of every monitored feature and of the score: what each
/// window of live traffic is compared with.
///
/// Stored as versioned JSON (`formatVersion`, currently 1); `docs/drift.md` documents every
/// field. Build one with ``ProfileBuilder``; read one with ``decode(from:)``, which rejects
/// unknown versions and files that break an invariant, naming the field.
public struct ReferenceProfile: Codable, Sendable, Equatable {
    /// The `formatVersion` this build writes and reads.
    public static let currentFormatVersion = 1

    /// Layout version of the JSON file.
    public var formatVersion: Int
    /// Name of the profile (usually the topology name).
    public var name: String
    /// Events added to the builder (including those with missing values).
    public var eventCount: Int
    /// Earliest event time seen, in milliseconds since the Unix epoch, when times were given.
    public var periodStartMs: Int64?
    /// Latest event time seen, in milliseconds since the Unix epoch, when times were given.
    public var periodEndMs: Int64?
    /// Configured number of quantile bins per numeric feature (before repeated edges are dropped).
    public var bins: Int
    /// Number of bins of each numeric feature's ``QuantileSketch``.
    public var sketchResolution: Int
    /// Numeric features, in the order the monitor expects them in a row.
    public var numeric: [NumericProfile]
    /// Categorical features, in the order the monitor expects them in a row.
    public var categorical: [CategoricalProfile]
    /// The model score's profile, when the builder was given scores.
    public var score: NumericProfile?

    /// Names of the numeric features, in row order.
    public var numericFeatures: [String] { numeric.map(\.feature) }
    /// Names of the categorical features, in row order.
    public var categoricalFeatures: [String] { categorical.map(\.feature) }

    /// Pretty-printed JSON with sorted keys, so that profiles diff well under version control.
    public func encodedJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a profile, checking its version first (so that a newer layout fails with a clear
    /// message rather than a missing-key error) and its invariants after.
    public static func decode(from data: Data) throws -> ReferenceProfile {
        struct VersionProbe: Decodable { var formatVersion: Int }
        let decoder = JSONDecoder()
        let version = try decoder.decode(VersionProbe.self, from: data).formatVersion
        guard version == currentFormatVersion else { throw DriftError.unsupportedFormatVersion(version) }
        let profile = try decoder.decode(ReferenceProfile.self, from: data)
        try profile.validate()
        return profile
    }

    /// Checks the invariants the monitor relies on; the error names the offending field.
    public func validate() throws {
        guard bins >= 2 else { throw DriftError.invalidProfile("bins must be at least 2") }
        var seen = Set<String>()
        for (index, feature) in numeric.enumerated() {
            guard seen.insert(feature.feature).inserted else { throw DriftError.duplicateFeature(feature.feature) }
            try feature.validate("numeric[\(index)] (\(feature.feature))")
        }
        for (index, feature) in categorical.enumerated() {
            guard seen.insert(feature.feature).inserted else { throw DriftError.duplicateFeature(feature.feature) }
            try feature.validate("categorical[\(index)] (\(feature.feature))")
        }
        if let score {
            guard seen.insert(score.feature).inserted else { throw DriftError.duplicateFeature(score.feature) }
            try score.validate("score (\(score.feature))")
        }
    }
}
