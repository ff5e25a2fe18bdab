import Testing
@testable import VigilModels

/// The Isolation Forest kernel against scikit-learn's `score_samples` on committed fixtures
/// (Fixtures/make_isolation_forest.py, exported by scripts/export-isolation-forest).
struct IsolationForestTests {
    @Test func scoresAsScikitLearn() throws {
        var kernel = try ModelLoader.load(path: Fixtures.path("iforest.json"))
        #expect(kernel is IsolationForestKernel)
        let fixture = try Fixtures.expected("iforest")
        #expect(kernel.inputNames == fixture.names)
        let scores = kernel.score(fixture.rows)
        let worst = zip(scores, fixture.expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(fixture.rowCount == 250)
        #expect(worst <= 1e-6, "largest difference from scikit-learn: \(worst)")
        #expect(worst <= 1e-12, "the same arithmetic: \(worst)")
    }

    @Test func averagePathLengthIsScikitLearns() {
        #expect(IsolationForestKernel.averagePathLength(1) == 0)
        #expect(IsolationForestKernel.averagePathLength(2) == 1)
        // 2 (ln 255 + γ) − 2·255/256
        #expect(abs(IsolationForestKernel.averagePathLength(256) - 10.244770920119917) < 1e-12)
    }

    @Test func brokenFilesAreNamed() {
        let bad = #"{"format": "vigil-isolation-forest", "version": 1, "inputs": ["a"], "max_samples": 8, "trees": [{"feature": [0], "threshold": [1], "left": [1], "right": [2], "depth": [0], "samples": [8]}]}"#
        #expect(throws: ModelLoadError.self) { try ModelLoader.load(bytes: Array(bad.utf8), name: "bad.json") }
    }
}
