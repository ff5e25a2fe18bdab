/// A micro-batch of events as the engine reads it in place: each event's time and key, and a
/// row of values per event from which the engine takes its inputs and into which it writes its
/// features. Pointers, because the batch's arrays stay with their owner.
public struct EventRows {
    /// Events in the batch.
    public var count: Int
    /// `count` event times, ms since the epoch.
    public var times: UnsafePointer<Int64>
    /// The event's key for this stage is `keys[index * keyStride]`.
    public var keys: UnsafePointer<StateKey>
    /// Keys from one event to the next (an event carries one key per stage).
    public var keyStride: Int
    /// Whether each event is to be processed (nil: all are).
    public var live: UnsafePointer<Bool>?
    /// Row-major values, `count × rowWidth`.
    public var rows: UnsafeMutablePointer<Double>
    /// Values in a row.
    public var rowWidth: Int
    /// Where each of the engine's ``FeatureEngine/inputNames`` is in a row.
    public var inputColumns: UnsafeBufferPointer<Int>
    /// Where the engine's first feature goes in a row; the rest follow in ``FeatureEngine/featureNames`` order.
    public var featureStart: Int

    /// A batch view; the pointers must stay valid while the engine reads it.
    public init(count: Int, times: UnsafePointer<Int64>, keys: UnsafePointer<StateKey>, keyStride: Int, live: UnsafePointer<Bool>?,
                rows: UnsafeMutablePointer<Double>, rowWidth: Int, inputColumns: UnsafeBufferPointer<Int>, featureStart: Int) {
        self.count = count
        self.times = times
        self.keys = keys
        self.keyStride = keyStride
        self.live = live
        self.rows = rows
        self.rowWidth = rowWidth
        self.inputColumns = inputColumns
        self.featureStart = featureStart
    }
}
