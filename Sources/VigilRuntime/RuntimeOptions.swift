public import VigilKafka
public import VigilTopology

/// How a ``StreamRuntime`` instance runs. Defaults suit a production service; the topology's
/// `processing` section sets batch bounds and the commit interval.
public struct RuntimeOptions: Sendable {
    /// Where the cluster is, with any librdkafka property passed through.
    public var kafka: KafkaConfiguration
    /// This instance's stable id. The transactional id derives from it, so a restarted
    /// instance fences its predecessor and ends the transaction it left open.
    public var instanceID: String {
        didSet { precondition(!instanceID.isEmpty, "the instance id must not be empty") }
    }
    /// The consumer group; default `vigil.<topology name>`. Instances in one group share the work.
    public var groupID: String?
    /// Most records per poll (micro-batch size). Default 500.
    public var batchSize: Int = 500 {
        didSet { precondition(batchSize > 0, "the batch size must be positive") }
    }
    /// Longest wait for records when none have arrived; a batch never waits to fill (see
    /// ``VigilTopology/ProcessingSpec/batchDelay``). Default 20 ms.
    public var batchDelay: Duration = .milliseconds(20)
    /// Longest a transaction stays open. Default 100 ms.
    public var commitInterval: Duration = .milliseconds(100) {
        didSet { precondition(commitInterval > .zero, "the commit interval must be positive") }
    }
    /// Whether a transaction commits as soon as the input is drained, before the commit
    /// interval (see ``TransactionCycle/commitsWhenDrained``). Default true: at a rate below
    /// the maximum an event waits for one commit, not for the interval.
    public var commitsWhenDrained = true
    /// Whether events keyed to a repartition partition this instance owns skip the topic (see
    /// ``VigilTopology/ProcessingSpec/localDelivery``). Default true.
    public var deliversLocally = true
    /// Most input events per transaction (source and repartitioned). Default 50,000: it bounds
    /// a transaction's size under a backlog, where the commit interval ends most transactions.
    public var maxEventsPerTransaction: Int = 50_000
    /// How often each partition's full state is snapshotted (bounding restore time). Default 60 s.
    public var snapshotInterval: Duration = .seconds(60)
    /// The group's session timeout. Default 10 s.
    public var sessionTimeout: Duration = .seconds(10)

    /// Takes batch bounds and commit policy from a topology's `processing` section, as `vigil run` does.
    public mutating func apply(_ processing: ProcessingSpec) {
        batchSize = processing.batchSize
        batchDelay = .milliseconds(processing.batchDelay)
        commitInterval = .milliseconds(max(1, processing.commitInterval))
        commitsWhenDrained = processing.commitWhenDrained
        deliversLocally = processing.localDelivery
    }

    public init(kafka: KafkaConfiguration, instanceID: String) {
        precondition(!instanceID.isEmpty, "the instance id must not be empty")
        self.kafka = kafka
        self.instanceID = instanceID
    }
}
