import Foundation

/// Where the repository's files and the shared reference data are, found from this file's path
/// (the reference data sits in `../shared/data` beside the clone, as on CI).
public enum RepositoryFiles {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var sharedData: String { root + "/../shared/data" }
    public static var handbookTransactions: String { sharedData + "/fraud-handbook/transactions.csv.lz4" }
    public static var handbookReferenceFeatures: String { sharedData + "/fraud-handbook/reference-features-2018-07-25_2018-07-31.csv.lz4" }
    public static var cardFraudTopology: String { root + "/topologies/card-fraud.yaml" }
    /// The per-channel (melted) sensor topology.
    public static var sensorTopology: String { root + "/topologies/sensor-channels.yaml" }
    /// The wide-row sensor topology with the multivariate baseline detector.
    public static var sensorAnomalyTopology: String { root + "/topologies/sensor-anomaly.yaml" }
    public static var metricAnomalyTopology: String { root + "/topologies/metric-anomaly.yaml" }
    public static var skab: String { sharedData + "/skab" }

    /// The handbook's 14 baseline features, in the card-fraud topology's order.
    public static let handbookFeatures = [
        "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
        "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
        "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
        "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
        "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
        "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
    ]
}
