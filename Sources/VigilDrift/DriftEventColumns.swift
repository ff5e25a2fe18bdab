/// Events for ``DriftMonitor/observe(_:)``, a column per feature: the batch form of
/// ``DriftMonitor/observe(eventTimeMs:numeric:categorical:score:)``. Kept and refilled by its
/// caller from batch to batch, so that its arrays are allocated once.
public struct DriftEventColumns: Sendable {
    /// How many events.
    public var count = 0
    /// Each event's time (ms since the Unix epoch).
    public var times: [Int64] = []
    /// The numeric features in the profile's order, feature by feature: feature `f` of event
    /// `e` at `f * count + e`. NaN or infinite: missing.
    public var numeric: [Double] = []
    /// The categorical features in the profile's order, one array of `count` values each; nil: missing.
    public var categorical: [[String?]] = []
    /// Each event's score where the profile has one (NaN: missing); empty otherwise.
    public var scores: [Double] = []

    public init() {}

    /// Empties every column, keeping their memory.
    public mutating func removeAll() {
        count = 0
        times.removeAll(keepingCapacity: true)
        numeric.removeAll(keepingCapacity: true)
        for index in categorical.indices { categorical[index].removeAll(keepingCapacity: true) }
        scores.removeAll(keepingCapacity: true)
    }
}
