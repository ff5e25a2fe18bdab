/// One window's category counts for a categorical feature: what its ``CategoricalDrift`` is
/// computed from.
struct CategoricalAccumulator: Sendable, Equatable {
    private(set) var count = 0
    private(set) var missingCount = 0
    // Aligned with the reference's categories; categories never seen in the reference are
    // pooled, since they have no reference share to compare one by one.
    private var counts: [Int]
    private var unseenCount = 0

    init(reference: CategoricalProfile) {
        counts = Array(repeating: 0, count: reference.categories.count)
    }

    mutating func add(_ value: String?, categoryIndex: [String: Int]) {
        guard let value else {
            missingCount += 1
            return
        }
        count += 1
        if let index = categoryIndex[value] { counts[index] += 1 } else { unseenCount += 1 }
    }

    func drift(
        reference: CategoricalProfile, thresholds: DriftThresholds, minimumCount: Int, psiFloor: Double
    ) -> CategoricalDrift {
        let observed = count + missingCount
        var drift = CategoricalDrift(
            feature: reference.feature, count: count,
            missingShare: observed == 0 ? 0 : Double(missingCount) / Double(observed), severity: .none)
        guard count > 0 else { return drift }
        // One extra bin for unseen categories, with reference share 0: PSI floors it, JS needs
        // nothing, and chi-square only includes it when the window has such values.
        let referenceShares = reference.shares + [0]
        let windowCounts = (counts + [unseenCount]).map(Double.init)
        let windowShares = windowCounts.map { $0 / Double(count) }
        let psi = DriftStatistics.populationStabilityIndex(
            expected: referenceShares, actual: windowShares, floor: psiFloor)
        drift.unseenShare = Double(unseenCount) / Double(count)
        drift.psi = psi
        drift.jensenShannon = DriftStatistics.jensenShannonDistance(referenceShares, windowShares)
        let bins = unseenCount > 0 ? referenceShares.count : reference.shares.count
        if bins >= 2 {
            // Expected counts must be positive and sum to the window count: floor, then renormalise.
            let floored = referenceShares.prefix(bins).map { Swift.max($0, psiFloor) }
            let flooredTotal = floored.reduce(0, +)
            let expected = floored.map { $0 / flooredTotal * Double(count) }
            let test = DriftStatistics.chiSquare(observed: Array(windowCounts.prefix(bins)), expected: expected)
            drift.chiSquare = test.statistic
            drift.chiSquareDegreesOfFreedom = test.degreesOfFreedom
            drift.chiSquarePValue = test.pValue
        }
        drift.severity = count >= minimumCount ? thresholds.severity(psi: psi) : .none
        return drift
    }
}
