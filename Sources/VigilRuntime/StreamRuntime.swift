import Foundation
public import Logging
import Synchronization
import VigilCodec
import VigilFeatures
import VigilKafka
public import VigilModels
import VigilPipeline
public import VigilTopology

/// The Kafka driver around the shared ``Pipeline``: consumes a topology's source (and its
/// repartition topics) as a member of a consumer group, runs the stages in micro-batches,
/// scores, and produces scores, alerts, dead letters, repartitioned events and state changes in
/// one transaction with the consumed offsets — exactly once.
///
/// State is kept per input partition (one pipeline per partition number, as Kafka Streams keeps
/// a task per partition), written to a changelog per stage, snapshotted periodically, and
/// restored from the newest committed snapshot plus the changelog after it when a partition is
/// assigned. Everything runs on the thread that calls ``run()``; ``requestStop()`` may be called
/// from any thread (a signal handler).
public final class StreamRuntime: @unchecked Sendable {
    public let topology: Topology
    public let plan: TopicPlan
    public let options: RuntimeOptions
    private let logger: Logger
    private let makeKernel: () throws -> (any ScoringKernel)?
    /// What the instance exports on /metrics.
    public let metrics: RuntimeMetrics
    private let stopRequested = Atomic<Bool>(false)

    private var consumer: Consumer!
    private var producer: TransactionalProducer!
    private var admin: Admin!
    private var partitionCount: Int32 = 1
    private var pipelines: [Int32: Pipeline] = [:]
    private var cycle: TransactionCycle
    private var assigned: Set<TopicPartition> = []

    // The open transaction.
    private var nextOffsets: [TopicPartition: Int64] = [:]
    private var touchedPipelines: Set<Int32> = []
    private var touchedSegments: [SegmentPartition: Int64] = [:]
    /// Per segment partition behind a repartition topic; put back when a transaction aborts.
    private var appliedSourceOffsets: [SegmentPartition: AppliedSourceOffsets] = [:]
    private var appliedAtBegin: [SegmentPartition: AppliedSourceOffsets] = [:]
    // Local delivery (source stage → the segment behind it, inside the instance).
    /// Per source partition this instance owns: the source offset of the newest event (or
    /// barrier) it sent through the repartition topic to each repartition partition since it
    /// was assigned.
    private var sentThroughTopic: [Int32: [Int32: Int64]] = [:]
    /// Source partitions assigned since the last commit, whose barriers go out (again) in the
    /// next transaction.
    private var barriersDue: Set<Int32> = []
    /// Since when the sources have waited for a repartition partition to catch up.
    private var catchUpSince: ContinuousClock.Instant?
    /// Per segment partition that took handed-over events in the open transaction: from which
    /// source partitions (their offsets after it tag its changelog records).
    private var localSources: [SegmentPartition: Set<Int32>] = [:]
    /// Segment partitions whose restore passed over records of unfinished local deliveries:
    /// snapshotted in the next transaction, so that no later restore reads those records again
    /// (once the source commits past them they would look committed).
    private var snapshotDue: Set<SegmentPartition> = []
    /// Segment partitions snapshotted in the open transaction.
    private var snapshotted: Set<SegmentPartition> = []
    private var eventTimes: [Int64] = []
    private var ingestTimes: [Int64] = []
    private var lastStateMetrics: ContinuousClock.Instant?
    // Event-time alignment of the source partitions.
    private var sourceEventTime: [TopicPartition: Int64] = [:]
    private var pausedSources: Set<TopicPartition> = []
    // What is committed.
    private var committedOffsets: [TopicPartition: Int64] = [:]
    private var lastSnapshot: [SegmentPartition: ContinuousClock.Instant] = [:]
    private var pendingFailure: (any Error)?
    private let clock = ContinuousClock()

    /// Drift of this instance's traffic against the topology's profile (nil without a drift section).
    private var driftMonitor: PipelineDriftMonitor?
    private var driftCheckpoint: PipelineDriftMonitor.Checkpoint?
    private var sourceDecoder: SourceRecordDecoder?
    private var scoreEncoder: ScoreRecordEncoder?
    private var recordBuffer: [UInt8] = []
    private var eventWriter = ByteWriter(capacity: 512)
    private var provenanceHeaders: ProvenanceHeaders?

    public private(set) var statistics = RuntimeStatistics()
    /// Called after every committed transaction (tests and metrics watch progress with it).
    public var onCommit: (@Sendable (RuntimeStatistics) -> Void)?
    /// For tests: how many of the next commit attempts fail as if the broker had answered an
    /// abortable error, so that the abort path runs for real. May be set from any thread.
    let failingCommits = Atomic<Int>(0)

    struct SegmentPartition: Hashable { var segment: Int; var partition: Int32 }

    /// A runtime for `topology`. `makeKernel` loads the model (called once per partition's
    /// pipeline); nil from it means the topology scores nothing.
    public init(
        topology: Topology, options: RuntimeOptions, logger: Logger, metrics: RuntimeMetrics = RuntimeMetrics(),
        makeKernel: @escaping () throws -> (any ScoringKernel)?
    ) throws {
        self.metrics = metrics
        self.topology = topology
        self.plan = try TopicPlan(topology: topology)
        self.options = options
        self.logger = logger
        self.makeKernel = makeKernel
        cycle = TransactionCycle(commitInterval: options.commitInterval, maxEvents: options.maxEventsPerTransaction, commitsWhenDrained: options.commitsWhenDrained)
    }

    /// Asks the loop to finish its batch, commit, leave the group and return.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// The transactional id of this instance: stable across restarts.
    public var transactionalID: String { "vigil.\(topology.name).\(options.instanceID)" }

