import Foundation
import Testing
@testable import VigilModels

/// Vigil's scores against the training libraries' own predictions, row by row.
@Suite struct FidelityTests {
    /// (model file, fixture name, tolerance): 1e-5 where the library sums trees in float32.
    static let cases: [(file: String, fixture: String, tolerance: Double)] = [
        ("xgb_binary.json", "xgb_binary", 1e-5),
        ("xgb_regression.json", "xgb_regression", 1e-5),
        ("xgb_reglogistic.json", "xgb_reglogistic", 1e-5),
        ("lgbm_binary.txt", "lgbm_binary", 1e-6),
        ("lgbm_categorical.txt", "lgbm_categorical", 1e-6),
        ("lgbm_zero_missing.txt", "lgbm_zero_missing", 1e-6),
        ("lgbm_regression.txt", "lgbm_regression", 1e-6),
        ("logreg.json", "logreg", 1e-6),
        ("mlp_relu.json", "mlp_relu", 1e-6),
        ("mlp_tanh.json", "mlp_tanh", 1e-6),
        ("mlp_softmax.json", "mlp_softmax", 1e-6),
        ("onnx_logreg.onnx", "onnx_logreg", 1e-6),
        ("onnx_mlp.onnx", "onnx_mlp", 1e-6),
        ("onnx_mlp_tanh.onnx", "onnx_mlp_tanh", 1e-6),
    ]

    /// The fixture's rows scored in batches of `batch`.
    static func scores(_ kernel: inout any ScoringKernel, _ expected: Fixtures.Expected, batch: Int) -> [Double] {
        let width = expected.names.count
        var scores = [Double](repeating: .nan, count: expected.rowCount)
        var start = 0
        while start < expected.rowCount {
            let count = min(batch, expected.rowCount - start)
            expected.rows.withUnsafeBufferPointer { rows in
                scores.withUnsafeMutableBufferPointer { scores in
                    kernel.score(rows: UnsafeBufferPointer(rebasing: rows[(start * width)..<((start + count) * width)]),
                                 rowCount: count,
                                 into: UnsafeMutableBufferPointer(rebasing: scores[start..<(start + count)]))
                }
            }
            start += count
        }
        return scores
    }

    static func check(_ kernel: inout any ScoringKernel, against expected: Fixtures.Expected, tolerance: Double,
                      batch: Int, label: String) {
        let scores = Self.scores(&kernel, expected, batch: batch)
        var worst = 0.0
        var worstRow = -1
        for row in 0..<expected.rowCount {
            let error = abs(scores[row] - expected.expected[row])
            if !(error <= worst) { worst = error; worstRow = row }
        }
        #expect(worst <= tolerance, "\(label) batch \(batch): worst error \(worst) at row \(worstRow + 2) (score \(worstRow >= 0 ? scores[worstRow] : .nan), expected \(worstRow >= 0 ? expected.expected[worstRow] : .nan))")
    }

    @Test(arguments: cases.indices)
    func scoresMatchTheLibrary(caseIndex: Int) throws {
        let (file, fixture, tolerance) = Self.cases[caseIndex]
        let expected = try Fixtures.expected(fixture)
        var kernel = try ModelLoader.load(path: Fixtures.path(file))
        #expect(kernel.inputNames == expected.names)
        for batch in [1, 7, 64, 1024] {
            Self.check(&kernel, against: expected, tolerance: tolerance, batch: batch, label: file)
        }
    }

    /// A row's score is the same bits whatever the size of its batch: small batches are walked a
    /// few trees at a time or scanned a row at a time, larger ones scanned eight rows at a time,
    /// and every path adds the trees' leaves in the same order.
    @Test(arguments: ["xgb_binary.json", "xgb_regression.json", "lgbm_binary.txt", "lgbm_regression.txt",
                      "lgbm_zero_missing.txt", "lgbm_categorical.txt"])
    func treeScoresDoNotDependOnTheBatchSize(file: String) throws {
        let expected = try Fixtures.expected(String(file.prefix { $0 != "." }))
        var kernel = try ModelLoader.load(path: Fixtures.path(file))
        let whole = Self.scores(&kernel, expected, batch: expected.rowCount).map(\.bitPattern)
        for batch in [1, 2, 3, 4, 5, 8, 9, 16, 17, 64] {
            #expect(Self.scores(&kernel, expected, batch: batch).map(\.bitPattern) == whole, "\(file) batch \(batch)")
        }
    }

    @Test(arguments: TreeEnsembleKernel.Layout.allCases)
    func everyTreeLayoutScoresAlike(layout: TreeEnsembleKernel.Layout) throws {
        for (file, fixture) in [("xgb_binary.json", "xgb_binary"), ("lgbm_categorical.txt", "lgbm_categorical")] {
            var kernel = try ModelLoader.load(path: Fixtures.path(file), options: .init(treeLayout: layout))
            Self.check(&kernel, against: try Fixtures.expected(fixture), tolerance: 1e-5, batch: 100, label: "\(file) \(layout)")
        }
    }

    @Test(arguments: TreeEnsembleKernel.Traversal.allCases)
    func everyTreeTraversalMatchesTheLibrary(traversal: TreeEnsembleKernel.Traversal) throws {
        for (file, fixture, tolerance) in Self.cases where !file.hasSuffix(".json") || file.hasPrefix("xgb") {
            guard !file.hasSuffix(".onnx") else { continue }
            var kernel = try ModelLoader.load(path: Fixtures.path(file), options: .init(treeTraversal: traversal))
            let trees = try #require(kernel as? TreeEnsembleKernel)
            if traversal == .walk { #expect(trees.quickScorerTreeCount == 0) }
            // Only the plain numeric models are QuickScorer's entirely.
            if traversal == .quickScorer, file.hasPrefix("xgb") || file == "lgbm_binary.txt" {
                #expect(trees.quickScorerTreeCount == trees.treeCount, "\(file)")
            }
            for batch in [1, 7, 100] {
                Self.check(&kernel, against: try Fixtures.expected(fixture), tolerance: tolerance, batch: batch, label: "\(file) \(traversal)")
            }
        }
    }

    @Test func doublePrecisionDenseKernelMatchesScikitLearn() throws {
        // Dense models default to float32 (sgemm, as the issue asks; it meets 1e-6 on these
        // models); double is the option for inputs whose scale float32 cannot carry to 1e-6.
        for name in ["logreg", "mlp_relu", "mlp_tanh", "mlp_softmax"] {
            var kernel = try ModelLoader.load(path: Fixtures.path("\(name).json"), options: .init(densePrecision: .double))
            Self.check(&kernel, against: try Fixtures.expected(name), tolerance: 1e-12, batch: 64, label: "\(name) dgemm")
        }
    }

    @Test func cardFraudModelLoadsWithTheTopologyInputs() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("topologies/models/card-fraud-xgboost.json").path
        var kernel = try ModelLoader.load(path: path)
        let inputs = [
            "TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
            "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
            "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
            "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
            "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
            "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
            "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
        ]
        #expect(kernel.inputNames == inputs)
        #expect((kernel as? TreeEnsembleKernel)?.treeCount == 100)
        // A large amount on a risky terminal scores above a small everyday one.
        let risky = [450.0, 0, 1, 3, 200, 10, 80, 40, 60, 5, 0.8, 20, 0.5, 60, 0.3]
        let everyday = [12.0, 0, 0, 2, 15, 10, 14, 40, 13, 5, 0, 20, 0, 60, 0]
        let scores = kernel.score(risky + everyday)
        #expect(scores.count == 2)
        #expect(scores[0] > 0.5 && scores[1] < 0.05, "\(scores)")
    }
}
