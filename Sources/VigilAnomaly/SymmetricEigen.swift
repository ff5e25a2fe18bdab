import CLAPACK

/// The eigen decomposition of a real symmetric matrix through LAPACK's `dsyev` (OpenBLAS).
public struct SymmetricEigen: Sendable, Equatable {
    /// Eigenvalues, largest first.
    public var values: [Double]
    /// Eigenvectors as columns of a column-major n × n matrix, in the order of ``values``:
    /// component `i` of vector `j` is `vectors[i + j * n]`.
    public var vectors: [Double]

    /// Decomposes the symmetric `n × n` matrix `matrix` (either order: it is symmetric).
    /// Throws when LAPACK reports a failure to converge or a bad argument.
    public init(symmetric matrix: [Double], n: Int) throws(AnomalyError) {
        precondition(matrix.count == n * n && n > 0, "a symmetric matrix needs n × n values")
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        var size = Int32(n)
        var info: Int32 = 0
        var query = 0.0
        var lwork: Int32 = -1
        // A workspace query first, then the decomposition.
        dsyev_("V", "U", &size, &a, &size, &w, &query, &lwork, &info, 1, 1)
        lwork = Int32(max(Double(3 * n), query))
        var work = [Double](repeating: 0, count: Int(lwork))
        dsyev_("V", "U", &size, &a, &size, &w, &work, &lwork, &info, 1, 1)
        guard info == 0 else { throw AnomalyError.numeric("LAPACK dsyev failed (info \(info)) on a \(n) x \(n) covariance") }
        // dsyev gives ascending order; principal components come largest first.
        values = w.reversed()
        var ordered = [Double](repeating: 0, count: n * n)
        for column in 0..<n {
            let source = n - 1 - column
            for row in 0..<n { ordered[row + column * n] = a[row + source * n] }
        }
        vectors = ordered
    }
}

/// Why a detector could not be built or its state not read.
public enum AnomalyError: Error, Equatable, CustomStringConvertible {
    /// A numerical routine failed.
    case numeric(String)
    /// A state snapshot does not fit the detector.
    case state(String)

    public var description: String {
        switch self {
        case let .numeric(detail): "numerical failure: \(detail)"
        case let .state(detail): "detector state: \(detail)"
        }
    }
}
