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
    /// ``VigilTopology/ProcessingSpec/localDelivery``). Default false.
    public var deliversLocally = false
    /// Whether the next batches are processed while a transaction's commit runs in the
    /// background, their outputs held back until the commit has ended and the next transaction
    /// begun (not with local delivery). Default true. Rebalances and shutdown still wait for
    /// the commit.
    public var overlapsCommit = true
    /// Most input events per transaction (source and repartitioned). Default 50,000: it bounds
    /// a transaction's size under a backlog, where the commit interval ends most transactions.
    public var maxEventsPerTransaction: Int = 50_000
    /// How often each partition's full state is snapshotted (bounding restore time). Default 60 s.
    public var snapshotInterval: Duration = .seconds(60)
    /// The group's session timeout. Default 10 s.
    public var sessionTimeout: Duration = .seconds(10)
    /// `max.poll.interval.ms`: the longest the loop may go without polling before the group
    /// drops this member. Default 5 min. Restores run in bounded steps between polls, so a large
    /// state does not count against it.
    public var maxPollInterval: Duration = .seconds(300)
    /// `transaction.timeout.ms`: how long the broker keeps a transaction of a dead instance open
    /// (blocking read_committed readers of the partitions it wrote, restores among them) before
    /// aborting it. Default 10 s: a replacement instance with another id waits at most this long.
    public var transactionTimeout: Duration = .seconds(10)
    /// Whether the instance joins the group as a static member (`group.instance.id` = its
    /// instance id, KIP-345): a restarted instance takes its partitions back without a
    /// rebalance. Default true.
    public var staticMembership = true
    /// How long a send waits for room in a full producer queue before the transaction is
    /// aborted and consumption pauses (back-pressure). Default 10 s.
    public var queueFullTimeout: Duration = .seconds(10)
    /// Records the producer queues at most (`queue.buffering.max.messages`); consumption pauses
    /// while more than half are waiting for the broker. Default 1,000,000.
    public var maxQueuedRecords = 1_000_000
    /// The largest record the instance produces (`message.max.bytes`); an event whose score,
    /// alert or repartition record is larger is dead-lettered with that reason. Keep it at or
    /// below the output topics' `max.message.bytes`. Default 1,000,000.
    public var maxRecordBytes = 1_000_000
    /// How often the repartition topics are purged up to the committed offsets (where the
    /// broker supports DeleteRecords). Default 30 s.
    public var repartitionPurgeInterval: Duration = .seconds(30)
    /// How long one step of a restore may run between polls. Default 100 ms.
    public var restoreStep: Duration = .milliseconds(100)
    /// Compatibility with brokers that show records of aborted transactions to read_committed
    /// readers (Tansu, the test broker; Kafka does not). On such a broker an aborted
    /// transaction's repartitioned events and changelog records are read as if committed, so
    /// this turns on what guards against them: the stage behind the source's repartition topic
    /// skips copies of source events it has applied (a mark it writes to its changelog),
    /// changelog records of local deliveries carry the source offsets they reflect (a restore
    /// applies them only once those are committed), and a partition whose restore passed over
    /// such records, or that took local deliveries in an aborted transaction, is snapshotted
    /// next. Default false.
    public var brokerShowsAbortedRecords = false

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
