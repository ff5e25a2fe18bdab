/// A profile prepared for monitoring: the lookups every event needs, computed once.
struct MonitoredReference: Sendable {
    let profile: ReferenceProfile
    /// Each numeric feature's reference values as a histogram over its own knots.
    let numericSketches: [SketchHistogram]
    let scoreSketch: SketchHistogram?
    /// Category → position in the reference's `categories`, per categorical feature.
    let categoryIndices: [[String: Int]]
    /// Bin edges and sketch knots per numeric feature, kept apart from the profiles so that
    /// adding an event reads two arrays instead of copying a whole ``NumericProfile`` per feature.
    let numericBins: [NumericBins]
    let scoreBins: NumericBins?
    /// The memory `numericBins` and `scoreBins` point into.
    private let tables: BinTables

    init(_ profile: ReferenceProfile) {
        self.profile = profile
        numericSketches = profile.numeric.map(\.sketch.histogram)
        scoreSketch = profile.score?.sketch.histogram
        tables = BinTables(profile.numeric + (profile.score.map { [$0] } ?? []))
        numericBins = Array(tables.bins.prefix(profile.numeric.count))
        scoreBins = profile.score == nil ? nil : tables.bins.last
        categoryIndices = profile.categorical.map { feature in
            Dictionary(uniqueKeysWithValues: feature.categories.enumerated().map { ($1, $0) })
        }
    }
}

/// What a window needs of a numeric reference for every event: where its bins and knots are.
/// Lent by the ``BinTables`` that made it: valid while its owner is.
///
/// `@unchecked Sendable`: three read-only views of memory that no one writes after the
/// owner's `init`, and that the owner (held beside them in ``MonitoredReference``) keeps.
struct NumericBins: @unchecked Sendable {
    let edges: UnsafeBufferPointer<Double>
    let knots: UnsafeBufferPointer<Double>
    /// Where to look for a value among `knots`.
    let knotIndex: KnotIndex
}
