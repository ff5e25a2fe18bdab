/// Settings of a group ``Consumer``. Defaults suit exactly-once processing: offsets are never
/// committed automatically (the transaction commits them), and only committed records are read.
public struct ConsumerConfiguration: Sendable, Equatable {
    /// Which records a consumer reads.
    public enum IsolationLevel: String, Sendable {
        /// Only records of committed transactions (and non-transactional ones). Default.
        case readCommitted = "read_committed"
        /// Every record, including those of open and aborted transactions.
        case readUncommitted = "read_uncommitted"
    }

    /// Where a partition without a committed offset starts.
    public enum OffsetReset: String, Sendable {
        /// The oldest record kept. Default: a new group scores everything.
        case earliest
        /// Only records produced from now on.
        case latest
        /// Fail with an error instead.
        case error
    }

    /// How partitions move between group members.
    public enum AssignmentStrategy: String, Sendable {
        /// Incremental (KIP-429): members keep their partitions across a rebalance. Default.
        case cooperativeSticky = "cooperative-sticky"
        /// Eager range assignment: every rebalance revokes everything first.
        case range
        /// Eager round-robin assignment.
        case roundRobin = "roundrobin"
    }

    /// Connection settings.
    public var kafka: KafkaConfiguration
    /// `group.id`. Never empty.
    public var groupID: String {
        didSet { precondition(!groupID.isEmpty, "group id must not be empty") }
    }
    /// `isolation.level`. Default ``IsolationLevel/readCommitted``.
    public var isolationLevel: IsolationLevel = .readCommitted
    /// `auto.offset.reset`. Default ``OffsetReset/earliest``.
    public var offsetReset: OffsetReset = .earliest
    /// `partition.assignment.strategy`. Default ``AssignmentStrategy/cooperativeSticky``.
    public var assignmentStrategy: AssignmentStrategy = .cooperativeSticky
    /// `session.timeout.ms`: how long the group waits for a silent member. Default 10 s.
    public var sessionTimeout: Duration = .seconds(10) {
        didSet { precondition(sessionTimeout >= .milliseconds(1), "session timeout must be positive") }
    }
    /// `heartbeat.interval.ms`. Default 1 s; must stay below the session timeout.
    public var heartbeatInterval: Duration = .seconds(1) {
        didSet { precondition(heartbeatInterval >= .milliseconds(1), "heartbeat interval must be positive") }
    }
    /// `max.poll.interval.ms`: the longest gap between polls before the member is dropped. Default 5 min.
    public var maxPollInterval: Duration = .seconds(300)
    /// `enable.partition.eof`: report reaching the end of a partition. Default false.
    public var reportsPartitionEOF = false
    /// `group.instance.id`: a static member id (KIP-345). A restarted member with the same id
    /// takes its partitions back without a rebalance, and a member that dies keeps them until
    /// the session timeout. Default nil (a dynamic member).
    public var groupInstanceID: String? {
        didSet { precondition(groupInstanceID.map { !$0.isEmpty } ?? true, "a group instance id must not be empty") }
    }

    /// Creates a consumer configuration for a group.
    public init(kafka: KafkaConfiguration, groupID: String) {
        precondition(!groupID.isEmpty, "group id must not be empty")
        self.kafka = kafka
        self.groupID = groupID
    }

    func librdkafkaProperties() -> [(String, String)] {
        var derived: [(String, String)] = [
            ("group.id", groupID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("isolation.level", isolationLevel.rawValue),
            ("auto.offset.reset", offsetReset.rawValue),
            ("partition.assignment.strategy", assignmentStrategy.rawValue),
            ("session.timeout.ms", String(sessionTimeout.milliseconds)),
            ("heartbeat.interval.ms", String(min(heartbeatInterval, sessionTimeout / 3).milliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.milliseconds)),
            ("enable.partition.eof", reportsPartitionEOF ? "true" : "false"),
        ]
        if let groupInstanceID { derived.append(("group.instance.id", groupInstanceID)) }
        derived.insert(contentsOf: kafka.librdkafkaProperties().prefix(2), at: 0)
        return derived + kafka.librdkafkaProperties().dropFirst(2)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down, at least 0.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
