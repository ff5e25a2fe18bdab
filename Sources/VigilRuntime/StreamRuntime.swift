import Foundation
public import Logging
import Synchronization
import VigilFeatures
import VigilKafka
public import VigilModels
import VigilPipeline
public import VigilTopology

/// The Kafka driver around the shared ``Pipeline``: consumes a topology's source (and its
/// repartition topics) as a member of a consumer group, runs the stages in micro-batches,
/// scores, and produces scores, alerts, dead letters, repartitioned events and state changes in
/// one transaction with the consumed offsets — exactly once.
///
/// Its loop has three phases, each its own type:
/// - **restore** (``StateRestorer``): newly assigned partitions stay paused while their state is
///   read from the newest committed snapshot and the changelog after it, in bounded steps
///   between polls; a partition is processed only once its restore has completed;
/// - **process** (``SegmentProcessor``, ``RecordCollector``, ``LocalDeliveryCoordinator``): a
///   polled batch runs through the stages into the open transaction;
/// - **commit** (``ChangelogWriter``, ``TransactionDriver``): each touched key's state goes to
///   the changelog, with snapshots from time to time, then the offsets, then the commit.
///
/// Every transactional call goes through the ``TransactionDriver`` and its ``TransactionCycle``:
/// any error that escapes a batch or a commit aborts the open transaction before anything else
/// runs, restores the state of the partitions it changed from their changelogs
/// (``StateRestorer``) and rewinds the input to the committed offsets; a revoke or a shutdown
/// commits only a clean transaction; fenced or fatal, the instance stops. Everything runs on
/// the thread that calls ``run()``; ``requestStop()`` may be called from any thread (a signal
/// handler).
public final class StreamRuntime: @unchecked Sendable {
    public let topology: Topology
    public let plan: TopicPlan
    public let options: RuntimeOptions
    /// What the instance exports on /metrics.
    public let metrics: RuntimeMetrics
    private let logger: Logger
    private let clients: RuntimeClients
    private let stopRequested = Atomic<Bool>(false)
    private let clock = ContinuousClock()

    // Made by start().
    private var consumer: Consumer!
    private var driver: TransactionDriver!
    private var admin: Admin!
    private var collector: RecordCollector!
    private var processor: SegmentProcessor!
    private var restorer: StateRestorer!
    private var freezeDetector: FreezeDetector!
    private var partitionCount: Int32 = 1

    private let pipelines: PipelineStore
    private let changelog: ChangelogWriter
    /// The open transaction (from the first batch consumed into it until it commits or aborts).
    private var transaction: OpenTransaction?
    /// The transaction whose commit runs in the background (``RuntimeOptions/overlapsCommit``),
    /// kept until its outcome is known; after a failed commit, until it is aborted.
    private var inFlight: CommitInFlight?
    /// Partitions the group assigned to this instance, and of those the ones restored and processed.
    private var assigned: Set<TopicPartition> = []
    private var active: Set<TopicPartition> = []
    private var committedOffsets: [TopicPartition: Int64] = [:]
    private var delivery: LocalDeliveryCoordinator
    private var aligner: SourceAligner
    private var backPressure: BackPressure
    /// What the consumer has paused.
    private var paused: Set<TopicPartition> = []
    private var lastSnapshot: [SegmentPartition: ContinuousClock.Instant] = [:]
    /// `processing.changelog: events`: the place of each segment partition's next events
    /// record since its last snapshot (``ChangelogWriter/eventsKey(slot:)``).
    private var nextEventSlot: [SegmentPartition: Int] = [:]
    /// Segment partitions that wrote changelog records since their last snapshot.
    private var changedSinceSnapshot: Set<SegmentPartition> = []
    /// Segment partitions to snapshot in the next transaction (see ``RuntimeOptions/brokerShowsAbortedRecords``).
    private var snapshotDue: Set<SegmentPartition> = []
    private var lastExpiry: ContinuousClock.Instant?
    private var lastPurge: ContinuousClock.Instant?
    private var purgesRepartitionTopics = true
    private var lastStateMetrics: ContinuousClock.Instant?
    /// A failure inside the rebalance callback, acted on after the poll that ran it.
    private var pendingFailure: (any Error)?
    /// Set by a rebalance: the partitions kept are sought to where processing stands after the poll.
    private var repositionAfterRebalance = false
    private var counts = RuntimeStatistics()
    private let published = Mutex(RuntimeStatistics())

    /// Counts of what the instance has done (safe to read from any thread; updated after each step).
    public var statistics: RuntimeStatistics { published.withLock { $0 } }
    /// Called after every committed transaction (tests and metrics watch progress with it).
    public var onCommit: (@Sendable (RuntimeStatistics) -> Void)?

    /// A runtime for `topology`. `makeKernel` loads the model (called once per partition's
    /// pipeline); nil from it means the topology scores nothing. `clients` makes the Kafka
    /// clients of the exactly-once path (tests wrap them to inject failures).
    public init(
        topology: Topology, options: RuntimeOptions, logger: Logger, metrics: RuntimeMetrics = RuntimeMetrics(),
        clients: RuntimeClients = .kafka, makeKernel: @escaping () throws -> (any ScoringKernel)?
    ) throws {
        // The events records are chained by each segment partition's input offsets, which a
        // local delivery's events never had (the topology loader refuses the pair too).
        guard !(topology.processing.changelog == .events && options.deliversLocally) else {
            throw KafkaError(code: .invalidConfiguration, message: "processing.changelog: events does not combine with local delivery")
        }
        self.metrics = metrics
        self.topology = topology
        self.plan = try TopicPlan(topology: topology)
        self.options = options
        self.logger = logger
        self.clients = clients
        pipelines = PipelineStore(topology: topology, makeKernel: makeKernel)
        changelog = ChangelogWriter(plan: plan, keepsAppliedOffsets: options.brokerShowsAbortedRecords, maxEventsBytes: options.maxRecordBytes * 9 / 10)
        delivery = LocalDeliveryCoordinator(enabled: options.deliversLocally && plan.segments.count > 1, commitInterval: options.commitInterval)
        aligner = SourceAligner(allowedLateness: topology.processing.allowedLateness)
        backPressure = BackPressure(queueCapacity: options.maxQueuedRecords)
    }

    /// Asks the loop to finish its batch, commit, leave the group and return.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// The transactional id of this instance: stable across restarts.
    public var transactionalID: String { "vigil.\(topology.name).\(options.instanceID)" }

    /// Runs until ``requestStop()``; throws when fenced or on a fatal error. On the way out
    /// a clean open transaction is committed; after an error nothing is.
    public func run() throws {
        guard try start() else { return }
        do {
            while !stopRequested.load(ordering: .relaxed) {
                try runOnce()
            }
            try handOver()
            // The state gauges are refreshed at most once a second: a last scrape reads the state it stopped with.
            updateStateMetrics(force: true)
            try consumer.close()
            if let failure = pendingFailure { throw failure }
        } catch {
            driver?.stop()
            try? consumer?.close()
            publishStatistics()
            throw error
        }
        publishStatistics()
        logger.info("stopped", metadata: ["events": "\(counts.eventsIn)", "transactions": "\(counts.transactionsCommitted)"])
    }

    // MARK: Start