    /// Runs until ``requestStop()``; throws when fenced or on a fatal error.
    public func run() throws {
        try start()
        defer { try? consumer?.close() }
        while !stopRequested.load(ordering: .relaxed) {
            let drained = try consumer.withBatch(maxRecords: options.batchSize, timeout: options.batchDelay, fill: false) { batch in
                for error in batch.errors { logger.warning("\(error)") }
                try handle(batch)
                return batch.messages.count + batch.errors.count + batch.partitionEnds.count < options.batchSize
            }
            try alignSources()
            if let failure = pendingFailure { throw failure }
            if cycle.nextOnTick(now: clock.now, inputDrained: drained) == .commit { try commit() }
        }
        if case .commit = cycle.nextForHandOver() { try commit() }
        try consumer.close()
        if let failure = pendingFailure { throw failure }
        logger.info("stopped", metadata: ["events": "\(statistics.eventsIn)", "transactions": "\(statistics.transactionsCommitted)"])
    }

    // MARK: Start

    private func start() throws {
        admin = try Admin(configuration: options.kafka, logger: logger)
        let topics = try admin.listTopics()
        guard let source = topics[plan.segments[0].inputTopic] else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "the source topic '\(plan.segments[0].inputTopic)' of topology '\(topology.name)' does not exist at \(options.kafka.bootstrapServers)")
        }
        partitionCount = Int32(source.partitionCount)
        driftMonitor = try PipelineDriftMonitor.load(topology: topology)
        try admin.createTopics(plan.createdTopics.map { NewTopic(name: $0, partitions: partitionCount) }, ignoreExisting: true)
        for topic in plan.createdTopics {
            if let existing = topics[topic], existing.partitionCount != Int(partitionCount) {
                throw KafkaError(code: .invalidConfiguration, message: "topic '\(topic)' has \(existing.partitionCount) partitions; it must have the source's \(partitionCount)")
            }
        }
        var producerConfiguration = ProducerConfiguration(kafka: options.kafka, transactionalID: transactionalID)
        producerConfiguration.linger = .milliseconds(1)
        producer = try TransactionalProducer(configuration: producerConfiguration, logger: logger)
        // Fences a previous incarnation of this instance and ends the transaction it left open.
        try producer.initTransactions()

        var consumerConfiguration = ConsumerConfiguration(kafka: options.kafka, groupID: options.groupID ?? "vigil.\(topology.name)")
        consumerConfiguration.sessionTimeout = options.sessionTimeout
        consumerConfiguration.heartbeatInterval = min(.seconds(3), options.sessionTimeout / 4)
        // A fetch with nothing to return waits at most the batch delay (at least 5 ms), not
        // librdkafka's 500 ms: Kafka answers a waiting fetch as soon as records arrive, but
        // Tansu (the test broker) only when the wait ends, so there the wait is added to every
        // hop (a record read from the source, then from the repartition topic). Shorter is not
        // better on Tansu: at 5 ms its idle fetches slowed its transaction calls tenfold.
        consumerConfiguration.kafka.properties["fetch.wait.max.ms"] = consumerConfiguration.kafka.properties["fetch.wait.max.ms"]
            ?? String(max(5, Int(options.batchDelay / .milliseconds(1))))
        consumer = try Consumer(configuration: consumerConfiguration, logger: logger) { [unowned self] event in
            self.rebalance(event)
        }
        try consumer.subscribe(plan.inputTopics)
        logger.info("started", metadata: [
            "topology": "\(topology.name)", "instance": "\(options.instanceID)", "partitions": "\(partitionCount)",
            "inputs": "\(plan.inputTopics.joined(separator: ","))",
        ])
    }

    // MARK: Processing

    private func handle(_ batch: ConsumerBatch) throws {
        guard !batch.messages.isEmpty else { return }
        if cycle.nextForBatch(events: batch.messages.count, now: clock.now) == .begin {
            try producer.beginTransaction()
            driftCheckpoint = driftMonitor?.checkpoint()
            appliedAtBegin = appliedSourceOffsets
            for due in snapshotDue where touchedSegments[due] == nil { touchedSegments[due] = position(of: due) }
            try sendBarriers()
        }
        metrics.batchSize.observe(Double(batch.messages.count))
        var order: [TopicPartition] = []
        var groups: [TopicPartition: [Int]] = [:]
        for (index, message) in batch.messages.enumerated() {
            let partition = message.topicPartition
            if groups[partition] == nil { order.append(partition) }
            groups[partition, default: []].append(index)
        }
        // Events in are the source's records (a partition group at a time, not a topic name per record).
        let sourceEvents = order.reduce(0) { $0 + (plan.segment(consuming: $1.topic) == 0 ? groups[$1]!.count : 0) }
        statistics.eventsIn += sourceEvents
        metrics.eventsIn.increment(by: sourceEvents)
        for partition in order {
            // A revoke served inside the poll, after these records were fetched, has already
            // committed and dropped the partition: its new owner reads them from the committed offset.
            guard assigned.contains(partition) else { continue }
            let messages = groups[partition]!.map { batch.messages[$0] }
            guard let segment = plan.segment(consuming: partition.topic) else { continue }
            try process(messages, of: partition, segment: segment)
        }
    }

    private func process(_ messages: [ConsumedMessage], of partition: TopicPartition, segment segmentIndex: Int) throws {
        let pipeline = try pipeline(for: partition.partition)
        if touchedPipelines.insert(partition.partition).inserted { pipeline.beginBatch() }
        var events = pipeline.makeBatch(capacity: messages.count)
        var messageOfEvent: [Int] = []
        messageOfEvent.reserveCapacity(messages.count)

        if segmentIndex == 0 {
            try decodeSource(messages, pipeline: pipeline, into: &events, messageOfEvent: &messageOfEvent)
        } else {
            // The guard keys on the event's source partition and offset, which arrive in order
            // only directly behind the source (segment 1): behind a second repartition hop, one
            // source partition's events come through several upstream partitions, read
            // independently, so there the guard would drop events that are not copies.
            let segmentPartition = SegmentPartition(segment: segmentIndex, partition: partition.partition)
            let guarded = segmentIndex == 1
            var applied = appliedSourceOffsets[segmentPartition] ?? AppliedSourceOffsets()
            var skipped = 0
            for (index, message) in messages.enumerated() {
                let value = message.value ?? []
                if value.isEmpty, guarded, let barrier = message.headers.first(where: { $0.name == RecordHeaders.barrier })?.stringValue,
                   let offsets = RecordHeaders.decodeOffsets(Substring(barrier)) {
                    for (source, below) in offsets { _ = applied.apply(partition: source, offset: below) }
                    continue
                }
                do {
                    try events.appendEncoded(value)
                } catch {
                    try deadLetter(message, stage: "repartition", reason: "not a staged event: \(error)")
                    continue
                }
                let source = events.provenance[events.count - 1]
                if !guarded || applied.apply(partition: source.partition, offset: source.offset) {
                    messageOfEvent.append(index)
                } else {
                    events.dropLast()
                    skipped += 1
                    logger.debug("skipped \(message.topic)/\(message.partition)@\(message.offset): source \(source.partition)@\(source.offset) is applied already (a copy from an aborted transaction)")
                }
            }
            if guarded { appliedSourceOffsets[segmentPartition] = applied }
            if skipped > 0 {
                statistics.duplicatesSkipped += skipped
                metrics.duplicatesSkipped.increment(by: skipped)
                logger.info("skipped \(skipped) repartitioned events of \(partition) whose source events are applied already (copies from an aborted transaction that the broker delivered)")
            }
        }
        let next = messages[messages.count - 1].offset + 1
        nextOffsets[partition] = next
        touchedSegments[SegmentPartition(segment: segmentIndex, partition: partition.partition)] = next

        if segmentIndex == 0 {
            if let newest = events.times.max() { sourceEventTime[partition] = max(sourceEventTime[partition] ?? .min, newest) }
            pipeline.computeDerived(&events)
            eventTimes.append(contentsOf: events.times)
            for index in messageOfEvent { ingestTimes.append(messages[index].timestamp ?? 0) }
        }
        try runSegment(segmentIndex, on: &events, pipeline: pipeline) { messages[messageOfEvent[$0]] }
    }

    /// Runs a segment's stages on one partition's events, dead-letters what they reject, and
    /// scores or forwards the rest. `message(i)` is the consumed record behind event `i`.
    private func runSegment(_ segmentIndex: Int, on events: inout EventBatch, pipeline: Pipeline, message: (Int) -> ConsumedMessage) throws {
        for stage in plan.segments[segmentIndex].stages { pipeline.runStage(stage, on: &events) }
        for index in 0..<events.count {
            if let rejection = events.rejections[index] {
                try deadLetter(message(index), stage: rejection.stage, reason: rejection.reason, provenance: events.provenance[index])
            }
        }
        if segmentIndex == plan.segments.count - 1 {
            try emitScores(events, pipeline: pipeline)
        } else {
            try forward(events, from: segmentIndex, message: message)
        }
    }

    private func decodeSource(_ messages: [ConsumedMessage], pipeline: Pipeline, into events: inout EventBatch, messageOfEvent: inout [Int]) throws {
        let decoder = sourceDecoder ?? SourceRecordDecoder(topology: topology, pipeline: pipeline, topic: plan.segments[0].inputTopic)
        sourceDecoder = decoder
        try decoder.decode(messages, into: &events, accepted: { messageOfEvent.append($0) }) { index, rejection in
            try deadLetter(messages[index], stage: rejection.stage, reason: rejection.reason)
        }
    }

    /// Sends the events on to the next segment's owner through its repartition topic, or, for
    /// the segment behind the source, hands them over inside the instance when it owns their
    /// partition there and everything it sent that partition through the topic is applied.
    private func forward(_ events: EventBatch, from segmentIndex: Int, message: (Int) -> ConsumedMessage) throws {
        let segment = plan.segments[segmentIndex + 1]
        let keyStage = segment.stages.first ?? 0
        // Only behind the source: there a source partition's events reach each repartition
        // partition in offset order, which the hand-over rule (and the applied-offset guard) rely on.
        let mayDeliverLocally = segmentIndex == 0 && options.deliversLocally
        var handedOver: [Int32: [Int]] = [:]
        var localTargets: [Int32: Bool] = [:]
        for index in 0..<events.count where events.rejections[index] == nil {
            var key = events.key(index, stage: keyStage).description
            let source = events.provenance[index]
            try key.withUTF8 { key in
                let key = UnsafeRawBufferPointer(key)
                let target = Self.partition(of: key, count: partitionCount)
                if mayDeliverLocally {
                    if localTargets[target] ?? deliversLocally(to: target) {
                        localTargets[target] = true
                        handedOver[target, default: []].append(index)
                        return
                    }
                    localTargets[target] = false
                    sentThroughTopic[source.partition, default: [:]][target] = source.offset
                }
                eventWriter.removeAll()
                events.encodeEvent(at: index, into: &eventWriter)
                try eventWriter.bytes.withUnsafeBytes { value in
                    try producer.send(topic: segment.inputTopic, partition: target, key: key, value: value, timestamp: events.times[index])
                }
                statistics.forwarded += 1
            }
        }
        for (target, indices) in handedOver.sorted(by: { $0.key < $1.key }) {
            try deliver(events, indices, to: target, message: message)
        }
    }

    /// Whether events may skip the topic to repartition partition `target`: this instance owns
    /// (and has restored) it, and it has applied everything this instance sent it through the
    /// topic, barriers included. A barrier of each source partition, sent when the partition
    /// was assigned, lands behind everything its earlier owners sent; waiting for all sources
    /// at once keeps the sources' events in the order the topic would have given them.
    private func deliversLocally(to target: Int32) -> Bool {
        guard !sentThroughTopic.isEmpty, assigned.contains(TopicPartition(plan.segments[1].inputTopic, target)) else { return false }
        return sentThroughTopic.values.allSatisfy { $0[target] != nil } && !isBehind(target)
    }

    /// Whether repartition partition `target` has yet to apply something this instance sent it.
    private func isBehind(_ target: Int32) -> Bool {
        let applied = appliedSourceOffsets[SegmentPartition(segment: 1, partition: target)]
        return sentThroughTopic.contains { source, targets in targets[target].map { (applied?.offsets[source] ?? .min) < $0 } ?? false }
    }

    /// Sends every due barrier: to each repartition partition, for each newly assigned source
    /// partition, the offset below which its earlier owners forwarded everything.
    private func sendBarriers() throws {
        guard options.deliversLocally, plan.segments.count > 1 else { return }
        let topic = plan.segments[1].inputTopic
        for source in barriersDue.sorted() {
            let below = (committedOffsets[TopicPartition(plan.segments[0].inputTopic, source)] ?? 0) - 1
            let header = [KafkaHeader(RecordHeaders.barrier, RecordHeaders.encodeOffsets([source: below]))]
            for target in 0..<partitionCount {
                try producer.send(ProducerRecord(topic: topic, partition: target, key: nil, value: nil, headers: header))
                sentThroughTopic[source, default: [:]][target] = below
            }
            catchUpSince = nil
        }
    }

    /// Hands events of one source partition to repartition partition `target`'s segment in the
    /// open transaction, as if read from the topic: through the applied-offset guard, its
    /// stages, and on to scoring.
    private func deliver(_ events: EventBatch, _ indices: [Int], to target: Int32, message: (Int) -> ConsumedMessage) throws {
        let source = events.provenance[indices[0]].partition
        let pipeline = try pipeline(for: target)
        if touchedPipelines.insert(target).inserted { pipeline.beginBatch() }
        let segmentPartition = SegmentPartition(segment: 1, partition: target)
        var batch = pipeline.makeBatch(capacity: indices.count)
        var applied = appliedSourceOffsets[segmentPartition] ?? AppliedSourceOffsets()
        var origins: [Int] = []
        origins.reserveCapacity(indices.count)
        for index in indices {
            let provenance = events.provenance[index]
            // Only after an abort on a broker that shows aborted records: the copy it showed was applied.
            guard applied.apply(partition: provenance.partition, offset: provenance.offset) else {
                statistics.duplicatesSkipped += 1
                metrics.duplicatesSkipped.increment()
                continue
            }
            batch.append(index, of: events)
            origins.append(index)
        }
        appliedSourceOffsets[segmentPartition] = applied
        // q's offset goes into the transaction too, although unchanged: a new owner of q then
        // waits for this transaction to end before it reads q's committed offset (KIP-447),
        // as it does for every transaction that read q.
        let input = TopicPartition(plan.segments[1].inputTopic, target)
        let position = position(of: segmentPartition)
        if nextOffsets[input] == nil { nextOffsets[input] = position }
        if touchedSegments[segmentPartition] == nil { touchedSegments[segmentPartition] = position }
        localSources[segmentPartition, default: []].insert(source)
        statistics.deliveredLocally += batch.count
        metrics.deliveredLocally.increment(by: batch.count)
        try runSegment(1, on: &batch, pipeline: pipeline) { message(origins[$0]) }
    }

    /// The input position of a segment partition: in the open transaction, else committed.
    private func position(of segmentPartition: SegmentPartition) -> Int64 {
        let input = TopicPartition(plan.segments[segmentPartition.segment].inputTopic, segmentPartition.partition)
        return nextOffsets[input] ?? committedOffsets[input] ?? 0
    }

    private func emitScores(_ events: EventBatch, pipeline: Pipeline) throws {
        let scoringStart = clock.now
        let scores = pipeline.score(events)
        metrics.scoringDuration.observe(clock.now - scoringStart)
        let alerts = Set(pipeline.alerts(events, scores: scores))
        // Drift records of windows this batch closes go out in the same transaction as its scores.
        for emission in driftMonitor?.observe(events, scores: scores) ?? [] {
            for line in try emission.jsonLines() {
                try producer.send(ProducerRecord(topic: plan.driftTopic, key: Array(topology.name.utf8), value: Array(line), timestamp: emission.record.windowEndMs))
            }
        }
        let encoder = scoreEncoder ?? ScoreRecordEncoder(topology: topology, layout: pipeline.layout)
        scoreEncoder = encoder
        // Taken out while in use, so that its buffers stay uniquely referenced.
        var provenanceHeaders = self.provenanceHeaders ?? ProvenanceHeaders(topic: plan.segments[0].inputTopic)
        self.provenanceHeaders = nil
        defer { self.provenanceHeaders = provenanceHeaders }
        for index in 0..<events.count where events.rejections[index] == nil {
            let ids = events.ids(of: index)
            let id = ids.count == 1 ? ids[ids.startIndex] : ids.joined(separator: ",")
            var keyText = id
            let provenance = events.provenance[index]
            let headers = provenanceHeaders.headers(partition: provenance.partition, offset: provenance.offset)
            let isAlert = alerts.contains(index)
            let score = scores.isEmpty ? nil : scores[index]
            encoder.encode(events, index, id: id, score: score, alert: false, into: &recordBuffer)
            try keyText.withUTF8 { key in
                let key = UnsafeRawBufferPointer(key)
                try recordBuffer.withUnsafeBytes { value in
                    try producer.send(topic: plan.scoresTopic, key: key, value: value, headers: headers, timestamp: events.times[index])
                }
                if isAlert {
                    encoder.encode(events, index, id: id, score: score, alert: true, into: &recordBuffer)
                    try recordBuffer.withUnsafeBytes { value in
                        try producer.send(topic: plan.alertsTopic, key: key, value: value, headers: headers, timestamp: events.times[index])
                    }
                    statistics.alerts += 1
                }
            }
            statistics.scored += 1
        }
        metrics.eventsOut.increment(by: events.count - events.rejections.reduce(0) { $0 + ($1 == nil ? 0 : 1) })
    }

    private func deadLetter(_ message: ConsumedMessage, stage: String, reason: String, provenance: Provenance? = nil) throws {
        var headers = [KafkaHeader(RecordHeaders.errorReason, reason), KafkaHeader(RecordHeaders.errorStage, stage)]
        if let provenance, message.topic != plan.segments[0].inputTopic {
            headers += RecordHeaders.provenance(topic: plan.segments[0].inputTopic, partition: provenance.partition, offset: provenance.offset)
        } else {
            headers += RecordHeaders.provenance(topic: message.topic, partition: message.partition, offset: message.offset)
        }
        try producer.send(ProducerRecord(topic: plan.deadLetterTopic, key: message.key, value: message.value, headers: headers, timestamp: message.timestamp))
        statistics.deadLettered += 1
        metrics.deadLettered.labels(stage == "decode" || stage == "repartition" ? stage : "late").increment()
        logger.debug("dead-lettered \(message.topic)/\(message.partition)@\(message.offset): \(stage): \(reason)")
    }

    private func pipeline(for partition: Int32) throws -> Pipeline {
        if let pipeline = pipelines[partition] { return pipeline }
        let pipeline = try Pipeline(topology: topology, kernel: try makeKernel(), recordsUndo: true)
        pipelines[partition] = pipeline
        return pipeline
    }

    /// Keeps the source partitions' event times together, as Kafka Streams does by picking the
    /// oldest head record: a partition more than half the allowed lateness ahead of the oldest
    /// source partition that still has records waiting is paused until that one catches up.
    /// Without it, a backlog read partition by partition reaches a later stage (behind a
    /// repartition topic) out of order, beyond the allowed lateness. All sources also wait
    /// while a repartition partition catches up for local delivery (``catchingUp()``).
    private func alignSources() throws {
        let sources = assigned.filter { plan.segment(consuming: $0.topic) == 0 }
        let hold = catchingUp()
        var ahead: Set<TopicPartition> = []
        if sources.count > 1 {
            func hasWaitingRecords(_ partition: TopicPartition) -> Bool {
                guard let high = consumer.cachedWatermarks(partition)?.high else { return true }
                return high > (nextOffsets[partition] ?? committedOffsets[partition] ?? 0)
            }
            let waiting = sources.filter(hasWaitingRecords)
            let floor = waiting.map { sourceEventTime[$0] ?? .min }.min()
            let slack = max(1, topology.processing.allowedLateness / 2)
            for partition in sources {
                let isAhead = floor.map { floor in
                    let time = sourceEventTime[partition] ?? .min
                    return floor == .min ? time != .min : time > floor &+ slack
                } ?? false
                if isAhead { ahead.insert(partition) }
            }
        }
        let pause = sources.filter { (hold || ahead.contains($0)) && !pausedSources.contains($0) }
        let resume = pausedSources.filter { sources.contains($0) && !hold && !ahead.contains($0) }
        if !pause.isEmpty { try consumer.pause(Array(pause)); pausedSources.formUnion(pause) }
        if !resume.isEmpty { try consumer.resume(Array(resume)); pausedSources.subtract(resume) }
    }

    /// Whether the sources should wait for a repartition partition this instance owns to apply
    /// what the instance sent it through the topic (after an assignment's barriers, or an
    /// abort). Under a steady stream the events sent through the topic are otherwise always one
    /// transaction ahead of what the partition has read, and it never switches to local
    /// delivery. The wait is normally one commit and one fetch. It is cut off after a second
    /// (or two commit intervals, if longer) — a transaction left open upstream, or a foreign
    /// record dead-lettered in place of the last one sent, can hold a partition back — and
    /// tried again 30 s later; until then events go through the topic, as without local delivery.
    private func catchingUp() -> Bool {
        guard options.deliversLocally, plan.segments.count > 1, !sentThroughTopic.isEmpty else { catchUpSince = nil; return false }
        let topic = plan.segments[1].inputTopic
        guard assigned.contains(where: { $0.topic == topic && isBehind($0.partition) }) else { catchUpSince = nil; return false }
        let since = catchUpSince ?? clock.now
        if clock.now - since >= .seconds(30) {
            catchUpSince = clock.now
            return true
        }
        catchUpSince = since
        return clock.now - since < max(.seconds(1), options.commitInterval * 2)
    }

    // MARK: Transactions

    /// Writes the open transaction's state changes (and due snapshots), adds the offsets, commits.
    private func commit() throws {
        let commitStart = clock.now
        do {
            try writeChangelogs()
            try producer.sendOffsetsToTransaction(nextOffsets, groupMetadata: consumer.groupMetadata())
        } catch let error as KafkaError {
            _ = try recover(from: error, retryable: false)
            return
        }
        // The cycle decides how often a retriable commit failure is retried.
        while true {
            do throws(KafkaError) {
                if failingCommits.load(ordering: .relaxed) > 0 {
                    failingCommits.subtract(1, ordering: .relaxed)
                    throw KafkaError(code: .state, message: "a commit fails as the test asked", severity: .abortRequired)
                }
                try producer.commitTransaction()
                break
            } catch {
                guard try recover(from: error) else { return }
            }
        }
        for (partition, offset) in nextOffsets { committedOffsets[partition] = offset }
        for partition in touchedPipelines { pipelines[partition]?.commitBatch() }
        metrics.commitDuration.observe(clock.now - commitStart)
        metrics.transactionsCommitted.increment()
        metrics.recordCommitted(eventTimesMillis: eventTimes, ingestTimesMillis: ingestTimes, committedAtMillis: Int64(Date().timeIntervalSince1970 * 1000))
        metrics.updateConsumerLag(consumer, positions: nextOffsets)
        eventTimes.removeAll(keepingCapacity: true)
        ingestTimes.removeAll(keepingCapacity: true)
        updateStateMetrics()
        for segmentPartition in snapshotted { lastSnapshot[segmentPartition] = clock.now }
        snapshotDue.subtract(snapshotted)
        snapshotted.removeAll()
        barriersDue.removeAll()
        nextOffsets.removeAll()
        touchedPipelines.removeAll()
        touchedSegments.removeAll()
        localSources.removeAll()
        cycle.committed()
        statistics.transactionsCommitted += 1
        onCommit?(statistics)
    }

    /// Acts on a failed transactional call as the cycle says: true to call commit again; false
    /// once the transaction is aborted and the input rewound; throws when the instance must stop.
    private func recover(from error: KafkaError, retryable: Bool = true) throws -> Bool {
        switch cycle.nextOnError(error) {
        case .retryCommit where retryable:
            return true
        case .stop(let fatal):
            logger.critical("stopping: \(fatal)")
            metrics.health.markUnhealthy(fatal.isFenced ? "producer fenced: another instance took over" : "fatal Kafka error: \(fatal.code)")
            throw fatal
        default:
            logger.warning("transaction failed, aborting and rewinding: \(error)")
            try abortAndRewind()
            return false
        }
    }

    private func writeChangelogs() throws {
        for (segmentPartition, stateOffset) in touchedSegments {
            guard let pipeline = pipelines[segmentPartition.partition] else { continue }
            let stages = plan.segments[segmentPartition.segment].stages
            let sourceOffsets = localSourceOffsets(segmentPartition)
            var headers = [KafkaHeader(RecordHeaders.stateOffset, String(stateOffset))]
            if !sourceOffsets.isEmpty { headers.append(KafkaHeader(RecordHeaders.sourceOffsets, RecordHeaders.encodeOffsets(sourceOffsets))) }
            for stage in stages {
                for key in pipeline.touchedKeys(stage: stage) {
                    try sendState(of: key, stage: stage, pipeline: pipeline, partition: segmentPartition.partition, headers: headers)
                    statistics.changelogRecords += 1
                }
            }
            try sendAppliedSourceOffsets(segmentPartition, headers: headers)
            // The first snapshot comes one interval after the partition's first commit: a
            // snapshot of a state that was just restored, or is still small, saves nothing.
            let due: Bool
            if snapshotDue.contains(segmentPartition) {
                due = true
            } else if let last = lastSnapshot[segmentPartition] {
                due = clock.now - last >= options.snapshotInterval
            } else {
                lastSnapshot[segmentPartition] = clock.now
                due = false
            }
            if due, !stages.isEmpty {
                try writeSnapshot(segmentPartition, pipeline: pipeline, stateOffset: stateOffset, sourceOffsets: sourceOffsets, headers: headers)
            }
        }
    }

    /// The open transaction's source offsets behind a segment partition's handed-over events.
    private func localSourceOffsets(_ segmentPartition: SegmentPartition) -> [Int32: Int64] {
        guard let sources = localSources[segmentPartition] else { return [:] }
        let topic = plan.segments[0].inputTopic
        return Dictionary(uniqueKeysWithValues: sources.map { ($0, nextOffsets[TopicPartition(topic, $0)] ?? 0) })
    }

    /// A segment behind a repartition topic writes its applied source offsets with its state.
    private func sendAppliedSourceOffsets(_ segmentPartition: SegmentPartition, headers: [KafkaHeader]) throws {
        guard let applied = appliedSourceOffsets[segmentPartition], let stage = plan.segments[segmentPartition.segment].stages.first else { return }
        try producer.send(ProducerRecord(
            topic: plan.changelogTopics[stage], partition: segmentPartition.partition, key: nil, value: applied.encoded,
            headers: headers + [KafkaHeader(RecordHeaders.appliedSourceOffsets, "1")]))
    }

    /// One key's changelog record: its LZ4 state, or a tombstone when the key has none (evicted).
    private func sendState(of key: StateKey, stage: Int, pipeline: Pipeline, partition: Int32, headers: [KafkaHeader]) throws {
        var keyText = key.description
        try keyText.withUTF8 { keyBytes in
            let keyBytes = UnsafeRawBufferPointer(keyBytes)
            try pipeline.withSnapshot(stage: stage, key: key) { (state) throws(KafkaError) in
                try producer.send(topic: plan.changelogTopics[stage], partition: partition, key: keyBytes, value: state, headers: headers)
            }
        }
    }

    /// A full copy of a segment partition's state into its changelogs, and a checkpoint saying
    /// where it starts, in the open transaction.
    private func writeSnapshot(_ segmentPartition: SegmentPartition, pipeline: Pipeline, stateOffset: Int64, sourceOffsets: [Int32: Int64],
                               headers: [KafkaHeader]) throws {
        let stages = plan.segments[segmentPartition.segment].stages
        for stage in stages {
            let marker = Array("snapshot".utf8)
            try marker.withUnsafeBytes { marker in
                try producer.send(topic: plan.changelogTopics[stage], partition: segmentPartition.partition, key: nil, value: marker,
                                  headers: headers + [KafkaHeader(RecordHeaders.snapshotStart, "1")], tracked: true)
            }
            for key in pipeline.engines[stage].allKeys {
                try sendState(of: key, stage: stage, pipeline: pipeline, partition: segmentPartition.partition, headers: headers)
            }
        }
        try sendAppliedSourceOffsets(segmentPartition, headers: headers)
        try producer.flush()
        let starts = producer.takeTrackedOffsets()
        var offsets: [Int: Int64] = [:]
        for stage in stages {
            guard let start = starts[TopicPartition(plan.changelogTopics[stage], segmentPartition.partition)] else {
                throw KafkaError(code: .state, message: "no offset came back for the start of \(segmentPartition)'s snapshot in \(plan.changelogTopics[stage])", severity: .abortRequired)
            }
            offsets[stage] = start
        }
        let checkpoint = Checkpoint(segment: segmentPartition.segment, stateOffset: stateOffset, changelogOffsets: offsets, sourceOffsets: sourceOffsets)
        try producer.send(ProducerRecord(topic: plan.checkpointTopic, partition: segmentPartition.partition, key: Array("segment-\(segmentPartition.segment)".utf8), value: checkpoint.encoded))
        snapshotted.insert(segmentPartition)
        statistics.snapshotsWritten += 1
    }

    private func abortAndRewind() throws {
        do {
            try producer.abortTransaction()
        } catch {
            if error.severity == .fatal { throw error }
            logger.warning("abort failed: \(error)")
        }
        for partition in touchedPipelines { pipelines[partition]?.rollbackBatch() }
        // Their aborted records carry source offsets that the retry will commit past.
        snapshotDue.formUnion(localSources.keys)
        snapshotted.removeAll()
        if let saved = driftCheckpoint { driftMonitor?.restore(saved) }
        appliedSourceOffsets = appliedAtBegin
        var rewind: [TopicPartition: Int64] = [:]
        for partition in nextOffsets.keys where assigned.contains(partition) {
            rewind[partition] = committedOffsets[partition] ?? KafkaOffset.beginning
        }
        if !rewind.isEmpty { try consumer.seek(rewind) }
        nextOffsets.removeAll()
        touchedPipelines.removeAll()
        touchedSegments.removeAll()
        localSources.removeAll()
        cycle.aborted()
        statistics.transactionsAborted += 1
        metrics.transactionsAborted.increment()
        eventTimes.removeAll(keepingCapacity: true)
        ingestTimes.removeAll(keepingCapacity: true)
    }

    // MARK: Rebalancing and restore

    private func rebalance(_ event: RebalanceEvent) {
        statistics.rebalances += 1
        switch event {
        case .assigned: metrics.rebalances.labels("assigned").increment()
        case .revoked(let partitions):
            metrics.rebalances.labels("revoked").increment()
            metrics.removeConsumerLag(partitions)
        case .lost(let partitions):
            metrics.rebalances.labels("lost").increment()
            metrics.removeConsumerLag(partitions)
        }
        do {
            switch event {
            case .revoked(let partitions):
                // Commit what was done for these partitions while they are still ours.
                if case .commit = cycle.nextForHandOver() { try commit() }
                drop(partitions)
            case .lost(let partitions):
                if case .open = cycle.state { try abortAndRewind() }
                drop(partitions)
            case .assigned(let partitions):
                if case .open = cycle.state { try commit() }
                try restore(partitions)
            }
        } catch {
            logger.error("rebalance handling failed: \(error)")
            pendingFailure = error
        }
    }

    private func drop(_ partitions: [TopicPartition]) {
        for partition in partitions {
            assigned.remove(partition)
            committedOffsets.removeValue(forKey: partition)
            sourceEventTime.removeValue(forKey: partition)
            pausedSources.remove(partition)
            if plan.segment(consuming: partition.topic) == 0 {
                sentThroughTopic.removeValue(forKey: partition.partition)
                barriersDue.remove(partition.partition)
            }
            guard let segment = plan.segment(consuming: partition.topic), let pipeline = pipelines[partition.partition] else { continue }
            for stage in plan.segments[segment].stages {
                for key in pipeline.engines[stage].allKeys { pipeline.removeState(stage: stage, key: key) }
            }
            lastSnapshot.removeValue(forKey: SegmentPartition(segment: segment, partition: partition.partition))
            appliedSourceOffsets.removeValue(forKey: SegmentPartition(segment: segment, partition: partition.partition))
            snapshotDue.remove(SegmentPartition(segment: segment, partition: partition.partition))
            if !assigned.contains(where: { $0.partition == partition.partition }) { pipelines.removeValue(forKey: partition.partition) }
        }
    }

    private func restore(_ partitions: [TopicPartition]) throws {
        let started = clock.now
        let committed = try consumer.committed(partitions)
        let reader = PartitionReader(kafka: options.kafka, logger: logger)
        var restoring: [(partition: TopicPartition, segment: Int, upTo: Int64)] = []
        for partition in partitions {
            assigned.insert(partition)
            let offset = committed[partition] ?? KafkaOffset.invalid
            if offset >= 0 { committedOffsets[partition] = offset }
            if plan.segment(consuming: partition.topic) == 0, options.deliversLocally, plan.segments.count > 1 {
                sentThroughTopic[partition.partition] = [:]
                barriersDue.insert(partition.partition)
            }
            guard let segment = plan.segment(consuming: partition.topic), !plan.segments[segment].stages.isEmpty else { continue }
            restoring.append((partition, segment, max(offset, 0)))
        }
        guard !restoring.isEmpty else { return }
        metrics.partitionsRestoring.set(restoring.count)
        defer { metrics.partitionsRestoring.set(0) }
        // State handed over inside an instance reflects source input: it counts only once the
        // group has committed the source offsets its records carry.
        var sourceCommitted: [Int32: Int64] = [:]
        if restoring.contains(where: { $0.segment > 0 }) {
            let sourceTopic = plan.segments[0].inputTopic
            for (partition, offset) in try consumer.committed((0..<partitionCount).map { TopicPartition(sourceTopic, $0) }) {
                sourceCommitted[partition.partition] = offset
            }
        }
        func sourcesCommitted(_ offsets: [Int32: Int64]) -> Bool { offsets.allSatisfy { $0.value <= sourceCommitted[$0.key] ?? 0 } }
        var passedOver: Set<SegmentPartition> = []

        // 1. The newest checkpoint of a committed snapshot, per restoring segment partition.
        var checkpoints: [SegmentPartition: Checkpoint] = [:]
        let wanted = Dictionary(restoring.map { (SegmentPartition(segment: $0.segment, partition: $0.partition.partition), $0.upTo) }, uniquingKeysWith: max)
        let checkpointPartitions = Set(restoring.map { TopicPartition(plan.checkpointTopic, $0.partition.partition) })
        try reader.read(Dictionary(uniqueKeysWithValues: checkpointPartitions.map { ($0, KafkaOffset.beginning) })) { message in
            guard let value = message.value, let found = Checkpoint(decoding: value) else { return }
            let key = SegmentPartition(segment: found.segment, partition: message.partition)
            guard let upTo = wanted[key], found.stateOffset <= upTo, sourcesCommitted(found.sourceOffsets) else { return }
            checkpoints[key] = found
        }

        // 2. Each stage's changelog from the snapshot on (from the start without one).
        var stageOf: [TopicPartition: (stage: Int, segment: Int, upTo: Int64)] = [:]
        var starts: [TopicPartition: Int64] = [:]
        for item in restoring {
            let key = SegmentPartition(segment: item.segment, partition: item.partition.partition)
            _ = try pipeline(for: item.partition.partition)
            for stage in plan.segments[item.segment].stages {
                let changelog = TopicPartition(plan.changelogTopics[stage], item.partition.partition)
                stageOf[changelog] = (stage, item.segment, item.upTo)
                starts[changelog] = checkpoints[key]?.changelogOffsets[stage] ?? KafkaOffset.beginning
            }
        }
        var applied = 0
        try reader.read(starts) { message in
            guard let (stage, segment, upTo) = stageOf[message.topicPartition], let pipeline = pipelines[message.partition] else { return }
            let headers = message.headers
            // Records of local deliveries whose source offsets are not committed come from a
            // transaction that did not commit (or not yet): once the source commits past them
            // they would look committed, so the partition is snapshotted to leave them behind.
            if let tag = headers.first(where: { $0.name == RecordHeaders.sourceOffsets })?.stringValue,
               !(RecordHeaders.decodeOffsets(Substring(tag)).map(sourcesCommitted) ?? false) {
                passedOver.insert(SegmentPartition(segment: segment, partition: message.partition))
                return
            }
            // Only state that reflects committed input: records of aborted or unfinished
            // transactions carry offsets beyond the committed one.
            guard let stateOffset = RecordHeaders.integer(RecordHeaders.stateOffset, in: headers), stateOffset <= upTo,
                  !headers.contains(where: { $0.name == RecordHeaders.snapshotStart }) else { return }
            if headers.contains(where: { $0.name == RecordHeaders.appliedSourceOffsets }) {
                appliedSourceOffsets[SegmentPartition(segment: segment, partition: message.partition)] = try AppliedSourceOffsets(decoding: message.value ?? [])
            } else if let value = message.value {
                try pipeline.restore(stage: stage, snapshot: value)
            } else if let keyBytes = message.key {
                let text = String(decoding: keyBytes, as: UTF8.self)
                let keyType = topology.source.field(named: topology.stages[stage].key)?.type
                pipeline.removeState(stage: stage, key: keyType == .int ? Int64(text).map { .int($0) } ?? .string(text) : .string(text))
            }
            applied += 1
        }
        snapshotDue.formUnion(passedOver)
        statistics.restoredRecords += applied
        metrics.restoredRecords.increment(by: applied)
        updateStateMetrics(force: true)
        logger.info("restored state", metadata: [
            "partitions": "\(restoring.map(\.partition.description).joined(separator: ","))", "records": "\(applied)",
            "from_snapshots": "\(checkpoints.count)", "seconds": "\(clock.now - started)",
        ])
    }

    /// Walks every key (O(keys)), so at most once a second.
    private func updateStateMetrics(force: Bool = false) {
        guard force || lastStateMetrics.map({ clock.now - $0 >= .seconds(1) }) ?? true else { return }
        lastStateMetrics = clock.now
        for (stage, spec) in topology.stages.enumerated() {
            var keys = 0
            var bytes = 0
            for pipeline in pipelines.values {
                let footprint = pipeline.engines[stage].footprint
                keys += footprint.keyCount
                bytes += footprint.bytes
            }
            metrics.stateKeys.labels(spec.name).set(keys)
            metrics.stateBytes.labels(spec.name).set(bytes)
        }
    }

    // MARK: Encoding helpers

    /// A stable partition for a repartition key (FNV-1a), the same on every instance.
    static func partition(of key: UnsafeRawBufferPointer, count: Int32) -> Int32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int32(hash % UInt64(count))
    }

}
