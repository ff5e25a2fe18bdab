public import VigilKafka

/// When the runtime opens, commits and aborts transactions, and what it does when a
/// transactional call fails, as data: the driver reports what happened and does what the
/// returned action says. Kept free of I/O so that every transition is tested without a broker.
///
/// The rule it enforces: once any call of the open transaction has failed (a send, the offsets,
/// the commit, or an error in the processing between them), the transaction is `failed` and
/// the only way on is an abort — a revoke or a shutdown never commits it.
public struct TransactionCycle: Sendable {
    public enum State: Sendable, Equatable {
        /// No transaction is open.
        case idle
        /// A transaction is open since `openedAt` and holds `events` input events.
        case open(openedAt: ContinuousClock.Instant, events: Int)
        /// The open transaction's commit is under way (in the background), and the next
        /// transaction's events are processed meanwhile, their outputs held back until the
        /// commit ends and the next transaction begins: `events` of them since `since` (nil
        /// before the first).
        case committing(since: ContinuousClock.Instant?, events: Int)
        /// A call or the processing of the open transaction failed: it must be aborted (and the
        /// input rewound) before anything else.
        case failed
        /// The producer could not end the failed transaction (its abort failed): nothing goes on
        /// until a new producer has replaced it.
        case replacingProducer
        /// The producer was fenced or failed fatally: the instance must stop.
        case stopped
    }

    /// The transactional calls whose failures the cycle classifies.
    public enum Call: Sendable, Equatable {
        case begin, send, sendOffsets, commit, abort
        /// Not a Kafka call: the processing between calls (decoding, stages, scoring) threw.
        case processing
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do.
        case none
        /// Open a transaction before producing.
        case begin
        /// Send the consumed offsets and commit.
        case commit
        /// Make the failed call again (it failed with a retriable error).
        case retry
        /// Abort the open transaction (if one was begun), restore the state it changed from the
        /// changelogs, rewind the consumer to the last committed offsets, and go on.
        case abortAndRewind
        /// The abort failed for good (the broker keeps refusing to end the transaction, or the
        /// client failed fatally without being fenced): close the producer (purging what it
        /// holds) and put a new one of the same transactional id in its place, whose
        /// initialisation ends what the old one left open, and restore every assigned
        /// partition from the committed offsets, since what the broker made of the transaction
        /// is unknown. Kafka Streams does the same with its
        /// thread's producer after a fatal error.
        case replaceProducer(KafkaError)
        /// Stop the instance with this error (fenced, fatal outside an abort, a failed replacement).
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
    /// How many retriable failures of one call in a row are retried before aborting (or, for
    /// the abort itself, before replacing the producer).
    public let maxRetries: Int
    /// How many producers in a row may be replaced without a commit in between before the
    /// instance stops: a replacement that does not help is not tried for ever.
    public let maxReplacementsInARow: Int
    private var retries = 0
    private var replacementsInARow = 0
    /// Why the producer is being replaced (while `state` is `replacingProducer`).
    private var replacementCause: KafkaError?
    /// The next transaction's start and events, processed while the commit before it was under
    /// way, from that commit's success until it begins.
    private var carried: (since: ContinuousClock.Instant, events: Int)?

    public init(commitInterval: Duration, maxEvents: Int, commitsWhenDrained: Bool = false, maxRetries: Int = 3, maxReplacementsInARow: Int = 3) {
        precondition(commitInterval > .zero, "the commit interval must be positive")
        precondition(maxEvents > 0, "a transaction must hold at least one event")
        self.commitInterval = commitInterval
        self.commitsWhenDrained = commitsWhenDrained
        self.maxEvents = maxEvents
        self.maxRetries = maxRetries
        self.maxReplacementsInARow = maxReplacementsInARow
    }

    /// A batch of `events` is about to be processed.
    public func nextForBatch() -> Action {
        switch state {
        case .idle: return .begin
        // The next transaction begins once the commit under way has ended.
        case .open, .committing, .stopped: return .none
        case .failed: return .abortAndRewind
        // Nothing is processed with a producer that could not end its transaction.
        case .replacingProducer: return .replaceProducer(awaitedReplacement)
        }
    }

    /// The transaction was begun at `now`. One whose events were processed while the commit
    /// before it was under way counts from its first event, with them.
    public mutating func begun(now: ContinuousClock.Instant) {
        if case .idle = state { state = .open(openedAt: carried?.since ?? now, events: carried?.events ?? 0) }
        carried = nil
        retries = 0
    }

    /// `events` more input events are in the open transaction (or in the next one, while a
    /// commit is under way), at `now`.
    public mutating func took(events: Int, now: ContinuousClock.Instant) {
        switch state {
        case .open(let openedAt, let held): state = .open(openedAt: openedAt, events: held + events)
        case .committing(let since, let held): state = .committing(since: since ?? now, events: held + events)
        default: break
        }
    }

