public import VigilKafka

/// When the runtime opens, commits and aborts transactions, as data: the loop reports what
/// happened and does what the returned action says. Kept free of I/O so that every transition
/// is tested without a broker.
public struct TransactionCycle: Sendable {
    public enum State: Sendable, Equatable {
        /// No transaction is open.
        case idle
        /// A transaction is open since `openedAt` and holds `events` input events.
        case open(openedAt: ContinuousClock.Instant, events: Int)
        /// The producer was fenced or failed fatally: the instance must stop.
        case stopped
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do.
        case none
        /// Open a transaction before producing.
        case begin
        /// Send the consumed offsets and commit.
        case commit
        /// Call commit again (the last attempt failed with a retriable error).
        case retryCommit
        /// Abort, roll back the in-memory state of the transaction, rewind the consumer to the
        /// last committed offsets, and go on.
        case abortAndRewind
        /// Stop the instance with this error (fenced, or fatal).
        case stop(KafkaError)
    }

    /// The longest a transaction stays open before it is committed.
    public let commitInterval: Duration
    /// Whether a transaction also commits as soon as the input is drained (the last poll took
    /// every record fetched), before its interval: under a backlog polls are full and
    /// transactions run to the interval or `maxEvents`; at a lower rate each event waits for
    /// one commit, not for the interval.
    public let commitsWhenDrained: Bool
    /// The most input events a transaction holds before it is committed.
    public let maxEvents: Int
    public private(set) var state: State = .idle
    /// How many retriable commit failures in a row are retried before aborting.
    public let maxCommitRetries: Int
    private var commitRetries = 0

    public init(commitInterval: Duration, maxEvents: Int, commitsWhenDrained: Bool = false, maxCommitRetries: Int = 3) {
        precondition(commitInterval > .zero, "the commit interval must be positive")
        precondition(maxEvents > 0, "a transaction must hold at least one event")
        self.commitInterval = commitInterval
        self.commitsWhenDrained = commitsWhenDrained
        self.maxEvents = maxEvents
        self.maxCommitRetries = maxCommitRetries
    }

    /// A batch of `events` is about to be processed.
    public mutating func nextForBatch(events: Int, now: ContinuousClock.Instant) -> Action {
        switch state {
        case .idle:
            state = .open(openedAt: now, events: events)
            return .begin
        case .open(let openedAt, let held):
            state = .open(openedAt: openedAt, events: held + events)
            return .none
        case .stopped:
            return .none
        }
    }

    /// Called after each batch and on idle polls: is it time to commit? `inputDrained` says
    /// that the last poll took every record the consumer had fetched.
    public mutating func nextOnTick(now: ContinuousClock.Instant, inputDrained: Bool = false) -> Action {
        guard case .open(let openedAt, let events) = state else { return .none }
        if now - openedAt >= commitInterval || events >= maxEvents { return .commit }
        return commitsWhenDrained && inputDrained ? .commit : .none
    }

    /// Partitions are being revoked or the instance is shutting down: commit what is open.
    public mutating func nextForHandOver() -> Action {
        if case .open = state { return .commit }
        return .none
    }

    /// The commit succeeded.
    public mutating func committed() {
        if case .open = state { state = .idle }
        commitRetries = 0
    }

    /// The transaction was aborted and the input rewound.
    public mutating func aborted() {
        if case .open = state { state = .idle }
        commitRetries = 0
    }

    /// A transactional call failed: what to do about it.
    public mutating func nextOnError(_ error: KafkaError) -> Action {
        switch error.severity {
        case .fatal:
            state = .stopped
            return .stop(error)
        case .retriable where commitRetries < maxCommitRetries:
            commitRetries += 1
            return .retryCommit
        case .retriable, .abortRequired, .plain:
            commitRetries = 0
            return .abortAndRewind
        }
    }
}
