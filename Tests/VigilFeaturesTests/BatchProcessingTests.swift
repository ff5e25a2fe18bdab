import Testing
import VigilFeatures
import VigilTopology

/// ``FeatureEngine/process(rows:)`` (the batch path, which looks slots up ahead and prefetches)
/// against ``FeatureEngine/process(key:time:inputs:into:)`` one event at a time: the same
/// features bit for bit, the same rejections, the same keys held.
@Suite struct BatchProcessingTests {
    static let features = [
        FeatureSpec(name: "n1", aggregation: .count, window: .sliding(size: 60_000)),
        FeatureSpec(name: "mean1", aggregation: .mean, field: "x", window: .sliding(size: 60_000)),
        FeatureSpec(name: "sum5", aggregation: .sum, field: "x", window: .sliding(size: 300_000)),
        FeatureSpec(name: "risk", aggregation: .risk, field: "y", window: .delayed(size: 120_000, delay: 60_000)),
        FeatureSpec(name: "n_delayed", aggregation: .count, window: .delayed(size: 240_000, delay: 60_000)),
        FeatureSpec(name: "max", aggregation: .max, field: "x", window: .sliding(size: 120_000)),
        FeatureSpec(name: "std", aggregation: .std, field: "x", window: .sliding(size: 300_000)),
        FeatureSpec(name: "gap", aggregation: .timeSinceLast),
    ]

    struct Event {
        var key: StateKey
        var time: Int64
        var x: Double
        var y: Double
    }

    /// A deterministic stream: dense small ids, ids far beyond them, negative ids, NaN inputs,
    /// and events behind their key's newest (some within the allowed lateness, some not).
    static func stream(count: Int, seed: UInt64) -> [Event] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var events: [Event] = []
        var time: Int64 = 1_000_000
        for _ in 0..<count {
            time += Int64(next() % 2_000)
            let pick = next() % 100
            let id: Int64
            switch pick {
            case 0..<70: id = Int64(next() % 3_000)
            case 70..<85: id = Int64(next() % 50) * 1_000_003 + (1 << 40)
            case 85..<95: id = -Int64(next() % 40) - 1
            default: id = Int64(next() % 20_000)
            }
            let late = next() % 50 == 0 ? Int64(next() % 90_000) : 0
            let x = next() % 30 == 0 ? Double.nan : Double(next() % 10_000) / 100
            events.append(Event(key: .int(id), time: time - late, x: x, y: Double(next() % 2)))
        }
        return events
    }

    func runBoth(_ events: [Event], configuration: FeatureEngine.Configuration, batchSize: Int) -> (single: FeatureEngine, batched: FeatureEngine) {
        let stage = StageSpec(name: "s", key: "k", features: Self.features)
        let single = FeatureEngine(stage: stage, configuration: configuration)
        let batched = FeatureEngine(stage: stage, configuration: configuration)
        let width = 2 + Self.features.count
        var start = 0
        while start < events.count {
            let chunk = Array(events[start..<min(events.count, start + batchSize)])
            start += batchSize
            // One event at a time.
            var expected: [[Double]] = []
            var expectedRejected: [Int] = []
            for (index, event) in chunk.enumerated() {
                let inputs = single.inputNames.map { $0 == "x" ? event.x : event.y }
                var output = Array(repeating: Double.nan, count: Self.features.count)
                let outcome = inputs.withUnsafeBufferPointer { input in
                    output.withUnsafeMutableBufferPointer { single.process(key: event.key, time: event.time, inputs: input, into: $0) }
                }
                if outcome.beyondLateness != nil { expectedRejected.append(index) }
                expected.append(output)
            }
            // The batch, rows laid out as x, y, then the features.
            var rows: [Double] = []
            for event in chunk { rows += [event.x, event.y] + Array(repeating: Double.nan, count: Self.features.count) }
            let times = chunk.map(\.time)
            let keys = chunk.map(\.key)
            let columns = batched.inputNames.map { $0 == "x" ? 0 : 1 }
            let rejected = times.withUnsafeBufferPointer { times in
                keys.withUnsafeBufferPointer { keys in
                    columns.withUnsafeBufferPointer { columns in
                        rows.withUnsafeMutableBufferPointer { rows in
                            batched.process(rows: EventRows(count: chunk.count, times: times.baseAddress!, keys: keys.baseAddress!, keyStride: 1,
                                                            live: nil, rows: rows.baseAddress!, rowWidth: width, inputColumns: columns, featureStart: 2))
                        }
                    }
                }
            }
            #expect(rejected.map(\.index) == expectedRejected)
            // Events beyond the lateness have features too when they are scored unplaced.
            let unplacedScored = single.configuration.lateEvents == .score
            for (index, row) in expected.enumerated() where unplacedScored || !expectedRejected.contains(index) {
                let got = Array(rows[(index * width + 2)..<((index + 1) * width)])
                #expect(identicalFeatures(got, row), "event \(index) of a batch: \(got) vs \(row)")
            }
        }
        return (single, batched)
    }

    @Test func batchesMatchSingleEventsAcrossKeyRanges() {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 60_000
        let events = Self.stream(count: 40_000, seed: 7)
        let (single, batched) = runBoth(events, configuration: configuration, batchSize: 1_000)
        #expect(single.keyCount == batched.keyCount)
        #expect(Set(single.allKeys) == Set(batched.allKeys))
        for key in single.allKeys { #expect(batched.contains(key)) }
        // Removing and re-adding keys of every range leaves the index consistent.
        for key in single.allKeys.prefix(500) { batched.removeState(key: key) }
        #expect(batched.keyCount == single.keyCount - 500)
        for key in single.allKeys.prefix(500) { #expect(!batched.contains(key)) }
        for key in single.allKeys.dropFirst(500) { #expect(batched.contains(key)) }
    }

    @Test func capacityEvictionInsideABatchKeepsLookupsRight() {
        // Fewer keys allowed than a batch brings: slots are released and reused mid-batch.
        var configuration = FeatureEngine.Configuration()
        configuration.maxKeys = 40
        configuration.allowedLateness = 60_000
        let events = Self.stream(count: 20_000, seed: 11)
        let (single, batched) = runBoth(events, configuration: configuration, batchSize: 512)
        #expect(single.keysByRecency == batched.keysByRecency)
        #expect(single.statistics.keysEvictedForCapacity == batched.statistics.keysEvictedForCapacity)
        #expect(single.statistics.keysEvictedForCapacity > 0)
    }

    @Test func textKeysTakeTheGeneralPath() {
        let events = Self.stream(count: 3_000, seed: 3).map { Event(key: .string("k\($0.key)"), time: $0.time, x: $0.x, y: $0.y) }
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 60_000
        let (a, b) = runBoth(events, configuration: configuration, batchSize: 700)
        #expect(Set(a.allKeys) == Set(b.allKeys))
    }
}
