import VigilDrift
import VigilTopology

/// Where a drift profile's features sit in a pipeline's rows, and how a batch's events are
/// read out as columns for ``PipelineDriftMonitor`` and ``PipelineProfileBuilder``.
struct DriftColumns: Sendable {
    let numeric: [Int]
    let categorical: [Int]

    /// Columns of `numeric` and `categorical` in `layout`; the names it lacks, if any.
    init(layout: RowLayout, numeric numericNames: [String], categorical categoricalNames: [String]) throws(DriftColumnsError) {
        let missing = (numericNames + categoricalNames).filter { layout.column(of: $0) == nil }
        guard missing.isEmpty else { throw DriftColumnsError(missing: missing) }
        numeric = numericNames.map { layout.column(of: $0)! }
        categorical = categoricalNames.map { layout.column(of: $0)! }
    }

    /// Fills `columns` with the live (not rejected) events of `batch` at or after `from`, in
    /// batch order, a column per feature, with their scores when `withScore` (from `scores`, one
    /// per event; empty or NaN: missing). `rows` is scratch, reused from batch to batch.
    func fill(_ columns: inout DriftEventColumns, rows: inout [Int], of batch: EventBatch, scores: [Double], from: Int64?, withScore: Bool) {
        precondition(scores.isEmpty || scores.count == batch.count, "one score per event, or none")
        columns.removeAll()
        rows.removeAll(keepingCapacity: true)
        for index in 0..<batch.count where batch.isLive(index) {
            let time = batch.times[index]
            if let from, time < from { continue }
            rows.append(index)
            columns.times.append(time)
        }
        columns.count = rows.count
        let width = batch.layout.width
        batch.rows.withUnsafeBufferPointer { values in
            for column in numeric {
                for row in rows { columns.numeric.append(values[row * width + column]) }
            }
            if columns.categorical.count != categorical.count { columns.categorical = Array(repeating: [], count: categorical.count) }
            for (position, column) in categorical.enumerated() {
                for row in rows { columns.categorical[position].append(Self.category(values[row * width + column])) }
            }
        }
        if withScore {
            for row in rows { columns.scores.append(scores.isEmpty ? .nan : scores[row]) }
        }
    }

    /// A categorical value's text: whole numbers without a fraction (`3`, not `3.0`), others as
    /// Swift prints them; NaN (a missing value) is nil.
    static func category(_ value: Double) -> String? {
        guard !value.isNaN else { return nil }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return value.description
    }
}

/// A drift profile or section names features the pipeline's rows do not have.
struct DriftColumnsError: Error {
    var missing: [String]
}