    /// Connects, creates the topics, fences older incarnations and joins the group; false when
    /// asked to stop while waiting for the broker.
    private func start() throws -> Bool {
        admin = try Admin(configuration: options.kafka, logger: logger)
        guard let topics = try waitForBroker() else { return false }
        guard let source = topics[plan.segments[0].inputTopic] else {
            throw KafkaError(code: .unknownTopicOrPartition, message: "the source topic '\(plan.segments[0].inputTopic)' of topology '\(topology.name)' does not exist at \(options.kafka.bootstrapServers)")
        }
        partitionCount = Int32(source.partitionCount)
        let wanted = InternalTopics.newTopics(plan, partitions: partitionCount)
        try admin.createTopics(wanted.filter { topics[$0.name] == nil }, ignoreExisting: true)
        for topic in wanted {
            if let existing = topics[topic.name], existing.partitionCount != Int(partitionCount) {
                throw KafkaError(code: .invalidConfiguration, message: "topic '\(topic.name)' has \(existing.partitionCount) partitions; it must have the source's \(partitionCount)")
            }
        }
        checkTopicConfigurations()

        let producer = try clients.makeProducer(producerConfiguration, logger)
        driver = TransactionDriver(
            producer: producer,
            cycle: TransactionCycle(commitInterval: options.commitInterval, maxEvents: options.maxEventsPerTransaction, commitsWhenDrained: options.commitsWhenDrained),
            maxRecordBytes: Int(options.kafka.properties["message.max.bytes"] ?? "") ?? options.maxRecordBytes, logger: logger)
        // Fences a previous incarnation of this instance and ends the transaction it left open.
        try producer.initTransactions(timeout: .seconds(30))

        collector = RecordCollector(plan: plan, topology: topology, driver: driver, metrics: metrics, maxRecordBytes: options.maxRecordBytes, logger: logger)
        processor = SegmentProcessor(
            topology: topology, plan: plan, partitionCount: partitionCount, pipelines: pipelines, collector: collector,
            guardsDuplicates: options.brokerShowsAbortedRecords, driftMonitor: try PipelineDriftMonitor.load(topology: topology),
            metrics: metrics, logger: logger)

        var consumerConfiguration = ConsumerConfiguration(kafka: options.kafka, groupID: options.groupID ?? "vigil.\(topology.name)")
        consumerConfiguration.sessionTimeout = options.sessionTimeout
        consumerConfiguration.heartbeatInterval = min(.seconds(3), options.sessionTimeout / 4)
        // A freeze of half the session timeout can outlast it at the coordinator (whose clock
        // runs from the last heartbeat it received); librdkafka hears of that within a
        // heartbeat interval and a round trip once the process runs again.
        freezeDetector = FreezeDetector(threshold: options.sessionTimeout / 2, grace: consumerConfiguration.heartbeatInterval + .seconds(1))
        consumerConfiguration.maxPollInterval = options.maxPollInterval
        // No partition ends: librdkafka 2.8 moves a partition's position one past an end it
        // reports, and a pause — its own during a rebalance included — resumes from there,
        // skipping the next record (measured: the rebalance test lost the first record after
        // each end). The source aligner reads positions instead.
        consumerConfiguration.reportsPartitionEOF = false
        if options.staticMembership { consumerConfiguration.groupInstanceID = "vigil.\(topology.name).\(options.instanceID)" }
        // A fetch with nothing to return waits at most the batch delay (at least 5 ms), not
        // librdkafka's 500 ms: Kafka answers a waiting fetch as soon as records arrive, but
        // Tansu (the test broker) only when the wait ends, so there the wait is added to every
        // hop (a record read from the source, then from the repartition topic). Shorter is not
        // better on Tansu: at 5 ms its idle fetches slowed its transaction calls tenfold.
        consumerConfiguration.kafka.properties["fetch.wait.max.ms"] = consumerConfiguration.kafka.properties["fetch.wait.max.ms"]
            ?? String(max(5, Int(options.batchDelay / .milliseconds(1))))
        // A partition whose fetch queue is over librdkafka's thresholds (a backlog's prefetch)
        // fetches again after the batch delay, not librdkafka's 1 s: with 1 s, a source
        // partition the aligner paused and resumed waited up to a second with nothing fetched,
        // and with 4–16 source partitions the thread waited in polls 29–51 % of a backlog run
        // (bench/README.md, "Partitions": 35–62k events/s against 104–139k at 20 ms).
        consumerConfiguration.kafka.properties["fetch.queue.backoff.ms"] = consumerConfiguration.kafka.properties["fetch.queue.backoff.ms"]
            ?? String(max(5, Int(options.batchDelay / .milliseconds(1))))
        consumer = try Consumer(configuration: consumerConfiguration, logger: logger) { [unowned self] event in
            self.rebalance(event)
        }
        restorer = StateRestorer(
            plan: plan, topology: topology, partitionCount: partitionCount, pipelines: pipelines,
            context: StateRestorer.Context(
                committed: { [unowned self] partitions in try self.consumer.committed(partitions) },
                makeReader: { [options, clients, logger] in
                    var configuration = ConsumerConfiguration(kafka: options.kafka, groupID: "vigil-restore")
                    configuration.reportsPartitionEOF = true
                    // An offset no longer in the log is an error, never a silent restart from what is left.
                    configuration.offsetReset = .error
                    configuration.kafka.properties["fetch.wait.max.ms"] = configuration.kafka.properties["fetch.wait.max.ms"] ?? "10"
                    return try clients.makeReader(configuration, logger)
                }),
            checksSourceOffsets: options.brokerShowsAbortedRecords, metrics: metrics, logger: logger)
        try consumer.subscribe(plan.inputTopics)
        logger.info("started", metadata: [
            "topology": "\(topology.name)", "instance": "\(options.instanceID)", "partitions": "\(partitionCount)",
            "inputs": "\(plan.inputTopics.joined(separator: ","))",
        ])
        if options.brokerShowsAbortedRecords, delivery.enabled {
            logger.warning("local delivery on a broker that shows aborted records: after an instance dies mid-transaction, a restore can take its aborted local deliveries as committed and skip those events' scores (README, Local delivery); set processing.local_delivery: false")
        }
        return true
    }

    /// The configuration of this instance's transactional producer (and of its replacements).
    private var producerConfiguration: ProducerConfiguration {
        var configuration = ProducerConfiguration(kafka: options.kafka, transactionalID: transactionalID)
        configuration.linger = .milliseconds(1)
        configuration.transactionTimeout = options.transactionTimeout
        configuration.queueFullTimeout = options.queueFullTimeout
        configuration.maxQueuedMessages = options.maxQueuedRecords
        configuration.maxMessageBytes = options.maxRecordBytes
        return configuration
    }

    /// The cluster's topics, once the broker answers: while it cannot be reached the instance
    /// waits and tries again with a growing backoff (logging once per attempt, at most every
    /// 30 s), unhealthy with the reason; nil when asked to stop meanwhile.
    private func waitForBroker() throws -> [String: TopicDescription]? {
        var backoff = Duration.seconds(1)
        var lastLog: ContinuousClock.Instant?
        while true {
            let failure: KafkaError
            do {
                let topics = try admin.listTopics()
                if lastLog != nil {
                    logger.notice("Kafka at \(options.kafka.bootstrapServers) answers")
                    metrics.health.markHealthy()
                }
                return topics
            } catch {
                failure = error
            }
            guard Self.unreachableCodes.contains(failure.code) else { throw failure }
            do {
                let error = failure
                let reason = "waiting for Kafka at \(options.kafka.bootstrapServers): \(error.message)"
                metrics.health.markUnhealthy(reason)
                if lastLog.map({ clock.now - $0 >= .seconds(30) }) ?? true {
                    logger.warning("\(reason); trying again (every \(backoff) at most 30 s)")
                    lastLog = clock.now
                }
                let until = clock.now + backoff
                while clock.now < until {
                    if stopRequested.load(ordering: .relaxed) { return nil }
                    Thread.sleep(forTimeInterval: 0.05)  // waiting out a backoff, checking for a stop request
                }
                backoff = min(.seconds(30), backoff * 2)
            }
        }
    }

