/// The reference distribution of one categorical feature: the share of each category seen.
public struct CategoricalProfile: Codable, Sendable, Equatable {
    /// Feature name, as in the topology.
    public var feature: String
    /// Number of non-missing values.
    public var count: Int
    /// Number of missing (nil) values.
    public var missingCount: Int
    /// `missingCount / (count + missingCount)`.
    public var missingShare: Double
    /// Categories seen in the reference period, in ascending order.
    public var categories: [String]
    /// Share of the non-missing values in each category, aligned with `categories`.
    public var shares: [Double]

    init(feature: String, counts: [String: Int], missingCount: Int) throws {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { throw DriftError.emptyFeature(feature) }
        self.feature = feature
        count = total
        self.missingCount = missingCount
        missingShare = Double(missingCount) / Double(total + missingCount)
        categories = counts.keys.sorted()
        shares = categories.map { Double(counts[$0]!) / Double(total) }
    }

    func validate(_ place: String) throws {
        guard count > 0 else { throw DriftError.invalidProfile("\(place).count must be positive") }
        guard missingCount >= 0 else { throw DriftError.invalidProfile("\(place).missingCount is negative") }
        guard !categories.isEmpty, categories.count == shares.count else {
            throw DriftError.invalidProfile("\(place): categories and shares must be non-empty and of equal length")
        }
        for index in categories.indices.dropFirst() where categories[index] <= categories[index - 1] {
            throw DriftError.invalidProfile("\(place).categories[\(index)] is not after categories[\(index - 1)] (sorted, unique)")
        }
        if let index = shares.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw DriftError.invalidProfile("\(place).shares[\(index)] is not in [0, 1]")
        }
    }
}
