import VigilCodec

/// Batches: which keys a batch touched (for changelog records) and rolling a batch back (for
/// an aborted transaction).
extension FeatureEngine {
    /// Opens a batch: from here on, the engine records each key's state before the batch first
    /// changes it, and which keys it touches.
    public func beginBatch() {
        batchEpoch += 1
        touched.removeAll(keepingCapacity: true)
        undoLog.removeAll(keepingCapacity: true)
        undoBytes.removeAll()
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
        forgetUndoRecords()
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
            guard let range = entry.state else { continue }
            do {
                _ = try install(encoded: Array(undoBytes.bytes[range]), keepingCapacity: true)
            } catch {
                fatalError("an undo record of this engine failed to decode: \(error)")
            }
        }
        statistics = statisticsAtBatchStart
        forgetUndoRecords()
        touched.removeAll(keepingCapacity: true)
        batchEpoch += 1
        batchOpen = false
        stopOperationLog()
    }

    /// Empties the undo log. Its buffer is kept for the next batch, unless it holds more than
    /// ``keptUndoBytes`` and four times what this batch used (one large batch, say the first
    /// after a backlog, does not keep its memory; steady batches of any size reuse theirs:
    /// a buffer given back every time is allocated, grown and faulted in again every batch).
    func forgetUndoRecords() {
        undoLog.removeAll(keepingCapacity: true)
        if undoBytes.bytes.capacity > max(Self.keptUndoBytes, 4 * undoBytes.bytes.count) {
            undoBytes = ByteWriter(capacity: 0)
        } else {
            undoBytes.removeAll()
        }
    }
}