    /// The errors that mean the broker cannot be reached (yet).
    private static let unreachableCodes: Set<KafkaError.Code> = [.transport, .allBrokersDown, .timedOut, .resolve]

    /// Warns about internal topics that exist with other settings than Vigil gives them (made
    /// by an older version, or by hand): their state is at risk once records expire.
    private func checkTopicConfigurations() {
        let internalTopics = InternalTopics.newTopics(plan, partitions: partitionCount).filter { !$0.configs.isEmpty }.map(\.name)
        guard let configs = try? admin.describeTopicConfigs(internalTopics) else { return }
        for problem in InternalTopics.problems(plan, partitions: partitionCount, configs: configs) {
            logger.warning("\(problem): set it with kafka-configs --alter --entity-type topics --entity-name <topic> --add-config, or state may be lost once records expire")
        }
    }

    // MARK: The loop

    /// One round: a restore step, a poll and its batch, the pauses, and a commit when due.
    /// Any error aborts the open transaction and rewinds before the next round.
    private func runOnce() throws {
        do {
            if let failure = pendingFailure {
                pendingFailure = nil
                throw failure
            }
            try restoreStep()
            try snapshotIdlePartitions()
            // While a commit runs in the background the poll returns soon, so that its end
            // (and the next transaction's begin) is seen without waiting out the batch delay.
            let timeout = !restorer.isIdle ? .zero : driver.commitUnderWay ? min(options.batchDelay, .milliseconds(1)) : options.batchDelay
            let pollStart = clock.now
            var polled = pollStart
            let drained = try consumer.withBatch(maxRecords: options.batchSize, timeout: timeout, fill: false) { batch in
                polled = clock.now
                for error in batch.errors { logger.warning("\(error)") }
                try handle(batch)
                return batch.messages.count + batch.errors.count + batch.partitionEnds.count < options.batchSize
            }
            let handled = clock.now
            counts.phases.polling += polled - pollStart
            counts.phases.processing += handled - polled
            if let failure = pendingFailure {
                pendingFailure = nil
                throw failure
            }
            if repositionAfterRebalance { try repositionActivePartitions() }
            try reconcilePauses()
            if driver.commitUnderWay { try awaitInFlight(wait: false) }
            if driver.cycle.nextOnTick(now: clock.now, inputDrained: drained) == .commit { try commit(inBackground: overlapsCommit) }
        } catch {
            try recover(from: error)
        }
        publishStatistics()
    }

    /// Acts on an error that escaped a round: stop when it is fatal, otherwise abort and rewind.
    /// An abort that failed for good replaces the producer, unless `replacing` is false (inside
    /// the rebalance callback, which must not block for a new producer's initialisation): the
    /// failure is then thrown, and the loop replaces the producer once the poll returns.
    private func recover(from error: any Error, replacing: Bool = true) throws {
        if let failed = error as? TransactionDriver.AbortFailed {
            // A second report of a failure whose replacement is done already: nothing is left to do.
            guard driver.cycle.state == .replacingProducer else { return }
            guard replacing else { throw failed }
            return try replaceProducer(after: failed.error)
        }
        if case .stopped = driver.cycle.state { try stopWith(error) }
        if let kafkaError = error as? KafkaError, kafkaError.severity == .fatal { try stopWith(kafkaError) }
        if let fatal = driver.processingFailed(error) { try stopWith(fatal) }
        logger.warning("transaction failed, aborting and rewinding: \(error)")
        do {
            try abortAndRewind()
        } catch let failed as TransactionDriver.AbortFailed {
            guard replacing else { throw failed }
            try replaceProducer(after: failed.error)
        } catch {
            try stopWith(error)
        }
        if let kafkaError = error as? KafkaError, kafkaError.code == .queueFull {
            // The broker does not take records as fast as they come: pause the inputs for a while.
            backPressure.sendFailed(now: clock.now)
            metrics.backPressurePauses.increment()
            try reconcilePauses()
        }
    }

    /// The failed transaction could not be aborted: a new producer of the same transactional id
    /// takes the place of this one (its initialisation fences the old one and ends what it left
    /// open), and since what the broker made of that transaction is unknown here, every
    /// assigned partition is restored again from the group's committed offsets and the
    /// changelogs, as after a rebalance. A replacement that cannot be initialised is fatal.
    /// Whether the transaction in fact committed (its commit's answer was lost, and the abort
    /// then refused as a commit was still in progress) is read from the group's offsets once
    /// the new producer has ended it (``settle(_:committedBefore:)``).
    private func replaceProducer(after error: KafkaError) throws {
        // On the way out a new producer would only restore state to leave it: stop (the
        // transaction left open ends when the next instance of this id initialises, or times out).
        if stopRequested.load(ordering: .relaxed) { try stopWith(error) }
        // The failure may also wait in `pendingFailure` (reported from the rebalance callback):
        // this replacement answers it.
        if pendingFailure is TransactionDriver.AbortFailed { pendingFailure = nil }
        let partitions = assigned.sorted()
        logger.error("the failed transaction could not be aborted (\(error)): replacing the producer and restoring \(partitions.count) partitions from their committed offsets")
        metrics.health.markUnhealthy("replacing the producer: \(error)")
        // Its state changes go with the partitions' state, restored afresh below.
        // With a commit that failed in the background, `failed` is the transaction behind it,
        // which never began: the one whose end is unknown is the failed commit's.
        let failedCommit = inFlight?.transaction
        inFlight = nil
        let failed = transaction
        transaction = nil
        // Their batches are closed: every partition is cleared and restored below.
        for partition in Set([failedCommit, failed].compactMap { $0 }.flatMap(\.touchedPipelines)) { pipelines[partition]?.discardBatches() }
        let committedBefore = committedOffsets
        do {
            try driver.replaceProducer { try clients.makeProducer(producerConfiguration, logger) }
        } catch {
            if let failed { discard(failed, counted: failedCommit == nil) }
            if let failedCommit { discard(failedCommit) }
            try stopWith(error)
        }
        // The later one first (its drift checkpoint is the newer); then the one whose end the
        // group's offsets tell.
        if let failedCommit {
            if let failed { discard(failed, counted: false) }
            settle(failedCommit, committedBefore: committedBefore)
        } else if let failed {
            settle(failed, committedBefore: committedBefore)
        }
        metrics.producerReplacements.increment()
        metrics.health.markHealthy()
        try restoreAfresh(partitions)
    }

