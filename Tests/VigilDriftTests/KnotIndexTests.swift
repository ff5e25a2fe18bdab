import Foundation
import Testing
@testable import VigilDrift
import VigilTestSupport

/// The knot index answers exactly as the full search over the knots, whatever the knots:
/// evenly spread, crowded (a skewed feature's quantiles), repeated, degenerate.
@Suite struct KnotIndexTests {
    static func knotSets() -> [[Double]] {
        var random = SeededRandom(seed: 11)
        let even = (0...1_000).map { Double($0) * 0.37 - 20 }
        // Quantiles of a log-normal amount: most knots crowd at the low end.
        let skewed = (0...1_000).map { index in exp(Double(index) / 1_000 * 9) }.sorted()
        var repeated = (0...400).map { Double($0 / 7) }
        repeated += [Double](repeating: 57, count: 300)
        repeated.sort()
        let noisy = (0..<1_001).map { _ in (random.normal() * 1e3).rounded() / 1e3 }.sorted()
        return [even, skewed, repeated, noisy, [1, 1], [0, 1], [-1, -1, -1, 2], [-.infinity, 0, 1], [0, 1, .infinity],
                [-0.0, 0.0, .leastNonzeroMagnitude, 1e-300], [1e300, 1.5e300, 1.7e308]]
    }

    /// `body` with an index over `knots`, in a table of its own.
    static func withIndex<R>(_ knots: [Double], _ body: (KnotIndex, UnsafeBufferPointer<Double>) -> R) -> R {
        knots.withUnsafeBufferPointer { knots in
            let table = UnsafeMutableBufferPointer<Int32>.allocate(capacity: KnotIndex.tableCount(knots: knots))
            defer { table.deallocate() }
            return body(KnotIndex(knots: knots, table: table), knots)
        }
    }

    @Test func answersAsTheFullSearch() {
        var random = SeededRandom(seed: 12)
        var checked = 0
        for knots in Self.knotSets() {
            var values = knots + knots.map(\.nextUp) + knots.map(\.nextDown) + [.nan, .infinity, -.infinity, 0, -0.0]
            let low = knots.first!.isFinite ? knots.first! : -1e6, high = knots.last!.isFinite ? knots.last! : 1e6
            for _ in 0..<5_000 { values.append(low + (high - low) * random.uniform() * 1.2 - (high - low) * 0.1) }
            Self.withIndex(knots) { index, knots in
                for value in values {
                    let expected = SortedSample.lowerBound(value, in: knots)
                    let found = index.lowerBound(value, in: knots)
                    if found != expected { Issue.record("knots \(knots.count) [\(knots.first!)…\(knots.last!)], value \(value): \(found) instead of \(expected)") }
                    checked += 1
                }
            }
        }
        #expect(checked > 50_000)
    }

    /// The tables of a profile's features: each feature's edges, knots and index where they
    /// were given, the score's last.
    @Test func binTablesKeepEachFeaturesBins() throws {
        var builder = try ProfileBuilder(name: "p", numericFeatures: ["a", "b"], categoricalFeatures: [], includesScore: true,
                                         configuration: .init(sketchResolution: 50))
        var random = SeededRandom(seed: 14)
        for _ in 0..<2_000 { try builder.add(numeric: [random.uniform() * 10, exp(random.normal())], categorical: [], score: random.uniform()) }
        let profile = try builder.build()
        let reference = MonitoredReference(profile)
        for (bins, feature) in zip(reference.numericBins + [reference.scoreBins!], profile.numeric + [profile.score!]) {
            #expect(Array(bins.edges) == feature.binEdges && Array(bins.knots) == feature.sketch.knots)
            for value in feature.sketch.knots + [feature.sketch.knots[7].nextUp, -1, 100] {
                #expect(bins.knotIndex.lowerBound(value, in: bins.knots) == feature.sketch.knots.withUnsafeBufferPointer { SortedSample.lowerBound(value, in: $0) })
            }
        }
    }

    /// A histogram filled through the index equals one filled through the full search.
    @Test func histogramsAreTheSame() {
        var random = SeededRandom(seed: 13)
        let knots = (0...1_000).map { index in exp(Double(index) / 1_000 * 9) }.sorted()
        var indexed = SketchHistogram(binCount: knots.count - 1), searched = SketchHistogram(binCount: knots.count - 1)
        Self.withIndex(knots) { index, pointers in
            for _ in 0..<20_000 {
                let value = exp(random.normal() * 2.5 + 4)
                indexed.add(value, knots: pointers, index: index)
                searched.add(value, knots: knots)
            }
        }
        #expect(indexed == searched)
        #expect(indexed.counts.reduce(0, +) > 10_000)
    }
}
