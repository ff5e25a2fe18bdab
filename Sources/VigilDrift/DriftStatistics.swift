import Foundation

/// The distance measures behind drift records, as pure functions.
///
/// Two families: functions of proportions or raw samples that match SciPy/NumPy exactly
/// (PSI, Jensen–Shannon, chi-square, and the two-sample KS and Wasserstein on raw values), and
/// the `sketch…` functions that compute KS and Wasserstein from ``SketchHistogram``s, which is
/// what windows keep. `docs/drift.md` states how far the sketch versions can be from the
/// raw-sample ones.
public enum DriftStatistics {
    /// Default floor for proportions in ``populationStabilityIndex(expected:actual:floor:)``.
    public static let defaultPSIFloor = 1e-4

    /// Population stability index `Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)` (natural log).
    ///
    /// Smoothing: every proportion below `floor` (default 1e-4) is raised to `floor` before the
    /// sum, with no renormalisation. An empty bin would otherwise make the index infinite; each
    /// term stays non-negative (its two factors share a sign), so PSI stays ≥ 0, and a bin
    /// empty on both sides contributes exactly 0.
    public static func populationStabilityIndex(
        expected: [Double], actual: [Double], floor: Double = defaultPSIFloor
    ) -> Double {
        precondition(expected.count == actual.count, "PSI needs proportions over the same bins")
        var index = 0.0
        for (e, a) in zip(expected, actual) {
            let expectedShare = Swift.max(e, floor)
            let actualShare = Swift.max(a, floor)
            index += (actualShare - expectedShare) * log(actualShare / expectedShare)
        }
        return index
    }

    /// Jensen–Shannon distance with base-2 logarithms, in [0, 1]; equal to
    /// `scipy.spatial.distance.jensenshannon(p, q, base=2)`. Inputs are weights: each is
    /// normalised to sum 1 first. Empty bins need no smoothing here (0 · log 0 = 0).
    public static func jensenShannonDistance(_ p: [Double], _ q: [Double]) -> Double {
        precondition(p.count == q.count, "Jensen–Shannon needs weights over the same bins")
        let pTotal = p.reduce(0, +)
        let qTotal = q.reduce(0, +)
        var left = 0.0
        var right = 0.0
        for (pWeight, qWeight) in zip(p, q) {
            let pShare = pWeight / pTotal
            let qShare = qWeight / qTotal
            let middle = (pShare + qShare) / 2
            if pShare > 0 { left += pShare * log(pShare / middle) }
            if qShare > 0 { right += qShare * log(qShare / middle) }
        }
        // Rounding can leave a hair below zero for identical inputs; sqrt would give NaN.
        return Swift.max((left + right) / log(2.0) / 2, 0).squareRoot()
    }

    /// Result of a chi-square goodness-of-fit test.
    public struct ChiSquare: Sendable, Equatable {
        /// `Σ (oᵢ − eᵢ)² / eᵢ`.
        public var statistic: Double
        /// Number of categories minus one.
        public var degreesOfFreedom: Int
        /// Upper-tail probability of `statistic` under the chi-square distribution.
        public var pValue: Double
    }

    /// Pearson's chi-square test of observed counts against expected counts, as
    /// `scipy.stats.chisquare(observed, expected)`. Expected counts must be positive.
    public static func chiSquare(observed: [Double], expected: [Double]) -> ChiSquare {
        precondition(observed.count == expected.count && observed.count >= 2, "chi-square needs ≥ 2 matching categories")
        var statistic = 0.0
        for (o, e) in zip(observed, expected) { statistic += (o - e) * (o - e) / e }
        let degreesOfFreedom = observed.count - 1
        return ChiSquare(
            statistic: statistic, degreesOfFreedom: degreesOfFreedom,
            pValue: ChiSquareDistribution.survival(statistic, degreesOfFreedom: degreesOfFreedom))
    }

