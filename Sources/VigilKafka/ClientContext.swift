internal import CRdKafka
import Logging
import Synchronization

/// What librdkafka's callbacks need from Swift. Handed to librdkafka as the opaque pointer of a
/// client (retained for the client's lifetime by ``RdKafkaHandle``); the callbacks are
/// non-capturing functions that find it again through `Unmanaged`.
final class ClientContext: Sendable {
    struct DeliveryState {
        var delivered = 0
        var failed = 0
        var firstFailure: KafkaError?
        /// The lowest delivered offset per partition among records sent with `tracked: true`.
        var trackedOffsets: [TopicPartition: Int64] = [:]
    }

    let logger: Logger
    let bootstrapServers: String
    /// Masks the client's secret property values in what librdkafka logs or reports.
    let redactor: SecretRedactor
    let rebalanceHandler: Mutex<(@Sendable (RebalanceEvent) -> Void)?> = Mutex(nil)
    let delivery = Mutex(DeliveryState())
    /// The newest client-level error librdkafka reported (broker down, resolve failure, …).
    let lastError = Mutex<KafkaError?>(nil)

    init(logger: Logger, bootstrapServers: String, redactor: SecretRedactor = .none) {
        self.logger = logger
        self.bootstrapServers = bootstrapServers
        self.redactor = redactor
    }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientContext? {
        opaque.map { Unmanaged<ClientContext>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// librdkafka's log lines, routed to swift-log at the matching level, secrets masked (with
/// `debug` set, librdkafka logs what it sends and was configured with).
let logCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let handle, let context = ClientContext.from(rd_kafka_opaque(handle)) else { return }
    let text = context.redactor.redact(message.map { String(cString: $0) } ?? "")
    let facilityText = facility.map { String(cString: $0) } ?? ""
    let swiftLevel: Logger.Level =
        switch level {
        case ...3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
    // A broker connection failing (TLS handshake, plaintext to a TLS port, SASL) is often only
    // logged, not reported through the error callback: keep it as the client's last error, so
    // that a call that times out says why.
    if facilityText == "FAIL", level <= 6 {
        context.lastError.withLock { $0 = KafkaError(code: .transport, message: text) }
    }
    context.logger.log(level: swiftLevel, "\(text)", metadata: ["librdkafka.facility": "\(facilityText)"])
}

/// Client-level errors: kept so that a caller that times out can say why.
let errorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let context = ClientContext.from(opaque) else { return }
    let error = KafkaError(
        code: KafkaError.Code(rawValue: code),
        message: context.redactor.redact(reason.map { String(cString: $0) } ?? "unknown error")
    )
    context.lastError.withLock { $0 = error }
    context.logger.warning("kafka client error: \(error)")
}

/// Delivery reports: counted, and the first failure kept for the caller to report.
let deliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let context = ClientContext.from(opaque) else { return }
    let error = message.pointee.err
    context.delivery.withLock { state in
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            state.delivered += 1
            if message.pointee._private == trackedMarker, let topic = message.pointee.rkt {
                let partition = TopicPartition(String(cString: rd_kafka_topic_name(topic)), message.pointee.partition)
                state.trackedOffsets[partition] = min(state.trackedOffsets[partition] ?? .max, message.pointee.offset)
            }
        } else {
            state.failed += 1
            if state.firstFailure == nil {
                let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "?"
                state.firstFailure = KafkaError(error, "delivery to \(topic)/\(message.pointee.partition) failed")
            }
        }
    }
}

/// The per-record opaque of records whose delivered offset the sender wants to know.
nonisolated(unsafe) let trackedMarker = UnsafeMutableRawPointer(bitPattern: 1)
