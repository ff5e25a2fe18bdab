/// A scoring kernel together with the ``TreeExplainer`` of the same model: what a pipeline is
/// given when it must say why events scored as they did (reason codes on alerts, `vigil replay
/// --explain`). Scoring goes to the wrapped kernel unchanged; explanations are asked for one
/// event at a time.
public struct ExplainingKernel: ScoringKernel {
    /// The kernel that scores.
    public var scorer: any ScoringKernel
    /// The model's explainer, over the same inputs.
    public var explainer: TreeExplainer

    /// Pairs `scorer` with `explainer`, which must take the same inputs in the same order (they
    /// come from the same file).
    public init(scorer: any ScoringKernel, explainer: TreeExplainer) {
        precondition(scorer.inputNames == explainer.inputNames, "the explainer's inputs differ from the kernel's")
        self.scorer = scorer
        self.explainer = explainer
    }

    public var inputNames: [String] { scorer.inputNames }

    public mutating func score(rows: UnsafeBufferPointer<Double>, rowCount: Int, into scores: UnsafeMutableBufferPointer<Double>) {
        scorer.score(rows: rows, rowCount: rowCount, into: scores)
    }
}
