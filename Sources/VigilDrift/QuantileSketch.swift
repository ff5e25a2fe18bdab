/// A fine quantile summary of a reference distribution, precise enough to compute the
/// Kolmogorov–Smirnov statistic and the Wasserstein distance of a window against it.
///
/// `knots[k]` is the reference quantile at probability `k / resolution` (NumPy's default
/// "linear" method), so `knots[0]` is the minimum and `knots[resolution]` the maximum.
/// `counts` and `gaps` are the reference values' own ``SketchHistogram`` over those knots:
/// they give the reference empirical CDF exactly at every knot, and its integral exactly over
/// every bin.
public struct QuantileSketch: Codable, Sendable, Equatable {
    /// Reference quantiles at probabilities `0, 1/resolution, ..., 1`; non-decreasing.
    public var knots: [Double]
    /// Reference values per bin (see ``SketchHistogram`` for the bin boundaries).
    public var counts: [Int]
    /// Sum of `knots[k+1] − x` over the reference values of bin `k`.
    public var gaps: [Double]

    /// Number of bins (`knots.count − 1`).
    public var resolution: Int { knots.count - 1 }

    /// Builds the sketch of a sorted, finite, non-empty sample.
    init(sorted values: [Double], resolution: Int) {
        var knots = [Double]()
        knots.reserveCapacity(resolution + 1)
        for k in 0...resolution {
            let quantile = SortedSample.quantile(values, Double(k) / Double(resolution))
            // Interpolation can wobble by an ulp; the binary search needs a monotone grid.
            knots.append(Swift.max(quantile, knots.last ?? quantile))
        }
        var histogram = SketchHistogram(binCount: resolution)
        for value in values { histogram.add(value, knots: knots) }
        self.knots = knots
        counts = histogram.counts
        gaps = histogram.gaps
    }

    /// The reference values as a histogram, ready to compare with a window's.
    var histogram: SketchHistogram {
        var histogram = SketchHistogram(binCount: resolution)
        histogram.counts = counts
        histogram.gaps = gaps
        histogram.total = counts.reduce(0, +)
        return histogram
    }

    func validate(_ place: String) throws {
        guard knots.count >= 2 else { throw DriftError.invalidProfile("\(place).knots: needs at least 2 values") }
        guard counts.count == knots.count - 1, gaps.count == knots.count - 1 else {
            throw DriftError.invalidProfile("\(place): counts and gaps need \(knots.count - 1) values (one per bin)")
        }
        for index in knots.indices {
            guard knots[index].isFinite else { throw DriftError.invalidProfile("\(place).knots[\(index)] is not finite") }
            if index > 0, knots[index] < knots[index - 1] {
                throw DriftError.invalidProfile("\(place).knots[\(index)] is below knots[\(index - 1)]")
            }
        }
        if let index = counts.firstIndex(where: { $0 < 0 }) {
            throw DriftError.invalidProfile("\(place).counts[\(index)] is negative")
        }
        guard counts.reduce(0, +) > 0 else { throw DriftError.invalidProfile("\(place).counts: all zero") }
    }
}
