public import VigilPipeline

/// What a ``ReplaySource`` appends its events to: a batch that the replay processes each time
/// it fills, and the counts of what was read.
public final class ReplayFeed {
    /// The batch being filled: a source appends one event (with an ``EventDecoder``), then
    /// calls ``appended()``.
    public var batch: EventBatch
    var summary = ReplaySummary()
    /// Called after each processed batch (the progress line).
    var afterFlush: (() -> Void)?
    private let capacity: Int
    private let until: Int64?
    private let process: (ReplayFeed) throws -> Void

    init(batch: EventBatch, capacity: Int, until: Int64?, process: @escaping (ReplayFeed) throws -> Void) {
        self.batch = batch
        self.capacity = capacity
        self.until = until
        self.process = process
    }

    /// Counts a record read from the input, whether it decodes or not.
    public func noteRecord() { summary.eventsRead += 1 }

    /// Takes the event just appended: drops it when it is at or after `until`, and processes
    /// the batch once it is full.
    public func appended() throws {
        if let until, batch.times[batch.count - 1] >= until {
            batch.dropLast()
            return
        }
        if batch.count >= capacity { try flush() }
    }

    /// Counts a record that does not decode; the first 100 are kept with their place.
    public func malformed(_ place: ReplayPlace, _ reason: String) {
        summary.malformedCount += 1
        if summary.malformed.count < 100 { summary.malformed.append((place, reason)) }
    }

    /// Where event `index` of the batch came from.
    func place(of index: Int) -> ReplayPlace { ReplayPlace(batch.provenance[index]) }

    func flush() throws {
        guard batch.count > 0 else { return }
        try process(self)
        batch.removeAll()
        afterFlush?()
    }
}
