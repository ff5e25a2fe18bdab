/// Counts and gap sums of values over a fixed, sorted grid of knots (a reference's fine quantiles).
///
/// Bin `k` holds the values in `(knots[k], knots[k+1]]`, except bin 0, which is closed on the
/// left (`[knots[0], knots[1]]`) so that the reference minimum has a home. Values outside the
/// knots go to `below` / `above`. Besides counts, every bin keeps the sum of distances from its
/// values to the bin's right knot (the tails keep the distance to the nearest knot). These gap
/// sums make the integral of the empirical CDF over each bin exact, which is what lets the
/// Wasserstein distance be computed from bins without keeping the raw values (see
/// ``DriftStatistics/sketchWasserstein(knots:reference:window:)``).
///
/// The histogram is a value type of two arrays and four scalars: copying it is O(1) until
/// one copy is mutated, then O(knots).
public struct SketchHistogram: Codable, Sendable, Equatable {
    /// Number of values strictly below `knots[0]`.
    public internal(set) var belowCount: Int
    /// Sum of `knots[0] − x` over the values below `knots[0]`.
    public internal(set) var belowGap: Double
    /// Number of values strictly above the last knot.
    public internal(set) var aboveCount: Int
    /// Sum of `x − knots.last` over the values above the last knot.
    public internal(set) var aboveGap: Double
    /// Values per bin; `counts.count == knots.count − 1`.
    public internal(set) var counts: [Int]
    /// Sum of `knots[k+1] − x` over the values of bin `k`.
    public internal(set) var gaps: [Double]
    /// Number of values added.
    public internal(set) var total: Int

    /// An empty histogram over `binCount` bins (that is, `binCount + 1` knots).
    public init(binCount: Int) {
        precondition(binCount >= 1, "a sketch needs at least two knots")
        belowCount = 0
        belowGap = 0
        aboveCount = 0
        aboveGap = 0
        counts = Array(repeating: 0, count: binCount)
        gaps = Array(repeating: 0, count: binCount)
        total = 0
    }

    /// Adds one finite value. `knots` must be the non-decreasing grid this histogram was made for.
    public mutating func add(_ value: Double, knots: [Double]) {
        knots.withUnsafeBufferPointer { add(value, knots: $0, index: nil) }
    }

    /// The same, finding the value's knot through `index` (built over `knots`) where given.
    @inline(__always)
    mutating func add(_ value: Double, knots: UnsafeBufferPointer<Double>, index: KnotIndex?) {
        withUnsafePointer(to: value) { add(UnsafeBufferPointer(start: $0, count: 1), knots: knots, index: index) }
    }

    /// Adds the finite values of `values` in order (the others are missing values, skipped),
    /// with the bin arrays opened once for all of them (the drift monitor's columns).
    mutating func add(_ values: UnsafeBufferPointer<Double>, knots: UnsafeBufferPointer<Double>, index: KnotIndex?) {
        let last = knots.count - 1
        counts.withUnsafeMutableBufferPointer { counts in
            gaps.withUnsafeMutableBufferPointer { gaps in
                for value in values where value.isFinite {
                    total += 1
                    if value < knots[0] {
                        belowCount += 1
                        belowGap += knots[0] - value
                    } else if value > knots[last] {
                        aboveCount += 1
                        aboveGap += value - knots[last]
                    } else {
                        // First knot >= value; with repeated knots this picks the first of the run, so a
                        // value equal to a repeated quantile lands in the bin that ends at that quantile.
                        let low = index.map { $0.lowerBound(value, in: knots) } ?? SortedSample.lowerBound(value, in: knots)
                        let bin = Swift.max(low, 1) - 1
                        counts[bin] += 1
                        gaps[bin] += knots[bin + 1] - value
                    }
                }
            }
        }
    }
}
