/// Errors raised while building, loading or applying drift profiles.
///
/// Every case names the place that is wrong (feature, field, index) so that a bad profile file
/// or a mis-wired feature row can be fixed without a debugger.
public enum DriftError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A configuration value is out of its documented range.
    case invalidConfiguration(String)
    /// A feature name appears twice among the numeric, categorical and score names.
    case duplicateFeature(String)
    /// A row passed to a builder or monitor has the wrong number of values.
    case rowShape(kind: String, expected: Int, got: Int)
    /// A feature had no non-missing value during the reference period, so it has no distribution.
    case emptyFeature(String)
    /// A profile file's `formatVersion` is not one this build reads.
    case unsupportedFormatVersion(Int)
    /// A decoded profile breaks an invariant; the text names the field and index.
    case invalidProfile(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let text): "invalid drift configuration: \(text)"
        case .duplicateFeature(let name): "feature '\(name)' is listed more than once"
        case .rowShape(let kind, let expected, let got):
            "\(kind) row has \(got) values, the profile expects \(expected)"
        case .emptyFeature(let name): "feature '\(name)' has no non-missing value in the reference period"
        case .unsupportedFormatVersion(let version):
            "profile formatVersion \(version) is not supported (this build reads \(ReferenceProfile.currentFormatVersion))"
        case .invalidProfile(let text): "invalid reference profile: \(text)"
        }
    }
}
