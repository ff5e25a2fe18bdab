import Testing
import VigilCodec
@testable import VigilFeatures
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
        #expect { try driver.engine.restore(snapshot: LZ4Block.compress(raw)) } throws: { error in
            (error as? StateSnapshotError)?.problem == "state snapshot version 99; this build reads versions 1 to 3"
        }
        let other = EngineDriver([FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 1_000))])
        #expect { try other.engine.restore(snapshot: snapshot) } throws: { error in
            (error as? StateSnapshotError)?.problem.contains("different stage layout") == true
        }
        #expect { try other.engine.restore(snapshot: Array(snapshot.prefix(6))) } throws: { error in
            (error as? StateSnapshotError)?.problem.contains("does not decode") == true
        }
    }

    /// A corrupt record never crashes, never allocates what it claims, and leaves the key's
    /// state as it was; the error says what is wrong and what to do.
    @Test func corruptSnapshotsAreRefusedWithoutChangingState() throws {
        let driver = EngineDriver(Self.features)
        for second in 1...20 { _ = driver.feed(.int(5), at: Double(second), ["x": Double(second), "flag": 0]) }
        let good = try #require(driver.engine.snapshot(key: .int(5)))
        let raw = try LZ4Block.decompress(good)
        var failures: [String] = []
        func refused(_ bytes: [UInt8]) {
            do {
                try driver.engine.restore(snapshot: bytes)
                failures.append("accepted")
            } catch {
                failures.append(error.problem)
            }
        }
        // Every single-byte corruption of the header and cursors is either caught or harmless.
        var caught = 0
        for position in 4..<min(raw.count, 200) {
            var corrupt = raw
            corrupt[position] ^= 0xFF
            do { try driver.engine.restore(snapshot: LZ4Block.compress(corrupt)); try driver.engine.restore(snapshot: good) } catch { caught += 1 }
        }
        #expect(caught > 0)
        // A 10-byte block that claims 2 GiB is refused before anything is allocated.
        refused([0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4, 5, 6])
        // The buffered-event count beyond what the record holds.
        var cursors = raw
        // Magic, version, fingerprint, int key tag and value, header size (a varint); then the
        // header's words: base, end, …
        let header = 4 + 1 + 8 + 1 + 8 + (driver.engine.plan.headerSize < 128 ? 1 : 2)
        cursors.replaceSubrange((header + 8)..<(header + 16), with: withUnsafeBytes(of: Int64.max.littleEndian, Array.init))
        refused(LZ4Block.compress(cursors))
        #expect(failures.count == 2 && !failures.contains("accepted"), "\(failures)")
        #expect(failures[0].contains("more than LZ4 can expand to"))
        #expect(failures[1].contains("cursors"), "\(failures[1])")
        // The key still has the state of the last good restore: the same snapshot again.
        #expect(driver.engine.snapshot(key: .int(5)) == good)
        #expect(StateSnapshotError(problem: "why", bytes: 3).description == "state record of 3 bytes cannot be restored: why")
    }

    /// A record that passes validation but that the install refuses (an unknown column or
    /// sequence layout, a truncated value, a trailing byte), of each layout version, changes
    /// nothing: the key keeps its previous state (it was released before the install, and lost),
    /// and a full engine evicts no other key for a record it then refuses.
    @Test func recordsTheInstallRefusesChangeNothing() throws {
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 2
        let driver = EngineDriver(Self.features, configuration: configuration)
        for second in 1...12 {
            driver.feed(.int(5), at: Double(second), ["x": Double(second) / 4, "flag": Double(second % 2)])
            driver.feed(.int(6), at: Double(second), ["x": Double(second) * 3, "flag": 1])
        }
        // The records come from another engine, where keys 5 and 7 saw other events.
        let other = EngineDriver(Self.features)
        for second in 1...10 {
            other.feed(.int(5), at: Double(second) + 0.5, ["x": Double(second) * 1.25, "flag": 0])
            other.feed(.int(7), at: Double(second), ["x": 2, "flag": 1])
        }
        let headerSize = driver.engine.plan.headerSize
        func record(_ key: StateKey, _ layout: FeatureEngine.SnapshotLayout) throws -> [UInt8] {
            var writer = ByteWriter(capacity: 0)
            other.engine.encodeState(slot: Int(try #require(other.engine.slotOf(key))), into: &writer, layout: layout)
            return writer.bytes
        }
        /// Where a compact record's times (their sequence layout) and first column (its layout) start.
        func tags(_ bytes: [UInt8]) -> (times: Int, firstColumn: Int) {
            let countAt = 4 + 1 + 8 + 1 + 8 + (headerSize < 128 ? 1 : 2) + headerSize
            let count = Int(bytes[countAt])
            let times = countAt + 1
            return (times, times + 1 + (bytes[times] == FeatureEngine.SequenceLayout.differences.rawValue ? 8 + 4 * (count - 1) : 8 * count))
        }
        let before = [StateKey.int(5), .int(6)].map { driver.engine.snapshot(key: $0) }
        let recencyBefore = driver.engine.keysByRecency
        let statisticsBefore = driver.engine.statistics
        var refused: [String] = []
        for layout in [FeatureEngine.SnapshotLayout.raw, .compactWithoutHundredths, .compact] {
            for key in [StateKey.int(5), .int(7)] {
                let good = try record(key, layout)
                #expect(good[4] == layout.rawValue)
                var corrupt = [(name: "truncated", bytes: Array(good.dropLast())), (name: "a trailing byte", bytes: good + [0])]
                if layout.isCompact {
                    let at = tags(good)
                    #expect(good[at.times] == FeatureEngine.SequenceLayout.differences.rawValue)
                    #expect(FeatureEngine.ColumnLayout(rawValue: good[at.firstColumn]) != nil)
                    var unknownColumn = good, unknownSequence = good
                    unknownColumn[at.firstColumn] = 9
                    unknownSequence[at.times] = 9
                    corrupt += [("an unknown column layout", unknownColumn), ("an unknown sequence layout", unknownSequence)]
                    if layout == .compactWithoutHundredths {
                        var hundredths = good
                        hundredths[at.firstColumn] = FeatureEngine.ColumnLayout.hundredths.rawValue
                        corrupt.append(("hundredths in version 2", hundredths))
                    }
                }
                for (name, bytes) in corrupt {
                    do {
                        try driver.engine.validate(encoded: bytes)
                    } catch {
                        Issue.record("version \(layout.rawValue) \(key) \(name): validation refused it already (\(error)); the case tests nothing")
                    }
                    do {
                        try driver.engine.restore(snapshot: LZ4Block.compress(bytes))
                        Issue.record("version \(layout.rawValue) \(key) \(name): accepted")
                    } catch {
                        refused.append(error.problem)
                    }
                    let context = "version \(layout.rawValue) record of \(key) with \(name)"
                    #expect(driver.engine.keyCount == 2, "\(context)")
                    #expect([StateKey.int(5), .int(6)].map { driver.engine.snapshot(key: $0) } == before, "\(context): a key's state changed")
                    #expect(driver.engine.keysByRecency == recencyBefore, "\(context)")
                    #expect(driver.engine.statistics == statisticsBefore, "\(context)")
                }
            }
        }
        #expect(refused.count == 2 * (2 + 5 + 4))
        #expect(refused.contains { $0.contains("unknown column layout 9 in a version 3 state snapshot") }, "\(refused)")
        #expect(refused.contains { $0.contains("unknown sequence layout 9") }, "\(refused)")
        // The same records, intact, restore (each layout to the same state).
        for layout in [FeatureEngine.SnapshotLayout.raw, .compactWithoutHundredths, .compact] {
            #expect(try driver.engine.restore(snapshot: LZ4Block.compress(record(.int(5), layout))) == .int(5))
            #expect(driver.engine.snapshot(key: .int(5)) == other.engine.snapshot(key: .int(5)))
        }
        #expect(driver.engine.snapshot(key: .int(6)) == before[1])
    }

    /// Version 1 snapshots (every buffered value as its 8 bytes, as undo records still are)
    /// restore to the same state as the compact version 2 this build writes.
    @Test func rawLayoutSnapshotsStillRestore() throws {
        let original = EngineDriver(Self.features)
        _ = Self.stream(original, keys: 5, events: 2_000, seed: 5)
        let restored = EngineDriver(Self.features)
        var rawBytes = 0, compactBytes = 0
        for key in original.engine.allKeys {
            let raw = original.engine.encodeState(slot: Int(try #require(original.engine.slotOf(key))))
            #expect(raw[4] == 1)
            let compact = try LZ4Block.decompress(try #require(original.engine.snapshot(key: key)))
            #expect(compact[4] == FeatureEngine.snapshotVersion)
            (rawBytes, compactBytes) = (rawBytes + raw.count, compactBytes + compact.count)
            #expect(try restored.engine.restore(snapshot: LZ4Block.compress(raw)) == key)
            #expect(restored.engine.snapshot(key: key) == original.engine.snapshot(key: key))
        }
        // Times as differences and the 0/1 flag column as one byte each.
        #expect(compactBytes * 10 < rawBytes * 7)
        let after = Self.stream(original, keys: 5, events: 500, seed: 6, startSecond: 1_000)
        let afterRestored = Self.stream(restored, keys: 5, events: 500, seed: 6, startSecond: 1_000)
        for (a, b) in zip(after, afterRestored) { #expect(identicalFeatures(a, b)) }
    }

    /// A column is written as bytes only when every value comes back bit for bit, and times as
    /// 4-byte differences only when every difference fits.
    @Test func compactColumnsKeepEveryBitPattern() throws {
        let columns: [[Double]] = [
            [0, 1, 255, 1, 0],  // bytes
            [3, 256, 7],
            [3, -5, 0, 0x1p60, -0x1p62, 7],
            [3, -0.0, 4],  // -0.0 is not the byte 0
            [1, .nan, 2],
            [2, 0.5, 1e300],
            [57.16, 0.01, -3.5, 21_474_836.46, -21_474_836.46, 300],  // hundredths, near Int32's ends
            [57.16, 0.001],  // three places
            [57.16, 21_474_836.48], [-21_474_836.48, 1],  // at or beyond 4 bytes of hundredths
            [0.07, -0.0],
            [0.1 + 0.2, 1],  // the sum's double is not the one nearest 0.3
        ]
        for values in columns {
            let original = EngineDriver(Self.features)
            for (index, value) in values.enumerated() { original.feed(.int(1), at: Double(index) * 3.5, ["x": value, "flag": value]) }
            let snapshot = try #require(original.engine.snapshot(key: .int(1)))
            let restored = EngineDriver(Self.features)
            try restored.engine.restore(snapshot: snapshot)
            let raw = original.engine.encodeState(slot: Int(try #require(original.engine.slotOf(.int(1)))))
            let again = restored.engine.encodeState(slot: Int(try #require(restored.engine.slotOf(.int(1)))))
            #expect(raw == again, "\(values)")
            #expect(identicalFeatures(original.feed(.int(1), at: 30, ["x": 2, "flag": 1]).1, restored.feed(.int(1), at: 30, ["x": 2, "flag": 1]).1))
        }
        // Events 60 days apart in a 100-day window: a difference beyond 4 bytes of milliseconds.
        let long = [FeatureSpec(name: "n", aggregation: .count, window: .sliding(size: 100 * 86_400_000))]
        let original = EngineDriver(long)
        for day in [0.0, 1, 61, 62] { original.feed(.int(1), at: day * 86_400) }
        let restored = EngineDriver(long)
        try restored.engine.restore(snapshot: try #require(original.engine.snapshot(key: .int(1))))
        #expect(restored.engine.encodeState(slot: Int(try #require(restored.engine.slotOf(.int(1))))) == original.engine.encodeState(slot: Int(try #require(original.engine.slotOf(.int(1))))))
        #expect(original.feed(.int(1), at: 63 * 86_400).1 == [5])
        #expect(restored.feed(.int(1), at: 63 * 86_400).1 == [5])
    }

    /// Amounts (decimals of two places) are written as 4-byte hundredths, and a version 2
    /// snapshot (amounts as 8-byte bit patterns) restores to the same state.
    @Test func amountsAreWrittenAsHundredthsAndVersionTwoStillRestores() throws {
        let features = [FeatureSpec(name: "sum", aggregation: .sum, field: "x", window: .sliding(size: 1_000_000))]
        let original = EngineDriver(features)
        var generator = SplitMix(seed: 9)
        for index in 0..<200 { original.feed(.int(1), at: Double(index), ["x": Double(generator.next() % 100_000) / 100]) }
        let slot = Int(try #require(original.engine.slotOf(.int(1))))
        var versionTwo = ByteWriter(capacity: 0)
        original.engine.encodeState(slot: slot, into: &versionTwo, layout: .compactWithoutHundredths)
        let versionThree = try LZ4Block.decompress(try #require(original.engine.snapshot(key: .int(1))))
        #expect(versionTwo.bytes[4] == 2 && versionThree[4] == 3 && FeatureEngine.snapshotVersion == 3)
        // 200 amounts: 4 bytes each instead of 8.
        #expect(versionTwo.bytes.count - versionThree.count == 200 * 4)
        // The version 3 snapshot restores to the same state.
        let fromThree = EngineDriver(features)
        try fromThree.engine.restore(snapshot: LZ4Block.compress(versionThree))
        #expect(fromThree.engine.encodeState(slot: Int(try #require(fromThree.engine.slotOf(.int(1))))) == original.engine.encodeState(slot: slot))
        let restored = EngineDriver(features)
        try restored.engine.restore(snapshot: LZ4Block.compress(versionTwo.bytes))
        #expect(restored.engine.encodeState(slot: Int(try #require(restored.engine.slotOf(.int(1))))) == original.engine.encodeState(slot: slot))
        #expect(restored.engine.snapshot(key: .int(1)) == original.engine.snapshot(key: .int(1)))
        #expect(identicalFeatures(original.feed(.int(1), at: 500, ["x": 12.34]).1, restored.feed(.int(1), at: 500, ["x": 12.34]).1))
        // Magic, version, fingerprint, int key, header size, header, event count (200: two
        // varint bytes), the times (layout byte, first time, 199 differences), then the column.
        let headerSize = original.engine.plan.headerSize
        let tag = 4 + 1 + 8 + 1 + 8 + (headerSize < 128 ? 1 : 2) + headerSize + 2 + 1 + 8 + 199 * 4
        #expect(versionTwo.bytes[tag] == FeatureEngine.ColumnLayout.bitPatterns.rawValue && versionTwo.bytes.count == tag + 1 + 200 * 8)
        #expect(versionThree[tag] == FeatureEngine.ColumnLayout.hundredths.rawValue && versionThree.count == tag + 1 + 200 * 4)
        // A version 2 snapshot cannot hold hundredths: the same bytes labelled version 2 are refused there.
        var forged = versionThree
        forged[4] = 2
        #expect { try EngineDriver(features).engine.restore(snapshot: LZ4Block.compress(forged)) } throws: { error in
            (error as? StateSnapshotError)?.problem.contains("unknown column layout 2 in a version 2 state snapshot") == true
        }
    }

    /// Whether a key without buffered events gets a ring depends on the engine's own allowed
    /// lateness, which is not part of the stage layout: a snapshot taken with one restores with
    /// the other.
    @Test func aKeyWithoutEventsRestoresWhateverTheLateness() throws {
        let features = [FeatureSpec(name: "ewma", aggregation: .ewma, field: "x", halfLife: 5_000)]
        var late = FeatureEngine.Configuration()
        late.allowedLateness = 60_000
        for (writer, reader) in [(FeatureEngine.Configuration(), late), (late, FeatureEngine.Configuration())] {
            let original = EngineDriver(features, configuration: writer)
            original.feed(.int(1), at: 1, ["x": 3])
            original.feed(.int(1), at: 2, ["x": 5])
            let snapshot = try #require(original.engine.snapshot(key: .int(1)))
            let restored = EngineDriver(features, configuration: reader)
            #expect(try restored.engine.restore(snapshot: snapshot) == .int(1))
            #expect(identicalFeatures(original.feed(.int(1), at: 3, ["x": 4]).1, restored.feed(.int(1), at: 3, ["x": 4]).1))
        }
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

    /// The undo records live in one buffer: steady batches reuse it (rolled back exactly after
    /// earlier batches filled and emptied it), and a batch far larger than the next ones does
    /// not keep its memory.
    @Test func undoRecordsReuseOneBufferAndALargeBatchGivesItsMemoryBack() throws {
        let driver = EngineDriver(Self.features)
        // A large batch: 6,000 keys of 40 events each, about 3 kB of undo record a key.
        driver.engine.beginBatch()
        for key in 0..<6_000 { for event in 0..<40 { driver.feed(.int(Int64(key)), at: Double(event), ["x": Double(key % 97), "flag": 0]) } }
        driver.engine.commitBatch()
        driver.engine.beginBatch()
        for key in 0..<6_000 { driver.feed(.int(Int64(key)), at: 41, ["x": 1, "flag": 1]) }
        let large = driver.engine.undoBytes.bytes.count
        #expect(large > FeatureEngine.keptUndoBytes)
        driver.engine.commitBatch()
        #expect(driver.engine.undoBytes.bytes.capacity >= large, "a batch's buffer is kept for the next")
        // Small batches after it: the first gives the large buffer back, the next keep theirs.
        var capacities: [Int] = []
        for round in 0..<3 {
            driver.engine.beginBatch()
            for key in 0..<10 { driver.feed(.int(Int64(key)), at: 42 + Double(round), ["x": 2, "flag": 0]) }
            driver.engine.commitBatch()
            capacities.append(driver.engine.undoBytes.bytes.capacity)
        }
        #expect(capacities[0] <= FeatureEngine.keptUndoBytes)
        #expect(capacities[1] == capacities[2] && capacities[1] > 0)
        // A rollback from the reused buffer restores exactly.
        let before = Dictionary(uniqueKeysWithValues: driver.engine.allKeys.map { ($0, driver.engine.snapshot(key: $0)!) })
        driver.engine.beginBatch()
        for key in 0..<100 { driver.feed(.int(Int64(key)), at: 50, ["x": 3, "flag": 1]) }
        driver.engine.rollbackBatch()
        #expect(Dictionary(uniqueKeysWithValues: driver.engine.allKeys.map { ($0, driver.engine.snapshot(key: $0)!) }) == before)
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
