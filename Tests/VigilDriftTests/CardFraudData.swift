import Foundation
import VigilModels
import VigilTopology

/// The card-fraud topology of the repository and the handbook data beside it.
enum CardFraudData {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var topology: String { repositoryRoot + "/topologies/card-fraud.yaml" }
    static var transactions: String { HandbookTransactions.url.path }
    static var referenceFeatures: String {
        repositoryRoot + "/../shared/data/fraud-handbook/reference-features-2018-07-25_2018-07-31.csv.lz4"
    }

    /// The handbook's 14 baseline features, in topology order.
    static let features = [
        "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
        "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
        "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
        "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
        "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
    ]

    static let day: Int64 = 86_400_000
    /// 2018-07-25, 2018-08-01, 2018-08-15 and 2018-08-31 at 00:00 UTC.
    static let profileStart: Int64 = 1_532_476_800_000
    static let monitorStart: Int64 = profileStart + 7 * day
    static let shiftStart: Int64 = monitorStart + 14 * day
    static let monitorEnd: Int64 = monitorStart + 30 * day

    /// The topology's model, loaded as `vigil replay` and `vigil profile` load it.
    static func kernel(for topology: Topology) throws -> any ScoringKernel {
        try ModelLoader.load(path: topology.resolvedModelPath!)
    }
}