    /// Two-sample Kolmogorov–Smirnov statistic `sup |F₁ − F₂|` of raw samples; equal to the
    /// statistic of `scipy.stats.ks_2samp`. Non-empty, finite samples.
    public static func kolmogorovSmirnov(_ first: [Double], _ second: [Double]) -> Double {
        let a = first.sorted()
        let b = second.sorted()
        var i = 0
        var j = 0
        var supremum = 0.0
        while i < a.count, j < b.count {
            // Step past every copy of the smaller value in both samples, so ties move together.
            let value = Swift.min(a[i], b[j])
            while i < a.count, a[i] == value { i += 1 }
            while j < b.count, b[j] == value { j += 1 }
            supremum = Swift.max(supremum, abs(Double(i) / Double(a.count) - Double(j) / Double(b.count)))
        }
        return supremum
    }

    /// First Wasserstein distance `∫ |F₁ − F₂| dx` of raw samples; equal to
    /// `scipy.stats.wasserstein_distance`. Non-empty, finite samples.
    public static func wasserstein(_ first: [Double], _ second: [Double]) -> Double {
        let a = first.sorted()
        let b = second.sorted()
        var i = 0
        var j = 0
        var distance = 0.0
        var previous = Swift.min(a[0], b[0])
        while i < a.count || j < b.count {
            let value = Swift.min(i < a.count ? a[i] : .infinity, j < b.count ? b[j] : .infinity)
            distance += abs(Double(i) / Double(a.count) - Double(j) / Double(b.count)) * (value - previous)
            while i < a.count, a[i] == value { i += 1 }
            while j < b.count, b[j] == value { j += 1 }
            previous = value
        }
        return distance
    }

    /// KS statistic of two histograms over the same knots, evaluated where both empirical CDFs
    /// are known exactly: just below the first knot and at every knot.
    ///
    /// It never exceeds the raw-sample statistic, and falls short of it by at most the largest
    /// share of either sample inside a single bin (the CDFs can only part further between knots
    /// by what a bin holds).
    public static func sketchKolmogorovSmirnov(reference: SketchHistogram, window: SketchHistogram) -> Double {
        precondition(reference.counts.count == window.counts.count && reference.total > 0 && window.total > 0)
        let referenceTotal = Double(reference.total)
        let windowTotal = Double(window.total)
        var referenceMass = Double(reference.belowCount)
        var windowMass = Double(window.belowCount)
        var supremum = abs(windowMass / windowTotal - referenceMass / referenceTotal)
        for bin in reference.counts.indices {
            referenceMass += Double(reference.counts[bin])
            windowMass += Double(window.counts[bin])
            supremum = Swift.max(supremum, abs(windowMass / windowTotal - referenceMass / referenceTotal))
        }
        return supremum
    }

    /// Wasserstein distance of two histograms over the same knots.
    ///
    /// Per bin, the integral of `F_window − F_reference` is exact (the gap sums give each
    /// CDF's integral over the bin); the distance adds the absolute values of those integrals,
    /// and of the tails beyond the knots. It equals the raw-sample distance whenever the two
    /// CDFs do not cross inside a bin, and is never above it.
    public static func sketchWasserstein(knots: [Double], reference: SketchHistogram, window: SketchHistogram) -> Double {
        precondition(knots.count == reference.counts.count + 1 && reference.counts.count == window.counts.count)
        precondition(reference.total > 0 && window.total > 0)
        let referenceTotal = Double(reference.total)
        let windowTotal = Double(window.total)
        var distance = abs(window.belowGap / windowTotal - reference.belowGap / referenceTotal)
            + abs(window.aboveGap / windowTotal - reference.aboveGap / referenceTotal)
        var referenceMass = Double(reference.belowCount)
        var windowMass = Double(window.belowCount)
        for bin in reference.counts.indices {
            let width = knots[bin + 1] - knots[bin]
            let integral = width * (windowMass / windowTotal - referenceMass / referenceTotal)
                + window.gaps[bin] / windowTotal - reference.gaps[bin] / referenceTotal
            distance += abs(integral)
            referenceMass += Double(reference.counts[bin])
            windowMass += Double(window.counts[bin])
        }
        return distance
    }
}
