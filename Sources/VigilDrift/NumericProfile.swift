/// The reference distribution of one numeric feature (or of the model score).
///
/// Statistics are over the non-missing values; a value is missing when it is NaN or infinite.
public struct NumericProfile: Codable, Sendable, Equatable {
    /// Feature name, as in the topology (the score uses the builder's score name).
    public var feature: String
    /// Number of non-missing values.
    public var count: Int
    /// Number of missing values.
    public var missingCount: Int
    /// `missingCount / (count + missingCount)`.
    public var missingShare: Double
    /// Arithmetic mean.
    public var mean: Double
    /// Population standard deviation (NumPy's `std` with `ddof=0`).
    public var std: Double
    /// Smallest value.
    public var min: Double
    /// Largest value.
    public var max: Double
    /// Interior bin edges, strictly increasing: bin 0 is `(−∞, binEdges[0]]`, bin `i` is
    /// `(binEdges[i−1], binEdges[i]]`, the last bin `(binEdges.last, +∞)`. They are the
    /// reference quantiles at `1/bins ... (bins−1)/bins` with repeats dropped, so a feature with
    /// few distinct values has fewer bins than configured.
    public var binEdges: [Double]
    /// Share of the reference values in each bin; `binEdges.count + 1` values summing to 1.
    public var binProportions: [Double]
    /// Fine quantiles for the Kolmogorov–Smirnov and Wasserstein statistics.
    public var sketch: QuantileSketch

    /// Summarises a sample; `sorted` holds the non-missing values in ascending order.
    init(feature: String, sorted: [Double], missingCount: Int, bins: Int, sketchResolution: Int) throws {
        guard !sorted.isEmpty else { throw DriftError.emptyFeature(feature) }
        self.feature = feature
        count = sorted.count
        self.missingCount = missingCount
        missingShare = Double(missingCount) / Double(sorted.count + missingCount)
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        self.mean = mean
        std = (sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(sorted.count)).squareRoot()
        min = sorted[0]
        max = sorted[sorted.count - 1]
        binEdges = SortedSample.binEdges(sorted, bins: bins)
        var binCounts = Array(repeating: 0, count: binEdges.count + 1)
        for value in sorted { binCounts[SortedSample.binIndex(value, edges: binEdges)] += 1 }
        binProportions = binCounts.map { Double($0) / Double(sorted.count) }
        sketch = QuantileSketch(sorted: sorted, resolution: sketchResolution)
    }

    func validate(_ place: String) throws {
        guard count > 0 else { throw DriftError.invalidProfile("\(place).count must be positive") }
        guard missingCount >= 0 else { throw DriftError.invalidProfile("\(place).missingCount is negative") }
        for (field, value) in [("mean", mean), ("std", std), ("min", min), ("max", max), ("missingShare", missingShare)] {
            guard value.isFinite else { throw DriftError.invalidProfile("\(place).\(field) is not finite") }
        }
        guard std >= 0, min <= max else { throw DriftError.invalidProfile("\(place): std < 0 or min > max") }
        for index in binEdges.indices {
            guard binEdges[index].isFinite else { throw DriftError.invalidProfile("\(place).binEdges[\(index)] is not finite") }
            if index > 0, binEdges[index] <= binEdges[index - 1] {
                throw DriftError.invalidProfile("\(place).binEdges[\(index)] is not above binEdges[\(index - 1)]")
            }
        }
        guard binProportions.count == binEdges.count + 1 else {
            throw DriftError.invalidProfile(
                "\(place).binProportions has \(binProportions.count) values, binEdges needs \(binEdges.count + 1)")
        }
        if let index = binProportions.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw DriftError.invalidProfile("\(place).binProportions[\(index)] is not in [0, 1]")
        }
        try sketch.validate("\(place).sketch")
    }
}
