/// The bin edges, sketch knots and knot indexes of a profile's numeric features (and its
/// score), in memory allocated once and freed with the owner, so that adding an event reads
/// them through plain pointers (``NumericBins``). Through arrays, every feature's add retained
/// and released its bins' arrays: 88 % of the drift stage's retains, a fifth of its samples in
/// StageBench.
///
/// `@unchecked Sendable`: the memory is written only in `init` and read-only after, and freed
/// only in `deinit`, when no ``NumericBins`` made from it can be in use (``MonitoredReference``
/// holds both).
final class BinTables: @unchecked Sendable {
    private let doubles: UnsafeMutableBufferPointer<Double>
    private let starts: UnsafeMutableBufferPointer<Int32>
    /// One per profile, in the order given to `init`.
    let bins: [NumericBins]

    init(_ profiles: [NumericProfile]) {
        let doubleCount = profiles.reduce(0) { $0 + $1.binEdges.count + $1.sketch.knots.count }
        let startCount = profiles.reduce(0) { $0 + $1.sketch.knots.withUnsafeBufferPointer(KnotIndex.tableCount(knots:)) }
        doubles = .allocate(capacity: doubleCount)
        starts = .allocate(capacity: startCount)
        var doubleEnd = 0, startEnd = 0
        var bins: [NumericBins] = []
        for profile in profiles {
            let edges = UnsafeMutableBufferPointer(rebasing: doubles[doubleEnd..<(doubleEnd + profile.binEdges.count)])
            _ = edges.initialize(from: profile.binEdges)
            doubleEnd += edges.count
            let knots = UnsafeMutableBufferPointer(rebasing: doubles[doubleEnd..<(doubleEnd + profile.sketch.knots.count)])
            _ = knots.initialize(from: profile.sketch.knots)
            doubleEnd += knots.count
            let table = UnsafeMutableBufferPointer(rebasing: starts[startEnd..<(startEnd + KnotIndex.tableCount(knots: UnsafeBufferPointer(knots)))])
            startEnd += table.count
            bins.append(NumericBins(edges: UnsafeBufferPointer(edges), knots: UnsafeBufferPointer(knots),
                                    knotIndex: KnotIndex(knots: UnsafeBufferPointer(knots), table: table)))
        }
        self.bins = bins
    }

    deinit {
        doubles.deallocate()
        starts.deallocate()
    }
}
