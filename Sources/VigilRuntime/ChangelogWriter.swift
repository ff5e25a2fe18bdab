import VigilFeatures
import VigilKafka
import VigilPipeline

/// Writes state changes into the open transaction (Kafka Streams' changelog writer): per
/// segment partition, a record per key the transaction touched (its LZ4 state, or a tombstone),
/// and from time to time a full snapshot of the partition with a checkpoint saying where it
/// starts. Every record is keyed, so that the changelog and checkpoint topics can be compacted:
/// state records by the key's text, the snapshot marker and the applied-offset record by
/// reserved keys that start with a NUL byte (no state key's text does).
struct ChangelogWriter {
    let plan: TopicPlan
    /// Whether applied source offsets are written with the state (the duplicate guard a broker
    /// that shows aborted records needs, see ``RuntimeOptions/brokerShowsAbortedRecords``).
    let keepsAppliedOffsets: Bool
    /// The largest events record written (its value's bytes; the rest of the producer's
    /// `message.max.bytes` is left to its key and headers). A stage whose transaction logged
    /// more writes its touched keys' states instead, which a restore applies the same way.
    let maxEventsBytes: Int

    /// The key of snapshot markers.
    static let snapshotMarkerKey: [UInt8] = [0] + Array("vigil.snapshot".utf8)
    /// The key of applied-source-offset records.
    static let appliedOffsetsKey: [UInt8] = [0] + Array("vigil.applied-source-offsets".utf8)

    /// The key of an events record (`processing.changelog: events`): its place among the
    /// segment partition's events records since the last snapshot. Each snapshot starts again
    /// at 0, so compaction keeps one record per place, the newest interval's: a restore reads
    /// only those after the last snapshot, and the topic holds no more records than the
    /// longest interval wrote.
    static func eventsKey(slot: Int) -> [UInt8] { [0] + Array("vigil.events.\(slot)".utf8) }

    /// Whether a changelog record's key is an events record's (and which place).
    static func eventsSlot(ofKey key: [UInt8]) -> Int? {
        let prefix = eventsKey(slot: 0).dropLast()
        guard key.count > prefix.count, key.starts(with: prefix) else { return nil }
        return Int(String(decoding: key[prefix.count...], as: UTF8.self))
    }

    /// The headers every record of a segment partition's state carries in one transaction.
    static func headers(stateOffset: Int64, sourceOffsets: [Int32: Int64]) -> [KafkaHeader] {
        var headers = [KafkaHeader(RecordHeaders.stateOffset, String(stateOffset))]
        if !sourceOffsets.isEmpty { headers.append(KafkaHeader(RecordHeaders.sourceOffsets, RecordHeaders.encodeOffsets(sourceOffsets))) }
        return headers
    }

    /// A record for each key the open batch touched in the segment partition's stages (and its
    /// applied offsets where they are kept); returns how many state records it wrote and their
    /// values' bytes (what the live path's changelog costs the broker, bench/README.md).
    func writeTouched(_ segmentPartition: SegmentPartition, pipeline: Pipeline, applied: AppliedSourceOffsets?, headers: [KafkaHeader],
                      driver: TransactionDriver) throws -> (records: Int, bytes: Int) {
        var written = (records: 0, bytes: 0)
        for stage in plan.segments[segmentPartition.segment].stages {
            try writeTouchedStates(stage: stage, segmentPartition, pipeline: pipeline, headers: headers, driver: driver, into: &written)
        }
        try sendApplied(segmentPartition, applied: applied, headers: headers, driver: driver)
        return written
    }

    /// For `processing.changelog: events`: one record per stage of the segment with the open
    /// batch's events and removed keys in order (``Pipeline/withOperations(stage:_:)``), keyed
    /// by `slot`, saying where its input starts (`from`) beside where it ends (the headers'
    /// state offset); and the applied offsets where they are kept. Returns the records and
    /// their values' bytes.
    func writeEvents(_ segmentPartition: SegmentPartition, pipeline: Pipeline, from: Int64, slot: Int, applied: AppliedSourceOffsets?,
                     headers: [KafkaHeader], driver: TransactionDriver) throws -> (records: Int, bytes: Int) {
        var written = (records: 0, bytes: 0)
        let key = Self.eventsKey(slot: slot)
        let eventsHeaders = headers + [KafkaHeader(RecordHeaders.eventsFrom, String(from))]
        for stage in plan.segments[segmentPartition.segment].stages {
            let bytes = try key.withUnsafeBytes { key in
                try pipeline.withOperations(stage: stage) { (operations) throws(KafkaError) -> Int? in
                    guard operations.count <= maxEventsBytes else { return nil }
                    try driver.send(topic: plan.changelogTopics[stage], partition: segmentPartition.partition, key: key, value: operations, headers: eventsHeaders)
                    return operations.count
                }
            }
            if let bytes {
                written.bytes += bytes
                written.records += 1
            } else {
                // Too many events for one record (a transaction of a backlog, wide inputs).
                try writeTouchedStates(stage: stage, segmentPartition, pipeline: pipeline, headers: headers, driver: driver, into: &written)
            }
        }
        try sendApplied(segmentPartition, applied: applied, headers: headers, driver: driver)
        return written
    }

