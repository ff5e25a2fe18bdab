import Testing
@testable import VigilFeatures
import VigilTopology

/// The byte budget (`processing.max_state_bytes`): what a key is charged, which keys it evicts,
/// and that a restore keeps within it.
@Suite struct StateByteBudgetTests {
    /// A count, a mean and a max over one input: a 24-byte buffered event (time, `x`, the max's deque).
    static let features: [FeatureSpec] = [
        FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 1_000_000)),
        FeatureSpec(name: "mean", aggregation: .mean, field: "x", window: .sliding(size: 1_000_000)),
        FeatureSpec(name: "max", aggregation: .max, field: "x", window: .sliding(size: 1_000_000)),
    ]

    /// What a key holding `events` buffered events is charged, worked out from the layout
    /// rather than read from the engine's count: its header slot (the header rounded up to
    /// 64-byte lines), recency link, slot-to-key entry, key index entry (an integer key's
    /// 8-byte key and 4-byte slot, padded to 16), and a ring block of the capacity the engine
    /// grows to (4, doubled when full) times the bytes of a buffered event (its time, each
    /// input, each min/max deque position: 8 bytes each).
    static func expectedBytes(_ engine: FeatureEngine, events: Int, deques: Int = 1) -> Int {
        var capacity = 4
        while capacity < events { capacity *= 2 }
        let header = (engine.plan.headerSize + 63) / 64 * 64
        let bufferedEvent = 8 * (1 + engine.inputNames.count + deques)
        return header + 8 + MemoryLayout<StateKey?>.stride + 16 + capacity * bufferedEvent
    }

    static func driver(maxStateBytes: Int?, features: [FeatureSpec] = features) -> EngineDriver {
        var configuration = FeatureEngine.Configuration()
        configuration.maxStateBytes = maxStateBytes
        return EngineDriver(features, configuration: configuration)
    }

    /// Every key's charge recomputed from its state: what the running count must equal.
    static func recounted(_ engine: FeatureEngine) -> Int {
        engine.allKeys.reduce(0) { $0 + engine.accountedBytes(slot: Int(engine.slotOf($1)!)) }
    }

    @Test func stateBytesCountEachKeysHeaderAndRingBlock() {
        let driver = Self.driver(maxStateBytes: nil)
        #expect(driver.engine.stateBytes == 0)
        for event in 0..<9 { driver.feed(.int(1), at: Double(event), ["x": 1]) }  // 9 events: a ring of 16
        driver.feed(.int(2), at: 10, ["x": 2])  // 1 event: a ring of 4
        for event in 0..<4 { driver.feed(.int(3), at: Double(11 + event), ["x": 3]) }  // 4 events: a ring of 4
        let engine = driver.engine
        let expected = Self.expectedBytes(engine, events: 9) + Self.expectedBytes(engine, events: 1) + Self.expectedBytes(engine, events: 4)
        #expect(engine.stateBytes == expected)
        #expect(Self.expectedBytes(engine, events: 9) - Self.expectedBytes(engine, events: 4) == 12 * 24, "12 more events of time, x and a deque position")
        // Released keys give their bytes back; a text key beyond 15 bytes adds them.
        engine.removeState(key: .int(1))
        #expect(engine.stateBytes == Self.expectedBytes(engine, events: 1) + Self.expectedBytes(engine, events: 4))
        driver.feed(.string("a-customer-id-of-25-bytes"), at: 20, ["x": 1])
        let textKey = Self.expectedBytes(engine, events: 1) - 16 + MemoryLayout<StateKey>.stride + 4 + 25
        #expect(engine.stateBytes == Self.expectedBytes(engine, events: 1) + Self.expectedBytes(engine, events: 4) + textKey)
        // Shrinking a ring gives bytes back too: a 1 s window keeps one event of key 3 once time moves on.
        let short = Self.driver(maxStateBytes: nil, features: [FeatureSpec(name: "mean", aggregation: .mean, field: "x", window: .sliding(size: 1_000))])
        for event in 0..<40 { short.feed(.int(3), at: Double(event) * 0.01, ["x": 1]) }  // 40 events inside 1 s: a ring of 64
        #expect(short.engine.stateBytes == Self.expectedBytes(short.engine, events: 40, deques: 0))
        for event in 0..<3 { short.feed(.int(3), at: 100 + Double(event) * 10, ["x": 1]) }  // each alone in its window: halves per event
        #expect(short.engine.stateBytes == Self.expectedBytes(short.engine, events: 8, deques: 0))
        #expect(short.engine.stateBytes == Self.recounted(short.engine))
    }

    @Test func overTheBudgetTheLeastRecentlySeenKeysAreEvicted() {
        let small = Self.expectedBytes(Self.driver(maxStateBytes: nil).engine, events: 1)  // the budget: three one-event keys
        let budgeted = Self.driver(maxStateBytes: 3 * small)
        let engine = budgeted.engine
        budgeted.feed(.int(1), at: 1, ["x": 1])
        budgeted.feed(.int(2), at: 2, ["x": 1])
        budgeted.feed(.int(3), at: 3, ["x": 1])
        budgeted.feed(.int(1), at: 4, ["x": 1])  // two events: still a ring of 4
        #expect(engine.stateBytes == 3 * small && engine.keyCount == 3 && engine.statistics.keysEvictedForCapacity == 0)
        budgeted.feed(.int(4), at: 5, ["x": 1])  // a fourth key: 2, the least recently seen, goes
        #expect(engine.keysByRecency == [.int(3), .int(1), .int(4)])
        #expect(engine.stateBytes == 3 * small)
        // Key 3 grows to 5 events (a ring of 8): over the budget, so 1 goes, though
        // fewer than max_keys are held; key 3 itself keeps its update.
        // fewer than max_keys are held; key 3 itself keeps its update. Key 3's ring grows by 4
        // events' bytes, so one small key (its header and a 4-event ring) is enough to go.
        for second in 6..<10 { budgeted.feed(.int(3), at: Double(second), ["x": Double(second)]) }
        #expect(engine.keysByRecency == [.int(4), .int(3)])
        #expect(engine.stateBytes == Self.expectedBytes(engine, events: 1) + Self.expectedBytes(engine, events: 5))
        #expect(engine.stateBytes <= 3 * small)
        #expect(engine.statistics.keysEvictedForCapacity == 2)
        #expect(engine.stateBytes == Self.recounted(engine))
        // Key 3's features count its own five events: nothing of it was lost.
        #expect(budgeted.feed(.int(3), at: 10, ["x": 0]).1[0] == 6)
    }

    @Test func aKeyLargerThanTheBudgetIsKeptAloneUntilAnotherKeyIsSeen() {
        let small = Self.expectedBytes(Self.driver(maxStateBytes: nil).engine, events: 1)
        let driver = Self.driver(maxStateBytes: 2 * small)
        let engine = driver.engine
        driver.feed(.int(7), at: 0, ["x": 1])
        var features: [Double] = []
        for event in 1...20 { features = driver.feed(.int(1), at: Double(event), ["x": Double(event)]).1 }
        // 20 events: a ring of 32, larger than the budget. Key 7 was evicted; key 1 stays alone.
        #expect(engine.keysByRecency == [.int(1)])
        #expect(engine.stateBytes == Self.expectedBytes(engine, events: 20) && engine.stateBytes > 2 * small)
        #expect(features == [20, 10.5, 20], "every event of the oversized key counts")
        #expect(engine.statistics.keysEvictedForCapacity == 1)
        // The next key's event makes it the least recently seen: it goes, and the budget holds.
        #expect(driver.feed(.int(2), at: 21, ["x": 1]).1 == [1, 1, 1])
        #expect(engine.keysByRecency == [.int(2)])
        #expect(engine.stateBytes == small)
        #expect(engine.statistics.keysEvictedForCapacity == 2)
    }

    @Test func bothBudgetsEvict() {
        let small = Self.expectedBytes(Self.driver(maxStateBytes: nil).engine, events: 1)
        var configuration = FeatureEngine.Configuration()
        configuration.maxStateBytes = 10 * small
        configuration.maxKeys = 3
        let driver = EngineDriver(Self.features, configuration: configuration)
        for key in 1...5 { driver.feed(.int(Int64(key)), at: Double(key), ["x": 1]) }
        #expect(driver.engine.keysByRecency == [.int(3), .int(4), .int(5)], "max_keys")
        for event in 0..<999 { driver.feed(.int(5), at: 10 + Double(event) * 0.001, ["x": 1]) }  // 1,000 events: a ring of 1,024
        #expect(driver.engine.keysByRecency == [.int(5)], "max_state_bytes")
        #expect(driver.engine.statistics.keysEvictedForCapacity == 4)
    }

    /// The slab of key headers grows by doubling only up to the keys the budget can hold (here
    /// 300 keys of one event each, the least a key is charged, and the one a new key's event
    /// adds before the least recent goes), not to the next power of two.
    @Test func theSlabGrowsNoFurtherThanTheBudgetAllows() {
        let small = Self.expectedBytes(Self.driver(maxStateBytes: nil).engine, events: 1)
        let driver = Self.driver(maxStateBytes: 300 * small)
        for key in 0..<1_000 { driver.feed(.int(Int64(key)), at: Double(key), ["x": 1]) }
        #expect(driver.engine.keyCount == 300 && driver.engine.statistics.keysEvictedForCapacity == 700)
        #expect(driver.engine.slotCapacity == 301)
    }

    /// An eviction by bytes is a change of the batch (a changelog tombstone) and rolls back with
    /// it; replaying the batch after the rollback evicts the same keys and gives the same
    /// features (undo records keep each ring block's capacity, so the charges are as before).
    @Test func evictionsByBytesAreInTheBatchAndRollBackExactly() {
        let features = Array(SnapshotAndRollbackTests.features.filter { $0.aggregation != .distinctCount })
        let unbounded = Self.driver(maxStateBytes: nil, features: features)
        _ = SnapshotAndRollbackTests.stream(unbounded, keys: 30, events: 2_000, seed: 3)
        let budget = unbounded.engine.stateBytes / 2  // about half the keys
        let driver = Self.driver(maxStateBytes: budget, features: features)
        let engine = driver.engine
        _ = SnapshotAndRollbackTests.stream(driver, keys: 30, events: 2_000, seed: 3)
        #expect(engine.statistics.keysEvictedForCapacity > 0 && engine.stateBytes <= budget)
        let before = Dictionary(uniqueKeysWithValues: engine.allKeys.map { ($0, engine.snapshot(key: $0)!) })
        let bytesBefore = engine.stateBytes, statisticsBefore = engine.statistics
        engine.beginBatch()
        let first = SnapshotAndRollbackTests.stream(driver, keys: 30, events: 300, seed: 4, startSecond: 600)
        let evictedFirst = engine.keysEvictedInBatch
        #expect(evictedFirst > 0)
        #expect(Set(engine.touchedKeys).isSuperset(of: Set(before.keys).subtracting(engine.allKeys)), "each evicted key is touched: a tombstone")
        let bytesAfterFirst = engine.stateBytes
        engine.rollbackBatch()
        #expect(Dictionary(uniqueKeysWithValues: engine.allKeys.map { ($0, engine.snapshot(key: $0)!) }) == before)
        #expect(engine.stateBytes == bytesBefore && engine.statistics == statisticsBefore)
        #expect(engine.stateBytes == Self.recounted(engine))
        engine.beginBatch()
        let second = SnapshotAndRollbackTests.stream(driver, keys: 30, events: 300, seed: 4, startSecond: 600)
        #expect(engine.keysEvictedInBatch == evictedFirst && engine.stateBytes == bytesAfterFirst)
        engine.commitBatch()
        for (a, b) in zip(first, second) { #expect(identicalFeatures(a, b)) }
        // A ring bigger than its events need (16 places for 5: rings shrink only below a
        // quarter full) is reinstalled at 16, not at the 8 a snapshot would get.
        let short = Self.driver(maxStateBytes: 1 << 30, features: [FeatureSpec(name: "mean", aggregation: .mean, field: "x", window: .sliding(size: 1_000))])
        for event in 0..<9 { short.feed(.int(1), at: Double(event) * 0.1, ["x": 1]) }
        short.feed(.int(1), at: 1.45, ["x": 1])  // keeps 0.5 to 0.8 and itself
        #expect(short.engine.stateBytes == Self.expectedBytes(short.engine, events: 16, deques: 0))
        short.engine.beginBatch()
        short.feed(.int(1), at: 1.46, ["x": 1])
        short.engine.rollbackBatch()
        #expect(short.engine.stateBytes == Self.expectedBytes(short.engine, events: 16, deques: 0))
    }

    /// A restore keeps within the budget after every snapshot: the keys held are the longest run
    /// of the most recently restored that fits (a restored key is the most recent).
    @Test func restoreKeepsWithinTheBudget() throws {
        let source = Self.driver(maxStateBytes: nil)
        var eventsOf: [StateKey: Int] = [:]
        for key in 1...12 {
            let events = [1, 3, 9, 2, 17, 5, 1, 33, 4, 8, 2, 6][key - 1]
            for event in 0..<events { source.feed(.int(Int64(key)), at: Double(key * 100 + event), ["x": Double(event)]) }
            eventsOf[.int(Int64(key))] = events
        }
        let order = (1...12).map { StateKey.int(Int64($0)) }
        // Room for the last seven restored (keys 6 to 12) and half of key 5.
        let budget = order[5...].map { Self.expectedBytes(source.engine, events: eventsOf[$0]!) }.reduce(0, +)
            + Self.expectedBytes(source.engine, events: eventsOf[order[4]]!) / 2
        let target = Self.driver(maxStateBytes: budget)
        var peak = 0
        for key in order {
            try target.engine.restore(snapshot: #require(source.engine.snapshot(key: key)))
            peak = max(peak, target.engine.stateBytes)
        }
        // Independently: the longest suffix of the restore order whose keys fit.
        var expectedKeys: [StateKey] = [], total = 0
        for key in order.reversed() {
            let bytes = Self.expectedBytes(target.engine, events: eventsOf[key]!)
            guard total + bytes <= budget else { break }
            total += bytes
            expectedKeys.insert(key, at: 0)
        }
        #expect(expectedKeys == Array(order[5...]))
        #expect(target.engine.keysByRecency == expectedKeys)
        #expect(target.engine.stateBytes == total)
        #expect(peak <= budget, "never over the budget after a snapshot is restored")
        #expect(target.engine.statistics.keysEvictedForCapacity == 12 - expectedKeys.count)
        // The keys kept restore exactly: their next features are the source's.
        for key in expectedKeys {
            guard case let .int(number) = key else { continue }
            let time = Double(number * 100 + 50)
            #expect(identicalFeatures(source.feed(key, at: time, ["x": 3]).1, target.feed(key, at: time, ["x": 3]).1))
        }
    }

    /// A detector's state is charged as it grows (a gaussian tail's window and history fill
    /// up event by event), and given back with the key.
    @Test func detectorStateIsCharged() {
        let gaussian = GaussianTailSettings()  // its defaults: a 100-event window and an 8,640-event history
        let stage = StageSpec(name: "s", key: "k", features: [FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 10_000))],
                              detectors: [DetectorSpec(name: "TAIL", kind: .gaussianTail(gaussian), fields: ["x"])])
        let engine = FeatureEngine(stage: stage)
        var features = Array(repeating: Double.nan, count: engine.featureNames.count)
        var charges: [Int] = []
        for event in 0..<200 {
            let inputs = [Double(event % 7)]
            inputs.withUnsafeBufferPointer { input in
                features.withUnsafeMutableBufferPointer { _ = engine.process(key: .int(Int64(event % 2)), time: Int64(event) * 100, inputs: input, into: $0) }
            }
            #expect(engine.stateBytes == Self.recounted(engine))
            charges.append(engine.stateBytes)
        }
        let slot = Int(engine.slotOf(.int(0))!)
        #expect(engine.detectors[0].byteCount(slot: slot) > 0)
        #expect(charges[199] > charges[3], "the detectors' windows and histories grew")
        engine.removeState(key: .int(0))
        engine.removeState(key: .int(1))
        #expect(engine.stateBytes == 0)
    }

    /// With a budget nothing reaches, features are bit for bit those without one; the running
    /// count stays equal to every key's charge recomputed, through late events, distinct-count
    /// tables, expiry, snapshots and rollbacks.
    @Test func aBudgetNeverReachedChangesNothingAndTheCountStaysExact() throws {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 5_000
        let plain = EngineDriver(SnapshotAndRollbackTests.features, configuration: configuration)
        configuration.maxStateBytes = 1 << 40
        let budgeted = EngineDriver(SnapshotAndRollbackTests.features, configuration: configuration)
        var generator = SplitMix(seed: 11)
        for index in 0..<3_000 {
            let key = StateKey.string("customer-number-\(generator.next() % 5)")  // beyond 15 bytes
            let late = Double(generator.next() % 8)  // up to 8 s behind: some placed, some beyond the lateness
            let values = ["x": Double(generator.next() % 50), "flag": Double(generator.next() % 2)]
            let time = 10 + Double(index) * 0.5 - late
            #expect(identicalFeatures(plain.feed(key, at: time, values).1, budgeted.feed(key, at: time, values).1))
        }
        let engine = budgeted.engine
        #expect(engine.statistics.lateEventsPlaced > 0 && engine.statistics.keysEvictedForCapacity == 0)
        #expect(engine.stateBytes == Self.recounted(engine) && engine.stateBytes > 0)
        engine.beginBatch()
        _ = SnapshotAndRollbackTests.stream(budgeted, keys: 60, events: 200, seed: 12, startSecond: 1_600)
        #expect(engine.stateBytes == Self.recounted(engine))
        engine.rollbackBatch()
        #expect(engine.stateBytes == Self.recounted(engine))
        engine.beginBatch()
        _ = SnapshotAndRollbackTests.stream(budgeted, keys: 60, events: 200, seed: 13)  // keys k0...k59, up to 50 s
        engine.commitBatch()
        for customer in 0..<5 { budgeted.feed(.string("customer-number-\(customer)"), at: 2_000, ["x": 1]) }  // the k keys are the least recent
        #expect(engine.stateBytes == Self.recounted(engine) && engine.keyCount > 5)
        let idle = engine.keyCount - 5
        #expect(engine.expireIdleKeys(now: configuration.stateTTL + 1_000_000) == idle)  // idle since before 1,000 s
        #expect(engine.stateBytes == Self.recounted(engine) && engine.keyCount == 5)
        let restored = EngineDriver(SnapshotAndRollbackTests.features, configuration: configuration)
        for key in engine.allKeys { try restored.engine.restore(snapshot: #require(engine.snapshot(key: key))) }
        #expect(restored.engine.stateBytes == Self.recounted(restored.engine))
        for key in engine.allKeys { engine.removeState(key: key) }
        #expect(engine.stateBytes == 0)
    }
}
