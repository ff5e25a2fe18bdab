import Testing
@testable import VigilDrift

/// Each statistic against SciPy/NumPy on fixed samples (Fixtures/make_drift_fixtures.py).
@Suite struct StatisticsFixtureTests {
    let fixtures = DriftFixtures.shared

    @Test func jensenShannonMatchesSciPyBase2() {
        for item in fixtures.jensenShannon {
            let distance = DriftStatistics.jensenShannonDistance(item.p, item.q)
            #expect(isClose(distance, item.expected), "p \(item.p) q \(item.q): \(distance) vs \(item.expected)")
        }
    }

    @Test func chiSquareMatchesSciPy() {
        for item in fixtures.chiSquare {
            let test = DriftStatistics.chiSquare(observed: item.observed, expected: item.expected)
            #expect(isClose(test.statistic, item.statistic), "\(item.observed): statistic \(test.statistic)")
            #expect(test.degreesOfFreedom == item.degreesOfFreedom)
            // Relative, because the p-values span many orders of magnitude.
            #expect(
                abs(test.pValue - item.pValue) <= 1e-9 * item.pValue,
                "\(item.observed): p \(test.pValue) vs \(item.pValue)")
        }
    }

    @Test func psiMatchesNumPyWithFloor() {
        for item in fixtures.psi {
            let psi = DriftStatistics.populationStabilityIndex(
                expected: item.expected, actual: item.actual, floor: fixtures.psiFloor)
            #expect(isClose(psi, item.psi), "\(item.expected) → \(item.actual): \(psi) vs \(item.psi)")
        }
    }

    @Test func rawSampleKSAndWassersteinMatchSciPy() {
        for item in fixtures.numeric {
            let reference = item.reference.compactMap { $0 }
            let window = item.window.compactMap { $0 }
            #expect(isClose(DriftStatistics.kolmogorovSmirnov(reference, window), item.expected.ksExact), "\(item.name)")
            #expect(isClose(DriftStatistics.wasserstein(reference, window), item.expected.wassersteinExact), "\(item.name)")
        }
    }

    @Test(arguments: DriftFixtures.shared.numeric.indices)
    func numericProfileAndWindowMatchNumPy(_ index: Int) throws {
        let item = fixtures.numeric[index]
        let expected = item.expected
        var builder = try ProfileBuilder(
            name: "fixture", numericFeatures: ["x"],
            configuration: .init(bins: item.bins, sketchResolution: item.sketchResolution))
        for value in item.reference { try builder.add(numeric: [value ?? .nan]) }
        let profile = try builder.build()
        let feature = try #require(profile.numeric.first)
        #expect(feature.count == expected.referenceCount, "\(item.name)")
        #expect(isClose(feature.missingShare, expected.referenceMissingShare), "\(item.name)")
        #expect(isClose(feature.mean, expected.referenceMean), "\(item.name)")
        #expect(isClose(feature.std, expected.referenceStd), "\(item.name)")
        #expect(feature.min == expected.referenceMin && feature.max == expected.referenceMax, "\(item.name)")
        #expect(isClose(feature.binEdges, expected.binEdges), "\(item.name): edges \(feature.binEdges)")
        #expect(isClose(feature.binProportions, expected.referenceProportions), "\(item.name)")
        #expect(isClose(feature.sketch.knots, expected.knots), "\(item.name): knots")
        #expect(feature.sketch.counts == expected.referenceSketchCounts, "\(item.name): sketch counts")

        let drift = try #require(try windowDrift(profile: profile, values: item.window.map { [$0 ?? .nan] }).numeric.first)
        #expect(drift.count == expected.windowCount, "\(item.name)")
        #expect(isClose(drift.missingShare, expected.windowMissingShare), "\(item.name)")
        #expect(isClose(drift.mean, expected.windowMean), "\(item.name)")
        #expect(isClose(drift.std, expected.windowStd), "\(item.name)")
        #expect(drift.min == expected.windowMin && drift.max == expected.windowMax, "\(item.name)")
        #expect(isClose(drift.binProportions, expected.windowProportions), "\(item.name)")
        #expect(isClose(drift.psi, expected.psi), "\(item.name): psi \(drift.psi ?? .nan) vs \(expected.psi)")
        #expect(isClose(drift.jensenShannon, expected.jensenShannon), "\(item.name): js")
        #expect(isClose(drift.ks, expected.ksSketch), "\(item.name): ks \(drift.ks ?? .nan) vs \(expected.ksSketch)")
        #expect(isClose(drift.wasserstein, expected.wassersteinSketch), "\(item.name): wasserstein")
        #expect(isClose(drift.wassersteinNormalized, expected.wassersteinSketch / expected.referenceStd), "\(item.name)")

        // The sketch against SciPy's raw-sample values: the documented one-sided bounds.
        let ks = try #require(drift.ks)
        #expect(ks <= expected.ksExact + 1e-12 && expected.ksExact - ks <= expected.ksSketchBound + 1e-12, "\(item.name)")
        let wasserstein = try #require(drift.wasserstein)
        #expect(wasserstein <= expected.wassersteinExact * (1 + 1e-12), "\(item.name): sketch above exact")
        #expect(expected.wassersteinExact - wasserstein <= 0.002 * expected.wassersteinExact, "\(item.name)")
    }

    @Test(arguments: DriftFixtures.shared.categorical.indices)
    func categoricalProfileAndWindowMatchSciPy(_ index: Int) throws {
        let item = fixtures.categorical[index]
        let expected = item.expected
        var builder = try ProfileBuilder(name: "fixture", numericFeatures: [], categoricalFeatures: ["c"])
        for value in item.reference { try builder.add(numeric: [], categorical: [value]) }
        let profile = try builder.build()
        let feature = try #require(profile.categorical.first)
        #expect(feature.categories == expected.categories)
        #expect(isClose(feature.shares, expected.shares))
        #expect(isClose(feature.missingShare, expected.referenceMissingShare))

        let record = try windowRecord(profile: profile, rows: item.window.map { ([], [$0]) })
        let drift = try #require(record.categorical.first)
        #expect(drift.count == expected.windowCount)
        #expect(isClose(drift.missingShare, expected.windowMissingShare))
        #expect(isClose(drift.unseenShare, expected.unseenShare))
        #expect(isClose(drift.psi, expected.psi), "\(item.name): psi")
        #expect(isClose(drift.jensenShannon, expected.jensenShannon), "\(item.name): js")
        #expect(isClose(drift.chiSquare, expected.chiSquare), "\(item.name): chi-square")
        #expect(drift.chiSquareDegreesOfFreedom == expected.chiSquareDegreesOfFreedom)
        let pValue = try #require(drift.chiSquarePValue)
        #expect(abs(pValue - expected.chiSquarePValue) <= 1e-9 * max(expected.chiSquarePValue, 1e-300), "\(item.name): p")
    }

    private func windowDrift(profile: ReferenceProfile, values: [[Double]]) throws -> DriftRecord {
        try windowRecord(profile: profile, rows: values.map { ($0, []) })
    }

    /// Feeds every row into one window and closes it.
    private func windowRecord(profile: ReferenceProfile, rows: [([Double], [String?])]) throws -> DriftRecord {
        let policy = DriftThresholdPolicy(minimumCount: 0)
        var monitor = try DriftMonitor(
            profile: profile, configuration: .init(name: "fixture", windowLengthMs: 1000, thresholds: policy))
        for row in rows {
            let emission = try monitor.observe(eventTimeMs: 0, numeric: row.0, categorical: row.1)
            #expect(emission == nil)
        }
        let emission = monitor.flush()
        return try #require(emission).record
    }
}
