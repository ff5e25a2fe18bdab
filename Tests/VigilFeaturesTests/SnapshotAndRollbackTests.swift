import Testing
import VigilCodec
import VigilFeatures
import VigilTopology

@Suite struct SnapshotAndRollbackTests {
    static let features: [FeatureSpec] = [
        FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 30_000)),
        FeatureSpec(name: "mean", aggregation: .mean, field: "x", window: .sliding(size: 30_000)),
        FeatureSpec(name: "std", aggregation: .std, field: "x", window: .sliding(size: 30_000)),
        FeatureSpec(name: "min", aggregation: .min, field: "x", window: .sliding(size: 30_000)),
        FeatureSpec(name: "max", aggregation: .max, field: "x", window: .sliding(size: 30_000)),
        FeatureSpec(name: "distinct", aggregation: .distinctCount, field: "x", window: .sliding(size: 30_000)),
        FeatureSpec(name: "delayed", aggregation: .risk, field: "flag", window: .delayed(size: 20_000, delay: 10_000)),
        FeatureSpec(name: "ewma", aggregation: .ewma, field: "x", halfLife: 5_000),
        FeatureSpec(name: "rate", aggregation: .rateOfChange, field: "x"),
    ]

    static func stream(_ driver: EngineDriver, keys: Int, events: Int, seed: UInt64, startSecond: Double = 0) -> [[Double]] {
        var generator = SplitMix(seed: seed)
        var rows: [[Double]] = []
        for index in 0..<events {
            let key = StateKey.string("k\(generator.next() % UInt64(keys))")
            let values = ["x": Double(generator.next() % 1000) / 7, "flag": Double(generator.next() % 2)]
            rows.append(driver.feed(key, at: startSecond + Double(index) * 0.25, values).1)
        }
        return rows
    }

    @Test func snapshotsRoundTripExactly() throws {
        let original = EngineDriver(Self.features)
        _ = Self.stream(original, keys: 20, events: 3_000, seed: 1)
        let restored = EngineDriver(Self.features)
        for key in original.engine.allKeys {
            let snapshot = try #require(original.engine.snapshot(key: key))
            #expect(try restored.engine.restore(snapshot: snapshot) == key)
            // Re-snapshotting the restored state gives the same bytes.
            #expect(restored.engine.snapshot(key: key) == snapshot)
            // Lent from the engine's buffers (as the changelog takes them), the same bytes too.
            #expect(original.engine.withSnapshot(key: key) { $0.map { Array($0) } } == snapshot)
        }
        #expect(original.engine.withSnapshot(key: .int(-999_999)) { $0 == nil })
        #expect(restored.engine.keyCount == original.engine.keyCount)
        // Both continue identically, bit for bit.
        let after = Self.stream(original, keys: 20, events: 2_000, seed: 2, startSecond: 1_000)
        let afterRestored = Self.stream(restored, keys: 20, events: 2_000, seed: 2, startSecond: 1_000)
        for (a, b) in zip(after, afterRestored) { #expect(identicalFeatures(a, b)) }
    }

    @Test func snapshotsAreVersionedAndCheckTheLayout() throws {
        let driver = EngineDriver(Self.features)
        driver.feed(.int(5), at: 1, ["x": 1, "flag": 0])
        let snapshot = try #require(driver.engine.snapshot(key: .int(5)))
        var raw = try LZ4Block.decompress(snapshot)
        raw[4] = 99  // the version byte
        #expect(throws: CodecError.self) { try driver.engine.restore(snapshot: LZ4Block.compress(raw)) }
        let other = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 1_000))])
        #expect(throws: CodecError.self) { try other.engine.restore(snapshot: snapshot) }
        #expect(throws: CodecError.self) { try other.engine.restore(snapshot: Array(snapshot.prefix(6))) }
    }

    @Test func rollbackUndoesABatchExactly() throws {
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 15
        let driver = EngineDriver(Self.features, configuration: configuration)
        _ = Self.stream(driver, keys: 20, events: 2_000, seed: 3)
        let before = Dictionary(uniqueKeysWithValues: driver.engine.allKeys.map { ($0, driver.engine.snapshot(key: $0)!) })
        let statisticsBefore = driver.engine.statistics
        driver.engine.beginBatch()
        _ = Self.stream(driver, keys: 20, events: 300, seed: 4, startSecond: 600)
        #expect(!driver.engine.touchedKeys.isEmpty)
        #expect(driver.engine.statistics.keysEvictedForCapacity > statisticsBefore.keysEvictedForCapacity)
        driver.engine.rollbackBatch()
        let after = Dictionary(uniqueKeysWithValues: driver.engine.allKeys.map { ($0, driver.engine.snapshot(key: $0)!) })
        #expect(after == before)
        #expect(driver.engine.statistics == statisticsBefore)
        // Replaying the batch after the rollback gives the same features as the first attempt.
        driver.engine.beginBatch()
        let first = Self.stream(driver, keys: 20, events: 300, seed: 4, startSecond: 600)
        driver.engine.rollbackBatch()
        driver.engine.beginBatch()
        let second = Self.stream(driver, keys: 20, events: 300, seed: 4, startSecond: 600)
        driver.engine.commitBatch()
        for (a, b) in zip(first, second) { #expect(identicalFeatures(a, b)) }
    }

    @Test func touchedKeysListEachChangedKeyOnce() {
        let driver = EngineDriver(Self.features)
        driver.engine.beginBatch()
        driver.feed(.int(1), at: 1, ["x": 1])
        driver.feed(.int(2), at: 2, ["x": 1])
        driver.feed(.int(1), at: 3, ["x": 1])
        #expect(driver.engine.touchedKeys == [.int(1), .int(2)])
        driver.engine.commitBatch()
        driver.engine.beginBatch()
        driver.feed(.int(2), at: 4, ["x": 1])
        #expect(driver.engine.touchedKeys == [.int(2)])
    }
}
