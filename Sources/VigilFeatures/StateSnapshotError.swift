/// A state snapshot or changelog record that cannot be restored: corrupt, truncated, written by
/// another stage layout or by a newer format version. Restoring stops rather than start a
/// partition with a wrong or an empty state; the caller adds where the record is
/// (topic/partition@offset).
public struct StateSnapshotError: Error, CustomStringConvertible, Equatable {
    /// What is wrong with it.
    public var problem: String
    /// The record's size as stored.
    public var bytes: Int

    public init(problem: String, bytes: Int) {
        self.problem = problem
        self.bytes = bytes
    }

    public var description: String {
        "state record of \(bytes) bytes cannot be restored: \(problem). Vigil stops instead of running this partition with a "
            + "wrong or empty state; to go on, rebuild the state from the source (a new consumer group, `vigil run --group NEW`) "
            + "or remove the record (README: \"A restore finds a corrupt record\")"
    }
}
