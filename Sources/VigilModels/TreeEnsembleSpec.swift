/// A tree ensemble as a reader understood it, before ``TreeEnsembleKernel`` lays it out.
///
/// Every split rule is normalised to "go left when x < threshold" in double precision, so that
/// one traversal serves XGBoost (float32 `<`) and LightGBM (double `<=`); the readers do the
/// conversion where they know their library's rule.
struct TreeEnsembleSpec: Sendable {
    enum Rule: Sendable {
        /// Left when `x < threshold`; NaN goes left when `nanLeft`.
        case lessThan(Double, nanLeft: Bool)
        /// LightGBM's zero-as-missing: NaN and |x| <= 1e-35 go the default way, others `x < threshold`.
        case zeroMissing(Double, defaultLeft: Bool)
        /// LightGBM's categorical split: left when the truncated value is a category in `bitset`;
        /// NaN, negative and out-of-range values go right.
        case categorical(bitset: [UInt32])
    }

    enum Node: Sendable {
        case leaf(Double)
        case split(feature: Int, rule: Rule, left: Int, right: Int)
    }

    /// One tree; node 0 is the root.
    struct Tree: Sendable {
        var nodes: [Node]
        /// How much training data reached each node (XGBoost's `sum_hessian`, LightGBM's
        /// `internal_count`/`leaf_count`), by node index; empty when the file has none. Scoring
        /// ignores it; TreeSHAP weighs the paths not taken by it.
        var covers: [Double] = []
    }

    /// How the summed margin becomes a score.
    enum Output: Sendable, Equatable {
        case identity
        /// `1 / (1 + exp(-scale * margin))`.
        case sigmoid(scale: Double)
    }

    var inputNames: [String]
    var trees: [Tree]
    /// Added to the sum of the trees' leaves (XGBoost's base_score as a margin).
    var baseMargin: Double = 0
    /// The sum is divided by this before the output transform (LightGBM random forests).
    var divisor: Double = 1
    var output: Output = .identity
}

extension TreeEnsembleSpec.Rule {
    /// The rule for "left when Float(x) < threshold" (XGBoost), as a double threshold.
    ///
    /// Float(x) < t holds exactly for the doubles below the smallest double that rounds (to
    /// nearest, ties to even) to t or above; finding that boundary once at load time keeps the
    /// float conversion out of the hot loop.
    static func float32LessThan(_ threshold: Float, nanLeft: Bool) -> Self {
        .lessThan(float32Boundary(threshold), nanLeft: nanLeft)
    }

    static func float32Boundary(_ threshold: Float) -> Double {
        if threshold.isNaN { return -.infinity }
        if threshold == -.infinity { return -.infinity }
        if threshold == .infinity {
            // Doubles from halfway past the largest float round to infinity.
            let largest = Double(Float.greatestFiniteMagnitude)
            return largest + (largest - Double(Float.greatestFiniteMagnitude.nextDown)) / 2
        }
        let below = Double(threshold.nextDown)
        var boundary = (below + Double(threshold)) / 2
        // At the exact midpoint the tie goes to the even neighbour: step up when it is `below`.
        if Float(boundary) < threshold { boundary = boundary.nextUp }
        return boundary
    }

    /// The rule for "left when x <= threshold" (LightGBM), as "x < threshold.nextUp".
    static func lessOrEqual(_ threshold: Double, nanLeft: Bool) -> Self {
        .lessThan(threshold == .infinity ? .infinity : threshold.nextUp, nanLeft: nanLeft)
    }
}
