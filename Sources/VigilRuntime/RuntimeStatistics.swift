/// Counts of what a runtime instance has done, for logs, metrics and tests.
public struct RuntimeStatistics: Sendable, Equatable {
    public var eventsIn = 0
    public var scored = 0
    public var forwarded = 0
    public var deadLettered = 0
    public var alerts = 0
    /// Events scored unplaced and flagged late (further behind their key's newest event than the allowed lateness).
    public var lateScored = 0
    public var transactionsCommitted = 0
    public var transactionsAborted = 0
    /// Input events (source and repartitioned) of the aborted transactions, done again after the rewind.
    public var eventsRolledBack = 0
    public var snapshotsWritten = 0
    public var changelogRecords = 0
    /// The values' bytes of the changelog records counted in ``changelogRecords`` (snapshots
    /// excluded): on the live path most of what a transaction writes.
    public var changelogBytes = 0
    public var restoredRecords = 0
    public var rebalances = 0
    /// Input partitions (source and repartition) owned, restored and being processed now: how
    /// the group's partitions are spread over instances once a rebalance has settled.
    public var activePartitions = 0
    /// Records the consumer handed out again below where processing stands (already processed
    /// in the open transaction or committed), dropped before they reach a stage.
    public var refetchedSkipped = 0
    /// Repartitioned events skipped because their source event was already applied: copies
    /// from an aborted transaction that a broker showed to read_committed readers (Tansu does).
    public var duplicatesSkipped = 0
    /// Events handed from the source's stage to the next inside the instance (local delivery)
    /// instead of through the repartition topic.
    public var deliveredLocally = 0
    /// Batches processed while the commit before them ran in the background
    /// (``RuntimeOptions/overlapsCommit``), their outputs held back until it ended.
    public var batchesBehindCommit = 0
    /// Transactions behind a commit that failed, aborted with it before they began.
    public var rolledBackBehindCommit = 0
    /// Partitions (of a segment's input) whose state an aborted transaction had changed, cleared
    /// and restored from their changelogs (state is restored on an abort, not undone).
    public var restoredAfterAbort = 0
    /// Wall time of the runtime's thread by phase of its loop (where live latency goes).
    public var phases = RuntimePhaseTimes()
    /// Wall time of the processing phase by stage.
    public var stages = ProcessingStageTimes()

    public init() {}
}

/// Wall time the runtime's thread spent in each phase of its loop, summed since it started:
/// what a live event waits for besides the broker (bench/README.md, "End to end"). Four clock
/// reads a round and two a commit (about 25 ns each).
public struct RuntimePhaseTimes: Sendable, Equatable {
    /// Waiting in a poll for records to arrive (the consumer's fetch wait, up to the batch delay).
    public var polling = Duration.zero
    /// Decoding, the stages, scoring, and queueing every output record of the batches.
    public var processing = Duration.zero
    /// Writing the touched keys' state (and due snapshots) to the changelogs at commit.
    public var changelog = Duration.zero
    /// Sending the offsets and committing (flushing every queued record first), waiting for the broker.
    public var committing = Duration.zero

    public init() {}
}
