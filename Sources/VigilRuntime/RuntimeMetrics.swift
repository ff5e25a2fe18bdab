public import VigilKafka

/// The metrics of `vigil run`, registered under fixed names so that dashboards and alerts can
/// rely on them. Names follow Prometheus conventions: base units (seconds, bytes), counters
/// end in `_total`.
///
/// | metric | type | labels | what |
/// |---|---|---|---|
/// | `vigil_events_in_total` | counter | | events consumed from source topics |
/// | `vigil_events_out_total` | counter | | events scored and produced (committed or not) |
/// | `vigil_events_dead_lettered_total` | counter | `reason` | events sent to the dead-letter topic |
/// | `vigil_late_events_total` | counter | `outcome` (`scored`, `dead_lettered`) | events further behind their key's newest than the allowed lateness |
/// | `vigil_backpressure_pauses_total` | counter | | times consumption paused for a full producer queue |
/// | `vigil_restore_failures_total` | counter | | restores that failed (the partitions stay paused and are retried) |
/// | `vigil_keys_expired_total` | counter | | keys dropped after the state TTL without an event |
/// | `vigil_keys_evicted_total` | counter | | keys evicted because a stage held `processing.max_keys` keys or more than `processing.max_state_bytes` of state (least recently seen first), counted when their transaction commits |
/// | `vigil_batch_size_events` | histogram | | events per micro-batch |
/// | `vigil_scoring_duration_seconds` | histogram | | time to score one micro-batch |
/// | `vigil_event_time_latency_seconds` | histogram | | event time to commit, per event |
/// | `vigil_ingest_latency_seconds` | histogram | | record timestamp (ingest) to commit, per event |
/// | `vigil_commit_duration_seconds` | histogram | | time to commit one transaction |
/// | `vigil_consumer_lag_records` | gauge | `topic`, `partition` | high watermark minus position |
/// | `vigil_state_keys` | gauge | `stage` | keys held in a stage's state |
/// | `vigil_state_bytes` | gauge | `stage` | bytes of a stage's state, its tables' slack included |
/// | `vigil_state_budgeted_bytes` | gauge | `stage` | bytes of a stage's state as `processing.max_state_bytes` counts them (summed over partitions; each partition's stage holds at most the budget) |
/// | `vigil_restore_records_total` | counter | | changelog and snapshot records applied while restoring |
/// | `vigil_restore_partitions` | gauge | | partitions still restoring |
/// | `vigil_active_partitions` | gauge | | input partitions (source and repartition) restored and being processed |
/// | `vigil_transactions_committed_total` | counter | | transactions committed |
/// | `vigil_transactions_aborted_total` | counter | | transactions aborted |
/// | `vigil_rebalances_total` | counter | `kind` (`assigned`, `revoked`, `lost`) | rebalance events |
/// | `vigil_healthy` | gauge | | 1 while healthy, 0 once the runtime marked itself unhealthy |
public struct RuntimeMetrics: Sendable {
    /// The registry these metrics live in (serve it with ``MetricsServer``).
    public let registry: MetricsRegistry

    public let eventsIn: Counter
    public let eventsOut: Counter
    /// Label `reason`: a short fixed code (`decode`, `schema`, …), never an error message.
    public let deadLettered: MetricFamily<Counter>
    /// Label `outcome`: `scored` (scored unplaced and flagged late) or `dead_lettered`.
    public let lateEvents: MetricFamily<Counter>
    public let backPressurePauses: Counter
    public let restoreFailures: Counter
    public let keysExpired: Counter
    /// Keys evicted for the state budget (`processing.max_keys`, `processing.max_state_bytes`), over every stage.
    public let keysEvicted: Counter
    public let batchSize: Histogram
    public let scoringDuration: Histogram
    public let eventTimeLatency: Histogram
    public let ingestLatency: Histogram
    public let commitDuration: Histogram
    /// Labels `topic`, `partition`; remove a partition's series when it is revoked.
    public let consumerLag: MetricFamily<Gauge>
    /// Label `stage`.
    public let stateKeys: MetricFamily<Gauge>
    /// Label `stage`.
    public let stateBytes: MetricFamily<Gauge>
    /// Label `stage`: what the byte budget counts, beside ``stateBytes``' walked total.
    public let stateBudgetedBytes: MetricFamily<Gauge>
    public let restoredRecords: Counter
    public let partitionsRestoring: Gauge
    /// Input partitions restored and being processed: how a group's partitions are spread
    /// over its instances once a rebalance has settled.
    public let activePartitions: Gauge
    public let transactionsCommitted: Counter
    public let transactionsAborted: Counter
    public let producerReplacements: Counter
    public let duplicatesSkipped: Counter
    public let deliveredLocally: Counter
    /// Label `kind`: `assigned`, `revoked` or `lost`.
    public let rebalances: MetricFamily<Counter>
    /// `vigil_healthy`, kept in step with ``health``.
    public let healthy: Gauge
    /// What `GET /health` answers; marking it unhealthy also sets `vigil_healthy` to 0.
    public let health: HealthStatus

