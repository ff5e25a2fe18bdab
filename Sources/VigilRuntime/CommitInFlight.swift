import VigilKafka

/// A transaction whose commit was started, with what its bookkeeping needs once it has ended.
struct CommitInFlight {
    var transaction: OpenTransaction
    /// The offsets it commits.
    var offsets: [TopicPartition: Int64]
    /// When its commit began (its changelog records were written from then on).
    var started: ContinuousClock.Instant
    /// Whether its pipelines' batches were sealed (``Pipeline/sealBatch()``): committed in the
    /// background while the next transaction's batches ran.
    var sealed: Bool
}
