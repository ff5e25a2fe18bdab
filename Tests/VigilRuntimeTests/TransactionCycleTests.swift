import Testing
import VigilKafka
import VigilRuntime

/// Every transition of the commit state machine, without a broker.
struct TransactionCycleTests {
    let start = ContinuousClock.now

    @Test func aBatchOpensATransactionAndLaterBatchesJoinIt() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000)
        #expect(cycle.nextForBatch(events: 10, now: start) == .begin)
        #expect(cycle.nextForBatch(events: 5, now: start + .milliseconds(10)) == .none)
        #expect(cycle.state == .open(openedAt: start, events: 15))
        #expect(cycle.nextForHandOver() == .commit)
        cycle.committed()
        #expect(cycle.state == .idle)
        #expect(cycle.nextForHandOver() == .none)
    }

    @Test func commitsOnTheIntervalOrTheEventBound() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000)
        #expect(cycle.nextOnTick(now: start) == .none, "nothing open, nothing to commit")
        _ = cycle.nextForBatch(events: 10, now: start)
        #expect(cycle.nextOnTick(now: start + .milliseconds(99)) == .none)
        #expect(cycle.nextOnTick(now: start + .milliseconds(100)) == .commit)
        cycle.committed()
        _ = cycle.nextForBatch(events: 999, now: start)
        #expect(cycle.nextOnTick(now: start) == .none)
        _ = cycle.nextForBatch(events: 1, now: start)
        #expect(cycle.nextOnTick(now: start) == .commit)
    }

    @Test func commitsWhenTheInputIsDrainedOnlyWhenAskedTo() {
        var early = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, commitsWhenDrained: true)
        _ = early.nextForBatch(events: 3, now: start)
        #expect(early.nextOnTick(now: start + .milliseconds(1), inputDrained: false) == .none, "more input is waiting: keep the transaction open")
        #expect(early.nextOnTick(now: start + .milliseconds(1), inputDrained: true) == .commit)
        early.committed()
        #expect(early.nextOnTick(now: start + .milliseconds(2), inputDrained: true) == .none, "an idle poll commits nothing when nothing is open")

        var onInterval = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, commitsWhenDrained: false)
        _ = onInterval.nextForBatch(events: 3, now: start)
        #expect(onInterval.nextOnTick(now: start + .milliseconds(1), inputDrained: true) == .none)
        #expect(onInterval.nextOnTick(now: start + .milliseconds(100), inputDrained: true) == .commit)
    }

    @Test func retriesRetriableCommitFailuresThenAborts() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000, maxCommitRetries: 2)
        _ = cycle.nextForBatch(events: 1, now: start)
        let timeout = KafkaError(code: .timedOut, message: "commit", severity: .retriable)
        #expect(cycle.nextOnError(timeout) == .retryCommit)
        #expect(cycle.nextOnError(timeout) == .retryCommit)
        #expect(cycle.nextOnError(timeout) == .abortAndRewind)
        cycle.aborted()
        #expect(cycle.state == .idle)
        // The retry budget starts again with the next transaction.
        _ = cycle.nextForBatch(events: 1, now: start)
        #expect(cycle.nextOnError(timeout) == .retryCommit)
    }

    @Test func abortRequiredAbortsAndFatalStops() {
        var cycle = TransactionCycle(commitInterval: .milliseconds(100), maxEvents: 1000)
        _ = cycle.nextForBatch(events: 1, now: start)
        #expect(cycle.nextOnError(KafkaError(code: .state, message: "abortable", severity: .abortRequired)) == .abortAndRewind)
        cycle.aborted()
        _ = cycle.nextForBatch(events: 1, now: start)
        let fenced = KafkaError(code: .fenced, message: "fenced", severity: .fatal)
        #expect(cycle.nextOnError(fenced) == .stop(fenced))
        #expect(cycle.state == .stopped)
        #expect(cycle.nextForBatch(events: 1, now: start) == .none, "a stopped cycle opens nothing")
    }
}
