import Testing
@testable import VigilRuntime

/// The freeze watch as a value: ticks at chosen instants, no thread and no sleeping.
struct FreezeWatchTests {
    let start = ContinuousClock.now

    func watch() -> FreezeWatch { FreezeWatch(threshold: .seconds(1), grace: .milliseconds(1500), now: start) }

    @Test func regularTicksNeverHoldACommit() {
        var watch = watch()
        for step in 1...100 { watch.tick(now: start + .milliseconds(125 * step)) }
        #expect(watch.lastFreezeEnd == nil)
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(12_550)) == .zero)
    }

    @Test func aGapOfTheThresholdHoldsCommitsForTheGraceAfterIt() {
        var watch = watch()
        watch.tick(now: start + .milliseconds(100))
        // Stopped for 5 s (SIGSTOP), then the ticker runs first.
        watch.tick(now: start + .milliseconds(5_100))
        #expect(watch.lastFreezeEnd == start + .milliseconds(5_100))
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(5_200)) == .milliseconds(1_400))
        watch.tick(now: start + .milliseconds(5_225))
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(6_000)) == .milliseconds(600))
        // Once the grace has passed, commits go ahead.
        for step in 1...12 { watch.tick(now: start + .milliseconds(5_225 + 125 * step)) }
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(6_600)) == .zero)
    }

    @Test func aCommitThatWakesBeforeTheTickerWaitsTheWholeGrace() {
        var watch = watch()
        watch.tick(now: start + .milliseconds(100))
        // The committing thread runs first after the freeze: the ticker's last tick is 5 s old.
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(5_100)) == .milliseconds(1_500))
        // Just under the threshold is not a freeze (a busy machine delays a tick).
        #expect(watch.waitBeforeCommit(now: start + .milliseconds(1_099)) == .zero)
    }
}
