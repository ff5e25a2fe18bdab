import VigilCodec

/// A batch closed for its commit (``FeatureEngine/sealBatch()``): how to undo it should the
/// commit fail, while the next batch runs.
struct SealedBatch {
    /// Per key the batch changed, in first-touch order: where its prior state lies in
    /// `undoBytes`, or nil for a key the batch created.
    var undoLog: [(key: StateKey, state: Range<Int>?)]
    var undoBytes: ByteWriter
    /// The engine's counters when the batch began.
    var statisticsAtStart: EngineStatistics
    /// Keys the batch evicted for capacity.
    var evicted: Int
}
