/// An anomaly detector of a stage: it reads `fields` of each event, keeps its learned state per
/// key beside the stage's windows (in the same snapshots, changelog and rollback), and writes
/// its outputs into the event's row: first `name`, an anomaly score in [0, 1] (0.5 where the
/// detector's own limit lies), then the kind's diagnostic columns (``outputNames``).
public struct DetectorSpec: Sendable, Equatable {
    /// The score column's name; diagnostic columns are named after it.
    public var name: String
    /// What it computes, with its settings.
    public var kind: DetectorKind
    /// The fields it reads, in order (source fields, derived features or earlier stages' features).
    public var fields: [String]

    public init(name: String, kind: DetectorKind, fields: [String]) {
        self.name = name
        self.kind = kind
        self.fields = fields
    }

    /// The columns it writes: the score, then the kind's diagnostics.
    public var outputNames: [String] { [name] + kind.diagnosticSuffixes.map { name + $0 } }
}

/// The detector kinds, each with its settings (defaults documented on each field).
public enum DetectorKind: Sendable, Equatable {
    /// A per-key multivariate baseline scored with Hotelling's T² and the PCA residual Q.
    case pcaBaseline(PCABaselineSettings)
    /// A univariate Gaussian tail probability followed by an anomaly-likelihood layer.
    case gaussianTail(GaussianTailSettings)
    /// Half-Space Trees (Tan, Ting & Liu 2011) as River's `anomaly.HalfSpaceTrees`.
    case halfSpaceTrees(HalfSpaceTreesSettings)

    /// The keyword in topology files.
    public var keyword: String {
        switch self {
        case .pcaBaseline: "pca_baseline"
        case .gaussianTail: "gaussian_tail"
        case .halfSpaceTrees: "half_space_trees"
        }
    }

    /// Suffixes of the diagnostic columns after the score.
    public var diagnosticSuffixes: [String] {
        switch self {
        case .pcaBaseline: ["_T2", "_Q"]
        case .gaussianTail: ["_RAW", "_LIKELIHOOD"]
        case .halfSpaceTrees: []
        }
    }

    /// The keywords accepted in topology files.
    public static let keywords = ["pca_baseline", "gaussian_tail", "half_space_trees"]
}

/// Settings of ``DetectorKind/pcaBaseline(_:)``.
public struct PCABaselineSettings: Sendable, Equatable {
    /// Events of each key the baseline learns from before it scores (`baseline: 400`). Default 400.
    public var baselineEvents: Int = 400
    /// Or a span of event time from the key's first event (`baseline: 10m`); nil: by events.
    public var baselineSpan: Int64?
    /// Weight of each new reading in an exponential average of the inputs, applied before
    /// everything else (`smoothing`); 1 leaves the readings as they are. Default 1.
    public var smoothing: Double = 1
    /// Share of the baseline's (standardised) variance the principal components keep (`variance`). Default 0.85.
    public var variance: Double = 0.85
    /// Level of the upper control limits (`confidence`). Default 0.999.
    public var confidence: Double = 0.999
    /// How the limits are set (`limits`). Default parametric.
    public var limits: ControlLimits = .parametric
    /// Events over which the limit ratio is averaged (`average`) before the score; 1: none. Default 1.
    public var average: Int = 1
    /// After the baseline, weight of each in-control event in the mean and covariance (`forgetting`); 0 keeps the baseline. Default 0.
    public var forgetting: Double = 0
    /// With forgetting, events between refits of the principal components (`refit_every`). Default 100.
    public var refitEvery: Int = 100

    public init() {}
}

/// How ``PCABaselineSettings`` sets its upper control limits.
public enum ControlLimits: String, Sendable, Equatable, CaseIterable {
    /// T² from the F distribution (new observations, Tracy et al.), Q from Jackson & Mudholkar's normal approximation.
    case parametric
    /// Quantiles of the baseline's own T² and Q (the baseline rows are kept until the fit).
    case empirical
}

/// Settings of ``DetectorKind/gaussianTail(_:)``; the defaults are those of NAB's anomaly likelihood.
public struct GaussianTailSettings: Sendable, Equatable {
    /// Events in the sliding window the value is compared with (`window`). Default 100.
    public var window: Int = 100
    /// Events whose raw scores are averaged before the likelihood (`short_window`). Default 10.
    public var shortWindow: Int = 10
    /// Raw scores kept for the long-term distribution (`historic_window`). Default 8640.
    public var historicWindow: Int = 8640
    /// Events before the long-term distribution is trusted (`learning_period`). Default 288.
    public var learningPeriod: Int = 288
    /// Further events to estimate it from before the first likelihood (`estimation_samples`). Default 100.
    public var estimationSamples: Int = 100
    /// Events between re-estimates of the distribution (`reestimation_period`). Default 100.
    public var reestimationPeriod: Int = 100

    public init() {}

    /// Events before the likelihood leaves 0.5.
    public var probationaryPeriod: Int { learningPeriod + estimationSamples }
}

/// Settings of ``DetectorKind/halfSpaceTrees(_:)``; the defaults are River's.
public struct HalfSpaceTreesSettings: Sendable, Equatable {
    /// Trees (`trees`). Default 10.
    public var trees: Int = 10
    /// Depth of each tree (`height`). Default 8.
    public var height: Int = 8
    /// Events per reference window (`window`). Default 250.
    public var window: Int = 250
    /// Seed of the trees' random splits (`seed`); the same seed gives River's trees. Default 42.
    public var seed: UInt32 = 42
    /// Each field's range (`limits: {FIELD: [low, high]}`); default [0, 1] as River's.
    public var limits: [String: ClosedRange<Double>] = [:]

    public init() {}
}
