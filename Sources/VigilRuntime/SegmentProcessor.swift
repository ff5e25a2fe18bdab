import Logging
import VigilDrift
import VigilKafka
import VigilPipeline
import VigilTopology

/// Runs one partition's polled records through its segment's stages into the open transaction
/// (Kafka Streams' stream task): decodes source records, runs the stages, dead-letters what
/// they reject, and scores — or forwards to the next segment through its repartition topic, or
/// hands over inside the instance where ``LocalDeliveryCoordinator`` allows. No transactional
/// call of its own: what it produces goes through the ``RecordCollector``.
final class SegmentProcessor {
    private let topology: Topology
    private let plan: TopicPlan
    private let partitionCount: Int32
    private let pipelines: PipelineStore
    private let collector: RecordCollector
    /// Whether copies of applied repartitioned events are skipped (see ``RuntimeOptions/brokerShowsAbortedRecords``).
    private let guardsDuplicates: Bool
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let clock = ContinuousClock()
    private var sourceDecoder: SourceRecordDecoder?
    /// Drift of this instance's traffic against the topology's profile (nil without a drift section).
    private(set) var driftMonitor: PipelineDriftMonitor?

    private(set) var deliveredLocally = 0
    private(set) var duplicatesSkipped = 0
    /// Where processing's time went, by stage.
    private(set) var stageTimes = ProcessingStageTimes()

    /// What the processor reads of the runtime's state while it runs.
    struct Ownership {
        /// Whether this instance owns (and has restored) an input partition.
        var isActive: (TopicPartition) -> Bool
        /// The committed input offset of a partition, if any.
        var committed: (TopicPartition) -> Int64?
    }

    init(topology: Topology, plan: TopicPlan, partitionCount: Int32, pipelines: PipelineStore, collector: RecordCollector,
         guardsDuplicates: Bool, driftMonitor: PipelineDriftMonitor?, metrics: RuntimeMetrics, logger: Logger) {
        self.topology = topology
        self.plan = plan
        self.partitionCount = partitionCount
        self.pipelines = pipelines
        self.collector = collector
        self.guardsDuplicates = guardsDuplicates
        self.driftMonitor = driftMonitor
        self.metrics = metrics
        self.logger = logger
    }

    func driftCheckpoint() -> PipelineDriftMonitor.Checkpoint? { driftMonitor?.checkpoint() }
    func restoreDrift(_ checkpoint: PipelineDriftMonitor.Checkpoint) { driftMonitor?.restore(checkpoint) }

    /// Processes `messages` of `partition`, input of segment `segmentIndex`, in the open
    /// transaction. Its input offset advances in the transaction only once every output of
    /// these records is queued.
    func process(_ messages: [ConsumedMessage], of partition: TopicPartition, segment segmentIndex: Int, in transaction: inout OpenTransaction,
                 delivery: inout LocalDeliveryCoordinator, aligner: inout SourceAligner, ownership: Ownership) throws {
        let pipeline = try pipelines.pipeline(for: partition.partition)
        if transaction.touch(pipeline: partition.partition) { pipeline.beginBatch() }
        var events = pipeline.makeBatch(capacity: messages.count)
        var messageOfEvent: [Int] = []
        messageOfEvent.reserveCapacity(messages.count)

        let decodingStart = clock.now
        if segmentIndex == 0 {
            try decodeSource(messages, pipeline: pipeline, into: &events, messageOfEvent: &messageOfEvent)
        } else {
            try decodeStaged(messages, of: partition, segment: segmentIndex, into: &events, messageOfEvent: &messageOfEvent, delivery: &delivery)
        }
        stageTimes.decoding += clock.now - decodingStart
        let next = messages[messages.count - 1].offset + 1
        let segmentPartition = SegmentPartition(segment: segmentIndex, partition: partition.partition)
        transaction.touchedSegments[segmentPartition] = next
        if segmentIndex == 0 {
            aligner.read(partition.partition, newest: events.times.max())
            let derivedStart = clock.now
            pipeline.computeDerived(&events)
            stageTimes.features += clock.now - derivedStart
            transaction.eventTimes.append(contentsOf: events.times)
            for index in messageOfEvent { transaction.ingestTimes.append(messages[index].timestamp ?? 0) }
        }
        try runSegment(segmentIndex, on: &events, pipeline: pipeline, transaction: &transaction, delivery: &delivery, ownership: ownership) {
            messages[messageOfEvent[$0]]
        }
        transaction.nextOffsets[partition] = next
    }

