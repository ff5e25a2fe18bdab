public import VigilModels

/// Scores a batch's live events with one model: gathers the model's input columns of each
/// live row into a matrix and runs the kernel over it. The pipeline scores with one; a replay
/// that compares two models scores the same rows with a second.
public struct BatchScorer {
    /// The model's input names in its column order.
    public let inputNames: [String]
    private var kernel: any ScoringKernel
    private let columns: [Int]
    private var matrix: [Double] = []
    private var scratch: [Double] = []

    /// A scorer of `layout`'s rows with `kernel`; every input of the kernel must be a column.
    public init(kernel: any ScoringKernel, layout: RowLayout, topologyName: String) throws(PipelineError) {
        var columns: [Int] = []
        for name in kernel.inputNames {
            guard let column = layout.column(of: name) else {
                throw PipelineError.model("the model takes '\(name)', which the topology '\(topologyName)' does not produce")
            }
            columns.append(column)
        }
        self.kernel = kernel
        self.columns = columns
        inputNames = kernel.inputNames
    }

    /// The kernel's explainer, when it came with one (``ExplainingKernel``).
    public var explainer: TreeExplainer? { (kernel as? ExplainingKernel)?.explainer }

    /// The columns of the model's inputs in the batch's rows, in the model's order.
    public var inputColumns: [Int] { columns }

    /// One score per event, NaN for rejected ones.
    public mutating func score(_ batch: EventBatch) -> [Double] {
        let width = batch.layout.width
        matrix.removeAll(keepingCapacity: true)
        var liveIndices: [Int] = []
        liveIndices.reserveCapacity(batch.count)
        batch.rows.withUnsafeBufferPointer { rows in
            for index in 0..<batch.count where batch.isLive(index) {
                liveIndices.append(index)
                let base = index * width
                for column in columns { matrix.append(rows[base + column]) }
            }
        }
        var scores = Array(repeating: Double.nan, count: batch.count)
        guard !liveIndices.isEmpty else { return scores }
        if scratch.count < liveIndices.count { scratch = Array(repeating: .nan, count: liveIndices.count) }
        precondition(matrix.count == liveIndices.count * columns.count)
        matrix.withUnsafeBufferPointer { rows in
            scratch.withUnsafeMutableBufferPointer { out in
                kernel.score(rows: rows, rowCount: liveIndices.count, into: out)
            }
        }
        for (row, index) in liveIndices.enumerated() { scores[index] = scratch[row] }
        return scores
    }
}
