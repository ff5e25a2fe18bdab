import Foundation
import VigilModels
import VigilTopology
import VigilTestSupport

/// The card-fraud topology of the repository and the handbook data beside it.
enum CardFraudData {
    static var repositoryRoot: String { RepositoryFiles.root }
    static var topology: String { RepositoryFiles.cardFraudTopology }
    static var transactions: String { HandbookTransactions.url.path }
    static var referenceFeatures: String { RepositoryFiles.handbookReferenceFeatures }

    /// The handbook's 14 baseline features, in topology order.
    static var features: [String] { RepositoryFiles.handbookFeatures }

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
