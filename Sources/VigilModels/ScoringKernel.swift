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

extension ScoringKernel {
    /// Scores row-major `rows` (a multiple of `inputNames.count` values) into a new array.
    ///
    /// A convenience for tools and tests: it allocates the result, unlike
    /// ``score(rows:rowCount:into:)``.
    public mutating func score(_ rows: [Double]) -> [Double] {
        let rowCount = inputNames.isEmpty ? 0 : rows.count / inputNames.count
        var scores = [Double](repeating: .nan, count: rowCount)
        rows.withUnsafeBufferPointer { rows in
            scores.withUnsafeMutableBufferPointer { scores in
                score(rows: rows, rowCount: rowCount, into: scores)
            }
        }
        return scores
    }
}
