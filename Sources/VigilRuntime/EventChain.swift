/// `processing.changelog: events`: where a changelog partition's chain of events records stands
/// in a restore, as data (no I/O; its tests need no broker). Each record says which input it
/// covers (`from`..<`to`); a transaction retried after an abort starts where the aborted one
/// did. A read_committed read on Kafka never shows an aborted record; on a broker that does,
/// its record is followed by the retry's covering the same input again. So a record is applied
/// only once the next one shows it was not retried (or the read ends with it, at or below the
/// committed offset, which the restorer's filter checked).
struct EventChain {
    /// An events record read.
    struct Record: Equatable {
        /// The input offset its events start at (0 when the group had no committed offset).
        var from: Int64
        /// Where they end (its state offset).
        var to: Int64
        /// Its value (``VigilFeatures/FeatureEngine/withOperations(_:)``).
        var value: [UInt8]
        /// `topic/partition@offset`, for the log and errors.
        var place: String
    }

    /// What to do after a record was read.
    struct Step: Equatable {
        /// A record now known to be committed: apply it, before anything read after it.
        var apply: Record?
        /// A record whose input the next one covers again: its transaction was aborted.
        var aborted: Record?
        /// The record just read ends at or before where the applied records reach: an earlier
        /// transaction's, shown again. Not applied.
        var stale: Record?
        /// The record just read starts before where the applied records reach and ends after
        /// it: no transaction writes that beside the state restored (its snapshot was aborted,
        /// or another chain's). The restore must not go on from here.
        var straddles: Record?
    }

    /// The input offset the applied records reach (the snapshot's, or nil without one).
    private(set) var position: Int64?
    /// The last record read, not yet applied.
    private(set) var pending: Record?
    /// The highest place (record key) read.
    private(set) var highestSlot = -1

    init(position: Int64? = nil) { self.position = position }

    /// A record read at place `slot`.
    mutating func next(_ record: Record, slot: Int) -> Step {
        highestSlot = max(highestSlot, slot)
        var step = Step()
        if let pending {
            if record.from < pending.to {
                step.aborted = pending
            } else {
                step.apply = pending
                position = pending.to
            }
            self.pending = nil
        }
        if let position, record.from < position {
            if record.to <= position { step.stale = record } else { step.straddles = record }
        } else {
            pending = record
        }
        return step
    }

    /// Something other than an events record comes next (a key's whole state), or the read
    /// ended: the pending record, if any, is to be applied now.
    mutating func flush() -> Record? {
        guard let pending else { return nil }
        self.pending = nil
        position = pending.to
        return pending
    }
}
