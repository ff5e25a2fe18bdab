public import VigilModels

/// An event's reason codes: its model inputs ranked by their TreeSHAP contribution to the
/// score, largest first (the inputs that pushed the score up the most lead, as an alert's
/// reasons should), ties by input order. One event at a time, with no allocation but the result.
public struct ReasonCoder {
    private var explainer: TreeExplainer
    private let columns: [Int]
    private var row: [Double]
    private var contributions: [Double]

    /// Explains `layout`'s rows: `columns` are the explainer's inputs' columns, in its order.
    public init(explainer: TreeExplainer, columns: [Int]) {
        precondition(columns.count == explainer.inputNames.count)
        self.explainer = explainer
        self.columns = columns
        row = Array(repeating: .nan, count: columns.count)
        contributions = Array(repeating: 0, count: columns.count + 1)
    }

    /// The explained model's inputs.
    public var inputNames: [String] { explainer.inputNames }

    /// The `top` reasons of event `index` of `batch` (every input when `top` exceeds them).
    public mutating func reasons(_ batch: EventBatch, index: Int, top: Int) -> [ReasonCode] {
        guard top > 0 else { return [] }
        let base = index * batch.layout.width
        batch.rows.withUnsafeBufferPointer { rows in
            for (position, column) in columns.enumerated() { row[position] = rows[base + column] }
        }
        row.withUnsafeBufferPointer { row in
            contributions.withUnsafeMutableBufferPointer { out in explainer.contributions(row: row, into: out) }
        }
        let ranked = columns.indices.sorted { contributions[$0] > contributions[$1] || (contributions[$0] == contributions[$1] && $0 < $1) }
        return ranked.prefix(top).map { ReasonCode(feature: explainer.inputNames[$0], value: row[$0], contribution: contributions[$0]) }
    }
}
