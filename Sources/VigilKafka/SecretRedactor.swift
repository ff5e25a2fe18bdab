/// Replaces secret values (passwords, keys, tokens) wherever they appear in a text with `***`,
/// so that a log line, an error or a printed configuration never shows one, whoever wrote it
/// (librdkafka's log and error callbacks quote what they were given).
///
/// Values shorter than ``minimumLength`` are not searched for: a one-letter "secret" would
/// blank every occurrence of that letter, and is no secret anyway.
public struct SecretRedactor: Sendable, Equatable {
    /// The shortest value searched for.
    public static let minimumLength = 4
    /// What a secret is replaced with.
    public static let mask = "***"

    /// The secret values, longest first (so that a secret containing another is masked whole).
    public let secrets: [String]

    /// A redactor for the given values; empty and very short ones are left out.
    public init(secrets values: some Sequence<String>) {
        secrets = Set(values.filter { $0.utf8.count >= Self.minimumLength }).sorted { ($0.utf8.count, $0) > ($1.utf8.count, $1) }
    }

    /// A redactor that changes nothing.
    public static let none = SecretRedactor(secrets: [])

    /// A redactor for the values of `configuration`'s secret properties (see
    /// ``KafkaConfiguration/isSecret(_:)``).
    public init(configuration: KafkaConfiguration) {
        self.init(secrets: configuration.properties.filter { KafkaConfiguration.isSecret($0.key) }.map(\.value))
    }

    /// Whether there is anything to redact.
    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every secret replaced by `***`.
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacing(secret, with: Self.mask)
        }
        return result
    }

    /// Both redactors' secrets.
    public func merging(_ other: SecretRedactor) -> SecretRedactor {
        SecretRedactor(secrets: secrets + other.secrets)
    }
}
