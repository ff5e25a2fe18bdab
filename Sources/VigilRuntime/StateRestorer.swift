import Logging
import VigilFeatures
import VigilKafka
import VigilPipeline
import VigilTopology

/// Restores the state of newly assigned partitions as a phase of the main loop, as Kafka
/// Streams' state updater does: the partitions stay paused while their state is read, a bounded
/// step at a time between polls (so the instance keeps polling, heartbeating and serving its
/// other partitions however large the state), and are handed back only once complete.
///
/// A restore reads, per partition: the group's committed offset, the newest checkpoint of a
/// committed snapshot, then each stage's changelog from that snapshot on (from the start
/// without one), applying only records whose input offset is committed (so records of aborted
/// or unfinished transactions, which some brokers show, are ignored). A restore that fails —
/// a read error, a record that does not decode, a changelog offset no longer in the log —
/// clears what it had restored, keeps its partitions paused, says why (topic/partition@offset)
/// in the log and on /health, and is tried again after a backoff: no batch of a partition
/// whose restore has not completed is ever processed.
final class StateRestorer {
    /// What the restorer needs from the runtime.
    struct Context {
        /// The group's committed offsets (a blocking call).
        var committed: ([TopicPartition]) throws -> [TopicPartition: Int64]
        /// Makes a reader of assigned partitions (read_committed, failing on offsets not in the log).
        var makeReader: () throws -> any RecordFetching
    }

    /// A partition whose restore completed.
    struct Restored {
        var partition: TopicPartition
        /// The group's committed offset (nil where none).
        var committed: Int64?
        /// The applied source offsets restored with a segment behind the source's repartition topic.
        var applied: AppliedSourceOffsets?
        /// Whether the restore passed over changelog records of local deliveries whose source
        /// offsets are not committed, or (`changelog: events`) key states or a checkpoint of a
        /// snapshot that did not commit (on a broker that shows aborted records: snapshot next).
        var passedOverUnfinished: Bool
        /// `processing.changelog: events`: the place the segment partition's next events record
        /// takes (one past the highest read since the snapshot).
        var nextEventSlot: Int = 0
    }

    private enum Phase { case offsets, checkpoints, changelogs }

    private struct Job {
        var partitions: [TopicPartition]
        var phase = Phase.offsets
        var committed: [TopicPartition: Int64] = [:]
        var sourceCommitted: [Int32: Int64] = [:]
        var checkpoints: [SegmentPartition: Checkpoint] = [:]
        var wanted: [SegmentPartition: Int64] = [:]
        var changelogs: [TopicPartition: (stage: Int, segment: Int, upTo: Int64)] = [:]
        var remaining: Set<TopicPartition> = []
        /// Partitions whose read reached an open transaction: where it starts.
        var openTransactions: [TopicPartition: Int64] = [:]
        var applied: [SegmentPartition: AppliedSourceOffsets] = [:]
        var passedOver: Set<SegmentPartition> = []
        var eventChains: [TopicPartition: EventChain] = [:]
        var records = 0
        var fromSnapshots = 0
        var started: ContinuousClock.Instant
        var lastProgress: ContinuousClock.Instant
        var lastWaitLog: ContinuousClock.Instant
    }

    private let plan: TopicPlan
    private let topology: Topology
    private let partitionCount: Int32
    private let pipelines: PipelineStore
    private let context: Context
    /// Whether changelog records are filtered by the source offsets they carry (see
    /// ``RuntimeOptions/brokerShowsAbortedRecords``).
    private let checksSourceOffsets: Bool
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let clock = ContinuousClock()
    private var jobs: [Job] = []
    private var reader: (any RecordFetching)?
    private var retryAt: ContinuousClock.Instant?
    private var backoff: Duration
    /// Why the last restore failed, until one succeeds.
    private(set) var lastFailure: String?
    /// What a restore has been waiting for without progress for more than 10 s, if it is.
    private(set) var waiting: String?
    private(set) var restoredRecords = 0
    /// Records per read of the changelog.
    static let batchRecords = 10_000
    static let initialBackoff: Duration = .seconds(1)
    static let maxBackoff: Duration = .seconds(60)

