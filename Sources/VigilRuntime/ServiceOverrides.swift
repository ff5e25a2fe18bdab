/// Command-line values that override the file, as the user typed them (parsed by
/// ``ServiceConfiguration/merging(_:)``, whose errors name the flag). Nil leaves the file's
/// value (or the default) alone.
public struct ServiceOverrides: Sendable, Equatable {
    /// `--bootstrap HOST:PORT[,HOST:PORT…]`
    public var bootstrapServers: String?
    /// `--property NAME=VALUE`, repeatable: librdkafka properties added over the file's.
    public var properties: [String]
    /// `--instance-id ID`
    public var instanceID: String?
    /// `--metrics-address HOST:PORT`
    public var metricsAddress: String?
    /// `--log-level LEVEL`
    public var logLevel: String?
    /// `--log-format text|json`
    public var logFormat: String?
    /// `--commit-interval DURATION`
    public var commitInterval: String?
    /// `--state-snapshot-interval DURATION`
    public var stateSnapshotInterval: String?

    public init(
        bootstrapServers: String? = nil, properties: [String] = [], instanceID: String? = nil, metricsAddress: String? = nil,
        logLevel: String? = nil, logFormat: String? = nil, commitInterval: String? = nil, stateSnapshotInterval: String? = nil
    ) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.instanceID = instanceID
        self.metricsAddress = metricsAddress
        self.logLevel = logLevel
        self.logFormat = logFormat
        self.commitInterval = commitInterval
        self.stateSnapshotInterval = stateSnapshotInterval
    }
}
