import Foundation
import Testing
@testable import VigilModels

/// QuickScorer's one-row scan and, where the processor has AVX-512, its eight-row scan give the
/// same sums as each other and as the tree walk (the fidelity tests check against the libraries
/// through whichever scan the machine runs).
@Suite struct QuickScorerTests {
    static func sums(_ scorer: QuickScorer, rows: [Double], rowCount: Int, vectorised: Bool) -> [Double] {
        var sums = [Double](repeating: 0, count: rowCount)
        var scratch = [UInt64](repeating: 0, count: max(1, scorer.scratchCount))
        rows.withUnsafeBufferPointer { rows in
            sums.withUnsafeMutableBufferPointer { sums in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    scorer.accumulate(rows: rows.baseAddress!, rowCount: rowCount, into: sums.baseAddress!,
                                      scratch: scratch.baseAddress!, vectorised: vectorised)
                }
            }
        }
        return sums
    }

    @Test(arguments: [("xgb_binary.json", "xgb_binary"), ("lgbm_binary.txt", "lgbm_binary"), ("lgbm_regression.txt", "lgbm_regression")])
    func scansAgreeWithTheWalk(file: String, fixture: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(file))))
        var spec = file.hasSuffix(".json") ? try XGBoostModelReader.read(bytes) : try LightGBMModelReader.read(bytes)
        let expected = try Fixtures.expected(fixture)
        let trees = spec.trees.filter(QuickScorer.canExpress)
        #expect(!trees.isEmpty)
        let scorer = QuickScorer(trees: trees, featureCount: spec.inputNames.count)
        // The walk over the same trees, as raw sums.
        spec.trees = trees
        spec.baseMargin = 0
        spec.divisor = 1
        spec.output = .identity
        var walk = try TreeEnsembleKernel(spec: spec, traversal: .walk)
        for rowCount in [1, 7, 8, 9, expected.rowCount] {
            let rows = Array(expected.rows.prefix(rowCount * spec.inputNames.count))
            let reference = walk.score(rows)
            let scalar = Self.sums(scorer, rows: rows, rowCount: rowCount, vectorised: false)
            #expect(zip(scalar, reference).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(file) one-row scan, \(rowCount) rows")
            if QuickScorer.vectorised {
                let vector = Self.sums(scorer, rows: rows, rowCount: rowCount, vectorised: true)
                #expect(zip(vector, reference).allSatisfy { abs($0 - $1) <= 1e-9 }, "\(file) eight-row scan, \(rowCount) rows")
            }
        }
    }
}
