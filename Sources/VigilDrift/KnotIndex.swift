/// A bucket table over a sketch's knots that narrows each event's knot search to a few knots:
/// the drift monitor finds every feature's knot for every event, and over a thousand knots the
/// full branch-free search is ten dependent loads (`SketchHistogram.add` and the window's `add`
/// were 12.6 % of the runtime thread's samples live at 20,000 events/s).
///
/// The answer is always exactly ``SortedSample/lowerBound(_:in:)``'s: the bucket only picks
/// where to search, the result is checked against its neighbours, and anything the check does
/// not confirm (rounding at a bucket's edge, knots that are not finite) takes the full search.
struct KnotIndex {
    /// The first knot and buckets per unit of value; no table when the knots do not span a
    /// finite, non-empty range.
    private let low: Double
    private let scale: Double
    /// `starts[b]`: the lower bound of bucket `b`'s left edge; `starts.count == buckets + 1`.
    /// Memory of the ``BinTables`` that made this index.
    private let starts: UnsafeBufferPointer<Int32>

    /// The entries of the table an index over `knots` fills: one per bucket edge, with twice as
    /// many buckets as knots, at most 4,096 (a bucket then holds a knot or two where the knots
    /// are spread evenly, and more where they crowd, as a skewed feature's quantiles do); none
    /// when the knots do not span a finite range.
    static func tableCount(knots: UnsafeBufferPointer<Double>) -> Int {
        guard knots.count >= 2, knots.count < Int(Int32.max), knots[0].isFinite, knots[knots.count - 1].isFinite,
              knots[knots.count - 1] > knots[0] else { return 0 }
        return min(4_096, 2 * knots.count) + 1
    }

    /// Fills `table` (``tableCount(knots:)`` entries) for `knots`.
    init(knots: UnsafeBufferPointer<Double>, table: UnsafeMutableBufferPointer<Int32>) {
        let buckets = table.count - 1
        guard buckets > 0 else {
            (low, scale, starts) = (0, 0, UnsafeBufferPointer(start: nil, count: 0))
            return
        }
        let first = knots[0]
        let scale = Double(buckets) / (knots[knots.count - 1] - first)
        for bucket in 0...buckets {
            table[bucket] = Int32(SortedSample.lowerBound(first + Double(bucket) / scale, in: knots))
        }
        (low, self.scale, starts) = (first, scale, UnsafeBufferPointer(table))
    }

    /// The first index of `knots` (the ones this index was built over) whose knot is not below
    /// `value`, or `knots.count`.
    @inline(__always)
    func lowerBound(_ value: Double, in knots: UnsafeBufferPointer<Double>) -> Int {
        let buckets = starts.count - 1
        // NaN and values far outside the knots fail the range test (and take the full search).
        let position = (value - low) * scale
        guard buckets > 0, position >= 0, position < Double(buckets) else { return SortedSample.lowerBound(value, in: knots) }
        let bucket = Int(position)
        // The lower bound is the one index whose knot is not below `value` while the knot
        // before it is (the knots do not decrease).
        @inline(__always) func isLowerBound(_ index: Int) -> Bool {
            (index == 0 || knots[index - 1] < value) && (index == knots.count || knots[index] >= value)
        }
        // First guess: the bucket's first knot, the answer whenever no knot of the bucket lies
        // below `value` (a bucket holds a knot or two where they are spread evenly). It saves
        // the search's dependent loads: StageBench's drift row 0.48 -> 0.35 µs an event
        // (bench/README, "The knot index's first guess").
        let guess = Int(starts[bucket])
        if isLowerBound(guess) { return guess }
        // One bucket of slack on each side for the rounding of `position`.
        let from = Int(starts[max(bucket - 1, 0)]), to = Int(starts[min(bucket + 2, buckets)])
        let found = from + SortedSample.lowerBound(value, in: UnsafeBufferPointer(rebasing: knots[from..<to]))
        if isLowerBound(found) { return found }
        return SortedSample.lowerBound(value, in: knots)
    }
}
