/// A profile prepared for monitoring: the lookups every event needs, computed once.
struct MonitoredReference: Sendable {
    let profile: ReferenceProfile
    /// Each numeric feature's reference values as a histogram over its own knots.
    let numericSketches: [SketchHistogram]
    let scoreSketch: SketchHistogram?
    /// Category → position in the reference's `categories`, per categorical feature.
    let categoryIndices: [[String: Int]]

    init(_ profile: ReferenceProfile) {
        self.profile = profile
        numericSketches = profile.numeric.map(\.sketch.histogram)
        scoreSketch = profile.score?.sketch.histogram
        categoryIndices = profile.categorical.map { feature in
            Dictionary(uniqueKeysWithValues: feature.categories.enumerated().map { ($1, $0) })
        }
    }
}
