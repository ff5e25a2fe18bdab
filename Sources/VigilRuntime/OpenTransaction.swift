import VigilKafka
import VigilPipeline

/// Everything the runtime keeps about the open transaction, in one value: made when the
/// transaction begins and dropped whole when it commits or aborts, so that no field can be
/// forgotten in a reset.
struct OpenTransaction {
    /// The next input offset per partition whose consumed events' outputs are all queued in
    /// this transaction (only those are committed).
    var nextOffsets: [TopicPartition: Int64] = [:]
    /// Input events (source and repartitioned) this transaction consumed.
    var events = 0
    /// Input partitions whose records this transaction consumed (rewound on an abort, whatever
    /// of them was processed).
    var consumed: Set<TopicPartition> = []
    /// Partition numbers whose pipelines this transaction changed (``Pipeline/beginBatch()`` was called).
    var touchedPipelines: Set<Int32> = []
    /// Segment partitions whose state this transaction changed, with the input offset that state reflects.
    var touchedSegments: [SegmentPartition: Int64] = [:]
    /// Segment partitions snapshotted in this transaction.
    var snapshotted: Set<SegmentPartition> = []
    /// `processing.changelog: events`: per segment partition whose events record this
    /// transaction wrote, the place the next one takes (see ``ChangelogWriter/eventsKey(slot:)``).
    var nextEventSlots: [SegmentPartition: Int] = [:]
    /// Event times and record timestamps of the source events, for the latency metrics.
    var eventTimes: [Int64] = []
    var ingestTimes: [Int64] = []
    /// The drift monitor as it was when the transaction began (put back on an abort).
    var driftCheckpoint: PipelineDriftMonitor.Checkpoint?
    /// Local delivery's view of the transaction (handed-over events, barriers sent).
    var delivery = LocalDeliveryCoordinator.Transaction()

    /// Whether what an abort puts back was saved (when it began, or when its first events ran
    /// while the commit before it was under way).
    var prepared = false

    /// Notes that `pipeline`'s state is changed by this transaction; true the first time.
    mutating func touch(pipeline partition: Int32) -> Bool { touchedPipelines.insert(partition).inserted }
}

/// One partition of one segment: the unit whose state is restored, written to a changelog
/// partition and snapshotted (Kafka Streams' task).
struct SegmentPartition: Hashable, CustomStringConvertible {
    var segment: Int
    var partition: Int32
    var description: String { "segment \(segment) partition \(partition)" }
}
