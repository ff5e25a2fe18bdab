/// Connection settings shared by every Kafka client: where the brokers are, who the client is,
/// and any librdkafka property passed through unchanged (security settings among them).
///
/// Properties set here win over the ones Vigil derives from the typed fields, so a deployment
/// can always reach a librdkafka setting Vigil has no field for. Secrets (passwords, keys,
/// tokens) never appear in ``description``.
public struct KafkaConfiguration: Sendable, CustomStringConvertible, Equatable {
    /// `bootstrap.servers`: comma-separated `host:port` pairs. Never empty.
    public var bootstrapServers: String {
        didSet { precondition(!bootstrapServers.isEmpty, "bootstrap servers must not be empty") }
    }

    /// `client.id`, shown in broker logs and metrics. Default `vigil`.
    public var clientID: String = "vigil"

    /// Any librdkafka property, passed through as is: `security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`, `ssl.ca.location`, … (see librdkafka's CONFIGURATION.md).
    public var properties: [String: String] = [:]

    /// Creates a configuration for the given bootstrap servers (for example `127.0.0.1:9092`).
    public init(bootstrapServers: String, clientID: String = "vigil", properties: [String: String] = [:]) {
        precondition(!bootstrapServers.isEmpty, "bootstrap servers must not be empty")
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// Whether a property's value is secret and must never be logged.
    public static func isSecret(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "secret", "token", ".pem", "sasl.jaas.config", "sasl.oauthbearer.config", "ssl.key"]
            .contains { lowered.contains($0) }
    }

    /// The properties with secret values replaced by `***`, in name order.
    public var redactedProperties: [(name: String, value: String)] {
        properties.sorted { $0.key < $1.key }.map { ($0.key, Self.isSecret($0.key) ? "***" : $0.value) }
    }

    public var description: String {
        let extra = redactedProperties.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
        return "bootstrap.servers=\(bootstrapServers), client.id=\(clientID)" + (extra.isEmpty ? "" : ", " + extra)
    }

    /// The librdkafka properties for this configuration, derived fields first.
    func librdkafkaProperties() -> [(String, String)] {
        [("bootstrap.servers", bootstrapServers), ("client.id", clientID)]
            + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
