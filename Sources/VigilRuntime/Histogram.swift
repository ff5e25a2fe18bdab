import Synchronization

/// A distribution over fixed buckets (Prometheus histogram): per-bucket counts, a sum and a
/// count. Each bucket is its own atomic word, so observing never takes a lock; the count is
/// derived from the buckets when rendered, so `_count` always equals the `+Inf` bucket.
public final class Histogram: Sendable {
    /// Upper bounds of the buckets, strictly increasing, without `+Inf` (always implied).
    public let upperBounds: [Double]
    /// One non-cumulative count per bound, then the `+Inf` bucket.
    private let buckets: [AtomicCell]
    private let sumBits = Atomic<UInt64>(0.0.bitPattern)

    init(upperBounds: [Double]) {
        precondition(!upperBounds.isEmpty, "a histogram needs at least one bucket")
        precondition(upperBounds.allSatisfy(\.isFinite), "bucket bounds must be finite (+Inf is implied)")
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "bucket bounds must increase strictly")
        self.upperBounds = upperBounds
        buckets = (0...upperBounds.count).map { _ in AtomicCell() }
    }

    /// Records one observation. NaN is ignored (it has no bucket).
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        buckets[bucketIndex(value)].value.wrappingAdd(1, ordering: .relaxed)
        addToSum(value)
    }

    /// Records a duration, in seconds.
    public func observe(_ duration: Duration) {
        observe(duration.seconds)
    }

    /// Records many observations with one atomic add per bucket touched (a batch's latencies).
    public func observe(contentsOf values: some Sequence<Double>) {
        var counts = [UInt64](repeating: 0, count: buckets.count)
        var sum = 0.0
        for value in values where !value.isNaN {
            counts[bucketIndex(value)] += 1
            sum += value
        }
        for (index, count) in counts.enumerated() where count > 0 {
            buckets[index].value.wrappingAdd(count, ordering: .relaxed)
        }
        if sum != 0 { addToSum(sum) }
    }

    /// A consistent-enough copy for rendering: cumulative counts per bound (last is `+Inf`),
    /// the sum and the count.
    public var snapshot: (cumulativeCounts: [UInt64], sum: Double, count: UInt64) {
        var running: UInt64 = 0
        let cumulative = buckets.map { cell in
            running &+= cell.value.load(ordering: .relaxed)
            return running
        }
        return (cumulative, Double(bitPattern: sumBits.load(ordering: .relaxed)), running)
    }

    private func bucketIndex(_ value: Double) -> Int {
        // Prometheus buckets are inclusive upper bounds (`le`). Few buckets: a linear scan
        // beats a binary search's branches.
        for (index, bound) in upperBounds.enumerated() where value <= bound { return index }
        return upperBounds.count
    }

    private func addToSum(_ delta: Double) {
        var current = sumBits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + delta).bitPattern
            let (exchanged, original) = sumBits.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    /// Bucket bounds spaced by a constant factor: `start`, `start * factor`, … (`count` of them).
    public static func exponentialBuckets(start: Double, factor: Double, count: Int) -> [Double] {
        precondition(start > 0 && factor > 1 && count >= 1, "exponential buckets need start > 0, factor > 1, count >= 1")
        var bounds: [Double] = []
        var bound = start
        for _ in 0..<count {
            bounds.append(bound)
            bound *= factor
        }
        return bounds
    }

    /// Bucket bounds spaced evenly: `start`, `start + width`, … (`count` of them).
    public static func linearBuckets(start: Double, width: Double, count: Int) -> [Double] {
        precondition(width > 0 && count >= 1, "linear buckets need width > 0, count >= 1")
        return (0..<count).map { start + width * Double($0) }
    }
}

/// One atomic word on the heap (atomics cannot be copied into an array directly).
final class AtomicCell: Sendable {
    let value = Atomic<UInt64>(0)
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