    init(plan: TopicPlan, topology: Topology, partitionCount: Int32, pipelines: PipelineStore, context: Context, checksSourceOffsets: Bool,
         metrics: RuntimeMetrics, logger: Logger) {
        self.plan = plan
        self.topology = topology
        self.partitionCount = partitionCount
        self.pipelines = pipelines
        self.context = context
        self.checksSourceOffsets = checksSourceOffsets
        self.metrics = metrics
        self.logger = logger
        backoff = Self.initialBackoff
    }

    /// Partitions assigned and not yet restored.
    var restoring: Set<TopicPartition> { Set(jobs.flatMap(\.partitions)) }

    /// Whether a restore is queued or under way.
    var isIdle: Bool { jobs.isEmpty }

    /// Queues a restore of newly assigned partitions.
    func enqueue(_ partitions: [TopicPartition]) {
        guard !partitions.isEmpty else { return }
        jobs.append(Job(partitions: partitions, started: clock.now, lastProgress: clock.now, lastWaitLog: clock.now))
        metrics.partitionsRestoring.set(restoring.count)
    }

    /// Partitions revoked or lost while restoring: their restore stops (what it had restored is
    /// dropped with the rest of their state); the other partitions of their job start over.
    func cancel(_ revoked: Set<TopicPartition>) {
        guard !jobs.isEmpty, !restoring.isDisjoint(with: revoked) else { return }
        for index in jobs.indices where !Set(jobs[index].partitions).isDisjoint(with: revoked) {
            if index == 0 { closeReader() }
            clearState(of: jobs[index].partitions.filter { !revoked.contains($0) })
            jobs[index] = Job(partitions: jobs[index].partitions.filter { !revoked.contains($0) }, started: clock.now,
                              lastProgress: clock.now, lastWaitLog: clock.now)
        }
        jobs.removeAll { $0.partitions.isEmpty }
        metrics.partitionsRestoring.set(restoring.count)
    }

    /// Works on the first queued restore until `deadline`; returns the partitions it completed.
    /// A failure is handled here (logged, counted, retried later), never thrown.
    func step(until deadline: ContinuousClock.Instant) -> [Restored] {
        guard !jobs.isEmpty else { return [] }
        if let retryAt, clock.now < retryAt { return [] }
        retryAt = nil
        do {
            let done = try advance(&jobs[0], until: deadline)
            guard done else { return [] }
            let job = jobs.removeFirst()
            closeReader()
            lastFailure = nil
            waiting = nil
            backoff = Self.initialBackoff
            metrics.partitionsRestoring.set(restoring.count)
            return finish(job)
        } catch {
            let job = jobs[0]
            closeReader()
            clearState(of: job.partitions)
            jobs[0] = Job(partitions: job.partitions, started: job.started, lastProgress: clock.now, lastWaitLog: clock.now)
            retryAt = clock.now + backoff
            let reason = "restoring \(job.partitions.map(\.description).joined(separator: ", ")) failed: \(error). The partitions stay paused; trying again in \(backoff)"
            backoff = min(Self.maxBackoff, backoff * 2)
            lastFailure = reason
            metrics.restoreFailures.increment()
            logger.error("\(reason)")
            return []
        }
    }

    // MARK: Phases

