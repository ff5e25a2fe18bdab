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

/// The provenance headers of score and alert records, kept between records: the source topic
/// header is made once, the partition's when the partition changes, and the offset is written
/// into the bytes of the previous one, so a record's headers cost no allocation of their own.
struct ProvenanceHeaders {
    private var list: [KafkaHeader]
    private var partition: Int32?

    init(topic: String) {
        list = [KafkaHeader(RecordHeaders.sourceTopic, topic), KafkaHeader(RecordHeaders.sourcePartition, nil), KafkaHeader(RecordHeaders.sourceOffset, [])]
    }

    /// The three headers for an event at `partition` and `offset` of the source topic.
    mutating func headers(partition: Int32, offset: Int64) -> [KafkaHeader] {
        if partition != self.partition {
            list[1].value = Array(String(partition).utf8)
            self.partition = partition
        }
        list[2].value!.removeAll(keepingCapacity: true)
        list[2].value!.append(contentsOf: String(offset).utf8)
        return list
    }
}
