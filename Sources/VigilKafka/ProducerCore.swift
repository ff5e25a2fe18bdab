internal import CRdKafka
import Logging
import Synchronization

/// The part every producer shares: a librdkafka producer client and the `rd_kafka_produceva`
/// call (the variadic `rd_kafka_producev` cannot be called from Swift).
final class ProducerCore: @unchecked Sendable {
    let handle: RdKafkaHandle
    private let sendsSincePoll = Atomic<Int>(0)

    private let queueFullTimeout: Duration

    init(configuration: ProducerConfiguration, logger: Logger) throws(KafkaError) {
        try LibrdkafkaVersion.requireSupported()
        queueFullTimeout = configuration.queueFullTimeout
        handle = try RdKafkaHandle(kind: .producer, properties: configuration.librdkafkaProperties(), logger: logger, delivery: true)
    }

    /// Queues one record; librdkafka copies key, value and headers before this returns. When the
    /// local queue is full it serves delivery reports and tries again, for up to `queueTimeout`.
    func send(
        topic: String, partition: Int32?, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?,
        headers: [KafkaHeader], timestamp: Int64?, tracked: Bool = false
    ) throws(KafkaError) {
        let queueTimeout = queueFullTimeout
        var waited = 0
        while true {
            let failure: OpaquePointer? = topic.withCString { topicName in
                // At most eight items: built on the stack, no allocation per record.
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { values in
                    var count = 0
                    func add(_ item: rd_kafka_vu_t) {
                        values[count] = item
                        count += 1
                    }
                    var item = rd_kafka_vu_t()
                    item.vtype = RD_KAFKA_VTYPE_TOPIC
                    item.u.cstr = topicName
                    add(item)
                    item = rd_kafka_vu_t()
                    item.vtype = RD_KAFKA_VTYPE_PARTITION
                    item.u.i32 = partition ?? -1
                    add(item)
                    item = rd_kafka_vu_t()
                    item.vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    item.u.i = 0x2  // RD_KAFKA_MSG_F_COPY
                    add(item)
                    if let key {
                        item = rd_kafka_vu_t()
                        item.vtype = RD_KAFKA_VTYPE_KEY
                        item.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        item.u.mem.size = key.count
                        add(item)
                    }
                    if let value {
                        item = rd_kafka_vu_t()
                        item.vtype = RD_KAFKA_VTYPE_VALUE
                        item.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        item.u.mem.size = value.count
                        add(item)
                    }
                    if tracked {
                        item = rd_kafka_vu_t()
                        item.vtype = RD_KAFKA_VTYPE_OPAQUE
                        item.u.ptr = trackedMarker
                        add(item)
                    }
                    if let timestamp {
                        item = rd_kafka_vu_t()
                        item.vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        item.u.i64 = timestamp
                        add(item)
                    }
                    var headerList: OpaquePointer?
                    if !headers.isEmpty {
                        let list = rd_kafka_headers_new(headers.count)!
                        for header in headers {
                            var name = header.name
                            name.withUTF8 { nameBytes in
                                if let bytes = header.value {
                                    bytes.withUnsafeBytes { valueBytes in
                                        _ = rd_kafka_header_add(list, nameBytes.baseAddress, nameBytes.count, valueBytes.baseAddress, valueBytes.count)
                                    }
                                } else {
                                    _ = rd_kafka_header_add(list, nameBytes.baseAddress, nameBytes.count, nil, 0)
                                }
                            }
                        }
                        item = rd_kafka_vu_t()
                        item.vtype = RD_KAFKA_VTYPE_HEADERS
                        item.u.headers = list
                        add(item)
                        headerList = list
                    }
                    let failure = handle.withHandle { rd_kafka_produceva($0, values.baseAddress, count) }
                    // librdkafka owns the headers only once the record is queued.
                    if failure != nil, let headerList { rd_kafka_headers_destroy(headerList) }
                    return failure
                }
            }
            guard let failure else { break }
            let code = rd_kafka_error_code(failure)
            if code == RD_KAFKA_RESP_ERR__QUEUE_FULL, waited < queueTimeout.milliseconds {
                rd_kafka_error_destroy(failure)
                handle.poll(timeoutMs: 10)
                waited += 10
                continue
            }
            throw KafkaError(consuming: failure, "produce to \(topic)")
        }
        // Serve delivery reports every thousand records, so their queue stays short.
        let due = sendsSincePoll.wrappingAdd(1, ordering: .relaxed).newValue % 1000 == 0
        if due { handle.poll(timeoutMs: 0) }
    }

    func send(_ record: ProducerRecord) throws(KafkaError) {
        // Array's scoped byte access is untyped `rethrows`; carry the typed error out by hand.
        var failure: KafkaError?
        func body(_ key: UnsafeRawBufferPointer?, _ value: UnsafeRawBufferPointer?) {
            do throws(KafkaError) {
                try send(topic: record.topic, partition: record.partition, key: key, value: value, headers: record.headers, timestamp: record.timestamp)
            } catch { failure = error }
        }
        func withValue(_ key: UnsafeRawBufferPointer?) {
            if let value = record.value { value.withUnsafeBytes { body(key, $0) } } else { body(key, nil) }
        }
        if let key = record.key { key.withUnsafeBytes { withValue($0) } } else { withValue(nil) }
        if let failure { throw failure }
    }

    /// Waits until every queued record is delivered or `timeout` passes. Blocks.
    func flush(timeout: Duration) throws(KafkaError) {
        let error = handle.withHandle { rd_kafka_flush($0, Int32(timeout.milliseconds)) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else { throw handle.explain(KafkaError(error, "flush")) }
    }

    /// Records queued locally, not yet delivered (librdkafka's out queue: records, requests and delivery reports).
    var queuedRecords: Int { Int(handle.withHandle { rd_kafka_outq_len($0) }) }

    /// Delivered and failed counts so far, and the first failure.
    var deliveryState: ClientContext.DeliveryState { handle.context.delivery.withLock { $0 } }

    /// The lowest delivered offset per partition of the tracked records delivered since the last call.
    func takeTrackedOffsets() -> [TopicPartition: Int64] {
        handle.context.delivery.withLock { state in
            defer { state.trackedOffsets = [:] }
            return state.trackedOffsets
        }
    }

    func takeDeliveryFailure() -> KafkaError? {
        handle.context.delivery.withLock { state in
            defer { state.firstFailure = nil }
            return state.firstFailure
        }
    }
}
