/// Accumulates the values of a reference (training) period and turns them into a
/// ``ReferenceProfile``.
///
/// Quantiles are exact: the builder keeps every non-missing numeric value (8 bytes per value
/// per feature, so O(n) memory; a week of the card-fraud handbook, 67 k events × 15 columns,
/// is about 8 MB) and sorts them once in ``build()``. It runs offline over a bounded period,
/// which is why exactness is preferred to a streaming sketch here.
public struct ProfileBuilder: Sendable {
    /// How finely numeric features are summarised.
    public struct Configuration: Sendable, Equatable {
        /// Quantile bins for PSI and Jensen–Shannon (default 10, at least 2).
        public var bins: Int
        /// Bins of the fine quantile sketch behind KS and Wasserstein (default 1000, at least
        /// `bins`). More bins tighten the approximation; each costs 24 bytes in the profile and
        /// 16 bytes per window accumulator.
        public var sketchResolution: Int
        /// Name under which the model score is profiled (default `"score"`).
        public var scoreName: String

        /// Defaults: 10 bins, a 1000-bin sketch, score named `"score"`.
        public init(bins: Int = 10, sketchResolution: Int = 1000, scoreName: String = "score") {
            self.bins = bins
            self.sketchResolution = sketchResolution
            self.scoreName = scoreName
        }

        func validate() throws {
            guard bins >= 2 else { throw DriftError.invalidConfiguration("bins must be at least 2, got \(bins)") }
            guard sketchResolution >= bins else {
                throw DriftError.invalidConfiguration(
                    "sketchResolution must be at least bins (\(bins)), got \(sketchResolution)")
            }
        }
    }

    private let name: String
    private let numericNames: [String]
    private let categoricalNames: [String]
    private let includesScore: Bool
    private let configuration: Configuration
    private var numericValues: [[Double]]
    private var numericMissing: [Int]
    private var categoryCounts: [[String: Int]]
    private var categoricalMissing: [Int]
    private var scoreValues: [Double] = []
    private var scoreMissing = 0
    private var eventCount = 0
    private var periodStartMs: Int64?
    private var periodEndMs: Int64?

    /// A builder for rows with the given numeric and categorical features, in row order, and
    /// optionally the score. Throws on a duplicate name or an invalid configuration.
    public init(
        name: String,
        numericFeatures: [String],
        categoricalFeatures: [String] = [],
        includesScore: Bool = false,
        configuration: Configuration = Configuration()
    ) throws {
        try configuration.validate()
        var seen = Set<String>()
        for feature in numericFeatures + categoricalFeatures + (includesScore ? [configuration.scoreName] : []) {
            guard seen.insert(feature).inserted else { throw DriftError.duplicateFeature(feature) }
        }
        self.name = name
        numericNames = numericFeatures
        categoricalNames = categoricalFeatures
        self.includesScore = includesScore
        self.configuration = configuration
        numericValues = Array(repeating: [], count: numericFeatures.count)
        numericMissing = Array(repeating: 0, count: numericFeatures.count)
        categoryCounts = Array(repeating: [:], count: categoricalFeatures.count)
        categoricalMissing = Array(repeating: 0, count: categoricalFeatures.count)
    }

    /// Adds one event. NaN and infinite numeric values, nil categories and a nil score count as
    /// missing. `eventTimeMs` (milliseconds since the Unix epoch) only sets the profile's period.
    public mutating func add(
        eventTimeMs: Int64? = nil,
        numeric: [Double],
        categorical: [String?] = [],
        score: Double? = nil
    ) throws {
        guard numeric.count == numericNames.count else {
            throw DriftError.rowShape(kind: "numeric", expected: numericNames.count, got: numeric.count)
        }
        guard categorical.count == categoricalNames.count else {
            throw DriftError.rowShape(kind: "categorical", expected: categoricalNames.count, got: categorical.count)
        }
        eventCount += 1
        if let eventTimeMs {
            periodStartMs = Swift.min(periodStartMs ?? eventTimeMs, eventTimeMs)
            periodEndMs = Swift.max(periodEndMs ?? eventTimeMs, eventTimeMs)
        }
        for (index, value) in numeric.enumerated() {
            if value.isFinite { numericValues[index].append(value) } else { numericMissing[index] += 1 }
        }
        for (index, value) in categorical.enumerated() {
            if let value { categoryCounts[index][value, default: 0] += 1 } else { categoricalMissing[index] += 1 }
        }
        if includesScore {
            if let score, score.isFinite { scoreValues.append(score) } else { scoreMissing += 1 }
        }
    }

    /// The profile of everything added so far. Throws ``DriftError/emptyFeature(_:)`` when a
    /// feature never had a value: it would have no distribution to compare with.
    public func build() throws -> ReferenceProfile {
        let bins = configuration.bins
        let resolution = configuration.sketchResolution
        let numeric = try numericNames.indices.map { index in
            try NumericProfile(
                feature: numericNames[index], sorted: numericValues[index].sorted(),
                missingCount: numericMissing[index], bins: bins, sketchResolution: resolution)
        }
        let categorical = try categoricalNames.indices.map { index in
            try CategoricalProfile(
                feature: categoricalNames[index], counts: categoryCounts[index], missingCount: categoricalMissing[index])
        }
        let score = try includesScore
            ? NumericProfile(
                feature: configuration.scoreName, sorted: scoreValues.sorted(), missingCount: scoreMissing,
                bins: bins, sketchResolution: resolution)
            : nil
        return ReferenceProfile(
            formatVersion: ReferenceProfile.currentFormatVersion, name: name, eventCount: eventCount,
            periodStartMs: periodStartMs, periodEndMs: periodEndMs, bins: bins, sketchResolution: resolution,
            numeric: numeric, categorical: categorical, score: score)
    }
}
