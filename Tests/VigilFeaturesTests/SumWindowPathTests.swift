import Testing
@testable import VigilFeatures
import VigilTopology

/// The fused in-order path of stages whose windows keep only counts and sums
/// (`FeatureEngine+SumWindows.swift`) against the general path, bit for bit, and the ring
/// arena the engine's ring blocks come from.
@Suite struct SumWindowPathTests {
    static let features = [
        FeatureSpec(name: "n5", aggregation: .count, window: .sliding(size: 5_000)),
        FeatureSpec(name: "sum5", aggregation: .sum, field: "x", window: .sliding(size: 5_000)),
        FeatureSpec(name: "mean60", aggregation: .mean, field: "x", window: .sliding(size: 60_000)),
        FeatureSpec(name: "n60", aggregation: .count, window: .sliding(size: 60_000)),
        FeatureSpec(name: "n20", aggregation: .count, window: .sliding(size: 20_000)),
        FeatureSpec(name: "risk30", aggregation: .risk, field: "y", window: .delayed(size: 30_000, delay: 10_000)),
        FeatureSpec(name: "n30", aggregation: .count, window: .delayed(size: 30_000, delay: 10_000)),
        FeatureSpec(name: "sum40", aggregation: .sum, field: "y", window: .delayed(size: 40_000, delay: 10_000)),
    ]

    /// A value with the cases compensated sums must survive: NaN, infinities, magnitudes far
    /// apart, negative zero, repeated values.
    static func value(_ generator: inout SplitMix) -> Double {
        switch generator.next() % 20 {
        case 0: return .nan
        case 1: return .infinity
        case 2: return -.infinity
        case 3: return 1e300 * Double(generator.next() % 3 + 1)
        case 4: return 1e-300
        case 5: return -0.0
        case 6: return 0.1
        case 7, 8: return Double(generator.next() % 4)
        default: return (Double(generator.next() % 2_000_000) - 1e6) / 997
        }
    }

    @Test func fusedPathMatchesTheGeneralPathBitForBit() {
        var configuration = FeatureEngine.Configuration()
        configuration.allowedLateness = 3_000
        configuration.lateEvents = .score
        // The fused path for windows and outputs; fused windows with the general output loop
        // (time_since_last is not a window sum); and the general path (a tumbling window is not
        // sliding or delayed). Each adds its feature last, so the first features compare.
        let fused = EngineDriver(Self.features, configuration: configuration)
        let fusedWindows = EngineDriver(Self.features + [FeatureSpec(name: "gap", aggregation: .timeSinceLast)], configuration: configuration)
        let general = EngineDriver(Self.features + [FeatureSpec(name: "tumbling", aggregation: .count, window: .tumbling(size: 10_000))],
                                   configuration: configuration)
        #expect(fused.engine.usesSumGroups && fused.engine.sumOutputTable != nil)
        #expect(fusedWindows.engine.usesSumGroups && fusedWindows.engine.sumOutputTable == nil)
        #expect(!general.engine.usesSumGroups)

        var generator = SplitMix(seed: 2026)
        var newest: [Int64: Double] = [:]
        var (inOrder, late, unplaced) = (0, 0, 0)
        let shared = Self.features.count
        for event in 0..<60_000 {
            let key = Int64(generator.next() % 40)
            var time = newest[key] ?? 0
            switch generator.next() % 10 {
            case 0: break  // a tie with the key's newest event
            case 1: time -= Double(generator.next() % 5_000) / 1000  // late: placed, or beyond the lateness
            case 2: time += Double(generator.next() % 90)  // a gap that empties windows
            default: time += Double(generator.next() % 4_000) / 1000
            }
            newest[key] = max(newest[key] ?? 0, time)
            let values = ["x": Self.value(&generator), "y": Self.value(&generator)]
            let (outcome, expected) = general.feed(.int(key), at: time, values)
            let (fusedOutcome, actual) = fused.feed(.int(key), at: time, values)
            let (windowsOutcome, windowsActual) = fusedWindows.feed(.int(key), at: time, values)
            switch outcome {
            case .inOrder: inOrder += 1
            case .late: late += 1
            case .unplaced: unplaced += 1
            case .rejected: break
            }
            #expect(fusedOutcome == outcome && windowsOutcome == outcome)
            guard identicalFeatures(Array(actual[..<shared]), Array(expected[..<shared])),
                  identicalFeatures(Array(windowsActual[..<shared]), Array(expected[..<shared])) else {
                Issue.record("event \(event) (key \(key) at \(time) s, \(values)): fused \(actual), fused windows \(windowsActual), general \(expected)")
                return
            }
        }
        // Every kind of event came up many times.
        #expect(inOrder > 40_000 && late > 1_000 && unplaced > 1_000)
    }

    @Test func ringArenaKeepsBlocksApartAndReusesFreedOnes() {
        let bytesPerEvent = 24
        var arena = RingArena(bytesPerEvent: bytesPerEvent)
        // Past the huge-page threshold, so blocks come from chunks as well as from malloc.
        var blocks: [(block: UnsafeMutableRawPointer, capacity: Int, tag: UInt8)] = []
        var generator = SplitMix(seed: 7)
        var tag: UInt8 = 0
        func fill(_ block: UnsafeMutableRawPointer, _ capacity: Int, _ tag: UInt8) {
            block.initializeMemory(as: UInt8.self, repeating: tag, count: capacity * bytesPerEvent)
        }
        func intact(_ entry: (block: UnsafeMutableRawPointer, capacity: Int, tag: UInt8)) -> Bool {
            let bytes = UnsafeRawBufferPointer(start: entry.block, count: entry.capacity * bytesPerEvent)
            return bytes.allSatisfy { $0 == entry.tag }
        }
        for round in 0..<6 {
            for _ in 0..<4_000 {
                let capacity = 4 << Int(generator.next() % 9)
                tag &+= 1
                let block = arena.allocate(capacity: capacity)
                #expect(UInt(bitPattern: block) % 16 == 0)
                fill(block, capacity, tag)
                blocks.append((block, capacity, tag))
            }
            // Free every other block; the next round reuses them.
            var kept: [(block: UnsafeMutableRawPointer, capacity: Int, tag: UInt8)] = []
            for (index, entry) in blocks.enumerated() {
                if index % 2 == round % 2 { arena.deallocate(entry.block, capacity: entry.capacity) } else { kept.append(entry) }
            }
            blocks = kept
            #expect(blocks.allSatisfy(intact))
            #expect(arena.liveBytes == blocks.reduce(0) { $0 + $1.capacity * bytesPerEvent })
        }
        #expect(arena.liveBytes > RingArena.hugeThreshold)
        for entry in blocks { arena.deallocate(entry.block, capacity: entry.capacity) }
        #expect(arena.liveBytes == 0)
    }
}
