import Testing
import VigilFeatures
import VigilTopology

@Suite struct FeatureEngineTests {
    static let day: Int64 = 86_400_000

    @Test func slidingWindowIncludesTheCurrentEventAndEarlierSameTimeEvents() {
        let driver = EngineDriver([
            FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000)),
            FeatureSpec(name: "sum", aggregation: .sum, field: "x", window: .sliding(size: 10_000)),
            FeatureSpec(name: "mean", aggregation: .mean, field: "x", window: .sliding(size: 10_000)),
        ])
        #expect(driver.feed(.int(1), at: 0, ["x": 1]).1 == [1, 1, 1])
        #expect(driver.feed(.int(1), at: 5, ["x": 3]).1 == [2, 4, 2])
        #expect(driver.feed(.int(1), at: 5, ["x": 5]).1 == [3, 9, 3])
        // (t − 10 s, t]: the event at 0 s leaves exactly at 10 s.
        #expect(driver.feed(.int(1), at: 10, ["x": 7]).1 == [3, 15, 5])
        #expect(driver.feed(.int(1), at: 30, ["x": 2]).1 == [1, 2, 2])
        // Another key is independent.
        #expect(driver.feed(.int(2), at: 30, ["x": 10]).1 == [1, 10, 10])
    }

    @Test func delayedWindowSeesOnlyEventsOlderThanTheDelay() {
        let driver = EngineDriver([
            FeatureSpec(name: "n", aggregation: .count, window: .delayed(size: 2 * Self.day, delay: Self.day)),
            FeatureSpec(name: "risk", aggregation: .risk, field: "fraud", window: .delayed(size: 2 * Self.day, delay: Self.day)),
        ])
        let day = 86_400.0
        #expect(driver.feed(.int(7), at: 0, ["fraud": 1]).1 == [0, 0])
        #expect(driver.feed(.int(7), at: 0.5 * day, ["fraud": 0]).1 == [0, 0])
        // At 1 day: (−1 d, 0 d] holds the event at 0.
        #expect(driver.feed(.int(7), at: day, ["fraud": 0]).1 == [1, 1])
        #expect(driver.feed(.int(7), at: 1.5 * day, ["fraud": 0]).1 == [2, 0.5])
        // At 3 days: (0, 2 d] drops the event at 0.
        #expect(driver.feed(.int(7), at: 3 * day, ["fraud": 0]).1 == [3, 0])
        // At 10 days everything is older than the window: empty, risk 0.
        #expect(driver.feed(.int(7), at: 10 * day, ["fraud": 1]).1 == [0, 0])
    }

    @Test func minMaxVarianceDistinctLastAndZscoreMatchABruteForceScan() {
        let window = WindowSpec.sliding(size: 7_000)
        let driver = EngineDriver([
            FeatureSpec(name: "min", aggregation: .min, field: "x", window: window),
            FeatureSpec(name: "max", aggregation: .max, field: "x", window: window),
            FeatureSpec(name: "var", aggregation: .variance, field: "x", window: window),
            FeatureSpec(name: "std", aggregation: .std, field: "x", window: window),
            FeatureSpec(name: "distinct", aggregation: .distinctCount, field: "x", window: window),
            FeatureSpec(name: "last", aggregation: .last, field: "x", window: window),
            FeatureSpec(name: "z", aggregation: .zscore, field: "x", window: window),
        ])
        var generator = SplitMix(seed: 42)
        var history: [(Double, Double)] = []
        var time = 0.0
        for _ in 0..<2_000 {
            time += Double(generator.next() % 3)
            let value = Double(generator.next() % 10)
            history.append((time, value))
            let inWindow = history.filter { $0.0 > time - 7 && $0.0 <= time }.map(\.1)
            let mean = inWindow.reduce(0, +) / Double(inWindow.count)
            let variance = inWindow.count < 2 ? Double.nan : inWindow.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(inWindow.count - 1)
            let deviation = variance.squareRoot()
            let z = deviation > 0 ? (value - mean) / deviation : 0
            let expected = [inWindow.min()!, inWindow.max()!, variance, deviation, Double(Set(inWindow).count), value, z]
            let actual = driver.feed(.string("sensor"), at: time, ["x": value]).1
            #expect(sameFeatures(actual, expected, tolerance: 1e-9), "at \(time): \(actual) vs \(expected)")
        }
    }

    @Test func tumblingAndHoppingWindowsAlignToTheEpoch() {
        let driver = EngineDriver([
            FeatureSpec(name: "tumbling", aggregation: .count, window: .tumbling(size: 10_000)),
            FeatureSpec(name: "hopping", aggregation: .count, window: .hopping(size: 10_000, advance: 5_000)),
        ])
        // Tumbling [0, 10 s), [10 s, 20 s); hopping: the oldest 10 s window starting every 5 s that holds t.
        #expect(driver.feed(.int(1), at: 1).1 == [1, 1])
        #expect(driver.feed(.int(1), at: 6).1 == [2, 2])
        #expect(driver.feed(.int(1), at: 11).1 == [1, 2])  // hopping window [5 s, 15 s) holds 6 and 11
        #expect(driver.feed(.int(1), at: 16).1 == [2, 2])  // hopping [10 s, 20 s) holds 11 and 16
    }

    @Test func sequentialFeatures() {
        let driver = EngineDriver([
            FeatureSpec(name: "since", aggregation: .timeSinceLast),
            FeatureSpec(name: "rate", aggregation: .rateOfChange, field: "x"),
            FeatureSpec(name: "ewma", aggregation: .ewma, field: "x", alpha: 0.5),
            FeatureSpec(name: "ewma_time", aggregation: .ewma, field: "x", halfLife: 10_000),
        ])
        let first = driver.feed(.int(1), at: 100, ["x": 10]).1
        #expect(first[0].isNaN && first[1].isNaN && first[2] == 10 && first[3] == 10)
        let second = driver.feed(.int(1), at: 110, ["x": 20]).1
        #expect(second[0] == 10 && second[1] == 1 && second[2] == 15)
        #expect(abs(second[3] - 15) < 1e-12)  // one half-life: halfway
    }

    @Test func lateEventsWithinTheLatenessArePlacedInTimeOrder() {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 5_000
        configuration.lateEvents = .deadLetter
        let features = [
            FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000)),
            FeatureSpec(name: "sum", aggregation: .sum, field: "x", window: .sliding(size: 10_000)),
            FeatureSpec(name: "max", aggregation: .max, field: "x", window: .sliding(size: 10_000)),
        ]
        let driver = EngineDriver(features, configuration: configuration)
        driver.feed(.int(1), at: 10, ["x": 1])
        driver.feed(.int(1), at: 20, ["x": 2])
        // 4 s late: its window (7 s, 17 s] holds the event at 10 s and itself.
        let (outcome, late) = driver.feed(.int(1), at: 16, ["x": 100])
        #expect(outcome == .late)
        #expect(late == [2, 101, 100])
        // Later events see it in place: (12 s, 22 s] holds 16 s and 20 s and 22 s.
        #expect(driver.feed(.int(1), at: 22, ["x": 3]).1 == [3, 105, 100])
        // The same stream in time order gives the same numbers from there on.
        let ordered = EngineDriver(features)
        ordered.feed(.int(1), at: 10, ["x": 1])
        ordered.feed(.int(1), at: 16, ["x": 100])
        ordered.feed(.int(1), at: 20, ["x": 2])
        #expect(ordered.feed(.int(1), at: 22, ["x": 3]).1 == [3, 105, 100])
        // Beyond the lateness: rejected with the reason, state untouched.
        let (rejected, _) = driver.feed(.int(1), at: 10, ["x": 1000])
        guard case let .rejected(reason) = rejected else { Issue.record("expected a rejection"); return }
        #expect(reason.newestTime == 22_000 && reason.eventTime == 10_000 && reason.allowedLateness == 5_000)
        #expect(reason.description.contains("12000 ms behind"))
        #expect(driver.feed(.int(1), at: 23, ["x": 0]).1 == [4, 105, 100])
        #expect(driver.engine.statistics.lateEventsPlaced == 1 && driver.engine.statistics.lateEventsRejected == 1)
    }

    @Test func eventsMustArriveInOrderWithoutLateness() {
        var rejecting = FeatureEngine.Configuration()
        rejecting.lateEvents = .deadLetter
        let driver = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000))], configuration: rejecting)
        driver.feed(.int(1), at: 10)
        #expect(driver.feed(.int(1), at: 10).0 == .inOrder)
        #expect(!driver.feed(.int(1), at: 9.999).0.isAccepted)
        // By default it is scored unplaced instead.
        let scoring = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000))])
        scoring.feed(.int(1), at: 10)
        let (outcome, _) = scoring.feed(.int(1), at: 9.999)
        #expect(outcome.isAccepted && outcome.beyondLateness?.newestTime == 10_000)
    }

    /// An event further behind than the allowed lateness, under the default policy: its
    /// features come from the buffered events up to its time and itself, and the key's state
    /// is left exactly as it was (the next event sees no trace of it, nothing is touched for
    /// the changelog, a rollback has nothing to undo).
    @Test func anEventBeyondTheLatenessIsScoredUnplacedAndChangesNothing() {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 5_000
        let features = [
            FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000)),
            FeatureSpec(name: "sum", aggregation: .sum, field: "x", window: .sliding(size: 10_000)),
            FeatureSpec(name: "max", aggregation: .max, field: "x", window: .sliding(size: 10_000)),
            FeatureSpec(name: "gap", aggregation: .timeSinceLast),
        ]
        let driver = EngineDriver(features, configuration: configuration)
        let reference = EngineDriver(features, configuration: configuration)
        for (time, x) in [(10.0, 1.0), (13, 2), (16, 4), (22, 8)] {
            driver.feed(.int(1), at: time, ["x": x])
            reference.feed(.int(1), at: time, ["x": x])
        }
        let before = driver.engine.snapshot(key: .int(1))
        driver.engine.beginBatch()
        // 8 s behind the newest (22 s), 3 s beyond the lateness. Its window (4 s, 14 s] holds
        // the buffered events at 10 s and 13 s, and itself.
        let (outcome, values) = driver.feed(.int(1), at: 14, ["x": 100])
        guard case let .unplaced(reason) = outcome else { Issue.record("expected an unplaced event, got \(outcome)"); return }
        #expect(reason.newestTime == 22_000 && reason.eventTime == 14_000)
        #expect(values == [3, 103, 100, 1])
        #expect(driver.engine.touchedKeys.isEmpty, "nothing for the changelog")
        #expect(driver.engine.snapshot(key: .int(1)) == before, "the key's state is unchanged")
        #expect(driver.engine.statistics.lateEventsUnplaced == 1 && driver.engine.statistics.lateEventsRejected == 0)
        // The next event sees exactly what it would have without the late one.
        #expect(driver.feed(.int(1), at: 25, ["x": 16]).1 == reference.feed(.int(1), at: 25, ["x": 16]).1)
    }

    @Test func expiredEventsAreEvictedAndIdleKeysExpire() {
        var configuration = FeatureEngine.Configuration()
        configuration.stateTTL = 60_000
        let driver = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000))], configuration: configuration)
        for second in 0..<1_000 { driver.feed(.int(1), at: Double(second)) }
        // Only the window's ten events stay buffered, whatever the history.
        #expect(driver.engine.footprint.bufferedEvents == 10)
        driver.feed(.int(2), at: 1_000)
        driver.feed(.int(3), at: 1_030)
        #expect(driver.engine.expireIdleKeys(now: 1_070_000) == 2)  // keys 1 (999 s) and 2 (1000 s) idle > 60 s
        #expect(driver.engine.keysByRecency == [.int(3)])
        #expect(driver.engine.statistics.keysExpired == 2)
        #expect(driver.engine.footprint.bytesPerKey > 0)
    }

    @Test func maxKeysEvictsTheLeastRecentlySeenKey() {
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 3
        let driver = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 100_000))], configuration: configuration)
        driver.feed(.int(1), at: 1)
        driver.feed(.int(2), at: 2)
        driver.feed(.int(3), at: 3)
        driver.feed(.int(1), at: 4)  // key 1 is now the most recent; 2 the least
        driver.feed(.int(4), at: 5)
        #expect(driver.engine.keyCount == 3)
        #expect(!driver.engine.contains(.int(2)))
        #expect(driver.engine.keysByRecency == [.int(3), .int(1), .int(4)])
        #expect(driver.engine.statistics.keysEvictedForCapacity == 1)
        // An evicted key starts afresh.
        #expect(driver.feed(.int(2), at: 6).1 == [1])
        #expect(driver.engine.statistics.keysEvictedForCapacity == 2)
    }

    /// A driver that never opens a batch (`vigil replay`) keeps no touched keys and no undo
    /// records: they used to pile up, one per key ever created, so a replay's memory grew with
    /// the keys it had seen however small `max_keys` (KeyExplosionBench, bench/README.md).
    @Test func withoutAnOpenBatchNothingIsKeptPerKey() {
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 10
        let driver = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 100_000))], configuration: configuration)
        for key in 0..<1000 { driver.feed(.int(Int64(key)), at: Double(key)) }
        #expect(driver.engine.keyCount == 10)
        #expect(driver.engine.touchedKeys.isEmpty)
        #expect(driver.engine.statistics.keysEvictedForCapacity == 990)
        // A batch opened afterwards sees only its own keys, and none once it is committed.
        driver.engine.beginBatch()
        driver.feed(.int(5000), at: 5000)
        #expect(driver.engine.touchedKeys == [.int(990), .int(5000)], "the evicted least recent key and the new one")
        driver.engine.commitBatch()
        driver.feed(.int(5001), at: 5001)
        #expect(driver.engine.touchedKeys.isEmpty)
    }

    /// What the runtime adds to `vigil_keys_evicted_total` when a transaction commits: the
    /// batch's own evictions, none of an earlier batch's, and none of a rolled-back one's.
    @Test func evictionsOfABatchAreCountedOnceAndNotAfterARollback() {
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 2
        let driver = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 100_000))], configuration: configuration)
        driver.engine.beginBatch()
        for key in 1...5 { driver.feed(.int(Int64(key)), at: Double(key)) }
        #expect(driver.engine.keysEvictedInBatch == 3)
        driver.engine.commitBatch()
        #expect(driver.engine.keysEvictedInBatch == 0)
        driver.engine.beginBatch()
        driver.feed(.int(6), at: 6)
        driver.feed(.int(7), at: 7)
        #expect(driver.engine.keysEvictedInBatch == 2)
        driver.engine.rollbackBatch()
        #expect(driver.engine.keysEvictedInBatch == 0)
        #expect(driver.engine.statistics.keysEvictedForCapacity == 3)
        #expect(driver.engine.keysByRecency == [.int(4), .int(5)])
        driver.engine.beginBatch()
        driver.feed(.int(4), at: 8)  // held: no eviction
        driver.feed(.int(8), at: 9)  // evicts 5
        #expect(driver.engine.keysEvictedInBatch == 1)
        driver.engine.commitBatch()
        #expect(driver.engine.statistics.keysEvictedForCapacity == 4)
    }
}

/// A small deterministic generator for test streams.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
