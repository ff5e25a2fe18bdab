/// Keeps the source partitions together in event time, as Kafka Streams does by picking the
/// oldest head record: a partition more than `slack` ahead of the oldest source partition that
/// still has records waiting is paused until that one catches up. Without it, a backlog read
/// partition by partition reaches a later stage (behind a repartition topic) far out of order.
///
/// Whether a partition has records waiting is not the offset after its last record against the
/// high watermark: a partition written in transactions ends with a commit marker that is never
/// a record, so by that measure it would look forever behind and hold every other partition
/// paused. The runtime tells which partitions are caught up by the consumer's position, which
/// moves past the markers it fetches (see ``StreamRuntime``). No I/O: tested without a broker.
struct SourceAligner {
    /// How far ahead of the oldest waiting partition another may run (ms): half the allowed lateness, at least 1.
    let slack: Int64
    /// The newest event time seen per source partition.
    private(set) var eventTimes: [Int32: Int64] = [:]

    init(allowedLateness: Int64) {
        slack = max(1, allowedLateness / 2)
    }

    /// Events of `partition` up to `newest` (ms) were read.
    mutating func read(_ partition: Int32, newest: Int64?) {
        if let newest { eventTimes[partition] = max(eventTimes[partition] ?? .min, newest) }
    }

    /// `partition` was revoked (or newly assigned): forget it.
    mutating func forget(_ partition: Int32) { eventTimes.removeValue(forKey: partition) }

    /// Which of `sources` run too far ahead of the oldest one with records waiting (those not
    /// in `caughtUp`). A partition with records waiting but no event read yet holds back every
    /// partition that has one.
    func ahead(of sources: [Int32], caughtUp: Set<Int32>) -> Set<Int32> {
        guard sources.count > 1 else { return [] }
        let waiting = sources.filter { !caughtUp.contains($0) }
        guard let floor = waiting.map({ eventTimes[$0] ?? .min }).min() else { return [] }
        return Set(sources.filter { partition in
            let time = eventTimes[partition] ?? .min
            return floor == .min ? time != .min : time > floor &+ slack
        })
    }
}
