import Foundation
import Testing
import VigilCodec
import VigilTopology
import VigilTestSupport

/// Paths to the repository's files and the shared reference data, found from this file's path.
enum TestData {
    static var repositoryRoot: String { RepositoryFiles.root }
    static var sharedData: String { RepositoryFiles.sharedData }
    static var transactions: String { RepositoryFiles.handbookTransactions }
    static var referenceFeatures: String { RepositoryFiles.handbookReferenceFeatures }
    static var cardFraudTopology: String { RepositoryFiles.cardFraudTopology }
    static var sensorTopology: String { RepositoryFiles.sensorTopology }

    /// The path of a shared data file; fails the test (not skips) when it is missing.
    static func require(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(FileManager.default.fileExists(atPath: path),
                     "reference data missing: \(path) (expected ../shared/data beside the repository)", sourceLocation: sourceLocation)
        return path
    }

    static var handbookFeatures: [String] { RepositoryFiles.handbookFeatures }

    /// Reads a CSV with an id column and the handbook's 14 feature columns into id → features.
    static func featuresByID(csvPath: String, idColumn: String) throws -> [Int64: [Double]] {
        let reader = CSVReader(source: try EncodedFile.openForReading(csvPath))
        guard try reader.next() else { return [:] }
        let header = reader.strings()
        let idIndex = try #require(header.firstIndex(of: idColumn), "\(csvPath) has no \(idColumn) column")
        let columns = try handbookFeatures.map { name in try #require(header.firstIndex(of: name), "\(csvPath) has no \(name) column") }
        var result: [Int64: [Double]] = [:]
        while try reader.next() {
            let id = try #require(reader.int(idIndex), "\(csvPath):\(reader.lineNumber): bad id")
            result[id] = columns.map { reader.double($0) ?? .nan }
        }
        return result
    }

    /// Compares computed features with the reference; returns a description of each mismatch (at most `limit`).
    static func compare(_ computed: [Int64: [Double]], reference: [Int64: [Double]], tolerance: Double = 1e-6, limit: Int = 20) -> (missing: Int, mismatches: Int, examples: [String]) {
        var missing = 0
        var mismatches = 0
        var examples: [String] = []
        for (id, expected) in reference.sorted(by: { $0.key < $1.key }) {
            guard let actual = computed[id] else { missing += 1; continue }
            for (index, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= tolerance) {
                mismatches += 1
                if examples.count < limit { examples.append("TRANSACTION_ID \(id) \(handbookFeatures[index]): computed \(a), reference \(e)") }
            }
        }
        return (missing, mismatches, examples)
    }
}