    /// Clears the state of `partitions` and restores it from their committed offsets and
    /// changelogs, as after an assignment: they stay paused until their restore completes, and
    /// are then read again from their committed offsets. Their pipelines stay, emptied (no
    /// model is loaded again), and so does their snapshot bookkeeping: the committed changelog
    /// it describes is unchanged, and aborts that came faster than the snapshot interval would
    /// otherwise put every snapshot off for good.
    private func restoreAfresh(_ partitions: [TopicPartition]) throws {
        guard !partitions.isEmpty else { return }
        drop(partitions, restoringAfresh: true)
        try consumer.pause(partitions)
        paused.formUnion(partitions)
        assigned.formUnion(partitions)
        restorer.enqueue(partitions)
    }

    private func stopWith(_ error: any Error) throws -> Never {
        driver.stop()
        logger.critical("stopping: \(error)")
        let fenced = (error as? KafkaError)?.isFenced ?? false
        metrics.health.markUnhealthy(fenced ? "producer fenced: another instance took over" : "fatal error: \(error)")
        throw error
    }

    /// On the way out: commit a clean transaction, abort a failed one.
    private func handOver() throws {
        switch driver.cycle.nextForHandOver() {
        case .commit:
            do { try commit() } catch { try recover(from: error) }
        case .abortAndRewind:
            try abortAndRewind()
        default:
            break
        }
    }

    // MARK: Restore

    /// A bounded step of the restore under way; partitions it completes are sought to their
    /// committed offsets and processed from the next poll on.
    private func restoreStep() throws {
        guard !restorer.isIdle else { return }
        let restored = restorer.step(until: clock.now + options.restoreStep)
        if let problem = restorer.lastFailure ?? restorer.waiting {
            metrics.health.markUnhealthy(problem)
        } else if metrics.health.unhealthyReason?.hasPrefix("restoring") ?? false {
            metrics.health.markHealthy()
        }
        guard !restored.isEmpty else { return }
        var seek: [TopicPartition: Int64] = [:]
        let repartition = plan.segments.count > 1 ? plan.segments[1].inputTopic : nil
        for item in restored where assigned.contains(item.partition) {
            let partition = item.partition
            if let committed = item.committed { committedOffsets[partition] = committed }
            // Records fetched before the partition was paused were dropped: read from the committed offset.
            seek[partition] = item.committed ?? KafkaOffset.beginning
            active.insert(partition)
            if plan.segment(consuming: partition.topic) == 0 {
                aligner.forget(partition.partition)
                delivery.sourceAssigned(partition.partition)
            } else if partition.topic == repartition {
                delivery.repartitionAssigned(partition.partition, restored: item.applied ?? AppliedSourceOffsets())
            }
            if let segment = plan.segment(consuming: partition.topic) {
                let segmentPartition = SegmentPartition(segment: segment, partition: partition.partition)
                nextEventSlot[segmentPartition] = item.nextEventSlot
                // With events records this also covers a snapshot aborted behind the restored
                // state: the next commit is a snapshot, so no later restore reads its key states
                // (their offsets passed by then) under events records that hold the same input.
                if options.brokerShowsAbortedRecords, item.passedOverUnfinished { snapshotDue.insert(segmentPartition) }
            }
        }
        if !seek.isEmpty { try consumer.seek(seek) }
        counts.restoredRecords = restorer.restoredRecords
        updateStateMetrics(force: true)
        publishStatistics()
    }

    // MARK: Processing

    private func handle(_ batch: ConsumerBatch) throws {
        guard !batch.messages.isEmpty else { return }
        var order: [TopicPartition] = []
        var groups: [TopicPartition: [ConsumedMessage]] = [:]
        // librdkafka hands a partition's records out in runs (a fetch's worth each): the
        // groups are looked up once a run, not twice a record with a hash of the topic name
        // (bench/README, "Where the two cores go at Vigil's limit", cut 2). Comparing the
        // topics is cheap when the consumer gives a poll's records one String (a fast path
        // only: equal names compare equal however they are stored).
        let records = batch.messages
        var start = 0
        while start < records.count {
            let partition = records[start].topicPartition
            var end = start + 1
            while end < records.count, records[end].partition == partition.partition, records[end].topic == partition.topic { end += 1 }
            if groups[partition] == nil {
                order.append(partition)
                groups[partition] = Array(records[start..<end])
            } else {
                groups[partition]!.append(contentsOf: records[start..<end])
            }
            start = end
        }
        // Records of partitions still restoring were fetched before the pause took hold: they
        // are read again from the committed offset once the restore completes. Records of a
        // partition revoked inside the poll are left to its new owner.
        order.removeAll { !active.contains($0) }
        // Never a record twice: one below where processing stands — processed in the open
        // transaction, or committed — is dropped, whatever made the consumer hand it out again
        // (measured: a run with no abort skipped 1,530 repartitioned copies at the terminal
        // stage's applied-offset guard; the source's stage has no such guard).
        // A partition's records come in offset order: the first one tells, with no copy made
        // on the usual path where nothing is dropped.
        for partition in order {
            guard let next = processingPosition(of: partition), let messages = groups[partition],
                  messages[0].offset < next else { continue }
            let kept = messages.filter { $0.offset >= next }
            guard kept.count < messages.count else { continue }
            counts.refetchedSkipped += messages.count - kept.count
            logger.warning("dropped \(messages.count - kept.count) records of \(partition) below \(next), where processing stands: the consumer handed them out again")
            groups[partition] = kept
        }
        order.removeAll { groups[$0]!.isEmpty }
        guard !order.isEmpty else { return }
        // What the consumer handed over, for telling a record never handed out (a broker that
        // leaves a committed batch out of a fetch) from one lost here: each run of consecutive
        // offsets, so that a hole inside one poll shows (a transaction's marker makes one too).
        logger.debug("handed \(order.flatMap { Self.handedEntries($0, offsets: groups[$0]!.lazy.map(\.offset)) })")
        if transaction == nil { transaction = OpenTransaction() }
        if driver.commitUnderWay { counts.batchesBehindCommit += 1 }
        // Consumed from here on, whatever happens next: an abort rewinds them.
        transaction!.consumed.formUnion(order)
        try beginIfIdle()
        metrics.batchSize.observe(Double(batch.messages.count))
        // Events in are the source's records (a partition group at a time, not a topic name per record).
        let sourceEvents = order.reduce(0) { $0 + (plan.segment(consuming: $1.topic) == 0 ? groups[$1]!.count : 0) }
        counts.eventsIn += sourceEvents
        metrics.eventsIn.increment(by: sourceEvents)
        let consumed = order.reduce(0) { $0 + groups[$1]!.count }
        driver.took(events: consumed)
        transaction!.events += consumed
        let ownership = SegmentProcessor.Ownership(isActive: { [active] in active.contains($0) }, committed: { [committedOffsets] in committedOffsets[$0] })
        for partition in order {
            guard let segment = plan.segment(consuming: partition.topic) else { continue }
            try processor.process(groups[partition]!, of: partition, segment: segment, in: &transaction!, delivery: &delivery, aligner: &aligner, ownership: ownership)
        }
    }

    /// The "handed" debug line's entries for one partition's records: `topic/P@A...B` for each
    /// run of consecutive offsets (the exactly-once verifier reads them back).
    static func handedEntries(_ partition: TopicPartition, offsets: some Sequence<Int64>) -> [String] {
        offsetRuns(offsets).map { "\(partition)@\($0.lowerBound)...\($0.upperBound)" }
    }

