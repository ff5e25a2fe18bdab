internal import CRdKafka

/// The librdkafka that this process loaded at run time.
public enum LibrdkafkaVersion {
    /// The oldest librdkafka Vigil accepts: 2.0.x mis-encodes tagged fields of newer protocol
    /// versions, and 2.2.0 is the first release with the fix.
    public static let minimum = (major: 2, minor: 2, patch: 0)

    /// The version as librdkafka reports it, for example `2.8.0`.
    public static var string: String { String(cString: rd_kafka_version_str()) }

    /// The version as an integer `0xMMmmrrxx` (major, minor, revision, pre-release).
    public static var number: Int { Int(rd_kafka_version()) }

    /// Whether the loaded librdkafka is at least ``minimum``.
    public static var isSupported: Bool {
        let required = (minimum.major << 24) | (minimum.minor << 16) | (minimum.patch << 8)
        return number >= required
    }

    /// Throws when the loaded librdkafka is older than ``minimum``, naming both versions and
    /// the way to get a new enough one.
    public static func requireSupported() throws(KafkaError) {
        guard isSupported else {
            throw KafkaError(
                code: .unsupportedLibrary,
                message: "librdkafka \(string) was loaded, but Vigil needs \(minimum.major).\(minimum.minor).\(minimum.patch) or newer "
                    + "(older releases cannot talk to current brokers); run scripts/setup, which builds 2.8.0, and rebuild Vigil"
            )
        }
    }
}