    private func decodeSource(_ messages: [ConsumedMessage], pipeline: Pipeline, into events: inout EventBatch, messageOfEvent: inout [Int]) throws {
        let decoder = sourceDecoder ?? SourceRecordDecoder(topology: topology, pipeline: pipeline, topic: plan.segments[0].inputTopic)
        sourceDecoder = decoder
        try decoder.decode(messages, into: &events, accepted: { messageOfEvent.append($0) }) { index, rejection in
            try collector.deadLetter(messages[index], stage: rejection.stage, reason: rejection.reason)
        }
    }

    /// Events read from a repartition topic. Directly behind the source (segment 1) each
    /// source partition's events arrive in offset order, so what each repartition partition
    /// has applied per source partition is known (barriers say where a new owner starts), and
    /// a copy of an applied event — from an aborted transaction that a broker showed — is
    /// skipped where the guard is on. Behind a second hop, one source partition's events come
    /// through several upstream partitions read independently: there is no such order.
    private func decodeStaged(_ messages: [ConsumedMessage], of partition: TopicPartition, segment segmentIndex: Int, into events: inout EventBatch,
                              messageOfEvent: inout [Int], delivery: inout LocalDeliveryCoordinator) throws {
        let tracked = segmentIndex == 1
        var skipped = 0
        // Per source partition: the first and last offset skipped, for the log.
        var skippedRanges: [Int32: (first: Int64, last: Int64)] = [:]
        // Each record's value copied out of librdkafka's buffer into this one array, not into an
        // array of its own (a local: a property would be checked for exclusive access each time).
        var value: [UInt8] = []
        value.reserveCapacity(256)
        for (index, message) in messages.enumerated() {
            value.removeAll(keepingCapacity: true)
            message.withValue { bytes in
                if let bytes { value.append(contentsOf: bytes) }
            }
            if value.isEmpty, tracked, let barrier = message.headers.first(where: { $0.name == RecordHeaders.barrier })?.stringValue,
               let marks = RecordHeaders.decodeOffsets(Substring(barrier)) {
                delivery.applyBarrier(partition.partition, marks: marks)
                continue
            }
            do {
                try events.appendEncoded(value)
            } catch {
                try collector.deadLetter(message, stage: "repartition", reason: "not a staged event: \(error)")
                continue
            }
            let source = events.provenance[events.count - 1]
            if !tracked || delivery.apply(partition.partition, source: source.partition, offset: source.offset) || !guardsDuplicates {
                messageOfEvent.append(index)
            } else {
                events.dropLast()
                skipped += 1
                let range = skippedRanges[source.partition]
                skippedRanges[source.partition] = (range?.first ?? source.offset, source.offset)
            }
        }
        if skipped > 0 {
            duplicatesSkipped += skipped
            metrics.duplicatesSkipped.increment(by: skipped)
            let ranges = skippedRanges.sorted { $0.key < $1.key }.map { "source \($0.key)@\($0.value.first)...\($0.value.last)" }
            let marks = delivery.appliedOffsets(of: partition.partition)?.description ?? ""
            logger.info("skipped \(skipped) repartitioned events of \(partition) at \(messages[0].offset)...\(messages[messages.count - 1].offset) whose source events are applied already (copies from an aborted transaction that the broker delivered): \(ranges.joined(separator: ", ")); applied \(marks)")
        }
    }

    /// Runs a segment's stages on one partition's events, dead-letters what they reject, and
    /// scores or forwards the rest. `message(i)` is the consumed record behind event `i`.
    private func runSegment(_ segmentIndex: Int, on events: inout EventBatch, pipeline: Pipeline, transaction: inout OpenTransaction,
                            delivery: inout LocalDeliveryCoordinator, ownership: Ownership, message: (Int) -> ConsumedMessage) throws {
        let featuresStart = clock.now
        for stage in plan.segments[segmentIndex].stages { pipeline.runStage(stage, on: &events) }
        let featured = clock.now
        stageTimes.features += featured - featuresStart
        for index in 0..<events.count {
            if let rejection = events.rejection(index) {
                try collector.deadLetter(message(index), stage: rejection.stage, reason: rejection.reason, provenance: events.provenance[index])
            }
        }
        if segmentIndex == plan.segments.count - 1 {
            let scoringStart = clock.now
            stageTimes.output += scoringStart - featured
            let scores = pipeline.score(events)
            metrics.scoringDuration.observe(clock.now - scoringStart)
            let alerts = Set(pipeline.alerts(events, scores: scores))
            let scored = clock.now
            stageTimes.scoring += scored - scoringStart
            // Drift records of windows this batch closes go out in the same transaction as its scores.
            if let emissions = driftMonitor?.observe(events, scores: scores) { try collector.emitDrift(emissions) }
            let observed = clock.now
            stageTimes.drift += observed - scored
            try collector.emitScores(events, scores: scores, alertIndices: alerts, layout: pipeline.layout,
                                     reasons: { [events] in pipeline.reasons(events, index: $0) }, message: message)
            stageTimes.output += clock.now - observed
        } else {
            // Events handed over locally run through the next segment inside `forward`, which
            // counts their stages itself.
            let nestedBefore = stageTimes.total
            try forward(events, from: segmentIndex, transaction: &transaction, delivery: &delivery, ownership: ownership, message: message)
            stageTimes.output += clock.now - featured - (stageTimes.total - nestedBefore)
        }
    }