    /// Bucket bounds for end-to-end latencies, 1 ms to 1 h (late events can be old).
    public static let latencyBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
    ]
    /// Bucket bounds for in-process durations (scoring, commit), 10 µs to 10 s.
    public static let durationBuckets: [Double] = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1, 2.5, 5, 10,
    ]
    /// Bucket bounds for micro-batch sizes, 1 to 100 000 events.
    public static let batchSizeBuckets: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000]

    /// Registers the runtime's metrics in `registry` (once per registry).
    public init(registry: MetricsRegistry = MetricsRegistry()) {
        self.registry = registry
        eventsIn = registry.counter("vigil_events_in_total", help: "Events consumed from the source topics.")
        eventsOut = registry.counter("vigil_events_out_total", help: "Events scored and produced to the scores topic.")
        deadLettered = registry.counter(
            "vigil_events_dead_lettered_total", help: "Events sent to the dead-letter topic, by reason.", labelNames: ["reason"])
        lateEvents = registry.counter(
            "vigil_late_events_total", help: "Events further behind their key's newest event than the allowed lateness, by outcome.",
            labelNames: ["outcome"])
        backPressurePauses = registry.counter(
            "vigil_backpressure_pauses_total", help: "Times consumption paused because the producer's queue was full.")
        restoreFailures = registry.counter(
            "vigil_restore_failures_total", help: "State restores that failed; their partitions stay paused and are retried.")
        keysExpired = registry.counter("vigil_keys_expired_total", help: "Keys dropped after the state TTL passed without an event.")
        keysEvicted = registry.counter(
            "vigil_keys_evicted_total", help: "Keys evicted, least recently seen first, because a stage held processing.max_keys keys or more than processing.max_state_bytes of state.")
        batchSize = registry.histogram("vigil_batch_size_events", help: "Events per micro-batch.", buckets: Self.batchSizeBuckets)
        scoringDuration = registry.histogram(
            "vigil_scoring_duration_seconds", help: "Time to compute features and score one micro-batch.", buckets: Self.durationBuckets)
        eventTimeLatency = registry.histogram(
            "vigil_event_time_latency_seconds", help: "From an event's own time to the commit of its score.", buckets: Self.latencyBuckets)
        ingestLatency = registry.histogram(
            "vigil_ingest_latency_seconds", help: "From an event's record timestamp (ingest) to the commit of its score.",
            buckets: Self.latencyBuckets)
        commitDuration = registry.histogram(
            "vigil_commit_duration_seconds", help: "Time to send offsets and commit one transaction.", buckets: Self.durationBuckets)
        consumerLag = registry.gauge(
            "vigil_consumer_lag_records", help: "Records between the consumer's position and the partition's high watermark.",
            labelNames: ["topic", "partition"])
        stateKeys = registry.gauge("vigil_state_keys", help: "Keys held in a stage's windowed state.", labelNames: ["stage"])
        stateBytes = registry.gauge("vigil_state_bytes", help: "Bytes of a stage's windowed state, its tables' slack included.", labelNames: ["stage"])
        stateBudgetedBytes = registry.gauge(
            "vigil_state_budgeted_bytes", help: "Bytes of a stage's windowed state as processing.max_state_bytes counts them, summed over partitions.",
            labelNames: ["stage"])
        restoredRecords = registry.counter(
            "vigil_restore_records_total", help: "Snapshot and changelog records applied while restoring state.")
        partitionsRestoring = registry.gauge("vigil_restore_partitions", help: "Partitions whose state is still being restored.")
        activePartitions = registry.gauge(
            "vigil_active_partitions", help: "Input partitions (source and repartition topics) restored and being processed by this instance.")
        transactionsCommitted = registry.counter("vigil_transactions_committed_total", help: "Kafka transactions committed.")
        transactionsAborted = registry.counter("vigil_transactions_aborted_total", help: "Kafka transactions aborted.")
        producerReplacements = registry.counter(
            "vigil_producer_replacements_total",
            help: "Times the transactional producer was replaced because it could not abort a failed transaction.")
        duplicatesSkipped = registry.counter(
            "vigil_repartition_duplicates_skipped_total",
            help: "Repartitioned events skipped as copies of applied ones (records of aborted transactions a broker showed).")
        deliveredLocally = registry.counter(
            "vigil_events_delivered_locally_total",
            help: "Events handed to the next stage inside the instance instead of through the repartition topic.")
        rebalances = registry.counter(
            "vigil_rebalances_total", help: "Consumer group rebalance events, by kind (assigned, revoked, lost).", labelNames: ["kind"])
        healthy = registry.gauge("vigil_healthy", help: "1 while the runtime is healthy, 0 once it marked itself unhealthy.")
        health = HealthStatus(gauge: healthy)
    }

    /// Records the end-to-end latencies of the events a transaction just committed: from each
    /// event's own time and from each record's timestamp to `committedAt`, all in milliseconds
    /// since the epoch.
    public func recordCommitted(eventTimesMillis: [Int64], ingestTimesMillis: [Int64], committedAtMillis: Int64) {
        eventTimeLatency.observe(contentsOf: eventTimesMillis.lazy.map { Double(committedAtMillis - $0) / 1000 })
        ingestLatency.observe(contentsOf: ingestTimesMillis.lazy.map { Double(committedAtMillis - $0) / 1000 })
    }

    /// The consumer lag gauge of one partition.
    public func consumerLag(topic: String, partition: Int32) -> Gauge {
        consumerLag.labels(topic, String(partition))
    }

    /// Sets each partition's lag to its end (as the consumer's last fetch saw it: the high
    /// watermark, or the last stable offset under read_committed; no request is sent) minus
    /// `positions[partition]`, the next offset the runtime will process. Partitions whose end
    /// is not known yet are left alone.
    public func updateConsumerLag(_ consumer: Consumer, positions: [TopicPartition: Int64]) {
        for (partition, position) in positions where position >= 0 {
            guard let marks = consumer.cachedWatermarks(partition) else { continue }
            consumerLag(topic: partition.topic, partition: partition.partition).set(Int(max(0, marks.high - position)))
        }
    }

    /// Stops exporting the lag of partitions this instance no longer owns (after a revoke).
    public func removeConsumerLag(_ partitions: [TopicPartition]) {
        for partition in partitions { consumerLag.remove(partition.topic, String(partition.partition)) }
    }
}