    /// Ascending offsets as runs of consecutive ones: `[4, 5, 6, 9, 10]` as `[4...6, 9...10]`.
    static func offsetRuns(_ offsets: some Sequence<Int64>) -> [ClosedRange<Int64>] {
        var runs: [ClosedRange<Int64>] = []
        for offset in offsets {
            if let last = runs.last, offset == last.upperBound + 1 {
                runs[runs.count - 1] = last.lowerBound...offset
            } else {
                runs.append(offset...offset)
            }
        }
        return runs
    }

    /// Opens a transaction when none is: saves what an abort puts back, and sends due barriers.
    private func beginIfIdle() throws {
        if case .committing = driver.cycle.state {
            // Its events run while the commit before it is under way: it begins, and takes the
            // records held back for it, once that commit has succeeded (``awaitInFlight(wait:)``).
            prepareTransaction()
            return
        }
        if !driver.inTransaction { try confirmMembership() }
        guard try driver.beginIfIdle() else { return }
        prepareTransaction()
        guard delivery.enabled else { return }
        let topic = plan.segments[1].inputTopic
        let sourceTopic = plan.segments[0].inputTopic
        for (source, below) in delivery.dueBarriers(committed: { [committedOffsets] in committedOffsets[TopicPartition(sourceTopic, $0)] ?? 0 }) {
            for target in 0..<partitionCount {
                try collector.sendBarrier(to: topic, partition: target, marks: [source: below])
                delivery.barrierSent(source: source, below: below, to: target)
            }
        }
    }

    /// Saves what an abort puts back, once per transaction, before its first events run.
    private func prepareTransaction() {
        guard !transaction!.prepared else { return }
        transaction!.prepared = true
        transaction!.driftCheckpoint = processor.driftCheckpoint()
        delivery.transactionBegan()
    }

    /// Where processing of an input partition stands: the next offset in the open
    /// transaction, else in the one committing, else the committed one (nil when the group has none).
    private func processingPosition(of partition: TopicPartition) -> Int64? {
        transaction?.nextOffsets[partition] ?? inFlight?.transaction.nextOffsets[partition] ?? committedOffsets[partition]
    }

    /// The input position of a segment partition: in the open transaction, else committed.
    private func position(of segmentPartition: SegmentPartition) -> Int64 {
        processingPosition(of: input(of: segmentPartition)) ?? 0
    }

    /// The input partition a segment partition's state is built from.
    private func input(of segmentPartition: SegmentPartition) -> TopicPartition {
        TopicPartition(plan.segments[segmentPartition.segment].inputTopic, segmentPartition.partition)
    }

