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
        closeBatch()
    }

    /// Undoes every change since ``beginBatch()``: keys created are removed, keys changed or
    /// evicted get their prior state back, counters return to their values at the batch start.
    /// Requires ``Configuration/recordsUndo``.
    /// A sealed batch (see ``sealBatch()``) is undone too, after the open one: the state goes
    /// back to before the sealed batch began.
    public func rollbackBatch() {
        precondition(configuration.recordsUndo, "rollbackBatch() needs Configuration.recordsUndo")
        undo(undoLog, from: undoBytes)
        statistics = statisticsAtBatchStart
        forgetUndoRecords()
        if var sealed = sealedBatch.take() {
            undo(sealed.undoLog, from: sealed.undoBytes)
            statistics = sealed.statisticsAtStart
            recycle(&sealed)
        }
        closeBatch()
    }

    /// Closes the open batch whose changes are being committed, keeping its undo records: the
    /// next batch opens (``beginBatch()``) and changes state while the commit is under way, and
    /// if the commit fails, ``rollbackBatch()`` undoes both. Its touched keys and operation log
    /// are read before (they go into the committing transaction). One batch is sealed at most.
    public func sealBatch() {
        precondition(sealedBatch == nil, "a sealed batch is still waiting for its commit's outcome")
        guard batchOpen else { return }
        // The sealed records take the open batch's buffers, and the spare ones (a batch sealed
        // before) become the open batch's: neither is allocated again from batch to batch.
        var sealed = spareUndo.take() ?? SealedBatch(undoLog: [], undoBytes: ByteWriter(capacity: 0), statisticsAtStart: EngineStatistics(), evicted: 0)
        swap(&sealed.undoLog, &undoLog)
        swap(&sealed.undoBytes, &undoBytes)
        sealed.statisticsAtStart = statisticsAtBatchStart
        sealed.evicted = keysEvictedInBatch
        sealedBatch = sealed
        forgetUndoRecords()
        closeBatch()
    }

    /// The sealed batch's commit succeeded: its undo records are forgotten. Returns the keys it
    /// evicted for capacity (what ``keysEvictedInBatch`` said when it was sealed).
    @discardableResult
    public func commitSealedBatch() -> Int {
        guard var sealed = sealedBatch.take() else { return 0 }
        recycle(&sealed)
        return sealed.evicted
    }

    /// Forgets the open batch and a sealed one without undoing them: for a state about to be
    /// cleared and restored from elsewhere (a producer replaced). The changes stay.
    public func discardBatches() {
        forgetUndoRecords()
        if var sealed = sealedBatch.take() { recycle(&sealed) }
        closeBatch()
    }

    /// Whether a sealed batch waits for its commit's outcome.
    public var hasSealedBatch: Bool { sealedBatch != nil }

    /// Ends the open batch's bookkeeping (its undo records are dealt with by the caller).
    private func closeBatch() {
        touched.removeAll(keepingCapacity: true)
        batchEpoch += 1
        statisticsAtBatchStart = statistics
        batchOpen = false
        stopOperationLog()
    }

    /// Keeps a sealed batch's buffers, emptied in place (taken out of ``sealedBatch`` first, so
    /// that nothing else shares them), for the next batch sealed; a large buffer is given back
    /// by the same rule as ``forgetUndoRecords()``.
    private func recycle(_ sealed: inout SealedBatch) {
        sealed.undoLog.removeAll(keepingCapacity: true)
        if sealed.undoBytes.bytes.capacity > max(Self.keptUndoBytes, 4 * sealed.undoBytes.bytes.count) {
            sealed.undoBytes = ByteWriter(capacity: 0)
        } else {
            sealed.undoBytes.removeAll()
        }
        spareUndo = sealed
    }

    /// Puts back the prior state of every key in `log`: keys the batch created go, the others
    /// get the state recorded in `bytes`.
    private func undo(_ log: [(key: StateKey, state: Range<Int>?)], from bytes: ByteWriter) {
        for entry in log {
            if let slot = slotOf(entry.key) { releaseSlot(Int(slot)) }
        }
        for entry in log {
            guard let range = entry.state else { continue }
            do {
                _ = try install(encoded: Array(bytes.bytes[range]), keepingCapacity: true)
            } catch {
                fatalError("an undo record of this engine failed to decode: \(error)")
            }
        }
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
