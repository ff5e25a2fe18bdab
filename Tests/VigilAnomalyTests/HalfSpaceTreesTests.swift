import Foundation
import Testing
import VigilTopology
@testable import VigilAnomaly

/// Half-Space Trees against River 0.26's `anomaly.HalfSpaceTrees` on a seeded stream
/// (Fixtures/make_hst.py): the same seed draws the same trees through Python's Mersenne
/// Twister, so every score agrees.
struct HalfSpaceTreesTests {
    static func fixture() throws -> (names: [String], rows: [[Double]], expected: [Double]) {
        let url = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/hst.expected.csv")
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        var rows: [[Double]] = [], expected: [Double] = []
        for line in lines {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            rows.append(cells.dropLast().map { $0.isEmpty ? .nan : Double($0)! })
            expected.append(Double(cells.last!)!)
        }
        return (Array(header.dropLast()), rows, expected)
    }

    @Test func scoresAsRiverDoes() throws {
        let (names, rows, expected) = try Self.fixture()
        var settings = HalfSpaceTreesSettings()
        settings.trees = 6
        settings.height = 7
        settings.window = 40
        settings.seed = 42
        settings.limits = ["temp": 10...40]
        let detector = HalfSpaceTreesDetector(settings: settings, fields: names)
        var state = detector.makeState()
        var worst = 0.0
        for (row, reference) in zip(rows, expected) {
            var score = Double.nan
            row.withUnsafeBufferPointer { detector.process(&state, time: 0, inputs: $0.baseAddress!, outputs: &score) }
            worst = max(worst, abs(score - reference))
        }
        #expect(rows.count == 600)
        #expect(worst <= 1e-12, "largest difference from River: \(worst)")
        // The stream has scored past the first window, and the outliers stand out.
        #expect(expected.filter { $0 > 0.8 }.count >= 3)
    }

    @Test func pythonRandomMatchesCPython() {
        // random.Random(42).random(), .random(), uniform(0.15, 0.85) in CPython.
        var random = PythonRandom(seed: 42)
        #expect(random.random() == 0.6394267984578837)
        #expect(random.random() == 0.025010755222666936)
        #expect(random.uniform(0.15, 0.85) == 0.15 + 0.7 * 0.27502931836911926)
    }
}
