import Dispatch
import Synchronization
import VigilKafka

/// Runs a transaction's commit (the offsets, then the commit call) on a thread of its own, so
/// that the runtime's thread processes the next batches meanwhile. On the test broker the
/// commit took 30 % of the runtime thread's time at 68,343 events/s (4.3 ms a transaction of
/// about 1,000 events; bench/README.md, "Changelog records as events").
///
/// librdkafka's transactional calls may come from any thread; what must not happen is a send
/// into the transaction while its commit runs (librdkafka refuses it), which the
/// ``TransactionDriver`` guarantees by holding records back until the commit has ended.
final class CommitWorker: Sendable {
    /// How a commit ended: committed, or which call failed with which error.
    enum Outcome: Sendable, Equatable {
        case committed
        case failed(KafkaError, during: TransactionCycle.Call)
    }

    /// The producer and group metadata handed to the worker's thread.
    /// `@unchecked`: the producer is used there only from ``start(_:)`` until the outcome is
    /// collected, while the runtime's thread makes no call on it (the driver holds sends back
    /// and waits for the outcome before any other transactional call).
    struct Work: @unchecked Sendable {
        let producer: any TransactionalProducing
        let offsets: [TopicPartition: Int64]
        let groupMetadata: ConsumerGroupMetadata?
        /// Throws when the instance may no longer commit for its partitions (asked between the
        /// offsets and the commit).
        let confirm: @Sendable () throws(KafkaError) -> Void
        let timeout: Duration
    }

    private let queue = DispatchQueue(label: "vigil.commit")
    private let outcome = Mutex<Outcome?>(nil)
    private let ended = DispatchSemaphore(value: 0)
    /// Whether a commit was started and its outcome not yet collected (only the runtime's thread reads and writes it).
    private let running = Atomic<Bool>(false)

    /// Whether a commit is under way (started, its outcome not yet collected).
    var isRunning: Bool { running.load(ordering: .relaxed) }

    /// Starts the commit of the producer's open transaction: its offsets (when there are any),
    /// then the commit.
    func start(_ work: Work) {
        precondition(!isRunning, "a commit is under way already")
        running.store(true, ordering: .relaxed)
        queue.async { [self] in
            var result = Outcome.committed
            if let metadata = work.groupMetadata, !work.offsets.isEmpty {
                do throws(KafkaError) {
                    try work.producer.sendOffsetsToTransaction(work.offsets, groupMetadata: metadata, timeout: work.timeout)
                } catch {
                    result = .failed(error, during: .sendOffsets)
                }
            }
            if result == .committed {
                do throws(KafkaError) {
                    try work.confirm()
                    try work.producer.commitTransaction(timeout: work.timeout)
                } catch {
                    result = .failed(error, during: .commit)
                }
            }
            outcome.withLock { $0 = result }
            ended.signal()
        }
    }

    /// The outcome if the commit has ended (collected once), nil while it runs.
    func poll() -> Outcome? {
        guard isRunning, outcome.withLock({ $0 }) != nil else { return nil }
        return collect()
    }

    /// Waits for the commit to end and collects its outcome; nil when none is under way.
    func wait() -> Outcome? {
        guard isRunning else { return nil }
        return collect()
    }

    private func collect() -> Outcome {
        ended.wait()
        running.store(false, ordering: .relaxed)
        return outcome.withLock { value in
            defer { value = nil }
            return value!
        }
    }
}
