import Foundation
import Testing
@testable import VigilModels

/// The ranked scan (``RankedForest``) against QuickScorer and the walk: the same leaf for every
/// row and tree, so the same score bits as QuickScorer (which adds leaves in the same order)
/// at every batch size, and the walk's sums up to the order of additions.
@Suite struct RankedForestTests {
    /// Thresholds and values that meet: duplicates across trees, values equal to thresholds,
    /// both zeros, both infinities.
    static let edgeValues: [Double] = [-.infinity, -1e300, -2.5, -1, -0.0, 0.0, 1e-35, 0.5, 1, 1.0.nextUp, 3, 1e300, .infinity]

    /// A leaf-wise tree (a random leaf split until it has `leaves` leaves), as LightGBM grows them.
    static func randomTree(leaves: Int, features: Int, using generator: inout SplitMix64) -> TreeEnsembleSpec.Tree {
        var nodes: [TreeEnsembleSpec.Node] = [.leaf(Double.random(in: -1...1, using: &generator))]
        var leafIndices = [0]
        while leafIndices.count < leaves {
            let pick = Int.random(in: 0..<leafIndices.count, using: &generator)
            let node = leafIndices[pick]
            let threshold = Bool.random(using: &generator)
                ? edgeValues.randomElement(using: &generator)! : Double.random(in: -3...3, using: &generator)
            let left = nodes.count
            nodes.append(.leaf(Double.random(in: -1...1, using: &generator)))
            nodes.append(.leaf(Double.random(in: -1...1, using: &generator)))
            nodes[node] = .split(feature: Int.random(in: 0..<features, using: &generator),
                                 rule: .lessThan(threshold, nanLeft: Bool.random(using: &generator)), left: left, right: left + 1)
            leafIndices[pick] = left
            leafIndices.append(left + 1)
        }
        return TreeEnsembleSpec.Tree(nodes: nodes)
    }

