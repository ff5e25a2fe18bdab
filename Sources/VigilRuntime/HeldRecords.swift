import VigilKafka

/// Records sent while the previous transaction's commit is under way, held in one buffer until
/// the next transaction begins (librdkafka refuses sends between a commit's start and its end).
/// A record larger than the producer takes is refused here, as the producer would refuse it,
/// so that the caller dead-letters its event at once, as without the overlap.
struct HeldRecords {
    private struct Entry {
        var topic: String
        var partition: Int32?
        var key: Range<Int>?
        var value: Range<Int>?
        var headers: [KafkaHeader]
        var timestamp: Int64?
        var tracked: Bool
    }

    /// Every held key and value, one after the other: a buffer reused from commit to commit
    /// instead of two arrays a record.
    private var bytes: [UInt8] = []
    private var entries: [Entry] = []
    /// The producer's `message.max.bytes`.
    let maxRecordBytes: Int

    init(maxRecordBytes: Int) { self.maxRecordBytes = maxRecordBytes }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// Holds a copy of a record; throws ``KafkaError/Code/messageSizeTooLarge`` for one the
    /// producer would refuse.
    mutating func append(topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
                         headers: [KafkaHeader], timestamp: Int64?, tracked: Bool) throws(KafkaError) {
        let size = Self.wireSize(key: key?.count ?? 0, value: value?.count ?? 0, headers: headers)
        guard size <= maxRecordBytes else {
            throw KafkaError(code: .messageSizeTooLarge, message: "a record of \(size) bytes with its framing is larger than message.max.bytes (\(maxRecordBytes))")
        }
        entries.append(Entry(topic: topic, partition: partition, key: copy(key), value: copy(value), headers: headers, timestamp: timestamp, tracked: tracked))
    }

    /// Sends every held record with `send`, in the order they were held, and empties the buffer.
    mutating func drain(_ send: (_ topic: String, _ partition: Int32?, _ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer?,
                                 _ headers: [KafkaHeader], _ timestamp: Int64?, _ tracked: Bool) throws(KafkaError) -> Void) throws(KafkaError) {
        defer { removeAll() }
        // Array.withUnsafeBytes does not carry a typed error through.
        var failure: KafkaError?
        bytes.withUnsafeBytes { buffer in
            for entry in entries {
                let key = entry.key.map { UnsafeRawBufferPointer(rebasing: buffer[$0]) }
                let value = entry.value.map { UnsafeRawBufferPointer(rebasing: buffer[$0]) }
                do throws(KafkaError) {
                    try send(entry.topic, entry.partition, key, value, entry.headers, entry.timestamp, entry.tracked)
                } catch {
                    failure = error
                    return
                }
            }
        }
        if let failure { throw failure }
    }

    /// Forgets every held record (the transaction they were for was given up).
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    private mutating func copy(_ data: UnsafeRawBufferPointer?) -> Range<Int>? {
        guard let data else { return nil }
        let start = bytes.count
        bytes.append(contentsOf: data)
        return start..<bytes.count
    }

    /// The size librdkafka 2.8 checks against `message.max.bytes` when a record is sent
    /// (`rd_kafka_msg_max_wire_size`): the largest framing of a v2 record (36 bytes), the key,
    /// the value, and each header's name and value with their zigzag varint lengths.
    static func wireSize(key: Int, value: Int, headers: [KafkaHeader]) -> Int {
        var size = 36 + key + value
        for header in headers {
            let name = header.name.utf8.count
            let value = header.value?.count ?? 0
            size += name + value + varintSize(name) + varintSize(value)
        }
        return size
    }

    /// Bytes of a non-negative length as a zigzag varint.
    private static func varintSize(_ length: Int) -> Int {
        var zigzag = UInt64(length) << 1
        var bytes = 1
        while zigzag >= 0x80 {
            zigzag >>= 7
            bytes += 1
        }
        return bytes
    }
}
