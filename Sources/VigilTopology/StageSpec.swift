/// One keyed step of a topology: the events are keyed by `key` and every feature is computed
/// from that key's state. In the live runtime a stage keyed differently from its input runs
/// after a repartition topic.
public struct StageSpec: Sendable, Equatable {
    /// The stage's name (used in repartition and changelog topic names).
    public var name: String
    /// The field whose value keys the state.
    public var key: String
    /// The features, in output order.
    public var features: [FeatureSpec]
    /// The anomaly detectors, whose columns follow the features.
    public var detectors: [DetectorSpec]

    public init(name: String, key: String, features: [FeatureSpec], detectors: [DetectorSpec] = []) {
        self.name = name
        self.key = key
        self.features = features
        self.detectors = detectors
    }

    /// Every column the stage writes: the features, then each detector's columns.
    public var outputNames: [String] { features.map(\.name) + detectors.flatMap(\.outputNames) }
}

/// A windowed or sequential feature of a stage.
public struct FeatureSpec: Sendable, Equatable {
    /// The output name.
    public var name: String
    /// The aggregation.
    public var aggregation: Aggregation
    /// The input field (source field, derived feature or an earlier feature); nil for `count` and `time_since_last`.
    public var field: String?
    /// The window; nil for sequential aggregations (EWMA, rate of change, time since last).
    public var window: WindowSpec?
    /// EWMA smoothing: weight of the newest value per event (0 < alpha ≤ 1).
    public var alpha: Double?
    /// EWMA smoothing by time: the age at which a value's weight halves, in milliseconds.
    public var halfLife: Int64?

    public init(name: String, aggregation: Aggregation, field: String? = nil, window: WindowSpec? = nil,
                alpha: Double? = nil, halfLife: Int64? = nil) {
        self.name = name
        self.aggregation = aggregation
        self.field = field
        self.window = window
        self.alpha = alpha
        self.halfLife = halfLife
    }
}

/// What a feature computes over its window (or sequence).
public enum Aggregation: String, Sendable, Equatable, CaseIterable {
    /// Number of events in the window.
    case count
    /// Sum of the field.
    case sum
    /// Mean of the field; NaN on an empty window.
    case mean
    /// Smallest value; NaN on an empty window.
    case min
    /// Largest value; NaN on an empty window.
    case max
    /// Sample variance (n − 1); NaN below two events.
    case variance
    /// Sample standard deviation (n − 1); NaN below two events.
    case std
    /// The newest value in the window; NaN on an empty window.
    case last
    /// Number of distinct values in the window.
    case distinctCount = "distinct_count"
    /// Mean of a 0/1 field (a risk ratio); 0 on an empty window.
    case risk
    /// (value − window mean) / window standard deviation; 0 when the deviation is 0 or undefined.
    case zscore
    /// Time since the key's previous event, in seconds; NaN for a key's first event.
    case timeSinceLast = "time_since_last"
    /// Exponentially weighted moving average of the field, this event included.
    case ewma
    /// (value − previous value) / seconds between them; NaN for a key's first event, 0 for the same instant.
    case rateOfChange = "rate_of_change"

    /// Whether the aggregation needs a window.
    public var isWindowed: Bool {
        switch self {
        case .timeSinceLast, .ewma, .rateOfChange: false
        default: true
        }
    }

    /// Whether the aggregation reads a field.
    public var needsField: Bool { self != .count && self != .timeSinceLast }
}

/// The events a windowed feature sees, relative to the current event's time t.
public enum WindowSpec: Sendable, Equatable {
    /// Events with time in (t − size, t], the current event included.
    case sliding(size: Int64)
    /// Events with time in (t − (delay + size), t − delay]: for labels known only after `delay`.
    case delayed(size: Int64, delay: Int64)
    /// Events since the start of the current tumbling window of `size` (aligned to the epoch), up to t.
    case tumbling(size: Int64)
    /// Events since the start of the oldest hopping window (of `size`, starting every `advance`) that holds t, up to t.
    case hopping(size: Int64, advance: Int64)

    /// How far back in time from t the window can reach, in milliseconds.
    public var lookback: Int64 {
        switch self {
        case let .sliding(size): size
        case let .delayed(size, delay): size + delay
        case let .tumbling(size): size
        case let .hopping(size, _): size
        }
    }
}
