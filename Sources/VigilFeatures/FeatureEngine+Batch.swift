/// Batches: which keys a batch touched (for changelog records) and rolling a batch back (for
/// an aborted transaction).
extension FeatureEngine {
    /// Opens a batch: from here on, the engine records each key's state before the batch first
    /// changes it, and which keys it touches.
    public func beginBatch() {
        batchEpoch += 1
        touched.removeAll(keepingCapacity: true)
        undoLog.removeAll(keepingCapacity: true)
        statisticsAtBatchStart = statistics
        batchOpen = true
        startOperationLog()
    }

    /// Keys whose state the open batch changed (created, updated or evicted), in first-touch order.
    /// For each, ``snapshot(key:)`` gives the state to write to the changelog, nil meaning deleted.
    public var touchedKeys: [StateKey] { touched }

    /// Keys the open batch evicted because the key bound was reached or the byte budget exceeded: what a committing
    /// transaction adds to the evictions metric (a rolled-back batch's evictions never happened).
    public var keysEvictedInBatch: Int { statistics.keysEvictedForCapacity - statisticsAtBatchStart.keysEvictedForCapacity }

    /// Keeps the open batch's changes and forgets how to undo them.
    public func commitBatch() {
        undoLog.removeAll(keepingCapacity: true)
        touched.removeAll(keepingCapacity: true)
        batchEpoch += 1
        statisticsAtBatchStart = statistics
        batchOpen = false
        stopOperationLog()
    }

    /// Undoes every change since ``beginBatch()``: keys created are removed, keys changed or
    /// evicted get their prior state back, counters return to their values at the batch start.
    /// Requires ``Configuration/recordsUndo``.
    public func rollbackBatch() {
        precondition(configuration.recordsUndo, "rollbackBatch() needs Configuration.recordsUndo")
        for entry in undoLog {
            if let slot = slotOf(entry.key) { releaseSlot(Int(slot)) }
        }
        for entry in undoLog {
            guard let state = entry.state else { continue }
            do {
                _ = try install(encoded: state, keepingCapacity: true)
            } catch {
                fatalError("an undo record of this engine failed to decode: \(error)")
            }
        }
        statistics = statisticsAtBatchStart
        undoLog.removeAll(keepingCapacity: true)
        touched.removeAll(keepingCapacity: true)
        batchEpoch += 1
        batchOpen = false
        stopOperationLog()
    }
}