    static func randomRows(_ count: Int, features: Int, using generator: inout SplitMix64) -> [Double] {
        (0..<(count * features)).map { _ in
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: .nan
            case 1...4: edgeValues.randomElement(using: &generator)!
            default: Double.random(in: -3...3, using: &generator)
            }
        }
    }

    /// Raw sums (no transform) of `spec` under `traversal`, in batches of `batch` rows.
    static func sums(_ spec: TreeEnsembleSpec, traversal: TreeEnsembleKernel.Traversal, rows: [Double], batch: Int) throws -> [Double] {
        var kernel = try TreeEnsembleKernel(spec: spec, traversal: traversal)
        let width = spec.inputNames.count
        var scores: [Double] = []
        var start = 0
        while start < rows.count {
            let end = min(rows.count, start + batch * width)
            scores += kernel.score(Array(rows[start..<end]))
            start = end
        }
        return scores
    }

    /// A forest of `trees` random trees; 40 features reach the upper half of the row's ranks.
    static func randomSpec(trees: Int, leaves: ClosedRange<Int>, features: Int, seed: UInt64) -> TreeEnsembleSpec {
        var generator = SplitMix64(seed: seed)
        return TreeEnsembleSpec(inputNames: (0..<features).map { "f\($0)" },
                                trees: (0..<trees).map { _ in
                                    randomTree(leaves: Int.random(in: leaves, using: &generator), features: features, using: &generator)
                                })
    }

    @Test(arguments: [(features: 3, seed: 1 as UInt64), (features: 15, seed: 2), (features: 40, seed: 3), (features: 64, seed: 4)])
    func randomForestsScoreAsQuickScorerAndTheWalk(features: Int, seed: UInt64) throws {
        // Up to 32 leaves (the most the scan takes), single-leaf trees included; enough trees
        // for several QuickScorer blocks, whose sums the scan must form the same way.
        let spec = Self.randomSpec(trees: 300, leaves: 1...32, features: features, seed: seed)
        let kernel = try TreeEnsembleKernel(spec: spec, traversal: .rankedScan)
        #expect(kernel.rankedForest != nil || !RankedForest.available)
        #expect(kernel.quickScorer.blockCount > 1)
        var generator = SplitMix64(seed: seed &+ 100)
        let rows = Self.randomRows(97, features: features, using: &generator)
        let quick = try Self.sums(spec, traversal: .quickScorer, rows: rows, batch: 97).map(\.bitPattern)
        let walk = try Self.sums(spec, traversal: .walk, rows: rows, batch: 97)
        for batch in [1, 2, 3, 4, 5, 7, 8, 16, 17, 97] {
            let ranked = try Self.sums(spec, traversal: .rankedScan, rows: rows, batch: batch)
            #expect(ranked.map(\.bitPattern) == quick, "batch \(batch)")
            #expect(zip(ranked, walk).allSatisfy { abs($0 - $1) <= 1e-9 }, "batch \(batch) against the walk")
            let automatic = try Self.sums(spec, traversal: .automatic, rows: rows, batch: batch)
            #expect(automatic.map(\.bitPattern) == quick, "automatic, batch \(batch)")
        }
    }

    @Test func everyValueMeetsEveryThresholdExactly() throws {
        // One split per (threshold, NaN direction): each edge value against each threshold,
        // where a rank off by one would send it the wrong way.
        var trees: [TreeEnsembleSpec.Tree] = []
        for threshold in Self.edgeValues {
            for nanLeft in [false, true] {
                trees.append(.init(nodes: [.split(feature: 0, rule: .lessThan(threshold, nanLeft: nanLeft), left: 1, right: 2),
                                           .leaf(Double(trees.count + 1)), .leaf(-Double(trees.count + 1) * 1000)]))
            }
        }
        let spec = TreeEnsembleSpec(inputNames: ["x"], trees: trees)
        let values = Self.edgeValues + Self.edgeValues.map { $0.nextUp } + Self.edgeValues.map { $0.nextDown } + [.nan]
        for value in values {
            let ranked = try Self.sums(spec, traversal: .rankedScan, rows: [value], batch: 1)
            let walk = try Self.sums(spec, traversal: .walk, rows: [value], batch: 1)
            #expect(ranked == walk, "x = \(value)")
        }
    }

    @Test func treesTheScanCannotTakeKeepTheirPath() throws {
        // 33 leaves: more than one 32-bit leaf mask.
        var spec = Self.randomSpec(trees: 4, leaves: 33...33, features: 5, seed: 9)
        #expect(try TreeEnsembleKernel(spec: spec, traversal: .rankedScan).rankedForest == nil)
        // 65 features: more than the two rank vectors hold.
        spec = Self.randomSpec(trees: 4, leaves: 2...31, features: 65, seed: 10)
        #expect(try TreeEnsembleKernel(spec: spec, traversal: .rankedScan).rankedForest == nil)
        // LightGBM's zero-as-missing and categorical splits: QuickScorer cannot express them.
        for file in ["lgbm_zero_missing.txt", "lgbm_categorical.txt"] {
            let kernel = try #require(try ModelLoader.load(path: Fixtures.path(file), options: .init(treeTraversal: .rankedScan))
                as? TreeEnsembleKernel)
            #expect(kernel.rankedForest == nil, "\(file)")
        }
    }

    @Test(arguments: ["lgbm_binary.txt", "lgbm_regression.txt", "xgb_binary.json", "xgb_regression.json"])
    func fixturesScoreAsQuickScorer(file: String) throws {
        let expected = try Fixtures.expected(String(file.prefix { $0 != "." }))
        var ranked = try ModelLoader.load(path: Fixtures.path(file), options: .init(treeTraversal: .rankedScan))
        var quick = try ModelLoader.load(path: Fixtures.path(file), options: .init(treeTraversal: .quickScorer))
        let reference = FidelityTests.scores(&quick, expected, batch: expected.rowCount).map(\.bitPattern)
        for batch in [1, 2, 3, 4, 5, 16, 17, expected.rowCount] {
            #expect(FidelityTests.scores(&ranked, expected, batch: batch).map(\.bitPattern) == reference, "\(file) batch \(batch)")
        }
    }
}

/// LoaderTests' seeded generator, for the standard library's random draws.
extension SplitMix64: RandomNumberGenerator {}
