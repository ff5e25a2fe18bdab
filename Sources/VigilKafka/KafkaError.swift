internal import CRdKafka

/// An error from Kafka or librdkafka, with librdkafka's code and text.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// librdkafka's `rd_kafka_resp_err_t` value (negative for client-side errors).
        public let rawValue: Int32
        /// librdkafka's name for the code, for example `_TRANSPORT` or `TOPIC_ALREADY_EXISTS`.
        public var name: String { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue))) }
        public var description: String { name }

        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ error: rd_kafka_resp_err_t) { self.rawValue = error.rawValue }

        /// Vigil's own code for a librdkafka that is too old (not one of librdkafka's codes).
        public static let unsupportedLibrary = Code(rawValue: -10_000)
        /// Vigil's own code for an invalid configuration value.
        public static let invalidConfiguration = Code(rawValue: -10_001)
        /// Vigil's own code for a client that has already been closed.
        public static let closed = Code(rawValue: -10_002)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let fenced = Code(RD_KAFKA_RESP_ERR__FENCED)
        public static let producerFenced = Code(RD_KAFKA_RESP_ERR_PRODUCER_FENCED)
        public static let invalidProducerEpoch = Code(RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
        public static let state = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let partitionEOF = Code(RD_KAFKA_RESP_ERR__PARTITION_EOF)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let resolve = Code(RD_KAFKA_RESP_ERR__RESOLVE)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        public static let offsetOutOfRange = Code(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
        public static let autoOffsetReset = Code(RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
        public static let unstableOffsetCommit = Code(RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT)
        public static let transactionalIDAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        public static let clusterAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)
        public static let topicAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        public static let invalidTransactionTimeout = Code(RD_KAFKA_RESP_ERR_INVALID_TRANSACTION_TIMEOUT)
        public static let unsupportedFeature = Code(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
        public static let unsupportedForMessageFormat = Code(RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT)
        public static let unsupportedVersion = Code(RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION)
    }

    /// How a transactional client must react to the error.
    public enum Severity: Sendable, Equatable {
        /// Try the same call again.
        case retriable
        /// Abort the open transaction, rewind, and go on.
        case abortRequired
        /// The client cannot go on (for example fenced by a newer instance): stop.
        case fatal
        /// An ordinary error, not from a transactional call.
        case plain
    }

    public let code: Code
    public let message: String
    public let severity: Severity

    public init(code: Code, message: String, severity: Severity = .plain) {
        self.code = code
        self.message = message
        self.severity = severity
    }

    init(_ error: rd_kafka_resp_err_t, _ context: String) {
        let text = String(cString: rd_kafka_err2str(error))
        self.init(code: Code(error), message: context.isEmpty ? text : "\(context): \(text)")
    }

    /// Takes over (and destroys) a librdkafka `rd_kafka_error_t`, keeping its classification.
    init(consuming error: OpaquePointer, _ context: String) {
        defer { rd_kafka_error_destroy(error) }
        let code = Code(rd_kafka_error_code(error))
        let text = String(cString: rd_kafka_error_string(error))
        let severity: Severity
        // A fenced producer can never commit again, whatever librdkafka says of this one call:
        // a newer instance owns the transactional id.
        if rd_kafka_error_is_fatal(error) != 0 || Self.fencedCodes.contains(code) {
            severity = .fatal
        } else if rd_kafka_error_txn_requires_abort(error) != 0 {
            severity = .abortRequired
        } else if rd_kafka_error_is_retriable(error) != 0 {
            severity = .retriable
        } else {
            severity = .plain
        }
        self.init(code: code, message: context.isEmpty ? text : "\(context): \(text)", severity: severity)
    }

    static let fencedCodes: Set<Code> = [.fenced, .producerFenced, .invalidProducerEpoch]

    /// Whether a newer instance with the same transactional id has taken over.
    public var isFenced: Bool { Self.fencedCodes.contains(code) }

    /// Failures of the configuration, the credentials or the cluster's abilities, which a new
    /// client with the same configuration meets again (replacing the client cannot help).
    public var recursWithAnyProducer: Bool { Self.configurationCodes.contains(code) }

    static let configurationCodes: Set<Code> = [
        .transactionalIDAuthorizationFailed, .clusterAuthorizationFailed, .topicAuthorizationFailed, .invalidTransactionTimeout,
        .unsupportedFeature, .unsupportedForMessageFormat, .unsupportedVersion, .invalidConfiguration, .unsupportedLibrary,
    ]

    public var description: String { "\(message) [\(code.name)]" }
}
