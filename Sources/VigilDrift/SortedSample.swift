import CVigilKernels

/// Order statistics of a sorted sample, computed the way NumPy does so that profiles match
/// the fixtures made with it.
enum SortedSample {
    /// NumPy's default (`method="linear"`) quantile of a sorted, non-empty sample.
    static func quantile(_ sorted: [Double], _ probability: Double) -> Double {
        let position = probability * Double(sorted.count - 1)
        let lower = Swift.min(Int(position.rounded(.down)), sorted.count - 1)
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    /// Interior bin edges at probabilities `1/bins ... (bins−1)/bins`, with repeated values
    /// dropped: a feature with few distinct values gets fewer, non-empty bins.
    static func binEdges(_ sorted: [Double], bins: Int) -> [Double] {
        var edges = [Double]()
        for index in 1..<bins {
            let edge = quantile(sorted, Double(index) / Double(bins))
            if let last = edges.last, edge <= last { continue }
            edges.append(edge)
        }
        return edges
    }

    /// Index of the bin `(edges[i−1], edges[i]]` holding `value` (bin 0 is open to the left,
    /// the last open to the right), that is, the number of edges strictly below `value`.
    static func binIndex(_ value: Double, edges: [Double]) -> Int {
        edges.withUnsafeBufferPointer { lowerBound(value, in: $0) }
    }

    /// The first index of non-decreasing `sorted` whose element is not below `value`
    /// (`sorted.count` when every element is). Branch-free, in C (``vigil_lower_bound_f64``):
    /// the drift monitor runs it for every feature of every event, where a branchy search
    /// mispredicts half of its steps, and the same select written in Swift compiles to a jump.
    @inline(__always)
    static func lowerBound(_ value: Double, in sorted: UnsafeBufferPointer<Double>) -> Int {
        guard let base = sorted.baseAddress else { return 0 }
        return vigil_lower_bound_f64(base, sorted.count, value)
    }
}
