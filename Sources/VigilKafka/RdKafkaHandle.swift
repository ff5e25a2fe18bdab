internal import CRdKafka
import Logging
import Synchronization

/// Owns one librdkafka client (`rd_kafka_t`) and its callback context; destroys both exactly once.
final class RdKafkaHandle: @unchecked Sendable {
    enum Kind { case producer, consumer }

    /// The client. Valid for the lifetime of this object; never handed out beyond `withHandle`.
    private let pointer: OpaquePointer
    let context: ClientContext
    private let retainedContext: Unmanaged<ClientContext>
    /// Whether the client was destroyed already (by ``destroy()``, before this object goes).
    private let destroyed = Atomic<Bool>(false)

    /// Creates a client from librdkafka properties. A property librdkafka rejects gives an error
    /// naming it (secret values are not repeated).
    init(kind: Kind, properties: [(String, String)], logger: Logger, delivery: Bool = false, rebalance: Bool = false) throws(KafkaError) {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidConfiguration, message: "librdkafka could not allocate a configuration")
        }
        var confOwned = true
        defer { if confOwned { rd_kafka_conf_destroy(conf) } }

        var errorText = CStringBuffer()
        // librdkafka's own messages may quote a value it was given: mask every secret in them.
        let redactor = SecretRedactor(secrets: properties.filter { KafkaConfiguration.isSecret($0.0) }.map(\.1))
        var bootstrap = ""
        for (name, value) in properties {
            if name == "bootstrap.servers" { bootstrap = value }
            let result = rd_kafka_conf_set(conf, name, value, &errorText.storage, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                let shown = KafkaConfiguration.isSecret(name) ? "***" : redactor.redact("'\(value)'")
                throw KafkaError(
                    code: .invalidConfiguration,
                    message: "invalid Kafka property \(name)=\(shown): \(redactor.redact(errorText.string))"
                )
            }
        }
        let context = ClientContext(logger: logger, bootstrapServers: bootstrap, redactor: redactor)
        let retained = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retained.toOpaque())
        rd_kafka_conf_set_log_cb(conf, logCallback)
        rd_kafka_conf_set_error_cb(conf, errorCallback)
        if delivery { rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback) }
        if rebalance { rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }

        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorText.storage, errorText.count) else {
            retained.release()
            throw KafkaError(code: .invalidConfiguration, message: "could not create Kafka client: \(redactor.redact(errorText.string))")
        }
        confOwned = false  // rd_kafka_new took it
        self.pointer = handle
        self.context = context
        self.retainedContext = retained
    }

    deinit {
        destroy()
        retainedContext.release()
    }

    /// Whether ``destroy()`` was called: the owner answers its later calls with an error.
    var isDestroyed: Bool { destroyed.load(ordering: .acquiring) }

    /// Destroys the client now rather than when this object goes (a producer handing its
    /// transactional id over to a replacement); once only. No call may be under way on another
    /// thread, and none may follow (``withHandle(_:)`` traps). The context lives on until
    /// this object goes.
    func destroy() {
        guard !destroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        rd_kafka_destroy(pointer)
    }

    /// Scoped access to the client pointer; it must not escape `body`.
    func withHandle<R, E: Error>(_ body: (OpaquePointer) throws(E) -> R) throws(E) -> R {
        precondition(!destroyed.load(ordering: .relaxed), "a Kafka client used after it was destroyed")
        return try body(pointer)
    }

    /// The most recent client-level error, added to a timeout's message so that it says why.
    func explain(_ error: KafkaError) -> KafkaError {
        // Compared by message, not code: a timeout's _TRANSPORT says nothing, the last client
        // error's _TRANSPORT may say "connecting to a SSL listener?".
        guard let last = context.lastError.withLock({ $0 }), !error.message.contains(last.message) else { return error }
        return KafkaError(code: error.code, message: "\(error.message) (last client error: \(last.message))", severity: error.severity)
    }

    /// Serves queued callbacks (delivery reports, logs, errors) for up to `timeoutMs`.
    @discardableResult
    func poll(timeoutMs: Int32) -> Int32 {
        withHandle { rd_kafka_poll($0, timeoutMs) }
    }
}
