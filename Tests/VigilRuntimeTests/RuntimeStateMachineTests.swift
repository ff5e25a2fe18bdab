import Testing
@testable import VigilRuntime
import VigilKafka

/// The runtime's pure parts, without a broker: local delivery, source alignment, back-pressure.
struct LocalDeliveryCoordinatorTests {
    let now = ContinuousClock.now

    @Test func eventsGoThroughTheTopicUntilTheBarriersAreApplied() {
        var coordinator = LocalDeliveryCoordinator(enabled: true, commitInterval: .milliseconds(100))
        coordinator.sourceAssigned(0)
        coordinator.repartitionAssigned(1, restored: AppliedSourceOffsets())
        #expect(!coordinator.deliversLocally(to: 1, owned: true), "no barrier sent yet")
        #expect(coordinator.dueBarriers { _ in 100 }.map(\.below) == [99])
        for target: Int32 in 0..<2 { coordinator.barrierSent(source: 0, below: 99, to: target) }
        coordinator.committed()
        #expect(coordinator.dueBarriers { _ in 100 }.isEmpty)
        #expect(coordinator.isBehind(1))
        #expect(!coordinator.deliversLocally(to: 1, owned: true), "the barrier is not read yet")
        coordinator.applyBarrier(1, marks: [0: 99])
        #expect(coordinator.deliversLocally(to: 1, owned: true))
        #expect(!coordinator.deliversLocally(to: 1, owned: false), "a partition owned elsewhere")
        #expect(!coordinator.deliversLocally(to: 0, owned: true), "partition 0 has not read its barrier")
    }

    @Test func somethingSentThroughTheTopicMustBeAppliedBeforeLocalDeliveryResumes() {
        var coordinator = LocalDeliveryCoordinator(enabled: true, commitInterval: .milliseconds(100))
        coordinator.sourceAssigned(0)
        coordinator.repartitionAssigned(1, restored: AppliedSourceOffsets())
        coordinator.barrierSent(source: 0, below: 9, to: 1)
        coordinator.applyBarrier(1, marks: [0: 9])
        #expect(coordinator.deliversLocally(to: 1, owned: true))
        coordinator.forwarded(source: 0, offset: 15, to: 1)
        #expect(!coordinator.deliversLocally(to: 1, owned: true))
        let result1 = coordinator.apply(1, source: 0, offset: 15)
        #expect(result1)
        #expect(coordinator.deliversLocally(to: 1, owned: true))
        // A copy of an applied event (an aborted transaction a broker showed) is refused.
        let result2 = coordinator.apply(1, source: 0, offset: 12)
        #expect(!result2)
    }

    @Test func anAbortSendsTheBarriersAgainAndPutsTheAppliedMarksBack() {
        var coordinator = LocalDeliveryCoordinator(enabled: true, commitInterval: .milliseconds(100))
        coordinator.sourceAssigned(3)
        coordinator.repartitionAssigned(0, restored: AppliedSourceOffsets())
        coordinator.barrierSent(source: 3, below: 49, to: 0)
        coordinator.committed()
        coordinator.transactionBegan()
        let result3 = coordinator.apply(0, source: 3, offset: 60)
        #expect(result3)
        coordinator.aborted()
        #expect(coordinator.appliedOffsets(of: 0)?.offsets[3] == nil)
        #expect(coordinator.dueBarriers { _ in 50 }.map(\.source) == [3])
    }

