import Foundation
import Testing
import VigilCodec
import VigilTopology

/// Paths to the repository's files and the shared reference data, found from this file's path.
enum TestData {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var sharedData: String { repositoryRoot + "/../shared/data" }
    static var transactions: String { sharedData + "/fraud-handbook/transactions.csv.lz4" }
    static var referenceFeatures: String { sharedData + "/fraud-handbook/reference-features-2018-07-25_2018-07-31.csv.lz4" }
    static var cardFraudTopology: String { repositoryRoot + "/topologies/card-fraud.yaml" }
    static var sensorTopology: String { repositoryRoot + "/topologies/sensor-anomaly.yaml" }

    /// The path of a shared data file; fails the test (not skips) when it is missing.
    static func require(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(FileManager.default.fileExists(atPath: path),
                     "reference data missing: \(path) (expected ../shared/data beside the repository)", sourceLocation: sourceLocation)
        return path
    }

    static let handbookFeatures = [
        "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
        "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
        "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
        "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
        "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
    ]

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
