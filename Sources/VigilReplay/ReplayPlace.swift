public import VigilPipeline

/// Where a replayed record is: a line of a file, or a partition and offset of a topic.
public enum ReplayPlace: Sendable, Equatable {
    case line(Int)
    case record(partition: Int32, offset: Int64)

    /// The place an event's provenance names (a file's events have partition −1 and their
    /// line as offset).
    public init(_ provenance: Provenance) {
        self = provenance.partition < 0 ? .line(Int(provenance.offset)) : .record(partition: provenance.partition, offset: provenance.offset)
    }

    /// `input:line` for a file, `topic/partition@offset` for a topic.
    public func describe(in input: String) -> String {
        switch self {
        case let .line(line): "\(input):\(line)"
        case let .record(partition, offset): "\(input)/\(partition)@\(offset)"
        }
    }
}
