import VigilCodec
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

/// The highest source offset a segment behind a repartition topic has applied, per source
/// partition. A source partition's events reach a repartition partition in offset order, so an
/// event at or below the mark is a copy of one already applied: from an aborted transaction
/// whose records the broker showed to a read_committed reader (Kafka hides them; Tansu, the
/// test broker, does not). Written to the changelog with the state, so it is restored with it.
struct AppliedSourceOffsets: Equatable {
    private(set) var offsets: [Int32: Int64] = [:]

    /// Records `offset` of source `partition` as applied; false when it already was.
    mutating func apply(partition: Int32, offset: Int64) -> Bool {
        if let applied = offsets[partition], offset <= applied { return false }
        offsets[partition] = offset
        return true
    }

    var encoded: [UInt8] {
        var writer = ByteWriter(capacity: 8 + offsets.count * 12)
        writer.writeVarint(UInt64(offsets.count))
        for (partition, offset) in offsets.sorted(by: { $0.key < $1.key }) {
            writer.write(UInt32(bitPattern: partition))
            writer.write(offset)
        }
        return writer.bytes
    }

    init() {}

    init(decoding bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        for _ in 0..<(try reader.readCount(limit: 1 << 20)) {
            offsets[Int32(bitPattern: try reader.readUInt32())] = try reader.readInt64()
        }
        guard reader.isAtEnd else { throw CodecError.binary(detail: "trailing bytes after applied source offsets") }
    }
}
