/// Wall time the runtime's thread spent in each stage of processing (the `processing` phase of
/// ``RuntimePhaseTimes``), summed since it started: the live path's cost per event by stage
/// (issue 16; bench/README.md, "End to end"). A few clock reads a batch (about 25 ns each),
/// not per event.
public struct ProcessingStageTimes: Sendable, Equatable {
    /// Decoding records into event batches (source records, or repartitioned events).
    public var decoding = Duration.zero
    /// Derived features and the stages' windowed features.
    public var features = Duration.zero
    /// The model (and the alert rule).
    public var scoring = Duration.zero
    /// The drift monitor's accumulation (and the drift records of windows it closes).
    public var drift = Duration.zero
    /// Queueing the outputs: scores, alerts and dead letters, or repartitioned events.
    public var output = Duration.zero

    public init() {}

    /// The time of every stage together.
    public var total: Duration { decoding + features + scoring + drift + output }
}
