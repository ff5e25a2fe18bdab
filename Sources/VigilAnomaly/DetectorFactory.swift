public import VigilTopology

/// Builds the slots of a stage's detectors from their specs.
public enum DetectorFactory {
    /// The detector of `spec`, with a bank of states by key slot.
    public static func makeSlots(_ spec: DetectorSpec) -> any DetectorSlots {
        switch spec.kind {
        case let .pcaBaseline(settings): DetectorBank(PCABaselineDetector(settings: settings, dimension: spec.fields.count))
        case let .gaussianTail(settings): DetectorBank(GaussianTailDetector(settings: settings))
        case let .halfSpaceTrees(settings): DetectorBank(HalfSpaceTreesDetector(settings: settings, fields: spec.fields))
        }
    }
}
