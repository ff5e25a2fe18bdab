import VigilCodec
public import VigilKafka

/// The provenance headers of score and alert records, kept between records: the source topic
/// header is made once, the partition's when the partition changes, and the offset's digits are
/// written into the bytes of the previous one (no String between), so a record's headers cost
/// no allocation of their own. Public so that StageBench can time the collector's per-event
/// work without a broker.
public struct ProvenanceHeaders {
    private var list: [KafkaHeader]
    private var partition: Int32?

    public init(topic: String) {
        list = [KafkaHeader(RecordHeaders.sourceTopic, topic), KafkaHeader(RecordHeaders.sourcePartition, nil), KafkaHeader(RecordHeaders.sourceOffset, [])]
    }

    /// The three headers for an event at `partition` and `offset` of the source topic.
    public mutating func headers(partition: Int32, offset: Int64) -> [KafkaHeader] {
        if partition != self.partition {
            list[1].value = Array(String(partition).utf8)
            self.partition = partition
        }
        list[2].value!.removeAll(keepingCapacity: true)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: DecimalText.maximumIntegerLength) { scratch in
            let count = DecimalText.write(integer: offset, to: scratch.baseAddress!)
            list[2].value!.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
        }
        return list
    }
}