    /// Pauses and resumes partitions to match what they should be: restoring ones paused;
    /// sources ahead in event time, or waiting for a repartition partition to catch up, paused;
    /// everything paused while the producer's queue is too full (back-pressure).
    private func reconcilePauses() throws {
        var desired = assigned.subtracting(active)
        let sourceTopic = plan.segments[0].inputTopic
        let sources = active.filter { $0.topic == sourceTopic }
        let owned = plan.segments.count > 1 ? active.filter { $0.topic == plan.segments[1].inputTopic }.map(\.partition) : []
        let holding = delivery.holdsSources(now: clock.now, owned: owned)
        let ahead = sources.count > 1 ? aligner.ahead(of: sources.map(\.partition), caughtUp: try caughtUp(sources)) : []
        for source in sources where holding || ahead.contains(source.partition) { desired.insert(source) }
        // Records held back for the transaction behind a commit count: they go to the queue once it ends.
        let pressure = backPressure.update(queued: driver.producer.queuedRecords + driver.heldRecords, now: clock.now)
        if pressure.paused { desired.formUnion(active) }
        if pressure.started {
            metrics.backPressurePauses.increment()
            logger.warning("the producer's queue is full (\(driver.producer.queuedRecords) records): consumption pauses until it drains")
        }
        let pause = desired.subtracting(paused)
        let resume = paused.subtracting(desired).intersection(assigned)
        if !pause.isEmpty {
            logger.debug("pausing \(pause.sorted()) (restoring: \(pause.subtracting(active).count), holding sources: \(holding), ahead in event time: \(ahead.sorted()), back-pressure: \(pressure.paused))")
            try consumer.pause(Array(pause))
            paused.formUnion(pause)
        }
        if !resume.isEmpty {
            try consumer.resume(Array(resume))
            paused.subtract(resume)
            // librdkafka resumes a partition from the last record it handed out, or, when none
            // was handed out since a seek (an abort's rewind), from where its prefetch had got
            // to, skipping what the pause threw away (measured: 499 events lost after a rewind
            // and a back-pressure pause). Resume where processing stands instead.
            var resumeAt: [TopicPartition: Int64] = [:]
            for partition in resume where active.contains(partition) {
                resumeAt[partition] = processingPosition(of: partition) ?? KafkaOffset.beginning
            }
            if !resumeAt.isEmpty { try consumer.seek(resumeAt) }
            logger.debug("resumed \(resume.sorted()) at \(resumeAt.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" })")
        }
        paused.formIntersection(assigned)
    }

    /// librdkafka pauses the partitions it keeps while a rebalance runs, and resumes each from
    /// the last record it handed out — or, when none was handed out since a seek (an abort's
    /// rewind, a restore's start), from where its prefetch had got to, skipping what the pause
    /// purged. After a rebalance every active partition is therefore sought to where processing
    /// stands (a refetch; rebalances are rare).
    private func repositionActivePartitions() throws {
        repositionAfterRebalance = false
        var positions: [TopicPartition: Int64] = [:]
        for partition in active {
            positions[partition] = processingPosition(of: partition) ?? KafkaOffset.beginning
        }
        if !positions.isEmpty { try consumer.seek(positions) }
    }

    /// Source partitions with nothing waiting by their position: the consumer's (past any
    /// transaction marker it fetched), or where processing stands when the consumer has none
    /// (right after a seek), has reached the high watermark its fetches saw. A partition the
    /// group never committed is read from its start, so its position is the log's start until a
    /// record is read: an empty partition is caught up, not waiting forever (which would hold
    /// every other partition of the instance). No request is sent.
    private func caughtUp(_ sources: Set<TopicPartition>) throws -> Set<Int32> {
        let positions = try consumer.position(Array(sources))
        return Set(sources.filter { partition in
            guard let (low, high) = consumer.cachedWatermarks(partition) else { return false }
            let consumed = positions[partition] ?? KafkaOffset.invalid
            let position = consumed >= 0 ? consumed : processingPosition(of: partition) ?? max(low, 0)
            return position >= high
        }.map(\.partition))
    }

    // MARK: Transactions

    /// Whether commits run in the background while the next batches are processed.
    private var overlapsCommit: Bool { options.overlapsCommit && !delivery.enabled }

    /// Writes the open transaction's state changes (and due snapshots), adds the offsets, commits.
    /// A commit under way in the background ends first. `inBackground`: the commit is started
    /// on the ``CommitWorker`` and the loop goes on processing the next batches, their state
    /// changes after the sealed batch's and their outputs held back (``awaitInFlight(wait:)``
    /// collects the outcome; if the commit fails, the state both changed is restored);
    /// otherwise it is waited for.
    private func commit(inBackground: Bool = false) throws {
        if driver.commitUnderWay { try awaitInFlight(wait: true) }
        guard transaction != nil else { return }
        // Not a record of state from a zombie: it would land behind the new owner's.
        try confirmMembership()
        let commitStart = clock.now
        // Snapshots due go into this transaction, decided now (a commit that ran behind it may
        // have written some), with those of partitions that changed and then went idle: under
        // steady traffic there is never a moment without a transaction or a commit under way
        // for ``snapshotIdlePartitions()`` to take.
        snapshotDue.formUnion(idlePartitionsDue())
        // Not of a partition still restoring (an abort's restore keeps its dues): its state is
        // not there yet.
        for due in snapshotDue where transaction!.touchedSegments[due] == nil && active.contains(input(of: due)) {
            transaction!.touchedSegments[due] = position(of: due)
        }
        expireIdleKeys()
        try writeChangelogs()
        let changelogWritten = clock.now
        counts.phases.changelog += changelogWritten - commitStart
        // Every partition whose state the transaction writes has its offset in it, unchanged
        // where nothing of it was consumed (a snapshot of an idle partition): the commit then
        // passes the membership check below and, on Kafka, the coordinator's generation check
        // (KIP-447), as the records of a zombie's snapshot must not (measured on the test
        // broker: a zombie's offset-less snapshot committed after its partition moved on,
        // and every later restore started from it).
        var offsets = transaction!.nextOffsets
        for segmentPartition in transaction!.touchedSegments.keys {
            let input = self.input(of: segmentPartition)
            if offsets[input] == nil, let committed = committedOffsets[input] { offsets[input] = committed }
        }
        if inBackground {
            // The batches that run while it commits open batches of their own (their touched keys).
            for partition in transaction!.touchedPipelines { pipelines[partition]?.sealBatch() }
            delivery.commitStarted()
            let flight = CommitInFlight(transaction: transaction!, offsets: offsets, started: commitStart, sealed: true)
            try driver.startCommit(offsets: offsets, confirm: membershipCheck, groupMetadata: consumer.groupMetadata)
            inFlight = flight
            transaction = nil
            return
        }
        try driver.commit(offsets: offsets, confirm: confirmMembership, groupMetadata: consumer.groupMetadata)
        counts.phases.committing += clock.now - changelogWritten
        let committed = transaction!
        transaction = nil
        finishCommit(CommitInFlight(transaction: committed, offsets: offsets, started: commitStart, sealed: false))
    }

    /// Collects the outcome of the commit running in the background: nil while it runs
    /// (`wait` false). Once committed, its bookkeeping is done and the transaction processed
    /// meanwhile begins and takes its held records (unless `beginNext` is false: it is about to
    /// be aborted). A failed commit throws and stays in ``inFlight`` for the abort, which
    /// takes the transaction behind it too.
    private func awaitInFlight(wait: Bool, beginNext: Bool = true) throws {
        guard let flight = inFlight, driver.commitUnderWay else { return }
        let waitStart = clock.now
        guard try driver.awaitCommit(wait: wait, offsets: flight.offsets, confirm: confirmMembership, groupMetadata: consumer.groupMetadata) != nil else { return }
        if wait { counts.phases.committing += clock.now - waitStart }
        inFlight = nil
        finishCommit(flight)
        guard beginNext, driver.pendingBegin else { return }
        try confirmMembership()
        try driver.beginHeld()
    }

    /// What follows a successful commit: offsets, batches, snapshots and slots move on,
    /// metrics and statistics are updated.
    private func finishCommit(_ flight: CommitInFlight) {
        let committed = flight.transaction
        let offsets = flight.offsets
        // What a transaction committed, for reconstructing who wrote which state after a fault.
        logger.debug("committed \(offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }); state of \(committed.touchedSegments.map { "\($0.key)@\($0.value)" }.sorted()); snapshots \(committed.snapshotted.map(\.description).sorted())")
        for (partition, offset) in committed.nextOffsets { committedOffsets[partition] = offset }
        var evicted = 0
        for partition in committed.touchedPipelines {
            guard let pipeline = pipelines[partition] else { continue }
            if flight.sealed {
                // The batch open now, if any, is the next transaction's.
                evicted += pipeline.commitSealedBatch()
            } else {
                evicted += pipeline.keysEvictedInBatch
                pipeline.commitBatch()
            }
        }
        if evicted > 0 { metrics.keysEvicted.increment(by: evicted) }
        for (segmentPartition, slot) in committed.nextEventSlots { nextEventSlot[segmentPartition] = slot }
        for segmentPartition in committed.snapshotted {
            nextEventSlot[segmentPartition] = 0
            lastSnapshot[segmentPartition] = clock.now
            changedSinceSnapshot.remove(segmentPartition)
        }
        snapshotDue.subtract(committed.snapshotted)
        delivery.committed()
        backPressure.committed()
        metrics.commitDuration.observe(clock.now - flight.started)
        metrics.transactionsCommitted.increment()
        metrics.recordCommitted(eventTimesMillis: committed.eventTimes, ingestTimesMillis: committed.ingestTimes,
                                committedAtMillis: Int64(Date().timeIntervalSince1970 * 1000))
        metrics.updateConsumerLag(consumer, positions: offsets)
        updateStateMetrics()
        counts.transactionsCommitted += 1
        purgeRepartitionTopics()
        publishStatistics()
        onCommit?(statistics)
    }

    /// Throws (abort required) when this instance may no longer write for its partitions: the
    /// group took them away, or — after the process stood still long enough for its session
    /// to expire — first waits until librdkafka can have heard so (see ``FreezeWatch``).
    ///
    /// KIP-447 has Kafka refuse the offsets of a member the group dropped, and Kafka hides the
    /// records of the transaction it then aborts. A broker that does neither (Tansu 0.6,
    /// measured: a departed member's offsets commit, aborted records are shown) would take a
    /// zombie's records as committed state — behind the records of the partitions' new owner,
    /// where a restore applies them last. What the client knows, it acts on.
    private func confirmMembership() throws(KafkaError) {
        try Self.confirmMembership(freezeDetector: freezeDetector, consumer: consumer, logger: logger)
    }

    /// The same check, callable from the commit worker's thread (between the offsets and the
    /// commit, as the commit in the foreground makes it): the freeze detector and librdkafka's
    /// assignment state are safe to read from any thread.
    private var membershipCheck: @Sendable () throws(KafkaError) -> Void {
        { [freezeDetector, consumer, logger] () throws(KafkaError) in
            try Self.confirmMembership(freezeDetector: freezeDetector!, consumer: consumer!, logger: logger)
        }
    }

    private static func confirmMembership(freezeDetector: FreezeDetector, consumer: Consumer, logger: Logger) throws(KafkaError) {
        let waited = freezeDetector.waitOutRecentFreeze()
        if waited > .zero {
            logger.warning("the process stood still for long enough that its group session may have expired: waited \(waited) for the group's answer before writing")
        }
        guard !consumer.assignmentLost else {
            throw KafkaError(code: .state, message: "the group took this instance's partitions away (its session expired): aborting instead of writing for them",
                             severity: .abortRequired)
        }
    }

    /// Drops keys idle past the state TTL (by stream time) in the stages the open transaction
    /// touched, at most once a second; their tombstones go to the changelog with it.
    private func expireIdleKeys() {
        guard lastExpiry.map({ clock.now - $0 >= .seconds(1) }) ?? true else { return }
        lastExpiry = clock.now
        for (segmentPartition, _) in transaction!.touchedSegments {
            guard let pipeline = pipelines[segmentPartition.partition], transaction!.touchedPipelines.contains(segmentPartition.partition) else { continue }
            let expired = pipeline.expireIdleKeys(stages: plan.segments[segmentPartition.segment].stages)
            if expired > 0 { metrics.keysExpired.increment(by: expired) }
        }
    }

    private func writeChangelogs() throws {
        for (segmentPartition, stateOffset) in transaction!.touchedSegments {
            guard let pipeline = pipelines[segmentPartition.partition] else { continue }
            let stages = plan.segments[segmentPartition.segment].stages
            // On a broker that shows aborted records, state handed over inside the instance
            // says which source offsets it reflects (restore applies it once those are committed).
            let sourceOffsets = options.brokerShowsAbortedRecords && segmentPartition.segment == 1 ? localSourceOffsets(segmentPartition.partition) : [:]
            let headers = ChangelogWriter.headers(stateOffset: stateOffset, sourceOffsets: sourceOffsets)
            let applied = segmentPartition.segment == 1 ? delivery.appliedOffsets(of: segmentPartition.partition) : nil
            // The first snapshot comes one interval after the partition's first commit: a
            // snapshot of a state that was just restored, or is still small, saves nothing.
            let due: Bool
            if snapshotDue.contains(segmentPartition) {
                due = true
            } else if let last = lastSnapshot[segmentPartition] {
                due = clock.now - last >= options.snapshotInterval
            } else {
                lastSnapshot[segmentPartition] = clock.now
                due = false
            }
            let written: (records: Int, bytes: Int)
            switch topology.processing.changelog {
            case .keyStates:
                written = try changelog.writeTouched(segmentPartition, pipeline: pipeline, applied: applied, headers: headers, driver: driver)
            case .events where due && !stages.isEmpty:
                // The snapshot below holds the state after this transaction's events.
                written = (0, 0)
            case .events:
                let input = self.input(of: segmentPartition)
                let slot = nextEventSlot[segmentPartition] ?? 0
                // Where the transaction's input starts, counted as a snapshot's state offset is
                // (``position(of:)``: 0 before the group committed any).
                written = try changelog.writeEvents(segmentPartition, pipeline: pipeline, from: committedOffsets[input] ?? 0, slot: slot,
                                                    applied: applied, headers: headers, driver: driver)
                transaction!.nextEventSlots[segmentPartition] = slot + 1
            }
            counts.changelogRecords += written.records
            counts.changelogBytes += written.bytes
            if written.records > 0 { changedSinceSnapshot.insert(segmentPartition) }
            if due, !stages.isEmpty {
                try changelog.writeSnapshot(segmentPartition, pipeline: pipeline, stateOffset: stateOffset, sourceOffsets: sourceOffsets,
                                            applied: applied, headers: headers, driver: driver)
                transaction!.snapshotted.insert(segmentPartition)
                counts.snapshotsWritten += 1
            }
        }
    }

    /// A partition that changed since its last snapshot and then went idle is snapshotted once
    /// its interval has passed, in a transaction of its own, so that its restore never replays
    /// more than an interval of changelog.
    private func snapshotIdlePartitions() throws {
        // Not while the group has taken the partitions away: the poll that follows hands them over.
        guard transaction == nil, inFlight == nil, !changedSinceSnapshot.isEmpty, !consumer.assignmentLost else { return }
        let due = idlePartitionsDue()
        guard !due.isEmpty else { return }
        transaction = OpenTransaction()
        try beginIfIdle()
        for segmentPartition in due {
            snapshotDue.insert(segmentPartition)
            transaction!.touchedSegments[segmentPartition] = position(of: segmentPartition)
        }
        try commit()
    }

    /// Owned segment partitions that changed since their last snapshot and whose snapshot
    /// interval has passed.
    private func idlePartitionsDue() -> Set<SegmentPartition> {
        guard !changedSinceSnapshot.isEmpty else { return [] }
        return changedSinceSnapshot.filter { segmentPartition in
            let input = self.input(of: segmentPartition)
            return active.contains(input) && lastSnapshot[segmentPartition].map { clock.now - $0 >= options.snapshotInterval } ?? true
        }
    }

    /// The open transaction's source offsets behind a repartition partition's handed-over events.
    private func localSourceOffsets(_ target: Int32) -> [Int32: Int64] {
        guard let sources = transaction?.delivery.localSources[target] else { return [:] }
        let topic = plan.segments[0].inputTopic
        return Dictionary(uniqueKeysWithValues: sources.map { ($0, transaction?.nextOffsets[TopicPartition(topic, $0)] ?? 0) })
    }

    /// Aborts the open transaction (if one was begun), restores the state of the partitions it
    /// changed from their changelogs, and rewinds every partition it consumed to the committed
    /// offset. An abort that fails is thrown (``TransactionDriver/AbortFailed``: the caller
    /// replaces the producer).
    private func abortAndRewind() throws {
        // A commit under way ends first: if it committed, only the transaction behind it is
        // aborted; if it failed, both are, as one (the state both changed is restored).
        if driver.commitUnderWay {
            do {
                try awaitInFlight(wait: true, beginNext: false)
            } catch {
                if driver.cycle.state == .stopped { throw error }
                logger.warning("the commit under way failed: \(error)")
            }
        }
        try driver.abort()
        let failedCommit = inFlight?.transaction
        inFlight = nil
        let behind = transaction
        transaction = nil
        let aborted = [failedCommit, behind].compactMap { $0 }
        guard !aborted.isEmpty else { return }
        // The later one first: each puts the drift statistics back to where it began.
        // Behind a failed commit, the transaction never began at the broker: not counted as aborted.
        if let behind { discard(behind, counted: failedCommit == nil) }
        if let failedCommit {
            discard(failedCommit)
            if behind != nil { counts.rolledBackBehindCommit += 1 }
        }
        // Restored, not undone (see ``PipelineStore``): the segment partitions whose state they
        // changed are cleared and restored from their changelogs, as Kafka Streams does under
        // exactly-once.
        for partition in Set(aborted.flatMap(\.touchedPipelines)) { pipelines[partition]?.discardBatches() }
        let changed = Set(aborted.flatMap { transaction in
            transaction.touchedSegments.keys.filter { transaction.touchedPipelines.contains($0.partition) }
                .map(input(of:))
        }).filter { active.contains($0) }.sorted()
        if !changed.isEmpty {
            logger.info("restoring \(changed.count) partitions whose state the aborted transaction changed: \(changed)")
            counts.restoredAfterAbort += changed.count
            try restoreAfresh(changed)
        }
        // Their aborted records carry source offsets that the retry will commit past: a
        // snapshot once restored, whether or not the restore reads them before that commit.
        if options.brokerShowsAbortedRecords {
            for transaction in aborted {
                snapshotDue.formUnion(transaction.delivery.localSources.keys.map { SegmentPartition(segment: 1, partition: $0) })
            }
        }
        // The others it consumed (restored ones are no longer active: they are read again once
        // restored).
        var rewind: [TopicPartition: Int64] = [:]
        for transaction in aborted {
            for partition in transaction.consumed.union(transaction.nextOffsets.keys) where active.contains(partition) {
                rewind[partition] = committedOffsets[partition] ?? KafkaOffset.beginning
            }
        }
        if !rewind.isEmpty { try consumer.seek(rewind) }
    }

    /// A transaction the broker dropped (aborted, or ended by a replacement producer): the drift
    /// statistics it changed are put back, its local deliveries forgotten, and the abort counted
    /// (unless `counted` is false: it never began at the broker, having run behind a commit
    /// that failed).
    private func discard(_ aborted: OpenTransaction, counted: Bool = true) {
        if let saved = aborted.driftCheckpoint { processor.restoreDrift(saved) }
        delivery.aborted()
        counts.eventsRolledBack += aborted.events
        guard counted else { return }
        counts.transactionsAborted += 1
        metrics.transactionsAborted.increment()
    }

    /// After a replacement producer ended the failed transaction: committed if the group's
    /// offsets reached its own (read stable, so the transaction's end is known), then its events
    /// stay done — the restore starts behind them, and the drift statistics keep them; otherwise
    /// aborted. On a failure to read the offsets it is taken as aborted (as before 2026-12-05):
    /// the scores are right either way, only the drift statistics would miss its events.
    private func settle(_ failed: OpenTransaction, committedBefore: [TopicPartition: Int64]) {
        // Only a partition the transaction moved on can tell (an offset it carries unchanged cannot).
        let moved = failed.nextOffsets.filter { $0.value > (committedBefore[$0.key] ?? KafkaOffset.invalid) }
        guard !moved.isEmpty else { return discard(failed) }
        let committed: [TopicPartition: Int64]
        do {
            committed = try consumer.committed(moved.keys.sorted())
        } catch {
            logger.warning("could not read the committed offsets to tell whether the failed transaction committed; taking it as aborted: \(error)")
            return discard(failed)
        }
        guard moved.allSatisfy({ committed[$0.key] == $0.value }) else { return discard(failed) }
        logger.warning("the transaction whose abort failed had committed (its commit's answer was lost): its \(failed.events) events stay done")
        delivery.committed()
        counts.transactionsCommitted += 1
        metrics.transactionsCommitted.increment()
    }

    /// Purges the repartition topics up to the committed offsets, every purge interval, where
    /// the broker supports DeleteRecords (after the first refusal it is not asked again).
    private func purgeRepartitionTopics() {
        guard purgesRepartitionTopics, plan.segments.count > 1,
              lastPurge.map({ clock.now - $0 >= options.repartitionPurgeInterval }) ?? true else { return }
        lastPurge = clock.now
        let repartitionTopics = Set(plan.segments.dropFirst().map(\.inputTopic))
        let offsets = committedOffsets.filter { repartitionTopics.contains($0.key.topic) && active.contains($0.key) && $0.value > 0 }
        guard !offsets.isEmpty else { return }
        do {
            try admin.deleteRecords(before: offsets, timeout: .seconds(5))
        } catch {
            purgesRepartitionTopics = false
            logger.notice("not purging repartition topics: the broker refused DeleteRecords (\(error)); they keep every record")
        }
    }

    // MARK: Rebalancing

    private func rebalance(_ event: RebalanceEvent) {
        counts.rebalances += 1
        repositionAfterRebalance = true
        switch event {
        case .assigned: metrics.rebalances.labels("assigned").increment()
        case .revoked(let partitions):
            metrics.rebalances.labels("revoked").increment()
            metrics.removeConsumerLag(partitions)
        case .lost(let partitions):
            metrics.rebalances.labels("lost").increment()
            metrics.removeConsumerLag(partitions)
        }
        do {
            switch event {
            case .revoked(let partitions):
                // Commit what was done for these partitions while they are still ours — only a
                // clean transaction; a failed one is aborted.
                defer { drop(partitions) }
                switch driver.cycle.nextForHandOver() {
                case .commit:
                    do { try commit() } catch { try recover(from: error, replacing: false) }
                case .abortAndRewind:
                    try abortAndRewind()
                default:
                    break
                }
            case .lost(let partitions):
                defer { drop(partitions) }
                if transaction != nil || inFlight != nil { try abortAndRewind() }
            case .assigned(let partitions):
                // No I/O here: the partitions wait, paused, for the loop to restore them.
                try consumer.pause(partitions)
                paused.formUnion(partitions)
                assigned.formUnion(partitions)
                restorer.enqueue(partitions)
            }
        } catch {
            logger.error("rebalance handling failed: \(error)")
            // A failed abort is recovered from (the loop replaces the producer); anything else stops.
            if !(error is TransactionDriver.AbortFailed) { driver.stop() }
            pendingFailure = error
        }
        publishStatistics()
    }

    /// Forgets `partitions` (revoked, lost, or about to be restored afresh): their restore,
    /// offsets, state and bookkeeping. A pipeline none of whose segment partitions is owned any
    /// more goes too. `restoringAfresh` (``restoreAfresh(_:)``): the pipelines stay, and so do
    /// the snapshot times and dues, which describe the changelog, not the state in memory.
    private func drop(_ partitions: [TopicPartition], restoringAfresh: Bool = false) {
        restorer.cancel(Set(partitions))
        for partition in partitions {
            assigned.remove(partition)
            active.remove(partition)
            paused.remove(partition)
            committedOffsets.removeValue(forKey: partition)
            guard let segment = plan.segment(consuming: partition.topic) else { continue }
            if segment == 0 {
                aligner.forget(partition.partition)
                delivery.sourceRevoked(partition.partition)
            } else if segment == 1 {
                delivery.repartitionRevoked(partition.partition)
            }
            pipelines.clear(partition: partition.partition, stages: plan.segments[segment].stages)
            let segmentPartition = SegmentPartition(segment: segment, partition: partition.partition)
            nextEventSlot.removeValue(forKey: segmentPartition)
            guard !restoringAfresh else { continue }
            lastSnapshot.removeValue(forKey: segmentPartition)
            changedSinceSnapshot.remove(segmentPartition)
            snapshotDue.remove(segmentPartition)
            if !assigned.contains(where: { $0.partition == partition.partition }) { pipelines.remove(partition: partition.partition) }
        }
    }

    // MARK: Metrics

    private func publishStatistics() {
        var snapshot = counts
        snapshot.activePartitions = active.count
        metrics.activePartitions.set(active.count)
        if let collector {
            snapshot.scored = collector.scored
            snapshot.alerts = collector.alerts
            snapshot.deadLettered = collector.deadLettered
            snapshot.forwarded = collector.forwarded
            snapshot.lateScored = collector.lateScored
        }
        if let processor {
            snapshot.deliveredLocally = processor.deliveredLocally
            snapshot.duplicatesSkipped = processor.duplicatesSkipped
            snapshot.stages = processor.stageTimes
        }
        published.withLock { $0 = snapshot }
    }

    /// Walks every key (O(keys)), so at most once a second.
    private func updateStateMetrics(force: Bool = false) {
        guard force || lastStateMetrics.map({ clock.now - $0 >= .seconds(1) }) ?? true else { return }
        lastStateMetrics = clock.now
        for (stage, spec) in topology.stages.enumerated() {
            var keys = 0
            var bytes = 0
            var budgeted = 0
            for pipeline in pipelines.pipelines.values {
                let footprint = pipeline.engines[stage].footprint
                keys += footprint.keyCount
                bytes += footprint.bytes
                budgeted += pipeline.engines[stage].stateBytes
            }
            metrics.stateKeys.labels(spec.name).set(keys)
            metrics.stateBytes.labels(spec.name).set(bytes)
            metrics.stateBudgetedBytes.labels(spec.name).set(budgeted)
        }
    }
}
