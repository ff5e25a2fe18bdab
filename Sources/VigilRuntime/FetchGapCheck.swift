import VigilKafka

/// On a broker that shows aborted records, checks the offsets a poll handed out for gaps the
/// broker should not have left, as data (no I/O: the runtime seeks where it says).
///
/// Why: the test broker (Tansu 0.6) now and then answers a read_committed fetch without a
/// committed batch that lies before the end it reports (measured: a fetch answered "MaxOffset
/// 712, LSO 712" held offsets 696–702 and the commit marker at 711, not the batch at 703–710,
/// which every later reader sees); the consumer goes on past it and those events are never
/// processed, although the group commits past them. On such a broker the only offsets a
/// reader does not get are transaction markers, which come one per transaction and partition,
/// so a gap of two or more offsets is re-read once: the partition is sought back to where the
/// gap starts, and the gap is accepted if the next read shows it again (markers), while
/// records that turn up in it are processed (a batch the broker had left out). Kafka leaves
/// gaps for aborted records and compaction: there the check is off.
struct FetchGapCheck {
    /// What to do with one partition's records of a poll.
    enum Action: Equatable {
        /// Process them all.
        case processAll
        /// Process the first `keep` records, then seek the partition to `seekTo` to read the
        /// gap after them again.
        case reread(keep: Int, seekTo: Int64)
    }

    /// The smallest gap (missing offsets) that is re-read: a single missing offset is a marker.
    static let minimumGap: Int64 = 2

    /// Per partition, the gap being re-read: from its first missing offset to the first offset read after it.
    private(set) var pending: [TopicPartition: (from: Int64, to: Int64)] = [:]
    /// Gaps that turned out to hide records (a batch the broker left out of a fetch).
    private(set) var gapsRecovered = 0

    /// Checks `offsets` (ascending) of `partition`, read where processing expected `expected`
    /// (nil when it has no position yet: the first record is taken as it comes).
    mutating func check(_ partition: TopicPartition, expected: Int64?, offsets: [Int64]) -> Action {
        var next = expected
        for (index, offset) in offsets.enumerated() {
            defer { next = offset + 1 }
            guard let from = next else { continue }
            if let gap = pending[partition], gap.from == from {
                pending.removeValue(forKey: partition)
                // Read again, the gap starts where it did: records in it now were left out before.
                if offset < gap.to { gapsRecovered += 1 }
                continue
            }
            if offset - from >= Self.minimumGap {
                pending[partition] = (from, offset)
                return .reread(keep: index, seekTo: from)
            }
        }
        return .processAll
    }

    /// The partition was sought elsewhere, revoked or rewound: a gap being re-read is void.
    mutating func forget(_ partition: TopicPartition) { pending.removeValue(forKey: partition) }
}
