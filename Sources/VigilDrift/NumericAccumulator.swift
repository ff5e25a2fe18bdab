import Foundation

/// One window's running summary of a numeric feature: what its ``NumericDrift`` is computed from.
struct NumericAccumulator: Sendable, Equatable {
    private(set) var count = 0
    private(set) var missingCount = 0
    // Welford's running mean and squared deviations: no cancellation on large, close values.
    private var mean = 0.0
    private var squaredDeviations = 0.0
    private var minimum = Double.infinity
    private var maximum = -Double.infinity
    private var binCounts: [Int]
    private var sketch: SketchHistogram

    init(reference: NumericProfile) {
        binCounts = Array(repeating: 0, count: reference.binEdges.count + 1)
        sketch = SketchHistogram(binCount: reference.sketch.resolution)
    }

    /// Adds one value (a value NaN or infinite counts as missing).
    @inline(__always)
    mutating func add(_ value: Double, bins: NumericBins) {
        withUnsafePointer(to: value) { add(UnsafeBufferPointer(start: $0, count: 1), bins: bins) }
    }

    /// Adds `values` in order, with the bin and sketch arrays opened once for all of them
    /// rather than for each value (the drift monitor's columns,
    /// ``DriftWindow/add(_:range:reference:)``: 0.67 → 0.60 µs an event for the handbook's 15
    /// values, StageBench, 2026-12-06).
    mutating func add(_ values: UnsafeBufferPointer<Double>, bins: NumericBins) {
        binCounts.withUnsafeMutableBufferPointer { binCounts in
            for value in values {
                guard value.isFinite else {
                    missingCount += 1
                    continue
                }
                count += 1
                let delta = value - mean
                mean += delta / Double(count)
                squaredDeviations += delta * (value - mean)
                minimum = Swift.min(minimum, value)
                maximum = Swift.max(maximum, value)
                binCounts[SortedSample.lowerBound(value, in: bins.edges)] += 1
            }
        }
        // The sketch is a summary of its own: the same values in the same order, in a pass of its own.
        sketch.add(values, knots: bins.knots, index: bins.knotIndex)
    }

    func drift(
        reference: NumericProfile, referenceSketch: SketchHistogram, thresholds: DriftThresholds,
        minimumCount: Int, psiFloor: Double
    ) -> NumericDrift {
        let observed = count + missingCount
        var drift = NumericDrift(
            feature: reference.feature, count: count,
            missingShare: observed == 0 ? 0 : Double(missingCount) / Double(observed), severity: .none)
        guard count > 0 else { return drift }
        let proportions = binCounts.map { Double($0) / Double(count) }
        let psi = DriftStatistics.populationStabilityIndex(
            expected: reference.binProportions, actual: proportions, floor: psiFloor)
        let wasserstein = DriftStatistics.sketchWasserstein(
            knots: reference.sketch.knots, reference: referenceSketch, window: sketch)
        drift.mean = mean
        drift.std = (squaredDeviations / Double(count)).squareRoot()
        drift.min = minimum
        drift.max = maximum
        drift.binProportions = proportions
        drift.psi = psi
        drift.ks = DriftStatistics.sketchKolmogorovSmirnov(reference: referenceSketch, window: sketch)
        drift.jensenShannon = DriftStatistics.jensenShannonDistance(reference.binProportions, proportions)
        drift.wasserstein = wasserstein
        drift.wassersteinNormalized = reference.std > 0 ? wasserstein / reference.std : nil
        drift.severity = count >= minimumCount ? thresholds.severity(psi: psi) : .none
        return drift
    }
}
