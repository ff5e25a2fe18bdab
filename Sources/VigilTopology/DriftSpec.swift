/// What a topology's `drift` section asks for: which reference profile each window of traffic
/// is compared with, how long the windows are, which features are watched and when a shift is
/// worth an alert. `VigilDrift` computes the statistics; `docs/drift.md` documents them.
///
/// ```yaml
/// drift:
///   profile: profiles/card-fraud.json   # relative to the topology file; built by `vigil profile`
///   window: 1d                          # tumbling, in event time, from the epoch (UTC midnight for days)
///   thresholds: { moderate: 0.1, major: 0.25 }      # PSI; these are the defaults
///   feature_thresholds:                 # per-feature overrides (either bound may be left out)
///     TX_DURING_NIGHT: { moderate: 0.2 }
///   min_count: 100                      # fewer non-missing values in a window: no alert
///   categorical: []                     # features compared as categories (default: none)
///   features: [...]                     # default: the model's inputs, else every feature
///   exclude: [TX_DURING_WEEKEND]        # taken out of `features`
///   score: true                         # also watch the score (default: when there is a model)
/// ```
public struct DriftSpec: Sendable, Equatable {
    /// PSI thresholds of one feature: at or above `moderate` is moderate drift, at or above
    /// `major` major drift. The loader checks `0 < moderate ≤ major`.
    public struct Thresholds: Sendable, Equatable {
        /// PSI at or above which a window drifts moderately.
        public var moderate: Double
        /// PSI at or above which a window drifts majorly.
        public var major: Double

        public init(moderate: Double, major: Double) {
            self.moderate = moderate
            self.major = major
        }

        /// The customary PSI levels: 0.1 (some shift) and 0.25 (a significant one).
        public static let standard = Thresholds(moderate: 0.1, major: 0.25)
    }

    /// Where the `profile` value sits in the topology file, so that a profile that does not
    /// load or does not match can be reported as `file:line:column` like any other mistake.
    public struct Location: Sendable, Equatable {
        /// The topology file as given.
        public var file: String
        /// 1-based line, 0 when unknown.
        public var line: Int
        /// 1-based column, 0 when unknown.
        public var column: Int

        public init(file: String, line: Int, column: Int) {
            self.file = file
            self.line = line
            self.column = column
        }
    }

    /// The name the score is monitored (and profiled) under.
    public static let scoreName = "score"

    /// The reference profile, relative to the topology file's folder unless absolute.
    public var profilePath: String
    /// Window length in milliseconds; windows tumble in event time from the Unix epoch.
    public var windowLength: Int64
    /// Thresholds of features without an override. Default ``Thresholds/standard``.
    public var thresholds: Thresholds
    /// Per-feature overrides, by feature name (the score as ``scoreName``).
    public var featureThresholds: [String: Thresholds]
    /// Fewest non-missing values a feature needs in a window to be judged at all. Default 100.
    public var minimumCount: Int
    /// The watched features in row order: the `features` list (default: the model's inputs, or
    /// every feature without a model) less `exclude`. Resolved by the loader.
    public var features: [String]
    /// Those of ``features`` compared as categories (their values' text) rather than numbers.
    public var categorical: [String]
    /// Whether the score is watched too (default: when the topology has a model).
    public var monitorsScore: Bool
    /// Where `profile` is written in the topology file.
    public var profileLocation: Location

    public init(profilePath: String, windowLength: Int64, thresholds: Thresholds = .standard,
                featureThresholds: [String: Thresholds] = [:], minimumCount: Int = 100, features: [String],
                categorical: [String] = [], monitorsScore: Bool, profileLocation: Location) {
        self.profilePath = profilePath
        self.windowLength = windowLength
        self.thresholds = thresholds
        self.featureThresholds = featureThresholds
        self.minimumCount = minimumCount
        self.features = features
        self.categorical = categorical
        self.monitorsScore = monitorsScore
        self.profileLocation = profileLocation
    }

    /// The watched features compared as numbers, in row order.
    public var numericFeatures: [String] { features.filter { !categorical.contains($0) } }

    /// A diagnostic pointing at the `profile` value, for problems found when the profile loads.
    public func diagnostic(_ message: String) -> TopologyDiagnostic {
        TopologyDiagnostic(file: profileLocation.file, line: profileLocation.line, column: profileLocation.column, message: message)
    }
}
