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

    init(_ profile: ReferenceProfile) {
        self.profile = profile
        numericSketches = profile.numeric.map(\.sketch.histogram)
        scoreSketch = profile.score?.sketch.histogram
        numericBins = profile.numeric.map(NumericBins.init)
        scoreBins = profile.score.map(NumericBins.init)
        categoryIndices = profile.categorical.map { feature in
            Dictionary(uniqueKeysWithValues: feature.categories.enumerated().map { ($1, $0) })
        }
    }
}

/// What a window needs of a numeric reference for every event: where its bins and knots are.
struct NumericBins: Sendable {
    let edges: [Double]
    let knots: [Double]
    /// Where to look for a value among `knots`.
    let knotIndex: KnotIndex

    init(_ profile: NumericProfile) {
        edges = profile.binEdges
        knots = profile.sketch.knots
        knotIndex = KnotIndex(knots: knots)
    }
}