    /// A full copy of a segment partition's state into its changelogs, and a checkpoint saying
    /// where it starts (flushed first, to learn the marker's offset), in the open transaction.
    func writeSnapshot(_ segmentPartition: SegmentPartition, pipeline: Pipeline, stateOffset: Int64, sourceOffsets: [Int32: Int64],
                       applied: AppliedSourceOffsets?, headers: [KafkaHeader], driver: TransactionDriver) throws {
        let stages = plan.segments[segmentPartition.segment].stages
        for stage in stages {
            let marker = Array("snapshot".utf8)
            try Self.snapshotMarkerKey.withUnsafeBytes { key in
                try marker.withUnsafeBytes { marker in
                    try driver.send(topic: plan.changelogTopics[stage], partition: segmentPartition.partition, key: key, value: marker,
                                    headers: headers + [KafkaHeader(RecordHeaders.snapshotStart, "1")], tracked: true)
                }
            }
            // Least recently seen first: a restore installs each as the most recent, so the
            // restored keys are evicted in the order they would have been.
            for key in pipeline.engines[stage].keysByRecency {
                try sendState(of: key, stage: stage, pipeline: pipeline, partition: segmentPartition.partition, headers: headers, driver: driver)
            }
        }
        try sendApplied(segmentPartition, applied: applied, headers: headers, driver: driver)
        try driver.flush()
        let starts = driver.producer.takeTrackedOffsets()
        var offsets: [Int: Int64] = [:]
        for stage in stages {
            guard let start = starts[TopicPartition(plan.changelogTopics[stage], segmentPartition.partition)] else {
                throw KafkaError(code: .state, message: "no offset came back for the start of \(segmentPartition)'s snapshot in \(plan.changelogTopics[stage])",
                                 severity: .abortRequired)
            }
            offsets[stage] = start
        }
        let checkpoint = Checkpoint(segment: segmentPartition.segment, stateOffset: stateOffset, changelogOffsets: offsets, sourceOffsets: sourceOffsets)
        try driver.send(ProducerRecord(topic: plan.checkpointTopic, partition: segmentPartition.partition,
                                       key: Array("segment-\(segmentPartition.segment)".utf8), value: checkpoint.encoded))
    }

    /// A record per key of `stage` the open batch touched, counted into `written`.
    private func writeTouchedStates(stage: Int, _ segmentPartition: SegmentPartition, pipeline: Pipeline, headers: [KafkaHeader], driver: TransactionDriver,
                                    into written: inout (records: Int, bytes: Int)) throws {
        for key in pipeline.touchedKeys(stage: stage) {
            written.bytes += try sendState(of: key, stage: stage, pipeline: pipeline, partition: segmentPartition.partition, headers: headers, driver: driver)
            written.records += 1
        }
    }

    /// One key's changelog record: its LZ4 state, or a tombstone when the key has none (evicted);
    /// returns the value's bytes.
    @discardableResult
    private func sendState(of key: StateKey, stage: Int, pipeline: Pipeline, partition: Int32, headers: [KafkaHeader], driver: TransactionDriver) throws -> Int {
        var keyText = key.description
        return try keyText.withUTF8 { keyBytes in
            let keyBytes = UnsafeRawBufferPointer(keyBytes)
            return try pipeline.withSnapshot(stage: stage, key: key) { (state) throws(KafkaError) -> Int in
                try driver.send(topic: plan.changelogTopics[stage], partition: partition, key: keyBytes, value: state, headers: headers)
                return state?.count ?? 0
            }
        }
    }

    /// A segment behind a repartition topic writes its applied source offsets with its state,
    /// where they are kept.
    private func sendApplied(_ segmentPartition: SegmentPartition, applied: AppliedSourceOffsets?, headers: [KafkaHeader], driver: TransactionDriver) throws {
        guard keepsAppliedOffsets, let applied, let stage = plan.segments[segmentPartition.segment].stages.first else { return }
        try driver.send(ProducerRecord(topic: plan.changelogTopics[stage], partition: segmentPartition.partition, key: Self.appliedOffsetsKey,
                                       value: applied.encoded, headers: headers + [KafkaHeader(RecordHeaders.appliedSourceOffsets, "1")]))
    }
}
