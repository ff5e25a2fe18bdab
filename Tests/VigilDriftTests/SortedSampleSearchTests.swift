import Foundation
import Testing
@testable import VigilDrift
import VigilTestSupport

/// The branch-free search (C, ``SortedSample/lowerBound(_:in:)``) answers as the definition
/// does — the first index whose element is not below the value — on every kind of sorted input
/// the drift monitor's bins and knots can be: empty, one value, runs of repeats, infinities,
/// signed zeros, and values on, between and outside the elements, and NaN.
@Suite struct SortedSampleSearchTests {
    static func definition(_ value: Double, _ sorted: [Double]) -> Int {
        sorted.firstIndex { !($0 < value) } ?? sorted.count
    }

    @Test func answersAsTheDefinitionDoes() {
        var random = SeededRandom(seed: 29)
        var arrays: [[Double]] = [[], [0], [-.infinity, .infinity], [-0.0, 0.0, 0.0, 1], [1, 1, 1, 1, 1]]
        for count in 1...40 {
            // Few distinct values, so that runs of repeats come often.
            arrays.append((0..<count).map { _ in (random.normal() * 3).rounded() }.sorted())
        }
        var checked = 0
        for sorted in arrays {
            var probes: [Double] = [.nan, -.infinity, .infinity, -0.0, 0.0, -1e300, 1e300]
            for element in sorted {
                probes += [element, element.nextDown, element.nextUp]
            }
            probes += (0..<20).map { _ in random.normal() * 4 }
            sorted.withUnsafeBufferPointer { buffer in
                for value in probes {
                    #expect(SortedSample.lowerBound(value, in: buffer) == Self.definition(value, sorted), "value \(value) in \(sorted)")
                    checked += 1
                }
            }
        }
        #expect(checked > 2_000)
    }

    /// As the knot index calls it: a window of a thousand knots at an offset (a rebased slice),
    /// an empty window, and an empty buffer without storage.
    @Test func answersOnSlicesAndEmptyBuffers() {
        var random = SeededRandom(seed: 31)
        let knots = (0...1_000).map { _ in (random.normal() * 50).rounded() / 10 }.sorted()
        knots.withUnsafeBufferPointer { all in
            for (from, to) in [(0, 1_001), (1, 1_001), (137, 402), (500, 501), (700, 700)] {
                let window = UnsafeBufferPointer(rebasing: all[from..<to])
                let part = Array(knots[from..<to])
                for value in part + part.map(\.nextUp) + (0..<50).map({ _ in random.normal() * 6 }) {
                    #expect(SortedSample.lowerBound(value, in: window) == Self.definition(value, part), "value \(value) in knots[\(from)..<\(to)]")
                }
            }
        }
        #expect(SortedSample.lowerBound(1, in: UnsafeBufferPointer(start: nil, count: 0)) == 0)
    }
}
