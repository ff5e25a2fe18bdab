import Testing
import VigilKafka
import VigilRuntime

/// Every transition of the transaction state machine, without a broker.
struct TransactionCycleTests {
    let start = ContinuousClock.now
    let abortable = KafkaError(code: .state, message: "abortable", severity: .abortRequired)
    let timeout = KafkaError(code: .timedOut, message: "timed out", severity: .retriable)
    let fenced = KafkaError(code: .fenced, message: "fenced", severity: .fatal)

    /// A cycle with a transaction begun at `start` holding `events`.
    func open(_ events: Int = 1, interval: Duration = .milliseconds(100), maxEvents: Int = 1000, drained: Bool = false) -> TransactionCycle {
        var cycle = TransactionCycle(commitInterval: interval, maxEvents: maxEvents, commitsWhenDrained: drained)
        #expect(cycle.nextForBatch() == .begin)
        cycle.begun(now: start)
        cycle.took(events: events, now: ContinuousClock.now)
        return cycle
    }

    @Test func aBatchOpensATransactionAndLaterBatchesJoinIt() {
        var cycle = open(10)
        #expect(cycle.nextForBatch() == .none)
        cycle.took(events: 5, now: ContinuousClock.now)
        #expect(cycle.state == .open(openedAt: start, events: 15))
        #expect(cycle.nextForHandOver() == .commit)
        cycle.committed()
        #expect(cycle.state == .idle)
        #expect(cycle.nextForHandOver() == .none)
    }

    /// A commit in the background: the next transaction's events are counted while it runs
    /// (nothing begins), it is due on its own interval and bound counted from its first event,
    /// and once the commit succeeds it begins carrying them; a hand-over waits for the commit.
    @Test func theNextTransactionRunsWhileACommitIsUnderWay() {
        var cycle = open(10)
        cycle.commitStarted()
        #expect(cycle.state == .committing(since: nil, events: 0))
        #expect(cycle.nextForBatch() == .none, "no transaction begins while the commit runs")
        #expect(cycle.nextOnTick(now: start + .seconds(5)) == .none, "nothing of the next transaction yet")
        #expect(cycle.nextForHandOver() == .commit, "a hand-over waits for the commit")
        let first = start + .milliseconds(3)
        cycle.took(events: 4, now: first)
        cycle.took(events: 2, now: first + .milliseconds(1))
        #expect(cycle.state == .committing(since: first, events: 6))
        #expect(cycle.nextOnTick(now: first + .milliseconds(99)) == .none)
        #expect(cycle.nextOnTick(now: first + .milliseconds(100)) == .commit, "due: wait for the commit, then commit this one")
        let pending = cycle.committed()
        #expect(pending, "the next transaction must begin")
        #expect(cycle.state == .idle)
        cycle.begun(now: first + .milliseconds(5))
        #expect(cycle.state == .open(openedAt: first, events: 6), "it counts from its first event, with its events")

        // Nothing ran behind the commit: it ends idle, nothing to begin.
        var quiet = open(3)
        quiet.commitStarted()
        let quietPending = quiet.committed()
        #expect(!quietPending)
        #expect(quiet.state == .idle)
        quiet.begun(now: start + .seconds(1))
        #expect(quiet.state == .open(openedAt: start + .seconds(1), events: 0))

        // The event bound while the commit runs.
        var bounded = open(1, maxEvents: 10)
        bounded.commitStarted()
        bounded.took(events: 10, now: start)
        #expect(bounded.nextOnTick(now: start) == .commit)
    }

    /// A commit in the background that fails: retried when retriable, else the cycle is failed
    /// (abort both: the committing transaction and the one behind it), and an abort forgets the
    /// next transaction's events; fenced, it stops.
    @Test func aFailedBackgroundCommitAbortsWhatRanBehindIt() {
        var cycle = open(10)
        cycle.commitStarted()
        cycle.took(events: 5, now: start)
        #expect(cycle.nextOnError(timeout, during: .commit) == .retry)
        #expect(cycle.nextOnError(abortable, during: .commit) == .abortAndRewind)
        #expect(cycle.state == .failed)
        #expect(cycle.nextForBatch() == .abortAndRewind)
        cycle.aborted()
        #expect(cycle.state == .idle)

        // The batches behind the commit fail while it runs, and the commit then succeeds: the
        // failure stays (only what ran behind it is aborted).
        cycle = open(10)
        cycle.commitStarted()
        cycle.took(events: 5, now: start)
        #expect(cycle.nextOnError(abortable, during: .processing) == .abortAndRewind)
        let failedPending = cycle.committed()
        #expect(!failedPending)
        #expect(cycle.state == .failed)
        cycle.aborted()
        #expect(cycle.state == .idle)
        cycle.begun(now: start + .seconds(2))
        #expect(cycle.state == .open(openedAt: start + .seconds(2), events: 0), "nothing carried over an abort")

        var fencedCycle = open(1)
        fencedCycle.commitStarted()
        #expect(fencedCycle.nextOnError(fenced, during: .sendOffsets) == .stop(fenced))
    }

