/// A compiled model that scores micro-batches of feature rows.
///
/// Rows are row-major: `rowCount × inputNames.count` values, in the order of ``inputNames``.
/// Missing values are NaN. Scoring writes one score per row and allocates nothing per call,
/// which is why it is `mutating`: kernels keep their scratch buffers.
public protocol ScoringKernel {
    /// The model's inputs, in the column order of the rows it scores.
    var inputNames: [String] { get }

    /// Scores `rowCount` rows from `rows` into the first `rowCount` elements of `scores`.
    mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>)
}