    /// A commit in the background with the next transaction applying behind it: its failure
    /// puts the marks back to where the committing transaction began (not where the one behind
    /// it began: the committing one's events would then be skipped as copies when read again,
    /// and on a broker that hides aborted records never scored); its success keeps them, and an
    /// abort of the one behind it then goes back to where that one began.
    @Test func aCommitInTheBackgroundPutsTheMarksBackPastTheTransactionBehindIt() {
        for commitFails in [true, false] {
                var coordinator = LocalDeliveryCoordinator(enabled: false, commitInterval: .milliseconds(100))
                coordinator.repartitionAssigned(0, restored: AppliedSourceOffsets())
                coordinator.transactionBegan()
                _ = coordinator.apply(0, source: 1, offset: 10)
                coordinator.committed()
                coordinator.transactionBegan()
                _ = coordinator.apply(0, source: 1, offset: 20)  // the committing transaction's
                coordinator.commitStarted()
                coordinator.transactionBegan()
                _ = coordinator.apply(0, source: 1, offset: 30)  // the one behind it
                if commitFails {
                    coordinator.aborted()  // for the one behind it
                    coordinator.aborted()  // for the failed commit
                    #expect(coordinator.appliedOffsets(of: 0)?.offsets[1] == 10, "back to where the committing transaction began")
                    let again = coordinator.apply(0, source: 1, offset: 20)
                    #expect(again, "its events are applied again, not skipped")
                } else {
                    coordinator.committed()
                    #expect(coordinator.appliedOffsets(of: 0)?.offsets[1] == 30)
                    coordinator.aborted()
                    #expect(coordinator.appliedOffsets(of: 0)?.offsets[1] == 20, "back to where the one behind it began")
                    let copy = coordinator.apply(0, source: 1, offset: 20)
                    #expect(!copy, "the committed one's events are copies")
                    let behind = coordinator.apply(0, source: 1, offset: 30)
                    #expect(behind)
                }
        }
    }

    /// A repartition partition whose restore completes while a transaction is open keeps its
    /// restored marks when that transaction aborts (they were wiped: every copy of an applied
    /// event still in the topic was then applied, and scored, a second time).
    @Test func anAbortKeepsTheMarksOfAPartitionRestoredDuringTheTransaction() {
        for enabled in [true, false] {
            var coordinator = LocalDeliveryCoordinator(enabled: enabled, commitInterval: .milliseconds(100))
            coordinator.repartitionAssigned(0, restored: AppliedSourceOffsets())
            coordinator.transactionBegan()
            _ = coordinator.apply(0, source: 1, offset: 10)
            var restored = AppliedSourceOffsets()
            _ = restored.apply(partition: 2, offset: 500)
            coordinator.repartitionAssigned(1, restored: restored)
            _ = coordinator.apply(1, source: 2, offset: 501)
            coordinator.aborted()
            #expect(coordinator.appliedOffsets(of: 1)?.offsets == [2: 500], "enabled \(enabled)")
            #expect(coordinator.appliedOffsets(of: 0)?.offsets == [:], "enabled \(enabled)")
            let copyApplied = coordinator.apply(1, source: 2, offset: 500)
            #expect(!copyApplied, "a copy of an applied event is still refused")
            // A committed transaction's marks stand, and a later abort goes back to them.
            coordinator.transactionBegan()
            _ = coordinator.apply(1, source: 2, offset: 520)
            coordinator.committed()
            coordinator.transactionBegan()
            _ = coordinator.apply(1, source: 2, offset: 530)
            coordinator.repartitionRevoked(0)
            coordinator.aborted()
            #expect(coordinator.appliedOffsets(of: 1)?.offsets == [2: 520], "enabled \(enabled)")
            #expect(coordinator.appliedOffsets(of: 0) == nil, "a revoked partition does not come back with an abort")
        }
    }

    @Test func theSourcesWaitAtMostTheLimitThenRetryLater() {
        var coordinator = LocalDeliveryCoordinator(enabled: true, commitInterval: .milliseconds(100), catchUpRetry: .seconds(30))
        coordinator.sourceAssigned(0)
        coordinator.repartitionAssigned(0, restored: AppliedSourceOffsets())
        coordinator.barrierSent(source: 0, below: 9, to: 0)
        let result4 = coordinator.holdsSources(now: now, owned: [0])
        #expect(result4)
        let result5 = coordinator.holdsSources(now: now + .milliseconds(999), owned: [0])
        #expect(result5)
        let result6 = coordinator.holdsSources(now: now + .seconds(1), owned: [0])
        #expect(!result6, "cut off after a second")
        let result7 = coordinator.holdsSources(now: now + .seconds(20), owned: [0])
        #expect(!result7)
        let result8 = coordinator.holdsSources(now: now + .seconds(30), owned: [0])
        #expect(result8, "tried again 30 s later")
        coordinator.applyBarrier(0, marks: [0: 9])
        let result9 = coordinator.holdsSources(now: now + .seconds(30), owned: [0])
        #expect(!result9, "caught up")
    }

