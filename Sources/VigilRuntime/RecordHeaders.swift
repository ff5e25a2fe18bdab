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
    /// On a dead letter whose original value was cut to fit the dead-letter topic: the original size in bytes.
    public static let truncatedFrom = "vigil.error.truncated.from"
    /// On a changelog record: the input offset the state reflects (every input below it, none at or above).
    public static let stateOffset = "vigil.state.offset"
    /// On a changelog record of `processing.changelog: events`: the input offset the
    /// transaction's events start at (the state before them reflects every input below it);
    /// ``stateOffset`` is where they end. 0 when the group had no committed offset (as a
    /// snapshot's state offset counts then).
    public static let eventsFrom = "vigil.events.from"
    /// On a changelog record: marks the start of a full snapshot of the partition's state.
    public static let snapshotStart = "vigil.snapshot.start"
    /// On a changelog record: its value is the highest source offset applied per source
    /// partition by a stage behind a repartition topic (``AppliedSourceOffsets``), not a key's state.
    public static let appliedSourceOffsets = "vigil.applied.source.offsets"
    /// On a changelog record of a segment that took events handed over inside the instance
    /// (local delivery): the source offsets the transaction consumed up to, `partition:offset`
    /// pairs joined by commas. The record reflects committed input only when the group's
    /// committed offset of each of those source partitions has reached the offset given.
    public static let sourceOffsets = "vigil.source.offsets"

    /// On a repartition record with no value: a barrier. The source partition it names was
    /// assigned to a new owner, which had committed it up to (not including) the offset after
    /// the one given; everything its earlier owners forwarded lies before this record.
    public static let barrier = "vigil.barrier"

    /// `0:150,3:72` for `[0: 150, 3: 72]`.
    static func encodeOffsets(_ offsets: [Int32: Int64]) -> String {
        offsets.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }

    /// The inverse of ``encodeOffsets(_:)``; nil for text not of that form.
    static func decodeOffsets(_ text: Substring) -> [Int32: Int64]? {
        var offsets: [Int32: Int64] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]) else { return nil }
            offsets[partition] = offset
        }
        return offsets
    }

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