    @Test func commitsOnTheIntervalOrTheEventBound() {
        let idle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000)
        #expect(idle.nextOnTick(now: start) == .none, "nothing open, nothing to commit")
        var cycle = open(10)
        #expect(cycle.nextOnTick(now: start + .milliseconds(99)) == .none)
        #expect(cycle.nextOnTick(now: start + .milliseconds(100)) == .commit)
        cycle.committed()
        cycle = open(999)
        #expect(cycle.nextOnTick(now: start) == .none)
        cycle.took(events: 1, now: ContinuousClock.now)
        #expect(cycle.nextOnTick(now: start) == .commit)
    }

    @Test func commitsWhenTheInputIsDrainedOnlyWhenAskedTo() {
        var early = open(3, drained: true)
        #expect(early.nextOnTick(now: start + .milliseconds(1), inputDrained: false) == .none, "more input is waiting: keep the transaction open")
        #expect(early.nextOnTick(now: start + .milliseconds(1), inputDrained: true) == .commit)
        early.committed()
        #expect(early.nextOnTick(now: start + .milliseconds(2), inputDrained: true) == .none, "an idle poll commits nothing when nothing is open")

        let onInterval = open(3, drained: false)
        #expect(onInterval.nextOnTick(now: start + .milliseconds(1), inputDrained: true) == .none)
        #expect(onInterval.nextOnTick(now: start + .milliseconds(100), inputDrained: true) == .commit)
    }

    @Test func retriesRetriableCommitFailuresThenAborts() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxRetries: 2)
        cycle.begun(now: start)
        #expect(cycle.nextOnError(timeout, during: .commit) == .retry)
        #expect(cycle.nextOnError(timeout, during: .commit) == .retry)
        #expect(cycle.nextOnError(timeout, during: .commit) == .abortAndRewind)
        #expect(cycle.state == .failed)
        cycle.aborted()
        #expect(cycle.state == .idle)
        // The retry budget starts again with the next transaction.
        cycle.begun(now: start)
        #expect(cycle.nextOnError(timeout, during: .sendOffsets) == .retry)
    }

    /// Finding 1 and 5 of the exactly-once review: once anything in the open transaction has
    /// failed — a send, the offsets, the processing — neither a tick, nor a revoke, nor a
    /// shutdown may commit it; only an abort gets the cycle going again.
    @Test(arguments: [TransactionCycle.Call.send, .sendOffsets, .commit, .begin, .processing])
    func aFailedTransactionIsOnlyEverAborted(call: TransactionCycle.Call) {
        var cycle = open(5)
        #expect(cycle.nextOnError(abortable, during: call) == .abortAndRewind)
        #expect(cycle.state == .failed)
        #expect(cycle.nextForHandOver() == .abortAndRewind, "a revoke or a shutdown must not commit a half-done transaction")
        #expect(cycle.nextOnTick(now: start + .seconds(10), inputDrained: true) == .abortAndRewind)
        #expect(cycle.nextForBatch() == .abortAndRewind, "no batch joins a failed transaction")
        cycle.aborted()
        #expect(cycle.nextForBatch() == .begin)
    }

    @Test func anErrorThatIsNotKafkasFailsTheTransactionToo() {
        struct DecoderBroke: Error {}
        var cycle = open()
        #expect(cycle.nextOnError(DecoderBroke(), during: .processing) == .abortAndRewind)
        #expect(cycle.nextForHandOver() == .abortAndRewind)
    }

    /// An abort is retried while its failure is retriable; one that fails for good (the broker
    /// keeps refusing, or the client failed fatally without being fenced) asks for a new
    /// producer, and nothing else happens until one is in place. A fenced abort stops.
    @Test func anAbortThatFailsForGoodAsksForANewProducer() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxRetries: 1)
        cycle.begun(now: start)
        _ = cycle.nextOnError(abortable, during: .send)
        #expect(cycle.nextOnError(timeout, during: .abort) == .retry)
        guard case .replaceProducer(let error) = cycle.nextOnError(timeout, during: .abort) else {
            Issue.record("an abort that keeps failing must ask for a new producer")
            return
        }
        #expect(error.message.hasPrefix("abort failed"))
        #expect(cycle.state == .replacingProducer)
        #expect(cycle.nextForBatch() == .replaceProducer(error), "no transaction opens before the producer is replaced")
        #expect(cycle.nextForHandOver() == .none, "nothing is committed on the way out")
        #expect(cycle.nextOnTick(now: start + .seconds(10), inputDrained: true) == .none)
        cycle.producerReplaced()
        #expect(cycle.state == .idle)
        #expect(cycle.nextForBatch() == .begin)
        // The retries start afresh with the new producer.
        _ = cycle.nextOnError(abortable, during: .commit)
        #expect(cycle.nextOnError(timeout, during: .abort) == .retry)

        for error in [abortable, KafkaError(code: .state, message: "fatal", severity: .fatal)] {
            var other = open()
            _ = other.nextOnError(abortable, during: .commit)
            guard case .replaceProducer = other.nextOnError(error, during: .abort) else {
                Issue.record("an abort that fails with a non-retriable error (\(error)) must ask for a new producer")
                return
            }
        }
        var fencedAbort = open()
        _ = fencedAbort.nextOnError(abortable, during: .commit)
        #expect(fencedAbort.nextOnError(fenced, during: .abort) == .stop(fenced), "a fenced producer is not replaced: another instance took over")
        var stopped = open()
        stopped.stop()
        guard case .stop = stopped.nextOnError(abortable, during: .abort) else {
            Issue.record("an instance stopping for a reason of its own does not replace its producer")
            return
        }
    }

    /// While the producer is being replaced every failure of the old one (a record still given
    /// to it, processing that threw) answers "replace the producer": none turns the state back
    /// into `failed`, whose abort would be asked of the broken producer again and would replace
    /// it twice (found in review: a revoke whose abort failed, then the rest of the poll's batch).
    @Test func aReplacementUnderWayIsNotTurnedBackIntoAnAbort() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxRetries: 0)
        cycle.begun(now: start)
        _ = cycle.nextOnError(abortable, during: .commit)
        guard case .replaceProducer(let cause) = cycle.nextOnError(timeout, during: .abort) else {
            Issue.record("an abort that fails must ask for a new producer")
            return
        }
        for call in [TransactionCycle.Call.send, .begin, .commit, .abort] {
            #expect(cycle.nextOnError(abortable, during: call) == .replaceProducer(cause), "\(call)")
            #expect(cycle.state == .replacingProducer)
        }
        struct ProcessingFailed: Error {}
        #expect(cycle.nextOnError(ProcessingFailed(), during: .processing) == .replaceProducer(cause))
        #expect(cycle.nextForBatch() == .replaceProducer(cause))
        #expect(cycle.state == .replacingProducer)
        #expect(cycle.nextOnError(fenced, during: .send) == .stop(fenced), "fenced meanwhile: nothing goes on")
    }

    /// A failure a new producer with the same configuration would meet again (authorization, an
    /// unsupported broker) stops the instance instead of replacing the producer; and producers
    /// replaced three times in a row without a commit between stop it too, instead of looping.
    @Test func replacementsThatCannotHelpStop() {
        let unauthorised = KafkaError(code: .transactionalIDAuthorizationFailed, message: "not authorised", severity: .fatal)
        var cycle = open()
        _ = cycle.nextOnError(abortable, during: .commit)
        guard case .stop = cycle.nextOnError(unauthorised, during: .abort) else {
            Issue.record("an authorization failure of the abort must stop, not replace the producer")
            return
        }

        var looping = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxRetries: 0, maxReplacementsInARow: 3)
        func failAgain() -> TransactionCycle.Action {
            looping.begun(now: start)
            _ = looping.nextOnError(abortable, during: .commit)
            return looping.nextOnError(abortable, during: .abort)
        }
        for replacement in 1...3 {
            guard case .replaceProducer = failAgain() else {
                Issue.record("replacement \(replacement) must be allowed")
                return
            }
            looping.producerReplaced()
        }
        guard case .stop(let error) = failAgain() else {
            Issue.record("a fourth replacement in a row must stop the instance")
            return
        }
        #expect(error.message.contains("3 producer replacements in a row"))
        // A commit between them starts the count afresh.
        var recovering = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxRetries: 0, maxReplacementsInARow: 1)
        recovering.begun(now: start)
        _ = recovering.nextOnError(abortable, during: .commit)
        _ = recovering.nextOnError(abortable, during: .abort)
        recovering.producerReplaced()
        recovering.begun(now: start)
        recovering.committed()
        recovering.begun(now: start)
        _ = recovering.nextOnError(abortable, during: .commit)
        guard case .replaceProducer = recovering.nextOnError(abortable, during: .abort) else {
            Issue.record("after a commit the producer may be replaced again")
            return
        }
    }

    @Test func fatalOrFencedStopsWhateverTheCall() {
        for call in [TransactionCycle.Call.begin, .send, .sendOffsets, .commit, .processing] {
            var cycle = open()
            #expect(cycle.nextOnError(fenced, during: call) == .stop(fenced))
            #expect(cycle.state == .stopped)
            #expect(cycle.nextForBatch() == .none, "a stopped cycle opens nothing")
            #expect(cycle.nextForHandOver() == .none)
        }
        // Fenced codes stop even when librdkafka did not mark the error fatal.
        var cycle = open()
        let producerFenced = KafkaError(code: .producerFenced, message: "fenced", severity: .abortRequired)
        #expect(cycle.nextOnError(producerFenced, during: .commit) == .stop(producerFenced))
    }

    @Test func stoppingForAnEscapedErrorCommitsNothingOnTheWayOut() {
        var cycle = open()
        cycle.stop()
        #expect(cycle.nextForHandOver() == .none)
        #expect(cycle.nextOnTick(now: start + .seconds(1), inputDrained: true) == .none)
    }
}