    /// Moves a job on; true once it is complete.
    private func advance(_ job: inout Job, until deadline: ContinuousClock.Instant) throws -> Bool {
        if job.phase == .offsets {
            try readOffsets(&job)
            guard !job.wanted.isEmpty else { return true }
            let checkpointPartitions = Set(job.wanted.keys.map { TopicPartition(plan.checkpointTopic, $0.partition) })
            try startReading(Dictionary(uniqueKeysWithValues: checkpointPartitions.map { ($0, KafkaOffset.beginning) }), job: &job)
            job.phase = .checkpoints
        }
        if job.phase == .checkpoints {
            let wanted = job.wanted
            let sourceCommitted = job.sourceCommitted
            guard try read(&job, until: deadline, { job, message in
                guard let value = message.value, let found = Checkpoint(decoding: value) else { return }
                let key = SegmentPartition(segment: found.segment, partition: message.partition)
                guard let upTo = wanted[key] else { return }
                // A checkpoint past the committed offset is of a snapshot that did not commit
                // (shown by a broker that shows aborted records): see passedOverSnapshot.
                if found.stateOffset > upTo, self.topology.processing.changelog == .events { job.passedOver.insert(key) }
                guard found.stateOffset <= upTo, Self.committed(found.sourceOffsets, in: sourceCommitted) else { return }
                job.checkpoints[key] = found
            }) else { return false }
            var starts: [TopicPartition: Int64] = [:]
            for (segmentPartition, upTo) in job.wanted {
                _ = try pipelines.pipeline(for: segmentPartition.partition)
                for stage in plan.segments[segmentPartition.segment].stages {
                    let changelog = TopicPartition(plan.changelogTopics[stage], segmentPartition.partition)
                    job.changelogs[changelog] = (stage, segmentPartition.segment, upTo)
                    starts[changelog] = job.checkpoints[segmentPartition]?.changelogOffsets[stage] ?? KafkaOffset.beginning
                    job.eventChains[changelog] = EventChain(position: job.checkpoints[segmentPartition]?.stateOffset)
                }
            }
            job.fromSnapshots = job.checkpoints.count
            try startReading(starts, job: &job)
            job.phase = .changelogs
        }
        guard try read(&job, until: deadline, { job, message in try self.apply(message, job: &job) }) else { return false }
        for changelog in job.eventChains.keys { try applyPendingEvents(of: changelog, job: &job) }
        return true
    }

    private func readOffsets(_ job: inout Job) throws {
        let committed = try context.committed(job.partitions)
        for partition in job.partitions {
            let offset = committed[partition] ?? KafkaOffset.invalid
            if offset >= 0 { job.committed[partition] = offset }
            guard let segment = plan.segment(consuming: partition.topic), !plan.segments[segment].stages.isEmpty else { continue }
            job.wanted[SegmentPartition(segment: segment, partition: partition.partition)] = max(offset, 0)
        }
        // State handed over inside an instance reflects source input: on a broker that shows
        // aborted records, it counts only once the group has committed the source offsets its
        // records carry.
        if checksSourceOffsets, job.wanted.keys.contains(where: { $0.segment > 0 }) {
            let sourceTopic = plan.segments[0].inputTopic
            let sources = (0..<partitionCount).map { TopicPartition(sourceTopic, $0) }
            for (partition, offset) in try context.committed(sources) { job.sourceCommitted[partition.partition] = offset }
        }
    }

    private func startReading(_ starts: [TopicPartition: Int64], job: inout Job) throws {
        closeReader()
        let reader = try context.makeReader()
        self.reader = reader
        try reader.assign(starts)
        job.remaining = Set(starts.keys)
        job.lastProgress = clock.now
    }