    @Test func disabledItNeverDeliversLocallyOrSendsBarriers() {
        var coordinator = LocalDeliveryCoordinator(enabled: false, commitInterval: .milliseconds(100))
        coordinator.sourceAssigned(0)
        coordinator.repartitionAssigned(0, restored: AppliedSourceOffsets())
        #expect(coordinator.dueBarriers { _ in 10 }.isEmpty)
        #expect(!coordinator.deliversLocally(to: 0, owned: true))
        let result10 = coordinator.holdsSources(now: now, owned: [0])
        #expect(!result10)
        // It still tracks what is applied, for the duplicate guard.
        let first = coordinator.apply(0, source: 0, offset: 5)
        let again = coordinator.apply(0, source: 0, offset: 5)
        #expect(first && !again)
    }
}

struct SourceAlignerTests {
    @Test func aPartitionFarAheadWaitsForTheOldestOneWithRecordsWaiting() {
        var aligner = SourceAligner(allowedLateness: 2 * 86_400_000)
        #expect(aligner.slack == 86_400_000)
        aligner.read(0, newest: 1_000)
        aligner.read(1, newest: 100_000_000)
        #expect(aligner.ahead(of: [0, 1], caughtUp: []) == [1])
        // Once partition 0 has nothing waiting, it holds nobody back.
        #expect(aligner.ahead(of: [0, 1], caughtUp: [0]).isEmpty)
        aligner.read(0, newest: 2_000)
        #expect(aligner.ahead(of: [0, 1], caughtUp: []) == [1])
        aligner.read(0, newest: 50_000_000)
        #expect(aligner.ahead(of: [0, 1], caughtUp: []).isEmpty)
    }

    @Test func aPartitionNotReadYetHoldsBackThoseThatWere() {
        var aligner = SourceAligner(allowedLateness: 0)
        aligner.read(0, newest: 5)
        #expect(aligner.ahead(of: [0, 1], caughtUp: []) == [0])
        #expect(aligner.ahead(of: [0, 1], caughtUp: [1]).isEmpty, "an empty partition waits for nothing")
        aligner.forget(0)
        #expect(aligner.ahead(of: [0, 1], caughtUp: []).isEmpty)
        #expect(aligner.ahead(of: [0], caughtUp: []).isEmpty, "one partition is never ahead of itself")
    }
}

struct BackPressureTests {
    let now = ContinuousClock.now

    @Test func aFullQueuePausesUntilItDrainsBelowTheLowMark() {
        var pressure = BackPressure(queueCapacity: 1000)
        let result11 = pressure.update(queued: 499, now: now)
        #expect(result11 == (false, false))
        let result12 = pressure.update(queued: 500, now: now)
        #expect(result12 == (true, true))
        let result13 = pressure.update(queued: 300, now: now)
        #expect(result13 == (true, false), "between the marks it stays paused")
        let result14 = pressure.update(queued: 250, now: now)
        #expect(result14 == (false, false))
    }

    @Test func aSendThatFoundNoRoomPausesForABackoffThatDoubles() {
        var pressure = BackPressure(queueCapacity: 1000, initialBackoff: .milliseconds(200), maxBackoff: .milliseconds(500))
        pressure.sendFailed(now: now)
        let result15 = pressure.update(queued: 0, now: now + .milliseconds(199))
        #expect(result15.paused)
        let result16 = pressure.update(queued: 0, now: now + .milliseconds(200))
        #expect(!result16.paused)
        pressure.sendFailed(now: now)
        let result17 = pressure.update(queued: 0, now: now + .milliseconds(399))
        #expect(result17.paused)
        pressure.sendFailed(now: now)
        let result18 = pressure.update(queued: 0, now: now + .milliseconds(500))
        #expect(!result18.paused, "the backoff stops at its limit")
        pressure.committed()
        pressure.sendFailed(now: now)
        let result19 = pressure.update(queued: 0, now: now + .milliseconds(200))
        #expect(!result19.paused, "a commit starts the backoff small again")
    }
}

