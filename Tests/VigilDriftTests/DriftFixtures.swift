import Foundation

/// The SciPy/NumPy answers written by `Fixtures/make_drift_fixtures.py`.
struct DriftFixtures: Decodable {
    struct NumericCase: Decodable {
        struct Expected: Decodable {
            var referenceCount: Int
            var referenceMissingShare: Double
            var referenceMean: Double
            var referenceStd: Double
            var referenceMin: Double
            var referenceMax: Double
            var binEdges: [Double]
            var referenceProportions: [Double]
            var knots: [Double]
            var referenceSketchCounts: [Int]
            var windowCount: Int
            var windowMissingShare: Double
            var windowMean: Double
            var windowStd: Double
            var windowMin: Double
            var windowMax: Double
            var windowProportions: [Double]
            var psi: Double
            var jensenShannon: Double
            var ksExact: Double
            var wassersteinExact: Double
            var ksSketch: Double
            var ksSketchBound: Double
            var wassersteinSketch: Double
        }
        var name: String
        var bins: Int
        var sketchResolution: Int
        var reference: [Double?]
        var window: [Double?]
        var expected: Expected
    }

    struct CategoricalCase: Decodable {
        struct Expected: Decodable {
            var categories: [String]
            var shares: [Double]
            var referenceMissingShare: Double
            var windowMissingShare: Double
            var windowCount: Int
            var unseenShare: Double
            var psi: Double
            var jensenShannon: Double
            var chiSquare: Double
            var chiSquareDegreesOfFreedom: Int
            var chiSquarePValue: Double
        }
        var name: String
        var reference: [String?]
        var window: [String?]
        var expected: Expected
    }

    struct JensenShannonCase: Decodable {
        var p: [Double]
        var q: [Double]
        var expected: Double
    }

    struct ChiSquareCase: Decodable {
        var observed: [Double]
        var expected: [Double]
        var statistic: Double
        var degreesOfFreedom: Int
        var pValue: Double
    }

    struct PSICase: Decodable {
        var expected: [Double]
        var actual: [Double]
        var psi: Double
    }

    var psiFloor: Double
    var numeric: [NumericCase]
    var categorical: [CategoricalCase]
    var jensenShannon: [JensenShannonCase]
    var chiSquare: [ChiSquareCase]
    var psi: [PSICase]

    static let shared: DriftFixtures = {
        guard let url = Bundle.module.url(forResource: "drift-fixtures", withExtension: "json", subdirectory: "Fixtures") else {
            fatalError("Fixtures/drift-fixtures.json is missing from the test bundle")
        }
        do {
            return try JSONDecoder().decode(DriftFixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("Fixtures/drift-fixtures.json: \(error)")
        }
    }()
}

/// `|actual − expected| ≤ tolerance · max(1, |expected|)`: absolute near zero, relative for large values.
func isClose(_ actual: Double?, _ expected: Double, tolerance: Double = 1e-9) -> Bool {
    guard let actual else { return false }
    return abs(actual - expected) <= tolerance * max(1, abs(expected))
}

func isClose(_ actual: [Double]?, _ expected: [Double], tolerance: Double = 1e-9) -> Bool {
    guard let actual, actual.count == expected.count else { return false }
    return zip(actual, expected).allSatisfy { isClose($0, $1, tolerance: tolerance) }
}
