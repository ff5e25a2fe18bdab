/// Where an event came from, carried through every stage untouched: the source partition and
/// offset in the live runtime, or the file line in replay (partition −1).
public struct Provenance: Sendable, Hashable {
    /// The source partition (−1 for a file).
    public var partition: Int32
    /// The offset in that partition (the line number for a file).
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}