    /// Sends the events on to the next segment's owner through its repartition topic, or, for
    /// the segment behind the source, hands them over inside the instance when the coordinator allows.
    private func forward(_ events: EventBatch, from segmentIndex: Int, transaction: inout OpenTransaction, delivery: inout LocalDeliveryCoordinator,
                         ownership: Ownership, message: (Int) -> ConsumedMessage) throws {
        let segment = plan.segments[segmentIndex + 1]
        let keyStage = segment.stages.first ?? 0
        // Only behind the source: there a source partition's events reach each repartition
        // partition in offset order, which the hand-over rule relies on.
        let mayDeliverLocally = segmentIndex == 0 && delivery.enabled
        var handedOver: [Int32: [Int]] = [:]
        var localTargets: [Int32: Bool] = [:]
        for index in 0..<events.count where events.isLive(index) {
            var key = events.key(index, stage: keyStage).description
            let source = events.provenance[index]
            try key.withUTF8 { key in
                let key = UnsafeRawBufferPointer(key)
                let target = Self.partition(of: key, count: partitionCount)
                if mayDeliverLocally {
                    let local = localTargets[target]
                        ?? delivery.deliversLocally(to: target, owned: ownership.isActive(TopicPartition(segment.inputTopic, target)))
                    localTargets[target] = local
                    if local {
                        handedOver[target, default: []].append(index)
                        return
                    }
                }
                if try collector.forward(events, index, to: segment.inputTopic, partition: target, key: key, message: message(index)), mayDeliverLocally {
                    delivery.forwarded(source: source.partition, offset: source.offset, to: target)
                }
            }
        }
        for (target, indices) in handedOver.sorted(by: { $0.key < $1.key }) {
            try deliver(events, indices, to: target, transaction: &transaction, delivery: &delivery, ownership: ownership, message: message)
        }
    }

    /// Hands events of one source partition to repartition partition `target`'s segment in the
    /// open transaction, as if read from the topic: through the applied-offset guard, its
    /// stages, and on to scoring.
    private func deliver(_ events: EventBatch, _ indices: [Int], to target: Int32, transaction: inout OpenTransaction,
                         delivery: inout LocalDeliveryCoordinator, ownership: Ownership, message: (Int) -> ConsumedMessage) throws {
        let source = events.provenance[indices[0]].partition
        let pipeline = try pipelines.pipeline(for: target)
        if transaction.touch(pipeline: target) { pipeline.beginBatch() }
        let segmentPartition = SegmentPartition(segment: 1, partition: target)
        var batch = pipeline.makeBatch(capacity: indices.count)
        var origins: [Int] = []
        origins.reserveCapacity(indices.count)
        for index in indices {
            let provenance = events.provenance[index]
            // Only after an abort on a broker that shows aborted records: the copy it showed was applied.
            guard delivery.apply(target, source: provenance.partition, offset: provenance.offset) || !guardsDuplicates else {
                duplicatesSkipped += 1
                metrics.duplicatesSkipped.increment()
                continue
            }
            batch.append(index, of: events)
            origins.append(index)
        }
        // The partition's offset goes into the transaction too, although unchanged: a new owner
        // of it then waits for this transaction to end before it reads its committed offset
        // (KIP-447), as it does for every transaction that read it.
        let input = TopicPartition(plan.segments[1].inputTopic, target)
        let position = transaction.nextOffsets[input] ?? ownership.committed(input) ?? 0
        if transaction.nextOffsets[input] == nil { transaction.nextOffsets[input] = position }
        if transaction.touchedSegments[segmentPartition] == nil { transaction.touchedSegments[segmentPartition] = position }
        transaction.delivery.localSources[target, default: []].insert(source)
        deliveredLocally += batch.count
        metrics.deliveredLocally.increment(by: batch.count)
        try runSegment(1, on: &batch, pipeline: pipeline, transaction: &transaction, delivery: &delivery, ownership: ownership) { message(origins[$0]) }
    }

    /// A stable partition for a repartition key (FNV-1a), the same on every instance.
    static func partition(of key: UnsafeRawBufferPointer, count: Int32) -> Int32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int32(hash % UInt64(count))
    }
}
