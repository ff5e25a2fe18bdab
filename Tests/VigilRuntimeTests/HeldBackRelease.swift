import VigilKafka
import VigilRuntime

/// Releases what the test broker holds back once a verifier run has stalled and every instance
/// has stopped (``ExactlyOnceVerifierTests/stall(_:plan:started:)``): initialises instances'
/// transactional ids again (the broker aborts what one left open, as Kafka's transaction
/// timeout would) and commits into each partition where records of the instances are held
/// back, one partition a transaction, round after round until a round releases nothing.
///
/// One partition a transaction because the broker completes a transaction as a whole: a
/// commit into a partition it can complete completes every ended transaction it overlaps
/// there, with their records in every other partition, while a commit into a partition behind
/// a completed transaction the broker still lists (README, "Test broker") is held back itself.
/// Rounds, because a commit completes only the first ended transaction of each transactional
/// id it overlaps.
struct HeldBackRelease {
    let partitions: [TopicPartition]
    let plan: TopicPlan
    /// The instance ids initialised again so far.
    private(set) var reinitialised: [String] = []
    /// What went wrong on the way (an initialisation or a commit that failed).
    private(set) var problems: [String] = []
    /// The partitions held back after the last round.
    private(set) var held: [TopicPartition: RuntimeFixture.HeldBack] = [:]

    init(partitions: [TopicPartition], plan: TopicPlan) {
        self.partitions = partitions
        self.plan = plan
    }

    /// The partitions where records of the instances are still held back (or that could not be read).
    var instanceRecordsHeld: [TopicPartition: RuntimeFixture.HeldBack] { held.filter { $0.value.instanceRecords > 0 } }

    /// The partitions where only the test's own commits are held back.
    var onlyOwnHeld: [TopicPartition: RuntimeFixture.HeldBack] { held.filter { $0.value.instanceRecords == 0 } }

    /// Initialises each of `instances`' transactional ids again.
    mutating func reinitialise(_ instances: [String]) {
        for instance in instances {
            reinitialised.append(instance)
            let configuration = ProducerConfiguration(kafka: RuntimeFixture.kafka, transactionalID: "vigil.\(plan.name).\(instance)")
            do {
                let producer = try TransactionalProducer(configuration: configuration, logger: RuntimeFixture.logger)
                defer { producer.close() }
                try producer.initTransactions(timeout: .seconds(10))
            } catch {
                problems.append("initialising \(instance)'s transactional id again failed: \(error)")
            }
        }
    }

    /// Commits into each partition holding records of the instances back, until none is left
    /// or a round releases none of their records (at most `maxRounds`).
    mutating func commitUntilSettled(maxRounds: Int = 10) {
        held = RuntimeFixture.heldBackPartitions(partitions)
        for _ in 0..<maxRounds where !instanceRecordsHeld.isEmpty {
            let before = heldInstanceRecords
            for partition in instanceRecordsHeld.keys.sorted() {
                do { try RuntimeFixture.nudge(partition) } catch { problems.append("a commit into \(partition) failed: \(error)") }
            }
            held = RuntimeFixture.heldBackPartitions(partitions)
            if heldInstanceRecords >= before { break }
        }
    }

    private var heldInstanceRecords: Int { instanceRecordsHeld.values.reduce(0) { $0 + $1.instanceRecords } }

    /// `partition: 3 of 120 records (2 an instance's)` for each partition, or "none".
    static func describe(_ partitions: [TopicPartition: RuntimeFixture.HeldBack]) -> String {
        guard !partitions.isEmpty else { return "none" }
        return partitions.sorted { $0.key < $1.key }.map { partition, held in
            held.unreadable
                ? "\(partition): could not be read"
                : "\(partition): \(held.total - held.visible) of \(held.total) records (\(held.instanceRecords) an instance's)"
        }.joined(separator: "; ")
    }
}
