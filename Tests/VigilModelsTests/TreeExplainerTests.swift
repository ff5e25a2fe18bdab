import Foundation
import Testing
@testable import VigilModels

/// TreeSHAP contributions against the libraries' own (`pred_contribs=True`, `pred_contrib=True`),
/// on the probe rows of the scoring fixtures (NaNs, values on split thresholds and their float32
/// neighbours, unseen categories): written by Fixtures/make_contributions.py.
@Suite struct TreeExplainerTests {
    static let cases = [
        "xgb_binary.json", "xgb_regression.json", "xgb_reglogistic.json", "xgb_deep.json",
        "lgbm_binary.txt", "lgbm_categorical.txt", "lgbm_zero_missing.txt", "lgbm_regression.txt",
    ]

    /// NAME.contribs.csv: one column per input, then the bias.
    static func contributions(_ name: String) throws -> (header: [String], rows: [[Double]]) {
        let text = try String(contentsOfFile: Fixtures.path("\(name).contribs.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n")
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        return (header, lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Double($0)! } })
    }

    @Test(arguments: cases)
    func contributionsMatchTheLibrary(file: String) throws {
        let name = String(file.prefix { $0 != "." })
        let probes = try Fixtures.expected(name)
        let (header, expected) = try Self.contributions(name)
        var explainer = try ModelLoader.loadExplainer(path: Fixtures.path(file))
        #expect(header == explainer.inputNames + ["bias"])
        #expect(expected.count == probes.rowCount)
        var kernel = try ModelLoader.load(path: Fixtures.path(file))
        let width = probes.names.count
        var worst = 0.0
        var worstPlace = ""
        var worstMargin = 0.0
        for row in 0..<probes.rowCount {
            let inputs = Array(probes.rows[(row * width)..<((row + 1) * width)])
            let phi = explainer.contributions(inputs)
            for (column, value) in phi.enumerated() {
                let error = abs(value - expected[row][column])
                if !(error <= worst) { worst = error; worstPlace = "row \(row + 2) column \(header[column]): \(value) vs \(expected[row][column])" }
            }
            // Contributions plus bias are the margin, which the kernel turns into the score.
            let margin = phi.reduce(0, +)
            let score = kernel.score(inputs)[0]
            let fromMargin = file.hasPrefix("xgb_regression") || file.hasPrefix("lgbm_regression") ? margin : 1 / (1 + exp(-margin))
            worstMargin = max(worstMargin, abs(fromMargin - score))
        }
        #expect(worst <= 1e-5, "\(file): worst difference \(worst) at \(worstPlace)")
        #expect(worstMargin <= 1e-9, "\(file): contributions plus bias differ from the kernel's margin by \(worstMargin)")
    }

    @Test func aModelWithoutCoversIsRefusedByName() throws {
        var text = try String(contentsOfFile: Fixtures.path("lgbm_binary.txt"), encoding: .utf8)
        text = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("internal_count=") && !$0.hasPrefix("leaf_count=") }
            .joined(separator: "\n")
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-no-covers-\(getpid()).txt").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // It still scores; it cannot be explained.
        _ = try ModelLoader.load(path: path)
        #expect(throws: ModelLoadError.self) { try ModelLoader.loadExplainer(path: path) }
        do { _ = try ModelLoader.loadExplainer(path: path) } catch {
            #expect(error.reason.contains("cover statistics"), "\(error)")
        }
        #expect(throws: ModelLoadError.self) { try ModelLoader.loadExplainer(path: Fixtures.path("logreg.json")) }
    }
}