    /// Reads the job's partitions until each has reached its end (true) or the deadline passes (false).
    private func read(_ job: inout Job, until deadline: ContinuousClock.Instant, _ body: (inout Job, ConsumedMessage) throws -> Void) throws -> Bool {
        guard let reader else { throw KafkaError(code: .state, message: "no reader for the restore") }
        while !job.remaining.isEmpty {
            // Checked before each read, so that a step never starts a read after its time is
            // up (a phase that just completed leaves the next one to the next step).
            guard clock.now < deadline else { return false }
            try reader.withBatch(maxRecords: Self.batchRecords, timeout: .milliseconds(10), fill: false) { batch in
                for error in batch.errors {
                    // The log no longer holds the offset a checkpoint points at (retention, or a
                    // topic recreated): never restore what is left as if it were the state.
                    if error.code == .autoOffsetReset || error.code == .offsetOutOfRange {
                        throw KafkaError(code: error.code, message: "\(error.message): the changelog no longer holds the records the state needs. Run the topology under a new name (fresh state), or recreate its changelog and checkpoint topics with cleanup.policy=compact")
                    }
                    logger.warning("restore: \(error)")
                }
                for message in batch.messages where job.remaining.contains(message.topicPartition) {
                    do {
                        try body(&job, message)
                    } catch {
                        throw RestoreError(place: "\(message.topic)/\(message.partition)@\(message.offset)", underlying: error)
                    }
                }
                for (partition, end) in batch.partitionEnds {
                    // A read_committed read ends at the last stable offset. Below the high
                    // watermark, that is the start of a transaction still open — another
                    // instance's, dead or a zombie, whose outcome decides what comes after it
                    // (including what later owners committed behind it): the restore waits for
                    // it to end, as KIP-447's stable offsets make a new owner wait on Kafka. A
                    // restore that stopped there would lose every later committed record.
                    if let high = reader.cachedWatermarks(partition)?.high, end < high {
                        job.openTransactions[partition] = end
                        continue
                    }
                    job.openTransactions.removeValue(forKey: partition)
                    job.remaining.remove(partition)
                }
                if !batch.messages.isEmpty || !batch.partitionEnds.isEmpty {
                    job.lastProgress = clock.now
                    waiting = nil
                }
            }
            let now = clock.now
            // A transaction left open by a dead instance holds the end of a read_committed read
            // back until the broker times it out (transaction.timeout.ms): wait, and say so.
            if now - job.lastProgress > .seconds(10), now - job.lastWaitLog > .seconds(10) {
                job.lastWaitLog = now
                let open = job.openTransactions.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }
                let cause = open.isEmpty
                    ? "an open transaction of another instance, a broker that does not answer, or an offset past the end of the log"
                    : "a transaction of another instance is open at \(open.joined(separator: ", ")); the broker aborts it after its transaction.timeout.ms"
                let reason = "restoring \(job.partitions.map(\.description).joined(separator: ", ")): no progress for \(Int((now - job.lastProgress) / .seconds(1))) s reading \(job.remaining.sorted().map(\.description).joined(separator: ", ")) (\(cause)); the partitions stay paused"
                waiting = reason
                logger.warning("\(reason)")
            }
        }
        return true
    }

    /// Applies one changelog record.
    private func apply(_ message: ConsumedMessage, job: inout Job) throws {
        guard let (stage, segment, upTo) = job.changelogs[message.topicPartition], let pipeline = pipelines[message.partition] else { return }
        let headers = message.headers
        // Records of local deliveries whose source offsets are not committed come from a
        // transaction that did not commit (or not yet): once the source commits past them
        // they would look committed, so the partition is snapshotted to leave them behind.
        if checksSourceOffsets, let tag = headers.first(where: { $0.name == RecordHeaders.sourceOffsets })?.stringValue,
           !(RecordHeaders.decodeOffsets(Substring(tag)).map { Self.committed($0, in: job.sourceCommitted) } ?? false) {
            job.passedOver.insert(SegmentPartition(segment: segment, partition: message.partition))
            return
        }
        // Only state that reflects committed input: records of aborted or unfinished
        // transactions carry offsets beyond the committed one.
        guard let stateOffset = RecordHeaders.integer(RecordHeaders.stateOffset, in: headers) else { return }
        // With events records, key states past the committed offset are of a snapshot (or a
        // fallback) that did not commit: once later commits pass their offset a later restore
        // would install them under events records that hold the same input, so the partition is
        // snapshotted next (on a broker that shows aborted records; Kafka never shows them).
        if stateOffset > upTo, topology.processing.changelog == .events, RecordHeaders.integer(RecordHeaders.eventsFrom, in: headers) == nil {
            job.passedOver.insert(SegmentPartition(segment: segment, partition: message.partition))
        }
        guard stateOffset <= upTo, !headers.contains(where: { $0.name == RecordHeaders.snapshotStart }) else { return }
        if headers.contains(where: { $0.name == RecordHeaders.appliedSourceOffsets }) {
            job.applied[SegmentPartition(segment: segment, partition: message.partition)] = try AppliedSourceOffsets(decoding: message.value ?? [])
            return
        }
        // Told by its header (a key's text could read like an events record's key).
        if let from = RecordHeaders.integer(RecordHeaders.eventsFrom, in: headers) {
            guard let key = message.key, let slot = ChangelogWriter.eventsSlot(ofKey: key), let value = message.value else {
                throw StateSnapshotError(problem: "an events record without its place in its key, or without a value", bytes: message.value?.count ?? 0)
            }
            let place = "\(message.topic)/\(message.partition)@\(message.offset)"
            let step = job.eventChains[message.topicPartition, default: EventChain()].next(EventChain.Record(from: from, to: stateOffset, value: value, place: place), slot: slot)
            if let aborted = step.aborted {
                logger.info("restore: passed over the events record at \(aborted.place) (input \(aborted.from)..<\(aborted.to)): the one at \(place) covers its input again, so its transaction was aborted")
            }
            if let stale = step.stale {
                logger.warning("restore: passed over the events record at \(place): its input \(stale.from)..<\(stale.to) is all below what the state already reflects")
            }
            if let straddling = step.straddles {
                throw StateSnapshotError(problem: "an events record whose input \(straddling.from)..<\(straddling.to) straddles where the restored state stands (\(job.eventChains[message.topicPartition]?.position.map(String.init) ?? "?")): the snapshot it was read against is not the one it builds on", bytes: value.count)
            }
            if let record = step.apply { try applyEvents(record, changelog: message.topicPartition, job: &job) }
            return
        }
        // A key's whole state comes after the events before it.
        try applyPendingEvents(of: message.topicPartition, job: &job)
        if let value = message.value {
            try pipeline.restore(stage: stage, snapshot: value)
        } else if let keyBytes = message.key {
            let text = String(decoding: keyBytes, as: UTF8.self)
            let keyType = topology.source.field(named: topology.stages[stage].key)?.type
            pipeline.removeState(stage: stage, key: keyType == .int ? Int64(text).map { .int($0) } ?? .string(text) : .string(text))
        }
        job.records += 1
    }

    /// Applies a changelog partition's pending events record, if it has one.
    private func applyPendingEvents(of changelog: TopicPartition, job: inout Job) throws {
        guard let record = job.eventChains[changelog]?.flush() else { return }
        try applyEvents(record, changelog: changelog, job: &job)
    }

    /// Replays an events record into its stage.
    private func applyEvents(_ record: EventChain.Record, changelog: TopicPartition, job: inout Job) throws {
        guard let (stage, _, _) = job.changelogs[changelog], let pipeline = pipelines[changelog.partition] else { return }
        do {
            try pipeline.replay(stage: stage, operations: record.value)
        } catch {
            throw RestoreError(place: record.place, underlying: error)
        }
        job.records += 1
    }

    private func finish(_ job: Job) -> [Restored] {
        restoredRecords += job.records
        metrics.restoredRecords.increment(by: job.records)
        if !job.wanted.isEmpty {
            logger.info("restored state", metadata: [
                "partitions": "\(job.partitions.map(\.description).joined(separator: ","))", "records": "\(job.records)",
                "from_snapshots": "\(job.fromSnapshots)", "seconds": "\(clock.now - job.started)",
                "applied": "\(job.applied.sorted { $0.key.partition < $1.key.partition }.map { "\($0.key.partition): \($0.value)" })",
                "committed": "\(job.committed.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })",
            ])
        }
        return job.partitions.map { partition in
            let segmentPartition = plan.segment(consuming: partition.topic).map { SegmentPartition(segment: $0, partition: partition.partition) }
            let nextEventSlot = segmentPartition.map { segmentPartition in
                plan.segments[segmentPartition.segment].stages.reduce(0) { next, stage in
                    max(next, (job.eventChains[TopicPartition(plan.changelogTopics[stage], segmentPartition.partition)]?.highestSlot ?? -1) + 1)
                }
            } ?? 0
            return Restored(partition: partition, committed: job.committed[partition], applied: segmentPartition.flatMap { job.applied[$0] },
                            passedOverUnfinished: segmentPartition.map { job.passedOver.contains($0) } ?? false, nextEventSlot: nextEventSlot)
        }
    }

    private func clearState(of partitions: [TopicPartition]) {
        for partition in partitions {
            guard let segment = plan.segment(consuming: partition.topic) else { continue }
            pipelines.clear(partition: partition.partition, stages: plan.segments[segment].stages)
        }
    }

    private func closeReader() {
        try? reader?.close()
        reader = nil
    }

    private static func committed(_ offsets: [Int32: Int64], in committed: [Int32: Int64]) -> Bool {
        offsets.allSatisfy { $0.value <= committed[$0.key] ?? 0 }
    }
}

/// A record met while restoring could not be applied.
struct RestoreError: Error, CustomStringConvertible {
    /// `topic/partition@offset` of the record.
    var place: String
    var underlying: any Error
    var description: String {
        "the changelog record at \(place) cannot be applied (\(underlying)). If it is damaged, the state cannot be rebuilt from this changelog: run the topology under a new name for fresh state, or remove the damaged topic and let Vigil recreate it"
    }
}
