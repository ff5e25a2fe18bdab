import VigilCodec

/// The highest source offset the segment directly behind the source's repartition topic has
/// applied, per source partition. A source partition's events reach a repartition partition in
/// offset order (its one owner forwards them in order), so an event at or below the mark is a
/// copy of one already applied: from an aborted transaction whose records the broker showed to
/// a read_committed reader (Kafka hides them; Tansu, the test broker, does not). Written to the
/// changelog with the state, so it is restored with it. It never moves back: replaying a
/// source from an earlier offset needs fresh state (a new topology name), as the state
/// downstream would count the replayed events again anyway.
struct AppliedSourceOffsets: Equatable, CustomStringConvertible {
    private(set) var offsets: [Int32: Int64] = [:]

    /// Records `offset` of source `partition` as applied; false when it already was.
    mutating func apply(partition: Int32, offset: Int64) -> Bool {
        if let applied = offsets[partition], offset <= applied { return false }
        offsets[partition] = offset
        return true
    }

    /// `0@12, 1@5`: partition@offset, by partition (for logs).
    var description: String { offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ", ") }

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
