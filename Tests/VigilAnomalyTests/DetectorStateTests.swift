import Foundation
import Testing
import VigilFeatures
import VigilTestSupport
import VigilTopology
@testable import VigilAnomaly

/// Detectors keep their state in the feature engine's key slots: a key's snapshot restores it
/// bit for bit into another engine, a rolled-back batch leaves it as it was, and the scores
/// are what the detectors compute on their own.
struct DetectorStateTests {
    static let fields = ["a", "b", "c"]

    static func stage() -> StageSpec {
        var pca = PCABaselineSettings()
        pca.baselineEvents = 60
        pca.smoothing = 0.5
        pca.average = 5
        pca.forgetting = 0.01
        pca.refitEvery = 20
        var gaussian = GaussianTailSettings()
        gaussian.window = 20
        gaussian.historicWindow = 120
        gaussian.learningPeriod = 30
        gaussian.estimationSamples = 20
        gaussian.reestimationPeriod = 25
        var trees = HalfSpaceTreesSettings()
        trees.trees = 3
        trees.height = 4
        trees.window = 25
        trees.limits = ["a": -4...4, "b": -4...4, "c": -4...4]
        return StageSpec(name: "s", key: "k", features: [FeatureSpec(name: "A_MEAN", aggregation: .mean, field: "a", window: .sliding(size: 10_000))],
                         detectors: [DetectorSpec(name: "PCA", kind: .pcaBaseline(pca), fields: fields),
                                     DetectorSpec(name: "TAIL", kind: .gaussianTail(gaussian), fields: ["b"]),
                                     DetectorSpec(name: "HST", kind: .halfSpaceTrees(trees), fields: fields)])
    }

    /// A stream of correlated readings for two keys, with a shift in key 1 from event 300.
    static func events(count: Int) -> [(key: StateKey, time: Int64, inputs: [Double])] {
        var generator = SeededRandom(seed: 5)
        return (0..<count).map { index in
            let key: StateKey = .int(Int64(index % 2))
            let base = generator.normal()
            var inputs = [base, 0.8 * base + 0.3 * generator.normal(), generator.normal()]
            if index >= 300, index % 2 == 1 { inputs[1] += 3 }
            return (key, Int64(index) * 1000, inputs)
        }
    }

    static func run(_ engine: FeatureEngine, _ events: ArraySlice<(key: StateKey, time: Int64, inputs: [Double])>) -> [[Double]] {
        events.map { event in
            var row = [Double](repeating: .nan, count: engine.featureNames.count)
            event.inputs.withUnsafeBufferPointer { inputs in
                row.withUnsafeMutableBufferPointer { _ = engine.process(key: event.key, time: event.time, inputs: inputs, into: $0) }
            }
            return row
        }
    }

    static func same(_ a: [[Double]], _ b: [[Double]]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { zip($0, $1).allSatisfy { $0.bitPattern == $1.bitPattern } }
    }

    @Test func columnsFollowTheFeatures() {
        let engine = FeatureEngine(stage: Self.stage())
        #expect(engine.featureNames == ["A_MEAN", "PCA", "PCA_T2", "PCA_Q", "TAIL", "TAIL_RAW", "TAIL_LIKELIHOOD", "HST"])
    }

    @Test func snapshotsRestoreDetectorsBitForBit() throws {
        let events = Self.events(count: 600)
        let original = FeatureEngine(stage: Self.stage())
        let reference = Self.run(original, events[...])
        let first = FeatureEngine(stage: Self.stage())
        _ = Self.run(first, events[..<350])
        let restored = FeatureEngine(stage: Self.stage())
        for key in first.allKeys { try restored.restore(snapshot: #require(first.snapshot(key: key))) }
        let rest = Self.run(restored, events[350...])
        #expect(Self.same(rest, Array(reference[350...])))
        // The detectors did their work: scores after the baselines, the shift seen by PCA on key 1.
        let shifted = reference[400...].enumerated().filter { $0.offset % 2 == 1 }.map { $0.element[1] }
        let steady = reference[400...].enumerated().filter { $0.offset % 2 == 0 }.map { $0.element[1] }
        #expect(shifted.allSatisfy { $0 > 0.5 }, "every shifted reading is past the limits")
        #expect(steady.filter { $0 > 0.5 }.count < 10, "few false alarms on the steady key")
        #expect(reference[10][1] == 0 && reference[10][2].isNaN, "the baseline scores 0")
        #expect(reference.suffix(100).allSatisfy { (0...1).contains($0[7]) && (0...1).contains($0[4]) })
    }

    @Test func rollbackRestoresDetectors() {
        let events = Self.events(count: 500)
        let straight = FeatureEngine(stage: Self.stage())
        let reference = Self.run(straight, events[...])
        let engine = FeatureEngine(stage: Self.stage())
        _ = Self.run(engine, events[..<320])
        engine.beginBatch()
        _ = Self.run(engine, events[320..<420])
        #expect(Set(engine.touchedKeys) == [.int(0), .int(1)])
        engine.rollbackBatch()
        engine.beginBatch()
        let again = Self.run(engine, events[320...])
        engine.commitBatch()
        #expect(Self.same(again, Array(reference[320...])))
    }

    /// An event too late to place is scored (the default late-event policy) against what the
    /// detectors learnt, and teaches them nothing: the stream after it scores as without it.
    @Test func anUnplacedLateEventIsScoredButNotLearnt() {
        let events = Self.events(count: 400)
        let reference = Self.run(FeatureEngine(stage: Self.stage()), events[...])
        let engine = FeatureEngine(stage: Self.stage())
        let before = Self.run(engine, events[..<300])
        var late = [Double](repeating: .nan, count: engine.featureNames.count)
        let outcome = [0.1, 0.2, 5.0].withUnsafeBufferPointer { inputs in
            late.withUnsafeMutableBufferPointer { engine.process(key: .int(0), time: 100_000, inputs: inputs, into: $0) }
        }
        #expect(outcome.beyondLateness != nil && outcome.isAccepted)
        #expect([late[1], late[4], late[7]].allSatisfy { (0...1).contains($0) } && late[2].isFinite, "scored against what was learnt: \(late)")
        let after = Self.run(engine, events[300...])
        #expect(Self.same(before + after, reference))
    }

    @Test func aSnapshotOfOtherSettingsIsRefused() throws {
        let engine = FeatureEngine(stage: Self.stage())
        _ = Self.run(engine, Self.events(count: 10)[...])
        var other = Self.stage()
        other.detectors[0].kind = .pcaBaseline(PCABaselineSettings())
        let different = FeatureEngine(stage: other)
        #expect(throws: (any Error).self) { try different.restore(snapshot: engine.snapshot(key: .int(0))!) }
    }

    @Test func pcaLimitsMatchTheirDistributions() throws {
        // F(3, 397) at 0.999 and the normal quantile, against scipy.stats.
        #expect(abs(Distributions.fQuantile(0.999, 3, 397) - 5.527616934286825) < 1e-9)
        #expect(abs(Distributions.normalQuantile(0.9999) - 3.719016485455709) < 1e-12)
        #expect(abs(Distributions.normalQuantile(0.025) + 1.959963984540054) < 1e-12)
        let eigen = try SymmetricEigen(symmetric: [2, 1, 0, 1, 2, 0, 0, 0, 5], n: 3)
        #expect(zip(eigen.values, [5, 3, 1]).allSatisfy { abs($0 - $1) < 1e-12 })
    }
}
