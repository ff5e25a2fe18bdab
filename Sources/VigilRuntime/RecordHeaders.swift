import VigilKafka

/// Names of the headers Vigil writes, so that every record says where it came from.
public enum RecordHeaders {
    /// The source topic of the event a record is about.
    public static let sourceTopic = "vigil.source.topic"
    /// The source partition of that event.
    public static let sourcePartition = "vigil.source.partition"
    /// The source offset of that event.
    public static let sourceOffset = "vigil.source.offset"
    /// Why an event was dead-lettered.
    public static let errorReason = "vigil.error.reason"
    /// Which step refused it (decode, a stage name, …).
    public static let errorStage = "vigil.error.stage"
    /// On a changelog record: the input offset the state reflects (every input below it, none at or above).
    public static let stateOffset = "vigil.state.offset"
    /// On a changelog record: marks the start of a full snapshot of the partition's state.
    public static let snapshotStart = "vigil.snapshot.start"
    /// On a changelog record: its value is the highest source offset applied per source
    /// partition by a stage behind a repartition topic (``AppliedSourceOffsets``), not a key's state.
    public static let appliedSourceOffsets = "vigil.applied.source.offsets"

    static func provenance(topic: String, partition: Int32, offset: Int64) -> [KafkaHeader] {
        provenance(topic: KafkaHeader(sourceTopic, topic), partition: partition, offset: offset)
    }

    /// The same, with the topic header made once for a whole batch (the per-event path).
    static func provenance(topic: KafkaHeader, partition: Int32, offset: Int64) -> [KafkaHeader] {
        [topic, KafkaHeader(sourcePartition, String(partition)), KafkaHeader(sourceOffset, String(offset))]
    }

    /// The decimal integer value of a header.
    static func integer(_ name: String, in headers: [KafkaHeader]) -> Int64? {
        headers.first { $0.name == name }?.stringValue.flatMap { Int64($0) }
    }
}
