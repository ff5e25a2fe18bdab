/// Sample quantiles by linear interpolation between order statistics: numpy's default
/// (`np.quantile(..., method="linear")`, Hyndman and Fan's type 7).
public enum Quantiles {
    /// The `levels` (each in [0, 1]) quantiles of `values`; NaN for each when `values` is empty.
    public static func linear(_ values: [Double], levels: [Double]) -> [Double] {
        let sorted = values.sorted()
        return levels.map { linear(sorted: sorted, level: $0) }
    }

    /// One quantile of already sorted values.
    static func linear(sorted: [Double], level: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = Double(sorted.count - 1) * min(max(level, 0), 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        // numpy's _lerp: exact at both ends.
        let difference = sorted[upper] - sorted[lower]
        return fraction >= 0.5 ? sorted[upper] - difference * (1 - fraction) : sorted[lower] + difference * fraction
    }
}