    /// The open transaction's commit was started and runs in the background.
    public mutating func commitStarted() {
        if case .open = state { state = .committing(since: nil, events: 0) }
        retries = 0
    }

    /// Called after each batch and on idle polls: is it time to commit? `inputDrained` says
    /// that the last poll took every record the consumer had fetched.
    public func nextOnTick(now: ContinuousClock.Instant, inputDrained: Bool = false) -> Action {
        switch state {
        case .open(let openedAt, let events):
            if now - openedAt >= commitInterval || events >= maxEvents { return .commit }
            return commitsWhenDrained && inputDrained ? .commit : .none
        // The next transaction is due before the commit under way has ended: wait for it.
        case .committing(let since?, let events):
            return now - since >= commitInterval || events >= maxEvents ? .commit : .none
        case .committing: return .none
        case .failed: return .abortAndRewind
        case .idle, .stopped, .replacingProducer: return .none
        }
    }

    /// Partitions are being revoked or the instance is shutting down: commit what is open, but
    /// only a clean transaction; a failed one is aborted.
    public func nextForHandOver() -> Action {
        switch state {
        case .open, .committing: return .commit
        case .failed: return .abortAndRewind
        case .idle, .stopped, .replacingProducer: return .none
        }
    }

    /// The commit succeeded. Returns true when events of the next transaction were processed
    /// meanwhile: it must begin now, and take the outputs held back for it.
    @discardableResult
    public mutating func committed() -> Bool {
        var pending = false
        switch state {
        case .open: state = .idle
        case .committing(let since, let events):
            state = .idle
            if let since {
                carried = (since, events)
                pending = true
            }
        default: break
        }
        retries = 0
        replacementsInARow = 0
        return pending
    }

    /// The transaction was aborted (or never begun) and the input rewound; with a commit under
    /// way, the next transaction's events too.
    public mutating func aborted() {
        if state != .stopped { state = .idle }
        carried = nil
        retries = 0
    }

    /// A new producer replaced the one whose abort failed, and was initialised.
    public mutating func producerReplaced() {
        guard state == .replacingProducer else { return }
        state = .idle
        replacementCause = nil
        retries = 0
        replacementsInARow += 1
    }

    /// The instance stops for a reason of its own (an error escaped the loop): nothing more is
    /// committed, not even on the way out.
    public mutating func stop() { state = .stopped }

    /// `call` failed with `error`: what to do about it.
    public mutating func nextOnError(_ error: any Error, during call: Call) -> Action {
        // Whatever failed, the old producer is done with: only its replacement goes on (a
        // record it was still given fails, and must not turn the state back into `failed`,
        // whose abort would be asked of it again). Fenced, nothing goes on.
        if state == .replacingProducer {
            if let error = error as? KafkaError, error.isFenced { return stop(error) }
            return .replaceProducer(awaitedReplacement)
        }
        guard let error = error as? KafkaError else {
            return call == .abort ? stop(KafkaError(code: .state, message: "abort failed: \(error)", severity: .fatal)) : fail()
        }
        if error.isFenced { return stop(error) }
        switch call {
        case .abort:
            // An abort that cannot be completed leaves the transactional id in a state this
            // producer cannot leave: measured on the test broker after a restart, where every
            // epoch bump librdkafka asked for was refused for minutes while a new producer of
            // the same id initialised at once.
            if error.severity == .retriable, retries < maxRetries {
                retries += 1
                return .retry
            }
            retries = 0
            let failed = KafkaError(code: error.code, message: "abort failed: \(error.message)", severity: .fatal)
            guard state != .stopped else { return stop(failed) }
            // A new producer with the same configuration and credentials meets these again.
            if error.recursWithAnyProducer { return stop(failed) }
            guard replacementsInARow < maxReplacementsInARow else {
                return stop(KafkaError(code: error.code, message: "abort failed after \(replacementsInARow) producer replacements in a row without a commit: \(error.message)",
                                       severity: .fatal))
            }
            state = .replacingProducer
            replacementCause = failed
            return .replaceProducer(failed)
        case _ where error.severity == .fatal:
            return stop(error)
        case .sendOffsets, .commit:
            if error.severity == .retriable, retries < maxRetries {
                retries += 1
                return .retry
            }
            return fail()
        case .begin, .send, .processing:
            return fail()
        }
    }

    /// The error a replacement under way answers every call with.
    private var awaitedReplacement: KafkaError {
        replacementCause ?? KafkaError(code: .state, message: "the producer is being replaced", severity: .fatal)
    }

    private mutating func fail() -> Action {
        retries = 0
        if state != .stopped { state = .failed }
        return .abortAndRewind
    }

    private mutating func stop(_ error: KafkaError) -> Action {
        state = .stopped
        return .stop(error)
    }
}
