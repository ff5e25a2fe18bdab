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

    /// The key of snapshot markers.
    static let snapshotMarkerKey: [UInt8] = [0] + Array("vigil.snapshot".utf8)
    /// The key of applied-source-offset records.
    static let appliedOffsetsKey: [UInt8] = [0] + Array("vigil.applied-source-offsets".utf8)

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
            for key in pipeline.touchedKeys(stage: stage) {
                written.bytes += try sendState(of: key, stage: stage, pipeline: pipeline, partition: segmentPartition.partition, headers: headers, driver: driver)
                written.records += 1
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
            for key in pipeline.engines[stage].allKeys {
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
